/* tests/unit/test_robots.c — robots.txt parsing and matching (crawler/robots.h): the RFC 9309
 * examples, longest match and ties, '*' and '$', percent-encoding, group selection and merging,
 * messy files (misspellings, missing colons, BOM, CR line ends, NUL bytes, long lines, the
 * 500 KiB cut), crawl-delay, sitemaps, the allow-all and disallow-all objects, and a randomized
 * comparison of the indexed matcher against a plain reference matcher written here.
 *
 * Every body is parsed from an exact-size heap copy without a NUL, so that a read past the end
 * is caught by AddressSanitizer (make check).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crawler/robots.h"

/* ---- helpers ------------------------------------------------------------------------------- */

static robots *parse_n(const char *body, size_t n, const char *token)
{
    char *copy = malloc(n ? n : 1);
    assert_non_null(copy);
    memcpy(copy, body, n);
    robots *r = NULL;
    cc_status st = robots_parse(copy, n, token, &r);
    free(copy);
    if (st != CC_OK)
        fail_msg("robots_parse: %s (%s)", cc_status_str(st), cc_errmsg());
    assert_non_null(r);
    return r;
}

static robots *parse_as(const char *body, const char *token)
{
    return parse_n(body, strlen(body), token);
}

static robots *parse(const char *body)
{
    return parse_as(body, "clipcrawl");
}

/* Checks a list of {path, expected} pairs, naming the failing one. */
typedef struct verdict {
    const char *path;
    int allowed;
} verdict;

static void expect_verdicts(const robots *r, const verdict *v, size_t n, const char *what)
{
    for (size_t i = 0; i < n; i++) {
        int got = robots_is_allowed(r, v[i].path);
        if (got != v[i].allowed)
            fail_msg("%s: '%s' is %s, expected %s", what, v[i].path, got ? "allowed" : "disallowed",
                     v[i].allowed ? "allowed" : "disallowed");
    }
}

#define EXPECT(r, what, ...)                                                                       \
    do {                                                                                           \
        static const verdict v_[] = {__VA_ARGS__};                                                 \
        expect_verdicts((r), v_, sizeof v_ / sizeof v_[0], (what));                                \
    } while (0)

/* One rule file, one path: the verdict for token "clipcrawl". */
static int verdict_of(const char *body, const char *path)
{
    robots *r = parse(body);
    int a = robots_is_allowed(r, path);
    robots_free(r);
    return a;
}

/* ---- RFC 9309 examples --------------------------------------------------------------------- */

static const char rfc_simple[] = "User-Agent: *\n"
                                 "Disallow: *.gif$\n"
                                 "Disallow: /example/\n"
                                 "Allow: /publications/\n"
                                 "\n"
                                 "User-Agent: foobot\n"
                                 "Disallow:/\n"
                                 "Allow:/example/page.html\n"
                                 "Allow:/example/allowed.gif\n"
                                 "\n"
                                 "User-Agent: barbot\n"
                                 "User-Agent: bazbot\n"
                                 "Disallow: /example/page.html\n"
                                 "\n"
                                 "User-Agent: quxbot\n"
                                 "\n"
                                 "EOF\n";

static void test_rfc_simple_example(void **state)
{
    (void)state;
    robots *r = parse_as(rfc_simple, "foobot");
    assert_int_equal(robots_rule_count(r), 3);
    EXPECT(r, "foobot", {"/", 0}, {"/example/page.html", 1}, {"/example/allowed.gif", 1},
           {"/example/disallowed.gif", 0}, {"/publications/x", 0}, {"/robots.txt", 1});
    robots_free(r);

    /* barbot and bazbot share one group; the '*' rules do not apply to them */
    static const char *const pair[] = {"barbot", "BazBot"};
    for (int i = 0; i < 2; i++) {
        r = parse_as(rfc_simple, pair[i]);
        assert_int_equal(robots_rule_count(r), 1);
        EXPECT(r, pair[i], {"/example/page.html", 0}, {"/example/page.html?x", 0},
               {"/example/other.html", 1}, {"/a.gif", 1}, {"/", 1});
        robots_free(r);
    }

    /* quxbot has a group without rules: everything allowed, '*' ignored */
    r = parse_as(rfc_simple, "quxbot");
    assert_int_equal(robots_rule_count(r), 0);
    EXPECT(r, "quxbot", {"/example/x", 1}, {"/a.gif", 1}, {"/", 1});
    robots_free(r);

    /* anyone else gets the '*' group */
    r = parse(rfc_simple);
    assert_int_equal(robots_rule_count(r), 3);
    EXPECT(r, "clipcrawl", {"/a.gif", 0}, {"/dir/b.gif", 0}, {"/a.gif?x", 1}, {"/a.gifs", 1},
           {"/example/", 0}, {"/example/page.html", 0}, {"/example", 1},
           {"/publications/paper.gif", 1} /* longer Allow */, {"/publications/paper.pdf", 1},
           {"/", 1});
    robots_free(r);
}

static void test_rfc_longest_match(void **state)
{
    (void)state;
    robots *r = parse_as("User-Agent: foobot\n"
                         "Allow: /example/page/\n"
                         "Disallow: /example/page/disallowed.gif\n",
                         "foobot");
    EXPECT(r, "longest", {"/example/page/", 1}, {"/example/page/a.gif", 1},
           {"/example/page/disallowed.gif", 0}, {"/example/page/disallowed.gifs", 0},
           {"/example/", 1});
    robots_free(r);
}

