#!/usr/bin/env bash
# Fetch engine benchmark (bench/run.sh BUILD fetch): clipcrawl fetch against curl and aria2c on
# many small files from one nginx on loopback, politeness off.
#   input    20,000 files f00000.jpg ... f19999.jpg of 8-16 KiB of random bytes (sizes from a
#            fixed seed, bytes from os.urandom), in a temporary folder in /dev/shm when it has
#            1 GiB free, else under BUILD/bench (removed afterwards; every tool writes its copy
#            there too, so the disk is out of the measure where it can be), served by
#            tests/fixtures/serve.sh (nginx, one worker, keep-alive, sendfile); the URL list
#            http://127.0.0.1:PORT/fNNNNN.jpg.
#   ours     clipcrawl fetch --urls LIST --no-robots --host-delay 0 --per-host 64 --inflight 64
#            --allow-net 127.0.0.1/32 --out DIR, then the same without --out (bodies discarded).
#   curl     curl --parallel --parallel-max 64 -K CONFIG (one url = / output = pair per file):
#            one process, 64 transfers in flight, connections reused.
#   aria2    aria2c -j 64 -x1 -i LIST -d DIR with an out= name per URI, --allow-overwrite=true
#            --auto-file-renaming=false --file-allocation=none --console-log-level=warn
#            --summary-interval=0 --download-result=hide.
#   checks   every run that writes must leave 20,000 files of the right total size; clipcrawl's
#            TSV must say ok 20,000 times.
#   figures  wall-clock seconds per tool; the median of 3 rounds (each round runs every tool once,
#            in an order rotated from round to round) when the first round takes under 40 s (the
#            whole under about 2 minutes), else one round (said so); files/s and the ratio to
#            curl's files/s. BUILD/bench/fetch.json holds them.
# Usage: bench/fetch.sh BUILD [--reps R] [--peers-only]
#   --reps R      repetitions (overrides the rule above); --peers-only: only curl and aria2c (while
#                 clipcrawl fetch does not exist yet).
set -euo pipefail
BUILD=${1:?usage: bench/fetch.sh BUILD [--reps R] [--peers-only]}
shift
REPS=
PEERS_ONLY=0
while [ $# -gt 0 ]; do
  case $1 in
  --reps)
    REPS=${2:?--reps needs a value}
    [[ $REPS =~ ^[1-9][0-9]?$ ]] || {
      echo "bench/fetch.sh: --reps takes 1-99" >&2
      exit 2
    }
    shift 2
    ;;
  --peers-only)
    PEERS_ONLY=1
    shift
    ;;
  *)
    echo "bench/fetch.sh: unknown option $1" \
      "(usage: bench/fetch.sh BUILD [--reps R] [--peers-only])" >&2
    exit 2
    ;;
  esac
done
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SERVE=$HERE/../tests/fixtures/serve.sh
PY=/usr/bin/python3
N=20000
PAR=64
BIN=$(realpath "$BUILD/clipcrawl")
for t in /usr/sbin/nginx /usr/bin/curl /usr/bin/aria2c; do
  [ -x "$t" ] || {
    echo "bench: $t missing (bash ops/deps.sh installs nginx-light, curl, aria2)" >&2
    exit 1
  }
done
if [ "$PEERS_ONLY" = 0 ] && ! "$BIN" fetch --help >/dev/null 2>&1; then
  echo "bench: $BIN fetch does not run (make all; --peers-only measures curl and aria2c alone)" >&2
  exit 1
fi
mkdir -p "$BUILD/bench"
# In memory when /dev/shm has room (1 GiB: the files and one copy of them): a disk's writeback
# would otherwise set every tool's pace.
BASE=$(realpath "$BUILD/bench")
if [ -d /dev/shm ] && [ -w /dev/shm ] &&
  [ "$(df -k --output=avail /dev/shm 2>/dev/null | tail -n 1)" -gt 1048576 ]; then
  BASE=/dev/shm
fi
W=$(mktemp -d "$BASE/clipcrawl-fetch.XXXXXX")
trap 'bash "$SERVE" stop "$W" >/dev/null 2>&1; rm -rf "$W"' EXIT

echo "bench: writing $N files of 8-16 KiB in $W/site"
mkdir -p "$W/site"
TOTAL=$("$PY" - "$W/site" "$N" <<'EOF'
import os, random, sys
d, n = sys.argv[1], int(sys.argv[2])
rng = random.Random(11)
total = 0
for i in range(n):
    size = rng.randint(8192, 16384)
    with open(os.path.join(d, "f%05d.jpg" % i), "wb") as f:
        f.write(os.urandom(size))
    total += size
print(total)
EOF
)
URL=$(bash "$SERVE" start "$W")
: >"$W/list.txt"
: >"$W/curl.cfg"
: >"$W/aria2.txt"
"$PY" - "$URL" "$N" "$W" <<'EOF'
import sys
url, n, w = sys.argv[1], int(sys.argv[2]), sys.argv[3]
a, c, r = (open(w + f, "w") for f in ("/list.txt", "/curl.cfg", "/aria2.txt"))
with a, c, r:
    for i in range(n):
        name = "f%05d.jpg" % i
        a.write("%s/%s\n" % (url, name))
        c.write('url = "%s/%s"\noutput = "%s/out/%s"\n' % (url, name, w, name))
        r.write("%s/%s\n  out=%s\n" % (url, name, name))
