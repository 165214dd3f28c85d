#!/usr/bin/env bash
# clipcrawl fetch against hostile servers on loopback: every outcome of crawler/fetch.h from a
# server that misbehaves on purpose (tests/integration/hostile_server.py), the SSRF guard with
# a listener on 127.0.0.2 that must never see a connection, robots.txt (5xx, 404, 600 KiB, tie
# and wildcard rules, a redirect), retries and Retry-After, memory on a gzip bomb and an endless
# body, --stats against the TSV, --out, exit statuses; then politeness against nginx
# (tests/fixtures/serve.sh): three hosts, five URLs each, --per-host 1 --host-delay 1, the gaps
# between one host's requests read from nginx's access log.
#
# The whole script runs in a private network namespace holding only loopback when the kernel
# allows one (unshare -n as root, unshare -rn otherwise): then nothing the engine does, right or
# wrong, can leave the machine, and a DNS lookup fails at once. Without one, the cases that a
# faulty engine could send off the machine (a redirect to 169.254.169.254, names that need DNS)
# are skipped or pinned to loopback with --resolve, and the script says so.
#
# A case whose outcome differs from the header's promise is reported as MISMATCH (all of them,
# with the command) and the script fails at the end.
# Usage: tests/integration/test_fetch.sh BUILD
set -euo pipefail
PY=/usr/bin/python3
if [ -z "${CC_FETCH_NETNS:-}" ]; then
  # lo is down in a new namespace; bring it up with an ioctl (no iproute2 needed).
  LO_UP='import fcntl, socket, struct
s = socket.socket()
ifr = fcntl.ioctl(s, 0x8913, struct.pack("16sH14s", b"lo", 0, b""))  # SIOCGIFFLAGS
flags = struct.unpack("16sH14s", ifr)[1]
fcntl.ioctl(s, 0x8914, struct.pack("16sH14s", b"lo", flags | 1, b""))  # SIOCSIFFLAGS, IFF_UP'
  for how in "-n" "-rn"; do
    if unshare "$how" "$PY" -c "$LO_UP" 2>/dev/null; then
      export CC_FETCH_NETNS=1
      # shellcheck disable=SC2016
      exec unshare "$how" bash -c '"$0" -c "$1" && exec bash "$2" "${@:3}"' \
        "$PY" "$LO_UP" "$0" "$@"
    fi
  done
  export CC_FETCH_NETNS=0
fi

# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
HERE=$(cd "$(dirname "$0")" && pwd)
SERVE=$HERE/../fixtures/serve.sh
ISOLATED=$CC_FETCH_NETNS
[ "$ISOLATED" = 1 ] || echo "test_fetch: no private network namespace; skipping the cases that" \
  "need one (169.254.169.254, DNS)" >&2

HPID=
NGDIR=
cleanup() {
  # CC_TEST_KEEP=DIR keeps the run's files (lists, TSVs, logs) for a look afterwards.
  [ -n "${CC_TEST_KEEP:-}" ] && mkdir -p "$CC_TEST_KEEP" && cp -r "$T/." "$CC_TEST_KEEP/"
  [ -n "$HPID" ] && kill "$HPID" 2>/dev/null
  [ -n "$NGDIR" ] && bash "$SERVE" stop "$NGDIR" >/dev/null 2>&1
  rm -rf "$T"
}
trap cleanup EXIT

mismatches=0
CURRENT_CMD=
SHOWN=
mismatch() { # prints the command of the run once, before its first mismatch
  mismatches=$((mismatches + 1))
  [ "$SHOWN" = "$CURRENT_CMD" ] || printf 'command: %s\n' "$CURRENT_CMD" >&2
  SHOWN=$CURRENT_CMD
  printf 'MISMATCH: %s\n' "$*" >&2
}

# watched NAME CMD...: runs CMD (stdin from the caller) with stdout in $T/NAME.tsv and stderr in
# $T/NAME.err under a watchdog that kills it past 1 GiB of RSS or after LIMIT_S seconds (default
# 60; an engine that ignores a limit or hangs must not take the machine or the suite with it);
# $T/NAME.rss gets "PEAK_KIB REASON". Returns CMD's status, 125 when killed.
WATCH='import os, signal, sys, time
rss_file, limit, argv = sys.argv[1], float(sys.argv[2]), sys.argv[3:]
pid = os.fork()
if pid == 0:
    os.execv(argv[0], argv)
