/* crawler/url.c — the URL normalizer: one hand-written parser for absolute http(s) URLs, RFC 3986
 * §5.2 resolution on top of it, and the canonical form described in url.h.
 *
 * normalize_span, stage by stage (every buffer is bounded by RESOLVE_MAX or URL_MAX):
 *   clean      trim C0 controls and spaces at both ends, drop embedded TAB, CR, LF;
 *   scheme     ALPHA *(ALPHA / DIGIT / "+" / "-" / ".") ":"; only http and https;
 *   authority  after any run of '/' or '\' (as browsers read special schemes), up to '/', '\',
 *              '?' or '#'; an '@' anywhere in it is user info;
 *   host       percent-decoded and lower-cased; "[...]" is IPv6; a name whose last label is a
 *              number is IPv4 (WHATWG "ends in a number", the same rule curl applies), anything
 *              else a DNS name;
 *   path       percent rules, '\' read as '/', then dot segments removed;
 *   query      percent rules; the fragment is dropped.
 * The percent rules decode escapes of unreserved characters, upper-case the hex of the others,
 * encode the bytes url.h lists, and encode a '%' that starts no valid escape as "%25" (so that
 * decoding never glues a stray '%' to the digits after it: "%%32%35" would otherwise turn into
 * the escape "%25" and change meaning on the next pass).
 */
#include "crawler/url.h"

#include <assert.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* The longest string normalize_span accepts: url_resolve joins a base and a reference (each
 * shorter than URL_MAX) before dot segments are removed. */
#define RESOLVE_MAX (2 * URL_MAX + 16)

/* What normalize_span learned while writing a canonical URL (url_split reports it). */
typedef struct url_info {
    char scheme[8];
    char host[URL_HOST_MAX]; /* canonical, IPv6 without brackets */
    int port; /* explicit or default */
    int is_ip; /* 4, 6 or 0 */
    size_t path_off; /* offset of the path ('/') in the canonical string */
} url_info;

/* A bounded, always NUL-terminated string under construction; over records that some write
 * did not fit (the content is then meaningless). cap >= 1. */
typedef struct sbuf {
    char *p;
    size_t cap;
    size_t len;
    int over;
} sbuf;

static void sb_init(sbuf *b, char *p, size_t cap)
{
    b->p = p;
    b->cap = cap;
    b->len = 0;
    b->over = 0;
    p[0] = '\0';
}

