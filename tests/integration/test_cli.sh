#!/usr/bin/env bash
# The clipcrawl binary on real files: every subcommand's --help, clear errors and exit statuses
# for bad input, pack's skip counts and resume, verify on damaged and truncated shards.
set -euo pipefail
BUILD=${1:-build}
BIN=$(realpath "$BUILD/clipcrawl")
MK=$(realpath "$BUILD/tools/mkimages")
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
checks=0
ok() { checks=$((checks + 1)); }
fail() { echo "FAIL: $*" >&2; exit 1; }

# expect STATUS STDERR-SUBSTRING -- command...
expect() {
  local want=$1 needle=$2; shift 3
  set +e; "$@" >"$T/out" 2>"$T/err"; local got=$?; set -e
  [ "$got" -eq "$want" ] || { cat "$T/err" >&2; fail "$* exited $got, expected $want"; }
  if [ -n "$needle" ] && ! grep -qF -- "$needle" "$T/err"; then
    cat "$T/err" >&2; fail "$*: stderr lacks '$needle'"
  fi
  ok
}

# --help everywhere, usage errors are status 2.
for c in "" "shards"; do expect 0 "" -- $BIN $c --help; done
for c in pack stat dump verify ls export; do
  expect 0 "" -- "$BIN" shards $c --help
  grep -q "usage: clipcrawl shards $c" "$T/out" || fail "$c --help prints no usage"
done
expect 2 "unknown command" -- "$BIN" frobnicate
expect 2 "unknown command 'frob'" -- "$BIN" shards frob
expect 2 "--from and --out are required" -- "$BIN" shards pack --out "$T/x"
expect 2 "missing DIR or MANIFEST" -- "$BIN" shards verify
expect 2 "the only --format is webdataset" -- "$BIN" shards export "$T" --format parquet --out "$T/o"
expect 2 "--max-pairs needs a positive number" -- "$BIN" shards pack --from a --out b --max-pairs 0

# Missing and foreign manifests.
expect 1 "no manifest" -- "$BIN" shards ls "$T"
echo "hello" > "$T/manifest.tsv"
expect 1 "not a clipcrawl manifest" -- "$BIN" shards stat "$T"
rm "$T/manifest.tsv"

# pack: skips missing, non-image and empty-caption entries with counts; bad lines stop it.
mkdir -p "$T/img"
"$MK" --out "$T/img" --count 40 --seed 3 2>/dev/null
printf 'not an image' > "$T/img/junk.jpg"
# The repeated first line comes after two shard boundaries: still a duplicate.
{ cat "$T/img/list.tsv"; printf 'nope.jpg\tmissing file\njunk.jpg\tjunk bytes\nimg-000001.jpg\t\n';
  head -n 1 "$T/img/list.tsv"; } > "$T/list.tsv"
cp "$T"/img/*.jpg "$T"/img/*.png "$T/" 2>/dev/null
expect 0 "not a JPEG, PNG or WebP image" -- "$BIN" shards pack --from "$T/list.tsv" --out "$T/ds" --max-pairs 15
grep -q "^packed 40 pairs (0 already there)" "$T/out" || fail "pack summary: $(cat "$T/out")"
grep -q "skipped 4: 1 missing or unreadable, 1 not an image, 0 too large, 1 duplicate, 1 empty caption" "$T/out" \
  || fail "pack skip counts: $(cat "$T/out")"
printf 'no tab here\n' > "$T/bad.tsv"
expect 1 "bad.tsv:1: expected PATH<TAB>CAPTION" -- "$BIN" shards pack --from "$T/bad.tsv" --out "$T/ds2"

# Running pack again adds nothing; ls totals match.
expect 0 "" -- "$BIN" shards pack --from "$T/list.tsv" --out "$T/ds" --max-pairs 15
grep -q "^packed 0 pairs (40 already there)" "$T/out" || fail "re-pack: $(cat "$T/out")"
expect 0 "" -- "$BIN" shards ls "$T/ds/manifest.tsv"
grep -qE '^total +40 ' "$T/out" || fail "ls total: $(cat "$T/out")"
[ "$(grep -c '^shard-' "$T/out")" -eq 3 ] || fail "expected 3 shards"

# Another list into the same folder is refused instead of silently skipping its first pairs.
sort -r "$T/list.tsv" > "$T/other.tsv"
expect 1 "pack each list into its own folder" -- "$BIN" shards pack --from "$T/other.tsv" --out "$T/ds"
head -n 5 "$T/list.tsv" > "$T/short.tsv"
expect 1 "more pairs than" -- "$BIN" shards pack --from "$T/short.tsv" --out "$T/ds"

# A second writer on the same folder is refused while one holds it.
exec 9>"$T/ds/writer.lock"; flock -n 9
expect 1 "another clipcrawl process is writing this folder" -- "$BIN" shards pack --from "$T/list.tsv" --out "$T/ds"
exec 9>&-

# dump: --shard selects, --limit stops, unknown shard is an error.
expect 0 "" -- "$BIN" shards dump "$T/ds" --shard 1 --limit 3
[ "$(wc -l < "$T/out")" -eq 3 ] || fail "dump --limit 3"
expect 1 "no shard '9' in the manifest" -- "$BIN" shards dump "$T/ds" --shard 9

# verify: clean, then a flipped byte, then truncation, each named.
expect 0 "" -- "$BIN" shards verify "$T/ds"
grep -q "verified 3 shards, 40 records: all good" "$T/out" || fail "verify: $(cat "$T/out")"
cp -r "$T/ds" "$T/bad"
f="$T/bad/shard-000002.lmdb"
b=$(od -An -tu1 -j 9000 -N 1 "$f" | tr -d ' ')
printf "\\$(printf %03o $((b ^ 1)))" | dd of="$f" bs=1 seek=9000 conv=notrunc status=none
expect 1 "clipcrawl: shards verify: shard-000002.lmdb: checksum mismatch (file changed or truncated since sealing)" \
  -- "$BIN" shards verify "$T/bad"
expect 1 "shard-000002.lmdb: checksum mismatch" -- "$BIN" shards dump "$T/bad"
truncate -s 8192 "$T/bad/shard-000001.lmdb"
expect 1 "shard-000001.lmdb: size is 8192 bytes" -- "$BIN" shards verify "$T/bad"
grep -q "2 bad shards" "$T/out" || fail "verify count: $(cat "$T/out")"
rm "$T/bad/shard-000000.lmdb"
expect 1 "shard-000000.lmdb: " -- "$BIN" shards verify "$T/bad"

echo "test_cli: $checks checks passed"
