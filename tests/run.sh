#!/usr/bin/env bash
# Runs the unit tests (cmocka binaries in BUILD/tests) and the integration tests
# (tests/integration/test_*.sh, each given BUILD), then prints one summary line.
# Usage: tests/run.sh BUILD [unit|integration]
set -u
BUILD=${1:?usage: tests/run.sh BUILD [unit|integration]}
WHAT=${2:-all}
export CLIPCRAWL_BUILD=$BUILD
passed=0 failed=0 failures=()

run_one() { # name, command...
  local name=$1; shift
  local log; log=$(mktemp)
  local t0=$SECONDS
  if "$@" >"$log" 2>&1; then
    passed=$((passed + 1)); printf 'PASS  %-40s %3ss\n' "$name" $((SECONDS - t0))
    grep -E '^\[  (PASSED|FAILED)  \]' "$log" | sed 's/^/      /'
  else
    failed=$((failed + 1)); failures+=("$name")
    printf 'FAIL  %-40s %3ss\n' "$name" $((SECONDS - t0)); sed 's/^/      | /' "$log" | tail -n 60
  fi
  rm -f "$log"
}

if [ "$WHAT" != integration ]; then
  for t in "$BUILD"/tests/test_*; do
    [ -x "$t" ] || continue
    run_one "unit/$(basename "$t")" "$t"
  done
fi
if [ "$WHAT" != unit ]; then
  for t in tests/integration/test_*.sh; do
    [ -f "$t" ] || continue
    run_one "integration/$(basename "$t" .sh)" bash "$t" "$BUILD"
  done
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] || { printf 'failed: %s\n' "${failures[@]}"; exit 1; }
[ "$passed" -gt 0 ] || { echo "no tests ran"; exit 1; }