static void sb_put(sbuf *b, const char *s, size_t n)
{
    if (b->over || n >= b->cap - b->len) {
        b->over = 1;
        return;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void sb_putc(sbuf *b, char c)
{
    sb_put(b, &c, 1);
}

static const char HEX[] = "0123456789ABCDEF";

static void sb_escape(sbuf *b, unsigned char c)
{
    char e[3] = {'%', HEX[c >> 4], HEX[c & 15]};
    sb_put(b, e, 3);
}

/* ---- character classes --------------------------------------------------------------------- */

static int is_alpha(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int is_digit(unsigned char c)
{
    return c >= '0' && c <= '9';
}

static int hex_value(unsigned char c)
{
    if (is_digit(c))
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static char to_lower(char c)
{
    return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

static int is_unreserved(unsigned char c)
{
    return is_alpha(c) || is_digit(c) || c == '-' || c == '.' || c == '_' || c == '~';
}

/* Bytes that url.h says are always percent-encoded in the path and the query. */
static int must_encode(unsigned char c)
{
    if (c <= 0x20 || c >= 0x7F)
        return 1;
    return c == '"' || c == '<' || c == '>' || c == '`' || c == '{' || c == '}' || c == '|' ||
           c == '^';
}

static int is_slash(char c)
{
    return c == '/' || c == '\\';
}

static int is_host_char(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || is_digit(c) || c == '-' || c == '.' || c == '_';
}

/* ---- stages -------------------------------------------------------------------------------- */

/* Copies in[0..n) into dst (room for n + 1 bytes) without the C0 controls and spaces at both
 * ends and without embedded TAB, CR and LF. Returns the new length. */
static size_t clean(const char *in, size_t n, char *dst)
{
    size_t b = 0, e = n, k = 0;
    while (b < e && (unsigned char)in[b] <= 0x20)
        b++;
    while (e > b && (unsigned char)in[e - 1] <= 0x20)
        e--;
    for (size_t i = b; i < e; i++)
        if (in[i] != '\t' && in[i] != '\r' && in[i] != '\n')
            dst[k++] = in[i];
    dst[k] = '\0';
    return k;
}

/* The length of s's scheme (the index of its ':'), or 0 when s does not start with one. */
static size_t scheme_len(const char *s, size_t n)
{
    if (n == 0 || !is_alpha((unsigned char)s[0]))
        return 0;
    for (size_t i = 1; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == ':')
            return i;
        if (!is_alpha(c) && !is_digit(c) && c != '+' && c != '-' && c != '.')
            return 0;
    }
    return 0;
}

/* Default port of a scheme (case-insensitive): 80 for http, 443 for https, 0 for the rest. */
static int scheme_port(const char *s, size_t n)
{
    char low[6];
    if (n != 4 && n != 5)
        return 0;
    for (size_t i = 0; i < n; i++)
        low[i] = to_lower(s[i]);
    if (n == 4 && memcmp(low, "http", 4) == 0)
        return 80;
    if (n == 5 && memcmp(low, "https", 5) == 0)
        return 443;
    return 0;
}

/* Appends s[0..n) under the percent rules; in the path ('path' set) '\' is written as '/'. */
static void percent_copy(sbuf *o, const char *s, size_t n, int path)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '%') {
            int hi = i + 2 < n ? hex_value((unsigned char)s[i + 1]) : -1;
            int lo = i + 2 < n ? hex_value((unsigned char)s[i + 2]) : -1;
            if (hi < 0 || lo < 0) {
                sb_escape(o, '%');
                continue;
            }
            unsigned char v = (unsigned char)(hi << 4 | lo);
            if (is_unreserved(v))
                sb_putc(o, (char)v);
            else
                sb_escape(o, v);
            i += 2;
        } else if (path && c == '\\') {
            sb_putc(o, '/');
        } else if (must_encode(c)) {
            sb_escape(o, c);
        } else {
            sb_putc(o, (char)c);
        }
    }
}

size_t url_percent_normalize(const char *in, size_t n, char *out)
{
    sbuf o;
    sb_init(&o, out, 3 * n + 1);
    percent_copy(&o, in, n, 0);
    return o.len;
}

/* Appends the path p[0..n) (p[0] == '/', already under the percent rules) with its "." and ".."
 * segments removed (RFC 3986 §5.2.4, segment by segment: ".." drops the last segment written;
 * a path ending in "." or ".." keeps its trailing '/'). */
static void remove_dots(sbuf *o, const char *p, size_t n)
{
    size_t start = o->len, i = 1;
    int trailing = 0;
    for (;;) {
        size_t j = i;
        while (j < n && p[j] != '/')
            j++;
        const char *seg = p + i;
        size_t sl = j - i;
        int last = j >= n;
        if (sl == 1 && seg[0] == '.') {
            trailing = last;
        } else if (sl == 2 && seg[0] == '.' && seg[1] == '.') {
            while (o->len > start && o->p[o->len - 1] != '/')
                o->len--;
            if (o->len > start)
                o->len--;
            o->p[o->len] = '\0';
            trailing = last;
        } else {
            sb_putc(o, '/');
            sb_put(o, seg, sl);
            trailing = 0;
        }
        if (last)
            break;
        i = j + 1;
    }
    if (trailing || o->len == start)
        sb_putc(o, '/');
}

/* ---- IPv4 ------------------------------------------------------------------------------------ */

/* One part of a numeric IPv4 host as inet_aton and WHATWG read it: "0x…" hex (no digits: 0),
 * "0…" octal, else decimal. Values above 2^32 saturate at 2^32. -1 on a bad digit. */
static int ipv4_number(const char *s, size_t n, uint64_t *v)
{
    unsigned base = 10;
    size_t i = 0;
    uint64_t x = 0;
    if (n == 0)
        return -1;
    if (n >= 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
        base = 16;
        i = 2;
    } else if (n >= 2 && s[0] == '0') {
        base = 8;
        i = 1;
    }
    for (; i < n; i++) {
        int d = hex_value((unsigned char)s[i]);
        if (d < 0 || (unsigned)d >= base)
            return -1;
        x = x * base + (unsigned)d;
        if (x > 0xFFFFFFFFu)
            x = 0x100000000u;
    }
    *v = x;
    return 0;
}

/* WHATWG "ends in a number": the last label (one trailing dot ignored) is all digits or a
 * number ipv4_number reads. Such a host is IPv4 or nothing. */
static int ends_in_number(const char *h, size_t n)
{
    uint64_t v;
    if (n > 0 && h[n - 1] == '.')
        n--;
    size_t k = n;
    while (k > 0 && h[k - 1] != '.')
        k--;
    if (k == n)
        return 0;
    int digits = 1;
    for (size_t i = k; i < n; i++)
        digits &= is_digit((unsigned char)h[i]);
    return digits || ipv4_number(h + k, n - k, &v) == 0;
}

/* Parses a numeric IPv4 host of 1 to 4 parts (one trailing dot allowed) into *addr; the last
 * part fills the remaining bytes ("127.1" = 127.0.0.1). -1 when malformed or out of range. */
static int ipv4_parse(const char *h, size_t n, uint32_t *addr)
{
    uint64_t val[4];
    size_t np = 0, i = 0;
    if (n > 0 && h[n - 1] == '.')
        n--;
    for (;;) {
        size_t j = i;
        while (j < n && h[j] != '.')
            j++;
        if (np == 4 || ipv4_number(h + i, j - i, &val[np]) != 0)
            return -1;
        np++;
        if (j >= n)
            break;
        i = j + 1;
    }
    for (size_t k = 0; k + 1 < np; k++)
        if (val[k] > 255)
            return -1;
    if (val[np - 1] >= (uint64_t)1 << (8 * (5 - np)))
        return -1;
    uint64_t a = val[np - 1];
    for (size_t k = 0; k + 1 < np; k++)
        a |= val[k] << (8 * (3 - k));
    *addr = (uint32_t)a;
    return 0;
}

/* ---- IPv6 ------------------------------------------------------------------------------------ */

/* Strict dotted quad (the tail of an IPv6 literal): four decimal parts 0..255, no leading
 * zeros. -1 when malformed. */
static int dotted_quad(const char *s, size_t n, uint8_t out[4])
{
    size_t i = 0;
    for (int part = 0; part < 4; part++) {
        if (part > 0) {
            if (i >= n || s[i] != '.')
                return -1;
            i++;
        }
        size_t j = i;
        unsigned v = 0;
        while (j < n && is_digit((unsigned char)s[j]) && j - i < 4)
            v = v * 10 + (unsigned)(s[j++] - '0');
        if (j == i || v > 255 || (j - i > 1 && s[i] == '0'))
            return -1;
        out[part] = (uint8_t)v;
        i = j;
    }
    return i == n ? 0 : -1;
}

/* Parses the text between the brackets of an IPv6 literal: up to 8 groups of 1-4 hex digits,
 * at most one "::", an optional dotted-quad tail. -1 when malformed (zone ids included). */
static int ipv6_parse(const char *s, size_t n, uint16_t w[8])
{
    uint16_t g[8];
    int ng = 0, gap = -1;
    size_t i = 0;
    if (n >= 2 && s[0] == ':' && s[1] == ':') {
        gap = 0;
        i = 2;
    } else if (n >= 1 && s[0] == ':') {
        return -1;
    }
    while (i < n) {
        size_t j = i;
        while (j < n && s[j] != ':')
            j++;
        if (j == i)
            return -1;
        if (memchr(s + i, '.', j - i) != NULL) {
            uint8_t q[4];
            if (j != n || ng > 6 || dotted_quad(s + i, j - i, q) != 0)
                return -1;
            g[ng++] = (uint16_t)(q[0] << 8 | q[1]);
            g[ng++] = (uint16_t)(q[2] << 8 | q[3]);
            break;
        }
        if (j - i > 4 || ng == 8)
            return -1;
        unsigned v = 0;
        for (size_t k = i; k < j; k++) {
            int d = hex_value((unsigned char)s[k]);
            if (d < 0)
                return -1;
            v = v << 4 | (unsigned)d;
        }
        g[ng++] = (uint16_t)v;
        if (j == n)
            break;
        if (j + 1 < n && s[j + 1] == ':') {
            if (gap >= 0)
                return -1;
            gap = ng;
            i = j + 2;
        } else {
            i = j + 1;
            if (i == n)
                return -1; /* trailing single ':' */
        }
    }
    memset(w, 0, 8 * sizeof w[0]);
    if (gap < 0) {
        if (ng != 8)
            return -1;
        memcpy(w, g, sizeof g);
        return 0;
    }
    if (ng > 7)
        return -1; /* "::" stands for at least one group */
    for (int k = 0; k < gap; k++)
        w[k] = g[k];
    for (int k = gap; k < ng; k++)
        w[8 - (ng - k)] = g[k];
    return 0;
}

/* RFC 5952 text: lower-case hex without leading zeros, the first longest run of two or more
 * zero groups written "::"; IPv4-mapped addresses as "::ffff:a.b.c.d" (RFC 5952 §5). */
static void ipv6_format(const uint16_t w[8], sbuf *o)
{
    char t[48];
    if (w[0] == 0 && w[1] == 0 && w[2] == 0 && w[3] == 0 && w[4] == 0 && w[5] == 0xFFFF) {
        snprintf(t, sizeof t, "::ffff:%u.%u.%u.%u", w[6] >> 8, w[6] & 255u, w[7] >> 8, w[7] & 255u);
        sb_put(o, t, strlen(t));
        return;
    }
    int best = -1, best_len = 0;
    for (int i = 0; i < 8;) {
        int j = i;
        while (j < 8 && w[j] == 0)
            j++;
        if (j - i > best_len && j - i >= 2) {
            best = i;
            best_len = j - i;
        }
        i = j > i ? j : i + 1;
    }
    for (int i = 0; i < 8;) {
        if (i == best) {
            sb_put(o, "::", 2);
            i += best_len;
            continue;
        }
        if (i > 0 && i != best + best_len)
            sb_putc(o, ':');
        int n = snprintf(t, sizeof t, "%x", (unsigned)w[i]);
        sb_put(o, t, (size_t)n);
        i++;
    }
}

/* ---- host and port ------------------------------------------------------------------------- */

/* Writes the canonical host of h[0..n) into info->host and sets info->is_ip. */
static cc_status parse_host(const char *h, size_t n, url_info *info)
{
    sbuf o;
    sb_init(&o, info->host, sizeof info->host);
    info->is_ip = 0;
    CC_CHECK(n > 0, CC_E_FORMAT, "url: empty host");
    if (h[0] == '[') {
        uint16_t w[8];
        CC_CHECK(n >= 2 && h[n - 1] == ']' && ipv6_parse(h + 1, n - 2, w) == 0, CC_E_FORMAT,
                 "url: bad IPv6 literal '%.*s' (zone ids are not accepted)", (int)(n > 80 ? 80 : n),
                 h);
        ipv6_format(w, &o);
        info->is_ip = 6;
        return CC_OK;
    }

    /* percent-decoded, lower-cased, checked: d[0..dn) */
    char d[RESOLVE_MAX + 1];
    size_t dn = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)h[i];
        if (c == '%') {
            int hi = i + 2 < n ? hex_value((unsigned char)h[i + 1]) : -1;
            int lo = i + 2 < n ? hex_value((unsigned char)h[i + 2]) : -1;
            CC_CHECK(hi >= 0 && lo >= 0, CC_E_FORMAT, "url: bad percent escape in host");
            c = (unsigned char)(hi << 4 | lo);
            i += 2;
        }
        c = (unsigned char)to_lower((char)c);
        CC_CHECK(is_host_char(c), CC_E_FORMAT,
                 "url: host has a character outside letters, digits, '-', '.', '_' (byte 0x%02X)",
                 c);
        d[dn++] = (char)c;
    }

    if (ends_in_number(d, dn)) {
        uint32_t a;
        CC_CHECK(ipv4_parse(d, dn, &a) == 0, CC_E_FORMAT,
                 "url: numeric host '%.*s' is not a valid IPv4 address", (int)(dn > 80 ? 80 : dn),
                 d);
        char t[16];
        int tn = snprintf(t, sizeof t, "%u.%u.%u.%u", a >> 24, (a >> 16) & 255u, (a >> 8) & 255u,
                          a & 255u);
        sb_put(&o, t, (size_t)tn);
        info->is_ip = 4;
        return CC_OK;
    }

    if (dn > 0 && d[dn - 1] == '.')
        dn--; /* "example.com." is "example.com" */
    CC_CHECK(dn > 0, CC_E_FORMAT, "url: empty host");
    CC_CHECK(dn < sizeof info->host, CC_E_LIMIT, "url: host longer than %d bytes",
             URL_HOST_MAX - 1);
    for (size_t i = 0; i < dn; i++)
        CC_CHECK(d[i] != '.' || (i > 0 && d[i - 1] != '.' && i + 1 < dn), CC_E_FORMAT,
                 "url: empty label in host '%.*s'", (int)(dn > 80 ? 80 : dn), d);
    sb_put(&o, d, dn);
    return CC_OK;
}

