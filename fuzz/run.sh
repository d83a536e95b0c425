#!/usr/bin/env bash
# Runs every fuzz target for SECONDS each (default 600), JOBS at a time (default 2), and reports
# what each found. Exits non-zero when any target crashed, panicked, ran out of memory or time.
#
#   fuzz/run.sh [SECONDS] [TARGET...]        e.g. fuzz/run.sh 60 challenge token_json
#
# Needs cargo-fuzz (`cargo install cargo-fuzz --locked`). The targets are built without a
# sanitizer by default (SANITIZER=none: the code under test is safe Rust, and libFuzzer's own
# limits catch panics, OOM and hangs), which works on stable Rust as it is; SANITIZER=address
# needs `-Zsanitizer`, a nightly flag, so the script sets RUSTC_BOOTSTRAP=1 to let a stable
# toolchain accept it. Debug assertions are on (`-a`: overflow checks).
# Each target fuzzes a scratch copy of its seeds (fuzz/work/<target>, not committed); crashes
# land in fuzz/artifacts/<target>/, logs in fuzz/logs/<target>.log.
set -uo pipefail

cd "$(dirname "$0")"
seconds="${1:-600}"
shift || true
jobs="${JOBS:-2}"
sanitizer="${SANITIZER:-none}"
export RUSTC_BOOTSTRAP=1

all_targets=(challenge docker_version helm_version notary_version token_json jwt_payload az_config knowledge_markdown docker_config arm_response manifest)
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=("${all_targets[@]}")

max_len() {
  case "$1" in
    knowledge_markdown) echo 32768 ;;
    token_json | docker_version | az_config | docker_config | arm_response | manifest) echo 16384 ;;
    *) echo 8192 ;;
  esac
}

command -v cargo-fuzz >/dev/null || { echo "cargo-fuzz is missing: cargo install cargo-fuzz --locked" >&2; exit 2; }
cargo fuzz build -s "$sanitizer" -a || exit 2

mkdir -p logs work artifacts
run_one() {
  local target="$1" started ended
  mkdir -p "work/$target" "artifacts/$target"
  started=$(date +%s)
  cargo fuzz run -s "$sanitizer" -a "$target" "work/$target" "corpus/$target" -- \
    -max_total_time="$seconds" -rss_limit_mb=2048 -malloc_limit_mb=2048 \
    -max_len="$(max_len "$target")" -timeout=10 -print_final_stats=1 \
    >"logs/$target.log" 2>&1
  echo $? >"logs/$target.rc"
  ended=$(date +%s)
  echo $((ended - started)) >"logs/$target.seconds"
}

for target in "${targets[@]}"; do
  while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do wait -n; done
  echo "fuzzing $target for ${seconds}s ..."
  run_one "$target" &
done
wait

failed=0
printf '\n%-20s %8s %8s %12s %8s %8s  %s\n' target wall fuzzed runs cov corpus result
for target in "${targets[@]}"; do
  log="logs/$target.log"
  rc=$(cat "logs/$target.rc" 2>/dev/null || echo 99)
  runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -1)
  fuzzed=$(grep -o 'Done [0-9]* runs in [0-9]* second' "$log" | grep -o 'in [0-9]*' | grep -o '[0-9]*')
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | grep -o '[0-9]*')
  corpus=$(find "work/$target" -type f | wc -l)
  crashes=$(find "artifacts/$target" -type f 2>/dev/null | wc -l)
  if [ "$rc" = 0 ] && [ "$crashes" = 0 ]; then
    result=ok
  else
    result="FAILED (exit $rc; $crashes artifact(s) in fuzz/artifacts/$target; see fuzz/$log)"
    failed=1
  fi
  printf '%-20s %8s %8s %12s %8s %8s  %s\n' "$target" "$(cat "logs/$target.seconds" 2>/dev/null)s" "${fuzzed:-?}s" "${runs:-?}" "${cov:-?}" "$corpus" "$result"
  if [ "$result" != ok ]; then
    grep -m1 -B2 -A12 "panicked at\|ERROR: libFuzzer\|SUMMARY" "$log" | sed 's/^/    /'
  fi
done
exit "$failed"
