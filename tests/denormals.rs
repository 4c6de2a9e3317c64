//! `flush_denormals` in a process of its own: it changes how every pool thread rounds.

use rayon::prelude::*;
use std::hint::black_box;

#[test]
fn subnormals_become_zero_on_this_thread_and_on_the_pool() {
    let tiny = black_box(f32::MIN_POSITIVE);
    // Before: halving the smallest normal gives a subnormal.
    assert!(black_box(tiny / 2.0) > 0.0);
    tinderbox::backend::flush_denormals();
    if cfg!(target_arch = "x86_64") {
        assert_eq!(black_box(tiny) / black_box(2.0), 0.0);
        let on_pool: Vec<f32> = (0..64)
            .into_par_iter()
            .map(|i| black_box(tiny) / black_box(2.0 + i as f32))
            .collect();
        assert!(on_pool.iter().all(|&v| v == 0.0), "{on_pool:?}");
        // Normal numbers are untouched.
        assert_eq!(black_box(3.0f32) / black_box(2.0), 1.5);
    }
}
