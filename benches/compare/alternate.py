"""Alternating rounds of a criterion bench and its PyTorch twin, for the `compare_*.py` scripts.

The build machine is shared and noisy, so the two sides never run one after the other for the
whole comparison: each round runs tinderbox's bench, then the twin, and the ratio
(tinderbox / PyTorch) is printed per round and for the medians over the rounds.
"""
import json
import os
import statistics
import subprocess

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def target_dir():
    meta = subprocess.run(["cargo", "metadata", "--format-version", "1", "--no-deps"], cwd=ROOT,
                          check=True, capture_output=True, text=True)
    return json.loads(meta.stdout)["target_directory"]


def build(bench):
    subprocess.run(["cargo", "bench", "--bench", bench, "--no-run"], cwd=ROOT, check=True)


def criterion_medians(bench, cases, only=None):
    """Runs `cargo bench --bench BENCH` (its cases matching `only`, if given) and reads each
    case's median, in milliseconds."""
    subprocess.run(["cargo", "bench", "--bench", bench, "--", "--noplot"] + ([only] if only else []),
                   cwd=ROOT, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    out, criterion = {}, os.path.join(target_dir(), "criterion")
    for case in cases:
        with open(os.path.join(criterion, case, "new", "estimates.json")) as f:
            out[case] = json.load(f)["median"]["point_estimate"] / 1e6
    return out


def run_rounds(rounds, cases, rust_round, torch_round):
    """`rounds` alternations of the two sides; prints every round and the overall ratios."""
    rows = {c: ([], []) for c in cases}
    for r in range(rounds):
        rust, pt = rust_round(), torch_round()
        for c in cases:
            rows[c][0].append(rust[c])
            rows[c][1].append(pt[c])
            print(f"round {r + 1} {c:34} tinderbox {rust[c]:9.3f}  other {pt[c]:9.3f}  "
                  f"ratio {rust[c] / pt[c]:.2f}", flush=True)
    print("overall (median of rounds):")
    for c in cases:
        ours, theirs = statistics.median(rows[c][0]), statistics.median(rows[c][1])
        print(f"  {c:34} tinderbox {ours:9.3f}  other {theirs:9.3f}  ratio {ours / theirs:.2f}")
