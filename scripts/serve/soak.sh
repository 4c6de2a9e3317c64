#!/usr/bin/env bash
# Resident memory of a server under steady load: starts the release `serve` example with MiniLM
# embeddings and SmolLM2, runs the load generator against both for MINUTES (default 10), and
# samples the server's resident memory every 10 s. Prints the samples and first/last/peak; the
# check is that memory levels off instead of growing with the requests served.
#
#   scripts/serve/soak.sh 10
set -euo pipefail
cd "$(dirname "$0")/../.."
minutes="${1:-10}"
port="${PORT:-8091}"
cargo build --release --example serve -p tinderbox -q
cargo build --release --example load -p tinderbox-serve -q
target="${CARGO_TARGET_DIR:-target}/release/examples"
"$target/serve" --embeddings minilm --generator smollm2 --port "$port" --out runs/serve-soak &
server=$!
trap 'kill $server 2>/dev/null || true' EXIT
for _ in $(seq 1 120); do
  curl -sf "http://127.0.0.1:$port/health" >/dev/null && break
  sleep 1
done
end=$(( $(date +%s) + minutes * 60 ))
(
  while [ "$(date +%s)" -lt "$end" ]; do
    "$target/load" --url "http://127.0.0.1:$port" --endpoint embeddings --concurrency 8 --requests 400 --seconds 20 >/dev/null
    "$target/load" --url "http://127.0.0.1:$port" --endpoint chat --concurrency 8 --max-tokens 24 --requests 16 --seconds 20 >/dev/null
  done
) &
load=$!
samples=()
while kill -0 "$load" 2>/dev/null; do
  rss=$(awk '/VmRSS/ {print $2}' "/proc/$server/status")
  samples+=("$rss")
  printf '%s %s MiB\n' "$(date +%T)" "$((rss / 1024))"
  sleep 10
done
wait "$load"
printf 'first %s MiB, last %s MiB, peak %s MiB over %s samples\n' \
  "$((samples[0] / 1024))" "$((samples[-1] / 1024))" \
  "$(printf '%s\n' "${samples[@]}" | sort -n | tail -1 | awk '{print int($1 / 1024)}')" "${#samples[@]}"
curl -s "http://127.0.0.1:$port/metrics" | grep -E '^tinderbox_requests_total' || true
