#!/usr/bin/env bash
# clipcrawl queries on real inputs: the list built from Debian's WordNet files, the fixture
# MediaWiki export, stats, match, and pack --queries --cap with the histogram of the result.
# Usage: tests/integration/test_queries.sh BUILD
. "$(dirname "$0")/lib.sh"

for c in build stats match histogram; do
  expect 0 "" -- "$BIN" queries $c --help
  grep -q "usage: clipcrawl queries $c" "$T/out" || fail "$c --help"
done
expect 2 "-o FILE is required" -- "$BIN" queries build
expect 2 "unknown command 'frob'" -- "$BIN" queries frob
expect 1 "no-such.tsv" -- "$BIN" queries stats "$T/no-such.tsv"
printf 'hello\n' > "$T/bad.tsv"
expect 1 "not a clipcrawl query list" -- "$BIN" queries stats "$T/bad.tsv"

# WordNet alone: every lemma of the real database, ranked, written, loaded back.
expect 0 "" -- "$BIN" queries build -o "$T/wn.tsv" --max 0
grep -q "^wordnet: " "$T/out" || fail "build output: $(cat "$T/out")"
n=$(($(wc -l < "$T/wn.tsv") - 1))
[ "$n" -gt 100000 ] && [ "$n" -lt 200000 ] || fail "$n WordNet queries"
grep -qP '^[0-9]+\thot dog\twordnet\t' "$T/wn.tsv" || fail "'hot dog' missing"
expect 0 "" -- "$BIN" queries stats "$T/wn.tsv"
grep -qE "^wordnet +$n " "$T/out" || fail "stats: $(cat "$T/out")"
# --max keeps the strongest; the ids stay dense.
expect 0 "" -- "$BIN" queries build -o "$T/wn1k.tsv" --max 1000
[ "$(($(wc -l < "$T/wn1k.tsv") - 1))" -eq 1000 ] || fail "--max 1000"
[ "$(tail -n 1 "$T/wn1k.tsv" | cut -f1)" = 999 ] || fail "ids not dense"

# Wikipedia: the fixture export, plain and compressed the same.
WIKI=tests/fixtures/wiki/small.xml
if [ -f "$WIKI" ]; then
  expect 0 "" -- "$BIN" queries build --no-wordnet --wiki "$WIKI" --min-count 2 \
    --bigram-min-count 2 --min-pmi 0 -o "$T/wiki.tsv"
  grep -q "^wikipedia: " "$T/out" || fail "wiki build: $(cat "$T/out")"
  grep -qP '\twiki_title' "$T/wiki.tsv" || fail "no titles from the fixture"
  bzip2 -c "$WIKI" > "$T/export.xml.bz2"
  expect 0 "" -- "$BIN" queries build --no-wordnet --wiki "$T/export.xml.bz2" --min-count 2 \
    --bigram-min-count 2 --min-pmi 0 -o "$T/wiki2.tsv"
  cmp -s "$T/wiki.tsv" "$T/wiki2.tsv" || fail "bz2 dump gives another list"
fi

# match: whole words, case and punctuation folded, overlapping queries all reported.
printf 'hot dog\ndog\nred car\nnew york city\nnew york\n' > "$T/mine.txt"
expect 0 "" -- "$BIN" queries build --no-wordnet --add "$T/mine.txt" -o "$T/mine.tsv"
expect 0 "" -- "$BIN" queries match "$T/mine.tsv" "A Hot-Dog stand in New York City!" "hotdogs"
line1=$(sed -n 1p "$T/out" | cut -f2)
for q in "hot dog" "dog" "new york city" "new york"; do
  case "; $line1;" in *"; $q;"*) ;; *) fail "match lacks '$q': $line1" ;; esac
done
[ -z "$(sed -n 2p "$T/out" | cut -f2)" ] || fail "'hotdogs' matched: $(sed -n 2p "$T/out")"

# pack --queries --cap: only captions with a query, each query at most --cap pairs, the rarest
# matched query first; histogram of the result, with a PNG from gnuplot.
mkdir -p "$T/img"
"$MK" --out "$T/img" --count 150 --seed 21 --min-side 200 2>/dev/null
printf 'circle\nsquare\ntriangle\nstar\nred\nblue\ngreen\nstriped background\n' > "$T/shapes.txt"
expect 0 "" -- "$BIN" queries build --no-wordnet --add "$T/shapes.txt" -o "$T/shapes.tsv"
expect 0 "" -- "$BIN" shards pack --from "$T/img/list.tsv" --out "$T/ds" --queries "$T/shapes.tsv" \
  --cap 12
grep -q "captions matched no query" "$T/out" || fail "pack --queries: $(cat "$T/out")"
expect 0 "" -- "$BIN" queries histogram "$T/ds" --queries "$T/shapes.tsv" --cap 12 --png "$T/h.png"
grep -qE "^queries: +8 in the list" "$T/out" || fail "histogram: $(cat "$T/out")"
max=$(sed -n 's/.*max \([0-9]*\).*/\1/p' "$T/out")
[ "$max" -le 12 ] || fail "a query holds $max pairs, over the cap of 12"
grep -q "^gini: " "$T/out" || fail "no gini"
[ "$(head -c 8 "$T/h.png" | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ] || fail "no PNG"
# Every stored pair's query is among its matched ones.
"$BIN" shards dump "$T/ds" | /usr/bin/python3 -c '
import json, sys
n = 0
for line in sys.stdin:
    r = json.loads(line)
    assert r["query_id"] is not None and r["query_id"] in r["query_ids"], r
    n += 1
assert n > 0
'
ok

echo "test_queries: $checks checks passed"