t0, why = time.time(), ""
while True:
    done, st, ru = os.wait4(pid, os.WNOHANG)
    if done:
        break
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:") and int(line.split()[1]) > 1 << 20:
                    why = "RSS over 1 GiB"
    except OSError:
        pass
    if time.time() - t0 > limit:
        why = "still running after %g s" % limit
    if why:
        os.kill(pid, signal.SIGKILL)
        _, st, ru = os.wait4(pid, 0)
        sys.stderr.write("watchdog: killed %s: %s\n" % (argv[0], why))
        break
    time.sleep(0.02)
with open(rss_file, "w") as f:
    f.write("%d %s\n" % (ru.ru_maxrss, why))
sys.exit(125 if why else os.waitstatus_to_exitcode(st))'
watched() {
  local name=$1
  shift
  "$PY" -c "$WATCH" "$T/$name.rss" "${LIMIT_S:-60}" "$@" >"$T/$name.tsv" 2>"$T/$name.err"
}

# ---- the hostile server (also on 127.0.0.2, which nothing may reach) ----------------------------
"$PY" "$HERE/hostile_server.py" --port-file "$T/port" --also 127.0.0.2 --log "$T/hostile.log" \
  >/dev/null 2>"$T/hostile.err" &
HPID=$!
for _ in $(seq 100); do
  [ -s "$T/port" ] && break
  kill -0 "$HPID" 2>/dev/null || { cat "$T/hostile.err" >&2; fail "hostile server died"; }
  sleep 0.05
done
[ -s "$T/port" ] || fail "hostile server did not start"
P=$(cat "$T/port")
# A port where nothing listens (bound once, then released).
CLOSED=$("$PY" -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])')

# fetch NAME ARGS...: clipcrawl fetch with the test's flags and ARGS; stdout in $T/NAME.tsv,
# stderr in $T/NAME.err; any status but 0 is a mismatch.
BASE=(--allow-net 127.0.0.1/32 --timeout 3 --connect-timeout 2 --low-speed 100
  --low-speed-time 2 --backoff 0.2 --retries 2 --host-delay 0 --per-host 4)
fetch() {
  local name=$1 rc=0
  shift
  CURRENT_CMD="$BIN fetch ${BASE[*]} $*"
  watched "$name" "$BIN" fetch "${BASE[@]}" "$@" || rc=$?
  if [ "$rc" -eq 125 ]; then
    mismatch "fetch $name killed by the watchdog ($(cut -d' ' -f2- "$T/$name.rss")): the lines" \
      "of URLs still pending, and any it had not flushed, are missing"
  elif [ "$rc" -ne 0 ]; then
    tail -n 20 "$T/$name.err" | sed 's/^/  | /' >&2
    mismatch "fetch $name exited $rc, expected 0"
  fi
  TSV=$T/$name.tsv
}

# want TAG OUTCOME [st=N] [bytes=N] [att=N] [red=N] [final=SUFFIX]: the one line of $TSV whose
# URL's host is TAG.test (TAG itself when it has a dot) must have OUTCOME and these fields.
want() {
  local tag=$1 outcome=$2 line n kv k v got host
  shift 2
  host=$tag
  [[ $tag == *.* ]] || host=$tag.test
  line=$(awk -F'\t' -v h="$host" '{ split($7, a, "/"); split(a[3], b, ":");
    if (tolower(b[1]) == h) print }' "$TSV")
  n=$(printf '%s' "$line" | grep -c '^' || true)
  if [ "$n" -ne 1 ]; then
    mismatch "$tag: $n output lines for host $host, expected 1"
    return
  fi
  local o st bytes att red final
  IFS=$'\t' read -r o st bytes att red _ _ final _ <<<"$line"
  local bad=""
  [ "$o" = "$outcome" ] || bad="outcome"
  for kv; do
    k=${kv%%=*} v=${kv#*=}
    case $k in
    st) got=$st ;;
    bytes) got=$bytes ;;
    att) got=$att ;;
    red) got=$red ;;
    final)
      [[ $final == *"$v" ]] || bad="$bad final_url"
      continue
      ;;
    *) fail "want: unknown field $k" ;;
    esac
    [ "$got" = "$v" ] || bad="$bad $k"
  done
  if [ -n "$bad" ]; then
    mismatch "$tag: expected $outcome${*:+ ($*)}; got ($bad differ): $line"
  else
    ok
  fi
}

