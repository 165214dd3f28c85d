#!/usr/bin/env bash
# The fixture web (tests/fixtures/mkweb.c, docs/FIXTURE_WEB.md): the same seed gives the same
# bytes whatever the thread count, another seed another web; the ground truth agrees with itself;
# nginx (tests/fixtures/serve.sh) serves exactly the files, redirects, 404s, robots.txt and the
# search API the truth describes (fetched with curl's command-line tool, hashed with xxhsum); the
# WARC and WAT files parse record by record (tests/integration/warc_check.py).
# Usage: tests/integration/test_fixture_web.sh BUILD
. "$(dirname "$0")/lib.sh"
MKWEB=$(realpath "$BUILD/tools/mkweb")
SERVE=$(realpath "$(dirname "$0")/../fixtures/serve.sh")
CHECK=$(realpath "$(dirname "$0")/warc_check.py")
PY=/usr/bin/python3
W=$T/a
trap 'bash "$SERVE" stop "$W" >/dev/null 2>&1 || true; rm -rf "$T"' EXIT

# ---- options --------------------------------------------------------------------------------
expect 0 "" -- "$MKWEB" --help
grep -q "usage: mkweb --out DIR" "$T/out" || fail "--help"
expect 2 "--out DIR is required" -- "$MKWEB" --pairs 10
expect 2 "--pairs" -- "$MKWEB" --out "$T/x" --pairs 0
expect 2 "--pairs needs a number" -- "$MKWEB" --out "$T/x" --pairs 12abc
expect 2 "--wrong-rate" -- "$MKWEB" --out "$T/x" --wrong-rate 1001
expect 2 "--warc-base" -- "$MKWEB" --out "$T/x" --warc-base ftp://x/
expect 2 "unknown or incomplete option '--frob'" -- "$MKWEB" --out "$T/x" --frob

# ---- determinism ------------------------------------------------------------------------------
expect 0 "" -- "$MKWEB" --out "$W" --pairs 200 --eval 40 --seed 7 --threads 2 --quiet
# A folder with an older web in it (and a stray file among its outputs): refused, then replaced.
mkdir -p "$T/b/site/img" "$T/b/truth"
echo stale >"$T/b/site/img/stale.jpg"
echo stale >"$T/b/truth/pairs.tsv"
expect 2 "is not empty" -- "$MKWEB" --out "$T/b" --pairs 200 --seed 7
expect 0 "" -- "$MKWEB" --out "$T/b" --pairs 200 --eval 40 --seed 7 --threads 1 --force --quiet
diff -r "$W" "$T/b" >/dev/null || fail "same seed, different bytes (threads 2 vs 1, --force)"
ok
expect 0 "" -- "$MKWEB" --out "$T/c" --pairs 200 --eval 40 --seed 8 --quiet
for f in truth/pairs.tsv truth/images.tsv site/index.html warc/site.warc.gz eval/labels.tsv; do
  cmp -s "$W/$f" "$T/c/$f" && fail "seed 7 and seed 8 give the same $f"
  ok
done
rm -rf "$T/b" "$T/c"
for f in site/index.html site/robots.txt site/sitemap.xml nginx-site.conf queries.tsv web.json \
  truth/pairs.tsv truth/images.tsv truth/groups.tsv truth/queries.tsv truth/urls.tsv \
  eval/labels.tsv eval/shapes.txt eval/colours.txt eval/combos.txt eval/held_out.txt \
  warc/site.warc.gz warc/site.wat.gz; do
  [ -s "$W/$f" ] || fail "$f missing or empty"
done
ok

# The query list is a clipcrawl query list.
expect 0 "" -- "$BIN" queries stats "$W/queries.tsv"
grep -qE "^user +[0-9]+ " "$T/out" || fail "queries stats: $(cat "$T/out")"

