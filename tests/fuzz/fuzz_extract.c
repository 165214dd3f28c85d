/* tests/fuzz/fuzz_extract.c — libFuzzer target for extract_html (crawler/extract.h).
 *
 * The input is an HTML page fetched from a fixed URL. Its first byte picks the limits: even, the
 * defaults; odd, small ones (8 pairs, 8 links, 24-byte texts, depth 24) so that every limit is
 * reached often. Properties checked on every input, beyond "no crash, no out-of-bounds read"
 * (ASan/UBSan) and "no timeout" (run.sh passes -timeout=10):
 *   - extract_html succeeds (any page within max_bytes is fine);
 *   - counts within the limits; robots flags within the defined bits;
 *   - every image URL is canonical (url_normalize gives it back unchanged), http(s), not a
 *     data:, .svg, .svgz, .gif or .ico URL; every link and the base URL are canonical, no link
 *     is the page itself;
 *   - every text is non-empty, at most max_text bytes, valid UTF-8, without control characters,
 *     whitespace other than single spaces, or spaces at its ends;
 *   - pairs are unique on (image_url, text), links are unique;
 *   - kinds, src_attr, width and height are in range; no more alt/title pairs than images;
 *   - a second call on the same bytes gives the same result.
 * With CLIPCRAWL_FUZZ_SEED_DIR set, LLVMFuzzerInitialize writes HTML seeds with every construct
 * the extractor knows (srcset, picture, lazy attributes, figures, base, links, meta robots,
 * entities, encodings, broken markup) into that directory.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/utf8.h"
#include "crawler/extract.h"
#include "crawler/url.h"
#include "tests/fuzz/fuzz_util.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define PAGE_URL "https://fuzz.example.com/a/b/page.html?q=1"

#define CHECK(cond) FUZZ_CHECK("fuzz_extract", cond)

static const char *const seeds[] = {
    "\x00<!doctype html><html><head><base href='/img/'><meta name=robots content='noindex, "
    "nofollow'><meta name=clipcrawl content=noai></head><body><img src=a.jpg alt='A red fox' "
    "width=640 height=480><a href=next.html>next</a><a href='#x'>f</a></body></html>",
    "\x01<img srcset='a.jpg 320w, b.jpg 1280w, c,d.jpg 640w' src=s.jpg alt=x>"
    "<img srcset='a.jpg 1.5x, b.jpg 2x,c.jpg' title=T><img srcset='x.jpg 10w (a, b), y 2x 3x'>",
    "\x02<picture><source type=image/avif srcset='h.avif 4000w'><source type=image/webp "
    "srcset='l.webp 1600w'><source data-srcset='j.jpg 2x'><img src=f.jpg alt='Pic'></picture>",
    "\x03<img src='data:image/gif;base64,R0lGOD' data-src=real.jpg alt=Lazy><img src=spacer.gif "
    "data-lazy-src=l.jpg title=t><img data-original=o.jpg alt=o><img data-srcset='z.jpg 3x' alt=z>",
    "\x04<figure><img src=a.jpg alt=A><img src=b.jpg><figcaption>The <b>R</b>ed fox<br>jumps"
    "<script>x</script></figcaption></figure><figure><figure><img src=c.jpg></figure>"
    "<figcaption>outer</figcaption></figure>",
    "\x05<img src=logo.svg alt=s><img src=a.GIF?x alt=g><img src=/favicon.ico alt=i><img "
    "src='javascript:x' alt=j><img src='http://u:p@h/x.jpg' alt=u><img src='http://h:99999/' "
    "alt=b><img src='#' alt=f><img alt=none><img src=//cdn.example.net/x.jpg alt=proto>",
    "\x06<a href='javascript:void(0)'>j</a><a href=mailto:a@b>m</a><a href=x rel=NOFOLLOW>n</a>"
    "<a href='page.html?q=1#s'>self</a><a href=''>e</a><map><area href=/m></map><a href=x>dup"
    "</a><a href=x>dup</a>",
    "\x07<img src='a.jpg?x=1&amp;y=2' alt='Tom &amp; Jerry &eacute; &#x1F98A; &#0; &bogus;'>",
    "\x08<meta charset=iso-8859-1><img src='caf\xe9.jpg' alt='caf\xe9 \xbd'>",
    "\x09<meta http-equiv=content-type content='text/html; charset=windows-1252'>"
    "<img src=q.jpg alt='\x93q\x94'>",
    "\x0a<img src=a.jpg alt='bad \xff\xfe \xc3\x28 \xed\xa0\x80 \xf0\x9f\xa6'><p>\xc0\xaf",
    "\x0b<p><img src=a.jpg alt=x<div><span><img src=b.jpg alt=y><table><tr><td><img src=c.jpg "
    "alt=z></div></table></figure><!-- <img src=n.jpg alt=n> --><img src=d.jpg alt=d",
    "\x0c<div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div>"
    "<div><div><div><div><div><div><div><div><figure><img src=deep.jpg alt=deep><figcaption>c",
    "\x0d\xef\xbb\xbf<img src=a.jpg alt='\xc2\xa0\xe2\x80\x8b zero \xe2\x80\x8b width\t\n'>",
    "\x0e<img src=a.jpg alt=x width=50% height='300px'><img src=b.jpg alt=y width=99999999 "
    "height=' 12.5'>",
};

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    /* the first seed starts with a NUL byte (default limits): written with its length */
    size_t lens[sizeof seeds / sizeof seeds[0]] = {1 + strlen(seeds[0] + 1)};
    fuzz_write_text_seeds("extract", seeds, lens, sizeof seeds / sizeof seeds[0]);
    return 0;
}