# log_times PATTERN: the times of the hostile log's request lines holding PATTERN
log_times() { grep -F -- "$1" "$T/hostile.log" | awk '$2 == "req" { print $1 }'; }
# gaps_at_least SECONDS TIMES...: every gap between consecutive times is at least SECONDS
gaps_at_least() {
  local min=$1
  shift
  "$PY" -c 'import sys
m = float(sys.argv[1]); t = [float(x) for x in sys.argv[2:]]
sys.exit(0 if all(b - a >= m for a, b in zip(t, t[1:])) else 1)' "$min" "$@"
}
enc() { "$PY" -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1], safe=""))' "$1"; }

# ---- usage and exit statuses ---------------------------------------------------------------------
expect 0 "" -- "$BIN" fetch --help
expect 2 "" -- "$BIN" fetch --no-such-option
expect 2 "" -- "$BIN" fetch --kind video "http://127.0.0.1:$P/ok/1.jpg"
expect 1 "" -- "$BIN" fetch --allow-net 127.0.0.1/32 --urls "$T/no-such-list.txt"

# ---- the main batch: one host name per case, all pinned to the hostile server -------------------
# CASES: TAG PATH-AND-QUERY OUTCOME [FIELD=VALUE...]; one line each, in parallel in one run.
H=http://127.0.0.1:$P
CASES=(
  "okimg /ok/1.jpg ok st=200 bytes=2000 att=1 red=0"
  "okpng /ok/a.png?size=30000 ok st=200 bytes=30000"
  "slowbody /slow-body?rate=10 too_slow"
  "endless /endless too_large"
  "bomb /gzip-bomb too_large"
  "bombch /gzip-bomb?chunked=1 too_large"
  "biglen /big?len=3000000 too_large"
  "badgzip /bad-gzip protocol"
  "garbage /garbage protocol"
  "cllong /cl-long truncated"
  "clshort /cl-short ok bytes=100"
  "http10 /http10 ok st=200 bytes=3000"
  "chunked /chunked ok st=200 bytes=5000"
  "loop /redirect-loop redirect_loop"
  "chain3 /redirect-chain/3 ok red=3 bytes=2000 final=/redirect-chain/0"
  "chain5 /redirect-chain/5 ok red=5 final=/redirect-chain/0"
  "chain6 /redirect-chain/6 too_many_redirects"
  "rdrel /redirect-to?u=$(enc ../ok/rel.jpg) ok red=1 final=/ok/rel.jpg"
  "ssrf2 /redirect-to?u=$(enc "http://127.0.0.2:$P/ok/x.jpg") ssrf_blocked"
  "ssrfdec /redirect-to?u=$(enc "http://2130706434:$P/ok/x.jpg") ssrf_blocked"
  "ssrfhex /redirect-to?u=$(enc "http://0x7f.0.0.2:$P/ok/x.jpg") ssrf_blocked"
  "ssrfoct /redirect-to?u=$(enc "http://0177.0.0.2:$P/ok/x.jpg") ssrf_blocked"
  "ssrfshort /redirect-to?u=$(enc "http://127.2:$P/ok/x.jpg") ssrf_blocked"
  "ssrfzero /redirect-to?u=$(enc "http://0.0.0.0:$P/ok/x.jpg") ssrf_blocked"
  "ssrfv6 /redirect-to?u=$(enc "http://[::ffff:127.0.0.2]:$P/ok/x.jpg") ssrf_blocked"
  "ssrf8080 /redirect-to?u=$(enc "http://www.example.com:8080/a.jpg") ssrf_blocked red=1"
  "once /429-once?id=a ok att=2"
  "r429 /429 http_429 st=429 att=3"
  "r429n /429-noretry http_429 st=429 att=3"
  "burst2 /503-burst?id=b&n=2 ok att=3"
  "burst3 /503-burst?id=c&n=3 http_5xx st=503 att=3"
  "s500 /status/500 http_5xx st=500 att=3"
  "s404 /status/404 http_404 st=404 att=1"
  "s410 /status/410 http_404 st=410 att=1"
  "s403 /status/403 http_4xx st=403 att=1"
  "s304 /status/304 http_3xx st=304"
  "s302 /status/302 http_3xx st=302"
  "reset /reset conn_reset"
  "resetb /reset-before conn_reset"
  "empty /empty conn_reset"
  "htmlimg /html-as-image.jpg bad_content_type"
  "ctplain /ctype?t=text/plain bad_content_type"
  "ctoctet /ctype?t=application/octet-stream ok"
  "ctnone /ctype ok"
  "noai /noai.jpg x_robots_tag"
  "xrours /xrobots?v=$(enc 'clipcrawl: noimageai') x_robots_tag"
  "xrnone /xrobots?v=none x_robots_tag"
  "xrnoidx /xrobots?v=$(enc 'noindex, nofollow') x_robots_tag"
  "xrother /xrobots?v=$(enc 'otherbot: noai') ok"
  "xrfollow /xrobots?v=nofollow ok"
  "denied /denied/x.jpg robots_denied att=0"
  "robots5xx /ok/a.jpg robots_unavailable att=0"
  "robots404 /ok/a.jpg ok"
  "robotsbig-a /ok/before-cut.jpg robots_denied"
  "robotsbig-b /ok/after-cut.jpg ok"
  "robotsrules-1 /ok/page.png ok"
  "robotsrules-2 /ok/page.jpg robots_denied"
  "robotsrules-3 /ok/page.jpg?x=1 ok"
  "robotsrules-4 /ok/tie.png ok"
  "robotsrules-5 /ok/dir/a.png robots_denied"
  "robotsrules-6 /ok/dir/open/a.png ok"
  "robotsrules-7 /ok/other.png ok"
)
[ "$ISOLATED" = 1 ] && CASES+=(
  "ssrfmeta /redirect-to?u=$(enc http://169.254.169.254/latest/meta-data/) ssrf_blocked"
)
UA="cctest/1.0 (+hostile test)"
ARGS=(--max-image-bytes 2M --user-agent "$UA" --stats "$T/main.json" --out "$T/saved"
  --urls "$T/main.list")