/* ---- the normalizer ------------------------------------------------------------------------ */

/* Writes the canonical form of in[0..n) (n <= RESOLVE_MAX) into out (cap bytes); info, when not
 * NULL, receives the parts. */
static cc_status normalize_span(const char *in, size_t n, char *out, size_t cap, url_info *info)
{
    char c[RESOLVE_MAX + 1];
    char path[3 * RESOLVE_MAX + 4]; /* percent-copied path, before dot removal */
    char res[URL_MAX];
    url_info local;
    if (info == NULL)
        info = &local;

    CC_CHECK(n <= RESOLVE_MAX, CC_E_LIMIT, "url: longer than %d bytes", URL_MAX - 1);
    size_t len = clean(in, n, c);
    size_t sl = scheme_len(c, len);
    CC_CHECK(sl > 0, CC_E_FORMAT, "url: '%.80s' is not an absolute URL (no scheme)", c);
    info->port = scheme_port(c, sl);
    CC_CHECK(info->port != 0, CC_E_UNSUPPORTED, "url: scheme '%.*s' is not http or https",
             (int)(sl > 32 ? 32 : sl), c);
    snprintf(info->scheme, sizeof info->scheme, "%s", info->port == 80 ? "http" : "https");
    int default_port = info->port;

    /* authority: a[0..an) */
    size_t i = sl + 1;
    while (i < len && is_slash(c[i]))
        i++;
    const char *a = c + i;
    while (i < len && !is_slash(c[i]) && c[i] != '?' && c[i] != '#')
        i++;
    size_t an = (size_t)(c + i - a);
    CC_CHECK(memchr(a, '@', an) == NULL, CC_E_UNSUPPORTED,
             "url: user info (credentials) in URLs is not accepted");

    /* host a[0..hn), then ":port" (digits, maybe none) up to a[an] */
    size_t hn = an;
    if (an > 0 && a[0] == '[') {
        const char *rb = memchr(a, ']', an);
        CC_CHECK(rb != NULL, CC_E_FORMAT, "url: IPv6 literal without ']'");
        hn = (size_t)(rb - a) + 1;
    } else {
        const char *colon = memchr(a, ':', an);
        if (colon != NULL)
            hn = (size_t)(colon - a);
    }
    if (hn < an) {
        CC_CHECK(a[hn] == ':', CC_E_FORMAT, "url: unexpected '%c' after the IPv6 literal", a[hn]);
        uint32_t port = 0;
        for (size_t k = hn + 1; k < an; k++) {
            CC_CHECK(is_digit((unsigned char)a[k]), CC_E_FORMAT, "url: bad port '%.*s'",
                     (int)(an - hn - 1 > 20 ? 20 : an - hn - 1), a + hn + 1);
            port = port * 10 + (uint32_t)(a[k] - '0');
            if (port > 65535)
                port = 65536; /* saturate, keep checking the digits */
        }
        if (an - hn > 1) {
            CC_CHECK(port >= 1 && port <= 65535, CC_E_FORMAT, "url: port '%.*s' out of range",
                     (int)(an - hn - 1 > 20 ? 20 : an - hn - 1), a + hn + 1);
            info->port = (int)port;
        }
    }
    CC_TRY(parse_host(a, hn, info));

    /* path c[i..pe), query c[pe+1..qe) when c[pe] == '?' */
    size_t pe = i;
    while (pe < len && c[pe] != '?' && c[pe] != '#')
        pe++;
    size_t qe = pe;
    if (pe < len && c[pe] == '?')
        while (qe < len && c[qe] != '#')
            qe++;

    sbuf o, pb;
    sb_init(&o, res, sizeof res);
    sb_put(&o, info->scheme, strlen(info->scheme));
    sb_put(&o, "://", 3);
    if (info->is_ip == 6)
        sb_putc(&o, '[');
    sb_put(&o, info->host, strlen(info->host));
    if (info->is_ip == 6)
        sb_putc(&o, ']');
    if (info->port != default_port) {
        char t[8];
        int tn = snprintf(t, sizeof t, ":%d", info->port);
        sb_put(&o, t, (size_t)tn);
    }
    info->path_off = o.len;
    if (pe > i) {
        sb_init(&pb, path, sizeof path);
        percent_copy(&pb, c + i, pe - i, 1);
        assert(!pb.over); /* path has room for 3 bytes per input byte */
        remove_dots(&o, path, pb.len);
    } else {
        sb_putc(&o, '/');
    }
    if (qe > pe + 1) {
        sb_putc(&o, '?');
        percent_copy(&o, c + pe + 1, qe - pe - 1, 0);
    }
    CC_CHECK(!o.over, CC_E_LIMIT, "url: longer than %d bytes after normalization", URL_MAX - 1);
    CC_CHECK(o.len < cap, CC_E_LIMIT, "url: output buffer of %zu bytes too small (need %zu)", cap,
             o.len + 1);
    memcpy(out, res, o.len + 1);
    return CC_OK;
}

