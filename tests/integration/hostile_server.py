#!/usr/bin/env python3
"""tests/integration/hostile_server.py — an HTTP/1.1 server that misbehaves on request, for
testing the crawler's fetch engine on loopback (stdlib asyncio only).

Usage: hostile_server.py [--bind 127.0.0.1] [--port 0] [--port-file F] [--also ADDR]... [--log F]
  Listens on BIND:PORT (port 0: any free port) and on each --also ADDR with the same port
  (e.g. --also 127.0.0.2: an address the crawler must never connect to; every accepted connection
  is logged with its local address, so a test can show that none happened). Prints the port on
  the first stdout line and, with --port-file, writes it there (atomically, once listening).
  Connections are keep-alive (HTTP/1.1) unless a path below says it closes.

Log (--log F; one line per event, flushed; TIME is time.time() with microseconds):
  TIME conn LOCAL_ADDR:PORT PEER_ADDR:PORT
  TIME req LOCAL_ADDR:PORT HOST "METHOD TARGET VERSION" USER-AGENT
  HOST is the Host header as sent ("-" when none); the user agent comes last and may hold spaces.

Paths (the query string selects variants; sizes in bytes):
  /ok/NAME            200, a 2,000-byte JPEG-looking payload (SOI ... EOI); Content-Type by NAME's
                      extension (.png image/png, .gif image/gif, .webp image/webp, else
                      image/jpeg); ?size=N sends N bytes instead (streamed).
  /html               200 text/html; charset=utf-8, a small page (1,000 bytes).
  /slow-headers       sleeps ?s=S seconds (default 30) before sending anything, then an image.
  /slow-body          Content-Length ?len=N (default 100,000), then ?rate=R bytes a second (default
                      10, in slices every 0.1 s).
  /endless            200 image/jpeg without Content-Length (Connection: close), then an endless
                      body as fast as the client reads it.
  /gzip-bomb          200 image/jpeg, Content-Encoding: gzip, 1,061,908 bytes that inflate to
                      1 GiB of zeros (a valid gzip member: CRC and size trailer); ?chunked=1 sends
                      it chunked, without Content-Length.
  /bad-gzip           200 image/jpeg, Content-Encoding: gzip, and a body that is not gzip.
  /cl-long            Content-Length: 10000, then 4,000 bytes, then the connection closes.
  /cl-short           Content-Length: 100, then 300 bytes, then the connection closes.
  /redirect-loop      302 to /redirect-loop-b, which 302s back to /redirect-loop.
  /redirect-chain/N   302 to /redirect-chain/N-1 (relative reference); /redirect-chain/0 is an
                      image. N hops then 200.
  /redirect-to?u=URL  302 (or ?code=301|303|307|308) with Location: URL, exactly as given.
  /429                429 with Retry-After: 2 (or ?ra=VALUE, e.g. an HTTP date), every time.
  /429-noretry        429 without Retry-After, every time.
  /429-once?id=X      429 with Retry-After: 1 (or ?ra=) the first time for id X, then the image.
  /503-burst?id=X&n=K 503 the first K times for id X (with Retry-After when ?ra= is given), then
                      the image.
  /reset              Content-Length: 100000, 5,000 bytes of body, then a TCP RST (SO_LINGER 0).
  /reset-before       a TCP RST right after the request, before any response byte.
  /empty              closes the connection after the request, without a response.
  /garbage            "THIS IS NOT HTTP" and a close: not an HTTP response at all.
  /html-as-image.jpg  200 text/html behind an image name.
  /ctype?t=TYPE       the image with Content-Type: TYPE (no Content-Type header when t is absent).
  /noai.jpg           the image with X-Robots-Tag: noai.
  /xrobots?v=V        the image with X-Robots-Tag: V (one header per v given).
  /http10             an HTTP/1.0 response: image/jpeg, no Content-Length, 3,000 bytes, close.
  /chunked            Transfer-Encoding: chunked, 5 chunks of 1,000 bytes (5,000 in all).
  /big?len=N          200 image/jpeg with Content-Length N (default 1 GiB), body streamed.
  /status/NNN         status NNN (100-999; 1xx are sent as is), a short text/plain body (none for
                      204 and 304), no Location.
  /robots-moved.txt   a robots.txt: "User-agent: *" / "Disallow: /ok/moved-denied".
  /robots.txt         by the first label of the Host header's name, up to a '-' (so
                      robotsbig-a.test and robotsbig-b.test are both robotsbig), case-insensitive:
    robots5xx         503 every time.
    robots404         404.
    robotsmoved       301 to /robots-moved.txt (a relative reference).
    robotsmovedabs    301 to http://HOST/robots-moved.txt (HOST as the request's Host header).
    robotsbig         614,400 bytes (600 KiB): "User-agent: *", "Disallow: /ok/before-cut",
                      comment lines up to byte 532,480 (520 KiB), "Disallow: /ok/after-cut",
                      comment lines to the end. A parser keeping the first 500 KiB denies
                      /ok/before-cut* and allows /ok/after-cut*.
    robotsrules       "User-agent: *" / "Disallow: /" for everyone else, and for clipcrawl:
                        Allow: /ok/page          Disallow: /ok/*.jpg$
                        Allow: /ok/tie           Disallow: /ok/tie
                        Disallow: /ok/dir/       Allow: /ok/dir/open/
                      so (longest pattern wins, Allow on a tie, '$' anchors the end):
                        /ok/page.png ok, /ok/page.jpg denied, /ok/page.jpg?x=1 ok,
                        /ok/tie.png ok, /ok/dir/a.png denied, /ok/dir/open/a.png ok,
                        /ok/other.png ok (an unlisted token falls to '*': all denied).
    anything else     "User-agent: *" / "Disallow: /denied/".
  anything else       404.
"""

