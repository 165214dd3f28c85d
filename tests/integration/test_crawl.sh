#!/usr/bin/env bash
# tests/integration/test_crawl.sh BUILD — `clipcrawl crawl --source search` against the fixture
# web served by nginx on 127.0.0.1: caps, dedupe, the ground truth, stats, resume, and kill -9
# crash equivalence. docs/CRAWL.md describes what is checked and why.
source "$(dirname "$0")/lib.sh"
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
MKWEB=$(realpath "$BUILD/tools/mkweb")
SERVE="$ROOT/tests/fixtures/serve.sh"
WEB="$T/web"
cleanup() {
  "$SERVE" stop "$WEB" >/dev/null 2>&1 || true
  rm -rf "$T"
}
trap cleanup EXIT

# The WARC's target URIs name http://fixture.test:PORT, the port nginx will serve on (a free one,
# picked first); the warc crawl pins fixture.test to 127.0.0.1 with --resolve.
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$MKWEB" --out "$WEB" --pairs 300 --seed 1 --quiet --warc-base "http://fixture.test:$PORT"
URL=$("$SERVE" start "$WEB" --port "$PORT")
[ "$URL" = "http://127.0.0.1:$PORT" ] || fail "serve.sh gave '$URL', expected port $PORT"
# The search API must be allowed by the fixture's robots.txt (robots are obeyed below).
grep -q '^Disallow: /api' "$WEB/site/robots.txt" && fail "robots.txt disallows the search API"
ok

CAP=3
crawl() { # crawl OUT [extra flags...]
  local out=$1; shift
  "$BIN" --quiet crawl --source search --queries "$WEB/queries.tsv" --out "$out" --cap $CAP \
    --search-base "$URL" --allow-net 127.0.0.1/32 --host-delay 0 --per-host 8 --threads 2 "$@"
}

# ---- usage errors ---------------------------------------------------------------------------
expect 2 "--source, --queries and --out are required" -- "$BIN" crawl --queries "$WEB/queries.tsv"
expect 2 "--source is search, web or warc" -- "$BIN" crawl --source ftp --queries x --out "$T/x"
expect 2 "--cap needs a positive number" -- "$BIN" crawl --source search --queries x --out "$T/x" --cap 0
expect 2 "give --search-base" -- "$BIN" crawl --source search --queries "$WEB/queries.tsv" --out "$T/x"
expect 2 "cannot read" -- "$BIN" crawl --source warc --warc "$T/none.warc.gz" \
  --queries "$WEB/queries.tsv" --out "$T/x2"
expect 2 "--source web needs --seeds FILE" -- "$BIN" crawl --source web \
  --queries "$WEB/queries.tsv" --out "$T/x3"
printf '# nothing\n\n' >"$T/noseeds.txt"
expect 2 "no seed URL" -- "$BIN" crawl --source web --seeds "$T/noseeds.txt" \
  --queries "$WEB/queries.tsv" --out "$T/x3"

# ---- a clean crawl --------------------------------------------------------------------------
expect 0 "" -- crawl "$T/a"
grep -q '^crawled [1-9]' "$T/out" || fail "summary: $(cat "$T/out")"
expect 0 "" -- "$BIN" shards verify "$T/a"
grep -q "all good" "$T/out" || fail "verify: $(cat "$T/out")"
"$BIN" shards dump "$T/a" >"$T/a.jsonl"
[ -s "$T/a/metrics.prom" ] || fail "no metrics.prom"
grep -q '^clipcrawl_pairs_written_total [1-9]' "$T/a/metrics.prom" || fail "metrics.prom lacks pairs"
grep -q '^clipcrawl_fetch_outcomes_total{outcome="http_404"} ' "$T/a/metrics.prom" ||
  fail "metrics.prom lacks fetch outcomes"
ok

