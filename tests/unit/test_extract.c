/* tests/unit/test_extract.c — the HTML pair extractor (crawler/extract.h): alt / title /
 * figcaption texts, URL resolution and <base href>, srcset parsing (w, x, h descriptors, commas,
 * invalid candidates), lazy-loading attributes, <picture><source>, skip reasons, uniqueness,
 * links and nofollow, meta robots, entities, broken HTML, encodings (ISO-8859-1 and
 * windows-1252 pages with <meta charset>, invalid UTF-8, unknown charsets), width / height, the
 * limits (max_bytes, max_pairs, max_links, max_text, max_depth), a 5 MB deep-nesting page and
 * 1 MB attributes, concurrent calls, and properties over generated tag soup (every URL canonical,
 * every text valid UTF-8 without controls, counts within limits).
 *
 * Pages are exact-size heap copies, so that AddressSanitizer (make check) sees any read past the
 * end.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/utf8.h"
#include "crawler/extract.h"
#include "crawler/url.h"

#define PAGE "https://www.example.com/dir/page.html"

/* extract_html on an exact-size copy of the n bytes at html; asserts success. */
static extract_result *run_lim_n(const char *url, const char *html, size_t n,
                                 const extract_limits *lim)
{
    uint8_t *copy = malloc(n ? n : 1);
    assert_non_null(copy);
    memcpy(copy, html, n);
    extract_result *r = (extract_result *)0x1;
    cc_status st = extract_html(url, copy, n, lim, &r);
    free(copy);
    if (st != CC_OK)
        fail_msg("extract_html: %s (%s)", cc_status_str(st), cc_errmsg());
    assert_non_null(r);
    return r;
}

static extract_result *run_lim(const char *html, const extract_limits *lim)
{
    return run_lim_n(PAGE, html, strlen(html), lim);
}

static extract_result *run(const char *html)
{
    return run_lim(html, NULL);
}

/* The pairs as lines "kind url|text\n", in order (the caller frees). */
static char *dump(const extract_result *r)
{
    cc_buf b;
    cc_buf_init(&b, 1 << 24);
    for (size_t i = 0; i < extract_pair_count(r); i++) {
        const extract_pair *p = extract_pair_at(r, i);
        char line[8192];
        int k = snprintf(line, sizeof line, "%s %s|%s\n", extract_text_kind_name(p->kind),
                         p->image_url, p->text);
        assert_true(k > 0 && (size_t)k < sizeof line);
        assert_int_equal(cc_buf_append(&b, line, (size_t)k), CC_OK);
    }
    assert_int_equal(cc_buf_append(&b, "", 1), CC_OK);
    return (char *)b.data;
}

/* Asserts the pairs of html are exactly want (dump format). */
static void expect_pairs(const char *html, const char *want)
{
    extract_result *r = run(html);
    char *got = dump(r);
    if (strcmp(got, want) != 0)
        fail_msg("page:\n%s\npairs:\n%s\nexpected:\n%s", html, got, want);
    free(got);
    extract_free(r);
}

/* The URL of the only pair of html, with its src_attr in *attr_out (static strings). */
static void expect_image(const char *html, const char *url, const char *attr_name)
{
    extract_result *r = run(html);
    if (extract_pair_count(r) != 1)
        fail_msg("page %s: %zu pairs, expected 1", html, extract_pair_count(r));
    const extract_pair *p = extract_pair_at(r, 0);
    if (strcmp(p->image_url, url) != 0 || strcmp(p->src_attr, attr_name) != 0)
        fail_msg("page %s: image %s from %s, expected %s from %s", html, p->image_url, p->src_attr,
                 url, attr_name);
    extract_free(r);
}

static size_t skipped(const extract_result *r, extract_skip why)
{
    return extract_result_stats(r)->skipped[why];
}

/* Asserts that html gives no pair and counts exactly one skip, of reason why. */
static void expect_skip(const char *html, extract_skip why)
{
    extract_result *r = run(html);
    const extract_stats *s = extract_result_stats(r);
    size_t total = 0;
    for (int i = 0; i < EXTRACT_SKIP_COUNT; i++)
        total += s->skipped[i];
    if (extract_pair_count(r) != 0 || s->skipped[why] != 1 || total != 1) {
        char *got = dump(r);
        fail_msg("page %s: %zu pairs (%s), %s = %zu, %zu skips in all; expected one %s", html,
                 extract_pair_count(r), got, extract_skip_name(why), s->skipped[why], total,
                 extract_skip_name(why));
    }
    extract_free(r);
}

/* Asserts the links of html are exactly the NULL-terminated list want. */
static void expect_links(const char *html, const char *const *want)
{
    extract_result *r = run(html);
    size_t n = 0;
    while (want[n])
        n++;
    if (extract_link_count(r) != n)
        fail_msg("page %s: %zu links, expected %zu", html, extract_link_count(r), n);
    for (size_t i = 0; i < n; i++)
        if (strcmp(extract_link_at(r, i), want[i]) != 0)
            fail_msg("page %s: link %zu is %s, expected %s", html, i, extract_link_at(r, i),
                     want[i]);
    assert_null(extract_link_at(r, n));
    extract_free(r);
}

/* ---- texts --------------------------------------------------------------------------------- */

static void test_alt_and_title(void **state)
{
    (void)state;
    expect_pairs("<img src=a.jpg alt='A red fox in the snow'>",
                 "alt https://www.example.com/dir/a.jpg|A red fox in the snow\n");
    /* title is the fallback of an empty or missing alt, never given beside it */
    expect_pairs("<img src=a.jpg alt='' title='The title'>",
                 "title https://www.example.com/dir/a.jpg|The title\n");
    expect_pairs("<img src=a.jpg alt=' \t\n ' title='  The\n title '>",
                 "title https://www.example.com/dir/a.jpg|The title\n");
    expect_pairs("<img src=a.jpg title='Only title'>",
                 "title https://www.example.com/dir/a.jpg|Only title\n");
    expect_pairs("<img src=a.jpg alt='Alt wins' title='Not used'>",
                 "alt https://www.example.com/dir/a.jpg|Alt wins\n");
    /* normalization: whitespace runs, controls and invisible characters */
    expect_pairs("<img src=a.jpg alt='  two\xc2\xa0\xc2\xa0spaces\x01 zero\xe2\x80\x8bwidth  '>",
                 "alt https://www.example.com/dir/a.jpg|two spaces zerowidth\n");
    expect_skip("<img src=a.jpg>", EXTRACT_SKIP_NO_TEXT);
    expect_skip("<img src=a.jpg alt>", EXTRACT_SKIP_NO_TEXT);
    expect_skip("<img src=a.jpg alt='   ' title=''>", EXTRACT_SKIP_NO_TEXT);

    extract_result *r = run("<p><img src=a.jpg alt=One><img src=b.jpg><img src=c.jpg alt=Two>");
    assert_int_equal(extract_pair_count(r), 2);
    assert_int_equal(extract_result_stats(r)->images, 3);
    assert_int_equal(skipped(r, EXTRACT_SKIP_NO_TEXT), 1);
    assert_null(extract_pair_at(r, 2));
    extract_free(r);
}

static void test_entities(void **state)
{
    (void)state;
    expect_pairs("<img src='pic.jpg?a=1&amp;b=2&#38;c=3' alt='Tom &amp; Jerry &quot;cat&quot; "
                 "caf&eacute; &#x1F98A; &lt;b&gt;'>",
                 "alt https://www.example.com/dir/pic.jpg?a=1&b=2&c=3|Tom & Jerry \"cat\" "
                 "caf\xc3\xa9 \xf0\x9f\xa6\x8a <b>\n");
    expect_pairs("<figure><img src=x.jpg><figcaption>Fish &amp; chips&nbsp;&mdash; "
                 "London</figcaption></figure>",
                 "figcaption https://www.example.com/dir/x.jpg|Fish & chips \xe2\x80\x94 "
                 "London\n");
}

