#!/usr/bin/env bash
# Benchmarks acr-health side by side with the real Azure CLI 2.91.0 and writes bench/results.md.
# Usage: bench/run.sh [RUNS]   (default 20 timed runs per tool and scenario, after 3 warm-ups)
# Scenarios: A environment only, B DNS failure, C the full Entra path in a network namespace
# (bench/scenario_c.sh; needs root), each side by side with az; D explain, E micro benchmarks;
# F `az acr check-health` through the extension (the wheel added to az) against az's own.
# If C cannot be set up or a tool does not report every step OK there, the results say so and
# A, B, D and E are still measured.
# It installs what it needs on a fresh machine: Azure CLI 2.91.0 into bench/.venv (a private
# virtual environment; nothing else changes) and builds acr-health with the optimized build
# (packaging/build-optimized.sh, which also verifies it).
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-20}
root=$PWD
started=$SECONDS

if [ ! -x bench/.venv/bin/az ] || ! bench/.venv/bin/az version 2>/dev/null | grep -q '"azure-cli": "2.91.0"'; then
  echo "bench: installing Azure CLI 2.91.0 into bench/.venv (a few minutes, once)" >&2
  python3 -m venv bench/.venv
  bench/.venv/bin/pip install -q --disable-pip-version-check azure-cli==2.91.0
fi
echo "bench: building acr-health (packaging/build-optimized.sh)" >&2
bin=$(packaging/build-optimized.sh -q)
# The floor of A, built by the same command with the same profile, target and link flags, so it
# starts as cheaply as a program can here.
floor=$(dirname "$bin")/examples/bench_floor
az=$root/bench/.venv/bin/az
docker=$(command -v docker || true)
[ -n "$docker" ] || { echo "bench: scenario A needs the docker client on PATH" >&2; exit 1; }

work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
mkdir -p "$work/az" "$work/home"
# F: the same az with the extension in a configuration of its own (the wheel of the same build).
echo "bench: the wheel, added to az as its extension (packaging/build-optimized.sh --wheel)" >&2
wheel=$(packaging/build-optimized.sh -q --wheel "$work/wheel")
AZURE_CONFIG_DIR="$work/az-ext" AZURE_CORE_COLLECT_TELEMETRY=false "$az" extension add --source "$wheel" --yes >&2
# The same environment for both tools: the real docker client without a daemon, no helm, no
# notary, no Azure login, no telemetry, no color.
common_env=$(python3 - "$work" "$(dirname "$docker")" <<'PY'
import json, sys
work, docker_dir = sys.argv[1], sys.argv[2]
print(json.dumps({
    "PATH": f"{docker_dir}:/usr/bin:/bin", "HOME": f"{work}/home", "DOCKER_HOST": "unix:///nonexistent.sock",
    "AZURE_CONFIG_DIR": f"{work}/az", "AZURE_CORE_COLLECT_TELEMETRY": "false", "AZURE_CORE_NO_COLOR": "true",
    "IMDS_ENDPOINT": "http://127.0.0.1:9", "AZURE_POD_IDENTITY_AUTHORITY_HOST": "http://127.0.0.1:9",
    "NO_COLOR": "1", "LANG": "C.UTF-8",
}))
PY
)
spec=$(python3 - "$bin" "$az" "$docker" "$runs" "$common_env" "$floor" <<'PY'
import json, sys
bin, az, docker, runs, env, floor = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), json.loads(sys.argv[5]), sys.argv[6]
pair = lambda args, env=env: [{"tool": "acr-health", "argv": [bin, *args], "env": env, "expect_exit": 0},
                              {"tool": "az", "argv": [az, *args], "env": env, "expect_exit": 0}]
