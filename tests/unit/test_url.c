/* tests/unit/test_url.c — the URL normalizer (crawler/url.h): canonical form case by case, RFC 3986
 * §5.4 resolution examples, split and authority, and IPv4/IPv6 host spellings compared with
 * glibc's inet_aton / inet_pton / inet_ntop on generated addresses.
 *
 * Every successful result is also checked to be canonical: normalizing it again gives the same
 * string and url_split accepts it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crawler/url.h"

/* ---- helpers ------------------------------------------------------------------------------- */

/* The result must be canonical: a fixed point of url_normalize that url_split accepts. */
static void assert_canonical(const char *url)
{
    char again[URL_MAX];
    url_parts parts;
    assert_int_equal(url_normalize(url, again, sizeof again), CC_OK);
    assert_string_equal(again, url);
    assert_int_equal(url_split(url, &parts), CC_OK);
}

static void norm_ok(const char *in, const char *want)
{
    char out[URL_MAX];
    cc_status st = url_normalize(in, out, sizeof out);
    if (st != CC_OK)
        fail_msg("url_normalize(\"%s\") = %s (%s), want \"%s\"", in, cc_status_str(st), cc_errmsg(),
                 want);
    if (strcmp(out, want) != 0)
        fail_msg("url_normalize(\"%s\") = \"%s\", want \"%s\"", in, out, want);
    assert_canonical(out);
}

static void norm_err(const char *in, cc_status want)
{
    char out[URL_MAX];
    cc_clear_error();
    cc_status st = url_normalize(in, out, sizeof out);
    if (st != want)
        fail_msg("url_normalize(\"%s\") = %s, want %s", in, cc_status_str(st), cc_status_str(want));
    assert_true(cc_errmsg()[0] != '\0'); /* every failure says why */
}

static void res_ok(const char *base, const char *ref, const char *want)
{
    char out[URL_MAX];
    cc_status st = url_resolve(base, ref, out, sizeof out);
    if (st != CC_OK)
        fail_msg("url_resolve(\"%s\", \"%s\") = %s (%s), want \"%s\"", base, ref, cc_status_str(st),
                 cc_errmsg(), want);
    if (strcmp(out, want) != 0)
        fail_msg("url_resolve(\"%s\", \"%s\") = \"%s\", want \"%s\"", base, ref, out, want);
    assert_canonical(out);
}

static void res_err(const char *base, const char *ref, cc_status want)
{
    char out[URL_MAX];
    cc_clear_error();
    cc_status st = url_resolve(base, ref, out, sizeof out);
    if (st != want)
        fail_msg("url_resolve(\"%s\", \"%s\") = %s, want %s", base, ref, cc_status_str(st),
                 cc_status_str(want));
    assert_true(cc_errmsg()[0] != '\0');
}

/* A string of n copies of c followed by tail, in a static buffer (one at a time). */
static char *repeat(const char *head, char c, size_t n, const char *tail)
{
    static char buf[5 * URL_MAX];
    size_t hl = strlen(head), tl = strlen(tail);
    assert_true(hl + n + tl < sizeof buf);
    memcpy(buf, head, hl);
    memset(buf + hl, c, n);
    memcpy(buf + hl + n, tail, tl + 1);
    return buf;
}

/* ---- normalize ----------------------------------------------------------------------------- */

static void test_normalize_case(void **state)
{
    (void)state;
    norm_ok("HTTP://Example.COM/Path/File.HTML", "http://example.com/Path/File.HTML");
    norm_ok("hTTpS://EXAMPLE.com", "https://example.com/");
    norm_ok("http://example.com/A?B=C", "http://example.com/A?B=C");
    norm_ok("http://example.com", "http://example.com/");
    norm_ok("http://example.com/a/b/", "http://example.com/a/b/");
}

static void test_normalize_ports(void **state)
{
    (void)state;
    norm_ok("http://a.com:80/", "http://a.com/");
    norm_ok("https://a.com:443/x", "https://a.com/x");
    norm_ok("http://a.com:443/", "http://a.com:443/");
    norm_ok("https://a.com:80/", "https://a.com:80/");
    norm_ok("http://a.com:8080", "http://a.com:8080/");
    norm_ok("http://a.com:/x", "http://a.com/x");
    norm_ok("http://a.com:0080/", "http://a.com/");
    norm_ok("http://a.com:00008080/", "http://a.com:8080/");
    norm_ok("http://a.com:1/", "http://a.com:1/");
    norm_ok("http://a.com:65535/", "http://a.com:65535/");
    norm_ok("http://a.com:8080?x", "http://a.com:8080/?x");

    norm_err("http://a.com:0/", CC_E_FORMAT);
    norm_err("http://a.com:000/", CC_E_FORMAT);
    norm_err("http://a.com:65536/", CC_E_FORMAT);
    norm_err("http://a.com:99999999999999999999999/", CC_E_FORMAT);
    norm_err("http://a.com:4294967376/", CC_E_FORMAT); /* 2^32 + 80 */
    norm_err("http://a.com:18446744073709551696/", CC_E_FORMAT); /* 2^64 + 80 */
    norm_err("http://a.com:65616/", CC_E_FORMAT); /* 2^16 + 80 */
    norm_err("http://a.com:8a/", CC_E_FORMAT);
    norm_err("http://a.com:-1/", CC_E_FORMAT);
    norm_err("http://a.com:+80/", CC_E_FORMAT);
    norm_err("http://a.com: 80/", CC_E_FORMAT);
    norm_err("http://a.com:80:80/", CC_E_FORMAT);
    norm_err("http://a.com:0x50/", CC_E_FORMAT);
}

