/* tests/fuzz/fuzz_robots.c — libFuzzer target for robots_parse and robots_is_allowed
 * (crawler/robots.h).
 *
 * Properties checked on every input, beyond "no crash, no out-of-bounds read" (ASan/UBSan) and
 * "no timeout" (parsing is linear, matching O(path × pattern); run.sh passes -timeout=10):
 *   - parsing never fails, for our token "clipcrawl" and for another token ("other-bot");
 *   - "/robots.txt" is always allowed;
 *   - the rule count is at most ROBOTS_MAX_RULES, the sitemap count at most ROBOTS_MAX_SITEMAPS,
 *     every sitemap is a non-empty string; the crawl-delay is -1 or in [0, 86400];
 *   - the verdicts for fixed paths and for paths made from the input are the same when asked
 *     twice, and the same for two spellings of one path (escapes of unreserved characters and
 *     lower-case hex vs the characters themselves and upper-case hex);
 *   - the same file with every LF turned into CR (line ends are LF, CR or CRLF; blank lines mean
 *     nothing) gives the same rules, sitemaps, crawl-delay and verdicts.
 * With CLIPCRAWL_FUZZ_SEED_DIR set, LLVMFuzzerInitialize writes robots.txt seeds (RFC examples,
 * wildcards, misspellings, crawl-delay, sitemaps, BOM, CR line ends) into that directory.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crawler/robots.h"
#include "tests/fuzz/fuzz_util.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond) FUZZ_CHECK("fuzz_robots", cond)

static const char *const seeds[] = {
    "User-Agent: *\nDisallow: *.gif$\nDisallow: /example/\nAllow: /publications/\n\n"
    "User-Agent: foobot\nDisallow:/\nAllow:/example/page.html\nAllow:/example/allowed.gif\n\n"
    "User-Agent: barbot\nUser-Agent: bazbot\nDisallow: /example/page.html\n\nUser-Agent: quxbot\n",
    "user-agent: ClipCrawl/1.0\ndisallow: /foo\nallow: /foo/bar$\ncrawl-delay: 2.5\n\n"
    "user-agent: clipcrawl\ndisallow: /baz*qux\n",
    "User-agent: *\nDisallow: /*.php$\nDisallow: /fish*\nAllow: /fish/\nDisallow: /*?\n"
    "Allow: /$\nDisallow: /*a*a*a*a*a*a*a*a*b\n",
    "useragent: clipcrawl\ndissallow: /a\nDisallow /b\nuser agent: other-bot\ndisalow: /c\n"
    "Sitemap https://x.test/s.xml\nsitemap: https://x.test/t.xml # c\n",
    "\xef\xbb\xbfUser-agent: *\rDisallow: /caf\xc3\xa9\rAllow: /%7euser\r\nDisallow: /a%2fb\r",
    "User-agent: other-bot\nCrawl-delay: 0.5\nDisallow: /\n\nUser-agent: *\nCrawl-delay: 99999\n"
    "Disallow: private/\nAllow: /private/ok # comment\n",
};

/* Fixed paths that hit the seeds' rules: root, wildcards, anchors, escapes, queries. */
static const char *const paths[] = {
    "/",
    "/robots.txt",
    "/example/page.html",
    "/a.gif",
    "/fish/salmon.php",
    "/foo/bar",
    "/index.php?x=1",
    "/caf%C3%A9",
    "/%7Euser/x",
    "/a%2Fb",
    "/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaab",
    "/private/ok",
};

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_write_text_seeds("robots", seeds, NULL, sizeof seeds / sizeof seeds[0]);
    return 0;
}

enum { DERIVED = 4, PATH_CAP = 200 };

/* Paths made from the input: "/" + up to 60 bytes from a few offsets; NUL becomes 'x' and '%'
 * becomes 'y' (so that the second spelling below cannot change where escapes start). */
static void derive_paths(const uint8_t *data, size_t size, char out[DERIVED][PATH_CAP])
{
    for (int k = 0; k < DERIVED; k++) {
        size_t from = size ? (size * (size_t)k / DERIVED) : 0, n = 0;
        out[k][n++] = '/';
        for (size_t i = from; i < size && n < 61; i++) {
            char c = (char)data[i];
            out[k][n++] = c == '\0' ? 'x' : c == '%' ? 'y' : c;
        }
        out[k][n] = '\0';
    }
}

