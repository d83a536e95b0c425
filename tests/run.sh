#!/usr/bin/env bash
# Runs every test. Installs what the tests need when it is missing, so this one command works on
# a fresh machine (as root, or with sudo available).
set -euo pipefail
cd "$(dirname "$0")/.."

# Everything the suite needs from the system, by the command it provides.
need_packages=()
# (The environment-check tests add their packages here.)
# The registry tests (tests/support) spawn the real Debian docker-registry (distribution 2.8) on
# loopback, with their own config. htpasswd lines are made in Rust, so no apache2-utils.
[ -x /usr/bin/docker-registry ] || need_packages+=(docker-registry)

if [ ${#need_packages[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  # docker-registry's postinst starts the packaged service, whose config listens on :5000 on every
  # interface. A policy-rc.d that exits 101 ("forbidden") keeps any service from starting during
  # the install; one we create is removed again afterwards, and the unit is left disabled.
  policy=/usr/sbin/policy-rc.d
  made_policy=""
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' | $sudo tee "$policy" >/dev/null
    $sudo chmod 755 "$policy"
    made_policy=1
    trap '$sudo rm -f "$policy"' EXIT
  fi
  echo "tests/run.sh: installing ${need_packages[*]}" >&2
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need_packages[@]}"
  if [ -n "$made_policy" ]; then
    $sudo rm -f "$policy"
    trap - EXIT
  fi
  if [ -d /run/systemd/system ] && [[ " ${need_packages[*]} " == *" docker-registry "* ]]; then
    $sudo systemctl disable --now docker-registry.service >/dev/null 2>&1 || true
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