static void test_figcaption(void **state)
{
    (void)state;
    /* alt and caption: two pairs, the caption's when the figure ends */
    expect_pairs("<figure><img src=a.jpg alt='A fox'><figcaption>The red fox</figcaption>"
                 "</figure><img src=b.jpg alt=After>",
                 "alt https://www.example.com/dir/a.jpg|A fox\n"
                 "figcaption https://www.example.com/dir/a.jpg|The red fox\n"
                 "alt https://www.example.com/dir/b.jpg|After\n");
    /* the caption may come first; an image without alt gets the caption only */
    expect_pairs("<figure><figcaption>Caption <b>first</b></figcaption><img src=a.jpg></figure>",
                 "figcaption https://www.example.com/dir/a.jpg|Caption first\n");
    /* every image of the figure; inline elements join, block elements and <br> separate */
    expect_pairs("<figure><img src=a.jpg><div><img src=b.jpg alt=B></div>"
                 "<figcaption>A <b>R</b>ed fox<br>jumps<p>over</p>it<script>var s='x';</script>"
                 "<style>p{}</style></figcaption></figure>",
                 "alt https://www.example.com/dir/b.jpg|B\n"
                 "figcaption https://www.example.com/dir/a.jpg|A Red fox jumps over it\n"
                 "figcaption https://www.example.com/dir/b.jpg|A Red fox jumps over it\n");
    /* a caption equal to the alt text is the same pair */
    extract_result *r = run("<figure><img src=a.jpg alt='Same text'><figcaption> Same  text "
                            "</figcaption></figure>");
    char *got = dump(r);
    assert_string_equal(got, "alt https://www.example.com/dir/a.jpg|Same text\n");
    assert_int_equal(skipped(r, EXTRACT_SKIP_DUPLICATE), 1);
    free(got);
    extract_free(r);
    /* no caption, no alt: no_text; an empty figcaption is no caption */
    expect_skip("<figure><img src=a.jpg></figure>", EXTRACT_SKIP_NO_TEXT);
    expect_skip("<figure><img src=a.jpg><figcaption> </figcaption></figure>", EXTRACT_SKIP_NO_TEXT);
    /* only the first figcaption counts; one outside a figure is nothing */
    expect_pairs("<figure><img src=a.jpg><figcaption>First</figcaption>"
                 "<figcaption>Second</figcaption></figure><figcaption>Loose</figcaption>",
                 "figcaption https://www.example.com/dir/a.jpg|First\n");
    /* nested figures: each image belongs to its nearest figure */
    expect_pairs("<figure><img src=outer.jpg><figure><img src=inner.jpg><figcaption>Inner"
                 "</figcaption></figure><figcaption>Outer</figcaption></figure>",
                 "figcaption https://www.example.com/dir/inner.jpg|Inner\n"
                 "figcaption https://www.example.com/dir/outer.jpg|Outer\n");
    /* an unclosed figure at the end of the page still gives its pairs */
    expect_pairs("<figure><img src=a.jpg><figcaption>Open to the end",
                 "figcaption https://www.example.com/dir/a.jpg|Open to the end\n");
}

static void test_duplicates(void **state)
{
    (void)state;
    extract_result *r = run("<img src=a.jpg alt=Dog><img src='./a.jpg#x' alt=' Dog '>"
                            "<img src=a.jpg alt=Cat><img src=b.jpg alt=Dog>");
    char *got = dump(r);
    assert_string_equal(got, "alt https://www.example.com/dir/a.jpg|Dog\n"
                             "alt https://www.example.com/dir/a.jpg|Cat\n"
                             "alt https://www.example.com/dir/b.jpg|Dog\n");
    assert_int_equal(skipped(r, EXTRACT_SKIP_DUPLICATE), 1);
    free(got);
    extract_free(r);
}

static void test_dimensions(void **state)
{
    (void)state;
    static const struct {
        const char *w, *h;
        int ww, wh;
    } cases[] = {
        {"640", "480", 640, 480}, {" 300px", "200.7", 300, 200},     {"50%", "abc", 0, 0},
        {"", "-5", 0, 0},         {"99999999", "100000", 0, 100000},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char html[256];
        snprintf(html, sizeof html, "<img src=a.jpg alt=x width='%s' height='%s'>", cases[i].w,
                 cases[i].h);
        extract_result *r = run(html);
        assert_int_equal(extract_pair_count(r), 1);
        assert_int_equal(extract_pair_at(r, 0)->width, cases[i].ww);
        assert_int_equal(extract_pair_at(r, 0)->height, cases[i].wh);
        extract_free(r);
    }
    extract_result *r = run("<img src=a.jpg alt=x>");
    assert_int_equal(extract_pair_at(r, 0)->width, 0);
    assert_int_equal(extract_pair_at(r, 0)->height, 0);
    extract_free(r);
}

/* ---- URLs ---------------------------------------------------------------------------------- */

static void test_resolution(void **state)
{
    (void)state;
    expect_image("<img src=a.jpg alt=x>", "https://www.example.com/dir/a.jpg", "src");
    expect_image("<img src='../up/b.jpg' alt=x>", "https://www.example.com/up/b.jpg", "src");
    expect_image("<img src='/root.jpg' alt=x>", "https://www.example.com/root.jpg", "src");
    expect_image("<img src='//cdn.Example.net/x.jpg' alt=x>", "https://cdn.example.net/x.jpg",
                 "src");
    expect_image("<img src='HTTP://Other.ORG:80/p/./q.jpg?z=1#frag' alt=x>",
                 "http://other.org/p/q.jpg?z=1", "src");
    expect_image("<img src=' \n\t spaced.jpg \r\n ' alt=x>",
                 "https://www.example.com/dir/spaced.jpg", "src");
    expect_image("<img src='?q=1' alt=x>", "https://www.example.com/dir/page.html?q=1", "src");
    expect_image("<img src='a b.jpg' alt=x>", "https://www.example.com/dir/a%20b.jpg", "src");
    /* upper-case tags and attributes, unquoted values */
    expect_image("<IMG SRC=Up.JPG ALT=Shout>", "https://www.example.com/dir/Up.JPG", "src");
}

static void test_base_href(void **state)
{
    (void)state;
    const char *html = "<html><head><base href='https://static.example.org/img/'>"
                       "<base href='https://ignored.example.org/'></head>"
                       "<body><img src=a.jpg alt=x><a href=next.html>n</a></body></html>";
    extract_result *r = run(html);
    assert_string_equal(extract_base_url(r), "https://static.example.org/img/");
    assert_int_equal(extract_pair_count(r), 1);
    assert_string_equal(extract_pair_at(r, 0)->image_url, "https://static.example.org/img/a.jpg");
    assert_int_equal(extract_link_count(r), 1);
    assert_string_equal(extract_link_at(r, 0), "https://static.example.org/img/next.html");
    extract_free(r);

    /* a relative base resolves against the page URL; base without href does not count */
    r = run("<head><base target=_blank><base href='/assets/'></head><img src=b.png alt=x>");
    assert_string_equal(extract_base_url(r), "https://www.example.com/assets/");
    assert_string_equal(extract_pair_at(r, 0)->image_url, "https://www.example.com/assets/b.png");
    extract_free(r);

    /* an unresolvable first base is ignored, and so are the later ones */
    r = run("<head><base href='javascript:void(0)'><base href='http://later.example/'></head>"
            "<img src=c.jpg alt=x>");
    assert_string_equal(extract_base_url(r), "https://www.example.com/dir/page.html");
    assert_string_equal(extract_pair_at(r, 0)->image_url, "https://www.example.com/dir/c.jpg");
    extract_free(r);

    /* no base: the normalized page URL */
    r = run_lim_n("HTTPS://WWW.Example.com:443/dir/../x/p.html#top", "<p>hi", 5, NULL);
    assert_string_equal(extract_base_url(r), "https://www.example.com/x/p.html");
    extract_free(r);
}

