/* tests/unit/test_search.c — the search source (crawler/search.h): the three presets against
 * answers shaped like the real ones, every paging mode and its end conditions, page URLs
 * (percent-encoding, offsets, tokens, bases), spec files (valid, each syntax error with its line
 * number), limits, malformed JSON, wrong types, relative and protocol-relative URLs.
 *
 * Every answer is parsed from an exact-size heap copy without a NUL, so that a read past the end
 * is caught by AddressSanitizer (make check). Every parsed page is checked for the invariants
 * of the header: entries == kept + the skipped counts, canonical URLs, valid non-empty texts
 * within max_text.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/utf8.h"
#include "crawler/search.h"
#include "crawler/url.h"

/* ---- helpers ------------------------------------------------------------------------------- */

static search_spec *preset(const char *name)
{
    search_spec *s = NULL;
    assert_int_equal(search_spec_preset(name, &s), CC_OK);
    assert_non_null(s);
    return s;
}

static search_spec *inline_spec(const char *text)
{
    search_spec *s = NULL;
    cc_status st = search_spec_parse(text, strlen(text), "<test>", &s);
    if (st != CC_OK)
        fail_msg("spec refused: %s", cc_errmsg());
    return s;
}

/* The status of search_spec_parse on the n bytes at text; the message must contain want (when
 * not NULL). */
static cc_status spec_error_n(const char *text, size_t n, const char *want)
{
    search_spec *s = (search_spec *)1;
    cc_status st = search_spec_parse(text, n, "t.spec", &s);
    if (st == CC_OK)
        fail_msg("spec accepted: '%.*s'", (int)n, text);
    assert_null(s);
    if (want != NULL && strstr(cc_errmsg(), want) == NULL)
        fail_msg("message '%s' lacks '%s'", cc_errmsg(), want);
    return st;
}

static cc_status spec_error(const char *text, const char *want)
{
    return spec_error_n(text, strlen(text), want);
}

/* The header's invariants on a parsed page. */
static void check_page(const search_page *p, const search_limits *lim)
{
    search_limits dl;
    if (lim == NULL) {
        search_limits_default(&dl);
        lim = &dl;
    }
    const search_stats *st = search_page_stats(p);
    size_t skipped = 0;
    for (int r = 0; r < SEARCH_SKIP_COUNT; r++)
        skipped += st->skipped[r];
    assert_int_equal(st->entries, st->kept + skipped);
    assert_int_equal(search_page_count(p), st->kept);
    assert_true(st->kept <= lim->max_results);
    assert_null(search_page_at(p, st->kept));
    for (size_t i = 0; i < search_page_count(p); i++) {
        const search_result *r = search_page_at(p, i);
        char canon[URL_MAX];
        assert_int_equal(url_normalize(r->image_url, canon, sizeof canon), CC_OK);
        assert_string_equal(canon, r->image_url);
        if (r->page_url != NULL) {
            assert_int_equal(url_normalize(r->page_url, canon, sizeof canon), CC_OK);
            assert_string_equal(canon, r->page_url);
        }
        size_t n = strlen(r->text);
        assert_true(n > 0 && n <= lim->max_text);
        assert_true(cc_utf8_valid(r->text, n));
        assert_true(r->text[0] != ' ' && r->text[n - 1] != ' ');
        if (r->license != NULL)
            assert_true(strlen(r->license) < SEARCH_LICENSE_MAX &&
                        cc_utf8_valid(r->license, strlen(r->license)));
        assert_true(r->width >= 0 && r->height >= 0);
        if (i > 0)
            assert_true(r->index > search_page_at(p, i - 1)->index);
    }
    const search_cursor *nx = search_page_next(p);
    assert_int_equal(nx->done, search_page_end(p) != SEARCH_MORE);
}

static cc_status parse_lim(const search_spec *s, const search_cursor *cur, const char *url,
                           const char *json, const search_limits *lim, search_page **out)
{
    size_t n = strlen(json);
    char *copy = malloc(n ? n : 1);
    assert_non_null(copy);
    memcpy(copy, json, n);
    *out = (search_page *)1;
    cc_status st = search_parse(s, cur, url, (const uint8_t *)copy, n, lim, out);
    free(copy);
    if (st == CC_OK)
        check_page(*out, lim);
    else
        assert_null(*out);
    return st;
}

/* Parses json as the answer to page cur (NULL: the first page) fetched from url; must succeed. */
static search_page *parse_at(const search_spec *s, const search_cursor *cur, const char *url,
                             const char *json)
{
    search_cursor first;
    search_cursor_init(&first);
    search_page *p;
    cc_status st = parse_lim(s, cur ? cur : &first, url, json, NULL, &p);
    if (st != CC_OK)
        fail_msg("parse failed: %s", cc_errmsg());
    return p;
}

static search_page *parse(const search_spec *s, const char *url, const char *json)
{
    return parse_at(s, NULL, url, json);
}

/* The status of a parse that must fail; the message must contain want. */
static cc_status parse_error(const search_spec *s, const char *json, const search_limits *lim,
                             const char *want)
{
    search_cursor c;
    search_cursor_init(&c);
    search_page *p;
    cc_status st = parse_lim(s, &c, "http://api.test/search?q=x", json, lim, &p);
    assert_int_not_equal(st, CC_OK);
    if (want != NULL && strstr(cc_errmsg(), want) == NULL)
        fail_msg("message '%s' lacks '%s'", cc_errmsg(), want);
    return st;
}

static void url_is(const search_spec *s, const char *q, const search_cursor *c, const char *want)
{
    search_cursor first;
    search_cursor_init(&first);
    char out[URL_MAX];
    cc_status st = search_page_url(s, q, c ? c : &first, out, sizeof out);
    if (st != CC_OK)
        fail_msg("search_page_url('%s'): %s", q, cc_errmsg());
    assert_string_equal(out, want);
}

/* ---- names and presets --------------------------------------------------------------------- */

static void test_names(void **state)
{
    (void)state;
    assert_string_equal(search_skip_name(SEARCH_SKIP_NO_IMAGE), "no_image");
    assert_string_equal(search_skip_name(SEARCH_SKIP_DATA_URL), "data_url");
    assert_string_equal(search_skip_name(SEARCH_SKIP_DUPLICATE), "duplicate");
    assert_string_equal(search_skip_name(SEARCH_SKIP_RESULT_LIMIT), "result_limit");
    assert_string_equal(search_skip_name(SEARCH_SKIP_COUNT), "unknown");
    for (int r = 0; r < SEARCH_SKIP_COUNT; r++)
        assert_string_not_equal(search_skip_name((search_skip)r), "unknown");
    assert_string_equal(search_field_name(SEARCH_FIELD_LICENSE), "license");
    assert_string_equal(search_field_name((search_field)-1), "unknown");
    assert_string_equal(search_end_name(SEARCH_MORE), "more");
    assert_string_equal(search_end_name(SEARCH_END_BAD_PAGING), "bad_paging");
    assert_string_equal(search_end_name(SEARCH_END_COUNT), "unknown");
}

static void test_presets(void **state)
{
    (void)state;
    const char *const *names = search_spec_preset_names();
    size_t n = 0;
    for (; names[n]; n++) {
        search_spec *s = preset(names[n]);
        assert_string_equal(search_spec_name(s), names[n]);
        search_spec_free(s);
    }
    assert_int_equal(n, 3);
    search_spec *s = preset("openverse");
    assert_int_equal(search_spec_per_page(s), 20);
    assert_int_equal(search_spec_max_pages(s), 1000);
    assert_false(search_spec_needs_base(s));
    search_spec_free(s);
    s = preset("wikimedia");
    assert_int_equal(search_spec_per_page(s), 50);
    search_spec_free(s);
    s = preset("fixture");
    assert_int_equal(search_spec_per_page(s), 10);
    assert_true(search_spec_needs_base(s));
    search_spec_free(s);

    s = (search_spec *)1;
    assert_int_equal(search_spec_preset("bing", &s), CC_E_NOTFOUND);
    assert_null(s);
    assert_non_null(strstr(cc_errmsg(), "openverse"));
    search_spec_free(NULL);
}

/* ---- page URLs ----------------------------------------------------------------------------- */

static void test_url_encoding(void **state)
{
    (void)state;
    search_spec *s = preset("openverse");
    url_is(s, "red fox", NULL,
           "https://api.openverse.org/v1/images/?q=red%20fox&page=1&page_size=20");
    /* reserved characters cannot leak into the query string */
    url_is(s, "a&b=c+d#e/f?g%h", NULL,
           "https://api.openverse.org/v1/images/"
           "?q=a%26b%3Dc%2Bd%23e%2Ff%3Fg%25h&page=1&page_size=20");
    /* UTF-8 byte by byte, unreserved characters kept */
    url_is(s, "caf\xc3\xa9 \xe6\x9d\xb1\xe4\xba\xac ~-._", NULL,
           "https://api.openverse.org/v1/images/"
           "?q=caf%C3%A9%20%E6%9D%B1%E4%BA%AC%20~-._&page=1&page_size=20");
    url_is(s, "\"<tab>\"\t", NULL,
           "https://api.openverse.org/v1/images/?q=%22%3Ctab%3E%22%09&page=1&page_size=20");
    search_cursor c;
    search_cursor_init(&c);
    c.page = 7;
    c.offset = 120;
    url_is(s, "owl", &c, "https://api.openverse.org/v1/images/?q=owl&page=7&page_size=20");

    /* errors */
    char out[URL_MAX];
    assert_int_equal(search_page_url(s, "", &c, out, sizeof out), CC_E_INVAL);
    assert_int_equal(search_page_url(s, NULL, &c, out, sizeof out), CC_E_INVAL);
    assert_int_equal(search_page_url(s, "x", &c, out, 20), CC_E_LIMIT);
    c.done = 1;
    assert_int_equal(search_page_url(s, "owl", &c, out, sizeof out), CC_E_INVAL);
    search_cursor_init(&c);
    char *longq = malloc(1000);
    assert_non_null(longq);
    memset(longq, ' ', 999); /* 999 spaces: 2997 bytes encoded */
    longq[999] = '\0';
    assert_int_equal(search_page_url(s, longq, &c, out, sizeof out), CC_E_LIMIT);
    free(longq);
    search_spec_free(s);
}