# With an allowed network, a name on port 8080 may resolve into it: the guard decides at connect
# time, so the name is pinned (to an address it refuses). Before DNS: see the run without one.
ARGS+=(--resolve "www.example.com:8080:127.0.0.2")
printf '# the main batch\n\n' >"$T/main.list"
for c in "${CASES[@]}"; do
  read -r tag path _ <<<"$c"
  ARGS+=(--resolve "$tag.test:$P:127.0.0.1")
  printf 'http://%s.test:%s%s\n' "$tag" "$P" "$path" >>"$T/main.list"
done
# Direct URLs the guard must refuse, a closed port, and a name that does not resolve.
printf 'http://direct2.test:%s/ok/d.jpg\n' "$P" >>"$T/main.list"
ARGS+=(--resolve "direct2.test:$P:127.0.0.2")
printf 'http://[::1]:%s/ok/d.jpg\nhttp://0x7f000002:%s/ok/d.jpg\n' "$P" "$P" >>"$T/main.list"
printf 'http://closed.test:%s/ok/c.jpg\n' "$CLOSED" >>"$T/main.list"
ARGS+=(--resolve "closed.test:$CLOSED:127.0.0.1")
[ "$ISOLATED" = 1 ] && printf 'http://nonexistent.invalid/ok/n.jpg\n' >>"$T/main.list"
# (robots.txt of these two fails like the URL would: a network error, retried, then every URL of
# the authority ends robots_unavailable; their own outcomes are checked with --no-robots below)
mkdir -p "$T/saved"
t0=$(date +%s.%N)
fetch main "${ARGS[@]}"
t1=$(date +%s.%N)

nurls=$(grep -vcE '^(#|$)' "$T/main.list")
[ "$(wc -l <"$TSV")" -eq "$nurls" ] || mismatch "main: $(wc -l <"$TSV") lines for $nurls URLs"
awk -F'\t' 'NF != 9 { exit 1 }' "$TSV" || mismatch "main: a line without 9 fields"
for c in "${CASES[@]}"; do
  read -r tag _ outcome fields <<<"$c"
  # shellcheck disable=SC2086
  want "$tag" "$outcome" $fields