check_run() { # check_run JSONL STATS [alt] — the dataset's invariants against the ground truth
  # With "alt" (a WAT crawl: alt texts only) the truth is restricted to pairs whose text is an alt
  # attribute, and a query's available pictures are counted among those.
  python3 - "$1" "$2" "$WEB/truth/queries.tsv" "$WEB/truth/pairs.tsv" $CAP "${3:-all}" <<'EOF'
import collections, json, sys
jl, stats_path, tq, tp, cap = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5])
alt_only = sys.argv[6] == "alt"
recs = [json.loads(l) for l in open(jl)]
assert recs, "no records"
keys = [r["key"] for r in recs]
assert len(keys) == len(set(keys)), "duplicate uid"
hashes = [r["content_hash"] for r in recs]
assert len(hashes) == len(set(hashes)), "duplicate content hash"
per_q = collections.Counter(r["query_id"] for r in recs)
assert max(per_q.values()) <= cap, "a query over its cap: %s" % per_q.most_common(1)
for r in recs:
    assert r["query_id"] in r["query_ids"], "picked query not among the matched ones"
    assert r["url"].startswith(("http://127.0.0.1:", "http://fixture.test:")), r["url"]
# Truth: pairs a correct crawl may store (valid) by (path, text).
def rows(p):
    f = open(p); f.readline(); hdr = f.readline().rstrip("\n").split("\t")
    return [dict(zip(hdr, l.rstrip("\n").split("\t"))) for l in f]
valid_rows = [p for p in rows(tp) if p["valid"] == "1" and (not alt_only or p["text_source"] == "alt")]
valid = {(p["path"], p["text"]) for p in valid_rows}
avail_alt = collections.defaultdict(set) # query id -> pictures of the valid (alt) pairs matching it
for p in valid_rows:
    for q in filter(None, p["query_ids"].split(",")):
        avail_alt[int(q)].add(p["image"])
for r in recs:
    path = "/" + r["url"].split("/", 3)[3]
    assert (path, r["caption"]) in valid, "stored a pair the truth calls invalid: %s %r" % (path, r["caption"])
# Captions match several queries, so min(cap, available) per picked query does not hold; what
# holds: a query that did not reach its cap was searched to the end, so every distinct valid
# picture matching it is stored (counted for it or for another query it matches).
contents_q = collections.defaultdict(set)
for r in recs:
    for q in r["query_ids"]:
        contents_q[q].add(r["content_hash"])
checked = 0
for q in rows(tq):
    qid, avail = int(q["id"]), int(q["available_exact"])
    if alt_only:
        avail = len(avail_alt[qid])
    if per_q.get(qid, 0) < cap:
        assert len(contents_q[qid]) == avail, "query %d (%s): %d pictures stored, %d available" % (
            qid, q["query"], len(contents_q[qid]), avail)
        checked += 1
assert checked > 0, "no query below its cap: the check above checked nothing"
s = json.load(open(stats_path))
sk = s["skipped"]
total = (s["written"] + sk["no_query"] + sk["duplicate_pair"] + sk["query_full"] +
         sk["duplicate_content"] + sk["near_duplicate"] + sk["abandoned"] +
         sum(s["text"].values()) + sum(v for k, v in s["fetch"].items() if k != "ok") +
         sum(s["image"].values()))
assert total == s["candidates"], "stats do not add up: %d != %d" % (total, s["candidates"])
# A fetched item whose matched queries filled up before its turn (coord_quota_assign) counts in
# query_full and in its part query_full_after_fetch.
assert sk["query_full_after_fetch"] <= sk["query_full"]
after = s["written"] + sum(s["image"].values()) + sk["duplicate_content"] + sk["near_duplicate"] + \
    sk["abandoned"] + sk["query_full_after_fetch"]
assert s["fetch"]["ok"] == after, "fetch ok does not add up: %d != %d" % (s["fetch"]["ok"], after)
assert s["units"]["left"] == 0
print(len(recs), checked)
EOF
}
read -r n_a checked <<<"$(check_run "$T/a.jsonl" "$T/a/stats.json")" || fail "invariants of the clean crawl"
python3 -c 'import json,sys; s=json.load(open(sys.argv[1])); assert s["written"]==int(sys.argv[2]); assert s["fetch"]["http_404"]>0 and s["fetch"]["robots_denied"]>0' \
  "$T/a/stats.json" "$n_a" || fail "stats.json: written or fetch outcomes"