# ---- the truth agrees with itself --------------------------------------------------------------
n=$("$PY" - "$W" <<'EOF'
import json, os, sys
from collections import defaultdict
W = sys.argv[1]
n = 0
def ok(cond, msg):
    global n
    if not cond:
        sys.exit("truth: " + msg)
    n += 1
def tsv(name):
    lines = [l.rstrip("\n").split("\t") for l in open(os.path.join(W, name), encoding="utf-8")]
    ok(lines[0][0].startswith("# clipcrawl fixture"), name + ": header")
    head = lines[1]
    return [dict(zip(head, l)) for l in lines[2:]]
web = json.load(open(os.path.join(W, "web.json")))
pairs, images, groups = tsv("truth/pairs.tsv"), tsv("truth/images.tsv"), tsv("truth/groups.tsv")
queries = tsv("truth/queries.tsv")
ok(len(pairs) == 200 == web["pairs"] == web["counts"]["pairs"], "pair count")
ok(len(images) == web["counts"]["images"] and len(groups) == web["counts"]["groups"], "counts")
ok(sum(p["valid"] == "1" for p in pairs) == web["counts"]["valid_pairs"], "valid count")
img = {i["image"]: i for i in images}
for p in pairs:
    valid = p["valid"] == "1"
    want = (p["text_verdict"] == "ok" and p["image_verdict"] == "ok" and p["robots"] == "0"
            and p["final_type"].startswith("image/"))
    ok(valid == want, "pair %s: valid %s" % (p["pair"], p["valid"]))
    if p["image"] != "-":
        ok(img[p["image"]]["verdict"] == p["image_verdict"], "pair %s: verdict" % p["pair"])
        ok(p["final_path"] in img[p["image"]]["paths"].split(","), "pair %s: path" % p["pair"])
    ok(os.path.isfile(W + "/site" + p["final_path"]) == (p["image"] != "-"), "pair %s: file" % p["pair"])
    ok((p["robots"] == "1") == (p["page"].startswith(("/private/", "/drafts/"))
        or p["final_path"].startswith("/private/") or p["path"].startswith("/private/")),
       "pair %s: robots" % p["pair"])
# Every kind of junk is there.
kinds = {p["image_status"] for p in pairs}
for k in ("ok", "404", "redirect_loop"):
    ok(k in kinds, "no %s pair" % k)
ok(any(p["caption"] == "boilerplate" for p in pairs), "no boilerplate alt text")
ok({p["text_source"] for p in pairs} == {"alt", "title", "figcaption"}, "text sources")
ok({p["url_source"] for p in pairs} == {"src", "srcset", "data-src"}, "url sources")
ok({p["url_style"] for p in pairs} == {"relative", "root", "absolute", "protocol"}, "url styles")
ok(any(int(p["hops"]) >= 2 for p in pairs if p["image"] != "-") or web["junk"]["redirect_chains"] == 0, "chains")
# Duplicate groups are consistent: the valid pairs of a group match the same queries.
qs = defaultdict(set)
for p in pairs:
    if p["valid"] == "1":
        qs[p["group"]].add(p["query_ids"])
for g, s in qs.items():
    ok(len(s) == 1, "group %s: valid pairs match different queries %s" % (g, s))
# available = distinct groups with a valid pair matching the query; available_exact = distinct
# picture contents (xxh3) of them.
avail, exact = defaultdict(set), defaultdict(set)
for p in pairs:
    if p["valid"] == "1" and p["query_ids"] != "-":
        for q in p["query_ids"].split(","):
            avail[q].add(p["group"])
            exact[q].add(img[p["image"]]["xxh3"])
for q in queries:
    ok(int(q["available"]) == len(avail[q["id"]]), "query %s: available" % q["query"])
    ok(int(q["available_exact"]) == len(exact[q["id"]]), "query %s: available_exact" % q["query"])
    ok(int(q["available"]) <= int(q["available_exact"]) <= int(q["valid_pairs"]), "query %s: order" % q["query"])
ok(sum(int(q["available"]) > 0 for q in queries) > 20, "few queries with pairs")
# Near-duplicate guarantees over the pictures that pass the filters.
ph = [(i["group"], int(i["phash"], 16)) for i in images if i["phash"] != "-"]
for a in range(len(ph)):
    for b in range(a):
        d = bin(ph[a][1] ^ ph[b][1]).count("1")
        if ph[a][0] == ph[b][0]:
            ok(d <= web["near_duplicates"]["within_group_max_bits"], "group %s: %d bits" % (ph[a][0], d))
        elif d < web["near_duplicates"]["between_groups_min_bits"]:
            sys.exit("truth: groups %s and %s are %d bits apart" % (ph[a][0], ph[b][0], d))
n += 1
# The held-out set: 40 pictures, the 8 held-out combinations never on the web.
labels = [l.rstrip("\n").split("\t") for l in open(W + "/eval/labels.tsv")][2:]
ok(len(labels) == 40, "eval labels")
held = {l.strip() for l in open(W + "/eval/held_out.txt")}
ok(len(held) == 8, "held-out combos")
for l in labels:
    ok(os.path.isfile(W + "/eval/" + l[0]) and (l[3] in held) == (l[4] == "1"), "eval %s" % l[0])
for i in images:
    ok(i["colour"] + " " + i["shape"] not in held, "image %s is a held-out combination" % i["image"])
print(n)
EOF
) || fail "truth checks"
checks=$((checks + n))