import argparse
import asyncio
import http
import os
import socket
import struct
import sys
import time
import urllib.parse
import zlib

MAX_HEAD = 64 * 1024  # request line and headers
MAX_SIZE = 1 << 40  # ?size= and ?len= cap


def jpeg_like(n):
    """n bytes (n >= 4) that start with a JPEG SOI/APP0 and end with EOI."""
    head = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
    if n < len(head) + 2:
        return (head + b"\xff\xd9")[:n]
    body = bytes((i * 7 + 3) % 251 for i in range(n - len(head) - 2))
    return head + body + b"\xff\xd9"


IMAGE = jpeg_like(2000)
BLOCK = bytes(range(256)) * 256  # 64 KiB, streamed for large bodies


def gzip_bomb(mib=1024):
    """A gzip member inflating to mib MiB of zeros. Deflate restarts at each full flush, so the
    compressed form of one zero MiB is computed once and repeated."""
    zero = bytes(1 << 20)
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    piece = c.compress(zero) + c.flush(zlib.Z_FULL_FLUSH)
    tail = c.flush()
    crc = 0
    for _ in range(mib):
        crc = zlib.crc32(zero, crc)
    head = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff"
    trailer = struct.pack("<II", crc, (mib << 20) & 0xFFFFFFFF)
    return head + piece * mib + tail + trailer