ok

# ---- re-running adds nothing ----------------------------------------------------------------
expect 0 "" -- crawl "$T/a"
python3 -c 'import json,sys; s=json.load(open(sys.argv[1])); assert s["written"]==0, s' \
  "$T/a/stats.json" || fail "a re-run wrote pairs"
[ "$("$BIN" shards dump "$T/a" | wc -l)" -eq "$n_a" ] || fail "a re-run changed the dataset"
ok

# ---- lost state: --rebuild-state restores quotas and claims from the shards ------------------
mv "$T/a/state.lmdb" "$T/a-state.lmdb"
expect 0 "" -- crawl "$T/a" --rebuild-state
python3 -c 'import json,sys; s=json.load(open(sys.argv[1])); assert s["written"]==0 and s["candidates"]>0, s' \
  "$T/a/stats.json" || fail "a crawl on a rebuilt state wrote pairs again"
[ "$("$BIN" shards dump "$T/a" | wc -l)" -eq "$n_a" ] || fail "the rebuilt run changed the dataset"
ok

# ---- kill -9 mid-way, restart: the same pairs as a clean run, query ids included ------------
# One unit at a time makes the output independent of timing (queries are assigned in candidate
# order, coord_quota_assign); a host delay makes it slow enough to be killed mid-way.
SLOW=(--parallel-queries 1 --host-delay 0.01 --per-host 1 --concurrency 4)
expect 0 "" -- crawl "$T/ref" "${SLOW[@]}"
"$BIN" shards dump "$T/ref" >"$T/ref.jsonl"
"$BIN" --quiet crawl --source search --queries "$WEB/queries.tsv" --out "$T/k" --cap $CAP \
  --search-base "$URL" --allow-net 127.0.0.1/32 --threads 2 "${SLOW[@]}" >/dev/null 2>&1 &
pid=$! # the binary itself, so that kill -9 hits it
for _ in $(seq 1 200); do # until the first commit, then a little more
  [ -e "$T/k/shard-000000.lmdb.open" ] && break
  sleep 0.05
done
sleep 0.5
exec 3>&2 2>/dev/null # no "Killed" line from bash
kill -9 "$pid" || { exec 2>&3; fail "the crawl ended before it could be killed"; }
wait "$pid" || true
exec 2>&3 3>&-
expect 0 "" -- crawl "$T/k" "${SLOW[@]}"
python3 -c 'import json,sys; s=json.load(open(sys.argv[1])); assert s["held_at_start"]>0, s' \
  "$T/k/stats.json" || fail "the killed run had committed nothing"
"$BIN" shards dump "$T/k" >"$T/k.jsonl"
expect 0 "" -- "$BIN" shards verify "$T/k"
grep -q "all good" "$T/out" || fail "verify after restart: $(cat "$T/out")"
check_run "$T/k.jsonl" "$T/k/stats.json" >/dev/null || fail "invariants after kill -9 and restart"
python3 - "$T/ref.jsonl" "$T/k.jsonl" <<'EOF' || fail "kill -9 + restart differs from a clean run"
import json, sys
# The same pairs, each counted for the same query (docs/CRAWL.md, "Crash equivalence").
a = {(r["caption"], r["content_hash"], r["query_id"]) for r in map(json.loads, open(sys.argv[1]))}
b = [(r["caption"], r["content_hash"], r["query_id"]) for r in map(json.loads, open(sys.argv[2]))]
assert len(b) == len(set(b)), "duplicates after restart"
assert len({x[:2] for x in b}) == len(b), "a pair stored twice after restart"
assert a == set(b), "only clean: %s / only restarted: %s" % (sorted(a - set(b))[:3], sorted(set(b) - a)[:3])
EOF
ok