static void test_srcset(void **state)
{
    (void)state;
    /* w descriptors: the largest */
    expect_image("<img src=s.jpg srcset='a.jpg 320w, b.jpg 1280w, c.jpg 640w' alt=x>",
                 "https://www.example.com/dir/b.jpg", "srcset");
    /* x descriptors: the largest; src counts as 1x */
    expect_image("<img src=s.jpg srcset='a.jpg 1.5x, b.jpg 2x, c.jpg 1x' alt=x>",
                 "https://www.example.com/dir/b.jpg", "srcset");
    expect_image("<img src=s.jpg srcset='a.jpg 0.5x' alt=x>", "https://www.example.com/dir/s.jpg",
                 "src");
    expect_image("<img src=s.jpg srcset='a.jpg' alt=x>", "https://www.example.com/dir/a.jpg",
                 "srcset"); /* no descriptor: 1x, the earlier of two 1x candidates */
    expect_image("<img srcset='a.jpg 1e1x, b.jpg 9x' alt=x>", "https://www.example.com/dir/a.jpg",
                 "srcset");
    /* any w beats any x */
    expect_image("<img srcset='a.jpg 3x, b.jpg 100w' alt=x>", "https://www.example.com/dir/b.jpg",
                 "srcset");
    /* ties keep the earlier */
    expect_image("<img srcset='a.jpg 500w, b.jpg 500w' alt=x>", "https://www.example.com/dir/a.jpg",
                 "srcset");
    /* commas: inside a URL kept; a trailing comma ends the candidate; no whitespace needed
     * after it */
    expect_image("<img srcset='pic,v=2.jpg 800w, b.jpg 400w' alt=x>",
                 "https://www.example.com/dir/pic,v=2.jpg", "srcset");
    expect_image("<img srcset='a.jpg,b.jpg' alt=x>", "https://www.example.com/dir/a.jpg,b.jpg",
                 "srcset");
    expect_image("<img srcset='a.jpg, b.jpg 2x' alt=x>", "https://www.example.com/dir/b.jpg",
                 "srcset");
    expect_image("<img srcset=',,a.jpg 100w,b.jpg 200w,,' alt=x>",
                 "https://www.example.com/dir/b.jpg", "srcset");
    expect_image("<img srcset='  a.jpg\n  600w,\n  b.jpg\t 300w  ' alt=x>",
                 "https://www.example.com/dir/a.jpg", "srcset");
    /* invalid candidates are dropped: unknown, repeated or conflicting descriptors, 0w, h
     * without w, a comma inside parentheses does not split */
    expect_image("<img src=s.jpg srcset='a.jpg 100q, b.jpg 100w 2x, c.jpg 0w, d.jpg 5w 5w, "
                 "e.jpg 50h, f.jpg 2x 3x, g.jpg -1x' alt=x>",
                 "https://www.example.com/dir/s.jpg", "src");
    expect_image("<img srcset='a.jpg 900w (x, y), b.jpg 200w 300h' alt=x>",
                 "https://www.example.com/dir/b.jpg", "srcset");
    /* a data: URL with its commas is one candidate, and not usable */
    expect_image("<img srcset='data:image/png;base64,AAAA,BBBB 4x, real.jpg 2x' alt=x>",
                 "https://www.example.com/dir/real.jpg", "srcset");
    /* unusable candidates give way to usable ones */
    expect_image("<img src=s.jpg srcset='big.svg 2000w, small.jpg 10w' alt=x>",
                 "https://www.example.com/dir/small.jpg", "srcset");
    expect_image("<img src=s.jpg srcset='big.svg 2000w, anim.gif 900w' alt=x>",
                 "https://www.example.com/dir/s.jpg", "src");
    /* more than EXTRACT_MAX_CANDIDATES: the first ones are looked at */
    char html[8192];
    size_t k = (size_t)snprintf(html, sizeof html, "<img alt=x srcset='");
    for (int i = 1; i <= EXTRACT_MAX_CANDIDATES + 10; i++)
        k += (size_t)snprintf(html + k, sizeof html - k, "c%d.jpg %dw, ", i, i);
    snprintf(html + k, sizeof html - k, "'>");
    char want[64];
    snprintf(want, sizeof want, "https://www.example.com/dir/c%d.jpg", EXTRACT_MAX_CANDIDATES);
    expect_image(html, want, "srcset");
}

static void test_lazy(void **state)
{
    (void)state;
    expect_image("<img src='data:image/gif;base64,R0lGOD' data-src=real.jpg alt=x>",
                 "https://www.example.com/dir/real.jpg", "data-src");
    expect_image("<img src=/img/spacer.gif data-lazy-src=real.jpg alt=x>",
                 "https://www.example.com/dir/real.jpg", "data-lazy-src");
    expect_image("<img src=/img/Lazy-Placeholder.png?v=2 data-original=o.jpg alt=x>",
                 "https://www.example.com/dir/o.jpg", "data-original");
    expect_image("<img src='/p/1x1.png' data-lazy=l.jpg alt=x>",
                 "https://www.example.com/dir/l.jpg", "data-lazy");
    expect_image("<img src='pixel.png' data-src=l.jpg alt=x>", "https://www.example.com/dir/l.jpg",
                 "data-src");
    expect_image("<img data-src=nosrc.jpg alt=x>", "https://www.example.com/dir/nosrc.jpg",
                 "data-src");
    expect_image("<img src='' data-src=empty.jpg alt=x>", "https://www.example.com/dir/empty.jpg",
                 "data-src");
    /* a real src is kept: data-src may be anything */
    expect_image("<img src=photo.jpg data-src=other.jpg alt=x>",
                 "https://www.example.com/dir/photo.jpg", "src");
    /* data-srcset when srcset is absent or only data: */
    expect_image("<img src=s.jpg data-srcset='a.jpg 100w, b.jpg 900w' alt=x>",
                 "https://www.example.com/dir/b.jpg", "data-srcset");
    expect_image("<img srcset='data:image/png;base64,AA 1x' data-lazy-srcset='z.jpg 2x' alt=x>",
                 "https://www.example.com/dir/z.jpg", "data-lazy-srcset");
    expect_image("<img srcset='r.jpg 100w' data-srcset='b.jpg 900w' alt=x>",
                 "https://www.example.com/dir/r.jpg", "srcset");
    /* a placeholder with nothing lazy beside it is judged as it is */
    expect_skip("<img src=/img/spacer.gif alt=x>", EXTRACT_SKIP_GIF);
    expect_skip("<img src='data:image/gif;base64,R0lGOD' alt=x>", EXTRACT_SKIP_DATA_URL);
    /* the noscript twin of a lazy image is the same pair */
    extract_result *r = run("<img src='data:,' data-src=real.jpg alt='A cat'>"
                            "<noscript><img src=real.jpg alt='A cat'></noscript>");
    assert_int_equal(extract_pair_count(r), 1);
    assert_int_equal(skipped(r, EXTRACT_SKIP_DUPLICATE), 1);
    extract_free(r);
}