/* RFC 9309 §2.2.1: two groups for the same agent are merged. */
static void test_merge_groups(void **state)
{
    (void)state;
    robots *r = parse_as("user-agent: ExampleBot\n"
                         "disallow: /foo\n"
                         "disallow: /bar\n"
                         "\n"
                         "user-agent: other\n"
                         "disallow: /other\n"
                         "\n"
                         "user-agent: ExampleBot\n"
                         "disallow: /baz\n",
                         "examplebot");
    assert_int_equal(robots_rule_count(r), 3);
    EXPECT(r, "merged", {"/foo", 0}, {"/bar/x", 0}, {"/baz", 0}, {"/other", 1}, {"/", 1});
    robots_free(r);

    /* '*' groups merge too */
    r = parse("User-agent: *\nDisallow: /a\n\nUser-agent: x\nDisallow: /x\n\n"
              "User-agent: *\nDisallow: /b\n");
    assert_int_equal(robots_rule_count(r), 2);
    EXPECT(r, "star merged", {"/a", 0}, {"/b", 0}, {"/x", 1});
    robots_free(r);
}

/* ---- group selection ----------------------------------------------------------------------- */

static void test_group_selection(void **state)
{
    (void)state;
    /* our group beats '*', wherever it stands */
    static const char specific[] = "User-agent: *\nDisallow: /\n\n"
                                   "User-agent: ClipCrawl/1.0\nDisallow: /private\n";
    robots *r = parse(specific);
    EXPECT(r, "specific", {"/", 1}, {"/public", 1}, {"/private", 0});
    robots_free(r);
    r = parse_as(specific, "otherbot");
    EXPECT(r, "other bot gets *", {"/", 0}, {"/public", 0}, {"/robots.txt", 1});
    robots_free(r);

    /* no group for us and no '*' group: everything allowed */
    r = parse("User-agent: googlebot\nDisallow: /\n");
    assert_int_equal(robots_rule_count(r), 0);
    EXPECT(r, "no group", {"/", 1}, {"/x", 1});
    robots_free(r);

    /* an empty file and a file of comments */
    r = parse("");
    assert_int_equal(robots_rule_count(r), 0);
    assert_int_equal(robots_is_allowed(r, "/x"), 1);
    robots_free(r);
    r = parse("# nothing here\n\n   \n");
    assert_int_equal(robots_is_allowed(r, "/x"), 1);
    robots_free(r);

    /* the product token of the value, compared in full and case-insensitively */
    static const char *const names_us[] = {
        "clipcrawl",     "ClipCrawl",   "CLIPCRAWL",  "clipcrawl/1.0", "ClipCrawl/2.1 (+http://x)",
        "clipcrawl bot", "clipcrawl;x", " clipcrawl",
    };
    for (size_t i = 0; i < sizeof names_us / sizeof names_us[0]; i++) {
        char body[256];
        snprintf(body, sizeof body, "User-agent: *\nAllow: /\n\nUser-agent: %s\nDisallow: /x\n",
                 names_us[i]);
        if (verdict_of(body, "/x") != 0)
            fail_msg("'%s' should name clipcrawl", names_us[i]);
    }
    static const char *const names_other[] = {
        "clipcrawlbot", "clip",       "clip-crawl", "Mozilla/5.0 clipcrawl",
        "xclipcrawl",   "*clipcrawl", "",
    };
    for (size_t i = 0; i < sizeof names_other / sizeof names_other[0]; i++) {
        char body[256];
        snprintf(body, sizeof body, "User-agent: *\nAllow: /\n\nUser-agent: %s\nDisallow: /x\n",
                 names_other[i]);
        if (verdict_of(body, "/x") != 1)
            fail_msg("'%s' should not name clipcrawl", names_other[i]);
    }

    /* tokens with '-' and '_' */
    r = parse_as("User-agent: my_bot-2\nDisallow: /m\n", "my_bot-");
    assert_int_equal(robots_is_allowed(r, "/m"), 0);
    robots_free(r);
}

static void test_group_boundaries(void **state)
{
    (void)state;
    /* consecutive user-agent lines open one group */
    robots *r = parse("User-agent: a\nUser-agent: clipcrawl\nUser-agent: b\nDisallow: /g\n");
    assert_int_equal(robots_is_allowed(r, "/g"), 0);
    robots_free(r);

    /* a user-agent line after rules opens a new group: /h is not ours */
    r = parse("User-agent: clipcrawl\nDisallow: /g\nUser-agent: other\nDisallow: /h\n");
    EXPECT(r, "new group", {"/g", 0}, {"/h", 1});
    robots_free(r);

    /* sitemap, unknown and blank lines do not end the run of user-agent lines */
    r = parse("User-agent: other\nSitemap: http://x/s.xml\nFoo: bar\n\nUser-agent: clipcrawl\n"
              "Disallow: /g\n");
    assert_int_equal(robots_is_allowed(r, "/g"), 0);
    assert_int_equal(robots_sitemap_count(r), 1);
    robots_free(r);

    /* crawl-delay is a group line: the user-agent after it opens a new group */
    r = parse("User-agent: clipcrawl\nCrawl-delay: 3\nUser-agent: other\nDisallow: /g\n");
    assert_int_equal(robots_is_allowed(r, "/g"), 1);
    assert_true(robots_crawl_delay(r) == 3.0);
    robots_free(r);

    /* rules before any user-agent line are ignored */
    r = parse("Disallow: /early\nAllow: /\nUser-agent: *\nDisallow: /late\n");
    assert_int_equal(robots_rule_count(r), 1);
    EXPECT(r, "early", {"/early", 1}, {"/late", 0});
    robots_free(r);

    /* one group naming us and '*' feeds both sets */
    r = parse("User-agent: *\nUser-agent: clipcrawl\nDisallow: /both\n");
    assert_int_equal(robots_is_allowed(r, "/both"), 0);
    robots_free(r);
    r = parse_as("User-agent: *\nUser-agent: clipcrawl\nDisallow: /both\n", "other");
    assert_int_equal(robots_is_allowed(r, "/both"), 0);
    robots_free(r);

    /* "* " is the wildcard, "*bot" is not */
    r = parse("User-agent: * \nDisallow: /s\n");
    assert_int_equal(robots_is_allowed(r, "/s"), 0);
    robots_free(r);
    r = parse("User-agent: *bot\nDisallow: /s\n");
    assert_int_equal(robots_is_allowed(r, "/s"), 1);
    robots_free(r);
}

