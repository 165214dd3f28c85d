# tests/integration/lib.sh — sourced by the integration tests that drive the clipcrawl binary:
# BIN and MK (the binary and the image generator of BUILD, $1, default build), a temporary
# folder T removed on exit, a check counter, and expect/ok/fail.
set -euo pipefail
BUILD=${1:-build}
BIN=$(realpath "$BUILD/clipcrawl")
MK=$(realpath "$BUILD/tools/mkimages")
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
checks=0
ok() { checks=$((checks + 1)); }
fail() { echo "FAIL: $*" >&2; exit 1; }

# expect STATUS STDERR-SUBSTRING -- command...: runs it with stdout in $T/out and stderr in
# $T/err; the status must be STATUS and stderr must hold the substring (when not empty).
expect() {
  local want=$1 needle=$2; shift 3
  set +e; "$@" >"$T/out" 2>"$T/err"; local got=$?; set -e
  [ "$got" -eq "$want" ] || { cat "$T/err" >&2; fail "$* exited $got, expected $want"; }
  if [ -n "$needle" ] && ! grep -qF -- "$needle" "$T/err"; then
    cat "$T/err" >&2; fail "$*: stderr lacks '$needle'"
  fi
  ok
}