cc_status url_normalize(const char *in, char *out, size_t cap)
{
    CC_CHECK(in != NULL && out != NULL, CC_E_INVAL, "url_normalize: NULL argument");
    size_t n = strnlen(in, URL_MAX);
    CC_CHECK(n < URL_MAX, CC_E_LIMIT, "url: longer than %d bytes", URL_MAX - 1);
    return normalize_span(in, n, out, cap, NULL);
}

cc_status url_resolve(const char *base, const char *ref, char *out, size_t cap)
{
    char b[URL_MAX], r[URL_MAX], joined[RESOLVE_MAX + 1];
    url_info bi;
    CC_CHECK(base != NULL && ref != NULL && out != NULL, CC_E_INVAL, "url_resolve: NULL argument");
    size_t n = strnlen(base, URL_MAX);
    CC_CHECK(n < URL_MAX, CC_E_LIMIT, "url: base longer than %d bytes", URL_MAX - 1);
    cc_status st = normalize_span(base, n, b, sizeof b, &bi);
    if (st != CC_OK)
        return cc_wrap(st, "base URL");
    n = strnlen(ref, URL_MAX);
    CC_CHECK(n < URL_MAX, CC_E_LIMIT, "url: reference longer than %d bytes", URL_MAX - 1);
    size_t rn = clean(ref, n, r);
    const char *rp = r;

    /* a reference with a scheme is absolute, except "http:x" against an http base (RFC 3986
     * §5.2.2's non-strict reading, which browsers follow): it is then relative */
    size_t sl = scheme_len(r, rn);
    if (sl > 0) {
        int port = scheme_port(r, sl);
        CC_CHECK(port != 0, CC_E_UNSUPPORTED, "url: scheme '%.*s' is not http or https",
                 (int)(sl > 32 ? 32 : sl), r);
        int same = (port == 80) == (strcmp(bi.scheme, "http") == 0);
        if (!same || (rn >= sl + 3 && is_slash(r[sl + 1]) && is_slash(r[sl + 2])))
            return normalize_span(r, rn, out, cap, NULL);
        rp += sl + 1;
        rn -= sl + 1;
    }

    sbuf j;
    sb_init(&j, joined, sizeof joined);
    if (rn >= 2 && is_slash(rp[0]) && is_slash(rp[1])) { /* network-path: "//host/x" */
        sb_put(&j, bi.scheme, strlen(bi.scheme));
        sb_putc(&j, ':');
    } else if (rn > 0 && is_slash(rp[0])) { /* absolute path */
        sb_put(&j, b, bi.path_off);
    } else if (rn > 0 && rp[0] == '?') { /* same path, new query */
        sb_put(&j, b, strcspn(b + bi.path_off, "?") + bi.path_off);
    } else if (rn == 0 || rp[0] == '#') { /* the base itself (fragments are dropped) */
        rn = 0;
        sb_put(&j, b, strlen(b));
    } else { /* relative path: merged after the base path's last '/' */
        size_t pq = strcspn(b + bi.path_off, "?") + bi.path_off;
        const char *slash = b + pq;
        while (*slash != '/')
            slash--; /* the path starts with '/' */
        sb_put(&j, b, (size_t)(slash - b) + 1);
    }
    sb_put(&j, rp, rn);
    assert(!j.over); /* base and ref are each shorter than URL_MAX */
    return normalize_span(joined, j.len, out, cap, NULL);
}

