#!/usr/bin/env bash
# Benchmarks (make bench). Usage: bench/run.sh BUILD [shards|image|match|fetch|crawl|tokenizer|loader|train|all] [options]
# The optional second argument picks the benchmark (default all: shards, image, match, fetch, then
# crawl);
# options go to the one picked (with all, to bench_shards as before, e.g. --reps 9).
#   shards  builds the input images once into BUILD/bench/images with mkimages (2000 JPEGs,
#           256-512 px, fixed seed), then runs bench_shards on them: 10000 records (each image
#           used five times with its own uid and URLs, so that the write fills exactly one
#           default-sized shard of 10000 pairs), work files in BUILD/bench/work (removed
#           afterwards), figures in BUILD/bench/shards.json.
#   image   bench/image.sh BUILD [--reps R]: the image path on real photos against OpenCV doing
#           img2dataset's steps, figures in BUILD/bench/image.json (see bench/image.sh).
#   match   bench/match.sh BUILD [--reps R]: the query matcher on 500,000 queries (WordNet and
#           generated) and 200,000 generated captions against grep -F -w, figures in
#           BUILD/bench/match.json (see bench/match.sh).
#   fetch   bench/fetch.sh BUILD [--reps R]: clipcrawl fetch on 20,000 small files from nginx on
#           loopback against curl --parallel and aria2c, 64 in flight, figures in
#           BUILD/bench/fetch.json (see bench/fetch.sh).
#   crawl   bench/crawl.sh BUILD [--reps R] [--no-web] [PAIRS...]: clipcrawl crawl (search and web
#           sources) end to end on the fixture web of 10,000 and 100,000 pairs (mkweb) from nginx on
#           loopback, politeness off, against clipcrawl fetch and curl --parallel on the same image
#           URLs: pairs/s, pairs per CPU-second, peak RSS and its ratio between the sizes; table in
#           BUILD/bench/crawl-bench.txt, figures in BUILD/bench/crawl.json (see bench/crawl.sh).
#   tokenizer  bench_tokenizer: BPE training time and encode throughput (1 and 2 threads) on
#           100,000 synthetic captions, vocab 8000, figures in BUILD/bench/tokenizer.json.
#   loader  bench_loader: the trainer's data loader on 2000 synthetic 256x256 JPEG records
#           (temporary folder): images/s at S = 64 and 224 with 1 and 2 threads, augmentation on;
#           figures in BUILD/bench/loader.json.
#   train   bench/train.sh BUILD: training steps of the tiny and small CLIP (bench_train) against
#           the same model in PyTorch (bench/train_torch.py, CPU, same threads and batch), GEMM
#           GFLOP/s against the machine's peak, and the loader's images/s against the trainer's
#           consumption; figures in BUILD/bench/train.json.
set -euo pipefail
BUILD=${1:?usage: bench/run.sh BUILD [shards|image|match|fetch|crawl|tokenizer|loader|train|all] [options]}
shift
WHICH=all
case ${1:-} in
shards | image | match | fetch | crawl | tokenizer | loader | train | all)
  WHICH=$1
  shift
  ;;
esac
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

run_shards() {
  local OUT=$BUILD/bench
  local IMAGES=$OUT/images
  local MKIMAGES=(--count 2000 --seed 7 --min-side 256 --max-side 512 --png-every 0 --quality 90)
  local tool
  for tool in mkimages bench_shards; do
    if [ ! -x "$BUILD/tools/$tool" ]; then
      echo "bench: $BUILD/tools/$tool missing (make all)" >&2
      exit 1
    fi
  done
  mkdir -p "$OUT"

  # The images depend only on mkimages' arguments and binary: rebuild when either changes.
  local stamp
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
}

need_tool() {
  if [ ! -x "$BUILD/tools/$1" ]; then
    echo "bench: $BUILD/tools/$1 missing (make all)" >&2
    exit 1
  fi
  mkdir -p "$BUILD/bench"
}

case $WHICH in
shards) run_shards "$@" ;;
image) bash "$HERE/image.sh" "$BUILD" "$@" ;;
match) bash "$HERE/match.sh" "$BUILD" "$@" ;;
fetch) bash "$HERE/fetch.sh" "$BUILD" "$@" ;;
crawl) bash "$HERE/crawl.sh" "$BUILD" "$@" ;;
tokenizer)
  need_tool bench_tokenizer
  "$BUILD/tools/bench_tokenizer" --captions 100000 --vocab 8000 --json "$BUILD/bench/tokenizer.json" "$@"
  ;;
loader)
  need_tool bench_loader
  "$BUILD/tools/bench_loader" --json "$BUILD/bench/loader.json" "$@"
  ;;
train) bash "$HERE/train.sh" "$BUILD" "$@" ;;
all)
  run_shards "$@"
  bash "$HERE/image.sh" "$BUILD"
  bash "$HERE/match.sh" "$BUILD"
  bash "$HERE/fetch.sh" "$BUILD"
  bash "$HERE/crawl.sh" "$BUILD"
  need_tool bench_tokenizer
  "$BUILD/tools/bench_tokenizer" --captions 100000 --vocab 8000 --json "$BUILD/bench/tokenizer.json"
  need_tool bench_loader
  "$BUILD/tools/bench_loader" --json "$BUILD/bench/loader.json"
  bash "$HERE/train.sh" "$BUILD"
  ;;
esac
