#!/usr/bin/env bash
# Crash-equivalence campaign of `clipcrawl crawl` (issue 7): kill -9 the crawl at KILLS random
# moments, restart the same command each time, and compare with a clean run of the same command
# on the same fixture web.
#
# Usage: tests/fault/crawl_campaign.sh BUILD [KILLS]        (KILLS default 20; 3 is the short mode)
# Environment: CAMPAIGN_SEED (default: random; printed, replays the kill moments and the web),
#              CRAWL_PAIRS (fixture web size, default 2000), CRAWL_CAP (default 5),
#              CRAWL_SHARD_PAIRS (--shard-pairs, default 100),
#              CAMPAIGN_KEEP=1 (keep the work folder, with OUT, CLEAN, the web and check.py).
#
# Steps:
#   1. `mkweb --pairs CRAWL_PAIRS --seed WEB_SEED` (WEB_SEED from the campaign seed), served by
#      tests/fixtures/serve.sh on 127.0.0.1.
#   2. A clean crawl into CLEAN (--source search, --parallel-queries 1, a small --cap so that many
#      queries are capped, --shard-pairs 100 so that seals are frequent, a host delay so that it
#      lasts several seconds); its wall time D is measured.
#   3. KILLS moments drawn uniformly in 0..D from the seeded RNG and sorted; round i starts the
#      same command into OUT and sends SIGKILL (to the binary itself) after moment[i] -
#      moment[i-1], so the kills land at the drawn moments of the crawl's own progress (a restart
#      resumes where the killed run was; short gaps kill a restart during its recovery).
#   4. After every kill, before the restart, the committed dataset as the writer's recovery sees
#      it (manifest-listed shards, checksums checked, plus the unsealed shard-N.lmdb.open unless
#      its sealed twin is listed) is read with ops/python/clipcrawl_shards.py and checked: no uid
#      twice, no content hash twice, no query_id over the cap, query_id among query_ids, every
#      pair valid per truth/pairs.tsv and present in CLEAN, and every uid committed at an earlier
#      check still there ("nothing committed is missing").
#   5. A last run to completion (exit 0, no unit left), `clipcrawl shards verify OUT`, and against
#      CLEAN: the same multiset of (caption, content hash); for each query below its cap in
#      CLEAN the same set of (caption, content hash) counted for it (query_id) in OUT; each
#      query capped in CLEAN exactly cap pairs in OUT too; plus the checks of step 4.
#
# The binary is copied into the work folder at the start, so a rebuild in the tree during the
# campaign does not mix two binaries. Prints one line per round and a summary
# "crawl_campaign: N kills, all checks passed". Exit 0 when every check passed; 1 on a failure
# (seed, round and the failed checks printed; the work folder kept); 2 on bad arguments.
set -u
BUILD=${1:?usage: crawl_campaign.sh BUILD [KILLS]}
KILLS=${2:-20}
case $KILLS in '' | *[!0-9]*) echo "crawl_campaign: KILLS must be a number" >&2; exit 2 ;; esac
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
case $BUILD in /*) ;; *) BUILD=$ROOT/$BUILD ;; esac
PY=/usr/bin/python3
READER_DIR=$ROOT/ops/python
SERVE=$ROOT/tests/fixtures/serve.sh
for f in "$BUILD/clipcrawl" "$BUILD/tools/mkweb"; do
  [ -x "$f" ] || { echo "crawl_campaign: $f missing (run make all)" >&2; exit 2; }
done
SEED=${CAMPAIGN_SEED:-$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')}
case $SEED in '' | *[!0-9]*) echo "crawl_campaign: CAMPAIGN_SEED must be a number" >&2; exit 2 ;; esac
PAIRS=${CRAWL_PAIRS:-2000}
CAP=${CRAWL_CAP:-5}
SHARD_PAIRS=${CRAWL_SHARD_PAIRS:-100}
WEB_SEED=$((SEED % 1000 + 1))

WORK=$(mktemp -d "${TMPDIR:-/tmp}/cc-crawlcamp-XXXXXX") || exit 2
BIN=$WORK/clipcrawl
cp "$BUILD/clipcrawl" "$BIN" || exit 2
WEB=$WORK/web
OUT=$WORK/out
CLEAN=$WORK/clean
pid=""
keep=${CAMPAIGN_KEEP:-0} # 1: keep the work folder even when every check passed
cleanup() {
  if [ -n "$pid" ]; then kill -9 "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; fi
  "$SERVE" stop "$WEB" >/dev/null 2>&1 || true
  if [ "$keep" = 0 ]; then rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 1' INT TERM

round=setup
fail() {
  echo "crawl_campaign: FAIL (seed $SEED, round $round): $*" >&2
  for f in run.out run.err check.out; do
    [ -s "$WORK/$f" ] && { echo "--- $f" >&2; tail -n 20 "$WORK/$f" >&2; }
  done
  echo "crawl_campaign: replay with CAMPAIGN_SEED=$SEED CRAWL_PAIRS=$PAIRS CRAWL_CAP=$CAP" \
    "CRAWL_SHARD_PAIRS=$SHARD_PAIRS" \
    "bash tests/fault/crawl_campaign.sh BUILD $KILLS; work folder kept: $WORK" >&2
  keep=1
  exit 1
}

now_ms() { local t; t=$(date +%s%N); echo $((t / 1000000)); }

echo "crawl_campaign: seed $SEED (web seed $WEB_SEED, $PAIRS pairs, cap $CAP," \
  "$SHARD_PAIRS pairs a shard), $KILLS kills"
"$BUILD/tools/mkweb" --out "$WEB" --pairs "$PAIRS" --seed "$WEB_SEED" --quiet --no-warc \
  >"$WORK/mkweb.out" 2>&1 || fail "mkweb: $(tail -n 3 "$WORK/mkweb.out")"
URL=$("$SERVE" start "$WEB" 2>"$WORK/serve.err") || fail "serve.sh: $(tail -n 3 "$WORK/serve.err")"

CRAWL=("$BIN" --quiet crawl --source search --search-base "$URL" --queries "$WEB/queries.tsv"
  --cap "$CAP" --allow-net 127.0.0.1/32 --parallel-queries 1 --threads 2
  --host-delay 0.005 --per-host 2 --concurrency 4 --shard-pairs "$SHARD_PAIRS")

# ---- the checker ------------------------------------------------------------------------------
# check.py snap OUT CLEAN|- SEEN CAP TRUTH_PAIRS   after a kill (and at the end)
# check.py final OUT CLEAN SEEN CAP TRUTH_PAIRS    the comparison with CLEAN, after snap
cat >"$WORK/check.py" <<'EOF'
import collections, json, os, sys
mode, out, clean, seen_path, cap, truth = sys.argv[1:7]
cap = int(cap)
sys.path.insert(0, os.environ["READER_DIR"])
import clipcrawl_shards as cs

def committed(d):
    """Records a resumed writer keeps: listed shards (size and checksum checked) and the
    unsealed .open shard unless its sealed twin is listed. Returns (records, description)."""
    entries = cs.load_manifest(d) if os.path.exists(os.path.join(d, "manifest.tsv")) else []
    listed = {e["name"] for e in entries}
    recs = []
    for e in entries:
        sh = cs.open_shard(e["path"], e)
        recs.extend(sh)
        sh.close()
    names = sorted(os.listdir(d))
    opens = [n for n in names if n.endswith(".lmdb.open")]
    n_open, twin = 0, 0
    for n in opens:
        if n[:-5] in listed:
            twin += 1  # killed inside a seal, after the manifest append: recovery deletes it
            continue
        sh = cs.open_shard(os.path.join(d, n))
        n_open += len(sh)
        recs.extend(sh)
        sh.close()
    tmp = sum(n.startswith("shard-") and n.endswith(".lmdb.tmp") for n in names)
    unlisted = sum(n.startswith("shard-") and n.endswith(".lmdb") and n not in listed for n in names)
    desc = "%d committed (%d sealed in %d shards, %d unsealed)" % (
        len(recs), len(recs) - n_open, len(entries), n_open)
    if tmp or unlisted or twin:
        desc += ", killed in a seal (tmp=%d unlisted=%d listed+open=%d)" % (tmp, unlisted, twin)
    return recs, desc

def rows(p):
    f = open(p, encoding="utf-8"); f.readline(); hdr = f.readline().rstrip("\n").split("\t")
    return [dict(zip(hdr, l.rstrip("\n").split("\t"))) for l in f]

errors = []
def check(cond, msg):
    if not cond:
        errors.append(msg)

valid = {(p["path"], p["text"]) for p in rows(truth) if p["valid"] == "1"}
def invariants(recs, name):
    uids = [r["key"] for r in recs]
    d = [u for u, c in collections.Counter(uids).items() if c > 1]
    check(not d, "%s: duplicate uid %s" % (name, d[:3]))
    hs = [r["content_hash"] for r in recs]
    d = [h for h, c in collections.Counter(hs).items() if c > 1]
    check(not d, "%s: duplicate content hash %s (captions %s)" % (
        name, d[:3], [r["caption"] for r in recs if d and r["content_hash"] == d[0]]))
    per_q = collections.Counter(r["query_id"] for r in recs)
    over = {q: c for q, c in per_q.items() if c > cap}
    check(not over, "%s: queries over the cap %d: %s" % (name, cap, over))
    for r in recs:
        if r["query_id"] not in r["query_ids"]:
            check(False, "%s: query_id %s not among %s (%r)" % (name, r["query_id"], r["query_ids"], r["caption"]))
            break
    for r in recs:
        path = "/" + r["url"].split("/", 3)[3]
        if (path, r["caption"]) not in valid:
            check(False, "%s: a pair the truth calls invalid: %s %r" % (name, path, r["caption"]))
            break
    return per_q

recs, desc = committed(out)
invariants(recs, "out")
pairs = {(r["caption"], r["content_hash"]) for r in recs}
clean_recs = []
if clean != "-":
    clean_recs, _ = committed(clean)
    cpairs = {(r["caption"], r["content_hash"]) for r in clean_recs}
    extra = sorted(pairs - cpairs)
    check(not extra, "out: %d committed pairs the clean run does not hold, e.g. %s" % (len(extra), extra[:3]))
# Nothing committed goes missing: every uid seen at an earlier check is still here.
seen = set(open(seen_path).read().split()) if os.path.exists(seen_path) else set()
uids = {r["key"] for r in recs}
lost = seen - uids
check(not lost, "out: %d records committed earlier are missing, e.g. %s" % (len(lost), sorted(lost)[:3]))
with open(seen_path, "w") as f:
    f.write("\n".join(sorted(seen | uids)) + "\n")

if mode == "final":
    per_q_clean = invariants(clean_recs, "clean")
    a = collections.Counter((r["caption"], r["content_hash"]) for r in clean_recs)
    b = collections.Counter((r["caption"], r["content_hash"]) for r in recs)
    check(a == b, "pairs differ from the clean run: only clean %s, only out %s" % (
        sorted((a - b).elements())[:3], sorted((b - a).elements())[:3]))
    qset = lambda rs: {q: {(r["caption"], r["content_hash"]) for r in rs if r["query_id"] == q}
                       for q in {r["query_id"] for r in rs}}
    sa, sb = qset(clean_recs), qset(recs)
    nq_below = nq_capped = 0
    bad_below, bad_capped = [], []
    matched = {(r["caption"], r["content_hash"]): len(r["query_ids"]) for r in clean_recs + recs}
    for q in sorted(set(sa) | set(sb)):
        ca, cb = sa.get(q, set()), sb.get(q, set())
        if len(ca) < cap:
            nq_below += 1
            if ca != cb:
                diff = sorted(ca ^ cb)
                bad_below.append("query %d: clean %d, out %d pairs; differing %d, matching %s queries"
                                 % (q, len(ca), len(cb), len(diff), sorted({matched[p] for p in diff})))
        else:
            nq_capped += 1
            if len(cb) != cap:
                bad_capped.append("query %d: capped at %d in clean, %d in out" % (q, cap, len(cb)))
    check(not bad_below, "per-query sets differ for %d of %d queries below the cap: %s" % (
        len(bad_below), nq_below, "; ".join(bad_below[:5])))
    check(not bad_capped, "%d of %d capped queries differ: %s" % (
        len(bad_capped), nq_capped, "; ".join(bad_capped[:5])))
    desc += "; clean %d pairs, %d queries below the cap, %d capped" % (len(clean_recs), nq_below, nq_capped)
print(desc)
for e in errors:
    print("CHECK FAILED: " + e)
sys.exit(1 if errors else 0)
EOF
export READER_DIR
# check MODE: runs check.py on OUT; $desc is its description line; fails on any failed check.
check() {
  "$PY" "$WORK/check.py" "$1" "$OUT" "$CLEAN" "$WORK/seen.txt" "$CAP" "$WEB/truth/pairs.tsv" \
    >"$WORK/check.out" 2>&1
  local rc=$?
  desc=$(head -n 1 "$WORK/check.out")
  if [ "$rc" != 0 ]; then
    grep '^CHECK FAILED' "$WORK/check.out" >&2
    fail "$(grep -c '^CHECK FAILED' "$WORK/check.out") checks failed after: $desc"
  fi
}

# ---- the clean run ----------------------------------------------------------------------------
t0=$(now_ms)
"${CRAWL[@]}" --out "$CLEAN" >"$WORK/run.out" 2>"$WORK/run.err" || fail "the clean crawl failed"
D=$(($(now_ms) - t0))
"$PY" "$WORK/check.py" snap "$CLEAN" - "$WORK/clean-seen.txt" "$CAP" "$WEB/truth/pairs.tsv" \
  >"$WORK/check.out" 2>&1 || fail "invariants of the clean run: $(cat "$WORK/check.out")"
echo "clean run: $D ms, $(head -n 1 "$WORK/check.out")"

# ---- the kills --------------------------------------------------------------------------------
mapfile -t MOMENTS < <("$PY" -c 'import random, sys
r = random.Random(int(sys.argv[1]))
for t in sorted(r.randint(0, int(sys.argv[3])) for _ in range(int(sys.argv[2]))): print(t)' \
  "$SEED" "$KILLS" "$D")
prev=0 kills=0 finished=0 in_seal=0 t_start=$SECONDS
for ((round = 1; round <= KILLS; round++)); do
  m=${MOMENTS[round - 1]}
  delay=$((m - prev))
  prev=$m
  : >"$WORK/run.out"
  : >"$WORK/run.err"
  "${CRAWL[@]}" --out "$OUT" >"$WORK/run.out" 2>"$WORK/run.err" &
  pid=$!
  sleep "$(printf '%d.%03d' $((delay / 1000)) $((delay % 1000)))"
  kill -9 "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
  rc=$?
  pid=""
  case $rc in
    137) kills=$((kills + 1)) what=killed ;;
    0) finished=$((finished + 1)) what="finished before the kill" ;;
    *) fail "the crawl exited with status $rc by itself" ;;
  esac
  check snap
  case $desc in *"in a seal"*) in_seal=$((in_seal + 1)) ;; esac
  printf 'round %d/%d: moment %d ms (after %d ms), %s: %s\n' "$round" "$KILLS" "$m" "$delay" \
    "$what" "$desc"
done

# ---- the last run, to completion, and the comparison with the clean run ------------------------
round=final
"${CRAWL[@]}" --out "$OUT" >"$WORK/run.out" 2>"$WORK/run.err" || fail "the last run failed"
"$PY" -c 'import json, sys; s = json.load(open(sys.argv[1])); assert s["units"]["left"] == 0, s["units"]' \
  "$OUT/stats.json" >"$WORK/check.out" 2>&1 || fail "units left after the last run"
"$BIN" shards verify "$OUT" >"$WORK/check.out" 2>&1 || fail "shards verify: $(tail -n 3 "$WORK/check.out")"
check final
echo "final: $desc"
[ "$keep" = 1 ] && echo "work folder kept: $WORK"
echo "crawl_campaign: $KILLS kills ($kills killed, $finished finished before the kill," \
  "$in_seal inside a seal) in $((SECONDS - t_start)) s, seed $SEED, all checks passed"