done
want direct2 ssrf_blocked
want closed robots_unavailable att=0
[ "$ISOLATED" = 1 ] && want nonexistent.invalid robots_unavailable att=0
# [::1] and 0x7f000002 (no .test name): by the path, which only they share with direct2
o=$(awk -F'\t' '$7 ~ /\/ok\/d\.jpg$/ && $7 !~ /direct2/ { print $1 }' "$TSV" | sort | uniq -c |
  awk '{ print $1, $2 }')
[ "$o" = "2 ssrf_blocked" ] ||
  mismatch "[::1] and 0x7f000002: expected ssrf_blocked twice, got '$o'"
ok

# No packet to 127.0.0.2: not one connection on the listener there.
if grep -q ' conn 127\.0\.0\.2:' "$T/hostile.log"; then
  mismatch "connections reached 127.0.0.2: $(grep ' conn 127\.0\.0\.2:' "$T/hostile.log" | head -3)"
else ok; fi
# robots.txt decisions send nothing for the URL itself.
for pat in '"GET /denied/x.jpg' 'robots5xx.test:'"$P"' "GET /ok/' '"GET /ok/before-cut.jpg' \
  '"GET /ok/page.jpg ' '"GET /ok/dir/a.png'; do
  if grep -qF -- "$pat" "$T/hostile.log"; then
    mismatch "a denied URL was requested: $(grep -F -- "$pat" "$T/hostile.log" | head -1)"
  else ok; fi
done
# robots.txt 5xx is tried again before the authority gives up (at least twice in all).
n=$(grep -cF "robots5xx.test:$P \"GET /robots.txt" "$T/hostile.log" || true)
[ "$n" -ge 2 ] || mismatch "robots5xx: robots.txt requested $n times, expected at least 2"
ok
# The user agent we set, on every request (robots.txt included).
n=$(grep -c ' req 127\.0\.0\.1:' "$T/hostile.log")
m=$(grep -cF " $UA" "$T/hostile.log" || true)
{ [ "$n" -gt 0 ] && [ "$n" -eq "$m" ]; } || mismatch "user agent: $m of $n requests carry '$UA'"
ok
# Retry-After honoured: 1 s (429-once), 2 s (429); exponential back-off for a 500 (base 0.2 s,
# jitter at least 0.5).
# shellcheck disable=SC2046
gaps_at_least 0.95 $(log_times '"GET /429-once?id=a ') ||
  mismatch "429-once retried before Retry-After: 1"
# shellcheck disable=SC2046
gaps_at_least 1.95 $(log_times '"GET /429 ') ||
  mismatch "429 retried before Retry-After: 2"
# shellcheck disable=SC2046
gaps_at_least 0.09 $(log_times '"GET /status/500 ') || mismatch "500 retried without back-off"
ok

# --out: each ok body as OUT/<XXH3-64 of the submitted URL>.bin, nothing for the others.
nok=$(awk -F'\t' '$1 == "ok"' "$TSV" | wc -l)
nfiles=$(find "$T/saved" -type f | wc -l)
[ "$nfiles" -eq "$nok" ] || mismatch "--out: $nfiles files for $nok ok URLs"
url="http://okimg.test:$P/ok/1.jpg"
name=$("$PY" -c 'import sys, xxhash; print(xxhash.xxh3_64_hexdigest(sys.argv[1].encode()))' "$url")
"$PY" - "$T/saved/$name.bin" "$HERE/hostile_server.py" <<'EOF' ||
import importlib.util, sys
spec = importlib.util.spec_from_file_location("hostile", sys.argv[2])
h = importlib.util.module_from_spec(spec)
spec.loader.exec_module(h)
assert open(sys.argv[1], "rb").read() == h.IMAGE
EOF
  mismatch "--out: $T/saved/$name.bin missing or wrong"
ok

# --stats: JSON with every outcome name, counts equal to the TSV's.
"$PY" - "$T/main.json" "$TSV" <<'EOF' || mismatch "--stats does not match the TSV"
import collections, json, sys
NAMES = """ok http_3xx http_4xx http_404 http_429 http_5xx timeout too_slow dns connect conn_reset
truncated tls protocol too_large bad_content_type x_robots_tag robots_denied robots_unavailable
ssrf_blocked bad_url redirect_loop too_many_redirects cancelled""".split()
try:
    s = json.load(open(sys.argv[1]))