/* ---- matching ------------------------------------------------------------------------------ */

static void test_longest_match_and_ties(void **state)
{
    (void)state;
    robots *r = parse("User-agent: *\nDisallow: /p\nAllow: /p\n");
    assert_int_equal(robots_is_allowed(r, "/page"), 1); /* a tie goes to Allow */
    robots_free(r);

    r = parse("User-agent: *\nAllow: /folder\nDisallow: /folder/\n");
    EXPECT(r, "longer disallow", {"/folder", 1}, {"/folder.html", 1}, {"/folder/x", 0});
    robots_free(r);

    r = parse("User-agent: *\nDisallow: /\nAllow: /$\nAllow: /pub\n");
    EXPECT(r, "root only", {"/", 1}, {"/x", 0}, {"/pub/a", 1}, {"/?q=1", 0});
    robots_free(r);

    /* wildcards count in the length as written */
    r = parse("User-agent: *\nAllow: /page\nDisallow: /*.htm\n");
    EXPECT(r, "wild length", {"/page.htm", 0}, {"/page.php", 1}, {"/x.htm", 0});
    robots_free(r);
    r = parse("User-agent: *\nAllow: /$\nDisallow: /\n");
    EXPECT(r, "anchor length", {"/", 1}, {"/a", 0});
    robots_free(r);
    r = parse("User-agent: *\nAllow: /a*\nDisallow: /ab\n");
    assert_int_equal(robots_is_allowed(r, "/abc"), 1); /* both length 3: tie */
    robots_free(r);

    /* no matching rule: allowed */
    r = parse("User-agent: *\nDisallow: /x\n");
    EXPECT(r, "no match", {"/y", 1}, {"/", 1}, {"/X", 1});
    robots_free(r);
}

static void test_wildcards(void **state)
{
    (void)state;
    robots *r = parse("User-agent: *\nDisallow: /*.php$\n");
    EXPECT(r, "/*.php$", {"/filename.php", 0}, {"/folder/filename.php", 0}, {"/.php", 0},
           {"/filename.php?parameters", 1}, {"/filename.php/", 1}, {"/filename.php5", 1},
           {"/windows.PHP", 1}, {"/a.php.php", 0});
    robots_free(r);

    r = parse("User-agent: *\nDisallow: /*.php\n");
    EXPECT(r, "/*.php", {"/index.php", 0}, {"/folder/any.php.file.html", 0}, {"/filename.php?x", 0},
           {"/", 1}, {"/windows.PHP", 1});
    robots_free(r);

    r = parse("User-agent: *\nDisallow: /fish*\n");
    EXPECT(r, "/fish*", {"/fish", 0}, {"/fish.html", 0}, {"/fish/salmon.html", 0},
           {"/fishheads/yummy.html", 0}, {"/fish.php?id=anything", 0}, {"/Fish.asp", 1},
           {"/catfish", 1}, {"/?id=fish", 1}, {"/desert/fish", 1});
    robots_free(r);

    r = parse("User-agent: *\nDisallow: /fish/\n");
    EXPECT(r, "/fish/", {"/fish/", 0}, {"/fish/?id=anything", 0}, {"/fish/salmon.htm", 0},
           {"/fish", 1}, {"/fish.html", 1}, {"/animals/fish/", 1}, {"/Fish/Salmon.asp", 1});
    robots_free(r);

    r = parse("User-agent: *\nDisallow: /fish*.php\n");
    EXPECT(r, "/fish*.php", {"/fish.php", 0}, {"/fishheads/catfish.php?parameters", 0},
           {"/Fish.PHP", 1}, {"/fish.ph", 1});
    robots_free(r);

    r = parse("User-agent: *\nDisallow: /*?\n");
    EXPECT(r, "/*?", {"/a?b=c", 0}, {"/?", 0}, {"/a/b", 1}, {"/", 1});
    robots_free(r);

    r = parse("User-agent: *\nDisallow: /$\n");
    EXPECT(r, "/$", {"/", 0}, {"/a", 1}, {"/?x", 1}, {"", 0});
    robots_free(r);

    /* a '$' that is not last is literal; '**' is one '*' */
    r = parse("User-agent: *\nDisallow: /a$b\nDisallow: /c**d$\nDisallow: *e$\n");
    EXPECT(r, "dollar", {"/a$b", 0}, {"/a$bc", 0}, {"/ab", 1}, {"/cd", 0}, {"/cxxd", 0},
           {"/cdx", 1}, {"/e", 0}, {"/x/e", 0}, {"/ex", 1});
    robots_free(r);

    /* patterns without a leading '/' get one; '*' first stays */
    r = parse("User-agent: *\nDisallow: private/\nDisallow: *secret\n");
    EXPECT(r, "no slash", {"/private/a", 0}, {"/x/private/", 1}, {"/x/secret", 0}, {"/secret", 0});
    robots_free(r);

    /* the anchor of a wildcard pattern needs the last segment at the very end */
    r = parse("User-agent: *\nDisallow: /*ab*ab$\n");
    EXPECT(r, "repeated segments", {"/abab", 0}, {"/xabyabzab", 0}, {"/ab", 1}, {"/aba", 1},
           {"/abxab", 0}, {"/ababa", 1});
    robots_free(r);
}

