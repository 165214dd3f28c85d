#!/usr/bin/env bash
# make demo: clipcrawl's main job on the embedded default — generate the fixture web, serve it with
# nginx on loopback, crawl it into shards, and inspect the result.
#   1. generate the fixture web (build/tools/mkweb): DEMO_SIZE pairs (default 2000) of rendered
#      shapes with captions, junk, a search API, ground truth
#   2. serve it with Debian's nginx on a free 127.0.0.1 port      tests/fixtures/serve.sh
#   3. crawl it: the search source (one unit per query, paged through the site's search API),
#      then the web source (pages from the site's root) into the same dataset; robots.txt obeyed,
#      SSRF guard on (only 127.0.0.1 allowed), politeness off for our own loopback server
#                                                                  clipcrawl crawl
#      then the pairs-per-query histogram                          clipcrawl queries histogram
#   4. list, summarize and verify the dataset                      clipcrawl shards ls|stat|verify
#   5. read it back: JSON lines, and from Python                   clipcrawl shards dump, ops/python
#   6. export webdataset tars for open_clip                        clipcrawl shards export
#   7. damage a copy of a shard and watch verify catch it
set -euo pipefail
BUILD=${1:-build}
CC_BIN=$BUILD/clipcrawl
OUT=${DEMO_OUT:-$BUILD/demo}
SIZE=${DEMO_SIZE:-2000}
CAP=${DEMO_CAP:-15}
if [ -d "$OUT/web/.nginx" ]; then tests/fixtures/serve.sh stop "$OUT/web" || true; fi
rm -rf "$OUT"
mkdir -p "$OUT"

step() { printf '\n== %s\n' "$*"; }

step "1. generating the fixture web ($SIZE pairs) in $OUT/web"
"$BUILD/tools/mkweb" --out "$OUT/web" --pairs "$SIZE" --seed 2026 --quiet
/usr/bin/python3 -c 'import json,sys; w=json.load(open(sys.argv[1])); print({k: w[k] for k in list(w)[:6]})' "$OUT/web/web.json" || true

step "2. serving it with nginx"
URL=$(tests/fixtures/serve.sh start "$OUT/web")
trap 'tests/fixtures/serve.sh stop "$OUT/web" >/dev/null 2>&1 || true' EXIT
echo "the fixture web is at $URL (search API: $URL/api/search?q=red+star&page=1)"

step "3. clipcrawl crawl --source search, then --source web, --cap $CAP per query"
NET=(--allow-net 127.0.0.1/32 --host-delay 0 --per-host 16)
"$CC_BIN" crawl --source search --search-base "$URL" --queries "$OUT/web/queries.tsv" \
  --out "$OUT/dataset" --cap "$CAP" --shard-pairs 500 "${NET[@]}"
echo "$URL/" >"$OUT/seeds.txt"
"$CC_BIN" crawl --source web --seeds "$OUT/seeds.txt" --queries "$OUT/web/queries.tsv" \
  --out "$OUT/dataset" --cap "$CAP" --shard-pairs 500 "${NET[@]}"
"$CC_BIN" queries histogram "$OUT/dataset" --queries "$OUT/web/queries.tsv" --cap "$CAP" \
  --png "$OUT/pairs-per-query.png"

step "4. clipcrawl shards ls / stat / verify"
"$CC_BIN" shards ls "$OUT/dataset"
"$CC_BIN" shards stat "$OUT/dataset"
"$CC_BIN" shards verify "$OUT/dataset"

step "5. clipcrawl shards dump --limit 2, and the same records from Python"
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

step "6. clipcrawl shards export --format webdataset --out $OUT/webdataset"
"$CC_BIN" shards export "$OUT/dataset" --format webdataset --out "$OUT/webdataset"
tar tf "$OUT/webdataset/shard-000000.tar" | sed -n 1,3p  # (head would SIGPIPE tar)

step "7. flip one byte in a copy of the dataset: verify must refuse the shard"
cp -r "$OUT/dataset" "$OUT/damaged"
victim="$OUT/damaged/shard-000000.lmdb"
byte=$(od -An -tu1 -j 50000 -N 1 "$victim" | tr -d ' ')
printf "\\$(printf %03o $((255 - byte)))" | dd of="$victim" bs=1 seek=50000 conv=notrunc status=none
if "$CC_BIN" shards verify "$OUT/damaged"; then
  echo "demo: verify did not notice the damage" >&2
  exit 1
fi
echo "(exit status 1, as expected)"

printf '\ndemo: done; the dataset is in %s\n' "$OUT/dataset"
