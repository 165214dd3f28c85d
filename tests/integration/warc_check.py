#!/usr/bin/python3
"""warc_check.py — checks a WARC file (and optionally its WAT) as the fixture web writes them.

Usage: warc_check.py WARC [--wat WAT] [--site DIR] [--urls URLS_TSV] [--base URL]

Stdlib only. For the WARC:
  - the file is a sequence of gzip members, each holding exactly one record;
  - each record: version line WARC/1.1, "Name: value" header lines, an empty line, a block of
    exactly Content-Length bytes, then CRLF CRLF; WARC-Type, WARC-Record-ID (<urn:uuid:…>),
    WARC-Date (YYYY-MM-DDThh:mm:ssZ) and Content-Length present; record ids unique;
  - WARC-Block-Digest (and WARC-Payload-Digest) equal the SHA-1 (base32) of the block (payload);
  - request and response records hold HTTP messages that parse; a response's Content-Length
    header equals its body's length; WARC-Concurrent-To links each request to its response;
  - with --site: every 200 response whose path is a file under DIR has the file's bytes as body
    (text bodies with "//fixture.test/" rewritten to the --base host);
  - with --urls (truth/urls.tsv): the responses are exactly the reached URLs, in order, with the
    truth's status and Location.
For the WAT: every member one record; metadata records carry JSON with Container, Envelope,
Payload-Metadata and HTTP-Response-Metadata; WARC-Refers-To names a response of the WARC, and
Container.Offset is that response's member offset; HTML responses have HTML-Metadata with Head
and Links entries that each have "path" and "url".
Prints "warc_check: N checks" and exits 0, or prints the first failure and exits 1.
"""
import base64
import hashlib
import json
import os
import re
import sys
import zlib

checks = 0


def fail(msg):
    print("warc_check: FAIL: " + msg, file=sys.stderr)
    sys.exit(1)


def check(cond, msg):
    global checks
    if not cond:
        fail(msg)
    checks += 1


def members(path):
    """Yields (offset, decompressed bytes) for each gzip member of the file."""
    data = open(path, "rb").read()
    pos = 0
    while pos < len(data):
        check(data[pos:pos + 2] == b"\x1f\x8b", "%s: no gzip member at offset %d" % (path, pos))
        d = zlib.decompressobj(wbits=31)
        try:
            out = d.decompress(data[pos:])
            out += d.flush()
        except zlib.error as e:
            fail("%s: member at %d: %s" % (path, pos, e))
        check(d.eof, "%s: member at %d is truncated" % (path, pos))
        used = len(data) - pos - len(d.unused_data)
        yield pos, out
        pos += used


