#!/usr/bin/env bash
# Scenario C of the benchmark: the full path, both tools against the same loopback registry with
# the Entra token flow, inside a network namespace this script creates and deletes.
#
# Usage: bench/scenario_c.sh [RUNS] [OUT]   (bench/run.sh calls it; it also runs alone)
# Writes bench/harness.py's samples for scenario "C" to OUT (default: stdout), with the requests
# each tool made. If the scenario cannot be set up, or a tool does not report every step OK, OUT
# gets {"name": "C", "error": "<why>"} instead and the exit status is 1: nothing is timed then.
#
# Inside the namespace (its own loopback only; no packet leaves it):
# - /etc/netns/<ns>/hosts: example.azurecr.io -> 127.0.0.1, management.azure.com -> 127.0.0.2,
#   the registry's data endpoints example.westeurope.data.azurecr.io -> 127.0.0.4 and
#   example.eastus.data.azurecr.io -> 127.0.0.5; resolv.conf points at 127.0.0.1, where nothing
#   answers (any other name fails at once);
# - lo carries 127.0.0.2/32 to 127.0.0.5/32 (IMDS on 127.0.0.3: never the link-local
#   169.254.169.254, even in a namespace of our own);
# - the servers of examples/bench_servers.rs (built here): a fake ACR on 127.0.0.1:443
#   (test CA leaf for example.azurecr.io; /oauth2/* itself, /v2/ forwarded to the real Debian
#   docker-registry in token mode), IMDS on 127.0.0.3:80, and ARM on 127.0.0.2:443;
# - fake `docker` (daemon up, version JSON, pull OK) and `helm` (3.14.0) scripts on PATH;
# - az logged in with `az login --identity` into a private AZURE_CONFIG_DIR; both tools trust
#   the test CA through REQUESTS_CA_BUNDLE and take their Entra tokens from IMDS, where
#   IMDS_ENDPOINT (acr-health) and AZURE_POD_IDENTITY_AUTHORITY_HOST (az's MSAL) send them.
# Both tools run `acr check-health -n example --yes` (no --ignore-errors: an error anywhere is
# exit 1, so the harness's exit-code check proves every timed run was all OK).
# Then the endpoint sweep alone: the data endpoints answer after 40 and 80 ms (SIGUSR2 to the
# servers), and RUNS runs of acr-health with `-o json` give the sweep's wall time (the
# registry.endpoints check's duration) against the slowest host's own request time.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-20}
out=${2:-/dev/stdout}
root=$PWD
az=$root/bench/.venv/bin/az
ns=acrbench-c-$$-$RANDOM
work=$(mktemp -d /tmp/acrbench-c.XXXXXX)
server_pid=
ns_created=

say() { echo "bench C: $*" >&2; }

# Gives up on scenario C: says why (stderr and OUT) and exits 1; the trap cleans up.
fail() {
  say "NOT MEASURED: $*"
  python3 -c 'import json, sys; json.dump([{"name": "C", "error": sys.argv[1]}], sys.stdout)' "$*" > "$out"
  exit 1
}

