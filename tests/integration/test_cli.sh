#!/usr/bin/env bash
# The clipcrawl binary on real files: every subcommand's --help, clear errors and exit statuses
# for bad input, pack's skip counts and resume, verify on damaged and truncated shards.
. "$(dirname "$0")/lib.sh"

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

# pack: skips missing files and repeated lines, rejects by reason, counts each; bad lines stop it.
mkdir -p "$T/img"
"$MK" --out "$T/img" --count 40 --seed 3 --min-side 200 2>/dev/null
printf 'not an image' > "$T/img/junk.jpg"
# The repeated first line comes after two shard boundaries: still a duplicate.
{ cat "$T/img/list.tsv"; printf 'nope.jpg\ta missing file here\njunk.jpg\tjunk bytes in a file\nimg-000001.jpg\t\n';
  head -n 1 "$T/img/list.tsv"; } > "$T/list.tsv"
cp "$T"/img/*.jpg "$T"/img/*.png "$T/" 2>/dev/null
expect 0 "" -- "$BIN" shards pack --from "$T/list.tsv" --out "$T/ds" --max-pairs 15
grep -q "^packed 40 pairs (0 already there)" "$T/out" || fail "pack summary: $(cat "$T/out")"
grep -q "^skipped 2: 1 missing or unreadable, 1 repeated line, 0 duplicate image, 0 near-duplicate image" "$T/out" \
  || fail "pack skip counts: $(cat "$T/out")"
grep -q "^rejected 2: caption empty 1, image unsupported_format 1" "$T/out" \
  || fail "pack reject counts: $(cat "$T/out")"
expect 0 "image rejected (unsupported_format)" -- "$BIN" shards pack --from "$T/list.tsv" --out "$T/ds-v" --max-pairs 15 -v
# A list where nothing passes packs nothing, says so, and is no error.
printf 'nope.jpg\ta missing file here\n' > "$T/none.tsv"
expect 0 "nope.jpg" -- "$BIN" shards pack --from "$T/none.tsv" --out "$T/ds-none"
grep -q "^packed 0 pairs (0 already there) into .*: 0 shards, 0 pairs" "$T/out" || fail "empty pack: $(cat "$T/out")"
printf 'no tab here\n' > "$T/bad.tsv"
expect 1 "bad.tsv:1: expected PATH<TAB>CAPTION" -- "$BIN" shards pack --from "$T/bad.tsv" --out "$T/ds2"

# Filter flags: bad values are usage errors naming the flag.
expect 2 "--resize-mode" -- "$BIN" shards pack --from a --out b --resize-mode squash
expect 2 "--quality needs a number in 1..100" -- "$BIN" shards pack --from a --out b --quality 0
expect 2 "--max-aspect needs a ratio" -- "$BIN" shards pack --from a --out b --max-aspect 0.5
expect 2 "--dedupe is none, exact or near" -- "$BIN" shards pack --from a --out b --dedupe fuzzy
expect 2 "--blocklist" -- "$BIN" shards pack --from a --out b --blocklist "$T/no-such-file"

# Running pack again adds nothing; ls totals match.
expect 0 "" -- "$BIN" shards pack --from "$T/list.tsv" --out "$T/ds" --max-pairs 15
grep -q "^packed 0 pairs (40 already there)" "$T/out" || fail "re-pack: $(cat "$T/out")"
expect 0 "" -- "$BIN" shards ls "$T/ds/manifest.tsv"
grep -qE '^total +40 ' "$T/out" || fail "ls total: $(cat "$T/out")"
[ "$(grep -c '^shard-' "$T/out")" -eq 3 ] || fail "expected 3 shards"
# Every stored image is the 256x256 centre crop, re-encoded (the sources are 200-512 px).
"$BIN" shards dump "$T/ds" > "$T/dump.jsonl"
[ "$(grep -c '"width":256,"height":256' "$T/dump.jsonl")" -eq 40 ] || fail "stored sizes"
# The same list with the same images in another order is the same pairs: nothing to add.
sort -r "$T/list.tsv" > "$T/reordered.tsv"
expect 0 "" -- "$BIN" shards pack --from "$T/reordered.tsv" --out "$T/ds" --max-pairs 15
grep -q "^packed 0 pairs (40 already there)" "$T/out" || fail "reordered: $(cat "$T/out")"
# Another list with new pairs into the same folder is refused before anything is added.
"$MK" --out "$T/img2" --count 5 --seed 4 --min-side 200 2>/dev/null
expect 1 "pack each list into its own folder" -- "$BIN" shards pack --from "$T/img2/list.tsv" --out "$T/ds"
head -n 5 "$T/list.tsv" > "$T/short.tsv"
expect 1 "more pairs than" -- "$BIN" shards pack --from "$T/short.tsv" --out "$T/ds"

# Dedupe: the same image bytes under another name and caption are dropped (exact), kept with
# --dedupe none; a re-encoded copy is dropped by --dedupe near only.
mkdir -p "$T/dd"
cp "$T/img/img-000000.jpg" "$T/dd/a.jpg"; cp "$T/img/img-000000.jpg" "$T/dd/b.jpg"
cp "$T/img/img-000001.jpg" "$T/dd/c.jpg"
printf 'a.jpg\ta first caption here\nb.jpg\tanother caption for the copy\nc.jpg\ta third caption here\n' > "$T/dd/list.tsv"
expect 0 "" -- "$BIN" shards pack --from "$T/dd/list.tsv" --out "$T/dd/exact"
grep -q "^packed 2 pairs" "$T/out" && grep -q "1 duplicate image" "$T/out" || fail "exact dedupe: $(cat "$T/out")"
expect 0 "" -- "$BIN" shards pack --from "$T/dd/list.tsv" --out "$T/dd/none" --dedupe none
grep -q "^packed 3 pairs" "$T/out" || fail "dedupe none: $(cat "$T/out")"
# x.jpg: a.jpg scaled to 220 px and re-encoded at quality 60 (by pack itself).
head -n 1 "$T/dd/list.tsv" > "$T/dd/one.tsv"
"$BIN" -q shards pack --from "$T/dd/one.tsv" --out "$T/dd/small" --resize-mode keep_ratio --resize 220 \
  --quality 60 >/dev/null
"$BIN" shards dump "$T/dd/small" --images "$T/dd/stored" >/dev/null
printf 'a.jpg\ta first caption here\nx.jpg\tthe stored copy, re-encoded\n' > "$T/dd/list2.tsv"
cp "$(ls "$T"/dd/stored/* | head -n 1)" "$T/dd/x.jpg"
expect 0 "" -- "$BIN" shards pack --from "$T/dd/list2.tsv" --out "$T/dd/near" --dedupe near
grep -q "^packed 1 pairs" "$T/out" && grep -q "1 near-duplicate image" "$T/out" || fail "near dedupe: $(cat "$T/out")"

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
