/* tests/fuzz/fuzz_url.c — libFuzzer target for the URL normalizer (crawler/url.h) and the SSRF
 * guard's string parser (crawler/ssrf.h).
 *
 * The input is split at its first NUL or newline into (base, ref); without either, the whole
 * input is both. Properties checked, beyond "no crash, no out-of-bounds access" (ASan/UBSan):
 *   - url_normalize(base) output is canonical: shorter than URL_MAX, printable ASCII without
 *     spaces or '#', normalizing it again gives the same string, url_split accepts it with a sane
 *     port, scheme and path, and url_authority works on it;
 *   - its host agrees with glibc: an IPv4 host reads back with inet_pton(AF_INET), an IPv6 host
 *     with inet_pton(AF_INET6), and a DNS name is never something inet_aton reads as an address
 *     (a numeric spelling that escaped canonicalization would dodge the SSRF checks on names),
 *     and ssrf_check_ip reads every IP host;
 *   - the caller's cap is honoured exactly (strlen + 1 fits, strlen does not);
 *   - url_resolve(normalized base, ref), when OK, is canonical in the same way; resolving the
 *     empty reference gives the base back; a base url_normalize refuses is refused by url_resolve;
 *   - ssrf_check_ip on the input bytes returns a verdict in range, SSRF_FAMILY exactly when
 *     inet_pton reads neither family, and otherwise the verdict ssrf_check gives on the sockaddr
 *     inet_pton makes of it (port from the input's last two bytes).
 * With CLIPCRAWL_FUZZ_SEED_DIR set, LLVMFuzzerInitialize writes seeds covering every construct the
 * parser knows (numeric hosts, IPv6, dot segments, escapes, backslashes, references).
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crawler/ssrf.h"
#include "crawler/url.h"
#include "tests/fuzz/fuzz_util.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond) FUZZ_CHECK("fuzz_url", cond)

static ssrf_policy *policy;

static const char *const seeds[] = {
    "http://example.com/a/b/../c?q=1#f\n../d/./e?x#y",
    "HTTPS://User@Example.COM:443/%7e%2F%zz%\n//cdn.example/x.jpg",
    "http://2130706433/\n?only=query",
    "http://0x7f.1:8080/\n#frag",
    "http://0177.0.0.1./x\\y\\..\\z\nhttp:g",
    "http://127.0.1/\n\\\\host\\path",
    "http://[::ffff:127.0.0.1]/\n[::1]",
    "http://[2001:DB8:0:0:1:0:0:1]:8443/p\n//[fe80::1%25eth0]/",
    "http://[::1.2.3.4]/\n64:ff9b::7f00:1",
    "  ht\ttp://a\nb/c d\x01\x7f\xc3\xa9  ",
    "http://a/b/c/d;p?q\ng;x=1/../y",
    "http://a/b/c/d;p?q\n../../../../g",
    "http://a/b/c/d;p?q\njavascript:alert(1)",
    "https://a/b\ndata:image/png;base64,AAAA",
    "http:///a..b/\nhttps:x",
    "http://1.2.3.4.5/\nhttp://256.1.1.1/",
    "http://0x100000000/\nhttp://4294967295/",
    "http://a:0/\nhttp://a:65536/",
    "http://%31%32%37.0.0.1/\nhttp://ex%41mple.com./",
    "169.254.169.254",
    "::ffff:10.0.0.1",
    "2001:0:4136:e378:8000:63bf:80ff:fffe",
};

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    if (ssrf_policy_new(&policy) != CC_OK || ssrf_policy_allow_net(policy, "10.0.0.0/8") != CC_OK)
        abort();
    fuzz_write_text_seeds("url", seeds, NULL, sizeof seeds / sizeof seeds[0]);
    return 0;
}

/* A NUL-terminated heap copy of p[0..n) (exact size, so ASan sees any overread). */
static char *dup_n(const uint8_t *p, size_t n)
{
    char *s = malloc(n + 1);
    if (s == NULL)
        abort();
    memcpy(s, p, n);
    s[n] = '\0';
    return s;
}