# ---- the warc source: the site's WARC, images fetched from the served site ---------------------
warc_crawl() {
  "$BIN" --quiet crawl --source warc --warc "$WEB/warc/site.warc.gz" --queries "$WEB/queries.tsv" \
    --out "$T/w" --cap $CAP --allow-net 127.0.0.1/32 --resolve "fixture.test:$PORT:127.0.0.1" \
    --host-delay 0 --per-host 8 --threads 2
}
expect 0 "" -- warc_crawl
"$BIN" shards dump "$T/w" >"$T/w.jsonl"
read -r n_w checked_w <<<"$(check_run "$T/w.jsonl" "$T/w/stats.json")" || fail "invariants of the warc crawl"
python3 -c 'import json,sys; s=json.load(open(sys.argv[1])); assert s["search"]["pages"]>0 and s["written"]==int(sys.argv[2])' \
  "$T/w/stats.json" "$n_w" || fail "warc stats"
grep -q '"url":"http://fixture.test:'"$PORT"'/' "$T/w.jsonl" || fail "warc pairs do not keep the WARC's URLs"
expect 0 "" -- warc_crawl
python3 -c 'import json,sys; s=json.load(open(sys.argv[1])); assert s["written"]==0 and s["candidates"]==0, s' \
  "$T/w/stats.json" || fail "a warc re-run did work again"
ok

# ---- the web source: the site's root as the seed, robots obeyed -------------------------------
printf '# the fixture site\n%s/\n' "$URL" >"$T/seeds.txt"
web_crawl() {
  "$BIN" --quiet crawl --source web --seeds "$T/seeds.txt" --depth 2 --max-pages 1000 \
    --queries "$WEB/queries.tsv" --out "$T/web" --cap $CAP --allow-net 127.0.0.1/32 \
    --host-delay 0 --per-host 8 --threads 2
}
expect 0 "" -- web_crawl
"$BIN" shards dump "$T/web" >"$T/web.jsonl"
read -r n_web checked_web <<<"$(check_run "$T/web.jsonl" "$T/web/stats.json")" ||
  fail "invariants of the web crawl"
# Pages under /private/ and /drafts/ are never fetched (robots.txt).
if grep -qE '"page_url":"[^"]*/(private|drafts)/' "$T/web.jsonl"; then fail "a disallowed page"; fi
if grep -qE 'GET /(private|drafts)/' "$WEB/.nginx/access.log"; then fail "fetched a disallowed URL"; fi
python3 -c 'import json,sys; s=json.load(open(sys.argv[1])); assert s["search"]["pages"]>10 and s["units"]["done"]==1, s' \
  "$T/web/stats.json" || fail "web stats"
expect 0 "" -- web_crawl
python3 -c 'import json,sys; s=json.load(open(sys.argv[1])); assert s["written"]==0, s' \
  "$T/web/stats.json" || fail "a web re-run wrote pairs"
ok

# ---- WAT input: the site's WAT metadata records (image links with alt text) ---------------------
wat_crawl() { # wat_crawl OUT [flags...]
  local out=$1; shift
  "$BIN" --quiet crawl --source warc --warc "$WEB/warc/site.wat.gz" --queries "$WEB/queries.tsv" \
    --out "$out" --allow-net 127.0.0.1/32 --resolve "fixture.test:$PORT:127.0.0.1" \
    --host-delay 0 --per-host 8 --threads 2 "$@"
}
expect 0 "" -- wat_crawl "$T/wat" --cap $CAP
"$BIN" shards dump "$T/wat" >"$T/wat.jsonl"
read -r n_wat checked_wat <<<"$(check_run "$T/wat.jsonl" "$T/wat/stats.json" alt)" ||
  fail "invariants of the WAT crawl"
