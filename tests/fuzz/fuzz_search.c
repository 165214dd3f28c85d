/* tests/fuzz/fuzz_search.c — libFuzzer target for search_parse and search_spec_parse
 * (crawler/search.h).
 *
 * Each input is parsed as a search answer by every preset ("fixture" with a loopback base,
 * "openverse", "wikimedia") and by a custom spec using every feature (a root "*" list, '|' and
 * '+' fields, @html and @file, order, error, token paging), at the first page with default
 * limits and at a later page (offset and token set) with small limits (8 results, 24-byte
 * texts) so that cuts and caps are reached. It is also read as a spec file. Properties checked
 * on every input, beyond "no crash, no out-of-bounds read, no leak" (ASan/UBSan) and "no
 * timeout":
 *   - a parse fails with a status and a message, or gives a page where entries == kept + the
 *     skipped counts, kept <= max_results, and every result has a canonical image URL
 *     (url_normalize leaves it unchanged), a canonical page URL or none, a text that is valid
 *     UTF-8, non-empty, at most max_text bytes, without a space at either end, a license under
 *     SEARCH_LICENSE_MAX bytes, sizes in 0..1,000,000, increasing indices;
 *   - the next cursor is done exactly when the end is not "more"; when more, its page is the
 *     current one plus one and not past max_pages; search_cursor_format / search_cursor_parse
 *     give it back unchanged, and search_page_url accepts it;
 *   - a spec file that loads gives a canonical URL for a query at its first page (or
 *     CC_E_LIMIT when the longer query makes it too long).
 * With CLIPCRAWL_FUZZ_SEED_DIR set, LLVMFuzzerInitialize writes answers shaped like each API's
 * and a few spec files into that directory.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/utf8.h"
#include "crawler/search.h"
#include "crawler/url.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "fuzz_search: check failed: %s (%s)\n", #cond, cc_errmsg());           \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

enum { NSPECS = 4 };
static search_spec *specs[NSPECS];
static const char *const spec_urls[NSPECS] = {
    "http://127.0.0.1:8080/api/search?q=red%20star&page=1",
    "https://api.openverse.org/v1/images/?q=fox&page=1&page_size=20",
    "https://commons.wikimedia.org/w/api.php?action=query&gsrsearch=fox",
    "https://x.test/a/b?q=fox",
};

static const char custom_spec[] = "name = custom\n"
                                  "template = https://x.test/s?q={query}&c={token}&o={offset}\n"
                                  "per_page = 3\n"
                                  "max_pages = 4\n"
                                  "results = *\n"
                                  "order = rank\n"
                                  "error = err\n"
                                  "image = img.0 | src | u\\.rl\n"
                                  "text = t + d@html + f@file\n"
                                  "page = p|link.href\n"
                                  "width = w|size.0\n"
                                  "height = h|size.1\n"
                                  "license = l@html + v\n"
                                  "next = token=0.cursor\n";

static const char *const seeds[] = {
    /* fixture */
    "{\"query\":\"red star\",\"page\":1,\"per_page\":10,\"total\":12,\"pages\":2,"
    "\"next\":\"/api/search?q=red+star&page=2\",\"prev\":null,\"results\":[\n"
    "{\"rank\":1,\"image_url\":\"http://127.0.0.1:8080/img/000/000123.jpg\",\"title\":"
    "\"a small red star on stripes\",\"description\":\"Gallery page 17: favourites\","
    "\"page_url\":\"http://127.0.0.1:8080/pages/000/p000017.html\",\"width\":320,"
    "\"height\":240},\n{\"rank\":2,\"image_url\":\"//127.0.0.1:8080/r/1.jpg\",\"title\":"
    "\"Red star\",\"page_url\":\"/pages/000/p000003.html\",\"width\":200,\"height\":200}]}\n",
    "{\"query\":\"\",\"page\":0,\"per_page\":10,\"total\":0,\"pages\":0,\"next\":null,"
    "\"prev\":null,\"results\":[]}\n",
    /* openverse */
    "{\"result_count\":52,\"page_count\":3,\"page_size\":20,\"page\":1,\"results\":["
    "{\"id\":\"4bc4\",\"title\":\"Red fox in the snow\",\"foreign_landing_url\":"
    "\"https://www.flickr.com/photos/1@N02/5\",\"url\":\"https://live.staticflickr.com/4/5_b.jpg\","
    "\"creator\":\"J\\u00f6rg\",\"license\":\"by-sa\",\"license_version\":\"2.0\","
    "\"tags\":[{\"name\":\"fox\"}],\"height\":683,\"width\":1024,\"mature\":false},"
    "{\"id\":\"b\",\"title\":null,\"url\":\"data:image/gif;base64,R0lG\",\"width\":\"12\"},"
    "{\"id\":\"c\",\"title\":\"Logo\",\"url\":\"/a.svg\"}],\"warnings\":[]}",
    /* wikimedia */
    "{\"batchcomplete\":\"\",\"continue\":{\"gsroffset\":53,\"continue\":\"gsroffset||\"},"
    "\"query\":{\"pages\":{\"1288\":{\"pageid\":1288,\"ns\":6,\"title\":\"File:Vulpes_vulpes.jpg\","
    "\"index\":2,\"imageinfo\":[{\"size\":3,\"width\":4000,\"height\":2667,\"url\":"
    "\"https://upload.wikimedia.org/a/Vulpes_vulpes.jpg\",\"descriptionurl\":"
    "\"https://commons.wikimedia.org/wiki/File:Vulpes_vulpes.jpg\",\"extmetadata\":"
    "{\"ImageDescription\":{\"value\":\"<div lang=\\\"en\\\"><b>A</b> fox &amp; <i>snow</i>"
    "<!-- c --></div>\"},\"LicenseShortName\":{\"value\":\"CC BY-SA 3.0\"}}}]},"
    "\"40\":{\"pageid\":40,\"ns\":6,\"index\":1,\"imageinfo\":[{\"url\":\"//u.test/b.png\","
    "\"width\":\"640\",\"height\":480.0,\"extmetadata\":{\"ImageDescription\":{\"value\":"
    "\"x &#233;&#x1F98A; y\"}}}]}}}}",
    "{\"error\":{\"code\":\"badvalue\",\"info\":\"Unrecognized value\"},\"servedby\":\"mw1\"}",
    "{\"batchcomplete\":\"\"}",
    /* custom */
    "[{\"cursor\":\"AoE+x/2=\",\"rank\":5,\"img\":[\"i/1.jpg\"],\"t\":\"One\",\"d\":\"<p>two</p>\","
    "\"f\":\"File:Three_3.jpeg\",\"p\":\"../p/1\",\"size\":[10,20],\"l\":\"CC&nbsp;BY\","
    "\"v\":\"4.0\"},{\"rank\":1,\"src\":\"HTTP://X.TEST:80/%7e/./2.JPG#f\",\"t\":\"Two\"},"
    "{\"u.rl\":\"https://y.test/3.jpg\",\"d\":\"3\"},7,null]",
};