except (OSError, ValueError) as e:
    sys.exit("stats: %s" % e)
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[2])]
tsv = collections.Counter(r[0] for r in rows)
errs = []
for k in ("submitted", "done", "requests", "retries", "redirects", "robots_fetched", "body_bytes",
          "hosts", "seconds", "outcomes"):
    if k not in s:
        errs.append("no %s" % k)
out = s.get("outcomes", {})
errs += ["outcome %s missing" % n for n in NAMES if n not in out]
errs += ["outcome %s: stats %s, TSV %d" % (n, out.get(n), tsv[n])
         for n in NAMES if out.get(n) != tsv[n]]
if s.get("submitted") != len(rows) or s.get("done") != len(rows):
    errs.append("submitted %s, done %s, %d lines" % (s.get("submitted"), s.get("done"), len(rows)))
ok_bytes = sum(int(r[2]) for r in rows if r[0] == "ok")
if not s.get("body_bytes", 0) >= ok_bytes:
    errs.append("body_bytes %s < %d in ok bodies" % (s.get("body_bytes"), ok_bytes))
if not s.get("redirects", 0) >= sum(int(r[4]) for r in rows):
    errs.append("redirects %s < the TSV's %d" % (s.get("redirects"), sum(int(r[4]) for r in rows)))
if not s.get("robots_fetched", 0) >= 1 or not s.get("requests", 0) > s.get("robots_fetched", 0):
    errs.append("requests %s, robots_fetched %s" % (s.get("requests"), s.get("robots_fetched")))
for e in errs:
    print("stats:", e, file=sys.stderr)
sys.exit(1 if errs else 0)
EOF
ok
grep -q . "$T/main.err" || mismatch "no summary on stderr"
ok
echo "test_fetch: main batch of $nurls URLs in $("$PY" -c "print(round($t1 - $t0, 1))") s" >&2

# ---- robots.txt behind a redirect (relative and absolute), followed --------------------------
LIMIT_S=20 fetch moved --resolve "robotsmoved-a.test:$P:127.0.0.1" \
  --resolve "robotsmoved-b.test:$P:127.0.0.1" --resolve "robotsmovedabs-a.test:$P:127.0.0.1" \
  "http://robotsmoved-a.test:$P/ok/moved-denied.jpg" "http://robotsmoved-b.test:$P/ok/fine.jpg" \
  "http://robotsmovedabs-a.test:$P/ok/moved-denied.jpg"
want robotsmoved-a robots_denied
want robotsmoved-b ok
want robotsmovedabs-a robots_denied
if grep -qF '"GET /ok/moved-denied.jpg' "$T/hostile.log"; then
  mismatch "a URL denied by a moved robots.txt was requested"
else ok; fi

# ---- refused connections and failed DNS, without robots.txt in the way --------------------------
NOROB=(--no-robots --resolve "closed.test:$CLOSED:127.0.0.1" "http://closed.test:$CLOSED/ok/c.jpg")
[ "$ISOLATED" = 1 ] && NOROB+=("http://nonexistent.invalid/ok/n.jpg")
fetch neterr "${NOROB[@]}"
want closed connect att=3
[ "$ISOLATED" = 1 ] && want nonexistent.invalid dns att=3

# ---- the default policy (no allowed network): a port off the allow-list is refused before DNS,
# and 127/8 stays refused on a port that is allowed ------------------------------------------------
# Nothing on port 8080 can be allowed, so the guard refuses the URL without resolving the name
# (in the private namespace an attempt to resolve would end dns). BASE is not used: no --allow-net.
PIN=()
[ "$ISOLATED" = 1 ] || PIN=(--resolve "www.example.com:8080:127.0.0.2")
DEF=(--retries 0 --host-delay 0 --allow-port "$P" --resolve "allowport.test:$P:127.0.0.1"
  "${PIN[@]}" "http://www.example.com:8080/a.jpg" "http://allowport.test:$P/ok/ap.jpg")