# The same, with this machine's Docker daemon up (its test pull fails: nothing leaves the machine).
daemon_env = {k: v for k, v in env.items() if k != "DOCKER_HOST"}
print(json.dumps({"runs": runs, "warmup": 3, "scenarios": [
    # The child processes alternate with the tools in the same rounds, so that the ratio to the
    # slowest child compares runs made at the same moment, not two blocks minutes apart.
    {"name": "A", "commands": pair(["acr", "check-health", "--ignore-errors", "--yes"]) + [
        {"tool": "docker ps", "argv": [docker, "ps"], "env": env},
        {"tool": "docker version --format '{{json .}}'", "argv": [docker, "version", "--format", "{{json .}}"], "env": env},
        # examples/bench_floor.rs: a program that only runs that child as acr-health does.
        {"tool": "floor", "argv": [floor, docker, "version", "--format", "{{json .}}"], "env": env}]},
    # acr-health against its child without az in the rounds: az's half second of Python between
    # them leaves acr-health's code cold in the CPU caches while docker's stays warm (docker ps
    # and the child run just before), which costs acr-health alone about 0.05 of the ratio.
    # At least 1000 rounds (a round takes 50 ms): the child's own time varies by a fifth from run
    # to run, so the median of the ratios needs many pairs to settle; with 300 its 95% interval
    # is about ±0.025, with 1000 about ±0.014.
    {"name": "A-child", "runs": max(1000, 5 * runs), "commands": [
        {"tool": "acr-health", "argv": [bin, "acr", "check-health", "--ignore-errors", "--yes"], "env": env, "expect_exit": 0},
        {"tool": "docker version --format '{{json .}}'", "argv": [docker, "version", "--format", "{{json .}}"], "env": env},
        {"tool": "floor", "argv": [floor, docker, "version", "--format", "{{json .}}"], "env": env}]},
    {"name": "A2", "commands": pair(["acr", "check-health", "--ignore-errors", "--yes"], daemon_env)},
    {"name": "B", "commands": pair(["acr", "check-health", "-n", "example", "--ignore-errors", "--yes"])},
    # The checks through az: its start-up plus acr-health's run, against az's own check-health.
    {"name": "F", "commands": [
        {"tool": "az + extension", "argv": [az, "acr", "check-health", "--ignore-errors", "--yes"],
         "env": {**env, "AZURE_CONFIG_DIR": env["AZURE_CONFIG_DIR"] + "-ext"}, "expect_exit": 0},
        {"tool": "az", "argv": [az, "acr", "check-health", "--ignore-errors", "--yes"], "env": env, "expect_exit": 0},
        {"tool": "acr-health", "argv": [bin, "acr", "check-health", "--ignore-errors", "--yes"], "env": env, "expect_exit": 0},
        {"tool": "az version", "argv": [az, "version"], "env": env, "expect_exit": 0}]},
    {"name": "D1", "commands": [{"tool": "acr-health", "argv": [bin, "explain", "CONNECTIVITY_SSL_ERROR", "--lang", "nl"], "env": env, "expect_exit": 0}]},
    {"name": "D2", "commands": [{"tool": "acr-health", "argv": [bin, "explain", "--list", "-o", "json"], "env": env, "expect_exit": 0}]},
]}))
PY
)
echo "bench: measuring ($runs runs per tool and scenario)" >&2
python3 bench/harness.py <<<"$spec" > "$work/samples-ab.json"
echo "bench: scenario C (full Entra path in a network namespace)" >&2
if ! bench/scenario_c.sh "$runs" "$work/samples-c.json"; then
  echo "bench: scenario C was not measured (the reason is above and in the results); going on" >&2
fi
python3 - "$work/samples-ab.json" "$work/samples-c.json" > "$work/samples.json" <<'PY'
import json, sys
samples = json.load(open(sys.argv[1]))
try:
    samples += json.load(open(sys.argv[2]))
except (OSError, ValueError) as e:
    samples.append({"name": "C", "error": f"bench/scenario_c.sh gave no result ({e})"})
json.dump(samples, sys.stdout)
PY
size=$(stat -c %s "$bin")
header="# Benchmark results

Date: $(date -u +%Y-%m-%dT%H:%MZ). Machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -srm).
acr-health $(git rev-parse --short HEAD 2>/dev/null || echo unknown), optimized build (packaging/build-optimized.sh), $((size / 1024)) KiB; Azure CLI 2.91.0 from PyPI in bench/.venv.
Each tool ran $runs times per scenario after 3 warm-ups, alternating with the other tool run by run;
wall time from a monotonic clock, peak RSS from the child's rusage. Medians throughout; the ratio is
the median of the per-pair ratios az/acr-health. A and B: the same environment for both, the real
docker client with no daemon, no helm, no notary, not logged in to Azure, no network route to Azure.
A2: as A with this machine's Docker daemon up (no images; the test pull fails, nothing leaves).
C (bench/scenario_c.sh): both inside a network namespace of their own (loopback only) where
example.azurecr.io is a fake ACR on 127.0.0.1:443 in front of the real docker-registry in token
mode, with IMDS on 127.0.0.3 (never the link-local address) and Resource Manager on 127.0.0.2
(test CA trusted through REQUESTS_CA_BUNDLE), fake docker (daemon up, pull OK) and helm 3.14.0, no notary, az logged in
with \`az login --identity\`; both tools take their Entra tokens from IMDS, and each reported every
step OK (checked before timing; no --ignore-errors, so every timed run exited 0 only if so)."
python3 bench/report.py "$work/samples.json" "$header" > "$work/results.md"
echo "bench: micro benchmarks (divan)" >&2
{
  echo
  echo "## E. Micro benchmarks (\`cargo bench --bench micro\`, divan)"
  echo
  echo '```'
  # divan prints "Timer precision" on stderr and the table on stdout: both, from that line on.
  cargo bench --locked --bench micro -- --color never > "$work/bench.out" 2>&1 || true
  if grep -q '^Timer precision' "$work/bench.out"; then
    sed -n '/^Timer precision/,$p' "$work/bench.out"
  else
    echo "cargo bench --bench micro gave no results; its last words:"
    tail -n 15 "$work/bench.out"
  fi
  echo '```'
  echo
  echo "This whole \`bench/run.sh $runs\` took $((SECONDS - started)) s (with what it had to install and build)."
} >> "$work/results.md"
cp "$work/results.md" bench/results.md
cat bench/results.md
