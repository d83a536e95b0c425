#!/usr/bin/env bash
# Benchmarks acr-health side by side with the real Azure CLI 2.91.0 and writes bench/results.md.
# Usage: bench/run.sh [RUNS]   (default 20 timed runs per tool and scenario, after 3 warm-ups)
# Scenarios: A environment only, B DNS failure (both side by side with az), D explain, E micro
# benchmarks. Scenario C (the full Entra path in a network namespace) is not in it yet.
# It installs what it needs on a fresh machine: Azure CLI 2.91.0 into bench/.venv (a private
# virtual environment; nothing else changes) and builds acr-health in release mode.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-20}
root=$PWD

if [ ! -x bench/.venv/bin/az ] || ! bench/.venv/bin/az version 2>/dev/null | grep -q '"azure-cli": "2.91.0"'; then
  echo "bench: installing Azure CLI 2.91.0 into bench/.venv (a few minutes, once)" >&2
  python3 -m venv bench/.venv
  bench/.venv/bin/pip install -q --disable-pip-version-check azure-cli==2.91.0
fi
echo "bench: building acr-health (release)" >&2
cargo build --release --locked -q
bin=$root/target/release/acr-health
az=$root/bench/.venv/bin/az
docker=$(command -v docker || true)
[ -n "$docker" ] || { echo "bench: scenario A needs the docker client on PATH" >&2; exit 1; }

work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
mkdir -p "$work/az" "$work/home"
# The same environment for both tools: the real docker client without a daemon, no helm, no
# notary, no Azure login, no telemetry, no colour.
common_env=$(python3 - "$work" "$(dirname "$docker")" <<'PY'
import json, sys
work, docker_dir = sys.argv[1], sys.argv[2]
print(json.dumps({
    "PATH": f"{docker_dir}:/usr/bin:/bin", "HOME": f"{work}/home", "DOCKER_HOST": "unix:///nonexistent.sock",
    "AZURE_CONFIG_DIR": f"{work}/az", "AZURE_CORE_COLLECT_TELEMETRY": "false", "AZURE_CORE_NO_COLOR": "true",
    "IMDS_ENDPOINT": "http://127.0.0.1:9", "NO_COLOR": "1", "LANG": "C.UTF-8",
}))
PY
)
spec=$(python3 - "$bin" "$az" "$docker" "$runs" "$common_env" <<'PY'
import json, sys
bin, az, docker, runs, env = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), json.loads(sys.argv[5])
pair = lambda args: [{"tool": "acr-health", "argv": [bin, *args], "env": env, "expect_exit": 0},
                     {"tool": "az", "argv": [az, *args], "env": env, "expect_exit": 0}]
print(json.dumps({"runs": runs, "warmup": 3, "scenarios": [
    {"name": "A", "commands": pair(["acr", "check-health", "--ignore-errors", "--yes"])},
    {"name": "A-children", "commands": [
        {"tool": "docker ps", "argv": [docker, "ps"], "env": env},
        {"tool": "docker version --format json", "argv": [docker, "version", "--format", "json"], "env": env}]},
    {"name": "B", "commands": pair(["acr", "check-health", "-n", "example", "--ignore-errors", "--yes"])},
    {"name": "D1", "commands": [{"tool": "acr-health", "argv": [bin, "explain", "CONNECTIVITY_SSL_ERROR", "--lang", "nl"], "env": env, "expect_exit": 0}]},
    {"name": "D2", "commands": [{"tool": "acr-health", "argv": [bin, "explain", "--list", "-o", "json"], "env": env, "expect_exit": 0}]},
]}))
PY
)
echo "bench: measuring ($runs runs per tool and scenario)" >&2
python3 bench/harness.py <<<"$spec" > "$work/samples.json"
size=$(stat -c %s "$bin")
header="# Benchmark results

Date: $(date -u +%Y-%m-%dT%H:%MZ). Machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -srm).
acr-health $(git rev-parse --short HEAD 2>/dev/null || echo unknown), release build, $((size / 1024)) KiB; Azure CLI 2.91.0 from PyPI in bench/.venv.
Each tool ran $runs times per scenario after 3 warm-ups, alternating with the other tool run by run;
wall time from a monotonic clock, peak RSS from the child's rusage. Medians throughout; the ratio is
the median of the per-pair ratios az/acr-health. Same environment for both: the real docker client
with no daemon, no helm, no notary, not logged in to Azure, no network route to Azure."
python3 bench/report.py "$work/samples.json" "$header" > "$work/results.md"
echo "bench: micro benchmarks (divan)" >&2
{
  echo
  echo "## E. Micro benchmarks (\`cargo bench --bench micro\`, divan)"
  echo
  echo '```'
  cargo bench --locked --bench micro -- --color never 2>/dev/null | sed -n '/^Timer precision/,$p'
  echo '```'
} >> "$work/results.md"
cp "$work/results.md" bench/results.md
cat bench/results.md