static void test_percent_encoding(void **state)
{
    (void)state;
    robots *r = parse("User-agent: *\nDisallow: /foo/%7ebar\n");
    EXPECT(r, "%7e", {"/foo/~bar", 0}, {"/foo/%7Ebar", 0}, {"/foo/%7ebar", 0}, {"/foo/bar", 1});
    robots_free(r);

    r = parse("User-agent: *\nDisallow: /foo/~bar\n");
    EXPECT(r, "~", {"/foo/~bar", 0}, {"/foo/%7Ebar", 0}, {"/foo/%7ebar/x", 0});
    robots_free(r);

    /* an escaped '/' is not a '/' */
    r = parse("User-agent: *\nDisallow: /a%2fb\n");
    EXPECT(r, "%2f", {"/a%2Fb", 0}, {"/a%2fb", 0}, {"/a/b", 1});
    robots_free(r);
    r = parse("User-agent: *\nDisallow: /a/b\n");
    EXPECT(r, "/a/b", {"/a/b", 0}, {"/a%2Fb", 1});
    robots_free(r);

    /* unreserved escapes decode on both sides; hex case does not matter */
    r = parse("User-agent: *\nDisallow: /%41b%2D\nDisallow: /q?x=%3d\n");
    EXPECT(r, "unreserved", {"/Ab-", 0}, {"/%41%62-", 0}, {"/ab-", 1}, {"/q?x=%3D", 0},
           {"/q?x==", 1});
    robots_free(r);

    /* spaces and other characters url.c encodes; a lone '%' */
    r = parse("User-agent: *\nDisallow: /a b|c\nDisallow: /100%\n");
    EXPECT(r, "encode", {"/a%20b%7Cc", 0}, {"/a b|c", 0}, {"/a+b", 1}, {"/100%25", 0}, {"/100%", 0},
           {"/100%2", 0}, {"/100", 1});
    robots_free(r);

    /* escaped '*' and '$' are literal characters, not wildcards */
    r = parse("User-agent: *\nDisallow: /x%2A\nDisallow: /y%24\n");
    EXPECT(r, "escaped specials", {"/x%2A", 0}, {"/xyz", 1}, {"/y%24", 0}, {"/y", 1});
    robots_free(r);
}

static void test_utf8(void **state)
{
    (void)state;
    robots *r = parse("User-agent: *\nDisallow: /caf\xc3\xa9/\nAllow: /%E6%97%A5\n"
                      "Disallow: /\xe6\x97\xa5/x\n");
    EXPECT(r, "utf8", {"/caf%C3%A9/menu", 0}, {"/caf%c3%a9/menu", 0}, {"/caf\xc3\xa9/menu", 0},
           {"/cafe/menu", 1}, {"/%E6%97%A5/y", 1}, {"/%E6%97%A5/x", 0}, {"/\xe6\x97\xa5/x", 0});
    robots_free(r);
}

static void test_robots_txt_always_allowed(void **state)
{
    (void)state;
    robots *r = parse("User-agent: *\nDisallow: /\nDisallow: /robots.txt\n");
    EXPECT(r, "self", {"/robots.txt", 1}, {"/robots%2Etxt", 1}, {"/robots.txt?x=1", 0},
           {"/robots.txt/", 0}, {"/", 0}, {"/x", 0});
    robots_free(r);
}

static void test_paths_without_slash(void **state)
{
    (void)state;
    robots *r = parse("User-agent: *\nDisallow: /$\nDisallow: /x\n");
    EXPECT(r, "no slash", {"", 0}, {"x", 0}, {"y", 1});
    assert_int_equal(robots_is_allowed(NULL, "/"), 0);
    assert_int_equal(robots_is_allowed(r, NULL), 0);
    robots_free(r);
}

static void test_pathological_wildcards(void **state)
{
    (void)state;
    robots *r = parse("User-agent: *\nDisallow: /*a*a*a*a*a*a*a*a*b\n"
                      "Disallow: /*a*a*a*a*a*a*a*a*a*a*a*a*c$\n");
    size_t n = 100000;
    char *path = malloc(n + 2);
    assert_non_null(path);
    path[0] = '/';
    memset(path + 1, 'a', n);
    path[n + 1] = '\0';
    assert_int_equal(robots_is_allowed(r, path), 1);
    path[n] = 'b';
    assert_int_equal(robots_is_allowed(r, path), 0);
    path[n] = 'c';
    assert_int_equal(robots_is_allowed(r, path), 0);
    path[n / 2] = 'c';
    path[n] = 'a';
    assert_int_equal(robots_is_allowed(r, path), 1);
    free(path);
    robots_free(r);
}

/* ---- messy files --------------------------------------------------------------------------- */