static const char *const spec_seeds[] = {
    custom_spec,
    "preset = wikimedia\nper_page = 10\nmax_pages = 3\n",
    "template = /s?q={query}&p={page}\nresults = a.b.*\nimage = x\ntext = y|z\nnext = pages=n\n",
};

static void write_seed(const char *dir, const char *name, size_t i, const char *text)
{
    char path[4096];
    if (snprintf(path, sizeof path, "%s/seed-%s-%02zu", dir, name, i) >= (int)sizeof path)
        return;
    FILE *f = fopen(path, "wb");
    if (f == NULL)
        return;
    fwrite(text, 1, strlen(text), f);
    fclose(f);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    const char *const names[3] = {"fixture", "openverse", "wikimedia"};
    for (int i = 0; i < 3; i++)
        CHECK(search_spec_preset(names[i], &specs[i]) == CC_OK);
    CHECK(search_spec_set_base(specs[0], "http://127.0.0.1:8080") == CC_OK);
    CHECK(search_spec_parse(custom_spec, strlen(custom_spec), "custom", &specs[3]) == CC_OK);
    const char *dir = getenv("CLIPCRAWL_FUZZ_SEED_DIR");
    if (dir == NULL)
        return 0;
    for (size_t i = 0; i < sizeof seeds / sizeof seeds[0]; i++)
        write_seed(dir, "answer", i, seeds[i]);
    for (size_t i = 0; i < sizeof spec_seeds / sizeof spec_seeds[0]; i++)
        write_seed(dir, "spec", i, spec_seeds[i]);
    return 0;
}

static void check_url(const char *u)
{
    char canon[URL_MAX];
    CHECK(url_normalize(u, canon, sizeof canon) == CC_OK);
    CHECK(strcmp(canon, u) == 0);
}