static void test_url_offset_and_base(void **state)
{
    (void)state;
    search_spec *s = preset("wikimedia");
    search_cursor c;
    search_cursor_init(&c);
    const char *pre = "https://commons.wikimedia.org/w/api.php?action=query&format=json"
                      "&generator=search&gsrnamespace=6&gsrsearch=";
    char want[URL_MAX];
    snprintf(
        want, sizeof want,
        "%sred%%20fox&gsrlimit=50&gsroffset=0&prop=imageinfo&iiprop=url%%7Csize%%7Cextmetadata",
        pre);
    url_is(s, "red fox", &c, want);
    c.page = 3;
    c.offset = 87; /* an offset given by the API, not (page - 1) * per_page */
    snprintf(want, sizeof want,
             "%sowl&gsrlimit=50&gsroffset=87&prop=imageinfo&iiprop=url%%7Csize%%7Cextmetadata",
             pre);
    url_is(s, "owl", &c, want);
    search_spec_free(s);

    /* a relative template needs a base; the base's path is replaced */
    s = preset("fixture");
    char out[URL_MAX];
    search_cursor_init(&c);
    assert_int_equal(search_page_url(s, "red star", &c, out, sizeof out), CC_E_INVAL);
    assert_non_null(strstr(cc_errmsg(), "base"));
    assert_int_equal(search_spec_set_base(s, "ftp://x/"), CC_E_UNSUPPORTED);
    assert_int_equal(search_spec_set_base(s, "not a url"), CC_E_FORMAT);
    assert_true(search_spec_needs_base(s));
    assert_int_equal(search_spec_set_base(s, "HTTP://127.0.0.1:8080/some/dir/"), CC_OK);
    assert_false(search_spec_needs_base(s));
    c.page = 2;
    url_is(s, "red star", &c, "http://127.0.0.1:8080/api/search?q=red%20star&page=2");
    search_spec_free(s);

    /* every placeholder, a token */
    s = inline_spec("template = https://x.test/s?q={query}&p={page}&n={per_page}&o={offset}"
                    "&c={token}\nper_page = 7\nresults = r\nimage = i\ntext = t\n"
                    "next = token=cursor\n");
    search_cursor_init(&c);
    url_is(s, "q", &c, "https://x.test/s?q=q&p=1&n=7&o=0&c=");
    c.page = 2;
    c.offset = 7;
    snprintf(c.token, sizeof c.token, "ab+/=");
    url_is(s, "q", &c, "https://x.test/s?q=q&p=2&n=7&o=7&c=ab%2B%2F%3D");
    search_spec_free(s);
}

static void test_cursor_string(void **state)
{
    (void)state;
    search_cursor c, back;
    char buf[SEARCH_CURSOR_STR_MAX];
    search_cursor_init(&c);
    assert_int_equal(c.page, 1);
    assert_int_equal(search_cursor_format(&c, buf, sizeof buf), CC_OK);
    assert_string_equal(buf, "1 0");
    assert_int_equal(search_cursor_parse(buf, &back), CC_OK);
    assert_memory_equal(&c, &back, sizeof c);

    c.page = 4000000000u;
    c.offset = UINT64_MAX;
    memset(c.token, 'z', SEARCH_TOKEN_MAX - 1);
    c.token[SEARCH_TOKEN_MAX - 1] = '\0';
    assert_int_equal(search_cursor_format(&c, buf, sizeof buf), CC_OK);
    assert_true(strlen(buf) < SEARCH_CURSOR_STR_MAX);
    assert_int_equal(search_cursor_parse(buf, &back), CC_OK);
    assert_memory_equal(&c, &back, sizeof c);
    assert_int_equal(search_cursor_format(&c, buf, 10), CC_E_LIMIT);

    c.done = 1;
    assert_int_equal(search_cursor_format(&c, buf, sizeof buf), CC_OK);
    assert_string_equal(buf, "end");
    assert_int_equal(search_cursor_parse("end", &back), CC_OK);
    assert_true(back.done);

    static const char *const bad[] = {"",
                                      "0 0",
                                      "1",
                                      "1 ",
                                      "-1 0",
                                      "1 -0",
                                      "1 0 ",
                                      "1 0 a b",
                                      " 1 0",
                                      "4294967296 0",
                                      "1 18446744073709551616",
                                      "1 0 \x01",
                                      "x y",
                                      "END",
                                      NULL};
    for (size_t i = 0; bad[i]; i++) {
        if (search_cursor_parse(bad[i], &back) != CC_E_FORMAT)
            fail_msg("cursor '%s' accepted", bad[i]);
    }
    search_cursor_init(&c);
    snprintf(c.token, sizeof c.token, "a b");
    assert_int_equal(search_cursor_format(&c, buf, sizeof buf), CC_E_INVAL);
}

/* ---- the presets on real-shaped answers ---------------------------------------------------- */

/* Openverse /v1/images/ answer: objects with many fields; the last page of 3. */
static const char openverse_page[] =
    "{\"result_count\": 52, \"page_count\": 3, \"page_size\": 20, \"page\": 3,\n"
    " \"results\": [\n"
    "  {\"id\": \"4bc43a04-ef46-4544-a0c1-63c63f56e276\", \"title\": \"Red fox in the snow\",\n"
    "   \"indexed_on\": \"2022-08-27T17:39:48Z\",\n"
    "   \"foreign_landing_url\": \"https://www.flickr.com/photos/123@N02/5167187329\",\n"
    "   \"url\": \"https://live.staticflickr.com/4131/5167187329_2a3b4c5d6e_b.jpg\",\n"
    "   \"creator\": \"J\\u00f6rg\", \"creator_url\": \"https://www.flickr.com/photos/123@N02\",\n"
    "   \"license\": \"by-sa\", \"license_version\": \"2.0\",\n"
    "   \"license_url\": \"https://creativecommons.org/licenses/by-sa/2.0/\",\n"
    "   \"provider\": \"flickr\", \"source\": \"flickr\", \"category\": \"photograph\",\n"
    "   \"genres\": null, \"filesize\": null, \"filetype\": \"jpg\",\n"
    "   \"tags\": [{\"accuracy\": null, \"name\": \"fox\", \"unstable__provider\": \"flickr\"},\n"
    "            {\"accuracy\": 0.96, \"name\": \"snow\", \"unstable__provider\": \"clarifai\"}],\n"
    "   \"attribution\": \"\\\"Red fox in the snow\\\" by J\\u00f6rg is licensed under CC BY-SA "
    "2.0.\",\n"
    "   \"fields_matched\": [\"title\", \"tags.name\"], \"mature\": false,\n"
    "   \"height\": 683, \"width\": 1024,\n"
    "   \"thumbnail\": \"https://api.openverse.org/v1/images/4bc43a04-ef46-4544-a0c1-"
    "63c63f56e276/thumb/\",\n"
    "   \"detail_url\": \"https://api.openverse.org/v1/images/4bc43a04-ef46-4544-a0c1-"
    "63c63f56e276/\",\n"
    "   \"related_url\": \"https://api.openverse.org/v1/images/4bc43a04-ef46-4544-a0c1-"
    "63c63f56e276/related/\",\n"
    "   \"unstable__sensitivity\": []},\n"
    "  {\"id\": \"b1\", \"title\": \"  Fox\\u00a0cub\\tplaying  \", \"url\": "
    "\"http://farm1.static.flickr.com/2/3_4.jpg#frag\",\n"
    "   \"foreign_landing_url\": \"https://www.flickr.com/photos/x/3\", \"license\": \"cc0\",\n"
    "   \"license_version\": \"1.0\", \"height\": null, \"width\": null, \"mature\": false},\n"
    "  {\"id\": \"b2\", \"title\": null, \"url\": \"https://upload.wikimedia.org/a.jpg\",\n"
    "   \"foreign_landing_url\": \"https://commons.wikimedia.org/w/index.php?curid=1\"},\n"
    "  {\"id\": \"b3\", \"title\": \"Fox logo\", \"url\": "
    "\"https://upload.wikimedia.org/wikipedia/commons/f/f0/Fox.svg\"},\n"
    "  {\"id\": \"b4\", \"title\": \"Red fox in the\\nsnow\", \"url\": "
    "\"https://live.staticflickr.com/4131/5167187329_2a3b4c5d6e_b.jpg\"}\n"
    " ], \"warnings\": []}";