cleanup() {
  set +e
  if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
    kill -TERM "$server_pid"
    for _ in $(seq 50); do kill -0 "$server_pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$server_pid" 2>/dev/null && kill -KILL "$server_pid"
  fi
  # Whatever this script started in the namespace and is still there (the registry child, if
  # the servers died without stopping it): by process id, only those in our namespace.
  if [ -n "$ns_created" ]; then
    for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$pid" 2>/dev/null; done
    ip netns del "$ns"
    rm -rf "/etc/netns/$ns"
  fi
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

[ "$(id -u)" = 0 ] || fail "needs root (a network namespace, ports 80 and 443)"
command -v ip >/dev/null || fail "needs iproute2 (ip netns)"
[ -x /usr/bin/docker-registry ] || fail "needs Debian's docker-registry (/usr/bin/docker-registry; bash tests/run.sh installs it)"
[ -x "$az" ] || fail "$az is missing (bench/run.sh installs it)"

# acr-health as bench/run.sh measures it (nothing to do when it has just built it), and the
# servers with it.
say "building acr-health and the servers (packaging/build-optimized.sh --example bench_servers)"
bin=$(packaging/build-optimized.sh -q --example bench_servers) \
  || fail "packaging/build-optimized.sh failed (its reason is above)"
servers=$(dirname "$bin")/examples/bench_servers

say "network namespace $ns"
ip netns add "$ns" || fail "cannot create network namespace $ns"
ns_created=1
mkdir -p "/etc/netns/$ns"
printf '%s\n' "127.0.0.1 localhost" "::1 localhost" "127.0.0.1 example.azurecr.io" \
  "127.0.0.2 management.azure.com" "127.0.0.4 example.westeurope.data.azurecr.io" \
  "127.0.0.5 example.eastus.data.azurecr.io" > "/etc/netns/$ns/hosts"
printf 'nameserver 127.0.0.1\noptions timeout:1 attempts:1\n' > "/etc/netns/$ns/resolv.conf"
ip -n "$ns" link set lo up || fail "cannot bring lo up in $ns"
for ip in 127.0.0.2 127.0.0.3 127.0.0.4 127.0.0.5; do
  ip -n "$ns" addr add "$ip/32" dev lo || fail "cannot add $ip to lo in $ns"
done

# Runs a command inside the namespace with exactly the environment given (nothing inherited).
in_ns() { ip netns exec "$ns" env -i "$@"; }

# Not through in_ns (a function runs in a subshell): `ip netns exec` and `env` exec, so $! is the
# servers' own process, which stops the registry child when it gets SIGTERM.
ip netns exec "$ns" env -i PATH=/usr/bin:/bin "$servers" "$work/ca.pem" --log "$work/requests.log" \
  > "$work/servers.out" 2> "$work/servers.err" &
server_pid=$!
for _ in $(seq 600); do
  grep -q READY "$work/servers.out" 2>/dev/null && break
  kill -0 "$server_pid" 2>/dev/null || fail "the servers exited before READY: $(tail -5 "$work/servers.err")"
  sleep 0.1
done
grep -q READY "$work/servers.out" || fail "the servers did not print READY within 60 s"

mkdir -p "$work/bin" "$work/home" "$work/az"
cat > "$work/bin/docker" <<'EOF'
#!/bin/sh
# Fake docker: the daemon answers, the version is 28.2.2, the pull works.
case "$1" in
  ps) echo "CONTAINER ID   IMAGE     COMMAND   CREATED   STATUS    PORTS     NAMES" ;;
  # az asks with `--format json`, acr-health with `--format '{{json .}}'`.
  version) [ "$2 $3" = "--format json" ] || [ "$2 $3" = "--format {{json .}}" ] || exit 64
    echo '{"Client":{"Version":"28.2.2","ApiVersion":"1.50","GitCommit":"e6534b4","Os":"linux","Arch":"amd64"},"Server":{"Version":"28.2.2","ApiVersion":"1.50","GitCommit":"45873be","Os":"linux","Arch":"amd64"}}' ;;
  pull) echo "latest: Pulling from mcr/hello-world"; echo "Status: Image is up to date for $2"; echo "$2" ;;
  *) echo "fake docker: unexpected arguments: $*" >&2; exit 64 ;;
esac
EOF
cat > "$work/bin/helm" <<'EOF'
#!/bin/sh
# Fake helm 3.14.0.
case "$*" in
  --help) echo "The Kubernetes package manager" ;;
  "version --client") echo 'version.BuildInfo{Version:"v3.14.0", GitCommit:"3fc9f4b", GitTreeState:"clean", GoVersion:"go1.21.5"}' ;;
  *) echo "fake helm: unexpected arguments: $*" >&2; exit 64 ;;
esac
EOF
chmod +x "$work/bin/docker" "$work/bin/helm"

# The one environment of both tools (no token in it: both ask IMDS).
env_vars=(
  "PATH=$work/bin:/usr/bin:/bin" "HOME=$work/home" "AZURE_CONFIG_DIR=$work/az"
  "REQUESTS_CA_BUNDLE=$work/ca.pem" "AZURE_CORE_COLLECT_TELEMETRY=false"
  "AZURE_CORE_NO_COLOR=true" "NO_COLOR=1" "LANG=C.UTF-8"
  "IMDS_ENDPOINT=http://127.0.0.3" "AZURE_POD_IDENTITY_AUTHORITY_HOST=http://127.0.0.3"
)
args=(acr check-health -n example --yes)

# The requests the servers logged since line $1 (the log is written every 20 ms).
requests_since() { sleep 0.3; tail -n +"$(($1 + 1))" "$work/requests.log"; }
lines() { wc -l < "$work/requests.log"; }

say "az login --identity"
mark=$(lines)
in_ns "${env_vars[@]}" "$az" login --identity -o none > "$work/login.out" 2> "$work/login.err" \
  || fail "az login --identity failed: $(grep -m3 . "$work/login.err" | tr '\n' ' ')"
requests_since "$mark" > "$work/login.requests"

say "checking az (one run)"
mark=$(lines)
set +e
in_ns "${env_vars[@]}" "$az" "${args[@]}" > "$work/az.out" 2> "$work/az.err"
az_exit=$?
set -e
requests_since "$mark" > "$work/az.requests"
sed 's/^/  az: /' "$work/az.err" >&2
ls=example.azurecr.io
for line in "DNS lookup to $ls at IP 127.0.0.1 : OK" "Challenge endpoint https://$ls/v2/ : OK" \
  "Fetch refresh token for registry '$ls' : OK" "Fetch access token for registry '$ls' : OK" \
  "Docker daemon status: available" "Docker pull of 'mcr.microsoft.com/mcr/hello-world:latest' : OK" \
  "Helm version: 3.14.0"; do
  grep -qF "$line" "$work/az.err" || fail "az did not report '$line' (exit $az_exit; stderr above)"
done
! grep -q 'ERROR:' "$work/az.err" || fail "az reported an error (stderr above)"
[ "$az_exit" = 0 ] || fail "az exited $az_exit"

