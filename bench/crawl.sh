#!/usr/bin/env bash
# Crawl benchmark (bench/run.sh BUILD crawl): clipcrawl crawl end to end on the fixture web over
# loopback, politeness off, against the fetch engine alone and curl on the same image URLs.
# Issue 7's goal: >= 300 pairs/s per core, and peak RSS for 10K and 100K pairs within 20 % (both
# the peak RSS and the peak anonymous RSS are reported: see measure).
#   input    for each size N (pairs on the web; default 10000 100000): BUILD/tools/mkweb --out
#            DIR --pairs N --no-near-separation --quiet (docs/FIXTURE_WEB.md; 10K: about 20 s and
#            0.4 GB, 100K: about 3 minutes and 4 GB), in a mktemp folder under BUILD/bench (local
#            disk; removed afterwards), served by tests/fixtures/serve.sh (nginx, one worker,
#            keep-alive). A size is skipped, with a message, when the disk has less than
#            N x 64 KiB free (the web, the crawl's shards and some room).
#   search   clipcrawl crawl --source search --search-base URL --queries DIR/queries.tsv --out OUT
#            --cap 1000000 --allow-net 127.0.0.1/32 --host-delay 0 --per-host 64 --concurrency 64
#            --parallel-queries 8 (robots.txt stays on: one request). A fresh OUT for every run.
#   web      the same with --source web --seeds (the site's root URL) --depth 10 --max-pages
#            (2 x the web's page count + 100: every page is reached; no --search-base).
#   fetch    clipcrawl fetch --urls LIST --no-robots --host-delay 0 --per-host 64 --inflight 64
#            --allow-net 127.0.0.1/32 (bodies discarded), LIST = the distinct image URLs (path,
#            before redirects) of the valid pairs of DIR/truth/pairs.tsv: what fetching alone
#            costs, so that crawl - fetch = extraction, filters (decode, resize, encode), dedupe
#            and the shard writer.
#   curl     curl --parallel --parallel-max 64 -K CONFIG on the same LIST (output /dev/null).
#   peer     img2dataset is not installable here (no pip); its published figure, about 100
#            images/s per core (/work/shared/REFERENCES.md), is the reference point.
#   measure  each run under a small python3 sampler (memtime.py, written into the work folder):
#            wall seconds (start to exit), user and sys CPU seconds and the peak RSS (ru_maxrss,
#            i.e. VmHWM) from wait4 of the client (nginx's CPU is not counted, though it shares
#            the 2 cores), and /proc/PID/status read every 50 ms for the peaks of VmRSS, RssAnon
#            (anonymous memory: heap, thread arenas, stacks, what the crawl really holds) and
#            RssFile (file-backed pages mapped: the LMDB maps of the open shard and state.lmdb, and
#            the binary and its libraries; clean pages the kernel reclaims under pressure). Items
#            are the pairs written (OUT/stats.json "written") for the crawls, the URLs fetched for
#            fetch and curl; items/s = items / wall; per CPU-s ("per core") = items / CPU seconds.
#            Why both RSS figures: a shard's seal (mdb_env_copyfd2 MDB_CP_COMPACT) reads every page
#            of the open shard through the map, so VmHWM includes one whole shard (about 110 MB
#            at the default --shard-pairs 10000 on this web) and the 10K web never fills one
#            (about 7000 pairs written) while 100K does; state.lmdb's pages add about 100 bytes a
#            pair. Peak RssAnon is the figure that memory independent of crawl size is about.
#   checks   every run exits 0; a crawl writes at least one pair; clipcrawl fetch says ok for
#            every URL of LIST (a redirect counts as ok after following); curl --fail succeeds.
#   figures  the median of 3 rounds (each figure's median on its own; each round runs every tool
#            once, in an order rotated from round to round) when a size's first round takes under
#            60 s, else one round (said so); the RSS ratio of the largest size to the smallest
#            and the peak-RssAnon ratio, for each crawl source, each with its goal line (within
#            20 %). The table goes to stdout and BUILD/bench/crawl-bench.txt, the figures to
#            BUILD/bench/crawl.json: per size and tool the medians items, wall, cpu, items_per_s,
#            items_per_cpu_s, rss_mb (VmHWM), vmrss_sampled_mb, anon_mb, file_mb (the sampled
#            peaks, 0 without /proc) and the rounds' runs; rss_ratio_largest_vs_smallest and
#            anon_ratio_largest_vs_smallest by source.
# Usage: bench/crawl.sh BUILD [--reps R] [--no-web] [PAIRS...]
#   PAIRS      sizes of the fixture web (default 10000 100000), e.g. bench/crawl.sh build 2000
#   --reps R   rounds per size (overrides the rule above); --no-web: skip the web source.
set -euo pipefail
USAGE="usage: bench/crawl.sh BUILD [--reps R] [--no-web] [PAIRS...]"
BUILD=${1:?$USAGE}
shift
REPS=
WEB=1
SIZES=()
while [ $# -gt 0 ]; do
  case $1 in
  --reps)
    REPS=${2:?--reps needs a value}
    [[ $REPS =~ ^[1-9][0-9]?$ ]] || {
      echo "bench/crawl.sh: --reps takes 1-99" >&2
      exit 2
    }
    shift 2
    ;;
  --no-web)
    WEB=0
    shift
    ;;
  [1-9]*)
    if ! [[ $1 =~ ^[1-9][0-9]{0,6}$ ]] || [ "$1" -gt 2000000 ]; then
      echo "bench/crawl.sh: PAIRS takes 1-2000000 (got $1)" >&2
      exit 2
    fi
    SIZES+=("$1")
    shift
    ;;
  *)
    echo "bench/crawl.sh: unknown option $1 ($USAGE)" >&2
    exit 2
    ;;
  esac