static void test_keys_and_comments(void **state)
{
    (void)state;
    /* keys are case-insensitive; values (paths) are not */
    robots *r = parse("USER-AGENT: ClipCrawl\nDISALLOW: /Fish\naLLoW: /Fish/ok\n");
    EXPECT(r, "case", {"/Fish", 0}, {"/fish", 1}, {"/Fish/ok", 1});
    robots_free(r);

    /* comments anywhere, spaces and tabs around everything */
    r = parse("# header\n  User-agent :\tclipcrawl # us\n\tDisallow\t:  /a#b \n"
              "Disallow: # nothing\n#Disallow: /c\nDisallow: /d # x\n");
    assert_int_equal(robots_rule_count(r), 2);
    EXPECT(r, "comments", {"/a", 0}, {"/ab", 0}, {"/c", 1}, {"/d", 0}, {"/", 1});
    robots_free(r);

    /* unknown keys are ignored; empty disallow allows everything */
    r = parse("User-agent: *\nNoindex: /x\nHost: example.com\nDisallow:\n");
    assert_int_equal(robots_rule_count(r), 0);
    assert_int_equal(robots_is_allowed(r, "/x"), 1);
    robots_free(r);
    r = parse("User-agent: *\nDisallow:   \nAllow:\n");
    assert_int_equal(robots_rule_count(r), 0);
    robots_free(r);
}

static void test_misspellings_and_missing_colon(void **state)
{
    (void)state;
    robots *r = parse("useragent: clipcrawl\ndissallow: /a\ndisalow: /b\ndissalow: /c\n"
                      "diasllow: /d\ndisallaw: /e\n"
                      "user agent: other\ndisallow: /f\n"
                      "User_Agent: clipcrawl\nDisallow /g\nAllow /g/ok\n"
                      "Disallow /h /i\nDisallow: /j k\nDisalow: /l\nCrawl delay: 2\n"
                      "Sitemap https://x.test/s.xml\n");
    EXPECT(r, "typos", {"/a", 0}, {"/b", 0}, {"/c", 0}, {"/d", 0}, {"/e", 0}, {"/f", 1}, {"/g", 0},
           {"/g/ok", 1}, {"/h", 1}, {"/i", 1}, {"/j%20k", 0}, {"/j", 1}, {"/l", 0});
    assert_true(robots_crawl_delay(r) == 2.0);
    assert_int_equal(robots_sitemap_count(r), 1);
    assert_string_equal(robots_sitemap(r, 0), "https://x.test/s.xml");
    robots_free(r);

    /* words that only look like keys */
    r = parse("User-agent: *\nDisallowed: /x\nDis allow: /y\nallowx /z\n");
    assert_int_equal(robots_rule_count(r), 0);
    robots_free(r);
}

static void test_line_ends_bom_nul(void **state)
{
    (void)state;
    static const char *const bodies[] = {
        "User-agent: *\rDisallow: /a\rAllow: /a/b\r",
        "User-agent: *\r\nDisallow: /a\r\nAllow: /a/b",
        "\xef\xbb\xbfUser-agent: *\nDisallow: /a\n\r\nAllow: /a/b\n",
        "\xef\xbbUser-agent: *\n\rDisallow: /a\r\r\nAllow: /a/b\n",
    };
    for (size_t i = 0; i < sizeof bodies / sizeof bodies[0]; i++) {
        robots *r = parse(bodies[i]);
        if (robots_rule_count(r) != 2)
            fail_msg("body %zu: %zu rules", i, robots_rule_count(r));
        EXPECT(r, bodies[i], {"/a", 0}, {"/a/b", 1}, {"/b", 1});
        robots_free(r);
    }

    /* NUL bytes: a key holding one is unknown, a value holding one encodes it */
    static const char nul[] = "User-agent: *\nDis\0allow: /x\nDisallow: /y\0z\nDisallow: /w\n";
    robots *r = parse_n(nul, sizeof nul - 1, "clipcrawl");
    assert_int_equal(robots_rule_count(r), 2);
    EXPECT(r, "nul", {"/x", 1}, {"/y%00z", 0}, {"/y", 1}, {"/w", 0});
    robots_free(r);

    /* a NUL inside the user-agent value ends the token */
    static const char nul_ua[] = "User-agent: clipcrawl\0junk\nDisallow: /q\n";
    r = parse_n(nul_ua, sizeof nul_ua - 1, "clipcrawl");
    assert_int_equal(robots_is_allowed(r, "/q"), 0);
    robots_free(r);
}

static void test_long_lines(void **state)
{
    (void)state;
    /* a 20 KiB Disallow is cut to 16 KiB and kept; the next line is read normally */
    size_t big = 20 * 1024;
    char *body = malloc(big + 256);
    assert_non_null(body);
    size_t n = (size_t)snprintf(body, 256, "User-agent: *\nDisallow: /");
    memset(body + n, 'a', big);
    n += big;
    n += (size_t)snprintf(body + n, 256, "\nDisallow: /next\n");
    robots *r = parse_n(body, n, "clipcrawl");
    assert_int_equal(robots_rule_count(r), 2);
    assert_int_equal(robots_is_allowed(r, "/next"), 0);
    char *path = malloc(big + 2);
    assert_non_null(path);
    path[0] = '/';
    memset(path + 1, 'a', big);
    path[big + 1] = '\0';
    assert_int_equal(robots_is_allowed(r, path), 0); /* the kept prefix matches */
    path[16 * 1024 - 20] = '\0';
    assert_int_equal(robots_is_allowed(r, path), 1); /* shorter than the kept prefix */
    robots_free(r);

    /* a cut Allow is dropped (its prefix would allow more than written) */
    n = (size_t)snprintf(body, 256, "User-agent: *\nDisallow: /\nAllow: /");
    memset(body + n, 'a', big);
    n += big;
    n += (size_t)snprintf(body + n, 256, "$\nAllow: /ok\n");
    r = parse_n(body, n, "clipcrawl");
    assert_int_equal(robots_rule_count(r), 2);
    path[16 * 1024 - 20] = 'a';
    assert_int_equal(robots_is_allowed(r, path), 0);
    assert_int_equal(robots_is_allowed(r, "/ok"), 1);
    robots_free(r);

    /* a long comment is not a cut: the rule before it is complete */
    n = (size_t)snprintf(body, 256, "User-agent: *\nDisallow: /\nAllow: /x$ #");
    memset(body + n, 'c', big);
    n += big;
    r = parse_n(body, n, "clipcrawl");
    EXPECT(r, "long comment", {"/x", 1}, {"/xy", 0});
    robots_free(r);
    free(path);
    free(body);
}