say "checking acr-health (one run)"
mark=$(lines)
set +e
in_ns "${env_vars[@]}" "$bin" "${args[@]}" -o json > "$work/ours.json" 2> "$work/ours.err"
ours_exit=$?
set -e
requests_since "$mark" > "$work/ours.requests"
# Every check OK, except notary (no notary client here: a warning that never fails a run, and az
# 2.91 no longer checks it), the CMK check (skipped: the registry has no customer-managed key) and
# the data probe, beyond az (skipped: the registry is empty, so there is no image to download; one
# catalog request more than az makes).
verdict=$(python3 - "$work/ours.json" <<'PY'
import json, sys
try:
    doc = json.load(open(sys.argv[1]))
except ValueError as e:
    print(f"no JSON document on stdout ({e})")
    sys.exit(1)
checks = {c["name"]: c for c in doc["checks"]}
for c in doc["checks"]:
    print(f"  acr-health: {c['name']}: {c['status']}{' ' + c['code'] if c.get('code') else ''}", file=sys.stderr)
problems = []
if doc["summary"]["errors"]:
    problems.append(f"{doc['summary']['errors']} error(s)")
for name in ["docker.daemon", "docker.version", "docker.pull", "registry.login_server", "registry.dns",
             "registry.challenge", "registry.refresh_token", "registry.access_token",
             "registry.token_accepted", "helm.version"]:
    status = checks.get(name, {}).get("status", "missing")
    if status != "ok":
        problems.append(f"{name} is {status}")
for name, c in checks.items():
    allowed = name.startswith("notary.") or name == "registry.cmk" or (
        name in ("registry.manifest", "registry.blob") and c["status"] == "skipped")
    if c["status"] != "ok" and not allowed and f"{name} is {c['status']}" not in problems:
        problems.append(f"{name} is {c['status']}")
if problems:
    print("; ".join(problems))
    sys.exit(1)
PY
) || fail "acr-health did not report every step OK: $verdict (exit $ours_exit)"
[ "$ours_exit" = 0 ] || fail "acr-health exited $ours_exit"
grep -q 'managed identity' <(in_ns "${env_vars[@]}" "$bin" "${args[@]}" --verbose 2>&1) \
  || fail "acr-health did not take its Entra token from the managed identity endpoint"

# Both went through IMDS for the registry audience, and nothing else was asked for a token.
grep -q 'imds GET .*resource=https%3A%2F%2Fcontainerregistry.azure.net' "$work/az.requests" \
  || fail "az did not ask IMDS for a registry token"
grep -q 'imds GET .*resource=https%3A%2F%2Fcontainerregistry.azure.net' "$work/ours.requests" \
  || fail "acr-health did not ask IMDS for a registry token"
kill -USR1 "$server_pid"   # the request log is complete; no more logging while timing
for who in login az ours; do
  say "requests ($who):"
  sed 's/^/    /' "$work/$who.requests" >&2
done

say "both tools report every step OK; measuring ($runs runs per tool)"
spec=$(python3 - "$bin" "$az" "$runs" "${env_vars[@]}" -- "${args[@]}" <<'PY'
import json, sys
bin, az, runs = sys.argv[1], sys.argv[2], int(sys.argv[3])
rest = sys.argv[4:]
cut = rest.index("--")
env = dict(kv.split("=", 1) for kv in rest[:cut])
args = rest[cut + 1:]
print(json.dumps({"runs": runs, "warmup": 3, "scenarios": [{"name": "C", "commands": [
    {"tool": "acr-health", "argv": [bin, *args], "env": env, "expect_exit": 0},
    {"tool": "az", "argv": [az, *args], "env": env, "expect_exit": 0},
]}]}))
PY
)
in_ns PATH=/usr/bin:/bin python3 "$root/bench/harness.py" <<<"$spec" > "$work/samples.json" \
  || fail "the harness failed (a timed run did not exit 0: not every step was OK)"
say "the endpoint sweep: data endpoints answering after 40 and 80 ms ($runs runs)"
kill -USR2 "$server_pid"
for i in $(seq "$runs"); do
  in_ns "${env_vars[@]}" "$bin" "${args[@]}" -o json > "$work/sweep-$i.json" 2>/dev/null \
    || fail "acr-health exited $? with slow data endpoints"
done
python3 - "$work" "$runs" <<'PY' > "$out"
import json, sys
work, runs = sys.argv[1], int(sys.argv[2])
samples = json.load(open(f"{work}/samples.json"))
read = lambda name: [l.rstrip("\n") for l in open(f"{work}/{name}.requests")]
samples[0]["requests"] = {"az login --identity": read("login"), "az": read("az"), "acr-health": read("ours")}
sweeps = []
for i in range(1, runs + 1):
    check = next(c for c in json.load(open(f"{work}/sweep-{i}.json"))["checks"]
                 if c["name"] == "registry.endpoints")
    if check["status"] != "ok":
        sys.exit(f"run {i}: registry.endpoints is {check['status']}")
    sweeps.append({"wall_ms": check["duration_ms"],
                   "hosts_ms": {e["host"]: e["timings"]["total_ms"] for e in check["endpoints"]}})
samples[0]["sweep"] = sweeps
json.dump(samples, sys.stdout)
PY
say "measured"