static void test_openverse(void **state)
{
    (void)state;
    search_spec *s = preset("openverse");
    search_cursor c;
    search_cursor_init(&c);
    c.page = 3;
    c.offset = 40;
    search_page *p = parse_at(
        s, &c, "https://api.openverse.org/v1/images/?q=fox&page=3&page_size=20", openverse_page);
    assert_int_equal(search_page_count(p), 2);
    const search_result *r = search_page_at(p, 0);
    assert_string_equal(r->image_url,
                        "https://live.staticflickr.com/4131/5167187329_2a3b4c5d6e_b.jpg");
    assert_string_equal(r->text, "Red fox in the snow");
    assert_string_equal(r->page_url, "https://www.flickr.com/photos/123@N02/5167187329");
    assert_string_equal(r->license, "by-sa 2.0");
    assert_int_equal(r->width, 1024);
    assert_int_equal(r->height, 683);
    assert_int_equal(r->index, 0);
    r = search_page_at(p, 1);
    assert_string_equal(r->image_url, "http://farm1.static.flickr.com/2/3_4.jpg");
    assert_string_equal(r->text, "Fox cub playing"); /* normalized */
    assert_string_equal(r->license, "cc0 1.0");
    assert_int_equal(r->width, 0);
    assert_int_equal(r->height, 0);
    assert_int_equal(r->index, 1);
    const search_stats *st = search_page_stats(p);
    assert_int_equal(st->entries, 5);
    assert_int_equal(st->skipped[SEARCH_SKIP_NO_TEXT], 1);
    assert_int_equal(st->skipped[SEARCH_SKIP_SVG], 1);
    assert_int_equal(st->skipped[SEARCH_SKIP_DUPLICATE], 1);
    for (int f = 0; f < SEARCH_FIELD_COUNT; f++)
        assert_int_equal(st->bad_type[f], 0);
    /* page 3 of page_count 3 */
    assert_int_equal(search_page_end(p), SEARCH_END_LAST);
    assert_true(search_page_next(p)->done);
    search_page_free(p);

    /* the same answer as page 2: more */
    c.page = 2;
    c.offset = 20;
    p = parse_at(s, &c, "https://api.openverse.org/v1/images/?q=fox&page=2&page_size=20",
                 openverse_page);
    assert_int_equal(search_page_end(p), SEARCH_MORE);
    assert_int_equal(search_page_next(p)->page, 3);
    assert_int_equal(search_page_next(p)->offset, 40);
    assert_false(search_page_next(p)->done);
    search_page_free(p);

    /* no results at all */
    p = parse(s, "https://api.openverse.org/v1/images/?q=zzz",
              "{\"result_count\":0,\"page_count\":0,\"page_size\":20,\"page\":1,\"results\":[]}");
    assert_int_equal(search_page_count(p), 0);
    assert_int_equal(search_page_end(p), SEARCH_END_EMPTY);
    search_page_free(p);
    search_spec_free(s);
}

/* Wikimedia Commons, generator=search + prop=imageinfo: pages keyed by page id, in id order;
 * "index" is the search rank. */
static const char wikimedia_page[] =
    "{\"batchcomplete\": \"\",\n"
    " \"continue\": {\"gsroffset\": 53, \"continue\": \"gsroffset||\"},\n"
    " \"query\": {\"pages\": {\n"
    "  \"1288\": {\"pageid\": 1288, \"ns\": 6, \"title\": \"File:Vulpes vulpes laying in "
    "snow.jpg\", \"index\": 3,\n"
    "   \"imagerepository\": \"local\",\n"
    "   \"imageinfo\": [{\"size\": 3211238, \"width\": 4000, \"height\": 2667,\n"
    "     \"url\": \"https://upload.wikimedia.org/wikipedia/commons/1/1e/"
    "Vulpes_vulpes_laying_in_snow.jpg\",\n"
    "     \"descriptionurl\": \"https://commons.wikimedia.org/wiki/"
    "File:Vulpes_vulpes_laying_in_snow.jpg\",\n"
    "     \"descriptionshorturl\": \"https://commons.wikimedia.org/w/index.php?curid=1288\",\n"
    "     \"extmetadata\": {\n"
    "       \"DateTime\": {\"value\": \"2012-02-01 10:00:00\", \"source\": \"mediawiki-metadata\","
    " \"hidden\": \"\"},\n"
    "       \"ImageDescription\": {\"value\": \"<div class=\\\"description en\\\" "
    "lang=\\\"en\\\"><span class=\\\"language en\\\"><b>English:</b></span> A <a "
    "href=\\\"/wiki/Red_fox\\\">red fox</a> lying in snow</div>\", \"source\": "
    "\"commons-desc-page\"},\n"
    "       \"LicenseShortName\": {\"value\": \"CC BY-SA 3.0\", \"source\": "
    "\"commons-desc-page\", \"hidden\": \"\"}}}]},\n"
    "  \"40\": {\"pageid\": 40, \"ns\": 6, \"title\": \"File:Fox_study_6.jpg\", \"index\": 1,\n"
    "   \"imagerepository\": \"local\",\n"
    "   \"imageinfo\": [{\"size\": 10, \"width\": 800, \"height\": 600,\n"
    "     \"url\": \"https://upload.wikimedia.org/wikipedia/commons/a/ab/Fox_study_6.jpg\",\n"
    "     \"descriptionurl\": \"https://commons.wikimedia.org/wiki/File:Fox_study_6.jpg\",\n"
    "     \"extmetadata\": {\"LicenseShortName\": {\"value\": \"Public domain\"}}}]},\n"
    "  \"977\": {\"pageid\": 977, \"ns\": 6, \"index\": 2,\n"
    "   \"imageinfo\": [{\"width\": 640, \"height\": \"480\",\n"
    "     \"url\": \"https://upload.wikimedia.org/wikipedia/commons/c/cd/P1000123.JPG\",\n"
    "     \"descriptionurl\": \"https://commons.wikimedia.org/wiki/File:P1000123.JPG\",\n"
    "     \"extmetadata\": {\"ImageDescription\": {\"value\": \"Fox &amp; hound at the "
    "<i>Zoo</i>&#33;<br/>Taken 2009\"}}}]},\n"
    "  \"5\": {\"pageid\": 5, \"ns\": 6, \"title\": \"File:Fox icon.svg\", \"index\": 4,\n"
    "   \"imageinfo\": [{\"url\": \"https://upload.wikimedia.org/wikipedia/commons/5/5a/"
    "Fox_icon.svg\", \"width\": 512, \"height\": 512}]},\n"
    "  \"-1\": {\"ns\": 6, \"title\": \"File:Missing.jpg\", \"missing\": \"\", \"index\": 5}\n"
    " }}}";

static void test_wikimedia(void **state)
{
    (void)state;
    search_spec *s = preset("wikimedia");
    search_cursor c;
    search_cursor_init(&c);
    c.page = 2;
    c.offset = 3;
    search_page *p = parse_at(s, &c,
                              "https://commons.wikimedia.org/w/api.php?action=query&format=json"
                              "&generator=search&gsrsearch=fox&gsroffset=3",
                              wikimedia_page);
    assert_int_equal(search_page_count(p), 3);
    /* ordered by "index", not by page id */
    const search_result *r = search_page_at(p, 0);
    assert_string_equal(r->text, "Fox study 6");
    assert_string_equal(r->image_url,
                        "https://upload.wikimedia.org/wikipedia/commons/a/ab/Fox_study_6.jpg");
    assert_string_equal(r->page_url, "https://commons.wikimedia.org/wiki/File:Fox_study_6.jpg");
    assert_string_equal(r->license, "Public domain");
    assert_int_equal(r->width, 800);
    assert_int_equal(r->height, 600);
    assert_int_equal(r->index, 0);
    r = search_page_at(p, 1);
    /* no title: the description, HTML stripped, entities decoded */
    assert_string_equal(r->text, "Fox & hound at the Zoo! Taken 2009");
    assert_int_equal(r->width, 640);
    assert_int_equal(r->height, 480); /* a string of digits */
    assert_null(r->license);
    r = search_page_at(p, 2);
    assert_string_equal(r->text, "Vulpes vulpes laying in snow");
    assert_string_equal(r->license, "CC BY-SA 3.0");
    assert_int_equal(r->width, 4000);
    const search_stats *st = search_page_stats(p);
    assert_int_equal(st->entries, 5);
    assert_int_equal(st->skipped[SEARCH_SKIP_SVG], 1);
    assert_int_equal(st->skipped[SEARCH_SKIP_NO_IMAGE], 1);
    /* the next offset comes from the answer */
    assert_int_equal(search_page_end(p), SEARCH_MORE);
    assert_int_equal(search_page_next(p)->offset, 53);
    assert_int_equal(search_page_next(p)->page, 3);
    search_page_free(p);

    /* the last page has no "continue" */
    p = parse_at(s, &c, "https://commons.wikimedia.org/w/api.php?q",
                 "{\"batchcomplete\":\"\",\"query\":{\"pages\":{\"7\":{\"pageid\":7,\"ns\":6,"
                 "\"title\":\"File:A_fox.png\",\"index\":1,\"imageinfo\":[{\"url\":"
                 "\"//upload.wikimedia.org/x/A_fox.png\",\"descriptionurl\":"
                 "\"/wiki/File:A_fox.png\"}]}}}}");
    assert_int_equal(search_page_count(p), 1);
    r = search_page_at(p, 0);
    assert_string_equal(r->text, "A fox");
    assert_string_equal(r->image_url, "https://upload.wikimedia.org/x/A_fox.png");
    assert_string_equal(r->page_url, "https://commons.wikimedia.org/wiki/File:A_fox.png");
    assert_int_equal(search_page_end(p), SEARCH_END_LAST);
    search_page_free(p);

    /* nothing found: Commons leaves "query" out */
    p = parse(s, "https://commons.wikimedia.org/w/api.php?q", "{\"batchcomplete\":\"\"}");
    assert_int_equal(search_page_count(p), 0);
    assert_int_equal(search_page_end(p), SEARCH_END_EMPTY);
    search_page_free(p);

    /* an API error */
    assert_int_equal(parse_error(s,
                                 "{\"error\":{\"code\":\"badvalue\",\"info\":\"Unrecognized value "
                                 "for parameter \\\"gsrwhat\\\".\",\"*\":\"See docs\"},"
                                 "\"servedby\":\"mw1\"}",
                                 NULL, "search API error: Unrecognized value"),
                     CC_E_FORMAT);
    /* an offset that does not advance would loop: the query ends */
    search_cursor_init(&c);
    c.offset = 60;
    p = parse_at(s, &c, "https://commons.wikimedia.org/w/api.php?q", wikimedia_page);
    assert_int_equal(search_page_end(p), SEARCH_END_BAD_PAGING);
    search_page_free(p);
    search_spec_free(s);
}