python3 - "$T/wat/stats.json" "$n_wat" <<'PY' || fail "WAT stats"
import json, sys
s = json.load(open(sys.argv[1])); w = s["search"]
assert s["written"] == int(sys.argv[2]) and s["written"] > 0, s["written"]
assert w["wat_records"] > 0 and w["wat_pages"] > 0 and w["pages"] == w["wat_pages"], w
assert w["wat_links"] >= w["wat_pairs"] == s["candidates"] > 0, w
assert w["warc_bad_records"] == 0, w
PY
grep -q '"url":"http://fixture.test:'"$PORT"'/' "$T/wat.jsonl" || fail "WAT pairs do not keep the WAT's URLs"
expect 0 "" -- wat_crawl "$T/wat" --cap $CAP
python3 -c 'import json,sys; s=json.load(open(sys.argv[1])); assert s["written"]==0 and s["candidates"]==0, s' \
  "$T/wat/stats.json" || fail "a WAT re-run did work again"
ok

# The WAT gives the alt pairs of the HTML: without caps that compete and without content dedupe
# (--dedupe none, the default cap of 20000), the WAT crawl stores exactly the records (image URL,
# caption, content hash) of the WARC crawl whose (path, caption) is an alt pair of the truth; the
# WARC crawl stores more (title and figcaption texts, which a WAT has no field for).
warc_all() { # warc_all OUT FILE
  "$BIN" --quiet crawl --source warc --warc "$2" --queries "$WEB/queries.tsv" --out "$1" \
    --dedupe none --allow-net 127.0.0.1/32 --resolve "fixture.test:$PORT:127.0.0.1" \
    --host-delay 0 --per-host 8 --threads 2
}
expect 0 "" -- warc_all "$T/eq-html" "$WEB/warc/site.warc.gz"
expect 0 "" -- warc_all "$T/eq-wat" "$WEB/warc/site.wat.gz"
"$BIN" shards dump "$T/eq-html" >"$T/eq-html.jsonl"
"$BIN" shards dump "$T/eq-wat" >"$T/eq-wat.jsonl"
cat >"$T/eq.py" <<'PY'
import json, sys
def rows(p):
    f = open(p); f.readline(); hdr = f.readline().rstrip("\n").split("\t")
    return [dict(zip(hdr, l.rstrip("\n").split("\t"))) for l in f]
alt = {(p["path"], p["text"]) for p in rows(sys.argv[3]) if p["text_source"] == "alt"}
load = lambda p: [(r["url"], r["caption"], r["content_hash"]) for r in map(json.loads, open(p))]
html, wat = load(sys.argv[1]), load(sys.argv[2])
assert len(wat) == len(set(wat)), "WAT: a record twice"
path = lambda u: "/" + u.split("/", 3)[3]
html_alt = {x for x in html if (path(x[0]), x[1]) in alt}
assert wat, "the WAT crawl stored nothing"
assert len(html_alt) < len(html), "the HTML crawl stored no title or figcaption pair"
assert set(wat) == html_alt, "only WAT: %s / only HTML (alt): %s" % (
    sorted(set(wat) - html_alt)[:3], sorted(html_alt - set(wat))[:3])
print(len(wat), len(html))
PY
read -r n_eq n_eq_html <<<"$(python3 "$T/eq.py" "$T/eq-html.jsonl" "$T/eq-wat.jsonl" "$WEB/truth/pairs.tsv")" ||
  fail "the WAT crawl's pairs differ from the WARC crawl's alt pairs"
[ "${n_eq:-0}" -gt 0 ] || fail "WAT comparison printed nothing"
ok

# ---- the web source resumes its frontier: kill -9 mid-walk, restart ---------------------------
# HTML page requests (paths ending in .html or /) in nginx's log, before and after each run. A
# clean walk fetches C pages; a walk killed after about C/2 pages and restarted must not start
# over (the frontier and the visited set are in state.lmdb with the cursor): together at most
# C + 2 (the page in flight at the kill is fetched again), and fewer than 2 C in any case.
html_gets() { awk '$5 ~ /(\.html|\/)$/' "$WEB/.nginx/access.log" | wc -l; }
WSLOW=(--parallel-queries 1 --host-delay 0.01 --per-host 1 --concurrency 4)
web_slow() { # web_slow OUT [flags...]
  local out=$1; shift
  "$BIN" --quiet crawl --source web --seeds "$T/seeds.txt" --depth 2 --max-pages 1000 \
    --queries "$WEB/queries.tsv" --out "$out" --cap $CAP --allow-net 127.0.0.1/32 --threads 2 \
    "${WSLOW[@]}" "$@"
}
g0=$(html_gets)
expect 0 "" -- web_slow "$T/wr"
g1=$(html_gets)
clean=$((g1 - g0))
[ "$clean" -ge 10 ] || fail "the clean web walk fetched only $clean pages"
"$BIN" --quiet crawl --source web --seeds "$T/seeds.txt" --depth 2 --max-pages 1000 \
  --queries "$WEB/queries.tsv" --out "$T/wk" --cap $CAP --allow-net 127.0.0.1/32 --threads 2 \
  "${WSLOW[@]}" >/dev/null 2>&1 &
