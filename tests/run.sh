#!/usr/bin/env bash
# Runs every test. Installs what the tests need when it is missing, so this one command works on
# a fresh machine (as root, or with sudo available).
set -euo pipefail
cd "$(dirname "$0")/.."

# Everything the suite needs from the system, by the command it provides.
need_packages=()
# (The environment-check and registry tests add their packages here.)

if [ ${#need_packages[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "tests/run.sh: installing ${need_packages[*]}" >&2
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need_packages[@]}"
fi

cargo test --all-targets --locked