def robots_big():
    """600 KiB: a rule before 500 KiB, another after it, comments in between and after."""
    size, late_at = 600 * 1024, 520 * 1024
    early = b"User-agent: *\nDisallow: /ok/before-cut\n"
    late = b"Disallow: /ok/after-cut\n"
    pad = b"# padding padding padding padding padding padding padding padding padding\n"

    def fill(n):
        out = pad * (n // len(pad))
        rest = n - len(out)
        return out + (b"#" * (rest - 1) + b"\n" if rest else b"")

    first = early + fill(late_at - len(early))
    return first + late + fill(size - len(first) - len(late))


ROBOTS_RULES = b"""# robotsrules: tie and wildcard rules
User-agent: *
Disallow: /

User-agent: clipcrawl
Allow: /ok/page
Disallow: /ok/*.jpg$
Allow: /ok/tie
Disallow: /ok/tie
Disallow: /ok/dir/
Allow: /ok/dir/open/
"""
ROBOTS_DEFAULT = b"User-agent: *\nDisallow: /denied/\n"
ROBOTS_MOVED = b"User-agent: *\nDisallow: /ok/moved-denied\n"
HTML = b"<!doctype html><html><head><title>hostile</title></head><body><p>"
HTML += b"x" * (1000 - len(HTML) - len(b"</p></body></html>")) + b"</p></body></html>"
CTYPES = {".png": "image/png", ".gif": "image/gif", ".webp": "image/webp"}


class Closed(Exception):
    """The handler has ended the connection (closed or reset)."""


class Hostile:
    def __init__(self, log_path):
        self.log = open(log_path, "a", buffering=1) if log_path else None
        self.seen = {}  # (path, id) -> requests seen
        self.bomb = gzip_bomb()
        self.robots_big = robots_big()

    def note(self, line):
        if self.log:
            self.log.write("%.6f %s\n" % (time.time(), line))

    # ---- connections -------------------------------------------------------------------------

    async def handle(self, reader, writer):
        local = writer.get_extra_info("sockname")
        peer = writer.get_extra_info("peername")
        laddr = "%s:%d" % (local[0], local[1])
        self.note("conn %s %s:%d" % (laddr, peer[0], peer[1]))
        try:
            while True:
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except (asyncio.IncompleteReadError, asyncio.LimitOverrunError):
                    break
                lines = head.decode("latin-1").split("\r\n")
                parts = lines[0].split(" ")
                if len(parts) != 3:
                    await self.simple(writer, 400, b"bad request\n", close=True)
                    break
                headers = {}
                for h in lines[1:]:
                    k, sep, v = h.partition(":")
                    if sep:
                        headers[k.strip().lower()] = v.strip()
                self.note(
                    'req %s %s "%s" %s'
                    % (laddr, headers.get("host", "-"), lines[0], headers.get("user-agent", "-"))
                )
                n = int(headers.get("content-length", "0") or 0)
                if n:  # a request body is never expected; drop it
                    await reader.readexactly(min(n, MAX_HEAD))
                keep = await self.dispatch(writer, parts[0], parts[1], headers)
                if not keep or headers.get("connection", "").lower() == "close":
                    break
        except Closed:
            return
        except (ConnectionError, asyncio.IncompleteReadError, ValueError):
            pass
        try:
            writer.close()
            await writer.wait_closed()
        except (ConnectionError, OSError):
            pass

    async def write(self, writer, data):
        writer.write(data)
        await writer.drain()

    async def head(self, writer, status, headers, version="HTTP/1.1"):
        try:
            reason = http.HTTPStatus(status).phrase
        except ValueError:
            reason = "Whatever"
        out = ["%s %d %s" % (version, status, reason), "Server: hostile"]
        out += ["%s: %s" % kv for kv in headers]
        await self.write(writer, ("\r\n".join(out) + "\r\n\r\n").encode("latin-1"))

    async def image_head(self, writer, length=None, extra=()):
        """200 image/jpeg headers, with Content-Length when length is given."""
        h = [("Content-Type", "image/jpeg")] + list(extra)
        if length is not None:
            h.append(("Content-Length", str(length)))
        await self.head(writer, 200, h)

    async def simple(self, writer, status, body, ctype="text/plain", extra=(), close=False):
        """A complete response with Content-Length; returns whether the connection stays."""
        headers = [("Content-Type", ctype)] if ctype else []
        headers += list(extra)
        headers.append(("Content-Length", str(len(body))))
        if close:
            headers.append(("Connection", "close"))
        await self.head(writer, status, headers)
        await self.write(writer, body)
        return not close

    async def stream(self, writer, n):
        """n bytes from BLOCK, as fast as the client reads them (n None: forever)."""
        while n is None or n > 0:
            k = len(BLOCK) if n is None else min(n, len(BLOCK))
            await self.write(writer, BLOCK[:k])
            if n is not None:
                n -= k

    async def flushed(self, writer):
        """Waits until the kernel has taken every byte written (or 2 s)."""
        for _ in range(200):
            if writer.transport.get_write_buffer_size() == 0:
                break
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.05)

    def reset(self, writer):
        """Ends the connection with a TCP RST instead of a FIN."""
        sock = writer.get_extra_info("socket")
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        writer.transport.abort()
        raise Closed()

    async def image(self, writer, name="x.jpg", size=None, extra=()):
        ctype = CTYPES.get(os.path.splitext(name)[1].lower(), "image/jpeg")
        if size is None or size == len(IMAGE):
            return await self.simple(writer, 200, IMAGE, ctype, extra)
        headers = [("Content-Type", ctype), ("Content-Length", str(size))] + list(extra)
        await self.head(writer, 200, headers)
        await self.stream(writer, size)
        return True

    def count(self, path, q):
        key = (path, q.get("id", [""])[0])
        self.seen[key] = self.seen.get(key, 0) + 1
        return self.seen[key]

    # ---- paths -------------------------------------------------------------------------------

    async def dispatch(self, writer, method, target, headers):
        url = urllib.parse.urlsplit(target)
        path = url.path
        q = urllib.parse.parse_qs(url.query, keep_blank_values=True)

        def qint(name, default, lo=0, hi=MAX_SIZE):
            try:
                return max(lo, min(hi, int(q[name][0])))
            except (KeyError, ValueError):
                return default

        # "robotsbig-a.test:8080" -> "robotsbig"
        host = headers.get("host", "").split(":")[0].split(".")[0].split("-")[0].lower()
        if path == "/robots.txt":
            return await self.robots(writer, host, headers.get("host", ""))
        if path == "/robots-moved.txt":
            return await self.simple(writer, 200, ROBOTS_MOVED)
        if path.startswith("/ok/"):
            return await self.image(writer, path, qint("size", None))
        if path == "/html":
            return await self.simple(writer, 200, HTML, "text/html; charset=utf-8")
        if path == "/slow-headers":
            await asyncio.sleep(qint("s", 30, 0, 3600))
            return await self.image(writer)
        if path == "/slow-body":
            n, rate = qint("len", 100000), qint("rate", 10, 1, 1 << 20)
            await self.image_head(writer, n)
            slice_ = max(1, rate // 10)
            while n > 0:
                await self.write(writer, BLOCK[: min(n, slice_)])
                n -= slice_
                await asyncio.sleep(0.1)
            return True
        if path == "/endless":
            await self.image_head(writer, None, [("Connection", "close")])
            await self.stream(writer, None)
            return False
        if path == "/gzip-bomb":
            h = [("Content-Type", "image/jpeg"), ("Content-Encoding", "gzip")]
            if q.get("chunked", ["0"])[0] == "1":
                await self.head(writer, 200, h + [("Transfer-Encoding", "chunked")])
                for i in range(0, len(self.bomb), 65536):
                    piece = self.bomb[i : i + 65536]
                    await self.write(writer, b"%x\r\n%s\r\n" % (len(piece), piece))
                await self.write(writer, b"0\r\n\r\n")
                return True
            await self.head(writer, 200, h + [("Content-Length", str(len(self.bomb)))])
            await self.write(writer, self.bomb)
            return True
        if path == "/bad-gzip":
            return await self.simple(
                writer, 200, b"this is not gzip at all" * 10, "image/jpeg",
                [("Content-Encoding", "gzip")]
            )
        if path == "/cl-long":
            await self.image_head(writer, 10000)
            await self.write(writer, jpeg_like(10000)[:4000])
            await self.flushed(writer)
            return False
        if path == "/cl-short":
            await self.image_head(writer, 100)
            await self.write(writer, jpeg_like(300))
            await self.flushed(writer)
            return False
        if path == "/redirect-loop":
            return await self.simple(writer, 302, b"", None, [("Location", "/redirect-loop-b")])
        if path == "/redirect-loop-b":
            return await self.simple(writer, 302, b"", None, [("Location", "/redirect-loop")])
        if path.startswith("/redirect-chain/"):
            try:
                n = int(path[len("/redirect-chain/") :])
            except ValueError:
                return await self.simple(writer, 404, b"not found\n")
            if n <= 0:
                return await self.image(writer)
            loc = "/redirect-chain/%d" % (n - 1)
            return await self.simple(writer, 302, b"", None, [("Location", loc)])
        if path == "/redirect-to":
            code = qint("code", 302, 300, 399)
            loc = q.get("u", ["/"])[0]
            return await self.simple(writer, code, b"", None, [("Location", loc)])
        if path == "/429":
            ra = q.get("ra", ["2"])[0]
            return await self.simple(writer, 429, b"slow down\n", extra=[("Retry-After", ra)])
        if path == "/429-noretry":
            return await self.simple(writer, 429, b"slow down\n")
        if path == "/429-once":
            if self.count(path, q) == 1:
                ra = q.get("ra", ["1"])[0]
                return await self.simple(writer, 429, b"slow down\n", extra=[("Retry-After", ra)])
            return await self.image(writer)
        if path == "/503-burst":
            if self.count(path, q) <= qint("n", 1):
                extra = [("Retry-After", q["ra"][0])] if "ra" in q else []
                return await self.simple(writer, 503, b"busy\n", extra=extra)
            return await self.image(writer)
        if path == "/reset":
            await self.image_head(writer, 100000)
            await self.write(writer, BLOCK[:5000])
            await self.flushed(writer)
            self.reset(writer)
        if path == "/reset-before":
            self.reset(writer)
        if path == "/empty":
            return False
        if path == "/garbage":
            await self.write(writer, b"THIS IS NOT HTTP\r\n\r\nnor is this\r\n")
            await self.flushed(writer)
            return False
        if path == "/html-as-image.jpg":
            return await self.simple(writer, 200, HTML, "text/html")
        if path == "/ctype":
            return await self.simple(writer, 200, IMAGE, q["t"][0] if "t" in q else None)
        if path == "/noai.jpg":
            return await self.image(writer, extra=[("X-Robots-Tag", "noai")])
        if path == "/xrobots":
            return await self.image(writer, extra=[("X-Robots-Tag", v) for v in q.get("v", [])])
        if path == "/http10":
            await self.head(writer, 200, [("Content-Type", "image/jpeg")], "HTTP/1.0")
            await self.write(writer, jpeg_like(3000))
            await self.flushed(writer)
            return False
        if path == "/chunked":
            await self.image_head(writer, None, [("Transfer-Encoding", "chunked")])
            body = jpeg_like(5000)
            for i in range(0, 5000, 1000):
                await self.write(writer, b"3e8\r\n" + body[i : i + 1000] + b"\r\n")
                await asyncio.sleep(0.01)
            await self.write(writer, b"0\r\n\r\n")
            return True
        if path == "/big":
            n = qint("len", 1 << 30)
            await self.image_head(writer, n)
            await self.stream(writer, n)
            return True
        if path.startswith("/status/"):
            code = path[len("/status/") :]
            if not (code.isdigit() and 100 <= int(code) <= 999):
                return await self.simple(writer, 404, b"not found\n")
            code = int(code)
            if code in (204, 304) or code < 200:
                await self.head(writer, code, [])
                return True
            return await self.simple(writer, code, b"status %d\n" % code)
        return await self.simple(writer, 404, b"not found\n")

    async def robots(self, writer, host, host_header):
        if host == "robots5xx":
            return await self.simple(writer, 503, b"robots.txt is down\n")
        if host == "robots404":
            return await self.simple(writer, 404, b"no robots.txt\n")
        if host == "robotsmoved":
            return await self.simple(writer, 301, b"", None, [("Location", "/robots-moved.txt")])
        if host == "robotsmovedabs":
            loc = "http://%s/robots-moved.txt" % host_header
            return await self.simple(writer, 301, b"", None, [("Location", loc)])
        if host == "robotsbig":
            h = [("Content-Type", "text/plain"), ("Content-Length", str(len(self.robots_big)))]
            await self.head(writer, 200, h)
            for i in range(0, len(self.robots_big), 65536):
                await self.write(writer, self.robots_big[i : i + 65536])
            return True
        if host == "robotsrules":
            return await self.simple(writer, 200, ROBOTS_RULES)
        return await self.simple(writer, 200, ROBOTS_DEFAULT)


async def main():
    ap = argparse.ArgumentParser(description="a misbehaving HTTP server for crawler tests")
    ap.add_argument("--bind", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--port-file")
    ap.add_argument("--also", action="append", default=[], help="another address, same port")
    ap.add_argument("--log")
    a = ap.parse_args()
    h = Hostile(a.log)
    main_server = await asyncio.start_server(h.handle, a.bind, a.port, limit=MAX_HEAD)
    port = main_server.sockets[0].getsockname()[1]
    servers = [main_server]
    for addr in a.also:
        servers.append(await asyncio.start_server(h.handle, addr, port, limit=MAX_HEAD))
    print(port, flush=True)
    if a.port_file:
        tmp = a.port_file + ".tmp"
        with open(tmp, "w") as f:
            f.write("%d\n" % port)
        os.replace(tmp, a.port_file)
    await asyncio.gather(*(s.serve_forever() for s in servers))


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        sys.exit(0)