static int ends_with_ci(const char *s, size_t n, const char *ext)
{
    size_t k = strlen(ext);
    if (n < k)
        return 0;
    for (size_t i = 0; i < k; i++) {
        char c = s[n - k + i];
        if (c >= 'A' && c <= 'Z')
            c = (char)(c + 32);
        if (c != ext[i])
            return 0;
    }
    return 1;
}

static void check_url(const char *u)
{
    static char canon[URL_MAX]; /* libFuzzer runs one input at a time */
    CHECK(u != NULL);
    CHECK(url_normalize(u, canon, sizeof canon) == CC_OK);
    CHECK(strcmp(canon, u) == 0);
    CHECK(strncmp(u, "http://", 7) == 0 || strncmp(u, "https://", 8) == 0);
}

static void check_text(const char *t, size_t max_text)
{
    size_t n = strlen(t);
    CHECK(n > 0 && n <= max_text);
    CHECK(cc_utf8_valid(t, n));
    CHECK(t[0] != ' ' && t[n - 1] != ' ');
    for (size_t i = 0; i < n;) {
        uint32_t cp;
        size_t k = cc_utf8_decode((const uint8_t *)t + i, n - i, &cp);
        CHECK(k > 0);
        CHECK(!cc_utf8_is_control(cp));
        CHECK(cp == ' ' || !cc_utf8_is_space(cp));
        CHECK(!(cp == ' ' && i > 0 && t[i - 1] == ' '));
        i += k;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    extract_limits lim;
    extract_limits_default(&lim);
    if (size > 0 && (data[0] & 1)) {
        lim.max_pairs = 8;
        lim.max_links = 8;
        lim.max_text = 24;
        lim.max_depth = 24;
    }
    /* an exact-size heap copy, so that ASan sees any read past the end */
    uint8_t *in = malloc(size ? size : 1);
    if (in == NULL)
        return 0;
    memcpy(in, data, size);

    extract_result *r = NULL;
    CHECK(extract_html(PAGE_URL, in, size, &lim, &r) == CC_OK);
    CHECK(r != NULL);
    const extract_stats *st = extract_result_stats(r);
    size_t np = extract_pair_count(r), nl = extract_link_count(r);
    CHECK(np <= lim.max_pairs);
    CHECK(nl <= lim.max_links);
    CHECK(extract_pair_at(r, np) == NULL && extract_link_at(r, nl) == NULL);
    CHECK((extract_meta_robots(r) & ~0x1F) == 0);
    CHECK(st->truncated == 0 || st->truncated == 1);
    check_url(extract_base_url(r));

    size_t attr_pairs = 0;
    for (size_t i = 0; i < np; i++) {
        const extract_pair *p = extract_pair_at(r, i);
        check_url(p->image_url);
        size_t ul = strlen(p->image_url);
        size_t path_end = strcspn(p->image_url, "?");
        CHECK(path_end <= ul);
        CHECK(!ends_with_ci(p->image_url, path_end, ".svg"));
        CHECK(!ends_with_ci(p->image_url, path_end, ".svgz"));
        CHECK(!ends_with_ci(p->image_url, path_end, ".gif"));
        CHECK(!ends_with_ci(p->image_url, path_end, ".ico"));
        check_text(p->text, lim.max_text);
        CHECK((unsigned)p->kind < EXTRACT_KINDS);
        CHECK(p->src_attr != NULL && p->src_attr[0] != '\0');
        CHECK(p->width >= 0 && p->width <= 100000 && p->height >= 0 && p->height <= 100000);
        attr_pairs += p->kind != EXTRACT_FIGCAPTION;
        if (np <= 512)
            for (size_t j = 0; j < i; j++) {
                const extract_pair *q = extract_pair_at(r, j);
                CHECK(strcmp(p->image_url, q->image_url) != 0 || strcmp(p->text, q->text) != 0);
            }
    }
    CHECK(attr_pairs <= st->images);
    for (size_t i = 0; i < nl; i++) {
        const char *l = extract_link_at(r, i);
        check_url(l);
        CHECK(strcmp(l, PAGE_URL) != 0);
        if (nl <= 512)
            for (size_t j = 0; j < i; j++)
                CHECK(strcmp(l, extract_link_at(r, j)) != 0);
    }

    /* the same bytes again: the same result */
    extract_result *r2 = NULL;
    CHECK(extract_html(PAGE_URL, in, size, &lim, &r2) == CC_OK);
    CHECK(extract_pair_count(r2) == np && extract_link_count(r2) == nl);
    for (size_t i = 0; i < np; i++) {
        const extract_pair *a = extract_pair_at(r, i), *b = extract_pair_at(r2, i);
        CHECK(strcmp(a->image_url, b->image_url) == 0 && strcmp(a->text, b->text) == 0);
        CHECK(a->kind == b->kind && a->width == b->width && a->height == b->height);
    }
    CHECK(memcmp(extract_result_stats(r2), st, sizeof *st) == 0);
    extract_free(r2);
    extract_free(r);
    free(in);
    return 0;
}