/* Another spelling of p with the same canonical form: letters and digits as lower-case hex
 * escapes every other time, bytes outside printable ASCII as lower-case hex escapes. */
static void respell(const char *p, char *out, size_t cap)
{
    static const char hex[] = "0123456789abcdef";
    size_t n = 0;
    int flip = 0;
    for (; *p && n + 4 < cap; p++) {
        unsigned char c = (unsigned char)*p;
        int alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
        if (c <= 0x20 || c >= 0x7f || (alnum && (flip ^= 1))) {
            out[n++] = '%';
            out[n++] = hex[c >> 4];
            out[n++] = hex[c & 15];
        } else {
            out[n++] = (char)c;
        }
    }
    out[n] = '\0';
}

static void check_object(const robots *r, uint8_t *verdicts, char derived[DERIVED][PATH_CAP])
{
    CHECK(robots_is_allowed(r, "/robots.txt") == 1);
    CHECK(robots_rule_count(r) <= ROBOTS_MAX_RULES);
    CHECK(robots_sitemap_count(r) <= ROBOTS_MAX_SITEMAPS);
    for (size_t i = 0; i < robots_sitemap_count(r); i++)
        CHECK(robots_sitemap(r, i) != NULL && robots_sitemap(r, i)[0] != '\0');
    CHECK(robots_sitemap(r, robots_sitemap_count(r)) == NULL);
    double d = robots_crawl_delay(r);
    CHECK(d == -1 || (d >= 0 && d <= 86400));

    size_t np = sizeof paths / sizeof paths[0], k = 0;
    for (size_t i = 0; i < np; i++, k++) {
        verdicts[k] = (uint8_t)robots_is_allowed(r, paths[i]);
        CHECK(verdicts[k] <= 1);
        CHECK(robots_is_allowed(r, paths[i]) == verdicts[k]);
    }
    for (int i = 0; i < DERIVED; i++, k++) {
        verdicts[k] = (uint8_t)robots_is_allowed(r, derived[i]);
        CHECK(robots_is_allowed(r, derived[i]) == verdicts[k]);
        char other[3 * PATH_CAP];
        respell(derived[i], other, sizeof other);
        CHECK(robots_is_allowed(r, other) == verdicts[k]);
    }
}

#define NVERDICTS (sizeof paths / sizeof paths[0] + DERIVED)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* an exact-size heap copy, so that ASan sees any read past the end */
    char *in = malloc(size ? size : 1);
    if (in == NULL)
        return 0;
    memcpy(in, data, size);
    char derived[DERIVED][PATH_CAP];
    derive_paths(data, size, derived);

    static const char *const tokens[] = {"clipcrawl", "other-bot"};
    for (int t = 0; t < 2; t++) {
        robots *r = NULL, *cr = NULL;
        CHECK(robots_parse(in, size, tokens[t], &r) == CC_OK && r != NULL);
        uint8_t v1[NVERDICTS], v2[NVERDICTS];
        check_object(r, v1, derived);

        /* CR line ends instead of LF: the same robots object */
        for (size_t i = 0; i < size; i++)
            in[i] = in[i] == '\n' ? '\r' : (char)data[i];
        CHECK(robots_parse(in, size, tokens[t], &cr) == CC_OK && cr != NULL);
        check_object(cr, v2, derived);
        CHECK(memcmp(v1, v2, sizeof v1) == 0);
        CHECK(robots_rule_count(r) == robots_rule_count(cr));
        CHECK(robots_crawl_delay(r) == robots_crawl_delay(cr));
        CHECK(robots_sitemap_count(r) == robots_sitemap_count(cr));
        for (size_t i = 0; i < robots_sitemap_count(r); i++)
            CHECK(strcmp(robots_sitemap(r, i), robots_sitemap(cr, i)) == 0);
        memcpy(in, data, size);
        robots_free(r);
        robots_free(cr);
    }
    free(in);
    return 0;
}
