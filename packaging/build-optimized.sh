#!/usr/bin/env bash
# The optimized build of acr-health: what the benchmark measures and what a release ships.
#
#   packaging/build-optimized.sh [--example NAME]... [--wheel DIR] [CARGO BUILD OPTIONS]   (e.g. -q, --offline)
#
# Prints the path of the built executable on stdout (with --wheel, the wheel's); everything else
# goes to stderr.
#
# --wheel DIR: also the Python wheel (pyproject.toml: maturin, the binary and the Azure CLI
# extension's launcher) of exactly this executable, into DIR, by `pip wheel .`: maturin builds
# for the same host with the same flags and features, so cargo finds everything already built.
#
# On glibc Linux it builds, with the release profile and the `fast-exit` feature (app::exit ends
# with _exit once the output is flushed):
# - one static-pie executable: no shared library to find, map, relocate and bind at every start,
#   and address-space randomization kept (PIE). Name lookups keep glibc's behavior: `files` and
#   `dns` are built into libc.a, other NSS modules in /etc/nsswitch.conf are loaded from the
#   system's glibc, so build on the distribution it runs on;
# - with packed relative relocations (RELR) when that glibc is 2.36 or newer: glibc applies them
#   at start from a much smaller table. An older glibc would start with every pointer unrelocated,
#   so they are only asked for when this machine's glibc, the one linked in, has them.
# It builds examples/bench_floor.rs the same way (the benchmark's floor must be linked exactly as
# acr-health is), and each `--example NAME` given too. Then it checks on the two executables what
# it promises (ELF ET_DYN without PT_INTERP and without DT_NEEDED, with a dynamic section to
# relocate itself from; DT_RELR exactly when glibc is 2.36 or newer; both start) and fails
# loudly when one is not kept. Elsewhere (musl, macOS, ...) it makes a plain release build and
# says so.
#
# The flags: cargo builds for the host named explicitly (--target), so that they reach only the
# program and not build scripts and proc macros (a static proc macro cannot be built); the output
# is under target/<host>/release/. They are appended to your RUSTFLAGS or
# CARGO_ENCODED_RUSTFLAGS, which are kept: cargo reads only one source of flags, so either
# variable alone would silently replace ours. Like RUSTFLAGS, they replace any rustflags in cargo
# config files; put such flags in RUSTFLAGS.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { echo "build-optimized: $*" >&2; }
die() {
  say "FAILED: $*"
  exit 1
}

examples=(--example bench_floor)
cargo_args=()
wheel_dir=""
while [ $# -gt 0 ]; do
  case $1 in
    --wheel)
      [ $# -ge 2 ] || die "--wheel needs a directory (e.g. --wheel target/wheels)"
      wheel_dir=$2
      shift 2
      ;;
    --wheel=*) wheel_dir=${1#--wheel=}; shift ;;
    --example)
      [ $# -ge 2 ] || die "--example needs a name (e.g. --example bench_servers)"
      examples+=(--example "$2")
      shift 2
      ;;
    --example=*) examples+=("$1"); shift ;;
    *) cargo_args+=("$1"); shift ;;
  esac
done