static void test_normalize_dot_segments(void **state)
{
    (void)state;
    norm_ok("http://a/b/c/./../../g", "http://a/g");
    norm_ok("http://a/./b/../c/", "http://a/c/");
    norm_ok("http://a/..", "http://a/");
    norm_ok("http://a/../../..", "http://a/");
    norm_ok("http://a/b/..", "http://a/");
    norm_ok("http://a/b/.", "http://a/b/");
    norm_ok("http://a/b/./", "http://a/b/");
    norm_ok("http://a/b/../", "http://a/");
    norm_ok("http://a/b/%2e%2E/c", "http://a/c");
    norm_ok("http://a/b/.%2e/c", "http://a/c");
    norm_ok("http://a/b/%2E/c", "http://a/b/c");
    norm_ok("http://a/b/...", "http://a/b/...");
    norm_ok("http://a/b/.x/..y", "http://a/b/.x/..y");
    norm_ok("http://a/b//../c", "http://a/b/c");
    norm_ok("http://a//b", "http://a//b");
    norm_ok("http://a/..//b", "http://a//b");
    norm_ok("http://a/b?x/../y", "http://a/b?x/../y");
    norm_ok("http://a/b/..?q", "http://a/?q");
}

static void test_normalize_percent(void **state)
{
    (void)state;
    norm_ok("http://a/%7euser/%41%62%2D%5F%2e", "http://a/~user/Ab-_.");
    norm_ok("http://a/%2f%3a%3F%23%5b", "http://a/%2F%3A%3F%23%5B");
    norm_ok("http://a/%c3%a9", "http://a/%C3%A9");
    norm_ok("http://a/a b", "http://a/a%20b");
    norm_ok("http://a/\"<>`{}|^", "http://a/%22%3C%3E%60%7B%7D%7C%5E");
    norm_ok("http://a/caf\xc3\xa9", "http://a/caf%C3%A9");
    norm_ok("http://a/x\x7fy\x01z", "http://a/x%7Fy%01z");
    norm_ok("http://a/100%", "http://a/100%25");
    norm_ok("http://a/%zz", "http://a/%25zz");
    norm_ok("http://a/%4", "http://a/%254");
    norm_ok("http://a/%%32%35", "http://a/%2525");
    norm_ok("http://a/%25", "http://a/%25");
    norm_ok("http://a/x?q=a b&r=%7e&s=%2f", "http://a/x?q=a%20b&r=~&s=%2F");
    norm_ok("http://a/x?q=\xe2\x82\xac", "http://a/x?q=%E2%82%AC");
    /* reserved and other printable characters keep their meaning, as written */
    norm_ok("http://a/p;a=b,c/@!$&'()*+:[]?x=[1]&y=@/?",
            "http://a/p;a=b,c/@!$&'()*+:[]?x=[1]&y=@/?");
    norm_ok("http://a/x?", "http://a/x");
    norm_ok("http://a/x?#f", "http://a/x");
    norm_ok("http://a?", "http://a/");
    norm_ok("http://a/x??", "http://a/x??");
}

static void test_normalize_fragment(void **state)
{
    (void)state;
    norm_ok("http://a/x#frag", "http://a/x");
    norm_ok("http://a#f", "http://a/");
    norm_ok("http://a/x?y#f?z", "http://a/x?y");
    norm_ok("http://a/x#", "http://a/x");
    norm_ok("http://a/x#a#b", "http://a/x");
}

static void test_normalize_whitespace(void **state)
{
    (void)state;
    norm_ok("  http://a/x  ", "http://a/x");
    norm_ok("\x01\x1f http://a/\x1f\x7f", "http://a/%1F%7F"); /* DEL is not trimmed */
    norm_ok("ht\ttp://a/b\n/c\r", "http://a/b/c");
    norm_ok("http://ex\nample.com/", "http://example.com/");
    norm_ok("http://a/b c\t d", "http://a/b%20c%20d");
    norm_ok("\n\thttp://a:8\n0/\r\n", "http://a/");
    norm_err("java\nscript:alert(1)", CC_E_UNSUPPORTED);
    norm_err(" \t\r\n", CC_E_FORMAT);
    norm_err("http://a b/", CC_E_FORMAT);
}

static void test_normalize_backslashes(void **state)
{
    (void)state;
    norm_ok("http:\\\\a\\b\\c", "http://a/b/c");
    norm_ok("http://a\\b", "http://a/b");
    norm_ok("http://a/b\\..\\c", "http://a/c");
    norm_ok("http://a/b?x\\y", "http://a/b?x\\y");
    norm_ok("http:/\\a/x", "http://a/x");
    norm_ok("http:a/x", "http://a/x");
    norm_ok("http:///a/x", "http://a/x");
    norm_ok("http://a/%5C", "http://a/%5C");
}

