//! Packing a document's tokens into fixed-length pre-training sequences, `[CLS] ... [SEP]`, across
//! sentence boundaries (as Hugging Face's `run_mlm.py` groups texts, but never across documents).
//! It streams: only the tokens of the sequence being filled are held, whatever the corpus size.

use crate::DataError;

/// Fills sequences of at most `max_len` tokens from the sentences of one document at a time.
///
/// ```
/// use tinderbox_data::mlm::SequencePacker;
///
/// let mut packer = SequencePacker::new(6, 101, 102).unwrap();
/// // Four tokens fit between [CLS] and [SEP].
/// let mut sequences = packer.push(&[1, 2, 3]);
/// sequences.extend(packer.push(&[4, 5, 6, 7]));
/// sequences.extend(packer.finish_document());
/// assert_eq!(
///     sequences,
///     vec![vec![101, 1, 2, 3, 4, 102], vec![101, 5, 6, 7, 102]]
/// );
/// ```
#[derive(Clone, Debug)]
pub struct SequencePacker {
    /// Document tokens per sequence.
    capacity: usize,
    /// Starts every sequence (`[CLS]`, or a causal model's `<s>`).
    open: u32,
    /// Ends every sequence (`[SEP]`); `None` for a causal model.
    close: Option<u32>,
    /// Follows a document's last token (a causal model's `</s>`).
    end_of_document: Option<u32>,
    /// Whether the current document has given a token yet.
    in_document: bool,
    filling: Vec<u32>,
}

impl SequencePacker {
    /// A packer of sequences of at most `max_len` tokens, the first `cls_id` and the last
    /// `sep_id`. Errors when `max_len` leaves no room for a token between the two.
    pub fn new(max_len: usize, cls_id: u32, sep_id: u32) -> Result<Self, DataError> {
        if max_len < 3 {
            return Err(DataError::Mlm {
                reason: format!(
                    "a sequence length of {max_len} leaves no room between [CLS] and [SEP] (needs 3 or more)"
                ),
            });
        }
        Ok(Self {
            capacity: max_len - 2,
            open: cls_id,
            close: Some(sep_id),
            end_of_document: None,
            in_document: false,
            filling: Vec::with_capacity(max_len - 2),
        })
    }

    /// A packer for a causal language model: every sequence starts with `bos_id` (so a prompt,
    /// which the tokenizer starts with it, begins as the training text did), and `eos_id`
    /// follows each document's last token, so that the model learns where a text ends; a
    /// sequence cut inside a document has no end token. Errors when `max_len` is below 2.
    ///
    /// ```
    /// use tinderbox_data::mlm::SequencePacker;
    ///
    /// let mut packer = SequencePacker::causal(4, 0, 2).unwrap();
    /// let mut sequences = packer.push(&[10, 11, 12, 13]);
    /// sequences.extend(packer.finish_document());
    /// assert_eq!(sequences, vec![vec![0, 10, 11, 12], vec![0, 13, 2]]);
    /// ```
    pub fn causal(max_len: usize, bos_id: u32, eos_id: u32) -> Result<Self, DataError> {
        if max_len < 2 {
            return Err(DataError::Mlm {
                reason: format!(
                    "a sequence length of {max_len} leaves no room after the start token (needs 2 or more)"
                ),
            });
        }
        Ok(Self {
            capacity: max_len - 1,
            open: bos_id,
            close: None,
            end_of_document: Some(eos_id),
            in_document: false,
            filling: Vec::with_capacity(max_len - 1),
        })
    }

    /// Adds the tokens of the next sentence of the current document (without special tokens) and
    /// returns the sequences it completed, each exactly `max_len` long.
    pub fn push(&mut self, tokens: &[u32]) -> Vec<Vec<u32>> {
        let mut done = Vec::new();
        let mut rest = tokens;
        self.in_document |= !tokens.is_empty();
        while !rest.is_empty() {
            let room = self.capacity - self.filling.len();
            let (now, later) = rest.split_at(room.min(rest.len()));
            self.filling.extend_from_slice(now);
            rest = later;
            if self.filling.len() == self.capacity {
                done.push(self.wrap());
            }
        }
        done
    }