/* The fixture web's answer, as docs/FIXTURE_WEB.md and tests/fixtures/web/site_html.c write it
 * (nginx has replaced //fixture.test/ by the request's host). */
static void test_fixture(void **state)
{
    (void)state;
    search_spec *s = preset("fixture");
    assert_int_equal(search_spec_set_base(s, "http://127.0.0.1:39123"), CC_OK);
    search_cursor c;
    search_cursor_init(&c);
    char url[URL_MAX];
    assert_int_equal(search_page_url(s, "red star", &c, url, sizeof url), CC_OK);
    assert_string_equal(url, "http://127.0.0.1:39123/api/search?q=red%20star&page=1");
    search_page *p = parse_at(
        s, &c, url,
        "{\"query\":\"red star\",\"page\":1,\"per_page\":10,\"total\":12,\"pages\":2,"
        "\"next\":\"/api/search?q=red+star&page=2\",\"prev\":null,\"results\":[\n"
        "{\"rank\":1,\"image_url\":\"http://127.0.0.1:39123/img/000/000123.jpg\",\"title\":"
        "\"a small red star on stripes\",\"description\":\"Gallery page 17: favourites\","
        "\"page_url\":\"http://127.0.0.1:39123/pages/000/p000017.html\",\"width\":320,"
        "\"height\":240},\n"
        "{\"rank\":2,\"image_url\":\"http://127.0.0.1:39123/r/000001.jpg\",\"title\":"
        "\"Red &amp; white star, \\\"big\\\"\",\"description\":\"Gallery page 3: stars\","
        "\"page_url\":\"http://127.0.0.1:39123/pages/000/p000003.html\",\"width\":200,"
        "\"height\":200}]}\n");
    assert_int_equal(search_page_count(p), 2);
    const search_result *r = search_page_at(p, 0);
    assert_string_equal(r->image_url, "http://127.0.0.1:39123/img/000/000123.jpg");
    assert_string_equal(r->text, "a small red star on stripes");
    assert_string_equal(r->page_url, "http://127.0.0.1:39123/pages/000/p000017.html");
    assert_int_equal(r->width, 320);
    assert_int_equal(r->height, 240);
    assert_null(r->license);
    /* no @html on the fixture: text is kept as the API gives it */
    assert_string_equal(search_page_at(p, 1)->text, "Red &amp; white star, \"big\"");
    assert_int_equal(search_page_end(p), SEARCH_MORE);
    const search_cursor *nx = search_page_next(p);
    assert_int_equal(nx->page, 2);
    assert_int_equal(search_page_url(s, "red star", nx, url, sizeof url), CC_OK);
    assert_string_equal(url, "http://127.0.0.1:39123/api/search?q=red%20star&page=2");
    search_cursor second = *nx;
    search_page_free(p);

    p = parse_at(s, &second, url,
                 "{\"query\":\"red star\",\"page\":2,\"per_page\":10,\"total\":12,\"pages\":2,"
                 "\"next\":null,\"prev\":\"/api/search?q=red+star&page=1\",\"results\":["
                 "{\"rank\":11,\"image_url\":\"http://127.0.0.1:39123/img/000/000900.webp\","
                 "\"title\":\"IMG_0042.jpg\",\"description\":\"Gallery page 9: x\","
                 "\"page_url\":\"http://127.0.0.1:39123/pages/000/p000009.html\","
                 "\"width\":256,\"height\":256}]}");
    assert_int_equal(search_page_count(p), 1);
    assert_int_equal(search_page_end(p), SEARCH_END_LAST);
    search_page_free(p);

    /* the answer to an unknown query (api/empty.json) */
    p = parse(s, url,
              "{\"query\":\"\",\"page\":0,\"per_page\":10,\"total\":0,\"pages\":0,"
              "\"next\":null,\"prev\":null,\"results\":[]}\n");
    assert_int_equal(search_page_end(p), SEARCH_END_EMPTY);
    search_page_free(p);
    search_spec_free(s);
}

/* ---- paging modes -------------------------------------------------------------------------- */

/* The end of page cur (page, offset) of an answer whose paging part is extra, with n results. */
static search_end end_of(const char *next_mode, unsigned page, uint64_t offset, const char *extra,
                         int n, search_cursor *nx)
{
    char spec[512], json[1024];
    snprintf(spec, sizeof spec,
             "template = https://x.test/?q={query}&o={offset}&t={token}\nper_page = 10\n"
             "max_pages = 5\nresults = r\nimage = i\ntext = t\nnext = %s\n",
             next_mode);
    search_spec *s = inline_spec(spec);
    snprintf(json, sizeof json, "{%s%s\"r\":[%s]}", extra, extra[0] ? "," : "",
             n == 0   ? ""
             : n == 1 ? "{\"i\":\"/a.jpg\",\"t\":\"a\"}"
                      : "{\"i\":\"/a.jpg\",\"t\":\"a\"},{\"i\":\"/b.jpg\",\"t\":\"b\"}");
    search_cursor c;
    search_cursor_init(&c);
    c.page = page;
    c.offset = offset;
    snprintf(c.token, sizeof c.token, "%s", page > 1 ? "tok1" : "");
    search_page *p = parse_at(s, &c, "https://x.test/?q=a", json);
    search_end e = search_page_end(p);
    if (nx != NULL)
        *nx = *search_page_next(p);
    const search_cursor *n2 = search_page_next(p);
    if (e != SEARCH_MORE) {
        assert_true(n2->done);
        assert_int_equal(n2->page, page); /* an ended cursor keeps where it was */
    } else {
        assert_int_equal(n2->page, page + 1);
    }
    search_page_free(p);
    search_spec_free(s);
    return e;
}

static void test_paging_modes(void **state)
{
    (void)state;
    search_cursor nx;
    /* empty: only an empty page ends */
    assert_int_equal(end_of("empty", 1, 0, "", 2, &nx), SEARCH_MORE);
    assert_int_equal(nx.offset, 10);
    assert_int_equal(end_of("empty", 1, 0, "", 0, NULL), SEARCH_END_EMPTY);
    /* ... and max_pages (5) */
    assert_int_equal(end_of("empty", 4, 30, "", 2, NULL), SEARCH_MORE);
    assert_int_equal(end_of("empty", 5, 40, "", 2, NULL), SEARCH_END_MAX_PAGES);

    /* present: a next field */
    assert_int_equal(end_of("nxt", 1, 0, "\"nxt\":\"/p2\"", 1, NULL), SEARCH_MORE);
    assert_int_equal(end_of("present=nxt", 1, 0, "\"nxt\":2", 1, NULL), SEARCH_MORE);
    assert_int_equal(end_of("nxt", 1, 0, "\"nxt\":true", 1, NULL), SEARCH_MORE);
    assert_int_equal(end_of("nxt", 1, 0, "\"nxt\":null", 1, NULL), SEARCH_END_LAST);
    assert_int_equal(end_of("nxt", 1, 0, "", 1, NULL), SEARCH_END_LAST);
    assert_int_equal(end_of("nxt", 1, 0, "\"nxt\":\"\"", 1, NULL), SEARCH_END_LAST);
    assert_int_equal(end_of("nxt", 1, 0, "\"nxt\":false", 1, NULL), SEARCH_END_LAST);
    assert_int_equal(end_of("nxt", 1, 0, "\"nxt\":[]", 1, NULL), SEARCH_END_LAST);
    assert_int_equal(end_of("nxt", 1, 0, "\"nxt\":{}", 1, NULL), SEARCH_END_LAST);
    assert_int_equal(end_of("links.next", 1, 0, "\"links\":{\"next\":\"x\"}", 1, NULL),
                     SEARCH_MORE);
    /* an empty page ends even when the API says there is a next one */
    assert_int_equal(end_of("nxt", 1, 0, "\"nxt\":\"/p2\"", 0, NULL), SEARCH_END_EMPTY);

    /* total: while offset + per_page < total */
    assert_int_equal(end_of("total=n", 1, 0, "\"n\":11", 2, NULL), SEARCH_MORE);
    assert_int_equal(end_of("total=n", 1, 0, "\"n\":10", 2, NULL), SEARCH_END_LAST);
    assert_int_equal(end_of("total=n", 2, 10, "\"n\":21", 2, NULL), SEARCH_MORE);
    assert_int_equal(end_of("total=n", 2, 10, "\"n\":20", 2, NULL), SEARCH_END_LAST);
    assert_int_equal(end_of("total=meta.total", 1, 0, "\"meta\":{\"total\":\"35\"}", 2, NULL),
                     SEARCH_MORE);
    assert_int_equal(end_of("total=n", 1, 0, "", 2, NULL), SEARCH_END_BAD_PAGING);
    assert_int_equal(end_of("total=n", 1, 0, "\"n\":\"many\"", 2, NULL), SEARCH_END_BAD_PAGING);
    assert_int_equal(end_of("total=n", 1, 0, "\"n\":-3", 2, NULL), SEARCH_END_BAD_PAGING);

    /* pages: while page < page count */
    assert_int_equal(end_of("pages=pc", 1, 0, "\"pc\":2", 2, NULL), SEARCH_MORE);
    assert_int_equal(end_of("pages=pc", 2, 10, "\"pc\":2", 2, NULL), SEARCH_END_LAST);
    assert_int_equal(end_of("pages=pc", 3, 20, "\"pc\":2", 2, NULL), SEARCH_END_LAST);
    assert_int_equal(end_of("pages=pc", 1, 0, "\"pc\":2.0", 2, NULL), SEARCH_MORE);
    assert_int_equal(end_of("pages=pc", 1, 0, "\"pc\":2.5", 2, NULL), SEARCH_END_BAD_PAGING);
    assert_int_equal(end_of("pages=pc", 1, 0, "\"pc\":null", 2, NULL), SEARCH_END_BAD_PAGING);
    assert_int_equal(end_of("pages=pc", 4, 30, "\"pc\":100", 2, NULL), SEARCH_MORE);
    assert_int_equal(end_of("pages=pc", 5, 40, "\"pc\":100", 2, NULL), SEARCH_END_MAX_PAGES);

    /* offset: the next offset from the answer */
    assert_int_equal(end_of("offset=c.o", 1, 0, "\"c\":{\"o\":7}", 2, &nx), SEARCH_MORE);
    assert_int_equal(nx.offset, 7);
    assert_int_equal(nx.page, 2);
    assert_int_equal(end_of("offset=c.o", 2, 7, "\"c\":{\"o\":\"19\"}", 2, &nx), SEARCH_MORE);
    assert_int_equal(nx.offset, 19);
    assert_int_equal(end_of("offset=c.o", 2, 7, "\"c\":{}", 2, NULL), SEARCH_END_LAST);
    assert_int_equal(end_of("offset=c.o", 2, 7, "\"c\":{\"o\":null}", 2, NULL), SEARCH_END_LAST);
    assert_int_equal(end_of("offset=c.o", 2, 7, "\"c\":{\"o\":7}", 2, NULL), SEARCH_END_BAD_PAGING);
    assert_int_equal(end_of("offset=c.o", 2, 7, "\"c\":{\"o\":3}", 2, NULL), SEARCH_END_BAD_PAGING);
    assert_int_equal(end_of("offset=c.o", 2, 7, "\"c\":{\"o\":[8]}", 2, NULL),
                     SEARCH_END_BAD_PAGING);

    /* token: the next token from the answer */
    assert_int_equal(end_of("token=cur", 1, 0, "\"cur\":\"AoE/x+2=\"", 2, &nx), SEARCH_MORE);
    assert_string_equal(nx.token, "AoE/x+2=");
    assert_int_equal(end_of("token=cur", 1, 0, "\"cur\":12345", 2, &nx), SEARCH_MORE);
    assert_string_equal(nx.token, "12345");
    assert_int_equal(end_of("token=cur", 2, 10, "\"cur\":\"tok1\"", 2, NULL),
                     SEARCH_END_BAD_PAGING); /* the same token again */
    assert_int_equal(end_of("token=cur", 1, 0, "\"cur\":\"a b\"", 2, NULL), SEARCH_END_BAD_PAGING);
    assert_int_equal(end_of("token=cur", 1, 0, "\"cur\":{}", 2, NULL), SEARCH_END_BAD_PAGING);
    assert_int_equal(end_of("token=cur", 1, 0, "\"cur\":null", 2, NULL), SEARCH_END_LAST);
    assert_int_equal(end_of("token=cur", 1, 0, "\"cur\":\"\"", 2, NULL), SEARCH_END_LAST);
    assert_int_equal(end_of("token=cur", 1, 0, "", 2, NULL), SEARCH_END_LAST);
    char extra[400];
    snprintf(extra, sizeof extra, "\"cur\":\"%0*d\"", SEARCH_TOKEN_MAX - 1, 7);
    assert_int_equal(end_of("token=cur", 1, 0, extra, 2, &nx), SEARCH_MORE);
    assert_int_equal(strlen(nx.token), SEARCH_TOKEN_MAX - 1);
    snprintf(extra, sizeof extra, "\"cur\":\"%0*d\"", SEARCH_TOKEN_MAX, 7);
    assert_int_equal(end_of("token=cur", 1, 0, extra, 2, NULL), SEARCH_END_BAD_PAGING);
}

