//! Shared by the pre-training programs' tests: a small patterned corpus and the lock that keeps
//! seeded runs apart.

use std::path::Path;

/// burn's random generator is global to the process: tests that seed it and train take turns,
/// or one test's draws would come from another's seed.
static RNG: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Holds the generator for the caller's test.
pub fn serial() -> std::sync::MutexGuard<'static, ()> {
    RNG.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// `n` documents of patterned sentences: "the red whale swims near the ship ." and so on, each
/// animal with its own verb, so that a word is guessable from its neighbours.
pub fn corpus(dir: &Path, n: usize) {
    std::fs::create_dir_all(dir).unwrap();
    let colours = ["red", "blue", "green", "grey"];
    let animals = ["whale", "shark", "gull", "seal"];
    let verbs = ["swims", "dives", "sleeps", "hunts"];
    for d in 0..n {
        let text: String = (0..6)
            .map(|s| {
                let k = d * 7 + s * 3;
                let animal = (k / 4) % 4;
                format!(
                    "the {} {} {} near the ship .\n",
                    colours[k % 4],
                    animals[animal],
                    verbs[animal]
                )
            })
            .collect();
        std::fs::write(dir.join(format!("doc{d:03}.txt")), text).unwrap();
    }
}