    /// Ends the current document: returns its last, shorter sequence if any tokens are left
    /// (with the end-of-document token, for a causal packer), so that no sequence mixes two
    /// documents.
    pub fn finish_document(&mut self) -> Option<Vec<u32>> {
        let had_text = std::mem::take(&mut self.in_document);
        if let (Some(end), true) = (self.end_of_document, had_text) {
            // One token completes at most one sequence and leaves nothing behind when it does.
            let completed = self.push(&[end]).pop();
            self.in_document = false;
            if completed.is_some() {
                return completed;
            }
        }
        (!self.filling.is_empty()).then(|| self.wrap())
    }

    fn wrap(&mut self) -> Vec<u32> {
        let mut sequence = Vec::with_capacity(self.capacity + 2);
        sequence.push(self.open);
        sequence.append(&mut self.filling);
        sequence.extend(self.close);
        sequence
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CLS: u32 = 101;
    const SEP: u32 = 102;

    fn pack(max_len: usize, documents: &[Vec<Vec<u32>>]) -> Vec<Vec<Vec<u32>>> {
        let mut packer = SequencePacker::new(max_len, CLS, SEP).unwrap();
        documents
            .iter()
            .map(|sentences| {
                let mut out = Vec::new();
                for sentence in sentences {
                    out.extend(packer.push(sentence));
                }
                out.extend(packer.finish_document());
                out
            })
            .collect()
    }

    #[test]
    fn sequences_hold_every_token_once_in_order() {
        // Sentences of 1 to 40 tokens, some longer than a whole sequence.
        let document: Vec<Vec<u32>> = (0..50u32)
            .map(|s| (0..1 + (s * 17) % 40).map(|t| s * 100 + t).collect())
            .collect();
        for max_len in [3, 8, 16, 128, 1000] {
            let packed = &pack(max_len, std::slice::from_ref(&document))[0];
            let (last, full) = packed.split_last().unwrap();
            assert!(full.iter().all(|s| s.len() == max_len));
            assert!(last.len() <= max_len && last.len() > 2);
            let mut tokens = Vec::new();
            for sequence in packed {
                assert_eq!(sequence[0], CLS);
                assert_eq!(sequence[sequence.len() - 1], SEP);
                tokens.extend_from_slice(&sequence[1..sequence.len() - 1]);
            }
            assert_eq!(tokens, document.concat(), "max_len {max_len}");
        }
    }

    #[test]
    fn documents_are_never_mixed() {
        let docs = vec![
            vec![vec![1, 2, 3]],
            vec![],
            vec![vec![4], vec![], vec![5, 6, 7, 8, 9]],
        ];
        let packed = pack(5, &docs);
        assert_eq!(packed[0], vec![vec![CLS, 1, 2, 3, SEP]]);
        assert!(packed[1].is_empty(), "an empty document gives no sequence");
        assert_eq!(
            packed[2],
            vec![vec![CLS, 4, 5, 6, SEP], vec![CLS, 7, 8, 9, SEP]]
        );
    }

    #[test]
    fn causal_sequences_start_every_window_and_end_only_documents() {
        const BOS: u32 = 0;
        const EOS: u32 = 2;
        let mut packer = SequencePacker::causal(4, BOS, EOS).unwrap();
        let mut document = |sentences: &[&[u32]]| {
            let mut out = Vec::new();
            for sentence in sentences {
                out.extend(packer.push(sentence));
            }
            out.extend(packer.finish_document());
            out
        };
        // Three tokens fill a sequence; the end token spills into a sequence of its own.
        assert_eq!(
            document(&[&[10, 11], &[12]]),
            vec![vec![BOS, 10, 11, 12], vec![BOS, EOS]]
        );
        assert_eq!(document(&[&[20, 21]]), vec![vec![BOS, 20, 21, EOS]]);
        assert!(document(&[&[], &[]]).is_empty(), "no text, no end token");
        assert_eq!(
            document(&[&[30, 31, 32, 33, 34]]),
            vec![vec![BOS, 30, 31, 32], vec![BOS, 33, 34, EOS]]
        );
        for max_len in [0, 1] {
            let e = SequencePacker::causal(max_len, BOS, EOS).unwrap_err();
            assert!(e.to_string().contains("needs 2 or more"), "{e}");
        }
    }

    #[test]
    fn a_length_without_room_is_an_error() {
        for max_len in [0, 1, 2] {
            let e = SequencePacker::new(max_len, CLS, SEP).unwrap_err();
            assert!(e.to_string().contains("needs 3 or more"), "{e}");
        }
    }
}