static void check_page(const search_spec *s, const search_cursor *cur, const search_page *p,
                       const search_limits *lim)
{
    const search_stats *st = search_page_stats(p);
    size_t skipped = 0;
    for (int r = 0; r < SEARCH_SKIP_COUNT; r++)
        skipped += st->skipped[r];
    CHECK(st->entries == st->kept + skipped);
    CHECK(search_page_count(p) == st->kept);
    CHECK(st->kept <= lim->max_results);
    CHECK(st->text_cut <= st->kept && st->bad_page_url <= st->kept);
    CHECK(search_page_at(p, st->kept) == NULL);
    for (size_t i = 0; i < st->kept; i++) {
        const search_result *r = search_page_at(p, i);
        check_url(r->image_url);
        if (r->page_url != NULL)
            check_url(r->page_url);
        size_t n = strlen(r->text);
        CHECK(n > 0 && n <= lim->max_text);
        CHECK(cc_utf8_valid(r->text, n));
        CHECK(r->text[0] != ' ' && r->text[n - 1] != ' ');
        if (r->license != NULL) {
            size_t ln = strlen(r->license);
            CHECK(ln > 0 && ln < SEARCH_LICENSE_MAX && cc_utf8_valid(r->license, ln));
        }
        CHECK(r->width >= 0 && r->width <= 1000000 && r->height >= 0 && r->height <= 1000000);
        CHECK(r->index < lim->max_results);
        if (i > 0)
            CHECK(r->index > search_page_at(p, i - 1)->index);
    }
    const search_cursor *nx = search_page_next(p);
    search_end end = search_page_end(p);
    CHECK(end >= SEARCH_MORE && end < SEARCH_END_COUNT);
    CHECK(nx->done == (end != SEARCH_MORE));
    if (end == SEARCH_MORE) {
        CHECK(nx->page == cur->page + 1 && nx->page <= search_spec_max_pages(s));
        CHECK(st->entries > 0);
        char buf[SEARCH_CURSOR_STR_MAX], url[URL_MAX];
        search_cursor back;
        CHECK(search_cursor_format(nx, buf, sizeof buf) == CC_OK);
        CHECK(search_cursor_parse(buf, &back) == CC_OK);
        CHECK(back.page == nx->page && back.offset == nx->offset && back.done == nx->done);
        CHECK(strcmp(back.token, nx->token) == 0);
        CHECK(search_page_url(s, "red fox", nx, url, sizeof url) == CC_OK);
        check_url(url);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* an exact-size heap copy, so that ASan sees any read past the end */
    uint8_t *in = malloc(size ? size : 1);
    if (in == NULL)
        return 0;
    memcpy(in, data, size);

    search_limits def, small;
    search_limits_default(&def);
    small = def;
    small.max_results = 8;
    small.max_text = 24;
    search_cursor first, later;
    search_cursor_init(&first);
    search_cursor_init(&later);
    later.page = 2;
    later.offset = 3;
    memcpy(later.token, "AoE+x/2=", 9);
    for (int i = 0; i < NSPECS; i++) {
        for (int pass = 0; pass < 2; pass++) {
            const search_cursor *cur = pass ? &later : &first;
            const search_limits *lim = pass ? &small : &def;
            search_page *p = (search_page *)1;
            cc_status st = search_parse(specs[i], cur, spec_urls[i], in, size, lim, &p);
            if (st != CC_OK) {
                CHECK(p == NULL);
                CHECK(st == CC_E_FORMAT || st == CC_E_LIMIT);
                CHECK(cc_errmsg()[0] != '\0');
                continue;
            }
            check_page(specs[i], cur, p, lim);
            search_page_free(p);
        }
    }

    /* the input as a spec file */
    search_spec *s = NULL;
    if (search_spec_parse((const char *)in, size, "fuzz.spec", &s) == CC_OK) {
        char url[URL_MAX];
        if (search_spec_needs_base(s))
            CHECK(search_spec_set_base(s, "http://127.0.0.1:9/") == CC_OK);
        /* the template was checked with a one-byte query: a longer one may only be too long */
        cc_status st = search_page_url(s, "a b", &first, url, sizeof url);
        CHECK(st == CC_OK || st == CC_E_LIMIT);
        if (st == CC_OK)
            check_url(url);
        search_spec_free(s);
    } else {
        CHECK(s == NULL && cc_errmsg()[0] != '\0');
    }
    free(in);
    return 0;
}
