//! Finding the example programs that `cargo test` builds, for tests that run them as a user would.

use std::path::{Path, PathBuf};

/// `target/<profile>/examples/NAME`, built by `cargo test` beside the test binaries.
pub fn example_binary(name: &str) -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let binary = exe
        .parent()
        .and_then(Path::parent)
        .unwrap()
        .join("examples")
        .join(name);
    assert!(
        binary.is_file(),
        "{} is missing: run the whole `cargo test`, which builds the examples",
        binary.display()
    );
    binary
}