done
[ ${#SIZES[@]} -gt 0 ] || SIZES=(10000 100000)
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SERVE=$HERE/../tests/fixtures/serve.sh
PY=/usr/bin/python3
PAR=64
for t in /usr/sbin/nginx /usr/bin/curl "$PY"; do
  [ -x "$t" ] || {
    echo "bench: $t missing (bash ops/deps.sh installs nginx-light, curl, python3)" >&2
    exit 1
  }
done
[ -x "$BUILD/tools/mkweb" ] || {
  echo "bench: $BUILD/tools/mkweb missing (make all)" >&2
  exit 1
}
BIN=$(realpath "$BUILD/clipcrawl")
"$BIN" crawl --help >/dev/null 2>&1 || {
  echo "bench: $BIN crawl does not run (make all)" >&2
  exit 1
}
MKWEB=$(realpath "$BUILD/tools/mkweb")
mkdir -p "$BUILD/bench"
RESULTS=$(realpath "$BUILD/bench")
W=$(mktemp -d "$RESULTS/clipcrawl-crawl.XXXXXX")
SERVED=
cleanup() {
  [ -z "$SERVED" ] || bash "$SERVE" stop "$SERVED" >/dev/null 2>&1 || true
  rm -rf "$W"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# The sampler of timed: python3 memtime.py TIMEFILE CMD... runs CMD, reads /proc/PID/status
# every 50 ms (VmRSS, RssAnon, RssFile) and writes "wall user sys hwm vmrss anon file" (seconds,
# KiB) to TIMEFILE: wall from start to exit, user and sys and hwm (ru_maxrss, the kernel's VmHWM)
# from wait4 of the child, then the peaks of the samples (0 where /proc is missing). Exits as CMD.
cat >"$W/memtime.py" <<'EOF'
import os, subprocess, sys, time
out, cmd = sys.argv[1], sys.argv[2:]
keys = ("VmRSS", "RssAnon", "RssFile")
peak = dict.fromkeys(keys, 0)
t0 = time.monotonic()
p = subprocess.Popen(cmd)
status = "/proc/%d/status" % p.pid
while True:
    pid, ws, ru = os.wait4(p.pid, os.WNOHANG)
    if pid:
        break
    try:
        with open(status) as f:
            for line in f:
                k, _, v = line.partition(":")
                if k in peak:
                    peak[k] = max(peak[k], int(v.split()[0]))
    except (OSError, ValueError, IndexError):
        pass
    time.sleep(0.05)
wall = time.monotonic() - t0
with open(out, "w") as f:
    f.write("%.2f %.2f %.2f %d %d %d %d\n" % (wall, ru.ru_utime, ru.ru_stime, ru.ru_maxrss,
                                            peak["VmRSS"], peak["RssAnon"], peak["RssFile"]))
sys.exit(os.waitstatus_to_exitcode(ws) if hasattr(os, "waitstatus_to_exitcode") else ws >> 8)
EOF

# timed NAME CMD...: runs CMD under the sampler (stdout to $W/NAME.out, stderr to $W/NAME.err),
# writes "wall user sys hwm vmrss anon file" to $W/NAME.time; on failure shows the end of stderr
# and exits.
timed() {
  local name=$1
  shift
  local rc=0
  "$PY" "$W/memtime.py" "$W/$name.time" "$@" >"$W/$name.out" 2>"$W/$name.err" || rc=$?
  if [ "$rc" -ne 0 ]; then
    echo "bench: $name failed (exit $rc):" >&2
    tail -n 20 "$W/$name.err" >&2
    exit 1
  fi
}

# run_tool TOOL: one run on the web being served; appends "TOOL items wall user sys hwm vmrss anon
# file" (seconds, KiB: see memtime.py) to $W/runs-$N.txt
run_tool() {
  local tool=$1 items out
  case $tool in
  search | web)
    out=$W/out-$tool
    rm -rf "$out"
    local src=(--source search --search-base "$URL")
    [ "$tool" = web ] && src=(--source web --seeds "$W/seeds.txt" --depth 10
      --max-pages "$MAXPAGES")
    timed "$tool" "$BIN" crawl "${src[@]}" --queries "$DIR/queries.tsv" --out "$out" \
      --cap 1000000 --allow-net 127.0.0.1/32 --host-delay 0 --per-host $PAR \
      --concurrency $PAR --parallel-queries 8
    items=$("$PY" -c 'import json, sys; print(json.load(open(sys.argv[1]))["written"])' \
      "$out/stats.json")
    [ "$items" -gt 0 ] || {
      echo "bench: crawl --source $tool wrote no pair:" >&2
      tail -n 20 "$W/$tool.err" >&2
      exit 1
    }
    rm -rf "$out"
    ;;
  fetch)
    timed fetch "$BIN" fetch --urls "$W/list.txt" --no-robots --host-delay 0 --per-host $PAR \
      --inflight $PAR --allow-net 127.0.0.1/32
    items=$(awk -F'\t' '$1 == "ok"' "$W/fetch.out" | wc -l)
    [ "$items" -eq "$NURLS" ] || {
      echo "bench: clipcrawl fetch: $items of $NURLS ok:" >&2
      cut -f1 "$W/fetch.out" | sort | uniq -c >&2
      exit 1
    }
    ;;
  curl)
    timed curl curl -sS --fail --parallel --parallel-max $PAR -K "$W/curl.cfg"
    items=$NURLS
    ;;
  esac
  echo "$tool $items $(cat "$W/$tool.time")" >>"$W/runs-$N.txt"
  echo "bench:   $tool: $items items, $(awk '{printf "%s s, peak RSS %.0f MB, anon %.0f MB",
    $1, $4 / 1024, $6 / 1024}' "$W/$tool.time")" >&2
}

