#!/usr/bin/env bash
# Soak test, not in CI: the MNIST example 3 times in a row, then 2 at once, all on one fresh
# cache (so the two concurrent runs also race to fetch and unpack the data). Every run must
# succeed and report the same test accuracy and loss, to 1e-6, for the same seed.
#
#   scripts/soak_mnist.sh                     # the seed program (5 epochs, 55,000 images) each time
#   EPOCHS=1 LIMIT=10000 scripts/soak_mnist.sh   # a quick one
set -euo pipefail
cd "$(dirname "$0")/.."

EPOCHS="${EPOCHS:-5}"
LIMIT="${LIMIT:-}"
SEED="${SEED:-42}"
WORK="${WORK:-$(mktemp -d /tmp/tinderbox-soak.XXXXXX)}"
mkdir -p "$WORK"
export TINDERBOX_CACHE="$WORK/cache"

cargo build --release --example mnist
BIN="${CARGO_TARGET_DIR:-target}/release/examples/mnist"

run() {
    local name="$1"
    "$BIN" --epochs "$EPOCHS" ${LIMIT:+--limit-train "$LIMIT"} --seed "$SEED" --out "$WORK/$name" \
        >"$WORK/$name.log" 2>&1 || { echo "run $name failed:"; tail -20 "$WORK/$name.log"; return 1; }
}

start=$(date +%s)
for i in 1 2 3; do
    echo "sequential run $i"
    run "seq-$i"
done
echo "two runs at once"
run par-1 & a=$!
run par-2 & b=$!
wait "$a"
wait "$b"

python3 - "$WORK" "$(( $(date +%s) - start ))" <<'PY'
import json, pathlib, sys
work = pathlib.Path(sys.argv[1])
runs = ["seq-1", "seq-2", "seq-3", "par-1", "par-2"]
summaries = {r: json.loads((work / r / "summary.json").read_text()) for r in runs}
first = summaries["seq-1"]
for r, s in summaries.items():
    print(f"{r}: test accuracy {s['test_accuracy']:.6f}, loss {s['test_loss']:.6f}, "
          f"train {s['train_seconds']:.1f} s")
worst = max(max(abs(s["test_accuracy"] - first["test_accuracy"]),
                abs(s["test_loss"] - first["test_loss"])) for s in summaries.values())
print(f"largest difference from run 1: {worst:.3g}; {sys.argv[2]} s in all")
downloads = list((work / "cache" / "downloads").iterdir())
print(f"cache downloads: {[p.name for p in downloads]}")
if worst > 1e-6:
    sys.exit("FAIL: runs with the same seed disagree")
print("ok")
PY