pid=$! # the binary itself, so that kill -9 hits it
for _ in $(seq 1 500); do # until about half the pages are fetched
  [ $(($(html_gets) - g1)) -ge $((clean / 2)) ] && break
  sleep 0.02
done
exec 3>&2 2>/dev/null # no "Killed" line from bash
kill -9 "$pid" || { exec 2>&3; fail "the web crawl ended before it could be killed"; }
wait "$pid" || true
exec 2>&3 3>&-
g2=$(html_gets)
killed=$((g2 - g1))
expect 0 "" -- web_slow "$T/wk"
g3=$(html_gets)
resumed=$((g3 - g2))
{ [ "$killed" -ge 3 ] && [ "$killed" -lt "$clean" ]; } || fail "killed after $killed of $clean pages"
[ $((killed + resumed)) -lt $((2 * clean)) ] ||
  fail "killed + resumed fetched $((killed + resumed)) pages, a clean walk $clean: it started over"
[ $((killed + resumed)) -le $((clean + 2)) ] ||
  fail "killed ($killed) + resumed ($resumed) pages > clean ($clean) + 2"
python3 -c 'import json,sys; s=json.load(open(sys.argv[1])); assert s["search"]["frontier_resumed"]>0 and s["units"]["done"]==1, s["search"]' \
  "$T/wk/stats.json" || fail "the resumed web crawl did not load its frontier"
"$BIN" shards dump "$T/wr" >"$T/wr.jsonl"
"$BIN" shards dump "$T/wk" >"$T/wk.jsonl"
check_run "$T/wk.jsonl" "$T/wk/stats.json" >/dev/null || fail "invariants after a web kill -9 and restart"
cat >"$T/same.py" <<'PY'
import json, sys
a = {(r["caption"], r["content_hash"], r["query_id"]) for r in map(json.loads, open(sys.argv[1]))}
b = [(r["caption"], r["content_hash"], r["query_id"]) for r in map(json.loads, open(sys.argv[2]))]
assert len(b) == len(set(b)), "duplicates after restart"
assert a == set(b), "only clean: %s / only restarted: %s" % (sorted(a - set(b))[:3], sorted(set(b) - a)[:3])
PY
python3 "$T/same.py" "$T/wr.jsonl" "$T/wk.jsonl" || fail "web kill -9 + restart differs from a clean walk"
# A rebuilt state has no frontier; the units are new again and walk from the seed, and every
# pair found is already in the shards (nothing written).
mv "$T/wk/state.lmdb" "$T/wk-state.lmdb"
expect 0 "" -- web_slow "$T/wk" --rebuild-state
python3 -c 'import json,sys; s=json.load(open(sys.argv[1])); assert s["written"]==0 and s["candidates"]>0 and s["search"]["frontier_resumed"]==0, s' \
  "$T/wk/stats.json" || fail "a web crawl on a rebuilt state wrote pairs"
ok

echo "test_crawl: $checks checks passed (search: $n_a pairs, $checked queries below the cap checked; warc: $n_w pairs, $checked_w; web: $n_web pairs, $checked_web; WAT: $n_wat pairs, $checked_wat, $n_eq = the alt part of $n_eq_html; web resume: $killed + $resumed pages, clean $clean)"