TOOLS=(search)
[ "$WEB" = 0 ] || TOOLS+=(web)
TOOLS+=(fetch curl)
DONE=()
SKIPPED=()
NOTES=()
for N in "${SIZES[@]}"; do
  need=$((N * 64)) # KiB
  avail=$(df -k --output=avail "$W" | tail -n 1)
  if [ "$avail" -lt "$need" ]; then
    echo "bench: skipping $N pairs: $((avail / 1024)) MiB free on $W's disk, $((need / 1024))" \
      "MiB needed" >&2
    SKIPPED+=("$N")
    continue
  fi
  DIR=$W/web-$N
  echo "bench: generating the fixture web of $N pairs in $DIR" >&2
  "$MKWEB" --out "$DIR" --pairs "$N" --no-near-separation --quiet
  URL=$(bash "$SERVE" start "$DIR")
  SERVED=$DIR
  echo "$URL/" >"$W/seeds.txt"
  MAXPAGES=$("$PY" -c 'import json, sys; print(2 * json.load(open(sys.argv[1]))["counts"]["pages"] + 100)' \
    "$DIR/web.json")
  "$PY" - "$DIR/truth/pairs.tsv" "$URL" "$W" <<'EOF'
import sys
src, url, w = sys.argv[1:4]
paths, cols = [], None
for line in open(src, encoding="utf-8"):
    if line.startswith("#"):
        continue
    f = line.rstrip("\n").split("\t")
    if cols is None:
        cols = {c: i for i, c in enumerate(f)}
        continue
    if f[cols["valid"]] == "1":
        paths.append(f[cols["path"]])