/* A whole query walked page by page, as the pipeline does: the loop ends by itself. */
static void test_paging_walk(void **state)
{
    (void)state;
    search_spec *s = inline_spec("template = https://x.test/?q={query}&page={page}\n"
                                 "per_page = 2\nresults = items\nimage = img\ntext = cap\n"
                                 "next = total=count\n");
    search_cursor c;
    search_cursor_init(&c);
    size_t pages = 0, kept = 0;
    while (!c.done) {
        char url[URL_MAX], json[512];
        assert_int_equal(search_page_url(s, "q", &c, url, sizeof url), CC_OK);
        snprintf(json, sizeof json,
                 "{\"count\":5,\"items\":[{\"img\":\"/%u-a.jpg\",\"cap\":\"x\"}%s]}", c.page,
                 c.page < 3 ? ",{\"img\":\"b.jpg\",\"cap\":\"y\"}" : "");
        search_page *p = parse_at(s, &c, url, json);
        kept += search_page_count(p);
        c = *search_page_next(p);
        search_page_free(p);
        pages++;
        assert_true(pages <= 3);
    }
    assert_int_equal(pages, 3);
    assert_int_equal(kept, 5);
    char buf[SEARCH_CURSOR_STR_MAX];
    assert_int_equal(search_cursor_format(&c, buf, sizeof buf), CC_OK);
    assert_string_equal(buf, "end");
    search_spec_free(s);
}

/* ---- results: URLs, texts, types, skips ---------------------------------------------------- */

static const char generic_spec[] = "template = https://api.test/search?q={query}\n"
                                   "results = data.items\n"
                                   "image = media.src | thumb\n"
                                   "text = alt | caption\n"
                                   "page = link\n"
                                   "width = w\n"
                                   "height = h\n"
                                   "license = lic\n";

static void test_relative_urls(void **state)
{
    (void)state;
    search_spec *s = inline_spec(generic_spec);
    search_page *p = parse(
        s, "https://api.test/v2/search?q=x",
        "{\"data\":{\"items\":["
        "{\"media\":{\"src\":\"img/a.jpg\"},\"alt\":\"relative\",\"link\":\"../pages/a\"},"
        "{\"media\":{\"src\":\"/img/b.jpg?s=1#top\"},\"alt\":\"root relative\",\"link\":\"?p=2\"},"
        "{\"media\":{\"src\":\"//CDN.Example.ORG:443/c.jpg\"},\"alt\":\"protocol relative\","
        "\"link\":\"//example.org\"},"
        "{\"media\":{\"src\":\"http://Example.COM:80/./d/../e%7e.jpg\"},\"alt\":\"absolute\","
        "\"link\":\"http://[::1]/\"},"
        "{\"media\":{\"src\":\"  https://x.test/sp ace.jpg \"},\"alt\":\"spaces\","
        "\"link\":\"http://bad host/\"}"
        "]}}");
    assert_int_equal(search_page_count(p), 5);
    static const char *const img[] = {
        "https://api.test/v2/img/a.jpg", "https://api.test/img/b.jpg?s=1",
        "https://cdn.example.org/c.jpg", "http://example.com/e~.jpg",
        "https://x.test/sp%20ace.jpg",
    };
    static const char *const page[] = {
        "https://api.test/pages/a",
        "https://api.test/v2/search?p=2",
        "https://example.org/",
        "http://[::1]/",
        NULL,
    };
    for (size_t i = 0; i < 5; i++) {
        const search_result *r = search_page_at(p, i);
        assert_string_equal(r->image_url, img[i]);
        if (page[i] == NULL)
            assert_null(r->page_url);
        else
            assert_string_equal(r->page_url, page[i]);
    }
    assert_int_equal(search_page_stats(p)->bad_page_url, 1);
    search_page_free(p);

    /* protocol-relative against an http page stays http */
    p = parse(s, "http://api.test/s",
              "{\"data\":{\"items\":[{\"thumb\":\"//cdn.test/t.jpg\",\"caption\":\"thumb\"}]}}");
    assert_string_equal(search_page_at(p, 0)->image_url, "http://cdn.test/t.jpg");
    search_page_free(p);
    search_spec_free(s);
}

static void test_skip_reasons(void **state)
{
    (void)state;
    search_spec *s = inline_spec(generic_spec);
    search_page *p = parse(s, "https://api.test/s",
                           "{\"data\":{\"items\":["
                           "\"just a string\", 42, null, [1],"
                           "{\"alt\":\"no image at all\"},"
                           "{\"media\":{\"src\":\"\"},\"alt\":\"empty image\"},"
                           "{\"media\":{\"src\":17},\"alt\":\"image is a number\"},"
                           "{\"media\":{\"src\":\" DATA:image/png;base64,iVBOR\"},\"alt\":\"d\"},"
                           "{\"media\":{\"src\":\"ftp://f.test/a.jpg\"},\"alt\":\"ftp\"},"
                           "{\"media\":{\"src\":\"javascript:alert(1)\"},\"alt\":\"js\"},"
                           "{\"media\":{\"src\":\"http://u:p@h.test/a.jpg\"},\"alt\":\"user\"},"
                           "{\"media\":{\"src\":\"http://\"},\"alt\":\"no host\"},"
                           "{\"media\":{\"src\":\"http://h.test:99999/a.jpg\"},\"alt\":\"port\"},"
                           "{\"media\":{\"src\":\"/logo.SVG?v=2\"},\"alt\":\"svg\"},"
                           "{\"media\":{\"src\":\"/logo.svgz\"},\"alt\":\"svgz\"},"
                           "{\"media\":{\"src\":\"/anim.Gif\"},\"alt\":\"gif\"},"
                           "{\"media\":{\"src\":\"/favicon.ico#x\"},\"alt\":\"ico\"},"
                           "{\"media\":{\"src\":\"/gif.jpg?f=.gif\"},\"alt\":\"a jpeg\"},"
                           "{\"media\":{\"src\":\"/n1.jpg\"}},"
                           "{\"media\":{\"src\":\"/n2.jpg\"},\"alt\":\" \\u200b \\t\"},"
                           "{\"media\":{\"src\":\"/n3.jpg\"},\"alt\":[\"x\"]},"
                           "{\"media\":{\"src\":\"/gif.jpg?f=.gif#y\"},\"alt\":\"a jpeg\"},"
                           "{\"media\":{\"src\":\"https://api.test/gif.jpg?f=.gif\"},"
                           "\"alt\":\"  a\\tjpeg \"},"
                           "{\"media\":{\"src\":\"/gif.jpg?f=.gif\"},\"alt\":\"A jpeg\"}"
                           "]}}");
    const search_stats *st = search_page_stats(p);
    assert_int_equal(st->entries, 24);
    assert_int_equal(st->kept, 2);
    assert_string_equal(search_page_at(p, 0)->image_url, "https://api.test/gif.jpg?f=.gif");
    assert_string_equal(search_page_at(p, 0)->text, "a jpeg");
    assert_int_equal(search_page_at(p, 0)->index, 17);
    /* the same image with another text is another pair */
    assert_string_equal(search_page_at(p, 1)->image_url, "https://api.test/gif.jpg?f=.gif");
    assert_string_equal(search_page_at(p, 1)->text, "A jpeg");
    assert_int_equal(search_page_at(p, 1)->index, 23);
    assert_int_equal(st->skipped[SEARCH_SKIP_NOT_OBJECT], 4);
    assert_int_equal(st->skipped[SEARCH_SKIP_NO_IMAGE], 3);
    assert_int_equal(st->skipped[SEARCH_SKIP_DATA_URL], 1);
    assert_int_equal(st->skipped[SEARCH_SKIP_UNSUPPORTED], 3);
    assert_int_equal(st->skipped[SEARCH_SKIP_BAD_URL], 2);
    assert_int_equal(st->skipped[SEARCH_SKIP_SVG], 2);
    assert_int_equal(st->skipped[SEARCH_SKIP_GIF], 1);
    assert_int_equal(st->skipped[SEARCH_SKIP_ICO], 1);
    assert_int_equal(st->skipped[SEARCH_SKIP_NO_TEXT], 3);
    assert_int_equal(st->skipped[SEARCH_SKIP_DUPLICATE], 2);
    assert_int_equal(st->bad_type[SEARCH_FIELD_IMAGE], 1);
    assert_int_equal(st->bad_type[SEARCH_FIELD_TEXT], 1);
    search_page_free(p);
    search_spec_free(s);
}

