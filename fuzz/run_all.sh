#!/usr/bin/env bash
# Runs every fuzz target for MAX_SECONDS (default 600) or RUNS executions (default 1,000,000),
# whichever comes first, starting from the committed seeds, and prints one line per target.
# Needs the nightly toolchain and cargo-fuzz (`cargo install cargo-fuzz`). Crashes land in
# fuzz/artifacts/TARGET/; replay one with `cargo +nightly fuzz run -s none TARGET FILE`.
set -uo pipefail
cd "$(dirname "$0")"
MAX_SECONDS="${MAX_SECONDS:-600}"
RUNS="${RUNS:-1000000}"
TARGETS="${*:-$(cargo +nightly fuzz list)}"

# Our code is safe Rust: the findings are panics, which need no sanitizer (and none is 3x faster).
cargo +nightly fuzz build -s none >/dev/null 2>&1 || { echo "build failed"; exit 1; }
status=0
for target in $TARGETS; do
    mkdir -p "corpus/$target"
    log="logs/$target.log"
    mkdir -p logs
    start=$(date +%s)
    cargo +nightly fuzz run -s none "$target" "corpus/$target" "seeds/$target" -- \
        -max_total_time="$MAX_SECONDS" -runs="$RUNS" -rss_limit_mb=4096 >"$log" 2>&1
    code=$?
    runs=$(grep -o 'Done [0-9]* runs' "$log" | grep -o '[0-9]*' || echo "?")
    crashes=$(ls "artifacts/$target" 2>/dev/null | wc -l)
    echo "$target: exit $code, $runs runs in $(( $(date +%s) - start )) s, corpus $(ls "corpus/$target" | wc -l), artifacts $crashes"
    [ "$code" -eq 0 ] || status=1
done
exit $status