cc_status url_split(const char *url, url_parts *parts)
{
    char tmp[URL_MAX];
    url_info info;
    CC_CHECK(url != NULL && parts != NULL, CC_E_INVAL, "url_split: NULL argument");
    size_t n = strnlen(url, URL_MAX);
    CC_CHECK(n < URL_MAX, CC_E_FORMAT, "url: not canonical (longer than %d bytes)", URL_MAX - 1);
    cc_status st = normalize_span(url, n, tmp, sizeof tmp, &info);
    if (st != CC_OK)
        return cc_wrap(CC_E_FORMAT, "url: not canonical");
    CC_CHECK(strcmp(tmp, url) == 0, CC_E_FORMAT, "url: '%.80s' is not canonical (canonical: %.80s)",
             url, tmp);
    memset(parts, 0, sizeof *parts);
    memcpy(parts->scheme, info.scheme, sizeof parts->scheme);
    memcpy(parts->host, info.host, sizeof parts->host);
    parts->port = info.port;
    parts->is_ip = info.is_ip;
    parts->path_query = url + info.path_off;
    return CC_OK;
}

cc_status url_authority(const char *url, char *out, size_t cap)
{
    url_parts p;
    CC_TRY(url_split(url, &p));
    CC_CHECK(out != NULL, CC_E_INVAL, "url_authority: NULL argument");
    int v6 = p.is_ip == 6;
    int n = snprintf(out, cap, "%s://%s%s%s:%d", p.scheme, v6 ? "[" : "", p.host, v6 ? "]" : "",
                     p.port);
    CC_CHECK(n >= 0 && (size_t)n < cap, CC_E_LIMIT,
             "url_authority: output buffer of %zu bytes too small (need %d)", cap, n + 1);
    return CC_OK;
}