static void test_wrong_types(void **state)
{
    (void)state;
    search_spec *s = inline_spec(generic_spec);
    search_page *p = parse(
        s, "https://api.test/s",
        "{\"data\":{\"items\":["
        /* first alternative of the wrong type: the second is used, the type counted */
        "{\"media\":{\"src\":{\"u\":1}},\"thumb\":\"/t.jpg\",\"alt\":5,\"caption\":\"second\","
        "\"link\":7,\"w\":\"wide\",\"h\":-1,\"lic\":{\"name\":\"cc\"}},"
        /* sizes: integral reals, digit strings; out of range ignored */
        "{\"media\":\"/m.jpg\",\"thumb\":\"/u.jpg\",\"alt\":\"sizes\",\"w\":640.0,\"h\":\"480\"},"
        "{\"thumb\":\"/v.jpg\",\"alt\":\"big\",\"w\":1000001,\"h\":0,\"lic\":\"\"},"
        "{\"thumb\":\"/x.jpg\",\"alt\":\"real\",\"w\":12.5,\"h\":1e300,\"lic\":null},"
        "{\"thumb\":\"/y.jpg\",\"alt\":\"huge\",\"w\":99999999999999999999999.0,\"h\":true,"
        "\"id\":123456789012345678901234567890}"
        "]}}");
    const search_stats *st = search_page_stats(p);
    assert_int_equal(st->kept, 5);
    const search_result *r = search_page_at(p, 0);
    assert_string_equal(r->image_url, "https://api.test/t.jpg");
    assert_string_equal(r->text, "second");
    assert_null(r->page_url);
    assert_null(r->license);
    assert_int_equal(r->width, 0);
    assert_int_equal(r->height, 0);
    r = search_page_at(p, 1);
    assert_string_equal(r->image_url, "https://api.test/u.jpg"); /* media is not an object */
    assert_int_equal(r->width, 640);
    assert_int_equal(r->height, 480);
    r = search_page_at(p, 2);
    assert_int_equal(r->width, 0);
    assert_int_equal(r->height, 0);
    assert_null(r->license);
    assert_int_equal(st->bad_type[SEARCH_FIELD_IMAGE], 1);
    assert_int_equal(st->bad_type[SEARCH_FIELD_TEXT], 1);
    assert_int_equal(st->bad_type[SEARCH_FIELD_PAGE], 1);
    assert_int_equal(st->bad_type[SEARCH_FIELD_WIDTH], 4);
    assert_int_equal(st->bad_type[SEARCH_FIELD_HEIGHT], 3);
    assert_int_equal(st->bad_type[SEARCH_FIELD_LICENSE], 1);
    search_page_free(p);

    /* the result list of the wrong type is an error naming the path */
    assert_int_equal(
        parse_error(s, "{\"data\":{\"items\":{\"a\":1}}}", NULL, "'data.items' is not an array"),
        CC_E_FORMAT);
    assert_int_equal(parse_error(s, "{\"data\":{\"items\":\"none\"}}", NULL, "data.items"),
                     CC_E_FORMAT);
    assert_int_equal(parse_error(s, "{\"data\":{}}", NULL, "no result list at 'data.items'"),
                     CC_E_FORMAT);
    assert_int_equal(parse_error(s, "{\"data\":[1]}", NULL, "no result list"), CC_E_FORMAT);
    assert_int_equal(parse_error(s, "[1,2]", NULL, "no result list"), CC_E_FORMAT);
    search_spec_free(s);
}

static void test_texts(void **state)
{
    (void)state;
    /* join, transforms, duplicates of a part */
    search_spec *s = inline_spec("template = https://x.test/?q={query}\nresults = *\n"
                                 "image = i\ntext = a + b@html + c@file\nlicense = l1+l2\n");
    search_page *p =
        parse(s, "https://x.test/",
              "[{\"i\":\"/1.jpg\",\"a\":\"Red fox\",\"b\":\"<p>In <b>deep</b>"
              "<!-- hidden <b> --> snow</p><p>at dusk&hellip;&#8230;&#x2026;</p>\","
              "\"c\":\"File:Red_fox_2011.JPEG\",\"l1\":\"CC\",\"l2\":\"BY\"},"
              "{\"i\":\"/2.jpg\",\"a\":\"Look!\",\"b\":\"look!\",\"c\":\"Image:Look!.png\"},"
              "{\"i\":\"/3.jpg\",\"b\":\"a<br>b&lt;c&gt;&amp;&quot;&apos;&nbsp;d &bogus; &#0; "
              "&#xD800; &#1114112; 1 < 2 <img alt='x>y' src=z>e<unclosed\"},"
              "{\"i\":\"/4.jpg\",\"c\":\".jpg\"},"
              "{\"i\":\"/5.jpg\",\"c\":\"File:No extension here\"},"
              "{\"i\":\"/6.jpg\",\"c\":\"File:v1.2.tar.gz\"}]");
    assert_int_equal(search_page_count(p), 6);
    assert_string_equal(search_page_at(p, 0)->text,
                        "Red fox. In deep snow at dusk&hellip;\xe2\x80\xa6\xe2\x80\xa6. "
                        "Red fox 2011");
    assert_string_equal(search_page_at(p, 0)->license, "CC BY");
    /* "look!" differs from "Look!": both kept; sentence end: " " */
    assert_string_equal(search_page_at(p, 1)->text, "Look! look!");
    assert_string_equal(search_page_at(p, 2)->text,
                        "a b<c>&\"' d &bogus; &#0; &#xD800; &#1114112; 1 < 2 e");
    assert_string_equal(search_page_at(p, 3)->text, ".jpg");
    assert_string_equal(search_page_at(p, 4)->text, "No extension here");
    assert_string_equal(search_page_at(p, 5)->text, "v1.2.tar");
    search_page_free(p);
    search_spec_free(s);

    /* first-of: an empty first value falls through to the next */
    s = inline_spec("template = https://x.test/?q={query}\nresults = r\nimage = i\n"
                    "text = a|b|c\n");
    p = parse(s, "https://x.test/",
              "{\"r\":[{\"i\":\"/1.jpg\",\"a\":\"  \",\"b\":null,\"c\":\"third\"},"
              "{\"i\":\"/2.jpg\",\"a\":\"first\",\"b\":\"second\"}]}");
    assert_string_equal(search_page_at(p, 0)->text, "third");
    assert_string_equal(search_page_at(p, 1)->text, "first");
    search_page_free(p);
    search_spec_free(s);
}

/* ---- limits and malformed input ------------------------------------------------------------ */

