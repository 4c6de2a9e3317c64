//! Shared by the tests that compare us with Hugging Face `transformers`: reading the safetensors
//! fixtures that `benches/compare/*_reference.py` wrote, and the error measure.

use safetensors::SafeTensors;

/// The int64 tensor `name` of a fixture, flattened.
pub fn ints(file: &SafeTensors, name: &str) -> Vec<i64> {
    file.tensor(name)
        .unwrap()
        .data()
        .chunks(8)
        .map(|c| i64::from_le_bytes(c.try_into().unwrap()))
        .collect()
}

/// The float32 tensor `name` of a fixture, flattened.
pub fn floats(file: &SafeTensors, name: &str) -> Vec<f32> {
    file.tensor(name)
        .unwrap()
        .data()
        .chunks(4)
        .map(|c| f32::from_le_bytes(c.try_into().unwrap()))
        .collect()
}

/// The largest absolute difference between two equally long slices.
pub fn max_abs_diff(ours: &[f32], theirs: &[f32]) -> f32 {
    assert_eq!(ours.len(), theirs.len());
    ours.iter()
        .zip(theirs)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f32::max)
}
