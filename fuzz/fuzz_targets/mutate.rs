//! Shared by the targets whose valid inputs a fuzzer would not find from scratch: the input either
//! replaces a valid file outright or patches it in place, so that the fuzzer explores deep inside
//! a real file's structure as well as random bytes.

/// `input[0]` picks the mode (bit 0: replace; bit 1: cut the file after the patch), `input[1..3]`
/// is the patch offset, the rest is the patch.
pub fn mutate(valid: &[u8], input: &[u8]) -> Vec<u8> {
    let Some((&mode, rest)) = input.split_first() else {
        return valid.to_vec();
    };
    if mode & 1 == 1 {
        return rest.to_vec();
    }
    let (offset, patch) = match rest {
        [hi, lo, patch @ ..] => (usize::from(*hi) << 8 | usize::from(*lo), patch),
        _ => (0, rest),
    };
    let mut out = valid.to_vec();
    let at = if out.is_empty() {
        0
    } else {
        offset % out.len()
    };
    let end = at + patch.len();
    if end > out.len() {
        out.resize(end, 0);
    }
    out[at..end].copy_from_slice(patch);
    if mode & 2 == 2 {
        out.truncate(end);
    }
    out
}