static void test_picture(void **state)
{
    (void)state;
    const char *html =
        "<picture>"
        "<source type='image/avif' srcset='huge.avif 4000w'>"
        "<source type='image/webp' media='(min-width: 800px)' srcset='l.webp 1600w, m.webp 800w'>"
        "<source srcset='j.jpg 1200w'>"
        "<img src=fallback.jpg srcset='i.jpg 400w' alt='A picture'>"
        "</picture><img src=after.jpg alt=After>";
    extract_result *r = run(html);
    char *got = dump(r);
    assert_string_equal(got, "alt https://www.example.com/dir/l.webp|A picture\n"
                             "alt https://www.example.com/dir/after.jpg|After\n");
    assert_string_equal(extract_pair_at(r, 0)->src_attr, "source-srcset");
    assert_string_equal(extract_pair_at(r, 1)->src_attr, "src"); /* picture forgotten */
    assert_int_equal(skipped(r, EXTRACT_SKIP_SOURCE_TYPE), 1);
    free(got);
    extract_free(r);

    /* closed source tags, image/jpeg type with parameters, lazy source srcset */
    expect_image("<picture><source type='IMAGE/JPEG; q=1' data-srcset='z.jpg 2x'></source>"
                 "<img src=f.jpg alt=x></picture>",
                 "https://www.example.com/dir/z.jpg", "source-data-srcset");
    /* sources whose candidates are unusable leave the img's own */
    expect_image("<picture><source srcset='v.svg 3x'><img src=f.jpg alt=x></picture>",
                 "https://www.example.com/dir/f.jpg", "src");
    /* a source outside a picture is nothing */
    expect_image("<video><source srcset='v.jpg 5x' src=v.mp4></video><img src=f.jpg alt=x>",
                 "https://www.example.com/dir/f.jpg", "src");
}

static void test_skip_reasons(void **state)
{
    (void)state;
    expect_skip("<img alt=x>", EXTRACT_SKIP_NO_URL);
    expect_skip("<img src='' alt=x>", EXTRACT_SKIP_NO_URL);
    expect_skip("<img src='  DATA:image/png;base64,iVBORw0KGgo=' alt=x>", EXTRACT_SKIP_DATA_URL);
    expect_skip("<img src=logo.svg alt=x>", EXTRACT_SKIP_SVG);
    expect_skip("<img src='/a/LOGO.SVGZ' alt=x>", EXTRACT_SKIP_SVG);
    expect_skip("<img src='anim.GIF?width=300' alt=x>", EXTRACT_SKIP_GIF);
    expect_skip("<img src=/favicon.ico alt=x>", EXTRACT_SKIP_ICO);
    expect_skip("<img src='javascript:alert(1)' alt=x>", EXTRACT_SKIP_UNSUPPORTED);
    expect_skip("<img src='ftp://files.example.com/a.jpg' alt=x>", EXTRACT_SKIP_UNSUPPORTED);
    expect_skip("<img src='blob:https://www.example.com/1234' alt=x>", EXTRACT_SKIP_UNSUPPORTED);
    expect_skip("<img src='http://user:pw@host.example/a.jpg' alt=x>", EXTRACT_SKIP_UNSUPPORTED);
    expect_skip("<img src='http://host.example:99999/a.jpg' alt=x>", EXTRACT_SKIP_BAD_URL);
    expect_skip("<img src='http://' alt=x>", EXTRACT_SKIP_BAD_URL);
    expect_skip("<img src='#' alt=x>", EXTRACT_SKIP_BAD_URL);
    /* not skipped: the extension is checked on the path only, case-insensitive */
    expect_image("<img src='/img.php?f=a.gif' alt=x>", "https://www.example.com/img.php?f=a.gif",
                 "src");
    expect_image("<img src='/gif/a.jpg' alt=x>", "https://www.example.com/gif/a.jpg", "src");
    /* the reason is the one of the candidate that would have won */
    expect_skip("<img src=a.gif srcset='b.svg 2x' alt=x>", EXTRACT_SKIP_SVG);
    /* a URL of URL_MAX bytes or more */
    char html[URL_MAX + 64];
    size_t k = (size_t)snprintf(html, sizeof html, "<img alt=x src='/");
    memset(html + k, 'a', URL_MAX);
    snprintf(html + k + URL_MAX, sizeof html - k - URL_MAX, ".jpg'>");
    expect_skip(html, EXTRACT_SKIP_BAD_URL);
}

/* ---- links and robots ---------------------------------------------------------------------- */

static void test_links(void **state)
{
    (void)state;
    const char *html = "<a href=b.html>b</a>"
                       "<a href='/root?x=1&amp;y=2#frag'>r</a>"
                       "<a href='//other.example.net/'>o</a>"
                       "<a href='b.html#again'>dup</a>"
                       "<a href='  c.html  '>c</a>"
                       "<a href='d.html' rel='NoFollow noopener'>nofollow</a>"
                       "<a href='e.html' rel='ugc'>ugc</a>"
                       "<a href='#top'>fragment</a>"
                       "<a href='javascript:void(0)'>js</a>"
                       "<a href='mailto:a@example.com'>mail</a>"
                       "<a href='tel:+123'>tel</a>"
                       "<a href='page.html#s2'>self</a>"
                       "<a href=''>empty</a>"
                       "<a href='http://bad.example:0/'>bad</a>"
                       "<a name=anchor>no href</a>"
                       "<map><area href='/map.html' alt=m></map>";
    static const char *const want[] = {"https://www.example.com/dir/b.html",
                                       "https://www.example.com/root?x=1&y=2",
                                       "https://other.example.net/",
                                       "https://www.example.com/dir/c.html",
                                       "https://www.example.com/dir/e.html",
                                       "https://www.example.com/map.html",
                                       NULL};
    expect_links(html, want);
    extract_result *r = run(html);
    const extract_stats *s = extract_result_stats(r);
    assert_int_equal(s->hrefs, 15);
    assert_int_equal(s->skipped[EXTRACT_SKIP_LINK_DUPLICATE], 1);
    assert_int_equal(s->skipped[EXTRACT_SKIP_LINK_NOFOLLOW], 1);
    assert_int_equal(s->skipped[EXTRACT_SKIP_LINK_FRAGMENT], 1);
    assert_int_equal(s->skipped[EXTRACT_SKIP_LINK_UNSUPPORTED], 3);
    assert_int_equal(s->skipped[EXTRACT_SKIP_LINK_SELF], 2);
    assert_int_equal(s->skipped[EXTRACT_SKIP_LINK_BAD_URL], 1);
    assert_int_equal(extract_pair_count(r), 0);
    extract_free(r);
}

static void test_meta_robots(void **state)
{
    (void)state;
    static const struct {
        const char *html;
        int flags;
    } cases[] = {
        {"<head><meta name=robots content='noindex, nofollow'></head>",
         EXTRACT_ROBOTS_NOINDEX | EXTRACT_ROBOTS_NOFOLLOW},
        {"<meta name='ROBOTS' content='NONE'>", EXTRACT_ROBOTS_NOINDEX | EXTRACT_ROBOTS_NOFOLLOW},
        {"<meta name=robots content='index,follow'>", 0},
        {"<meta name=robots content='all'>", 0},
        {"<meta name=clipcrawl content=noai>", EXTRACT_ROBOTS_NOAI},
        {"<meta name=robots content='noimageindex'><meta name=clipcrawl content=' noimageai '>",
         EXTRACT_ROBOTS_NOIMAGEINDEX | EXTRACT_ROBOTS_NOIMAGEAI},
        {"<meta name=googlebot content=noindex><meta name=description content=noindex>", 0},
        {"<meta name=robots><meta content=noindex>", 0},
        {"<meta name=robots content='max-image-preview:large,noarchive'>", 0},
        {"<body><p><meta name=robots content=nofollow>", EXTRACT_ROBOTS_NOFOLLOW},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        extract_result *r = run(cases[i].html);
        if (extract_meta_robots(r) != cases[i].flags)
            fail_msg("%s: robots %#x, expected %#x", cases[i].html, extract_meta_robots(r),
                     cases[i].flags);
        extract_free(r);
    }
}

