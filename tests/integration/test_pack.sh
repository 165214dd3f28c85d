#!/usr/bin/env bash
# shards pack through the filter path, with a query list and a per-query cap: the same dataset
# whatever --threads is, and the same dataset after any number of kill -9 and resumes (DESIGN.md
# property 1: no pair twice, no query over its cap, no pair missing) as one clean run gives.
# Usage: tests/integration/test_pack.sh BUILD
. "$(dirname "$0")/lib.sh"

# 240 images of 120-700 px (some too small for the default 200 px), plus copies of some under
# other names and captions (exact duplicates) and short captions (caption rejections).
"$MK" --out "$T/img" --count 240 --seed 11 --min-side 120 --max-side 700 2>/dev/null
{
  cat "$T/img/list.tsv"
  for i in 000003 000017 000100; do
    cp "$T/img/img-$i.jpg" "$T/img/copy-$i.jpg"
    printf 'copy-%s.jpg\tthe same picture under another name\n' "$i"
  done
  printf 'img-000005.jpg\ttwo words\n'
} > "$T/list.tsv"
cp "$T"/img/*.jpg "$T"/img/*.png "$T/" 2>/dev/null

# The dataset as JSON lines, key order, without the file modification times.
dataset() { "$BIN" shards dump "$1" | sed 's/"fetch_time_ms":[0-9]*//' | sort; }
printf 'picture\ncircle\nsquare\ntriangle\nred\nblue\ngreen\ngradient\ndot\nphoto\n' > "$T/q.txt"
"$BIN" -q queries build --no-wordnet --add "$T/q.txt" -o "$T/q.tsv" > /dev/null
ARGS=(--max-pairs 30 --batch 5 --queries "$T/q.tsv" --cap 25)

"$BIN" -q shards pack --from "$T/list.tsv" --out "$T/clean" "${ARGS[@]}" --threads 1 > "$T/out"
grep -q "3 duplicate image" "$T/out" || fail "clean run: $(cat "$T/out")"
grep -q "caption too_few_words 1" "$T/out" || fail "clean run: $(cat "$T/out")"
grep -q "image too_small" "$T/out" || fail "clean run: $(cat "$T/out")"
dataset "$T/clean" > "$T/clean.jsonl"
n=$(wc -l < "$T/clean.jsonl")
[ "$n" -gt 100 ] || fail "only $n pairs packed"
grep -q "matched only full queries" "$T/out" || fail "no query reached the cap: $(cat "$T/out")"
# No query over its cap.
over=$(sed -n 's/.*"query_id":\([0-9]*\).*/\1/p' "$T/clean.jsonl" | sort | uniq -c | awk '$1 > 25' | wc -l)
[ "$over" -eq 0 ] || fail "$over queries over the cap"
ok

# Threads change nothing.
"$BIN" -q shards pack --from "$T/list.tsv" --out "$T/t3" "${ARGS[@]}" --threads 3 > /dev/null
dataset "$T/t3" | cmp -s - "$T/clean.jsonl" || fail "--threads 3 gives another dataset"
ok

# kill -9 at random moments, resume with the same command until it finishes.
kills=0
for round in $(seq 1 40); do
  "$BIN" -q shards pack --from "$T/list.tsv" --out "$T/crash" "${ARGS[@]}" --threads 2 \
    > "$T/crash.out" 2> "$T/crash.err" &
  pid=$!
  sleep "0.0$((RANDOM % 9 + 1))"
  if kill -9 "$pid" 2>/dev/null; then kills=$((kills + 1)); fi
  if wait "$pid" 2>/dev/null; then break; fi
done
# Whatever happened above, one more resume finishes the run.
"$BIN" -q shards pack --from "$T/list.tsv" --out "$T/crash" "${ARGS[@]}" --threads 2 > "$T/crash.out"
dataset "$T/crash" | cmp -s - "$T/clean.jsonl" || {
  diff <(dataset "$T/crash") "$T/clean.jsonl" | head -n 5 >&2
  fail "after $kills kills the dataset differs from the clean run"
}
"$BIN" shards verify "$T/crash" > /dev/null || fail "verify after kills"
ok

echo "test_pack: $checks checks passed ($n pairs, $kills kills)"