# ---- served by nginx -------------------------------------------------------------------------------
URL=$(bash "$SERVE" start "$W") || fail "serve.sh start"
PORT=${URL##*:}
HOST=fixture.test:$PORT
ok
# Every URL of the truth (reached or not: robots.txt is advice) with one curl process, then the
# search API: every page of every query, both spellings of spaces, out-of-range pages.
mkdir -p "$T/got"
"$PY" - "$W" "$T" "$HOST" <<'EOF'
import sys
W, T, HOST = sys.argv[1:4]
with open(T + "/urls.cfg", "w") as cfg:
    i = 0
    for line in open(W + "/truth/urls.tsv", encoding="utf-8"):
        f = line.rstrip("\n").split("\t")
        if line.startswith("#") or f[0] == "path":
            continue
        print('url = "http://%s%s"\noutput = "%s/got/u%05d"' % (HOST, f[0], T, i), file=cfg)
        i += 1
with open(T + "/api.cfg", "w") as cfg:
    i = 0
    def add(q):
        global i
        print('url = "http://%s/api/search?%s"\noutput = "%s/got/a%05d"' % (HOST, q, T, i), file=cfg)
        i += 1
    for line in open(W + "/truth/queries.tsv", encoding="utf-8"):
        f = line.rstrip("\n").split("\t")
        if line.startswith("#") or f[0] == "id":
            continue
        q, n = f[1], int(f[6])
        pages = (n + 9) // 10
        for p in range(1, pages + 1):
            add("q=%s&page=%d" % (q.replace(" ", "+"), p))
        add("q=%s&page=%d" % (q.replace(" ", "%20"), 1))
        add("q=%s" % q.replace(" ", "+"))
        add("q=%s&page=%d" % (q.replace(" ", "+"), pages + 1))
    for q in ("q=no+such+query", "q=red&page=0", "q=red&page=abc", "q=..%2Fetc", "page=1"):
        add(q)
EOF
curl -s --resolve "$HOST:127.0.0.1" -K "$T/urls.cfg" \
  -w '%{http_code}\t%{content_type}\t%header{location}\n' >"$T/urls.out" || fail "curl urls"
curl -s --resolve "$HOST:127.0.0.1" -K "$T/api.cfg" -w '%{http_code}\t%{content_type}\n' \
  >"$T/api.out" || fail "curl api"
(cd "$T/got" && xxhsum -H3 u*) >"$T/xxh.out" 2>/dev/null || fail "xxhsum"
# A page fetched by address: absolute links point back at the address it was fetched from.
curl -s -o "$T/index.html" "$URL/pages/000/p000000.html" || fail "curl by address"
sed "s#//fixture.test/#//127.0.0.1:$PORT/#g" "$W/site/pages/000/p000000.html" | cmp -s - "$T/index.html" ||
  fail "page by address differs from the file with its host rewritten"
ok
grep -q "^Disallow: /private/$" "$T/got/u00000" && grep -q "^Sitemap: http://$HOST/sitemap.xml$" "$T/got/u00000" ||
  fail "robots.txt: $(cat "$T/got/u00000")"
ok

n=$("$PY" - "$W" "$T" "$HOST" <<'EOF'
import json, re, sys
from collections import defaultdict
W, T, HOST = sys.argv[1:4]
n = 0
def ok(cond, msg):
    global n
    if not cond:
        sys.exit("served: " + msg)
    n += 1
xxh = {}
for line in open(T + "/xxh.out"):
    m = re.match(r"^XXH3 \((u\d+)\) = ([0-9a-f]{16})$", line.strip())
    if m:
        xxh[m.group(1)] = m.group(2)
urls = [l.rstrip("\n").split("\t") for l in open(W + "/truth/urls.tsv", encoding="utf-8")][2:]
got = [l.rstrip("\n").split("\t") for l in open(T + "/urls.out")]
ok(len(got) == len(urls), "%d answers for %d URLs" % (len(got), len(urls)))
seen = defaultdict(int)
for i, (u, g) in enumerate(zip(urls, got)):
    path, status, ctype, loc, nbytes, h = u[0], u[1], u[2], u[3], u[4], u[5]
    name = "u%05d" % i
    ok(g[0] == status, "%s: status %s, truth %s" % (path, g[0], status))
    ok(g[1] == ctype, "%s: type %s, truth %s" % (path, g[1], ctype))
    seen[status] += 1
    if status == "200":
        body = open(T + "/got/" + name, "rb").read()
        want = open(W + "/site" + ("/index.html" if path == "/" else path), "rb").read()
        if ctype.startswith("text/") or ctype in ("application/xml", "application/json"):
            want = want.replace(b"//fixture.test/", ("//%s/" % HOST).encode())
            body_file = body.replace(("//%s/" % HOST).encode(), b"//fixture.test/")
            ok(len(body_file) == int(nbytes), "%s: %d bytes, truth %s" % (path, len(body_file), nbytes))
        else:
            ok(len(body) == int(nbytes) and xxh.get(name) == h,
               "%s: %d bytes xxh3 %s, truth %s %s" % (path, len(body), xxh.get(name), nbytes, h))
        ok(body == want, "%s: body differs from the file" % path)
    elif status in ("301", "302"):
        want = loc.replace("http://fixture.test", "http://" + HOST)
        ok(g[2] == want, "%s: Location %r, truth %r" % (path, g[2], want))
for s in ("200", "301", "302", "404"):
    ok(seen[s] > 0 or s == "302", "no %s answers" % s)
# .webp is image/webp; non-images under /dl/ are text/html
ok(any(u[0].endswith(".webp") and g[1] == "image/webp" for u, g in zip(urls, got)), "webp type")
ok(any(u[0].startswith("/dl/") and g[1] == "text/html" for u, g in zip(urls, got)) or
   not any(u[0].startswith("/dl/") for u in urls), "dl type")

# The search API against the truth: public pages' pairs matching each query.
pairs = [l.rstrip("\n").split("\t") for l in open(W + "/truth/pairs.tsv", encoding="utf-8")]
ph = pairs[1]
pairs = [dict(zip(ph, l)) for l in pairs[2:]]
want = defaultdict(set)
for p in pairs:
    if p["query_ids"] != "-" and not p["page"].startswith(("/private/", "/drafts/")):
        for q in p["queries"].split(";"):
            want[q].add((p["path"], p["text"], p["page"]))
api = [l.rstrip("\n").split("\t") for l in open(T + "/api.out")]
base = "http://" + HOST
k = 0
def page(i):
    ok(api[i][0] == "200" and api[i][1] == "application/json", "api %d: %s" % (i, api[i]))
    return json.load(open(T + "/got/a%05d" % i, encoding="utf-8"))
for line in open(W + "/truth/queries.tsv", encoding="utf-8").readlines()[2:]:
    f = line.rstrip("\n").split("\t")
    q, total = f[1], int(f[6])
    pages = (total + 9) // 10
    have = set()
    first = None
    for pg in range(1, pages + 1):
        j = page(k)
        k += 1
        if pg == 1:
            first = j
        ok(j["query"] == q and j["page"] == pg and j["total"] == total and j["pages"] == pages,
           "api %s page %d: header %r" % (q, pg, {x: j[x] for x in ("query", "page", "total")}))
        ok((j["next"] is None) == (pg == pages), "api %s page %d: next %r" % (q, pg, j["next"]))
        if pg < pages:
            ok(j["next"] == "/api/search?q=%s&page=%d" % (q.replace(" ", "+"), pg + 1), "next link")
        ok(len(j["results"]) == (10 if pg < pages else total - 10 * (pages - 1)), "page size")
        for r in j["results"]:
            for key in ("image_url", "title", "description", "page_url", "width", "height", "rank"):
                ok(key in r, "api %s: result without %s" % (q, key))
            ok(r["image_url"].startswith(base + "/") and r["page_url"].startswith(base + "/"), "api urls")
            have.add((r["image_url"][len(base):], r["title"], r["page_url"][len(base):]))
    ok(len(have) == total and have == want.get(q, set()), "api %s: results differ from the truth" % q)
    if pages >= 2:
        ok(page(k - pages + 1)["results"] != first["results"], "api %s: page 2 = page 1" % q)
    pct, bare, beyond = page(k), page(k + 1), page(k + 2)
    k += 3
    if pages:
        ok(pct == first and bare == first, "api %s: %%20 or a missing page differ" % q)
    ok(beyond["results"] == [] and beyond["next"] is None, "api %s: past the last page" % q)
for _ in range(5):
    ok(page(k)["results"] == [], "api junk query %d answered" % k)
    k += 1
ok(k == len(api), "api answers")
print(n)
EOF
) || fail "served checks"
checks=$((checks + n))
bash "$SERVE" stop "$W" >/dev/null || fail "serve.sh stop"
ok

# ---- WARC and WAT ------------------------------------------------------------------------------
"$PY" "$CHECK" "$W/warc/site.warc.gz" --wat "$W/warc/site.wat.gz" --site "$W/site" \
  --urls "$W/truth/urls.tsv" >"$T/warc.out" || fail "warc_check"
n=$(sed -n 's/.* \([0-9]*\) checks$/\1/p' "$T/warc.out")
[ -n "$n" ] && [ "$n" -gt 1000 ] || fail "warc_check: $(cat "$T/warc.out")"
checks=$((checks + n))
# Another base URL: the same crawl under another name.
expect 0 "" -- "$MKWEB" --out "$T/d" --pairs 200 --eval 0 --seed 7 --warc-base http://example.org:8080 --quiet
"$PY" "$CHECK" "$T/d/warc/site.warc.gz" --wat "$T/d/warc/site.wat.gz" --site "$T/d/site" \
  --urls "$T/d/truth/urls.tsv" --base http://example.org:8080 >"$T/warc.out" || fail "warc_check --base"
ok
# A damaged WARC is caught: one byte of a block changed (digest), a member cut short.
"$PY" - "$W/warc/site.warc.gz" "$T/bad1.warc.gz" "$T/bad2.warc.gz" <<'EOF'
import gzip, sys, zlib
data = open(sys.argv[1], "rb").read()
members, pos = [], 0
while pos < len(data):
    d = zlib.decompressobj(wbits=31)
    raw = d.decompress(data[pos:])
    used = len(data) - pos - len(d.unused_data)
    members.append(raw)
    pos += used
raw = bytearray(members[2])
raw[-10] ^= 1  # inside the block of the first response
bad1 = b"".join(gzip.compress(bytes(m), mtime=0) for m in members[:2] + [bytes(raw)] + members[3:])
open(sys.argv[2], "wb").write(bad1)
open(sys.argv[3], "wb").write(data[: len(data) - 7])
EOF
if "$PY" "$CHECK" "$T/bad1.warc.gz" >/dev/null 2>&1; then fail "a changed block passed"; fi
if "$PY" "$CHECK" "$T/bad2.warc.gz" >/dev/null 2>&1; then fail "a truncated member passed"; fi
ok

echo "test_fixture_web: $checks checks passed"