DATE = re.compile(rb"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
UUID = re.compile(rb"^<urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}>$")


def sha1_label(b):
    return "sha1:" + base64.b32encode(hashlib.sha1(b).digest()).decode()


def parse_record(raw, where):
    """One record from one member: (headers dict, block)."""
    head_end = raw.find(b"\r\n\r\n")
    check(head_end > 0, "%s: no end of header" % where)
    lines = raw[:head_end].split(b"\r\n")
    check(lines[0] == b"WARC/1.1", "%s: version line %r" % (where, lines[0][:20]))
    h = {}
    for line in lines[1:]:
        m = re.match(rb"^([A-Za-z0-9-]+): (.*)$", line)
        check(m is not None, "%s: bad header line %r" % (where, line[:80]))
        h[m.group(1).decode().lower()] = m.group(2)
    for need in ("warc-type", "warc-record-id", "warc-date", "content-length"):
        check(need in h, "%s: no %s" % (where, need))
    check(DATE.match(h["warc-date"]) is not None, "%s: WARC-Date %r" % (where, h["warc-date"]))
    check(UUID.match(h["warc-record-id"]) is not None, "%s: record id %r" % (where, h["warc-record-id"]))
    check(h["content-length"].isdigit(), "%s: Content-Length %r" % (where, h["content-length"]))
    n = int(h["content-length"])
    block = raw[head_end + 4:head_end + 4 + n]
    check(len(block) == n, "%s: block has %d bytes, Content-Length says %d" % (where, len(block), n))
    check(raw[head_end + 4 + n:] == b"\r\n\r\n",
          "%s: after the block: %r (one record per member, CRLF CRLF)" % (where, raw[head_end + 4 + n:][:20]))
    if "warc-block-digest" in h:
        check(h["warc-block-digest"].decode() == sha1_label(block), "%s: block digest" % where)
    return h, block


def parse_http(block, where):
    end = block.find(b"\r\n\r\n")
    check(end > 0, "%s: HTTP message without an end of header" % where)
    lines = block[:end].split(b"\r\n")
    hh = {}
    for line in lines[1:]:
        m = re.match(rb"^([A-Za-z0-9-]+): (.*)$", line)
        check(m is not None, "%s: bad HTTP header %r" % (where, line[:80]))
        hh[m.group(1).decode().lower()] = m.group(2).decode()
    return lines[0].decode(), hh, block[end + 4:]


def main():
    args = sys.argv[1:]
    if not args or args[0].startswith("-"):
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    warc = args[0]
    opts = {}
    i = 1
    while i < len(args):
        if args[i] in ("--wat", "--site", "--urls", "--base") and i + 1 < len(args):
            opts[args[i]] = args[i + 1]
            i += 2
        else:
            fail("unknown argument %s" % args[i])
    base = opts.get("--base", "http://fixture.test")
    host = base.split("://", 1)[1]

    ids = set()
    responses = {}  # record id -> (offset, target, status)
    order = []  # (path, status, location) of responses
    concurrent = {}
    nrec = 0
    types = {}
    for off, raw in members(warc):
        where = "%s@%d" % (os.path.basename(warc), off)
        h, block = parse_record(raw, where)
        nrec += 1
        t = h["warc-type"].decode()
        types[t] = types.get(t, 0) + 1
        rid = h["warc-record-id"]
        check(rid not in ids, "%s: duplicate record id" % where)
        ids.add(rid)
        if nrec == 1:
            check(t == "warcinfo", "%s: the first record is %s, not warcinfo" % (where, t))
            continue
        check(t in ("request", "response"), "%s: record type %s" % (where, t))
        target = h.get("warc-target-uri", b"").decode()
        check(target.startswith(base + "/"), "%s: target %r outside %s" % (where, target, base))
        path = target[len(base):]
        line, hh, body = parse_http(block, where)
        if t == "request":
            check(line == "GET %s HTTP/1.1" % path, "%s: request line %r" % (where, line))
            check(hh.get("host") == host, "%s: Host %r" % (where, hh.get("host")))
            concurrent[rid] = h.get("warc-concurrent-to")
            continue
        m = re.match(r"^HTTP/1\.1 (\d{3}) ", line)
        check(m is not None, "%s: status line %r" % (where, line))
        status = int(m.group(1))
        check(int(hh.get("content-length", "-1")) == len(body),
              "%s: HTTP Content-Length %s, body %d bytes" % (where, hh.get("content-length"), len(body)))
        check(h.get("warc-payload-digest", b"").decode() == sha1_label(body), "%s: payload digest" % where)
        req = h.get("warc-concurrent-to")
        check(req in concurrent and concurrent[req] == rid, "%s: request/response not linked" % where)
        responses[rid] = (off, target, status, hh.get("content-type", ""))
        order.append((path, status, hh.get("location", "-")))
        site = opts.get("--site")
        if site and status == 200:
            f = os.path.join(site, "index.html" if path == "/" else path.lstrip("/"))
            check(os.path.isfile(f), "%s: %s is not a site file" % (where, path))
            want = open(f, "rb").read()
            ct = hh.get("content-type", "")
            if ct.startswith("text/") or ct in ("application/xml", "application/json"):
                want = want.replace(b"//fixture.test/", ("//%s/" % host).encode())
            check(body == want, "%s: body of %s differs from the file" % (where, path))

    urls = opts.get("--urls")
    if urls:
        want = []
        for line in open(urls, encoding="utf-8"):
            if line.startswith("#") or line.startswith("path\t"):
                continue
            f = line.rstrip("\n").split("\t")
            if f[7] == "1":
                loc = f[3]
                if loc.startswith("http://fixture.test"):
                    loc = base + loc[len("http://fixture.test"):]
                want.append((f[0], int(f[1]), loc))
        check(len(want) == len(order), "%d responses, the truth reaches %d URLs" % (len(order), len(want)))
        for a, b in zip(order, want):
            check(a == b, "response %r, truth %r" % (a, b))

    nwat = 0
    wat = opts.get("--wat")
    if wat:
        first = True
        for off, raw in members(wat):
            where = "%s@%d" % (os.path.basename(wat), off)
            h, block = parse_record(raw, where)
            t = h["warc-type"].decode()
            if first:
                check(t == "warcinfo", "%s: the first record is %s" % (where, t))
                first = False
                continue
            nwat += 1
            check(t == "metadata", "%s: record type %s" % (where, t))
            check(h.get("content-type") == b"application/json", "%s: content type" % where)
            ref = h.get("warc-refers-to")
            check(ref in responses, "%s: WARC-Refers-To names no response" % where)
            try:
                j = json.loads(block)
            except ValueError as e:
                fail("%s: JSON: %s" % (where, e))
            roff, target, status, ctype = responses[ref]
            check(j["Container"]["Offset"] == str(roff), "%s: Container.Offset %s, response at %d"
                  % (where, j["Container"]["Offset"], roff))
            env = j["Envelope"]
            check(env["WARC-Header-Metadata"]["WARC-Target-URI"] == target, "%s: target" % where)
            hrm = env["Payload-Metadata"]["HTTP-Response-Metadata"]
            check(hrm["Response-Message"]["Status"] == str(status), "%s: status" % where)
            if status == 200 and ctype == "text/html":
                hm = hrm.get("HTML-Metadata")
                check(hm is not None and "Head" in hm and isinstance(hm.get("Links"), list),
                      "%s: no HTML-Metadata" % where)
                for link in hm["Links"]:
                    check("path" in link and "url" in link, "%s: link %r" % (where, link))
        check(nwat == len(responses), "%d WAT records for %d responses" % (nwat, len(responses)))
    print("warc_check: %d records (%s), %d WAT records, %d checks"
          % (nrec, ", ".join("%s %d" % kv for kv in sorted(types.items())), nwat, checks))


if __name__ == "__main__":
    main()
