#!/usr/bin/env bash
# Shard benchmark (make bench): builds the input images once into BUILD/bench/images with
# mkimages (2000 JPEGs, 256-512 px, fixed seed), then runs bench_shards on them: 10000 records
# (each image used five times with its own uid and URLs, so that the write fills exactly one
# default-sized shard of 10000 pairs), work files in BUILD/bench/work (removed afterwards),
# figures in BUILD/bench/shards.json. Extra arguments go to bench_shards (e.g. --reps 9).
# Usage: bench/run.sh BUILD [bench_shards options]
set -euo pipefail
BUILD=${1:?usage: bench/run.sh BUILD [bench_shards options]}
shift
OUT=$BUILD/bench
IMAGES=$OUT/images
MKIMAGES=(--count 2000 --seed 7 --min-side 256 --max-side 512 --png-every 0 --quality 90)
for tool in mkimages bench_shards; do
  [ -x "$BUILD/tools/$tool" ] || { echo "bench: $BUILD/tools/$tool missing (make all)" >&2; exit 1; }
done
mkdir -p "$OUT"

# The images depend only on mkimages' arguments and binary: rebuild when either changes.
stamp="${MKIMAGES[*]} $(cksum <"$BUILD/tools/mkimages")"
if [ ! -f "$IMAGES/list.tsv" ] || [ "$(cat "$IMAGES/.stamp" 2>/dev/null)" != "$stamp" ]; then
  rm -rf "$IMAGES"
  echo "bench: generating input images in $IMAGES"
  "$BUILD/tools/mkimages" --out "$IMAGES" "${MKIMAGES[@]}"
  printf '%s\n' "$stamp" >"$IMAGES/.stamp"
fi

"$BUILD/tools/bench_shards" --images "$IMAGES" --work "$OUT/work" --json "$OUT/shards.json" \
  --records 10000 "$@"
rm -rf "$OUT/work"