/* ---- broken HTML and encodings ------------------------------------------------------------- */

static void test_broken_html(void **state)
{
    (void)state;
    /* no html/head/body, unclosed tags, an unterminated last tag */
    expect_pairs("<p><img src=a.jpg alt='A dog'><div><span><img src=b.jpg alt=Cat>"
                 "<table><tr><td><img src=c.jpg alt=Table>",
                 "alt https://www.example.com/dir/a.jpg|A dog\n"
                 "alt https://www.example.com/dir/b.jpg|Cat\n"
                 "alt https://www.example.com/dir/c.jpg|Table\n");
    /* stray end tags, comments, doctype, CDATA, processing instructions */
    expect_pairs("<!DOCTYPE html></div></figure><!-- <img src=no.jpg alt=no> -->"
                 "<?xml version='1.0'?><![CDATA[x]]></p><img src=yes.jpg alt=Yes></body></html>"
                 "<img src=late.jpg alt=Late>",
                 "alt https://www.example.com/dir/yes.jpg|Yes\n"
                 "alt https://www.example.com/dir/late.jpg|Late\n");
    /* a duplicated attribute: the first one counts (libxml2) */
    expect_pairs("<img src=one.jpg src=two.jpg alt=First alt=Second>",
                 "alt https://www.example.com/dir/one.jpg|First\n");
    /* text-only and garbage pages */
    static const char *const junk[] = {
        "",
        "just text",
        "<",
        "<<<>>>",
        "<img",
        "<img src=",
        "<img src='a.jpg alt=x>",
        "&#0;&",
        "</>",
        "<a href=",
        "<figure><figcaption>",
    };
    for (size_t i = 0; i < sizeof junk / sizeof junk[0]; i++) {
        extract_result *r = run(junk[i]);
        assert_int_equal(extract_pair_count(r), 0);
        extract_free(r);
    }
    /* NUL bytes (libxml2 would stop at the first): read as spaces */
    static const char nuls[] = "\x00\x01\x02<img src=a.jpg alt='x\x00y'>\x00<img src=b.jpg alt=z>";
    extract_result *r = run_lim_n(PAGE, nuls, sizeof nuls - 1, NULL);
    char *got = dump(r);
    assert_string_equal(got, "alt https://www.example.com/dir/a.jpg|x y\n"
                             "alt https://www.example.com/dir/b.jpg|z\n");
    free(got);
    extract_free(r);
}

static void test_encodings(void **state)
{
    (void)state;
    /* ISO-8859-1 declared by <meta charset> */
    expect_pairs("<html><head><meta charset='iso-8859-1'></head>"
                 "<img src='caf\xe9.jpg' alt='Caf\xe9 cr\xe8me \xbd'>",
                 "alt https://www.example.com/dir/caf%C3%A9.jpg|Caf\xc3\xa9 cr\xc3\xa8me "
                 "\xc2\xbd\n");
    /* windows-1252 through http-equiv */
    expect_pairs("<meta http-equiv='Content-Type' content='text/html; charset=windows-1252'>"
                 "<img src=q.jpg alt='\x93quoted\x94 \x80'>",
                 "alt https://www.example.com/dir/q.jpg|\xe2\x80\x9cquoted\xe2\x80\x9d "
                 "\xe2\x82\xac\n");
    /* UTF-8 declared and valid */
    expect_pairs("<meta charset=utf-8><img src=u.jpg alt='\xe6\x97\xa5\xe6\x9c\xac "
                 "\xd0\x9c\xd0\xbe\xd1\x81\xd0\xba\xd0\xb2\xd0\xb0'>",
                 "alt https://www.example.com/dir/u.jpg|\xe6\x97\xa5\xe6\x9c\xac "
                 "\xd0\x9c\xd0\xbe\xd1\x81\xd0\xba\xd0\xb2\xd0\xb0\n");
    /* UTF-16 with a BOM: its NUL bytes are characters */
    static const char u16[] = "\xff\xfe<\0i\0m\0g\0 \0s\0r\0c\0=\0a\0.\0j\0p\0g\0 \0a\0l\0t\0=\0"
                              "\xe9\0t\0\xe9\0>\0";
    extract_result *r = run_lim_n(PAGE, u16, sizeof u16 - 1, NULL);
    char *got = dump(r);
    assert_string_equal(got, "alt https://www.example.com/dir/a.jpg|\xc3\xa9t\xc3\xa9\n");
    free(got);
    extract_free(r);
    /* a UTF-8 BOM */
    expect_pairs("\xef\xbb\xbf<img src=b.jpg alt='\xc3\xa9t\xc3\xa9'>",
                 "alt https://www.example.com/dir/b.jpg|\xc3\xa9t\xc3\xa9\n");
    /* invalid UTF-8 without a declaration, in every position; and an unknown charset: the
     * page is read, every text is valid UTF-8 */
    static const char *const bad[] = {
        "<img src=a.jpg alt='bad \xff\xfe bytes \xc3\x28 here'><img src=b.jpg alt=Ok>",
        "<img src='a\x80\x81.jpg' alt='x'>\xed\xa0\x80<p>\xf8\x88\x80\x80\x80",
        "<meta charset=utf-8><img src=a.jpg alt='\xc0\xaf overlong \xe0\x80\xaf'>",
        "<meta charset=x-no-such-charset><img src=a.jpg alt='caf\xe9'>",
        "<meta charset=utf-16><img src=a.jpg alt='not utf-16'>",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        extract_result *r = run(bad[i]);
        for (size_t k = 0; k < extract_pair_count(r); k++) {
            const extract_pair *p = extract_pair_at(r, k);
            assert_true(cc_utf8_valid(p->text, strlen(p->text)));
            assert_true(cc_utf8_valid(p->image_url, strlen(p->image_url)));
        }
        if (i == 0)
            assert_int_equal(extract_pair_count(r), 2);
        extract_free(r);
    }
}

/* ---- limits -------------------------------------------------------------------------------- */

