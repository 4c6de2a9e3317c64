//! Tokens coloured by attribution on a terminal (24-bit ANSI backgrounds), or with their values
//! written out where colour is not wanted (a pipe, a file, `NO_COLOR`).

use super::{colour, normalised};

/// The tokens joined by spaces, each coloured (`colour = true`) or followed by its value.
pub fn terminal_line(tokens: &[String], values: &[f32], colour_on: bool) -> String {
    let scaled = normalised(values);
    tokens
        .iter()
        .zip(values.iter().zip(&scaled))
        .map(|(token, (value, s))| {
            if colour_on {
                let [r, g, b] = colour(*s);
                format!("\x1b[48;2;{r};{g};{b}m\x1b[38;2;0;0;0m{token}\x1b[0m")
            } else {
                format!("{token}({value:+.3})")
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_text_carries_the_values_and_colour_the_escapes() {
        let tokens = vec!["good".to_string(), "film".to_string()];
        assert_eq!(
            terminal_line(&tokens, &[0.5, -0.25], false),
            "good(+0.500) film(-0.250)"
        );
        let coloured = terminal_line(&tokens, &[0.5, -0.25], true);
        assert!(coloured.contains("\x1b[48;2;46;160;67mgood") || coloured.contains("46;160;67m"));
        assert!(coloured.contains("film\x1b[0m"));
    }
}
