#!/usr/bin/env bash
# Installs the Debian 12 packages clipcrawl needs to build, test and run — only those missing, so
# a second run does nothing and returns at once. Runs as root (CI) or through sudo.
set -euo pipefail

PKGS=(
  build-essential pkg-config clang clang-format libclang-rt-14-dev
  liblmdb-dev lmdb-utils libzstd-dev zstd libxxhash-dev
  libjpeg62-turbo-dev libpng-dev libwebp-dev zlib1g-dev libcld2-dev
  libxml2-dev libbz2-dev libcurl4-openssl-dev libjansson-dev
  # The trainer: BLAS for its matrix products; L-BFGS for the linear probe.
  libopenblas-dev liblbfgs-dev
  # Loopback servers for the crawler's tests and the fixture web (nginx), curl's and wget's
  # command-line tools (test clients, the fixture web's WARC), aria2 (bench/fetch's second peer).
  nginx-light curl wget aria2
  libcmocka-dev
  python3 python3-lmdb python3-zstandard python3-xxhash xxhash
  # Real photos for the image tests (filters/), from Debian's wallpaper packages.
  mate-backgrounds
  # WordNet's database files for the query list builder and its tests; gnuplot for histograms.
  wordnet-base gnuplot-nox
)
# Only for `make bench` (the OpenCV and PyTorch peers and the photo corpus): ops/deps.sh --bench.
if [ "${1:-}" = "--bench" ]; then
  PKGS+=(python3-opencv python3-numpy python3-pil plasma-workspace-wallpapers time python3-torch)
fi

missing=()
for p in "${PKGS[@]}"; do
  # dpkg-query is fast and needs no lock; "install ok installed" is the only state we accept.
  if [ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)" != "install ok installed" ]; then
    missing+=("$p")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "ops/deps.sh: installing ${missing[*]}" >&2
SUDO=
if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