paths = sorted(set(paths))
with open(w + "/list.txt", "w") as a, open(w + "/curl.cfg", "w") as c:
    for p in paths:
        a.write(url + p + "\n")
        c.write('url = "%s%s"\noutput = "/dev/null"\n' % (url, p))
EOF
  NURLS=$(wc -l <"$W/list.txt")
  : >"$W/runs-$N.txt"
  reps=$REPS
  n=${#TOOLS[@]}
  for ((r = 1; ; r++)); do
    echo "bench: $N pairs, round $r" >&2
    t0=$(date +%s)
    for ((i = 0; i < n; i++)); do run_tool "${TOOLS[$(((i + r - 1) % n))]}"; done
    if [ -z "$reps" ]; then
      if [ $(($(date +%s) - t0)) -lt 60 ]; then reps=3; else
        reps=1
        NOTES+=("$N pairs: one round only (a round took over 60 s)")
      fi
    fi
    [ "$r" -lt "$reps" ] || break
  done
  echo "$N $reps $NURLS" >>"$W/sizes.txt"
  bash "$SERVE" stop "$DIR"
  SERVED=
  rm -rf "$DIR"
  DONE+=("$N")
done
[ ${#DONE[@]} -gt 0 ] || {
  echo "bench: no size measured (not enough disk)" >&2
  exit 1
}

"$PY" - "$W" "$RESULTS" "${SKIPPED[*]:-}" "$(printf '%s\n' "${NOTES[@]:-}")" <<'EOF' |
import json, statistics, sys
w, results, skipped, notes = sys.argv[1:5]
label = {"search": "crawl --source search", "web": "crawl --source web",
         "fetch": "clipcrawl fetch", "curl": "curl --parallel"}
sizes, out = [], {}
for line in open(w + "/sizes.txt"):
    n, reps, nurls = (int(x) for x in line.split())
    sizes.append(n)
    runs = {}
    for r in open("%s/runs-%d.txt" % (w, n)):
        tool, items, wall, user, sys_, hwm, vmrss, anon, rfile = r.split()
        runs.setdefault(tool, []).append(
            {"items": int(items), "wall": float(wall), "cpu": float(user) + float(sys_),
             "rss_mb": int(hwm) / 1024.0, "vmrss_sampled_mb": int(vmrss) / 1024.0,
             "anon_mb": int(anon) / 1024.0, "file_mb": int(rfile) / 1024.0})
    tools = {}
    for t, rs in runs.items():
        m = {k: statistics.median(x[k] for x in rs)
             for k in ("items", "wall", "cpu", "rss_mb", "vmrss_sampled_mb", "anon_mb", "file_mb")}
        m["items_per_s"] = m["items"] / m["wall"]
        m["items_per_cpu_s"] = m["items"] / m["cpu"] if m["cpu"] > 0 else 0.0
        m["runs"] = rs
        tools[t] = m
    out[str(n)] = {"reps": reps, "image_urls": nurls, "tools": tools}
sizes.sort()
lines = ["crawl: fixture web on loopback, politeness off, %d in flight; median of the rounds"
         % 64,
         "items: pairs written (crawl), image URLs of the valid pairs (fetch, curl); "
         "CPU = user + sys of the client",
         "RSS MB: peak resident set (VmHWM); anon MB: peak anonymous memory (RssAnon, sampled every"
         " 50 ms); file MB: peak file-backed pages mapped (RssFile: the LMDB maps, clean and"
         " reclaimable, and the binary)",
         "%-8s %-22s %3s %8s %8s %8s %9s %10s %8s %8s %8s" % (
             "pairs", "tool", "n", "items", "wall s", "CPU s", "items/s", "per CPU-s", "RSS MB",
             "anon MB", "file MB")]
for n in sizes:
    d = out[str(n)]
    for t in ("search", "web", "fetch", "curl"):
        if t not in d["tools"]:
            continue
        m = d["tools"][t]
        lines.append("%-8d %-22s %3d %8d %8.2f %8.2f %9.0f %10.0f %8.1f %8.1f %8.1f" % (
            n, label[t], len(m["runs"]), m["items"], m["wall"], m["cpu"], m["items_per_s"],
            m["items_per_cpu_s"], m["rss_mb"], m["anon_mb"], m["file_mb"]))
    if "search" in d["tools"]:
        s, f = d["tools"]["search"], d["tools"]["fetch"]
        share = (f["cpu"] / f["items"]) * s["items"] / s["cpu"] if s["cpu"] > 0 else 0.0
        lines.append("%-8d fetching the written pairs' images is %.0f %% of the search crawl's CPU"
                     " (the rest: pages, extraction, filters, dedupe, writer); goal >= 300"
                     " pairs/CPU-s: %s" % (n, 100 * share,
                                          "met" if s["items_per_cpu_s"] >= 300 else "NOT met"))
ratios, anon_ratios = {}, {}
if len(sizes) > 1:
    lo, hi = min(sizes), max(sizes)
    for t in ("search", "web"):
        if t in out[str(lo)]["tools"] and t in out[str(hi)]["tools"]:
            a, b = out[str(lo)]["tools"][t], out[str(hi)]["tools"][t]
            for key, what, dst in (("rss_mb", "peak RSS", ratios),
                                   ("anon_mb", "peak anonymous RSS", anon_ratios)):
                if a[key] <= 0:
                    continue
                r = b[key] / a[key]
                dst[t] = r
                lines.append("%s %s, %d / %d pairs: %.1f / %.1f MB = %.2f (goal within 20 %%: %s)"
                             % (what, label[t], hi, lo, b[key], a[key], r,
                                "met" if 1 / 1.2 <= r <= 1.2 else "NOT met"))
top = out[str(max(sizes))]["tools"]
peer = "peer: img2dataset publishes about 100 images/s per core (REFERENCES.md; not installable here)"
if "search" in top:
    peer += "; the search crawl at %d pairs: %.1fx that per CPU-s" % (
        max(sizes), top["search"]["items_per_cpu_s"] / 100)
lines.append(peer)
for x in notes.split("\n"):
    if x:
        lines.append("note: " + x)
if skipped:
    lines.append("skipped (not enough disk): " + skipped)
json.dump({"in_flight": 64, "sizes": out, "rss_ratio_largest_vs_smallest": ratios,
           "anon_ratio_largest_vs_smallest": anon_ratios,
           "skipped": [int(x) for x in skipped.split()]},
          open(results + "/crawl.json", "w"), indent=2)
print("\n".join(lines))
print("figures in %s/crawl.json, table in %s/crawl-bench.txt" % (results, results))
EOF
  tee "$RESULTS/crawl-bench.txt"
