//! Text of a growing token sequence, released only at character boundaries: byte-level tokens
//! can split a UTF-8 character (an emoji is often two or three tokens), and printing the half
//! would show a replacement character.

use tinderbox_tokenize::TextTokenizer;

use crate::error::GenerateError;

/// The text decoded so far for one sequence, and how much of it has been handed out.
#[derive(Debug, Clone, Default)]
pub struct TextStream {
    ids: Vec<u32>,
    emitted: usize,
}

impl TextStream {
    /// Adds `id` and returns the new text that is complete: everything decoded past what was
    /// returned before, unless it ends in an unfinished character (then nothing yet).
    pub fn push(
        &mut self,
        tokenizer: &dyn TextTokenizer,
        id: u32,
    ) -> Result<String, GenerateError> {
        self.ids.push(id);
        let text = tokenizer.decode(&self.ids, true)?;
        if text.ends_with('\u{FFFD}') || text.len() < self.emitted {
            return Ok(String::new());
        }
        let new = text[self.emitted..].to_string();
        self.emitted = text.len();
        Ok(new)
    }

    /// The text that was held back at the end (an unfinished character, shown as is).
    pub fn finish(&mut self, tokenizer: &dyn TextTokenizer) -> Result<String, GenerateError> {
        let text = tokenizer.decode(&self.ids, true)?;
        let rest = text.get(self.emitted..).unwrap_or_default().to_string();
        self.emitted = text.len();
        Ok(rest)
    }
}