static void test_normalize_numeric_hosts(void **state)
{
    (void)state;
    norm_ok("http://2130706433/", "http://127.0.0.1/");
    norm_ok("http://0x7f.1/", "http://127.0.0.1/");
    norm_ok("http://0177.0.0.1/", "http://127.0.0.1/");
    norm_ok("http://127.1/", "http://127.0.0.1/");
    norm_ok("http://127.0.1/", "http://127.0.0.1/");
    norm_ok("http://0x7F000001/", "http://127.0.0.1/");
    norm_ok("http://0X7f.0.0.1/", "http://127.0.0.1/");
    norm_ok("http://017700000001/", "http://127.0.0.1/");
    norm_ok("http://0x7f.0x0.0x0.0x1/", "http://127.0.0.1/");
    norm_ok("http://127.0.0.1./", "http://127.0.0.1/");
    norm_ok("http://%31%32%37.0.0.1/", "http://127.0.0.1/");
    norm_ok("http://169.254.43518/", "http://169.254.169.254/");
    norm_ok("http://0/", "http://0.0.0.0/");
    norm_ok("http://0x/", "http://0.0.0.0/");
    norm_ok("http://1.0x/", "http://1.0.0.0/");
    norm_ok("http://00000000000000000000000000012/", "http://0.0.0.10/");
    norm_ok("http://4294967295/", "http://255.255.255.255/");
    norm_ok("http://1.256/", "http://1.0.1.0/");
    norm_ok("http://1.2.65535/", "http://1.2.255.255/");
    norm_ok("http://93.184.216.34:8080/x", "http://93.184.216.34:8080/x");
    /* a last label that is not a number makes a DNS name */
    norm_ok("http://1.2.3.4x/", "http://1.2.3.4x/");
    norm_ok("http://0x7g.com/", "http://0x7g.com/");

    norm_err("http://256.1.1.1/", CC_E_FORMAT);
    norm_err("http://1.1.1.256/", CC_E_FORMAT);
    norm_err("http://192.168.0.257/", CC_E_FORMAT);
    norm_err("http://0x100000000/", CC_E_FORMAT);
    norm_err("http://4294967296/", CC_E_FORMAT);
    norm_err("http://999999999999999999999999999/", CC_E_FORMAT);
    /* numbers that wrap to small values in 64 or 32 bits */
    norm_err("http://18446744073709551617/", CC_E_FORMAT); /* 2^64 + 1 */
    norm_err("http://0x10000000000000001/", CC_E_FORMAT);
    norm_err("http://1.2.3.18446744073709551617/", CC_E_FORMAT);
    norm_err("http://4294967297/", CC_E_FORMAT); /* 2^32 + 1 */
    norm_err("http://4294967297.1/", CC_E_FORMAT);
    norm_err("http://1.2.65536/", CC_E_FORMAT);
    norm_err("http://1.16777216/", CC_E_FORMAT);
    norm_err("http://1.2.3.4.5/", CC_E_FORMAT);
    norm_err("http://1.2.3.09/", CC_E_FORMAT);
    norm_err("http://08/", CC_E_FORMAT);
    norm_err("http://foo.123/", CC_E_FORMAT);
    norm_err("http://1..2/", CC_E_FORMAT);
    norm_err("http://.1/", CC_E_FORMAT);
    norm_err("http://0xg.1/", CC_E_FORMAT);
    norm_err("http://127.0.0.1../", CC_E_FORMAT);
}

static void test_normalize_ipv6(void **state)
{
    (void)state;
    norm_ok("http://[::1]/", "http://[::1]/");
    norm_ok("http://[0:0:0:0:0:0:0:1]", "http://[::1]/");
    norm_ok("http://[2001:DB8:0:0:0:0:0:1]/x", "http://[2001:db8::1]/x");
    norm_ok("http://[2001:0db8:0000:0000:0001:0000:0000:0001]/",
            "http://[2001:db8::1:0:0:1]/"); /* first of two equal runs */
    norm_ok("http://[2001:db8:0:0:1:0:0:0]/", "http://[2001:db8:0:0:1::]/"); /* longest run */
    norm_ok("http://[2001:db8:0:1:1:1:1:1]/", "http://[2001:db8:0:1:1:1:1:1]/");
    norm_ok("http://[2001:db8::1:1:1:1:1]/", "http://[2001:db8:0:1:1:1:1:1]/");
    norm_ok("http://[::ffff:127.0.0.1]/", "http://[::ffff:127.0.0.1]/");
    norm_ok("http://[::FFFF:7f00:1]/", "http://[::ffff:127.0.0.1]/");
    norm_ok("http://[0:0:0:0:0:ffff:a00:1]/", "http://[::ffff:10.0.0.1]/");
    norm_ok("http://[::127.0.0.1]/", "http://[::7f00:1]/");
    norm_ok("http://[64:ff9b::192.0.2.33]/", "http://[64:ff9b::c000:221]/");
    norm_ok("http://[1:2:3:4:5:6:7::]/", "http://[1:2:3:4:5:6:7:0]/");
    norm_ok("http://[::2:3:4:5:6:7:8]/", "http://[0:2:3:4:5:6:7:8]/");
    norm_ok("http://[::]/", "http://[::]/");
    norm_ok("http://[1::]/", "http://[1::]/");
    norm_ok("http://[fe80::0001]/", "http://[fe80::1]/");
    norm_ok("http://[2001:db8::1]:8080/", "http://[2001:db8::1]:8080/");
    norm_ok("https://[2001:db8::1]:443/", "https://[2001:db8::1]/");
    norm_ok("http://[2001:db8::1]:/", "http://[2001:db8::1]/");

    norm_err("http://[::1%25eth0]/", CC_E_FORMAT);
    norm_err("http://[fe80::1%eth0]/", CC_E_FORMAT);
    norm_err("http://[::1/", CC_E_FORMAT);
    norm_err("http://::1/", CC_E_FORMAT);
    norm_err("http://[:::1]/", CC_E_FORMAT);
    norm_err("http://[:1::]/", CC_E_FORMAT);
    norm_err("http://[1:]/", CC_E_FORMAT);
    norm_err("http://[1:2:3:4:5:6:7:8:9]/", CC_E_FORMAT);
    norm_err("http://[1:2:3:4:5:6:7:8::]/", CC_E_FORMAT);
    norm_err("http://[1::2::3]/", CC_E_FORMAT);
    norm_err("http://[12345::]/", CC_E_FORMAT);
    norm_err("http://[::1.2.3]/", CC_E_FORMAT);
    norm_err("http://[::01.2.3.4]/", CC_E_FORMAT);
    norm_err("http://[::256.1.1.1]/", CC_E_FORMAT);
    norm_err("http://[::1.2.3.4:5]/", CC_E_FORMAT);
    norm_err("http://[1:2:3:4:5:6:7:1.2.3.4]/", CC_E_FORMAT);
    norm_err("http://[g::]/", CC_E_FORMAT);
    norm_err("http://[]/", CC_E_FORMAT);
    norm_err("http://[1:2:3:4:5:6:7]/", CC_E_FORMAT);
    norm_err("http://[::1]x/", CC_E_FORMAT);
    norm_err("http://[::1]:abc/", CC_E_FORMAT);
    norm_err("http://[::1]:0/", CC_E_FORMAT);
    norm_err("http://[127.0.0.1]/", CC_E_FORMAT);
}