static void test_limit_bytes_and_args(void **state)
{
    (void)state;
    extract_limits lim;
    extract_limits_default(&lim);
    assert_int_equal(lim.max_bytes, (size_t)8 << 20);
    assert_int_equal(lim.max_pairs, 10000);
    assert_int_equal(lim.max_links, 10000);
    assert_int_equal(lim.max_text, 2000);
    assert_int_equal(lim.max_depth, 256);

    const char *html = "<img src=a.jpg alt=x>";
    size_t n = strlen(html);
    extract_result *r = (extract_result *)0x1;
    lim.max_bytes = n - 1;
    assert_int_equal(extract_html(PAGE, (const uint8_t *)html, n, &lim, &r), CC_E_LIMIT);
    assert_null(r);
    assert_non_null(strstr(cc_errmsg(), "limit"));
    lim.max_bytes = n; /* exactly at the limit is fine */
    r = run_lim(html, &lim);
    assert_int_equal(extract_pair_count(r), 1);
    extract_free(r);

    extract_limits_default(&lim);
    lim.max_depth = 0;
    assert_int_equal(extract_html(PAGE, (const uint8_t *)html, n, &lim, &r), CC_E_INVAL);
    extract_limits_default(&lim);
    lim.max_text = 0;
    assert_int_equal(extract_html(PAGE, (const uint8_t *)html, n, &lim, &r), CC_E_INVAL);
    extract_limits_default(&lim);
    lim.max_pairs = EXTRACT_MAX_ITEMS + 1;
    assert_int_equal(extract_html(PAGE, (const uint8_t *)html, n, &lim, &r), CC_E_INVAL);
    assert_int_equal(extract_html(NULL, (const uint8_t *)html, n, NULL, &r), CC_E_INVAL);
    assert_int_equal(extract_html(PAGE, NULL, n, NULL, &r), CC_E_INVAL);
    assert_int_equal(extract_html(PAGE, (const uint8_t *)html, n, NULL, NULL), CC_E_INVAL);
    /* the page URL must be an absolute http(s) URL */
    assert_int_equal(extract_html("relative/page.html", (const uint8_t *)html, n, NULL, &r),
                     CC_E_FORMAT);
    assert_null(r);
    assert_int_equal(extract_html("ftp://example.com/", (const uint8_t *)html, n, NULL, &r),
                     CC_E_UNSUPPORTED);
    /* an empty page */
    assert_int_equal(extract_html(PAGE, NULL, 0, NULL, &r), CC_OK);
    assert_int_equal(extract_pair_count(r), 0);
    assert_int_equal(extract_link_count(r), 0);
    assert_string_equal(extract_base_url(r), PAGE);
    extract_free(r);
    extract_free(NULL);
}

static void test_limit_pairs_links(void **state)
{
    (void)state;
    extract_limits lim;
    extract_limits_default(&lim);
    lim.max_pairs = 3;
    lim.max_links = 2;
    extract_result *r = run_lim("<img src=1.jpg alt=a><img src=1.jpg alt=a><img src=2.jpg alt=b>"
                                "<figure><img src=3.jpg alt=c><figcaption>cap</figcaption>"
                                "</figure><img src=4.jpg alt=d><img src=5.jpg alt=e>"
                                "<a href=x>x</a><a href=y>y</a><a href=x>x</a><a href=z>z</a>",
                                &lim);
    char *got = dump(r);
    assert_string_equal(got, "alt https://www.example.com/dir/1.jpg|a\n"
                             "alt https://www.example.com/dir/2.jpg|b\n"
                             "alt https://www.example.com/dir/3.jpg|c\n");
    assert_int_equal(skipped(r, EXTRACT_SKIP_DUPLICATE), 1);
    assert_int_equal(skipped(r, EXTRACT_SKIP_PAIR_LIMIT), 3); /* caption, 4, 5 */
    assert_int_equal(extract_link_count(r), 2);
    assert_int_equal(skipped(r, EXTRACT_SKIP_LINK_DUPLICATE), 1);
    assert_int_equal(skipped(r, EXTRACT_SKIP_LINK_LIMIT), 1);
    free(got);
    extract_free(r);

    lim.max_pairs = 0;
    lim.max_links = 0;
    r = run_lim("<img src=1.jpg alt=a><figure><img src=2.jpg><figcaption>c</figcaption></figure>"
                "<a href=x>x</a>",
                &lim);
    assert_int_equal(extract_pair_count(r), 0);
    assert_int_equal(extract_link_count(r), 0);
    assert_int_equal(skipped(r, EXTRACT_SKIP_PAIR_LIMIT), 2);
    assert_int_equal(skipped(r, EXTRACT_SKIP_LINK_LIMIT), 1);
    extract_free(r);

    /* many pairs and links: the arrays and sets grow */
    cc_buf b;
    cc_buf_init(&b, 1 << 22);
    for (int i = 0; i < 3000; i++) {
        char el[128];
        int k = snprintf(el, sizeof el, "<img src=/i/%d.jpg alt='image %d'><a href=/p/%d>l</a>", i,
                         i % 1000, i % 2000);
        assert_int_equal(cc_buf_append(&b, el, (size_t)k), CC_OK);
    }
    r = run_lim_n(PAGE, (const char *)b.data, b.len, NULL);
    assert_int_equal(extract_pair_count(r), 3000);
    assert_int_equal(extract_link_count(r), 2000);
    assert_string_equal(extract_pair_at(r, 2999)->image_url, "https://www.example.com/i/2999.jpg");
    assert_string_equal(extract_pair_at(r, 2999)->text, "image 999");
    assert_string_equal(extract_link_at(r, 1999), "https://www.example.com/p/1999");
    extract_free(r);
    cc_buf_free(&b);
}

static void test_limit_text(void **state)
{
    (void)state;
    extract_limits lim;
    extract_limits_default(&lim);
    lim.max_text = 5;
    /* "é" is two bytes: five bytes would split the third one */
    extract_result *r = run_lim("<img src=a.jpg alt='\xc3\xa9\xc3\xa9\xc3\xa9'>"
                                "<img src=b.jpg alt='abcd efgh'><img src=c.jpg alt='abcde'>"
                                "<img src=d.jpg alt='ab   cdefgh'>",
                                &lim);
    char *got = dump(r);
    assert_string_equal(got, "alt https://www.example.com/dir/a.jpg|\xc3\xa9\xc3\xa9\n"
                             "alt https://www.example.com/dir/b.jpg|abcd\n"
                             "alt https://www.example.com/dir/c.jpg|abcde\n"
                             "alt https://www.example.com/dir/d.jpg|ab cd\n");
    assert_int_equal(extract_result_stats(r)->text_cut, 3);
    free(got);
    extract_free(r);

    /* a 4-byte character first: nothing fits in 3 bytes */
    lim.max_text = 3;
    r = run_lim("<img src=a.jpg alt='\xf0\x9f\xa6\x8a fox'>", &lim);
    assert_int_equal(extract_pair_count(r), 0);
    assert_int_equal(skipped(r, EXTRACT_SKIP_NO_TEXT), 1);
    extract_free(r);

    /* a long figcaption is cut too */
    lim.max_text = 10;
    r = run_lim("<figure><img src=a.jpg><figcaption>0123456789 abcdefghij klmnop"
                "</figcaption></figure>",
                &lim);
    assert_int_equal(extract_pair_count(r), 1);
    assert_string_equal(extract_pair_at(r, 0)->text, "0123456789");
    extract_free(r);
}