static void test_limits(void **state)
{
    (void)state;
    search_spec *s = inline_spec("template = https://x.test/?q={query}\nresults = r\nimage = i\n"
                                 "text = t\nlicense = l\n");
    search_limits lim;
    search_limits_default(&lim);
    assert_int_equal(lim.max_bytes, 4 << 20);
    assert_int_equal(lim.max_results, 1000);
    assert_int_equal(lim.max_text, 2000);

    /* bytes: checked before parsing (this answer is not even JSON) */
    lim.max_bytes = 10;
    assert_int_equal(parse_error(s, "{{{{{{{{{{{", &lim, "over the limit of 10"), CC_E_LIMIT);
    search_cursor c;
    search_cursor_init(&c);
    search_page *p;
    assert_int_equal(parse_lim(s, &c, "https://x.test/", "{\"r\":[]}", &lim, &p), CC_OK);
    search_page_free(p);

    /* results: entries past the cap are counted, not read */
    search_limits_default(&lim);
    lim.max_results = 3;
    char json[4096];
    size_t n = (size_t)snprintf(json, sizeof json, "{\"r\":[");
    for (int i = 0; i < 10; i++)
        n += (size_t)snprintf(json + n, sizeof json - n, "%s{\"i\":\"/%d.jpg\",\"t\":\"t%d\"}",
                              i ? "," : "", i, i);
    snprintf(json + n, sizeof json - n, "]}");
    assert_int_equal(parse_lim(s, &c, "https://x.test/", json, &lim, &p), CC_OK);
    assert_int_equal(search_page_count(p), 3);
    assert_int_equal(search_page_stats(p)->skipped[SEARCH_SKIP_RESULT_LIMIT], 7);
    assert_string_equal(search_page_at(p, 2)->text, "t2");
    assert_int_equal(search_page_end(p), SEARCH_MORE);
    search_page_free(p);
    lim.max_results = 0;
    assert_int_equal(parse_lim(s, &c, "https://x.test/", json, &lim, &p), CC_OK);
    assert_int_equal(search_page_count(p), 0);
    assert_int_equal(search_page_stats(p)->skipped[SEARCH_SKIP_RESULT_LIMIT], 10);
    search_page_free(p);

    /* text: cut at a character boundary, trailing spaces dropped, counted */
    search_limits_default(&lim);
    lim.max_text = 8;
    assert_int_equal(parse_lim(s, &c, "https://x.test/",
                               "{\"r\":[{\"i\":\"/1.jpg\",\"t\":\"abcdef\xc3\xa9\xc3\xa9\"},"
                               "{\"i\":\"/2.jpg\",\"t\":\"abcdefg   hij\"},"
                               "{\"i\":\"/3.jpg\",\"t\":\"abcdefgh\"},"
                               "{\"i\":\"/4.jpg\",\"t\":\"\xf0\x9f\xa6\x8a\xf0\x9f\xa6\x8a"
                               "\xf0\x9f\xa6\x8a\"}]}",
                               &lim, &p),
                     CC_OK);
    assert_string_equal(search_page_at(p, 0)->text, "abcdef\xc3\xa9");
    assert_string_equal(search_page_at(p, 1)->text, "abcdefg");
    assert_string_equal(search_page_at(p, 2)->text, "abcdefgh");
    assert_string_equal(search_page_at(p, 3)->text, "\xf0\x9f\xa6\x8a\xf0\x9f\xa6\x8a");
    assert_int_equal(search_page_stats(p)->text_cut, 3);
    search_page_free(p);
    lim.max_text = 1;
    assert_int_equal(parse_lim(s, &c, "https://x.test/",
                               "{\"r\":[{\"i\":\"/1.jpg\",\"t\":\"\xc3\xa9t\xc3\xa9\"}]}", &lim,
                               &p),
                     CC_OK);
    assert_int_equal(search_page_count(p), 0); /* nothing fits: no text */
    assert_int_equal(search_page_stats(p)->skipped[SEARCH_SKIP_NO_TEXT], 1);
    search_page_free(p);

    /* a license longer than SEARCH_LICENSE_MAX - 1 bytes is cut */
    char *big = malloc(2000);
    assert_non_null(big);
    n = (size_t)snprintf(big, 2000, "{\"r\":[{\"i\":\"/1.jpg\",\"t\":\"x\",\"l\":\"");
    for (int i = 0; i < 400; i++)
        big[n++] = (char)('a' + i % 26);
    snprintf(big + n, 2000 - n, "\"}]}");
    assert_int_equal(parse_lim(s, &c, "https://x.test/", big, NULL, &p), CC_OK);
    assert_int_equal(strlen(search_page_at(p, 0)->license), SEARCH_LICENSE_MAX - 1);
    search_page_free(p);
    free(big);

    /* limits out of range, bad arguments */
    search_limits_default(&lim);
    lim.max_text = 0;
    assert_int_equal(parse_lim(s, &c, "https://x.test/", "{}", &lim, &p), CC_E_INVAL);
    search_limits_default(&lim);
    lim.max_bytes = 0;
    assert_int_equal(parse_lim(s, &c, "https://x.test/", "{}", &lim, &p), CC_E_INVAL);
    search_limits_default(&lim);
    lim.max_results = SEARCH_RESULTS_LIMIT + 1;
    assert_int_equal(parse_lim(s, &c, "https://x.test/", "{}", &lim, &p), CC_E_INVAL);
    assert_int_equal(parse_lim(s, &c, "not a url", "{\"r\":[]}", NULL, &p), CC_E_FORMAT);
    assert_int_equal(parse_lim(s, &c, "/relative", "{\"r\":[]}", NULL, &p), CC_E_FORMAT);
    c.done = 1;
    assert_int_equal(parse_lim(s, &c, "https://x.test/", "{\"r\":[]}", NULL, &p), CC_E_INVAL);
    search_cursor_init(&c);
    assert_int_equal(search_parse(s, &c, "https://x.test/", NULL, 0, NULL, &p), CC_E_FORMAT);
    assert_null(p);
    assert_int_equal(search_parse(NULL, &c, "https://x.test/", NULL, 0, NULL, &p), CC_E_INVAL);
    assert_int_equal(search_parse(s, &c, "https://x.test/", NULL, 0, NULL, NULL), CC_E_INVAL);
    search_page_free(NULL);
    search_spec_free(s);
}

static void test_malformed_json(void **state)
{
    (void)state;
    search_spec *s = preset("openverse");
    assert_int_equal(parse_error(s, "", NULL, "malformed JSON at line"), CC_E_FORMAT);
    assert_int_equal(parse_error(s, "{\"results\": [1, 2,]}", NULL, "line 1, column 19"),
                     CC_E_FORMAT);
    assert_int_equal(parse_error(s, "{\"results\": []}\n{}", NULL, "line 2"), CC_E_FORMAT);
    assert_int_equal(parse_error(s, "{\"results\": [\n{\"title\": \"a\n\"}]}", NULL, "line 2"),
                     CC_E_FORMAT);
    assert_int_equal(parse_error(s, "{\"results\": [\"\\u0000\"]}", NULL, "malformed JSON"),
                     CC_E_FORMAT);
    assert_int_equal(parse_error(s, "{\"results\": [\"\xff\"]}", NULL, "malformed JSON"),
                     CC_E_FORMAT);
    assert_int_equal(parse_error(s, "\"just a string\"", NULL, "malformed JSON"), CC_E_FORMAT);
    assert_int_equal(parse_error(s, "<html><body>502 Bad Gateway</body></html>", NULL,
                                 "malformed JSON at line 1, column 1"),
                     CC_E_FORMAT);
    /* nesting deeper than jansson's limit */
    size_t depth = 5000;
    char *deep = malloc(2 * depth + 32);
    assert_non_null(deep);
    size_t n = (size_t)snprintf(deep, 32, "{\"results\":");
    memset(deep + n, '[', depth);
    memset(deep + n + depth, ']', depth);
    snprintf(deep + n + 2 * depth, 32, "}");
    assert_int_equal(parse_error(s, deep, NULL, "malformed JSON"), CC_E_FORMAT);
    /* within the limit it is valid: one entry, not an object */
    n = (size_t)snprintf(deep, 32, "{\"results\":");
    memset(deep + n, '[', 1000);
    memset(deep + n + 1000, ']', 1000);
    snprintf(deep + n + 2000, 32, "}");
    search_page *p = parse(s, "https://api.openverse.org/", deep);
    assert_int_equal(search_page_stats(p)->skipped[SEARCH_SKIP_NOT_OBJECT], 1);
    search_page_free(p);
    free(deep);
    search_spec_free(s);
}

/* ---- spec files ---------------------------------------------------------------------------- */

static void write_file(const char *path, const char *text, size_t n)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(text, 1, n, f), n);
    assert_int_equal(fclose(f), 0);
}

static void test_spec_file(void **state)
{
    (void)state;
    char dir[] = "/tmp/test_search.XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[256];
    snprintf(path, sizeof path, "%s/photos.spec", dir);
    static const char text[] =
        "\xEF\xBB\xBF# A photo API\n"
        "\n"
        "   # indented comment\n"
        "template = https://photos.test/api/v1/search?term={query}&start={offset}"
        "&count={per_page}\r\n"
        "per_page=25\n"
        "\tmax_pages = 40\n"
        "results = response.hits\n"
        "image = sizes.large.url | sizes.medium.url\n"
        "text = alt_description|description@html\n"
        "page = links.html\n"
        "width = sizes.large.w\n"
        "height = sizes.large.h\n"
        "license = rights.name + rights.version\n"
        "next = total=response.total\n";
    write_file(path, text, sizeof text - 1);
    search_spec *s = NULL;
    assert_int_equal(search_spec_load(path, &s), CC_OK);
    assert_string_equal(search_spec_name(s), "photos.spec");
    assert_int_equal(search_spec_per_page(s), 25);
    assert_int_equal(search_spec_max_pages(s), 40);
    search_cursor c;
    search_cursor_init(&c);
    c.page = 2;
    c.offset = 25;
    url_is(s, "blue whale", &c,
           "https://photos.test/api/v1/search?term=blue%20whale&start=25&count=25");
    search_page *p = parse_at(
        s, &c, "https://photos.test/api/v1/search?term=blue%20whale&start=25&count=25",
        "{\"response\":{\"total\":51,\"hits\":[{\"sizes\":{\"large\":{\"url\":null,\"w\":2048},"
        "\"medium\":{\"url\":\"/m/1.jpg\"}},\"alt_description\":null,\"description\":"
        "\"<p>A <em>blue</em> whale</p>\",\"links\":{\"html\":\"/p/1\"},"
        "\"rights\":{\"name\":\"CC BY\",\"version\":\"4.0\"}}]}}");
    const search_result *r = search_page_at(p, 0);
    assert_string_equal(r->image_url, "https://photos.test/m/1.jpg");
    assert_string_equal(r->text, "A blue whale");
    assert_string_equal(r->page_url, "https://photos.test/p/1");
    assert_string_equal(r->license, "CC BY 4.0");
    assert_int_equal(r->width, 2048);
    assert_int_equal(r->height, 0);
    assert_int_equal(search_page_end(p), SEARCH_MORE); /* 50 < 51 */
    search_page_free(p);
    search_spec_free(s);

    /* a preset with overrides, and a base given in the file */
    static const char over[] = "preset = fixture\nname = local-fixture\nper_page = 5\n"
                               "base = http://127.0.0.1:8081\ntext = description\n";
    write_file(path, over, sizeof over - 1);
    assert_int_equal(search_spec_load(path, &s), CC_OK);
    assert_string_equal(search_spec_name(s), "local-fixture");
    assert_int_equal(search_spec_per_page(s), 5);
    assert_false(search_spec_needs_base(s));
    url_is(s, "star", NULL, "http://127.0.0.1:8081/api/search?q=star&page=1");
    p = parse(s, "http://127.0.0.1:8081/api/search?q=star&page=1",
              "{\"next\":null,\"results\":[{\"image_url\":\"/img/1.jpg\",\"title\":\"t\","
              "\"description\":\"Gallery page 1: x\"}]}");
    assert_string_equal(search_page_at(p, 0)->text, "Gallery page 1: x");
    search_page_free(p);
    search_spec_free(s);

    /* errors name the file and the line */
    static const char bad[] = "# x\ntemplate = https://x.test/?q={query}\nresults = r\n"
                              "imgae = url\n";
    write_file(path, bad, sizeof bad - 1);
    s = (search_spec *)1;
    assert_int_equal(search_spec_load(path, &s), CC_E_FORMAT);
    assert_null(s);
    char want[300];
    snprintf(want, sizeof want, "%s:4: unknown key 'imgae'", path);
    assert_string_equal(cc_errmsg(), want);

    /* too big, missing */
    char *huge = malloc(SEARCH_SPEC_MAX_BYTES + 10);
    assert_non_null(huge);
    memset(huge, '#', SEARCH_SPEC_MAX_BYTES + 10);
    write_file(path, huge, SEARCH_SPEC_MAX_BYTES + 10);
    free(huge);
    assert_int_equal(search_spec_load(path, &s), CC_E_LIMIT);
    assert_int_equal(unlink(path), 0);
    assert_int_equal(search_spec_load(path, &s), CC_E_NOTFOUND);
    assert_null(s);
    assert_int_equal(rmdir(dir), 0);
}