static void test_normalize_hosts(void **state)
{
    (void)state;
    norm_ok("http://Ex_am-ple.COM./x", "http://ex_am-ple.com/x");
    norm_ok("http://ex%41mple.com/", "http://example.com/");
    norm_ok("http://localhost:8080/", "http://localhost:8080/");
    norm_ok("http://a.b.c.d.e.f.example/", "http://a.b.c.d.e.f.example/");
    norm_err("http://exa mple.com/", CC_E_FORMAT);
    norm_err("http://ex\xc3\xa4mple.com/", CC_E_FORMAT);
    norm_err("http://ex%c3%a4mple.com/", CC_E_FORMAT);
    norm_err("http://a%2fb/", CC_E_FORMAT);
    norm_err("http://a%zz/", CC_E_FORMAT);
    norm_err("http://a%2/", CC_E_FORMAT);
    norm_err("http://a%00b/", CC_E_FORMAT);
    norm_err("http://a*b/", CC_E_FORMAT);
    norm_err("http:///", CC_E_FORMAT);
    norm_err("http://", CC_E_FORMAT);
    norm_err("http:", CC_E_FORMAT);
    norm_err("http://:80/", CC_E_FORMAT);
    norm_err("http://./", CC_E_FORMAT);
    norm_err("http://a..b/", CC_E_FORMAT);
    norm_err("http://.a/", CC_E_FORMAT);
    norm_err("http://a../", CC_E_FORMAT);
    /* host length: 255 bytes fit, 256 do not */
    char *h = repeat("http://", 'a', 255, "/");
    char want[URL_MAX];
    snprintf(want, sizeof want, "%s", h);
    norm_ok(h, want);
    norm_err(repeat("http://", 'a', 256, "/"), CC_E_LIMIT);
    /* a trailing dot does not count */
    char in[URL_MAX];
    snprintf(in, sizeof in, "%s", repeat("http://", 'b', 255, "./"));
    snprintf(want, sizeof want, "%s", repeat("http://", 'b', 255, "/"));
    norm_ok(in, want);
}

static void test_normalize_userinfo(void **state)
{
    (void)state;
    norm_err("http://user:pass@a.com/", CC_E_UNSUPPORTED);
    norm_err("http://user@a.com/", CC_E_UNSUPPORTED);
    norm_err("http://@a.com/", CC_E_UNSUPPORTED);
    norm_err("http://a@b@c/", CC_E_UNSUPPORTED);
    norm_err("http://evil.com@127.0.0.1/", CC_E_UNSUPPORTED);
    norm_err("http://:@a.com/", CC_E_UNSUPPORTED);
    /* an '@' after the authority is only a path or query character */
    norm_ok("http://a.com/@x?y@z", "http://a.com/@x?y@z");
}