CURRENT_CMD="$BIN fetch ${DEF[*]}"
watched default "$BIN" fetch "${DEF[@]}" || mismatch "fetch default exited non-zero"
TSV=$T/default.tsv
want www.example.com ssrf_blocked att=0
want allowport ssrf_blocked att=0
if grep -qF "allowport.test:$P " "$T/hostile.log"; then
  mismatch "the default policy let a request through to 127.0.0.1"
else ok; fi

# ---- timeout alone: the low-speed window longer than the total timeout ---------------------------
fetch timeout --resolve "slowhead.test:$P:127.0.0.1" --timeout 2 --low-speed-time 10 --retries 1 \
  "http://slowhead.test:$P/slow-headers?s=30"
want slowhead timeout att=2

# ---- memory: the gzip bomb and the endless body at the default 32 MiB limit ---------------------
# Peak RSS under 100 MiB (400 MiB in a sanitizer build: shadow memory and the allocator's
# quarantine): 1 GiB inflated or an endless stream must not be held.
MAXRSS=100
grep -qa __asan_init "$BIN" && MAXRSS=400
fetch mem "$H/gzip-bomb" "$H/endless"
rss=$(cut -d' ' -f1 "$T/mem.rss")
[ "$rss" -lt $((MAXRSS * 1024)) ] ||
  mismatch "max RSS $rss KiB on a gzip bomb and an endless body, limit $MAXRSS MiB"
o=$(cut -f1 "$T/mem.tsv" | sort | tr '\n' ' ')
[ "$o" = "too_large too_large " ] || mismatch "memory run: outcomes '$o', expected too_large twice"
ok
echo "test_fetch: max RSS $((rss / 1024)) MiB on the gzip bomb and the endless body" >&2

# ---- bad URLs, read from stdin ------------------------------------------------------------------
# (A line longer than URL_MAX in a list file is a file error of the command, exit 1; a URL that
# long given as an argument is the engine's to refuse.)
printf '%s\n' "ftp://x.test/a.jpg" "not a url" "http://" "javascript:alert(1)" \
  "file:///etc/passwd" "http://exa mple.test/a.jpg" "http://[::1/a.jpg" >"$T/bad.list"
fetch bad --urls - "http://x.test/$(head -c 3000 /dev/zero | tr '\0' a)" <"$T/bad.list"
o=$(cut -f1 "$T/bad.tsv" | sort | uniq -c | awk '{ print $1, $2 }')
[ "$o" = "8 bad_url" ] ||
  mismatch "8 bad URLs gave: $(cut -f1,7 "$T/bad.tsv" | cut -c1-80 | tr '\n' ';')"
ok

# ---- kinds and the robots.txt product token ------------------------------------------------------
fetch html --kind html --resolve "khtml.test:$P:127.0.0.1" --resolve "kimg.test:$P:127.0.0.1" \
  "http://khtml.test:$P/html" "http://kimg.test:$P/ok/1.jpg"
want khtml ok bytes=1000
want kimg bad_content_type
fetch any --kind any --resolve "kany.test:$P:127.0.0.1" \
  "http://kany.test:$P/ctype?t=application/json"
want kany ok bytes=2000
fetch token --robots-token otherbot --resolve "robotsrules-8.test:$P:127.0.0.1" \
  "http://robotsrules-8.test:$P/ok/other.png"
want robotsrules-8 robots_denied
fetch norobots --no-robots --resolve "robots5xx-b.test:$P:127.0.0.1" \
  "http://robots5xx-b.test:$P/ok/a.jpg"
want robots5xx-b ok
grep -qF "robots5xx-b.test:$P \"GET /robots.txt" "$T/hostile.log" &&
  mismatch "--no-robots still fetched robots.txt"
ok
# Small images over --max-image-bytes, by Content-Length.
fetch limit --max-image-bytes 1K --resolve "lim.test:$P:127.0.0.1" "http://lim.test:$P/ok/1.jpg"
want lim too_large