/* Everything a canonical URL must satisfy. */
static void check_canonical(const char *url)
{
    size_t n = strlen(url);
    CHECK(n > 0 && n < URL_MAX);
    for (size_t i = 0; i < n; i++)
        CHECK(url[i] > 0x20 && url[i] < 0x7F && url[i] != '#');

    char again[URL_MAX];
    CHECK(url_normalize(url, again, sizeof again) == CC_OK);
    CHECK(strcmp(again, url) == 0);
    /* the cap is exact */
    char *tight = malloc(n + 1);
    CHECK(tight != NULL);
    CHECK(url_normalize(url, tight, n + 1) == CC_OK);
    CHECK(strcmp(tight, url) == 0);
    CHECK(url_normalize(url, tight, n) == CC_E_LIMIT);
    free(tight);

    url_parts p;
    CHECK(url_split(url, &p) == CC_OK);
    CHECK(strcmp(p.scheme, "http") == 0 || strcmp(p.scheme, "https") == 0);
    CHECK(p.port >= 1 && p.port <= 65535);
    CHECK(p.host[0] != '\0');
    CHECK(p.path_query > url && p.path_query < url + n && p.path_query[0] == '/');
    CHECK(strncmp(url, p.scheme, strlen(p.scheme)) == 0);
    /* no backslash and no dot segment in the path */
    size_t plen = strcspn(p.path_query, "?");
    CHECK(memchr(p.path_query, '\\', plen) == NULL);
    for (size_t i = 0; i < plen; i++) {
        if (p.path_query[i] != '/')
            continue;
        const char *seg = p.path_query + i + 1;
        size_t sl = strcspn(seg, "/?");
        CHECK(!(sl == 1 && seg[0] == '.') && !(sl == 2 && seg[0] == '.' && seg[1] == '.'));
    }

    unsigned char addr[16];
    struct in_addr ia;
    if (p.is_ip == 4)
        CHECK(inet_pton(AF_INET, p.host, addr) == 1);
    else if (p.is_ip == 6)
        CHECK(inet_pton(AF_INET6, p.host, addr) == 1);
    else
        CHECK(p.is_ip == 0 && inet_aton(p.host, &ia) == 0);
    /* the guard reads every IP host the normalizer writes */
    if (p.is_ip != 0)
        CHECK(ssrf_check_ip(policy, p.host, p.port) != SSRF_FAMILY);

    char auth[URL_MAX];
    CHECK(url_authority(url, auth, sizeof auth) == CC_OK);
    CHECK(strncmp(auth, url, strlen(p.scheme) + 3) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t cut = 0;
    while (cut < size && data[cut] != '\0' && data[cut] != '\n')
        cut++;
    char *base = dup_n(data, cut);
    char *ref = cut < size ? dup_n(data + cut + 1, size - cut - 1) : dup_n(data, size);

    char norm[URL_MAX], res[URL_MAX];
    cc_status st = url_normalize(base, norm, sizeof norm);
    CHECK(st == CC_OK || st == CC_E_FORMAT || st == CC_E_UNSUPPORTED || st == CC_E_LIMIT);
    if (st == CC_OK) {
        check_canonical(norm);
        cc_status rs = url_resolve(norm, ref, res, sizeof res);
        CHECK(rs == CC_OK || rs == CC_E_FORMAT || rs == CC_E_UNSUPPORTED || rs == CC_E_LIMIT);
        if (rs == CC_OK)
            check_canonical(res);
        CHECK(url_resolve(norm, "", res, sizeof res) == CC_OK);
        CHECK(strcmp(res, norm) == 0);
    } else {
        CHECK(url_resolve(base, ref, res, sizeof res) != CC_OK);
    }

    /* the reference alone, as an absolute URL */
    st = url_normalize(ref, norm, sizeof norm);
    if (st == CC_OK)
        check_canonical(norm);

    /* the SSRF guard's parser on the raw bytes (up to the first NUL), on a port taken from the
     * last two bytes; the sockaddr path must give the same verdict */
    char *ip = dup_n(data, size);
    int port = size >= 2 ? data[size - 2] << 8 | data[size - 1] : 443;
    ssrf_verdict v = ssrf_check_ip(policy, ip, port);
    CHECK((unsigned)v < SSRF_VERDICT_COUNT);
    struct sockaddr_in in4;
    struct sockaddr_in6 in6;
    memset(&in4, 0, sizeof in4);
    memset(&in6, 0, sizeof in6);
    if (inet_pton(AF_INET, ip, &in4.sin_addr) == 1) {
        in4.sin_family = AF_INET;
        in4.sin_port = htons((uint16_t)port);
        CHECK(v != SSRF_FAMILY);
        CHECK(ssrf_check(policy, (const struct sockaddr *)&in4, sizeof in4) == v);
    } else if (inet_pton(AF_INET6, ip, &in6.sin6_addr) == 1) {
        in6.sin6_family = AF_INET6;
        in6.sin6_port = htons((uint16_t)port);
        CHECK(v != SSRF_FAMILY);
        CHECK(ssrf_check(policy, (const struct sockaddr *)&in6, sizeof in6) == v);
    } else {
        CHECK(v == SSRF_FAMILY);
    }

    free(ip);
    free(ref);
    free(base);
    return 0;
}