static void test_normalize_schemes(void **state)
{
    (void)state;
    norm_err("ftp://a/", CC_E_UNSUPPORTED);
    norm_err("javascript:alert(1)", CC_E_UNSUPPORTED);
    norm_err("JavaScript:alert(1)", CC_E_UNSUPPORTED);
    norm_err("data:text/plain,x", CC_E_UNSUPPORTED);
    norm_err("mailto:x@y.com", CC_E_UNSUPPORTED);
    norm_err("file:///etc/passwd", CC_E_UNSUPPORTED);
    norm_err("httpx://a/", CC_E_UNSUPPORTED);
    norm_err("ws://a/", CC_E_UNSUPPORTED);
    norm_err("localhost:8080/x", CC_E_UNSUPPORTED);
    norm_err("//a/x", CC_E_FORMAT);
    norm_err("/x", CC_E_FORMAT);
    norm_err("a/b", CC_E_FORMAT);
    norm_err("", CC_E_FORMAT);
    norm_err("1http://a/", CC_E_FORMAT);
    norm_err("ht tp://a/", CC_E_FORMAT);
    norm_err(":http://a/", CC_E_FORMAT);
    norm_ok("https://a/", "https://a/");
}

static void test_normalize_limits(void **state)
{
    (void)state;
    char out[URL_MAX];
    /* 2047 bytes in and out: fits */
    const char *u = repeat("http://a/", 'x', URL_MAX - 1 - 9, "");
    assert_int_equal(strlen(u), URL_MAX - 1);
    norm_ok(u, u);
    /* 2048 bytes in */
    norm_err(repeat("http://a/", 'x', URL_MAX - 9, ""), CC_E_LIMIT);
    /* much longer, mostly whitespace: the raw length counts */
    norm_err(repeat("http://a/", ' ', 4 * URL_MAX, "x"), CC_E_LIMIT);
    /* short in, too long after percent-encoding */
    norm_err(repeat("http://a/", ' ', 1000, "x"), CC_E_LIMIT);
    /* percent-decoding can make a long input short */
    norm_ok(repeat("http://a/", 'x', 1, "%41%41%41%41%41%41%41%41%41%41"), "http://a/xAAAAAAAAAA");

    /* the caller's cap */
    assert_int_equal(url_normalize("http://a/xyz", out, 13), CC_OK);
    assert_string_equal(out, "http://a/xyz");
    assert_int_equal(url_normalize("http://a/xyz", out, 12), CC_E_LIMIT);
    assert_int_equal(url_normalize("http://a/xyz", out, 0), CC_E_LIMIT);
    assert_int_equal(url_normalize(NULL, out, sizeof out), CC_E_INVAL);
}

/* ---- resolve ------------------------------------------------------------------------------- */

static const char *const RFC_BASE = "http://a/b/c/d;p?q";

static void test_resolve_rfc_normal(void **state)
{
    (void)state;
    /* RFC 3986 §5.4.1, with our canonical form: fragments dropped, "/" for an empty path */
    res_err(RFC_BASE, "g:h", CC_E_UNSUPPORTED);
    res_ok(RFC_BASE, "g", "http://a/b/c/g");
    res_ok(RFC_BASE, "./g", "http://a/b/c/g");
    res_ok(RFC_BASE, "g/", "http://a/b/c/g/");
    res_ok(RFC_BASE, "/g", "http://a/g");
    res_ok(RFC_BASE, "//g", "http://g/");
    res_ok(RFC_BASE, "?y", "http://a/b/c/d;p?y");
    res_ok(RFC_BASE, "g?y", "http://a/b/c/g?y");
    res_ok(RFC_BASE, "#s", "http://a/b/c/d;p?q");
    res_ok(RFC_BASE, "g#s", "http://a/b/c/g");
    res_ok(RFC_BASE, "g?y#s", "http://a/b/c/g?y");
    res_ok(RFC_BASE, ";x", "http://a/b/c/;x");
    res_ok(RFC_BASE, "g;x", "http://a/b/c/g;x");
    res_ok(RFC_BASE, "g;x?y#s", "http://a/b/c/g;x?y");
    res_ok(RFC_BASE, "", "http://a/b/c/d;p?q");
    res_ok(RFC_BASE, ".", "http://a/b/c/");
    res_ok(RFC_BASE, "./", "http://a/b/c/");
    res_ok(RFC_BASE, "..", "http://a/b/");
    res_ok(RFC_BASE, "../", "http://a/b/");
    res_ok(RFC_BASE, "../g", "http://a/b/g");
    res_ok(RFC_BASE, "../..", "http://a/");
    res_ok(RFC_BASE, "../../", "http://a/");
    res_ok(RFC_BASE, "../../g", "http://a/g");
}

static void test_resolve_rfc_abnormal(void **state)
{
    (void)state;
    /* RFC 3986 §5.4.2 */
    res_ok(RFC_BASE, "../../../g", "http://a/g");
    res_ok(RFC_BASE, "../../../../g", "http://a/g");
    res_ok(RFC_BASE, "/./g", "http://a/g");
    res_ok(RFC_BASE, "/../g", "http://a/g");
    res_ok(RFC_BASE, "g.", "http://a/b/c/g.");
    res_ok(RFC_BASE, ".g", "http://a/b/c/.g");
    res_ok(RFC_BASE, "g..", "http://a/b/c/g..");
    res_ok(RFC_BASE, "..g", "http://a/b/c/..g");
    res_ok(RFC_BASE, "./../g", "http://a/b/g");
    res_ok(RFC_BASE, "./g/.", "http://a/b/c/g/");
    res_ok(RFC_BASE, "g/./h", "http://a/b/c/g/h");
    res_ok(RFC_BASE, "g/../h", "http://a/b/c/h");
    res_ok(RFC_BASE, "g;x=1/./y", "http://a/b/c/g;x=1/y");
    res_ok(RFC_BASE, "g;x=1/../y", "http://a/b/c/y");
    res_ok(RFC_BASE, "g?y/./x", "http://a/b/c/g?y/./x");
    res_ok(RFC_BASE, "g?y/../x", "http://a/b/c/g?y/../x");
    res_ok(RFC_BASE, "g#s/./x", "http://a/b/c/g");
    res_ok(RFC_BASE, "g#s/../x", "http://a/b/c/g");
    /* the non-strict reading, as browsers do */
    res_ok(RFC_BASE, "http:g", "http://a/b/c/g");
}