static void test_spec_errors(void **state)
{
    (void)state;
#define BASE "template = https://x.test/?q={query}\nresults = r\nimage = i\ntext = t\n"
    /* syntax */
    spec_error(BASE "just words\n", "t.spec:5: 'key = value' expected");
    spec_error(BASE "= value\n", "t.spec:5: unknown key ''");
    spec_error(BASE "Text = x\n", "t.spec:5: unknown key 'Text'");
    spec_error(BASE "text = again\n", "t.spec:5: key 'text' given twice");
    spec_error(BASE "page =\n", "t.spec:5: 'page' has an empty value");
    static const char nul[] = BASE "next = a\0b\n";
    spec_error_n(nul, sizeof nul - 1, "t.spec:5: NUL byte");
    /* missing keys name the file, no line */
    spec_error("results = r\nimage = i\ntext = t\n", "t.spec: missing key 'template'");
    spec_error("template = https://x.test/?q={query}\nimage = i\ntext = t\n",
               "t.spec: missing key 'results'");
    spec_error("template = https://x.test/?q={query}\nresults = r\ntext = t\n",
               "t.spec: missing key 'image'");
    spec_error("template = https://x.test/?q={query}\nresults = r\nimage = i\n",
               "t.spec: missing key 'text'");
    spec_error("", "missing key 'template'");
    /* templates */
    spec_error("template = https://x.test/?q=fixed\n", "t.spec:1: template: has no {query}");
    spec_error("template = https://x.test/?q={query}&p={pgae}\n",
               "t.spec:1: template: unknown placeholder at byte 28");
    spec_error("template = https://x.test/?q={query}&p={page\n", "unknown placeholder");
    spec_error("template = https://x.test/?q={query}&p=}\n", "'}' without '{'");
    spec_error("template = //x.test/?q={query}\n", "absolute http(s) URL or start with '/'");
    spec_error("template = api/search?q={query}\n", "absolute http(s) URL or start with '/'");
    spec_error("template = ftp://x.test/?q={query}\n", "absolute http(s) URL");
    spec_error("template = http://exa mple.test/?q={query}\n", "t.spec:1: template:");
    spec_error("template = http://x.test:0/?q={query}\n", "t.spec:1: template:");
    /* numbers */
    spec_error(BASE "per_page = 0\n", "t.spec:5: per_page: not a number in 1..1000");
    spec_error(BASE "per_page = 1001\n", "per_page: not a number");
    spec_error(BASE "per_page = 20x\n", "per_page: not a number");
    spec_error(BASE "per_page = -5\n", "per_page: not a number");
    spec_error(BASE "max_pages = 99999999999999999999\n", "max_pages: not a number");
    spec_error(BASE "name = my spec\n", "name: only letters");
    spec_error(BASE "missing_results = maybe\n", "'error' or 'empty' expected");
    spec_error(BASE "base = nope\n", "t.spec:5: base:");
    /* paths */
    spec_error(BASE "page = a..b\n", "t.spec:5: page: empty segment in 'a..b'");
    spec_error(BASE "page = .a\n", "empty segment");
    spec_error(BASE "page = a.\n", "empty segment");
    spec_error(BASE "page = a|\n", "page: empty path");
    spec_error(BASE "page = a.*\n", "'*' is allowed only at the end of 'results'");
    spec_error(BASE "page = a\\\n", "'\\' at the end");
    spec_error(BASE "width = a.b.c.d.e.f.g.h.i.j.k.l.m.n.o.p.q\n", "more than 16 segments");
    spec_error(BASE "page = a|b|c|d|e|f|g|h|i\n", "more than 8 paths");
    spec_error(BASE "license = a|b+c\n", "mixes '|' and '+'");
    spec_error(BASE "page = a+b\n", "'+' (join) is allowed only for text and license");
    spec_error(BASE "width = w@html\n", "width: no transform allowed here");
    spec_error(BASE "license = l@xml\n", "unknown transform '@xml'");
    spec_error("template = https://x.test/?q={query}\nresults = a.*.b\nimage = i\ntext = t\n",
               "t.spec:2: results: '*' must be the last segment");
    spec_error("template = https://x.test/?q={query}\nresults = a|b\nimage = i\ntext = t\n",
               "results: one path expected");
    spec_error(BASE "next = sometimes=x\n", "next: unknown mode");
    spec_error(BASE "next = total=\n", "next: empty path");
    spec_error(BASE "order = a+b\n", "order: one path expected");
    /* presets */
    spec_error(BASE "preset = openverse\n", "t.spec:5: 'preset' must be the first key");
    spec_error("preset = google\n", "t.spec:1: no search preset 'google'");
    /* a long line */
    char *line = malloc(5000);
    assert_non_null(line);
    memset(line, 'a', 4999);
    line[4999] = '\0';
    memcpy(line, "# ", 2);
    spec_error(line, "t.spec:1: line longer than 4096 bytes");
    free(line);
#undef BASE

    /* what is accepted: escapes, spaces, '*' alone, '\*' as a key */
    search_spec *s = inline_spec("template = https://x.test/?q={query}\nresults = *\n"
                                 "image = a\\.b | \\*\ntext = x\\|y+ \\@z \nname = a_b-1\n"
                                 "missing_results = error\nnext = present=empty\n");
    search_page *p = parse(
        s, "https://x.test/",
        "[{\"a.b\":\"/1.jpg\",\"x|y\":\"pipe\",\"@z\":\"at\"},{\"*\":\"/2.jpg\",\"@z\":\"s\"}]");
    assert_int_equal(search_page_count(p), 2);
    assert_string_equal(search_page_at(p, 0)->text, "pipe. at");
    assert_string_equal(search_page_at(p, 1)->image_url, "https://x.test/2.jpg");
    assert_int_equal(search_page_end(p), SEARCH_END_LAST); /* no field "empty" */
    search_page_free(p);
    /* '*' over an object's values, a numeric segment as an array index and as a key */
    search_spec_free(s);
    s = inline_spec("template = https://x.test/?q={query}\nresults = d.*\nimage = v.0\n"
                    "text = t.1\n");
    p = parse(s, "https://x.test/",
              "{\"d\":{\"k1\":{\"v\":[\"/1.jpg\"],\"t\":{\"1\":\"key one\"}},"
              "\"k2\":{\"v\":[\"/2.jpg\"],\"t\":[\"zero\",\"one\"]},"
              "\"k3\":{\"v\":[],\"t\":[]}}}");
    assert_int_equal(search_page_count(p), 2);
    assert_string_equal(search_page_at(p, 0)->text, "key one");
    assert_string_equal(search_page_at(p, 1)->text, "one");
    search_page_free(p);
    assert_int_equal(parse_error(s, "{\"d\":7}", NULL, "'d.*' is not an object or an array"),
                     CC_E_FORMAT);
    search_spec_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names),         cmocka_unit_test(test_presets),
        cmocka_unit_test(test_url_encoding),  cmocka_unit_test(test_url_offset_and_base),
        cmocka_unit_test(test_cursor_string), cmocka_unit_test(test_openverse),
        cmocka_unit_test(test_wikimedia),     cmocka_unit_test(test_fixture),
        cmocka_unit_test(test_paging_modes),  cmocka_unit_test(test_paging_walk),
        cmocka_unit_test(test_relative_urls), cmocka_unit_test(test_skip_reasons),
        cmocka_unit_test(test_wrong_types),   cmocka_unit_test(test_texts),
        cmocka_unit_test(test_limits),        cmocka_unit_test(test_malformed_json),
        cmocka_unit_test(test_spec_file),     cmocka_unit_test(test_spec_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