/* A body of filler comment lines up to about at bytes, then tail. */
static char *filled(size_t at, const char *tail, size_t *len)
{
    size_t tn = strlen(tail);
    char *b = malloc(at + tn + 128);
    assert_non_null(b);
    size_t n = (size_t)snprintf(b, 128, "User-agent: *\nDisallow: /early\n");
    while (n + 64 <= at) {
        memset(b + n, '#', 63);
        b[n + 63] = '\n';
        n += 64;
    }
    memset(b + n, ' ', at - n); /* spaces up to exactly at */
    n = at;
    memcpy(b + n, tail, tn);
    *len = n + tn;
    return b;
}

static void test_size_cut(void **state)
{
    (void)state;
    size_t len;
    /* rules past ROBOTS_MAX_BYTES are not read */
    char *b = filled(ROBOTS_MAX_BYTES + 100, "\nDisallow: /late\n", &len);
    robots *r = parse_n(b, len, "clipcrawl");
    EXPECT(r, "after cut", {"/early", 0}, {"/late", 1});
    robots_free(r);
    free(b);

    /* just before the cut they are */
    b = filled(ROBOTS_MAX_BYTES - 100, "\nDisallow: /late\n", &len);
    r = parse_n(b, len, "clipcrawl");
    EXPECT(r, "before cut", {"/early", 0}, {"/late", 0});
    robots_free(r);
    free(b);

    /* a rule that straddles the cut: a Disallow keeps its prefix ("/straddli"), an Allow
     * ("/straddlin" of 17 bytes read) is dropped */
    b = filled(ROBOTS_MAX_BYTES - 20, "\nDisallow: /straddling/rule\n", &len);
    r = parse_n(b, len, "clipcrawl");
    EXPECT(r, "disallow straddles", {"/straddli", 0}, {"/straddling/other", 0}, {"/strad", 1});
    robots_free(r);
    free(b);
    b = filled(ROBOTS_MAX_BYTES - 30, "\nDisallow: /\nAllow: /straddling/rule$\n", &len);
    r = parse_n(b, len, "clipcrawl");
    EXPECT(r, "allow straddles", {"/s", 0}, {"/straddling/rule", 0});
    robots_free(r);
    free(b);
    /* the same Allow read in full when the body ends before the cut */
    b = filled(ROBOTS_MAX_BYTES - 200, "\nDisallow: /\nAllow: /straddling/rule$\n", &len);
    r = parse_n(b, len, "clipcrawl");
    EXPECT(r, "allow whole", {"/s", 0}, {"/straddling/rule", 1});
    robots_free(r);
    free(b);
    /* a line that ends exactly at the cut is complete */
    static const char tail[] = "\nDisallow: /\nAllow: /exact";
    b = filled(ROBOTS_MAX_BYTES - (sizeof tail - 1), tail, &len);
    char *b2 = realloc(b, len + 20);
    assert_non_null(b2);
    memcpy(b2 + len, "\nDisallow: /exact\n", 18);
    r = parse_n(b2, len + 18, "clipcrawl");
    EXPECT(r, "exact cut", {"/exact", 1}, {"/exac", 0});
    robots_free(r);
    free(b2);
}

static void test_many_rules(void **state)
{
    (void)state;
    /* the shortest rule line is 8 bytes: 500 KiB hold 64000, under ROBOTS_MAX_RULES */
    size_t count = ROBOTS_MAX_BYTES / 8 - 2;
    char *b = malloc(count * 8 + 16);
    assert_non_null(b);
    memcpy(b, "user-agent:*\n", 13);
    size_t n = 13;
    for (size_t i = 0; i < count; i++) {
        memcpy(b + n, i % 2 ? "allow:/\n" : "allow:x\n", 8);
        n += 8;
    }
    robots *r = parse_n(b, n, "clipcrawl");
    assert_true(robots_rule_count(r) <= ROBOTS_MAX_RULES);
    assert_int_equal(robots_rule_count(r), count);
    assert_int_equal(robots_is_allowed(r, "/x"), 1);
    robots_free(r);
    free(b);
}

/* ---- crawl-delay and sitemaps -------------------------------------------------------------- */