EOF

# check DIR: N files of TOTAL bytes in all
check() {
  local files bytes
  files=$(find "$1" -type f | wc -l)
  bytes=$(find "$1" -type f -printf '%s\n' | awk '{ s += $1 } END { print s + 0 }')
  if [ "$files" -ne "$N" ] || [ "$bytes" -ne "$TOTAL" ]; then
    echo "bench: $2 left $files files, $bytes bytes; expected $N, $TOTAL" >&2
    exit 1
  fi
}

# timed TOOL: one run of TOOL into $W/out; prints its wall-clock seconds
timed() {
  local t0 t1
  rm -rf "$W/out"
  mkdir -p "$W/out"
  sync
  t0=$(date +%s.%N)
  case $1 in
  clipcrawl | clipcrawl_discard)
    local out=()
    [ "$1" = clipcrawl ] && out=(--out "$W/out")
    "$BIN" fetch --urls "$W/list.txt" --no-robots --host-delay 0 --per-host $PAR --inflight $PAR \
      --allow-net 127.0.0.1/32 "${out[@]}" >"$W/ours.tsv" 2>"$W/ours.err" || {
      cat "$W/ours.err" >&2
      exit 1
    }
    ;;
  curl)
    curl -sS --fail --parallel --parallel-max $PAR -K "$W/curl.cfg" 2>"$W/curl.err" || {
      cat "$W/curl.err" >&2
      exit 1
    }
    ;;
  aria2)
    aria2c -j $PAR -x1 -i "$W/aria2.txt" -d "$W/out" --allow-overwrite=true \
      --auto-file-renaming=false --file-allocation=none --console-log-level=warn \
      --summary-interval=0 --download-result=hide >"$W/aria2.log" 2>&1 || {
      tail -n 20 "$W/aria2.log" >&2
      exit 1
    }
    ;;
  esac
  t1=$(date +%s.%N)
  case $1 in
  clipcrawl_discard) ;;
  *) check "$W/out" "$1" ;;
  esac
  case $1 in
  clipcrawl | clipcrawl_discard)
    local n_ok
    n_ok=$(awk -F'\t' '$1 == "ok"' "$W/ours.tsv" | wc -l)
    [ "$n_ok" -eq "$N" ] || {
      echo "bench: clipcrawl fetch: $n_ok of $N ok:" >&2
      cut -f1 "$W/ours.tsv" | sort | uniq -c >&2
      exit 1
    }
    ;;
  esac
  "$PY" -c "print('%.3f' % ($t1 - $t0))"
}

TOOLS=(curl aria2)
[ "$PEERS_ONLY" = 1 ] || TOOLS+=(clipcrawl clipcrawl_discard)
declare -A TIMES
round() { # round R: every tool once, the order rotated by R (no tool always first or last)
  local i tool s n=${#TOOLS[@]}
  for ((i = 0; i < n; i++)); do
    tool=${TOOLS[$(((i + $1 - 1) % n))]}
    s=$(timed "$tool")
    TIMES[$tool]="${TIMES[$tool]:-} $s"
    echo "bench:   $tool $s s" >&2
  done
}
echo "bench: round 1" >&2
t0=$(date +%s)
round 1
note=""
if [ -z "$REPS" ]; then
  if [ $(($(date +%s) - t0)) -lt 40 ]; then REPS=3; else
    REPS=1
    note=" (one round only: a round took over 40 s)"
  fi
fi
for ((r = 2; r <= REPS; r++)); do
  echo "bench: round $r" >&2
  round "$r"
done
bash "$SERVE" stop "$W"

args=()
for tool in "${TOOLS[@]}"; do args+=("$tool=${TIMES[$tool]}"); done
"$PY" - "$BUILD/bench/fetch.json" "$N" "$TOTAL" "$REPS" "$note" "${args[@]}" <<'EOF'
import json, statistics, sys
out, note = sys.argv[1], sys.argv[5]
n, total, reps = (int(x) for x in sys.argv[2:5])
runs = {}
for a in sys.argv[6:]:
    tool, times = a.split("=", 1)
    runs[tool] = [float(x) for x in times.split()]
med = {t: statistics.median(v) for t, v in runs.items()}
curl = n / med["curl"]
print("fetch: %d files, %.1f MiB, 64 in flight, median of %d%s" % (n, total / 2**20, reps, note))
print("%-22s %9s %10s %9s" % ("tool", "seconds", "files/s", "vs curl"))
label = {"clipcrawl": "clipcrawl fetch --out", "clipcrawl_discard": "clipcrawl fetch",
         "curl": "curl --parallel", "aria2": "aria2c -j 64"}
for t, s in med.items():
    print("%-22s %9.2f %10.0f %8.2fx" % (label[t], s, n / s, (n / s) / curl))
json.dump({"files": n, "bytes": total, "in_flight": 64, "reps": reps,
           "tools": {t: {"seconds": med[t], "runs": runs[t], "files_per_s": n / med[t],
                         "ratio_vs_curl": (n / med[t]) / curl} for t in med}},
          open(out, "w"), indent=2)
print("figures in %s" % out)
EOF