# ---- politeness: nginx, three hosts, five URLs each, one at a time per host, 1 s apart ---------
NGDIR=$T/www
mkdir -p "$NGDIR"
printf 'User-agent: *\nAllow: /\n' >"$NGDIR/robots.txt"
for i in 1 2 3 4 5; do head -c $((3000 + i * 100)) /dev/urandom >"$NGDIR/f$i.jpg"; done
NG=$(bash "$SERVE" start "$NGDIR")
NP=${NG##*:}
: >"$T/pol.list"
for h in a b c; do
  for i in 1 2 3 4 5; do printf 'http://%s.test:%s/f%s.jpg\n' "$h" "$NP" "$i" >>"$T/pol.list"; done
done
mkdir -p "$T/pol-out"
t0=$(date +%s.%N)
CURRENT_CMD="$BIN fetch --per-host 1 --host-delay 1 --allow-net 127.0.0.1/32"
CURRENT_CMD+=" --resolve {a,b,c}.test:$NP:127.0.0.1 --urls pol.list --out pol-out"
rc=0
watched pol "$BIN" fetch --per-host 1 --host-delay 1 --allow-net 127.0.0.1/32 \
  --resolve "a.test:$NP:127.0.0.1" --resolve "b.test:$NP:127.0.0.1" \
  --resolve "c.test:$NP:127.0.0.1" --urls "$T/pol.list" --out "$T/pol-out" || rc=$?
t1=$(date +%s.%N)
[ "$rc" -eq 0 ] || mismatch "politeness run exited $rc: $(tail -n 3 "$T/pol.err")"
o=$(cut -f1 "$T/pol.tsv" | sort | uniq -c | awk '{ print $1, $2 }')
[ "$o" = "15 ok" ] || mismatch "politeness run: outcomes $(echo "$o" | tr '\n' ' '), expected 15 ok"
ok
# Every body saved, byte for byte.
while read -r u; do
  name=$("$PY" -c 'import sys, xxhash; print(xxhash.xxh3_64_hexdigest(sys.argv[1].encode()))' "$u")
  cmp -s "$T/pol-out/$name.bin" "$NGDIR/${u##*/}" || mismatch "--out: $u saved wrong or not at all"
done <"$T/pol.list"
ok
bash "$SERVE" stop "$NGDIR"
# The access log: per host, each request starts (end - request_time) at least 1 s (less 0.05 s)
# after the previous one ended; robots.txt first, once; 6 requests per host; the default UA.
"$PY" - "$NGDIR/.nginx/access.log" <<'EOF' || mismatch "politeness: see above"
import re, sys
LINE = re.compile(r'^(\S+) (\S+) (\S+) "([^"]*)" (\d+) (\d+) (\S+) (.*)$')
hosts, errs = {}, []
for line in open(sys.argv[1]):
    m = LINE.match(line.rstrip("\n"))
    if not m:
        errs.append("unparsed log line: " + line.strip())
        continue
    end, host, req, ua = float(m[1]), m[2], m[4], m[8]
    hosts.setdefault(host, []).append((end - float(m[7]), end, req, ua))
    if not ua.startswith("clipcrawl/"):
        errs.append("user agent %r" % ua)
if sorted(hosts) != ["a.test", "b.test", "c.test"]:
    errs.append("hosts %s" % sorted(hosts))
for host, reqs in sorted(hosts.items()):
    reqs.sort()
    paths = [r[2].split(" ")[1] for r in reqs]
    if paths[0] != "/robots.txt" or paths.count("/robots.txt") != 1 or len(paths) != 6:
        errs.append("%s: requests %s" % (host, paths))
    for prev, cur in zip(reqs, reqs[1:]):
        if cur[0] - prev[1] < 1.0 - 0.05:
            errs.append("%s: %s started %.3f s after %s ended"
                        % (host, cur[2], cur[0] - prev[1], prev[2]))
for e in errs:
    print("politeness:", e, file=sys.stderr)
sys.exit(1 if errs else 0)
EOF
ok
# Hosts in parallel: 5 gaps of 1 s per host, so about 5 s, not 15 (a sanity bound, not a speed
# test).
"$PY" -c "import sys
d = $t1 - $t0
print('test_fetch: politeness run %.1f s' % d, file=sys.stderr)
sys.exit(0 if 4.9 <= d < 12 else 1)" ||
  mismatch "politeness run took $("$PY" -c "print(round($t1 - $t0, 1))") s, expected 5-12 s"
ok

if [ "$mismatches" -gt 0 ]; then
  fail "$mismatches mismatch(es) with crawler/fetch.h and the command's contract ($checks checks)"
fi
echo "test_fetch: $checks checks passed"