static void test_limit_depth(void **state)
{
    (void)state;
    extract_limits lim;
    extract_limits_default(&lim);
    lim.max_depth = 20;
    /* html and body are implied: the img at 10 nested divs is at depth 13 */
    cc_buf b;
    cc_buf_init(&b, 1 << 16);
    const char *head = "<figure><img src=fig.jpg><figcaption>Kept</figcaption>";
    assert_int_equal(cc_buf_append(&b, head, strlen(head)), CC_OK);
    for (int i = 0; i < 10; i++)
        assert_int_equal(cc_buf_append(&b, "<div>", 5), CC_OK);
    assert_int_equal(cc_buf_append(&b, "<img src=a.jpg alt=Shallow><a href=s>s</a>", 42), CC_OK);
    for (int i = 0; i < 30; i++)
        assert_int_equal(cc_buf_append(&b, "<div>", 5), CC_OK);
    assert_int_equal(cc_buf_append(&b, "<img src=b.jpg alt=Deep><a href=d>d</a>", 39), CC_OK);
    for (int i = 0; i < 40; i++)
        assert_int_equal(cc_buf_append(&b, "</div>", 6), CC_OK);
    assert_int_equal(cc_buf_append(&b, "<img src=c.jpg alt=After>", 25), CC_OK);
    extract_result *r = run_lim_n(PAGE, (const char *)b.data, b.len, &lim);
    char *got = dump(r);
    /* the parse stopped at depth 20; the open figure was closed with what it had */
    assert_string_equal(got, "alt https://www.example.com/dir/a.jpg|Shallow\n"
                             "figcaption https://www.example.com/dir/fig.jpg|Kept\n"
                             "figcaption https://www.example.com/dir/a.jpg|Kept\n");
    assert_int_equal(extract_link_count(r), 1);
    assert_int_equal(extract_result_stats(r)->truncated, 1);
    assert_int_equal(skipped(r, EXTRACT_SKIP_DEPTH), 1);
    free(got);
    extract_free(r);

    /* the same page with the default depth: everything */
    r = run_lim_n(PAGE, (const char *)b.data, b.len, NULL);
    assert_int_equal(extract_pair_count(r), 7); /* 3 alt, 4 figcaption (the figure is open) */
    assert_int_equal(extract_result_stats(r)->truncated, 0);
    extract_free(r);
    cc_buf_free(&b);
}

/* A page of n bytes: prefix, then unit repeated, then suffix (the caller frees). */
static char *repeat_page(const char *prefix, const char *unit, size_t n, const char *suffix,
                         size_t *len)
{
    size_t p = strlen(prefix), u = strlen(unit), s = strlen(suffix);
    size_t reps = (n - p - s) / u;
    char *page = malloc(p + reps * u + s + 1);
    assert_non_null(page);
    memcpy(page, prefix, p);
    for (size_t i = 0; i < reps; i++)
        memcpy(page + p + i * u, unit, u);
    memcpy(page + p + reps * u, suffix, s + 1);
    *len = p + reps * u + s;
    return page;
}

static void test_hostile_pages(void **state)
{
    (void)state;
    size_t len;
    /* 5 MB of nested <div>s: stops at max_depth, keeps what came before */
    char *page = repeat_page("<img src=first.jpg alt=First>", "<div>", 5u << 20,
                             "<img src=never.jpg alt=Never>", &len);
    extract_result *r = run_lim_n(PAGE, page, len, NULL);
    assert_int_equal(extract_pair_count(r), 1);
    assert_string_equal(extract_pair_at(r, 0)->text, "First");
    assert_int_equal(extract_result_stats(r)->truncated, 1);
    extract_free(r);
    free(page);

    /* deep nesting, then end tags that make libxml2 scan its whole stack for each */
    page = repeat_page("", "<div>", 2u << 20, "", &len);
    char *tail = repeat_page("", "</table>", 2u << 20, "", &len);
    size_t half = strlen(page);
    char *both = malloc(half + len + 1);
    assert_non_null(both);
    memcpy(both, page, half);
    memcpy(both + half, tail, len + 1);
    r = run_lim_n(PAGE, both, half + len, NULL);
    assert_int_equal(extract_result_stats(r)->truncated, 1);
    extract_free(r);
    free(both);
    free(tail);
    free(page);

    /* 5 MB of siblings within the depth limit: the whole page is read */
    page = repeat_page("<body>", "<div><span>x</span></div>", 5u << 20,
                       "<img src=last.jpg alt=Last>", &len);
    r = run_lim_n(PAGE, page, len, NULL);
    assert_int_equal(extract_pair_count(r), 1);
    assert_string_equal(extract_pair_at(r, 0)->text, "Last");
    assert_int_equal(extract_result_stats(r)->truncated, 0);
    extract_free(r);
    free(page);

    /* 1 MB attributes: alt cut to max_text, src too long, srcset of many candidates, href */
    page = repeat_page("<img src=a.jpg alt='", "word ", 1u << 20, "'>", &len);
    r = run_lim_n(PAGE, page, len, NULL);
    assert_int_equal(extract_pair_count(r), 1);
    assert_true(strlen(extract_pair_at(r, 0)->text) <= 2000);
    assert_true(strlen(extract_pair_at(r, 0)->text) >= 1995);
    assert_int_equal(extract_result_stats(r)->text_cut, 1);
    extract_free(r);
    free(page);

    page = repeat_page("<img alt=x src='/", "a", 1u << 20, ".jpg'><a href='/a", &len);
    r = run_lim_n(PAGE, page, len, NULL);
    assert_int_equal(extract_pair_count(r), 0);
    assert_int_equal(skipped(r, EXTRACT_SKIP_BAD_URL), 1);
    extract_free(r);
    free(page);

    page = repeat_page("<img alt=x srcset='", "i.jpg 1w,", 1u << 20, "'>", &len);
    r = run_lim_n(PAGE, page, len, NULL);
    assert_int_equal(extract_pair_count(r), 1);
    extract_free(r);
    free(page);

    page = repeat_page("<figure><img src=a.jpg><figcaption>", "caption text ", 1u << 20,
                       "</figcaption></figure>", &len);
    r = run_lim_n(PAGE, page, len, NULL);
    assert_int_equal(extract_pair_count(r), 1);
    assert_true(strlen(extract_pair_at(r, 0)->text) <= 2000);
    extract_free(r);
    free(page);

    page = repeat_page("<a href='", "x", 1u << 20, "'>", &len);
    r = run_lim_n(PAGE, page, len, NULL);
    assert_int_equal(extract_link_count(r), 0);
    assert_int_equal(skipped(r, EXTRACT_SKIP_LINK_BAD_URL), 1);
    extract_free(r);
    free(page);
}

/* ---- threads and names --------------------------------------------------------------------- */

static const char thread_page[] =
    "<head><base href='https://t.example/b/'><meta name=robots content=noai></head>"
    "<figure><picture><source srcset='p.webp 900w'><img src=f.jpg alt='Fig alt'></picture>"
    "<figcaption>Fig <i>caption</i></figcaption></figure>"
    "<img src=a.jpg srcset='a2.jpg 2x' title='A title'><a href=n.html>n</a>";

static void *thread_main(void *arg)
{
    char **out = arg;
    for (int i = 0; i < 200; i++) {
        extract_result *r;
        if (extract_html(PAGE, (const uint8_t *)thread_page, sizeof thread_page - 1, NULL, &r) !=
            CC_OK)
            return NULL;
        char *d = dump(r);
        if (*out == NULL)
            *out = d;
        else if (strcmp(*out, d) != 0) {
            free(d);
            extract_free(r);
            return NULL;
        } else {
            free(d);
        }
        extract_free(r);
    }
    return arg;
}

static void test_threads(void **state)
{
    (void)state;
    enum { N = 4 };
    pthread_t th[N];
    char *out[N] = {0};
    for (int i = 0; i < N; i++)
        assert_int_equal(pthread_create(&th[i], NULL, thread_main, &out[i]), 0);
    for (int i = 0; i < N; i++) {
        void *ret;
        assert_int_equal(pthread_join(th[i], &ret), 0);
        assert_ptr_equal(ret, &out[i]);
    }
    extract_result *r = run(thread_page);
    char *d = dump(r);
    assert_string_equal(d, "alt https://t.example/b/p.webp|Fig alt\n"
                           "figcaption https://t.example/b/p.webp|Fig caption\n"
                           "title https://t.example/b/a2.jpg|A title\n");
    assert_int_equal(extract_meta_robots(r), EXTRACT_ROBOTS_NOAI);
    for (int i = 0; i < N; i++) {
        assert_string_equal(out[i], d);
        free(out[i]);
    }
    free(d);
    extract_free(r);
}