static void test_resolve_more(void **state)
{
    (void)state;
    /* protocol-relative takes the base scheme */
    res_ok("https://a/x", "//cdn.example/y.jpg", "https://cdn.example/y.jpg");
    res_ok("http://a/x", "//cdn.example:8080/y.jpg", "http://cdn.example:8080/y.jpg");
    res_ok("https://a/x", "\\\\cdn.example\\y", "https://cdn.example/y");
    res_ok("https://a/x", "//cdn.example", "https://cdn.example/");
    res_err("https://a/x", "//user@cdn.example/", CC_E_UNSUPPORTED);
    res_err("https://a/x", "//", CC_E_FORMAT);
    /* absolute references */
    res_ok("http://a/x", "https://b/y", "https://b/y");
    res_ok("http://a/x", "HTTPS://B:443/Y#f", "https://b/Y");
    res_ok("http://a/b/c", "http://other/./d/../e", "http://other/e");
    res_ok("http://a/b/c", "https:x", "https://x/");
    res_ok("http://a/b/c", "http:/x", "http://a/x");
    res_ok("http://a/b/c", "HTTP:x", "http://a/b/x");
    res_ok("https://a/b/c", "https://x", "https://x/");
    res_ok("http://a/b/c", "http:", "http://a/b/c");
    res_err("http://a/b", "data:image/png;base64,AAAA", CC_E_UNSUPPORTED);
    res_err("http://a/b", "javascript:void(0)", CC_E_UNSUPPORTED);
    res_err("http://a/b", " JaVa\tScRiPt:alert(1)", CC_E_UNSUPPORTED);
    res_err("http://a/b", "mailto:a@b.c", CC_E_UNSUPPORTED);
    res_err("http://a/b", "ftp://x/y", CC_E_UNSUPPORTED);
    res_err("http://a/b", "c:\\x", CC_E_UNSUPPORTED);
    /* query-only, fragment-only, empty, whitespace */
    res_ok("http://a/b/c?x=1#f", "?y=2", "http://a/b/c?y=2");
    res_ok("http://a/b/c?x=1", "?", "http://a/b/c");
    res_ok("http://a/b/c?x=1", "#top", "http://a/b/c?x=1");
    res_ok("http://a/b/c?x=1", "", "http://a/b/c?x=1");
    res_ok("http://a/b/c?x=1", " \t\n ", "http://a/b/c?x=1");
    res_ok(RFC_BASE, " \n g \t", "http://a/b/c/g");
    /* relative paths against bases of every shape */
    res_ok("http://a", "g", "http://a/g");
    res_ok("http://a/", "../g", "http://a/g");
    res_ok("http://a/dir/page.html", "img.png", "http://a/dir/img.png");
    res_ok("http://a/dir/page.html", "../img/x.png?v=1#top", "http://a/img/x.png?v=1");
    res_ok("http://a/dir/page.html?q=/x/y", "img.png", "http://a/dir/img.png");
    res_ok("http://a/dir/", "sub\\x.png", "http://a/dir/sub/x.png");
    res_ok("http://a/dir/", "a b.png", "http://a/dir/a%20b.png");
    res_ok("http://a/dir/", "%7e%2e%2e/x", "http://a/dir/~../x");
    res_ok("http://a/dir/", "%2e%2e/x", "http://a/x");
    res_ok("http://a/dir/", "1:x", "http://a/dir/1:x");
    res_ok("http://a:8080/x/y", "/z", "http://a:8080/z");
    res_ok("http://[::1]:8080/a/b", "c", "http://[::1]:8080/a/c");
    res_ok("https://2130706433/a/b", "c", "https://127.0.0.1/a/c");
    /* the base is normalized too */
    res_ok("HTTP://A/b/../c/d#x", "e", "http://a/c/e");
    res_err("ftp://a/b", "c", CC_E_UNSUPPORTED);
    res_err("/a/b", "c", CC_E_FORMAT);
    res_err("http://a/b", "//bad host/", CC_E_FORMAT);
    res_err("http://a/b", "http://[::1", CC_E_FORMAT);
}