host=$("${RUSTC:-rustc}" -vV | sed -n 's/^host: //p')
[ -n "$host" ] || die "\`${RUSTC:-rustc} -vV\` names no host; is the Rust toolchain installed (rustup)?"
target_dir=$(cargo metadata --format-version 1 --no-deps | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')
[ -n "$target_dir" ] || die "\`cargo metadata\` names no target directory"

# Two cargo runs: examples build with the dev-dependencies, whose features would otherwise be
# unified into acr-health's dependencies, and acr-health would not be the program `cargo install`
# builds with these flags.
build() {
  cargo build --release --locked "$@" --bin acr-health "${cargo_args[@]}"
  cargo build --release --locked "$@" "${examples[@]}" "${cargo_args[@]}"
}

# The wheel of the binary just built ($@: maturin's arguments), its path on stdout.
wheel() {
  mkdir -p "$wheel_dir"
  local before after
  before=$(ls "$wheel_dir"/acr_health-*.whl 2>/dev/null || true)
  python3 -m pip --version >/dev/null 2>&1 \
    || die "--wheel needs Python 3 with pip (python3 -m pip); install it (Debian: python3-pip python3-venv)"
  MATURIN_PEP517_ARGS="$*" python3 -m pip wheel . --no-deps --disable-pip-version-check -q -w "$wheel_dir" >&2 \
    || die "pip wheel . failed (maturin, from PyPI, builds it; see above)"
  after=$(ls -t "$wheel_dir"/acr_health-*.whl 2>/dev/null | head -n 1)
  [ -n "$after" ] || die "pip wheel . made no acr_health-*.whl in $wheel_dir (had: ${before:-none})"
  echo "$after"
}

if [ "$(uname -s)" != Linux ] || [[ "$host" != *-linux-gnu* ]]; then
  say "the host is $host, not glibc Linux: a plain release build (no static-pie, no RELR, no _exit)"
  build
  bin=$target_dir/release/acr-health
  [ -x "$bin" ] || die "cargo built no $bin"
  if [ -n "$wheel_dir" ]; then wheel; else echo "$bin"; fi
  exit 0
fi

glibc=$(getconf GNU_LIBC_VERSION 2>/dev/null) || true
[[ "$glibc" =~ ^glibc\ ([0-9]+)\.([0-9]+) ]] \
  || die "the host is $host, but \`getconf GNU_LIBC_VERSION\` gives no glibc version ('$glibc'); install glibc's getconf (Debian: libc-bin)"
relr=no
if ((BASH_REMATCH[1] > 2 || (BASH_REMATCH[1] == 2 && BASH_REMATCH[2] >= 36))); then
  relr=yes
fi

flags=(
  -Ctarget-feature=+crt-static
  # std starts children with posix_spawn (a vfork, no copy of the parent's page tables) only when
  # it finds glibc's version and the spawn-chdir call; it looks both up as weak symbols, which a
  # static link leaves empty unless something asks for them, so std would fork instead.
  -Clink-arg=-Wl,--undefined=gnu_get_libc_version
  -Clink-arg=-Wl,--undefined=posix_spawn_file_actions_addchdir_np
)
[ "$relr" = no ] || flags+=(-Clink-arg=-Wl,-z,pack-relative-relocs)

# The caller's flags first, in cargo's own order of precedence, then ours.
user_flags=()
if [ -n "${CARGO_ENCODED_RUSTFLAGS+set}" ]; then
  [ -z "$CARGO_ENCODED_RUSTFLAGS" ] || IFS=$'\x1f' read -r -a user_flags <<<"$CARGO_ENCODED_RUSTFLAGS"
elif [ -n "${RUSTFLAGS+set}" ]; then
  read -r -a user_flags <<<"$RUSTFLAGS"
fi
all_flags=("${user_flags[@]}" "${flags[@]}")
encoded=$(printf '%s\x1f' "${all_flags[@]}")
export CARGO_ENCODED_RUSTFLAGS=${encoded%$'\x1f'}
unset RUSTFLAGS

say "$glibc on $host: static-pie, RELR: $relr, _exit (feature fast-exit)"
build --target "$host" --features fast-exit

# What the executable at $1 must be; $2: whether it must carry packed relocations.
verify() {
  local file=$1 want_relr=$2 header segments dynamic tag has_relr=no
  [ -f "$file" ] || die "cargo built no $file"
  command -v readelf >/dev/null || die "readelf is missing, so the build cannot be verified; install binutils"
  header=$(readelf -hW "$file") || die "$file is not an ELF file"
  segments=$(readelf -lW "$file")
  dynamic=$(readelf -dW "$file")
  [ "$(awk '$1 == "Type:" { print $2 }' <<<"$header")" = DYN ] \
    || die "$file is not position-independent (ELF type is not DYN): the link lost -static-pie; is +crt-static in the rustflags?"
  ! awk '$1 == "INTERP" { found = 1 } END { exit !found }' <<<"$segments" \
    || die "$file names a dynamic loader (PT_INTERP): it is linked dynamically, so -Ctarget-feature=+crt-static did not reach the link (a RUSTC_WRAPPER or linker that drops it?)"
  awk '$1 == "DYNAMIC" { found = 1 } END { exit !found }' <<<"$segments" \
    || die "$file has no dynamic section (PT_DYNAMIC), so it cannot relocate itself: static, but not static-pie"
  for tag in $(awk '$1 ~ /^0x[0-9a-fA-F]+$/ { print $1 }' <<<"$dynamic"); do
    case $((16#${tag#0x})) in
      1) die "$file needs a shared library (DT_NEEDED): it is not linked statically" ;;
      36) has_relr=yes ;;
    esac
  done
  [ "$has_relr" = "$want_relr" ] || {
    if [ "$want_relr" = yes ]; then
      die "$file has no packed relocations (DT_RELR) although $glibc applies them; the linker needs -z pack-relative-relocs (binutils 2.38 or newer, or lld 15)"
    else
      die "$file has packed relocations (DT_RELR), which $glibc (older than 2.36) does not apply: it would start unrelocated"
    fi
  }
}

release=$target_dir/$host/release
bin=$release/acr-health
floor=$release/examples/bench_floor
verify "$bin" "$relr"
verify "$floor" "$relr"
"$bin" --version >/dev/null || die "$bin does not start (\`acr-health --version\` failed)"
"$floor" true || die "$floor does not start or cannot run a child (\`bench_floor true\` failed)"
say "verified: $bin and $floor are static-pie, RELR: $relr"
if [ -n "$wheel_dir" ]; then
  wheel --target "$host"
else
  echo "$bin"
fi