static void test_names(void **state)
{
    (void)state;
    assert_string_equal(extract_text_kind_name(EXTRACT_ALT), "alt");
    assert_string_equal(extract_text_kind_name(EXTRACT_TITLE), "title");
    assert_string_equal(extract_text_kind_name(EXTRACT_FIGCAPTION), "figcaption");
    assert_string_equal(extract_text_kind_name(EXTRACT_KINDS), "unknown");
    for (int i = 0; i < EXTRACT_SKIP_COUNT; i++) {
        const char *a = extract_skip_name((extract_skip)i);
        assert_non_null(a);
        assert_string_not_equal(a, "unknown");
        for (int j = 0; j < i; j++)
            assert_string_not_equal(a, extract_skip_name((extract_skip)j));
    }
    assert_string_equal(extract_skip_name(EXTRACT_SKIP_COUNT), "unknown");
    assert_string_equal(extract_skip_name(EXTRACT_SKIP_DATA_URL), "data_url");
}

/* ---- properties over generated tag soup ---------------------------------------------------- */

static uint64_t rng_next(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

static void test_soup_properties(void **state)
{
    (void)state;
    static const char *const parts[] = {
        "<img src=a.jpg alt='x'>",
        "<img srcset='b.jpg 2x, c.jpg 3x' title=T>",
        "<figure>",
        "</figure>",
        "<figcaption>",
        "</figcaption>",
        "<picture>",
        "</picture>",
        "<source srcset='s.webp 10w' type=image/webp>",
        "<a href=l.html>",
        "</a>",
        "<div>",
        "</div>",
        "<base href='/b/'>",
        "&amp;",
        "&#x0;",
        "\xc3\xa9",
        "\xff",
        "\x01",
        " ",
        "\n",
        "text",
        "<img src='data:x' data-src=d.jpg alt=D>",
        "<img src=x.gif alt=G>",
        "<p>",
        "<meta name=robots content=noindex>",
        "<script>x<img src=s.jpg alt=S></script>",
        "<img src='//h\xc3\xa9.example/x.jpg' alt=H>",
        "<img src='http://[::1]:8080/v6.jpg' alt=V>",
        "<a href='//[zz]/'>",
        "<img alt='\xe2\x80\x8b\xc2\xad'>",
        "<br>",
        "<b>",
        "</b>",
    };
    enum { NPARTS = sizeof parts / sizeof parts[0] };
    uint64_t seed = 0x9E3779B97F4A7C15ull;
    extract_limits lim;
    extract_limits_default(&lim);
    lim.max_pairs = 7;
    lim.max_links = 3;
    lim.max_text = 12;
    lim.max_depth = 12;
    for (int round = 0; round < 400; round++) {
        cc_buf b;
        cc_buf_init(&b, 1 << 16);
        int n = (int)(rng_next(&seed) % 60);
        for (int i = 0; i < n; i++) {
            const char *p = parts[rng_next(&seed) % NPARTS];
            assert_int_equal(cc_buf_append(&b, p, strlen(p)), CC_OK);
        }
        extract_result *r =
            run_lim_n(PAGE, b.data ? (const char *)b.data : "", b.len, round % 2 ? &lim : NULL);
        const extract_limits *L = round % 2 ? &lim : NULL;
        size_t maxp = L ? L->max_pairs : 10000, maxl = L ? L->max_links : 10000;
        size_t maxt = L ? L->max_text : 2000;
        assert_true(extract_pair_count(r) <= maxp);
        assert_true(extract_link_count(r) <= maxl);
        char canon[URL_MAX];
        for (size_t i = 0; i < extract_pair_count(r); i++) {
            const extract_pair *p = extract_pair_at(r, i);
            assert_int_equal(url_normalize(p->image_url, canon, sizeof canon), CC_OK);
            assert_string_equal(canon, p->image_url);
            size_t tl = strlen(p->text);
            assert_true(tl > 0 && tl <= maxt);
            assert_true(cc_utf8_valid(p->text, tl));
            assert_true(p->text[0] != ' ' && p->text[tl - 1] != ' ');
            assert_true((unsigned)p->kind < EXTRACT_KINDS);
            for (size_t k = 0; k < tl;) {
                uint32_t cp;
                size_t m = cc_utf8_decode((const uint8_t *)p->text + k, tl - k, &cp);
                assert_true(m > 0);
                assert_false(cc_utf8_is_control(cp));
                k += m;
            }
            for (size_t j = 0; j < i; j++) {
                const extract_pair *q = extract_pair_at(r, j);
                assert_false(strcmp(p->image_url, q->image_url) == 0 &&
                             strcmp(p->text, q->text) == 0);
            }
        }
        for (size_t i = 0; i < extract_link_count(r); i++) {
            assert_int_equal(url_normalize(extract_link_at(r, i), canon, sizeof canon), CC_OK);
            assert_string_equal(canon, extract_link_at(r, i));
            for (size_t j = 0; j < i; j++)
                assert_string_not_equal(extract_link_at(r, i), extract_link_at(r, j));
        }
        extract_free(r);
        cc_buf_free(&b);
    }
}

/* The skip rule on its own (WAT links use it): data: URLs and svg/gif/ico by the last path
 * segment's extension, case-insensitive, the query ignored. */
static void test_image_url_skip(void **state)
{
    (void)state;
    assert_int_equal(extract_image_url_skip("data:image/png;base64,AAAA"), EXTRACT_SKIP_DATA_URL);
    assert_int_equal(extract_image_url_skip("http://a.test/x/logo.SVG"), EXTRACT_SKIP_SVG);
    assert_int_equal(extract_image_url_skip("http://a.test/x/logo.svgz"), EXTRACT_SKIP_SVG);
    assert_int_equal(extract_image_url_skip("http://a.test/anim.gif?v=2"), EXTRACT_SKIP_GIF);
    assert_int_equal(extract_image_url_skip("https://a.test/favicon.ico"), EXTRACT_SKIP_ICO);
    assert_int_equal(extract_image_url_skip("http://a.test/photo.jpg"), -1);
    assert_int_equal(extract_image_url_skip("http://a.test/gif/photo.jpg"), -1);
    assert_int_equal(extract_image_url_skip("http://a.test/photo.jpg?f=x.gif"), -1);
    assert_int_equal(extract_image_url_skip("http://a.test/img"), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_alt_and_title),
        cmocka_unit_test(test_entities),
        cmocka_unit_test(test_figcaption),
        cmocka_unit_test(test_duplicates),
        cmocka_unit_test(test_dimensions),
        cmocka_unit_test(test_resolution),
        cmocka_unit_test(test_base_href),
        cmocka_unit_test(test_srcset),
        cmocka_unit_test(test_lazy),
        cmocka_unit_test(test_picture),
        cmocka_unit_test(test_skip_reasons),
        cmocka_unit_test(test_links),
        cmocka_unit_test(test_meta_robots),
        cmocka_unit_test(test_broken_html),
        cmocka_unit_test(test_encodings),
        cmocka_unit_test(test_limit_bytes_and_args),
        cmocka_unit_test(test_limit_pairs_links),
        cmocka_unit_test(test_limit_text),
        cmocka_unit_test(test_limit_depth),
        cmocka_unit_test(test_hostile_pages),
        cmocka_unit_test(test_threads),
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_image_url_skip),
        cmocka_unit_test(test_soup_properties),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