static void test_crawl_delay(void **state)
{
    (void)state;
    static const struct {
        const char *value;
        double want;
    } cases[] = {
        {"10", 10},
        {"0.5", 0.5},
        {".5", 0.5},
        {"5.", 5},
        {"0", 0},
        {"  7  ", 7},
        {"-1", -1},
        {"+3", -1},
        {"abc", -1},
        {"3s", -1},
        {"1e3", -1},
        {"inf", -1},
        {"nan", -1},
        {"", -1},
        {"1.2.3", -1},
        {"1 000", -1},
        {"100000", 86400},
        {"86400", 86400},
        {"99999999999999999999999999999", 86400},
        {"0.000001", 0.000001},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char body[256];
        snprintf(body, sizeof body, "User-agent: clipcrawl\nCrawl-delay: %s\n", cases[i].value);
        robots *r = parse(body);
        double got = robots_crawl_delay(r);
        if (got < cases[i].want - 1e-9 || got > cases[i].want + 1e-9)
            fail_msg("crawl-delay '%s': %g, expected %g", cases[i].value, got, cases[i].want);
        robots_free(r);
    }

    /* the largest value of the groups that apply; other groups' values are not used */
    robots *r = parse("User-agent: *\nCrawl-delay: 100\n\nUser-agent: clipcrawl\nCrawl-delay: 2\n"
                      "Crawl-delay: 5\nCrawl-Delay: 1\n\nUser-agent: x\nCrawl-delay: 50\n");
    assert_true(robots_crawl_delay(r) == 5.0);
    robots_free(r);
    r = parse_as("User-agent: *\nCrawl-delay: 100\n\nUser-agent: clipcrawl\nCrawl-delay: 2\n",
                 "other");
    assert_true(robots_crawl_delay(r) == 100.0);
    robots_free(r);
    /* our group without a delay: none, even when '*' has one */
    r = parse("User-agent: *\nCrawl-delay: 100\n\nUser-agent: clipcrawl\nDisallow: /x\n");
    assert_true(robots_crawl_delay(r) == -1.0);
    robots_free(r);
    /* outside any group */
    r = parse("Crawl-delay: 4\nUser-agent: *\nDisallow: /x\n");
    assert_true(robots_crawl_delay(r) == -1.0);
    robots_free(r);
}

static void test_sitemaps(void **state)
{
    (void)state;
    robots *r = parse("Sitemap: https://a.test/1.xml\nUser-agent: other\n"
                      "Sitemap: https://a.test/2.xml # c\nDisallow: /\n"
                      "SITEMAP:https://a.test/3.xml\nsite-map: https://a.test/4.xml\nSitemap:\n");
    assert_int_equal(robots_sitemap_count(r), 4);
    assert_string_equal(robots_sitemap(r, 0), "https://a.test/1.xml");
    assert_string_equal(robots_sitemap(r, 1), "https://a.test/2.xml");
    assert_string_equal(robots_sitemap(r, 2), "https://a.test/3.xml");
    assert_string_equal(robots_sitemap(r, 3), "https://a.test/4.xml");
    assert_null(robots_sitemap(r, 4));
    robots_free(r);

    /* a value with a control byte is not a URL (found by fuzz_robots: a NUL made it "") */
    static const char ctl[] = "Sitemap: \0\0 http://a.test/x\nSitemap: http://a.test/\ty\n"
                              "Sitemap: http://a.test/z\n";
    r = parse_n(ctl, sizeof ctl - 1, "clipcrawl");
    assert_int_equal(robots_sitemap_count(r), 1);
    assert_string_equal(robots_sitemap(r, 0), "http://a.test/z");
    robots_free(r);

    /* at most ROBOTS_MAX_SITEMAPS are kept */
    size_t count = ROBOTS_MAX_SITEMAPS + 50;
    char *b = malloc(count * 40);
    assert_non_null(b);
    size_t n = 0;
    for (size_t i = 0; i < count; i++)
        n += (size_t)snprintf(b + n, 40, "Sitemap: http://s.test/%zu.xml\n", i);
    r = parse_n(b, n, "clipcrawl");
    assert_int_equal(robots_sitemap_count(r), ROBOTS_MAX_SITEMAPS);
    assert_string_equal(robots_sitemap(r, ROBOTS_MAX_SITEMAPS - 1), "http://s.test/999.xml");
    robots_free(r);
    free(b);
}

/* ---- objects and arguments ----------------------------------------------------------------- */

static void test_allow_disallow_all(void **state)
{
    (void)state;
    robots *r = NULL;
    assert_int_equal(robots_new_allow_all(&r), CC_OK);
    EXPECT(r, "allow all", {"/", 1}, {"/x?y", 1}, {"/robots.txt", 1});
    assert_int_equal(robots_rule_count(r), 0);
    assert_int_equal(robots_sitemap_count(r), 0);
    assert_true(robots_crawl_delay(r) == -1.0);
    robots_free(r);

    assert_int_equal(robots_new_disallow_all(&r), CC_OK);
    EXPECT(r, "disallow all", {"/", 0}, {"/x?y", 0}, {"/robots.txt", 1});
    assert_int_equal(robots_rule_count(r), 1);
    assert_true(robots_crawl_delay(r) == -1.0);
    robots_free(r);
    robots_free(NULL);
}

static void test_bad_arguments(void **state)
{
    (void)state;
    robots *r = NULL;
    static const char *const bad[] = {"", "clip crawl", "*", "bot/1.0", "clipcrawl1", "b\xc3\xa9"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (robots_parse("User-agent: *\n", 14, bad[i], &r) != CC_E_INVAL)
            fail_msg("token '%s' should be refused", bad[i]);
        assert_null(r);
    }
    assert_int_equal(robots_parse(NULL, 0, "x", &r), CC_OK);
    robots_free(r);
    assert_int_equal(robots_parse(NULL, 5, "x", &r), CC_E_INVAL);
    assert_int_equal(robots_parse("", 0, NULL, &r), CC_E_INVAL);
    assert_int_equal(robots_parse("", 0, "x", NULL), CC_E_INVAL);
    assert_int_equal(robots_new_allow_all(NULL), CC_E_INVAL);
    assert_int_equal(robots_new_disallow_all(NULL), CC_E_INVAL);
    assert_int_equal(robots_rule_count(NULL), 0);
    assert_int_equal(robots_sitemap_count(NULL), 0);
    assert_null(robots_sitemap(NULL, 0));
}