static void test_resolve_limits(void **state)
{
    (void)state;
    char out[URL_MAX];
    char base[URL_MAX];
    /* base and ref fit, the joined URL does not */
    snprintf(base, sizeof base, "%s", repeat("http://a/", 'b', 1500, "/"));
    res_err(base, repeat("", 'c', 1000, ""), CC_E_LIMIT);
    /* joined longer than URL_MAX, but dot segments bring it back under */
    char *ref = repeat("../", 'y', 1000, "");
    char want[URL_MAX];
    snprintf(want, sizeof want, "http://a/%s", ref + 3);
    res_ok(base, ref, want);
    /* a ref or base of URL_MAX bytes is refused before anything else */
    res_err(base, repeat("", 'c', URL_MAX, ""), CC_E_LIMIT);
    res_err(repeat("http://a/", 'b', URL_MAX, ""), "c", CC_E_LIMIT);
    /* the caller's cap */
    assert_int_equal(url_resolve("http://a/b", "c", out, 11), CC_OK);
    assert_string_equal(out, "http://a/c");
    assert_int_equal(url_resolve("http://a/b", "c", out, 10), CC_E_LIMIT);
    assert_int_equal(url_resolve(NULL, "c", out, sizeof out), CC_E_INVAL);
    assert_int_equal(url_resolve("http://a/", NULL, out, sizeof out), CC_E_INVAL);
}

/* ---- split and authority ------------------------------------------------------------------- */

static void test_split(void **state)
{
    (void)state;
    url_parts p;
    const char *u = "http://example.com/x?y";
    assert_int_equal(url_split(u, &p), CC_OK);
    assert_string_equal(p.scheme, "http");
    assert_string_equal(p.host, "example.com");
    assert_int_equal(p.port, 80);
    assert_int_equal(p.is_ip, 0);
    assert_ptr_equal(p.path_query, u + 18);
    assert_string_equal(p.path_query, "/x?y");

    u = "https://[2001:db8::1]:8443/";
    assert_int_equal(url_split(u, &p), CC_OK);
    assert_string_equal(p.scheme, "https");
    assert_string_equal(p.host, "2001:db8::1");
    assert_int_equal(p.port, 8443);
    assert_int_equal(p.is_ip, 6);
    assert_string_equal(p.path_query, "/");

    u = "http://127.0.0.1:8080/a";
    assert_int_equal(url_split(u, &p), CC_OK);
    assert_string_equal(p.host, "127.0.0.1");
    assert_int_equal(p.port, 8080);
    assert_int_equal(p.is_ip, 4);
    assert_string_equal(p.path_query, "/a");

    u = "https://a.b/";
    assert_int_equal(url_split(u, &p), CC_OK);
    assert_int_equal(p.port, 443);
    assert_string_equal(p.path_query, "/");

    u = "https://[::ffff:10.0.0.1]/?q";
    assert_int_equal(url_split(u, &p), CC_OK);
    assert_string_equal(p.host, "::ffff:10.0.0.1");
    assert_int_equal(p.is_ip, 6);
    assert_string_equal(p.path_query, "/?q");

    static const char *const not_canonical[] = {
        "HTTP://a/",
        "http://a",
        "http://a/#f",
        "http://a:80/",
        "http://a/./b",
        "http://2130706433/",
        "ftp://a/",
        "",
        " http://a/",
        "http://a/?",
        "http://a/%7e",
        "http://a/%2f",
        "http://[::01]/",
        "http://a./",
        "http://u@a/",
        "http://a/b c",
        "/x",
        "http://a/\\",
    };
    for (size_t i = 0; i < sizeof not_canonical / sizeof not_canonical[0]; i++) {
        if (url_split(not_canonical[i], &p) != CC_E_FORMAT)
            fail_msg("url_split(\"%s\") accepted a non-canonical URL", not_canonical[i]);
    }
    assert_int_equal(url_split(repeat("http://a/", 'x', URL_MAX, ""), &p), CC_E_FORMAT);
}

static void test_authority(void **state)
{
    (void)state;
    char out[64];
    assert_int_equal(url_authority("http://example.com/x", out, sizeof out), CC_OK);
    assert_string_equal(out, "http://example.com:80");
    assert_int_equal(url_authority("https://example.com/", out, sizeof out), CC_OK);
    assert_string_equal(out, "https://example.com:443");
    assert_int_equal(url_authority("http://[::1]:8080/a?b", out, sizeof out), CC_OK);
    assert_string_equal(out, "http://[::1]:8080");
    assert_int_equal(url_authority("https://10.0.0.1:8443/", out, sizeof out), CC_OK);
    assert_string_equal(out, "https://10.0.0.1:8443");
    /* the cap: 22 bytes hold "http://example.com:80" exactly */
    assert_int_equal(url_authority("http://example.com/", out, 22), CC_OK);
    assert_string_equal(out, "http://example.com:80");
    assert_int_equal(url_authority("http://example.com/", out, 21), CC_E_LIMIT);
    assert_int_equal(url_authority("http://example.com", out, sizeof out), CC_E_FORMAT);
    assert_int_equal(url_authority("example.com", out, sizeof out), CC_E_FORMAT);
    /* a 255-byte host still fits a URL_MAX buffer */
    char big[URL_MAX];
    const char *u = repeat("https://", 'h', 255, ":65535/");
    assert_int_equal(url_authority(u, big, sizeof big), CC_OK);
    assert_int_equal(strlen(big), 8 + 255 + 6);
}

/* ---- peers: glibc's address parsers and printers -------------------------------------------- */

static uint64_t rng_state = 0x9E3779B97F4A7C15u;
static uint32_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (uint32_t)(rng_state >> 16);
}

/* Writes v in base 8, 10 or 16 (inet_aton's spellings). */
static int write_part(char *dst, size_t cap, uint32_t v, int base)
{
    if (base == 16)
        return snprintf(dst, cap, rnd() & 1 ? "0x%x" : "0X%X", v);
    if (base == 8)
        return snprintf(dst, cap, "0%o", v);
    return snprintf(dst, cap, "%u", v);
}

