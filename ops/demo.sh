#!/usr/bin/env bash
# make demo: the parts of clipcrawl that exist today, end to end, on generated images.
# (The crawler is not written yet; when it is, the demo crawls the embedded fixture web.)
#   1. generate 300 synthetic photos + captions (build/tools/mkimages)
#   2. build CLIP's query list from WordNet                clipcrawl queries build
#      and pack the images through the filters (caption rules, decode, checks, resize 256,
#      re-encode, hashes, dedupe) and the query cap into sealed, checksummed shards
#                                                         clipcrawl shards pack --queries
#      then the pairs-per-query histogram                 clipcrawl queries histogram
#   3. list, summarize and verify the dataset         clipcrawl shards ls|stat|verify
#   4. read it back: JSON lines, and from Python       clipcrawl shards dump, ops/python
#   5. export webdataset tars for open_clip           clipcrawl shards export
#   6. damage a copy of a shard and watch verify catch it
set -euo pipefail
BUILD=${1:-build}
CC_BIN=$BUILD/clipcrawl
OUT=${DEMO_OUT:-$BUILD/demo}
rm -rf "$OUT"
mkdir -p "$OUT"

step() { printf '\n== %s\n' "$*"; }

step "1. generating 300 images with captions in $OUT/images"
"$BUILD/tools/mkimages" --out "$OUT/images" --count 300 --seed 2026
head -n 3 "$OUT/images/list.tsv"

step "2. clipcrawl queries build (WordNet), shards pack --queries --cap 20, queries histogram"
"$CC_BIN" queries build -o "$OUT/queries.tsv"
"$CC_BIN" queries match "$OUT/queries.tsv" "$(sed -n 2p "$OUT/images/list.tsv" | cut -f2)"
"$CC_BIN" shards pack --from "$OUT/images/list.tsv" --out "$OUT/dataset" --max-pairs 100 \
  --queries "$OUT/queries.tsv" --cap 20
"$CC_BIN" queries histogram "$OUT/dataset" --queries "$OUT/queries.tsv" --cap 20 \
  --png "$OUT/pairs-per-query.png"

step "3. clipcrawl shards ls / stat / verify"
"$CC_BIN" shards ls "$OUT/dataset"
"$CC_BIN" shards stat "$OUT/dataset"
"$CC_BIN" shards verify "$OUT/dataset"

step "4. clipcrawl shards dump --limit 2, and the same records from Python"
"$CC_BIN" shards dump "$OUT/dataset" --limit 2
/usr/bin/python3 - "$OUT/dataset" <<'PY'
import sys
sys.path.insert(0, "ops/python")
import clipcrawl_shards as cs
n = 0
for rec in cs.iter_dataset(sys.argv[1]):
    n += 1
print(f"python: read {n} records with lmdb + zstandard; last caption: {rec['caption']!r}")
PY

step "5. clipcrawl shards export --format webdataset --out $OUT/webdataset"
"$CC_BIN" shards export "$OUT/dataset" --format webdataset --out "$OUT/webdataset"
tar tf "$OUT/webdataset/shard-000000.tar" | sed -n 1,3p  # (head would SIGPIPE tar)

step "6. flip one byte in a copy of the dataset: verify must refuse the shard"
cp -r "$OUT/dataset" "$OUT/damaged"
victim="$OUT/damaged/shard-000001.lmdb"
byte=$(od -An -tu1 -j 50000 -N 1 "$victim" | tr -d ' ')
printf "\\$(printf %03o $((255 - byte)))" | dd of="$victim" bs=1 seek=50000 conv=notrunc status=none
if "$CC_BIN" shards verify "$OUT/damaged"; then
  echo "demo: verify did not notice the damage" >&2
  exit 1
fi
echo "(exit status 1, as expected)"

printf '\ndemo: done; the dataset is in %s\n' "$OUT/dataset"
