//! OpenAI's `stop`: the text returned ends before the first stop string, which is not
//! included. While streaming, text that might be the start of a stop string is held back
//! until the next piece shows whether it is.

/// The text of one choice, filtered for stop strings.
#[derive(Debug, Clone, Default)]
pub struct StopFilter {
    stops: Vec<String>,
    held: String,
    stopped: bool,
}

impl StopFilter {
    /// A filter for `stops` (none: text passes as it comes).
    pub fn new(stops: Vec<String>) -> Self {
        Self {
            stops,
            held: String::new(),
            stopped: false,
        }
    }

    /// Adds `text`; returns what may be released now.
    pub fn push(&mut self, text: &str) -> String {
        if self.stopped {
            return String::new();
        }
        self.held.push_str(text);
        if let Some(at) = self
            .stops
            .iter()
            .filter_map(|s| self.held.find(s.as_str()))
            .min()
        {
            self.stopped = true;
            let out = self.held[..at].to_string();
            self.held.clear();
            return out;
        }
        // The longest end of the held text that begins some stop string stays held.
        let keep = self
            .stops
            .iter()
            .flat_map(|stop| {
                stop.char_indices()
                    .skip(1)
                    .map(|(i, _)| &stop[..i])
                    .filter(|prefix| self.held.ends_with(prefix))
                    .map(str::len)
            })
            .max()
            .unwrap_or(0);
        let release = self.held.len() - keep;
        let out = self.held[..release].to_string();
        self.held.drain(..release);
        out
    }

    /// The held text once the choice has ended (nothing after a stop string).
    pub fn finish(&mut self) -> String {
        if self.stopped {
            return String::new();
        }
        std::mem::take(&mut self.held)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(stops: &[&str], pieces: &[&str]) -> (Vec<String>, String) {
        let mut filter = StopFilter::new(stops.iter().map(|s| s.to_string()).collect());
        let out: Vec<String> = pieces.iter().map(|p| filter.push(p)).collect();
        (out, filter.finish())
    }

    #[test]
    fn text_ends_before_a_stop_string_split_across_pieces() {
        let (out, rest) = run(&["\n\n"], &["Paris", ".\n", "\nThe", " end"]);
        assert_eq!(out, ["Paris", ".", "", ""]);
        assert_eq!(rest, "");
    }

    #[test]
    fn a_held_prefix_that_is_not_a_stop_is_released() {
        let (out, rest) = run(&["END"], &["the E", "ND", "x"]);
        assert_eq!(out, ["the ", "", ""]);
        let (out, rest2) = run(&["END"], &["the E", "gg"]);
        assert_eq!(out, ["the ", "Egg"]);
        assert_eq!((rest.as_str(), rest2.as_str()), ("", ""));
        let (out, rest) = run(&["END"], &["wait E"]);
        assert_eq!((out[0].as_str(), rest.as_str()), ("wait ", "E"));
    }

    #[test]
    fn without_stops_text_passes_and_the_earliest_stop_wins() {
        let (out, _) = run(&[], &["a", "b"]);
        assert_eq!(out, ["a", "b"]);
        let (out, _) = run(&["c", "b"], &["abc"]);
        assert_eq!(out, ["a"]);
    }
}
