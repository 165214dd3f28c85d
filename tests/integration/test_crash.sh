#!/usr/bin/env bash
# Crash safety of the shard writer: first shows that the checker (crashee check) catches lost,
# uncommitted, damaged and wrong records, then runs a short kill -9 campaign (30 rounds; the
# long one is `make fault`). Usage: tests/integration/test_crash.sh BUILD
set -u
BUILD=${1:?usage: test_crash.sh BUILD}
CRASHEE=$BUILD/tools/crashee
[ -x "$CRASHEE" ] || { echo "missing $CRASHEE (run make all)"; exit 1; }
T=$(mktemp -d "${TMPDIR:-/tmp}/cc-test-crash-XXXXXX")
trap 'rm -rf "$T"' EXIT
CFG=(--total 100 --max-pairs 40 --batch 7 --img-bytes 3000)
failures=0

# expect_fail NAME PATTERN COMMAND...: the command must exit 1 with PATTERN on stderr.
expect_fail() {
  local name=$1 pattern=$2; shift 2
  "$@" >"$T/out" 2>"$T/err"
  local rc=$?
  if [ "$rc" -ne 1 ] || ! grep -q -- "$pattern" "$T/err"; then
    echo "FAIL $name: expected exit 1 and '$pattern', got $rc: $(cat "$T/err")"
    failures=$((failures + 1))
  else
    echo "ok   $name: $(head -n 1 "$T/err")"
  fi
}
expect_ok() {
  local name=$1; shift
  if ! "$@" >"$T/out" 2>"$T/err"; then
    echo "FAIL $name: $(cat "$T/err")"
    failures=$((failures + 1))
  else
    echo "ok   $name: $(tail -n 1 "$T/out")"
  fi
}

# A complete folder: 100 records in 3 sealed shards.
expect_ok "complete run" "$CRASHEE" write --dir "$T/a" "${CFG[@]}"
expect_ok "final check" "$CRASHEE" check --dir "$T/a" "${CFG[@]}" --reported 100 --final
# Reported durable but missing.
expect_fail "lost records" "reported committed" \
  "$CRASHEE" check --dir "$T/a" "${CFG[@]}" --reported 101
# More durable than the last report allows (an uncommitted batch became visible).
expect_fail "uncommitted records" "last report said 80" \
  "$CRASHEE" check --dir "$T/a" "${CFG[@]}" --reported 80
# Other records than the ones written (here: other image sizes).
expect_fail "wrong contents" "field image differs" \
  "$CRASHEE" check --dir "$T/a" --total 100 --max-pairs 40 --batch 7 --img-bytes 2000 \
  --reported 100
# A sealed shard changed after sealing.
cp -a "$T/a" "$T/b"
printf 'X' | dd of="$T/b/shard-000001.lmdb" bs=1 seek=50000 conv=notrunc status=none
expect_fail "damaged shard" "checksum mismatch" \
  "$CRASHEE" check --dir "$T/b" "${CFG[@]}" --reported 100
# A manifest line dropped: the shard is no longer part of the run.
cp -a "$T/a" "$T/c"
sed -i '/^shard-000001/d' "$T/c/manifest.tsv"
expect_fail "unlisted shard" "unlisted shard" \
  "$CRASHEE" check --dir "$T/c" "${CFG[@]}" --reported 60
# Unfinished run: --final refuses an unsealed shard.
"$CRASHEE" write --dir "$T/d" --total 50 --max-pairs 40 --batch 7 --img-bytes 3000 >/dev/null
expect_fail "not final" "final: 50 of 100" \
  "$CRASHEE" check --dir "$T/d" "${CFG[@]}" --reported 50 --final

# The campaign itself.
# Six kills per folder: 30 rounds give every configuration its folder.
out=$(CRASH_PER_FOLDER=6 bash tests/fault/crash_campaign.sh "$BUILD" "${CRASH_ROUNDS:-30}" 2>&1)
rc=$?
echo "$out" | grep -v '^round '
if [ "$rc" -ne 0 ]; then
  echo "FAIL crash campaign (exit $rc)"
  failures=$((failures + 1))
fi
# The campaign must really have killed writers and re-read records.
kills=$(echo "$out" | awk '$1 == "kills:" { print $2 }')
if [ "$rc" -eq 0 ] && [ "${kills:-0}" -lt 10 ]; then
  echo "FAIL crash campaign: only ${kills:-0} kills landed"
  failures=$((failures + 1))
fi
[ "$failures" -eq 0 ] || { echo "$failures failure(s)"; exit 1; }
echo "crash tests passed"