/* ---- the indexed matcher against a plain one ----------------------------------------------- */

/* Does pattern p (with '*', and '$' when anchored) match a prefix of q (or all of q)? Dynamic
 * programming over (pattern position, path position): the plain O(n·m) algorithm. */
static int ref_match(const char *p, size_t m, int anchored, const char *q, size_t n)
{
    /* ok[j]: p[0..i) can match q[0..j) */
    unsigned char *ok = calloc(n + 1, 1), *next = calloc(n + 1, 1);
    assert_true(ok != NULL && next != NULL);
    ok[0] = 1;
    for (size_t i = 0; i < m; i++) {
        memset(next, 0, n + 1);
        for (size_t j = 0; j <= n; j++) {
            if (p[i] == '*')
                next[j] = ok[j] || (j > 0 && next[j - 1]);
            else if (j > 0 && ok[j - 1] && q[j - 1] == p[i])
                next[j] = 1;
        }
        unsigned char *t = ok;
        ok = next;
        next = t;
    }
    int hit = 0;
    for (size_t j = anchored ? n : 0; j <= n; j++)
        hit |= ok[j];
    free(ok);
    free(next);
    return hit;
}

typedef struct ref_rule {
    char pat[16];
    int allow;
} ref_rule;

/* Longest match, Allow on ties, over every rule. Patterns and paths here need no
 * normalization (alphabet "/ab?.*$"), and never hit "/robots.txt". */
static int ref_allowed(const ref_rule *rules, size_t nr, const char *q)
{
    size_t best = 0;
    int verdict = 1, any = 0;
    for (size_t i = 0; i < nr; i++) {
        size_t len = strlen(rules[i].pat);
        int anchored = len > 0 && rules[i].pat[len - 1] == '$';
        if (!ref_match(rules[i].pat, len - (size_t)anchored, anchored, q, strlen(q)))
            continue;
        if (!any || len > best) {
            best = len;
            verdict = rules[i].allow;
            any = 1;
        } else if (len == best) {
            verdict |= rules[i].allow;
        }
    }
    return verdict;
}

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;
static unsigned rnd(unsigned n)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (unsigned)(rng_state % n);
}

static void test_against_reference(void **state)
{
    (void)state;
    static const char pat_chars[] = "/ab*?.";
    static const char path_chars[] = "/ab?.$";
    char body[2048], path[32];
    ref_rule rules[24];
    size_t compared = 0, disallowed = 0;
    for (int round = 0; round < 1500; round++) {
        size_t nr = 1 + rnd(20), n = (size_t)snprintf(body, sizeof body, "User-agent: *\n");
        for (size_t i = 0; i < nr; i++) {
            size_t len = 1 + rnd(8), k = 0;
            rules[i].pat[k++] = rnd(6) ? '/' : '*';
            for (size_t c = 1; c < len; c++)
                rules[i].pat[k++] = pat_chars[rnd(sizeof pat_chars - 1)];
            if (rnd(4) == 0)
                rules[i].pat[k++] = '$';
            rules[i].pat[k] = '\0';
            rules[i].allow = (int)rnd(2);
            n += (size_t)snprintf(body + n, sizeof body - n, "%s: %s\n",
                                  rules[i].allow ? "Allow" : "Disallow", rules[i].pat);
        }
        robots *r = parse_n(body, n, "clipcrawl");
        assert_int_equal(robots_rule_count(r), nr);
        for (int t = 0; t < 40; t++) {
            size_t len = 1 + rnd(10);
            path[0] = '/';
            for (size_t c = 1; c < len; c++)
                path[c] = path_chars[rnd(sizeof path_chars - 1)];
            path[len] = '\0';
            int want = ref_allowed(rules, nr, path);
            int got = robots_is_allowed(r, path);
            if (got != want)
                fail_msg("'%s': %d, reference %d, rules:\n%s", path, got, want, body);
            compared++;
            disallowed += (size_t)!got;
        }
        robots_free(r);
    }
    /* the comparison saw both verdicts plenty of times */
    assert_true(disallowed > compared / 10 && disallowed < compared - compared / 10);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc_simple_example),
        cmocka_unit_test(test_rfc_longest_match),
        cmocka_unit_test(test_merge_groups),
        cmocka_unit_test(test_group_selection),
        cmocka_unit_test(test_group_boundaries),
        cmocka_unit_test(test_longest_match_and_ties),
        cmocka_unit_test(test_wildcards),
        cmocka_unit_test(test_percent_encoding),
        cmocka_unit_test(test_utf8),
        cmocka_unit_test(test_robots_txt_always_allowed),
        cmocka_unit_test(test_paths_without_slash),
        cmocka_unit_test(test_pathological_wildcards),
        cmocka_unit_test(test_keys_and_comments),
        cmocka_unit_test(test_misspellings_and_missing_colon),
        cmocka_unit_test(test_line_ends_bom_nul),
        cmocka_unit_test(test_long_lines),
        cmocka_unit_test(test_size_cut),
        cmocka_unit_test(test_many_rules),
        cmocka_unit_test(test_crawl_delay),
        cmocka_unit_test(test_sitemaps),
        cmocka_unit_test(test_allow_disallow_all),
        cmocka_unit_test(test_bad_arguments),
        cmocka_unit_test(test_against_reference),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
