//! A self-contained HTML page (inline styles, no script, no CDN) with each text's tokens
//! highlighted by attribution and their values in tooltips.

use super::{colour, normalised};

/// One explained text for the page.
#[derive(Debug, Clone)]
pub struct HtmlText<'a> {
    /// The tokens.
    pub tokens: &'a [String],
    /// One attribution per token.
    pub values: &'a [f32],
    /// A heading: the label, its probability, the method.
    pub caption: String,
}

/// The page for `texts`, titled `title`.
pub fn html_page(title: &str, texts: &[HtmlText<'_>]) -> String {
    let mut out = String::new();
    out.push_str("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">");
    out.push_str(&format!("<title>{}</title>", escape(title)));
    out.push_str(
        "<style>body{font-family:sans-serif;max-width:60em;margin:2em auto;line-height:2}\
         .t{padding:2px 3px;border-radius:3px}h2{font-size:1em;margin-bottom:0}\
         .legend span{padding:2px 6px;margin-right:4px}</style></head><body>\n",
    );
    out.push_str(&format!("<h1>{}</h1>\n", escape(title)));
    out.push_str(&format!(
        "<p class=\"legend\"><span style=\"background:{}\">raises the label</span>\
         <span style=\"background:{}\">lowers it</span> (hover a token for its value)</p>\n",
        css(colour(1.0)),
        css(colour(-1.0))
    ));
    for text in texts {
        out.push_str(&format!("<h2>{}</h2>\n<p>", escape(&text.caption)));
        let scaled = normalised(text.values);
        for ((token, value), s) in text.tokens.iter().zip(text.values).zip(&scaled) {
            out.push_str(&format!(
                "<span class=\"t\" style=\"background:{}\" title=\"{value:+.4}\">{}</span> ",
                css(colour(*s)),
                escape(token)
            ));
        }
        out.push_str("</p>\n");
    }
    out.push_str("</body></html>\n");
    out
}

fn css([r, g, b]: [u8; 3]) -> String {
    format!("rgb({r},{g},{b})")
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_tokens_and_needs_nothing_from_outside() {
        let tokens = vec!["<b>".to_string(), "ok".to_string()];
        let page = html_page(
            "why",
            &[HtmlText {
                tokens: &tokens,
                values: &[1.0, -0.5],
                caption: "positive 0.97 (ig)".into(),
            }],
        );
        assert!(page.contains("&lt;b&gt;") && !page.contains("<b>"));
        assert!(page.contains("title=\"+1.0000\"") && page.contains("title=\"-0.5000\""));
        assert!(!page.contains("http") && !page.contains("<script"));
    }
}
