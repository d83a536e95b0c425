#!/usr/bin/env bash
# Runs every test. Installs what the tests need when it is missing, so this one command works on
# a fresh machine (as root, or with sudo available).
set -euo pipefail
cd "$(dirname "$0")/.."

# Everything the suite needs from the system, by the command it provides.
need_packages=()
# The environment-check and daemonless-pull tests run the real Docker client, found on PATH
# (support::docker_client); only the client, its daemon is never asked. `docker-client` stands for
# the package that has it, chosen below once the package lists are fresh.
command -v docker >/dev/null || need_packages+=(docker-client)
# The registry tests (tests/support) spawn the real Debian docker-registry (distribution 2.8) on
# loopback, with their own config. htpasswd lines are made in Rust, so no apache2-utils.
[ -x /usr/bin/docker-registry ] || need_packages+=(docker-registry)
# The install tests (tests/install.rs) build the wheel with `python3 -m pip wheel .` (maturin,
# from PyPI) and make virtual environments, one of them with Azure CLI 2.91.0 from PyPI.
command -v python3 >/dev/null || need_packages+=(python3)
python3 -m pip --version >/dev/null 2>&1 || need_packages+=(python3-pip)
python3 -c 'import ensurepip, venv' 2>/dev/null || need_packages+=(python3-venv)

if [ ${#need_packages[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  # docker-registry's postinst starts the packaged service, whose config listens on :5000 on every
  # interface, and docker.io's starts the Docker daemon. A policy-rc.d that exits 101
  # ("forbidden") keeps any service from starting during the install; one we create is removed
  # again afterwards, and the units are left disabled.
  policy=/usr/sbin/policy-rc.d
  made_policy=""
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' | $sudo tee "$policy" >/dev/null
    $sudo chmod 755 "$policy"
    made_policy=1
    trap '$sudo rm -f "$policy"' EXIT
  fi
  $sudo apt-get update -qq
  # Debian's client-only package (docker-cli, from trixie on) when there is one, else docker.io.
  stop_units=()
  if [[ " ${need_packages[*]} " == *" docker-client "* ]]; then
    client=docker.io
    if apt-cache policy docker-cli | grep -q 'Candidate: [^(]'; then
      client=docker-cli
    else
      stop_units+=(docker.service docker.socket)
      # containerd comes with docker.io; its service too stays off unless it was there before.
      dpkg -s containerd >/dev/null 2>&1 || stop_units+=(containerd.service)
    fi
    need_packages=("${need_packages[@]/docker-client/$client}")
  fi
  if [[ " ${need_packages[*]} " == *" docker-registry "* ]]; then
    stop_units+=(docker-registry.service)
  fi
  echo "tests/run.sh: installing ${need_packages[*]}" >&2
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need_packages[@]}"
  if [ -n "$made_policy" ]; then
    $sudo rm -f "$policy"
    trap - EXIT
  fi
  if [ -d /run/systemd/system ] && [ ${#stop_units[@]} -gt 0 ]; then
    $sudo systemctl disable --now "${stop_units[@]}" >/dev/null 2>&1 || true
  fi
fi

# The summary line adds up every test binary's result, so a run that executed nothing is visible.
log=$(mktemp)
trap 'rm -f "$log"' EXIT
set +e
cargo test --all-targets --locked 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e
awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($(i) ~ /^passed;?$/) p += $(i-1); if ($(i) ~ /^failed;?$/) f += $(i-1) } }
     END { printf "tests: %d passed, %d failed\n", p, f }' "$log"
exit "$status"