static void test_ipv4_peer_inet_aton(void **state)
{
    (void)state;
    for (int iter = 0; iter < 2000; iter++) {
        uint32_t a = rnd();
        if (iter % 4 == 0)
            a &= 0xFF0000FFu; /* zeros in the middle, as in 127.0.0.1 */
        int parts = 1 + (int)(rnd() % 4);
        char host[128];
        size_t n = 0;
        for (int k = 0; k < parts; k++) {
            uint32_t v;
            if (k < parts - 1)
                v = (a >> (24 - 8 * k)) & 255u;
            else
                v = parts == 1 ? a : a & (uint32_t)((1ull << (8 * (5 - parts))) - 1);
            if (k > 0)
                host[n++] = '.';
            n += (size_t)write_part(host + n, sizeof host - n, v, (int[]){8, 10, 16}[rnd() % 3]);
        }
        struct in_addr ia;
        assert_int_equal(inet_aton(host, &ia), 1);
        char want[64], url[160], out[URL_MAX];
        char dotted[INET_ADDRSTRLEN];
        inet_ntop(AF_INET, &ia, dotted, sizeof dotted);
        snprintf(url, sizeof url, "http://%s/", host);
        snprintf(want, sizeof want, "http://%s/", dotted);
        if (url_normalize(url, out, sizeof out) != CC_OK)
            fail_msg("url_normalize(\"%s\"): %s", url, cc_errmsg());
        if (strcmp(out, want) != 0)
            fail_msg("\"%s\" -> \"%s\", inet_aton says \"%s\"", url, out, want);
    }
}

static void test_ipv6_peer_inet(void **state)
{
    (void)state;
    for (int iter = 0; iter < 3000; iter++) {
        uint8_t a[16];
        for (int k = 0; k < 8; k++) {
            uint32_t r = rnd();
            uint16_t w = (r & 3) ? 0 : (uint16_t)(r >> 8); /* mostly zero groups: long runs */
            if ((r & 0x30) == 0x10)
                w = (uint16_t)((r >> 8) & 0xF);
            a[2 * k] = (uint8_t)(w >> 8);
            a[2 * k + 1] = (uint8_t)w;
        }
        if (iter % 50 == 0) { /* IPv4-mapped */
            memset(a, 0, 10);
            a[10] = a[11] = 0xFF;
        }
        char text[INET6_ADDRSTRLEN], url[160], out[URL_MAX];
        assert_non_null(inet_ntop(AF_INET6, a, text, sizeof text));

        /* the fully expanded upper-case spelling normalizes to the same address */
        char full[64];
        size_t n = 0;
        for (int k = 0; k < 8; k++)
            n += (size_t)snprintf(full + n, sizeof full - n, "%s%04X", k ? ":" : "",
                                  (unsigned)(a[2 * k] << 8 | a[2 * k + 1]));
        snprintf(url, sizeof url, "http://[%s]/", full);
        if (url_normalize(url, out, sizeof out) != CC_OK)
            fail_msg("url_normalize(\"%s\"): %s", url, cc_errmsg());
        url_parts p;
        assert_int_equal(url_split(out, &p), CC_OK);
        assert_int_equal(p.is_ip, 6);
        uint8_t back[16];
        assert_int_equal(inet_pton(AF_INET6, p.host, back), 1);
        assert_memory_equal(back, a, 16);

        /* glibc prints RFC 5952 text except where it writes an embedded IPv4 (::a.b.c.d) */
        int zero6 = 1;
        for (int k = 0; k < 12; k++)
            zero6 &= a[k] == 0;
        if (!zero6 || strchr(text, '.') == NULL) {
            if (strcmp(p.host, text) != 0)
                fail_msg("[%s] -> \"%s\", inet_ntop says \"%s\"", full, p.host, text);
        }
        /* and our own text reads back the same */
        snprintf(url, sizeof url, "http://[%s]/", text);
        char out2[URL_MAX];
        assert_int_equal(url_normalize(url, out2, sizeof out2), CC_OK);
        assert_string_equal(out2, out);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_normalize_case),
        cmocka_unit_test(test_normalize_ports),
        cmocka_unit_test(test_normalize_dot_segments),
        cmocka_unit_test(test_normalize_percent),
        cmocka_unit_test(test_normalize_fragment),
        cmocka_unit_test(test_normalize_whitespace),
        cmocka_unit_test(test_normalize_backslashes),
        cmocka_unit_test(test_normalize_numeric_hosts),
        cmocka_unit_test(test_normalize_ipv6),
        cmocka_unit_test(test_normalize_hosts),
        cmocka_unit_test(test_normalize_userinfo),
        cmocka_unit_test(test_normalize_schemes),
        cmocka_unit_test(test_normalize_limits),
        cmocka_unit_test(test_resolve_rfc_normal),
        cmocka_unit_test(test_resolve_rfc_abnormal),
        cmocka_unit_test(test_resolve_more),
        cmocka_unit_test(test_resolve_limits),
        cmocka_unit_test(test_split),
        cmocka_unit_test(test_authority),
        cmocka_unit_test(test_ipv4_peer_inet_aton),
        cmocka_unit_test(test_ipv6_peer_inet),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
