#!/usr/bin/env bash
# Benchmarks of acr-health: median wall time (hyperfine) and median peak memory (GNU time) of
# each scenario, written to bench/results.md with the machine and the date.
# Usage: bench/run.sh [RUNS]   (default 30 timed runs per scenario, after 5 warm-up runs)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-30}

install_if_missing() { # command package
  command -v "$1" >/dev/null && return
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "$2" >/dev/null
}
install_if_missing hyperfine hyperfine
[ -x /usr/bin/time ] || install_if_missing /usr/bin/time time

cargo build --release --locked -q
bin=$PWD/target/release/acr-health
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT

# Median of the numbers on stdin.
median() { sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }

# Median peak memory (KiB) over 10 runs.
peak_kib() {
  for _ in $(seq 10); do /usr/bin/time -f %M "$@" 2>&1 >/dev/null | tail -1; done | median
}

# Median wall time in ms over $runs runs.
wall_ms() {
  hyperfine -N --style none --warmup 5 --runs "$runs" --export-json "$work/h.json" "$*" >/dev/null 2>&1
  python3 -c 'import json,sys; print("%.2f" % (json.load(open(sys.argv[1]))["results"][0]["median"]*1000))' "$work/h.json"
}

rows=()
measure() { # label target_ms target_kib command...
  local label=$1 target_ms=$2 target_kib=$3; shift 3
  local ms kib verdict shown="$*"
  ms=$(wall_ms "$@"); kib=$(peak_kib "$@")
  verdict=$(awk -v m="$ms" -v k="$kib" -v tm="$target_ms" -v tk="$target_kib" \
    'BEGIN { print (m <= tm && k <= tk) ? "meets" : "MISSES" }')
  rows+=("| $label | \`acr-health ${shown#"$bin "}\` | $ms ms | $((kib / 1024)).$(((kib % 1024) * 10 / 1024)) MiB | ≤ $target_ms ms, ≤ $((target_kib / 1024)) MiB: $verdict |")
}

measure "D explain" 5 10240 "$bin" explain CONNECTIVITY_SSL_ERROR --lang nl
measure "D explain --list -o json" 5 10240 "$bin" explain --list -o json
measure "D explain piped to a query" 5 10240 "$bin" codes --query "[?severity=='error'].code"

size=$(stat -c %s "$bin")
{
  echo "# Benchmark results"
  echo
  echo "Date: $(date -u +%Y-%m-%dT%H:%MZ). Machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -srm)."
  echo "acr-health $(git rev-parse --short HEAD 2>/dev/null || echo unknown), release build, $((size / 1024)) KiB."
  echo "Each figure is the median of $runs runs (wall time, hyperfine -N after 5 warm-ups) or of 10 runs (peak RSS, GNU time)."
  echo
  echo "| scenario | command | median wall | median peak RSS | target |"
  echo "|---|---|---|---|---|"
  printf '%s\n' "${rows[@]}"
} | tee bench/results.md
