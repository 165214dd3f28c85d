/* tests/unit/test_wiki.c — the wikitext stripper, the bounded n-gram counters and wiki_build on
 * tests/fixtures/wiki/small.xml (a MediaWiki export-0.10 file: three articles, one with two
 * revisions, a redirect, a Talk: page, a Template: page and an article whose text was deleted).
 *
 * The expected numbers for the fixture were computed once, independently of this code, by a short
 * Python script: the plain text of each article was written by hand from the wikitext following
 * the rules in wiki.h / wiki_markup.c, then split into segments (lines, and sentences ending in
 * . ! ? + optional closing quotes/brackets + whitespace), tokenized like normalize.h (runs of word
 * characters, case-folded) and counted; PMI = ln(c(ab) N / (c(a) c(b))) with math.log.
 *
 * Compressed copies (.bz2, .gz, .zst, single- and multi-stream) and damaged ones are made at run
 * time with the libraries, in a temporary directory removed at the end. Run from the repository
 * root (tests/run.sh does).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <bzlib.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#include "common/buf.h"
#include "common/utf8.h"
#include "query_lists/ngram.h"
#include "query_lists/querylist.h"
#include "query_lists/wiki.h"
#include "query_lists/zread.h"

#define FIXTURE "tests/fixtures/wiki/small.xml"

static char tmpdir[64];
static uint8_t *fixture;
static size_t fixture_len;

/* ---- helpers ------------------------------------------------------------------------------- */

static void tmp_path(char *out, size_t cap, const char *name)
{
    int k = snprintf(out, cap, "%s/%s", tmpdir, name);
    assert_true(k > 0 && (size_t)k < cap);
}

static void write_file(const char *path, const void *p, size_t n)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(p, 1, n, f), n);
    assert_int_equal(fclose(f), 0);
}

/* Compressors: kind 'b' bzip2, 'g' gzip, 'z' zstd. *out is malloc'ed. */
static size_t compress_buf(char kind, const uint8_t *in, size_t n, uint8_t **out)
{
    size_t cap = n + n / 50 + 1024;
    if (kind == 'z')
        cap = ZSTD_compressBound(n);
    uint8_t *o = malloc(cap);
    assert_non_null(o);
    size_t len = 0;
    if (kind == 'b') {
        unsigned dl = (unsigned)cap;
        assert_int_equal(
            BZ2_bzBuffToBuffCompress((char *)o, &dl, (char *)in, (unsigned)n, 9, 0, 30), BZ_OK);
        len = dl;
    } else if (kind == 'g') {
        z_stream zs;
        memset(&zs, 0, sizeof zs);
        assert_int_equal(deflateInit2(&zs, 9, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY), Z_OK);
        zs.next_in = (uint8_t *)in;
        zs.avail_in = (uInt)n;
        zs.next_out = o;
        zs.avail_out = (uInt)cap;
        assert_int_equal(deflate(&zs, Z_FINISH), Z_STREAM_END);
        len = cap - zs.avail_out;
        deflateEnd(&zs);
    } else {
        len = ZSTD_compress(o, cap, in, n, 3);
        assert_false(ZSTD_isError(len));
    }
    *out = o;
    return len;
}

/* Writes the fixture compressed as one stream, or as two streams back to back (split at cut). */
static void write_compressed(const char *name, char kind, size_t cut, char *path, size_t cap)
{
    tmp_path(path, cap, name);
    uint8_t *a = NULL, *b = NULL;
    if (cut == 0) {
        size_t n = compress_buf(kind, fixture, fixture_len, &a);
        write_file(path, a, n);
    } else {
        size_t na = compress_buf(kind, fixture, cut, &a);
        size_t nb = compress_buf(kind, fixture + cut, fixture_len - cut, &b);
        uint8_t *both = malloc(na + nb);
        assert_non_null(both);
        memcpy(both, a, na);
        memcpy(both + na, b, nb);
        write_file(path, both, na + nb);
        free(both);
    }
    free(a);
    free(b);
}

static void opts_all(wiki_opts *o)
{
    wiki_opts_default(o);
    o->min_count = 1;
    o->bigram_min_count = 1;
    o->min_pmi = -1e300;
}

static cc_status build(const char *path, const wiki_opts *o, query_list **ql, wiki_stats *st)
{
    assert_int_equal(query_list_new(1u << 20, ql), CC_OK);
    cc_status s = wiki_build(path, o, *ql, st);
    query_list_finish(*ql, 0);
    return s;
}

static const query *lookup(const query_list *ql, const char *text)
{
    int64_t id = query_list_find(ql, text, strlen(text));
    return id < 0 ? NULL : query_list_get(ql, (uint64_t)id);
}

static uint64_t count_of(const query_list *ql, const char *text)
{
    const query *q = lookup(ql, text);
    return q ? q->count : 0;
}

/* Same queries, in the same order, with the same counts, sources and PMI. */
static void assert_lists_equal(const query_list *a, const query_list *b)
{
    assert_int_equal(query_list_count(a), query_list_count(b));
    for (uint64_t i = 0; i < query_list_count(a); i++) {
        const query *x = query_list_get(a, i), *y = query_list_get(b, i);
        assert_string_equal(x->text, y->text);
        assert_int_equal(x->count, y->count);
        assert_int_equal(x->sources, y->sources);
        assert_true((isnan(x->pmi) && isnan(y->pmi)) || x->pmi == y->pmi);
    }
}

static void assert_stats_equal(const wiki_stats *a, const wiki_stats *b)
{
    assert_memory_equal(a, b, sizeof *a);
}

static char *strip(const char *in, cc_status *st)
{
    cc_buf out;
    cc_buf_init(&out, 1u << 24);
    *st = wiki_strip_markup(in, strlen(in), &out);
    char *s = malloc(out.len + 1);
    assert_non_null(s);
    if (out.len)
        memcpy(s, out.data, out.len);
    s[out.len] = '\0';
    cc_buf_free(&out);
    return s;
}

static void assert_strip(const char *in, const char *want)
{
    cc_status st;
    char *got = strip(in, &st);
    assert_int_equal(st, CC_OK);
    if (strcmp(got, want) != 0)
        fail_msg("strip(\"%s\")\n  got  \"%s\"\n  want \"%s\"", in, got, want);
    free(got);
}

/* ---- the stripper -------------------------------------------------------------------------- */

static void test_strip_constructs(void **state)
{
    (void)state;
    static const char *const cases[][2] = {
        /* bold, italic, apostrophes */
        {"'''bold''' ''italic'' '''''both''''' it's", "bold italic both it's"},
        /* links: target, label, trail, leading colon, anchors */
        {"a [[Red fox]] b", "a Red fox b"},
        {"a [[Vulpes vulpes|red fox]]es b", "a red foxes b"},
        {"[[:Category:Foxes|fox list]] and [[:Category:Foxes]]", "fox list and Category:Foxes"},
        {"[[Fox#Diet]] [[ spaced  target ]]", "Fox#Diet spaced target"},
        {"[[a|''italic'' label with [[inner|link]]]] after", "italic label with link after"},
        /* removed links: files, images, categories, interwiki, with nested links in captions */
        {"x [[File:A b.jpg|thumb|A [[red fox]] in [[snow]]]] y", "x y"},
        {"x [[image:a.png]] [[Category:Foxes|Red]] [[de:Rotfuchs]] [[zh-yue:X]] y", "x y"},
        {"word[[File:a.jpg]].", "word."},
        /* external links */
        {"[http://example.com/a Example site] x", "Example site x"},
        {"see [https://example.org] now", "see now"},
        {"[//example.org/x proto-relative] [mailto:a@b.c mail]", "proto-relative mail"},
        {"[not a link] [ftp://f.org/x files]", "[not a link] files"},
        /* templates, nested, multi-line, with comments holding braces */
        {"a {{convert|3|km}} b", "a b"},
        {"a{{sfn|X}}. b", "a. b"},
        {"{{Infobox\n| a = {{b|{{c|d}}}}\n| e = <!-- }} -->f\n}}Text", "Text"},
        /* tags */
        {"a<ref name=\"x\">cite {{y}}</ref> b<ref name=z/> c<ref>q</REF> d", "a b c d"},
        {"<math>x^2</math> and <gallery>\nA.jpg|cap\n</gallery> <small>kept</small>", "and kept"},
        {"line<br>break<br/>here", "line break here"},
        {"a <references /> b", "a b"},
        {"3 < 4 and <3", "3 < 4 and <3"},
        /* comments */
        {"a<!-- hidden -->b <!--\nmulti\nline\n--> c", "ab c"},
        /* entities of the wikitext (the XML layer decoded its own) */
        {"a&nbsp;b &amp; c &lt;d&gt; &#65;&#x42; &ndash; &mdash;", "a b & c <d> AB \u2013 \u2014"},
        {"&bogus; & &#; &#xD800; &#1114112; &#1;x", "&bogus; & &#; x"},
        {"&#233;t&eacute;", "\u00e9t&eacute;"},
        /* behaviour switches */
        {"__TOC__ a __NOEDITSECTION__ b __lower__ snake_case", "a b __lower__ snake_case"},
        /* headings, lists, rules, paragraphs: one paragraph per line */
        {"== History ==\nText one\ncontinues.\n\nNew para",
         "History\nText one continues.\nNew para"},
        {"=== ''Diet'' and [[food]] ===\nx", "Diet and food\nx"},
        {"=no heading\n==\n= =\n", "=no heading\n=="}, /* "= =" is an empty heading */
        {"intro\n* one\n** two\n# three\n; term : def\n: indented\nafter",
         "intro\none\ntwo\nthree\nterm : def\nindented\nafter"},
        {"a\n----\nb", "a\nb"},
        {"a   b\t\tc \r\n d", "a b c d"},
        /* tables, nested, indented */
        {"before\n{| class=wikitable\n! h !! i\n|-\n| {{x}} || [[y]]\n|}\nafter", "before\nafter"},
        {"a\n:{|\n|outer\n{|\n|inner\n|}\n|still outer\n|}\nb", "a\nb"},
        {"mid {| not a table |}", "mid {| not a table |}"},
        /* UTF-8 passes through */
        {"Z\u00fcrich \u2014 caf\u00e9 \xf0\x9f\xa6\x8a",
         "Z\u00fcrich \u2014 caf\u00e9 \xf0\x9f\xa6\x8a"},
        {"", ""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        assert_strip(cases[i][0], cases[i][1]);
}

static void test_strip_unterminated(void **state)
{
    (void)state;
    /* every construct left open runs to the end of the text */
    assert_strip("a {{never closed [[x]] text", "a");
    assert_strip("a {{b}} {{c|{{d}} text", "a");
    assert_strip("a <!-- never closed", "a");
    assert_strip("a<ref>never closed b", "a");
    assert_strip("a\n{|\n| never closed\nb", "a");
    assert_strip("a [[File:x.jpg|caption [[y]] text", "a");
    /* an open label keeps reading text; an open external label ends with its line */
    assert_strip("a [[target|label text", "a label text");
    assert_strip("a [http://x.org label\nnext] b", "a label next] b");
    /* broken link syntax is shown as text */
    assert_strip("[[a\nb]] [[{{x}}]]", "[[a b]] [[]]");
    assert_strip("unclosed <tag", "unclosed <tag");
}

/* Adversarial inputs of 1 MiB each stay linear (and, under ASan, in bounds). */
static void test_strip_linear(void **state)
{
    (void)state;
    static const char *const units[] = {
        "{{",  "}}",  "[[",   "]]",       "[[a|", "<a ",   "<!--", "&#",
        "'''", "\n=", "\n{|", "[http://", "__A",  "<ref>", "\n*"};
    const size_t n = 1u << 20;
    char *in = malloc(n);
    assert_non_null(in);
    cc_buf out;
    cc_buf_init(&out, n);
    clock_t t0 = clock();
    for (size_t u = 0; u < sizeof units / sizeof units[0]; u++) {
        size_t k = strlen(units[u]);
        for (size_t i = 0; i < n; i++)
            in[i] = units[u][i % k];
        cc_buf_reset(&out);
        assert_int_equal(wiki_strip_markup(in, n, &out), CC_OK);
        assert_true(out.len <= n);
    }
    double secs = (double)(clock() - t0) / CLOCKS_PER_SEC;
    /* 15 MiB in all: linear code takes well under a second even under ASan */
    assert_true(secs < 10.0);
    cc_buf_free(&out);
    free(in);
}

static void test_strip_buffer(void **state)
{
    (void)state;
    /* appends after existing bytes, never touching them */
    cc_buf out;
    cc_buf_init(&out, 64);
    assert_int_equal(cc_buf_append(&out, "old ", 4), CC_OK);
    assert_int_equal(wiki_strip_markup("  ''new'' text  ", 16, &out), CC_OK);
    assert_int_equal(out.len, 12);
    assert_memory_equal(out.data, "old new text", 12);
    /* past the maximum: CC_E_LIMIT */
    cc_buf small;
    cc_buf_init(&small, 5);
    assert_int_equal(wiki_strip_markup("plain words here", 16, &small), CC_E_LIMIT);
    cc_buf_free(&small);
    cc_buf_free(&out);
}

/* ---- the counters -------------------------------------------------------------------------- */

static void test_ngram_exact(void **state)
{
    (void)state;
    ngram_table *t;
    assert_int_equal(ngram_new(NGRAM_MIN_MEMORY - 1, &t), CC_E_INVAL);
    assert_int_equal(ngram_new(4u << 20, &t), CC_OK);
    assert_int_equal(ngram_add(t, "", 0, NGRAM_UNI), CC_E_INVAL);
    assert_int_equal(ngram_add(t, "red", 3, NGRAM_UNI), CC_OK);
    assert_int_equal(ngram_add(t, "red fox", 7, NGRAM_BI), CC_OK);
    assert_int_equal(ngram_add(t, "red", 3, NGRAM_UNI), CC_OK);
    assert_int_equal(ngram_get(t, "red", 3), 2);
    assert_int_equal(ngram_get(t, "red fox", 7), 1);
    assert_int_equal(ngram_get(t, "fox", 3), 0);
    assert_int_equal(ngram_distinct(t, NGRAM_UNI), 1);
    assert_int_equal(ngram_distinct(t, NGRAM_BI), 1);
    /* insertion order, kinds kept */
    size_t pos = 0, len;
    const char *key;
    int kind;
    uint64_t c;
    assert_true(ngram_next(t, &pos, &key, &len, &kind, &c));
    assert_true(len == 3 && memcmp(key, "red", 3) == 0 && kind == NGRAM_UNI && c == 2);
    assert_true(ngram_next(t, &pos, &key, &len, &kind, &c));
    assert_true(len == 7 && memcmp(key, "red fox", 7) == 0 && kind == NGRAM_BI && c == 1);
    assert_false(ngram_next(t, &pos, &key, &len, &kind, &c));
    /* growth of the index and the arena keeps every count */
    char k[32];
    for (int round = 0; round < 3; round++)
        for (int i = 0; i < 20000; i++) {
            int n = snprintf(k, sizeof k, "key%d", i);
            assert_int_equal(ngram_add(t, k, (size_t)n, NGRAM_UNI), CC_OK);
        }
    for (int i = 0; i < 20000; i++) {
        int n = snprintf(k, sizeof k, "key%d", i);
        assert_int_equal(ngram_get(t, k, (size_t)n), 3);
    }
    assert_int_equal(ngram_floor(t), 0);
    ngram_free(t);
}

/* Lossy counting at the minimum memory: for every key, truth - floor <= kept <= truth, and every
 * key whose truth exceeds the floor is kept. */
static void test_ngram_pruning(void **state)
{
    (void)state;
    enum { KEYS = 20000, ADDS = 300000 };
    uint32_t *truth = calloc(KEYS, sizeof *truth);
    assert_non_null(truth);
    ngram_table *t;
    assert_int_equal(ngram_new(NGRAM_MIN_MEMORY, &t), CC_OK);
    uint64_t x = 88172645463325252ull;
    char k[32];
    for (int a = 0; a < ADDS; a++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        /* skewed: key = floor(KEYS * u^3), so low keys are heavy hitters */
        double u = (double)(x >> 11) / 9007199254740992.0;
        uint32_t key = (uint32_t)(KEYS * u * u * u);
        truth[key]++;
        int n = snprintf(k, sizeof k, "k%u", key);
        assert_int_equal(ngram_add(t, k, (size_t)n, key % 2 ? NGRAM_BI : NGRAM_UNI), CC_OK);
    }
    uint64_t floor = ngram_floor(t);
    assert_true(floor > 0);
    assert_true(ngram_prunes(t) > 0);
    uint64_t present = 0;
    for (uint32_t i = 0; i < KEYS; i++) {
        int n = snprintf(k, sizeof k, "k%u", i);
        uint64_t got = ngram_get(t, k, (size_t)n);
        assert_true(got <= truth[i]);
        assert_true(truth[i] - got <= floor);
        if (truth[i] > floor)
            assert_true(got > 0);
        present += got > 0;
    }
    assert_int_equal(present, ngram_distinct(t, NGRAM_UNI) + ngram_distinct(t, NGRAM_BI));
    ngram_free(t);
    free(truth);
}

/* ngram_add_many (prefetching groups) leaves the same table as ngram_add key by key: the same
 * records in the same order with the same counts, the same prunes and floor. */
static void test_ngram_many_equals_plain(void **state)
{
    (void)state;
    enum { N = 120000 };
    char *text = malloc((size_t)N * 16);
    ngram_key *keys = malloc(N * sizeof *keys);
    assert_non_null(text);
    assert_non_null(keys);
    uint64_t x = 12345;
    for (size_t i = 0; i < N; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        int n = snprintf(text + i * 16, 16, "%c%llu", i % 3 ? 'u' : 'b',
                         (unsigned long long)(x % (1 + i / 4)));
        keys[i] = (ngram_key){text + i * 16, (size_t)n, i % 3 ? NGRAM_UNI : NGRAM_BI};
    }
    size_t mems[] = {NGRAM_MIN_MEMORY, (size_t)16 << 20};
    for (int m = 0; m < 2; m++) {
        ngram_table *plain, *many;
        assert_int_equal(ngram_new(mems[m], &plain), CC_OK);
        assert_int_equal(ngram_new(mems[m], &many), CC_OK);
        for (size_t i = 0; i < N; i++)
            assert_int_equal(ngram_add(plain, keys[i].p, keys[i].len, keys[i].kind), CC_OK);
        for (size_t i = 0; i < N;) { /* uneven group sizes */
            size_t k = 1 + i % 77 < N - i ? 1 + i % 77 : N - i;
            assert_int_equal(ngram_add_many(many, keys + i, k), CC_OK);
            i += k;
        }
        assert_int_equal(ngram_floor(plain), ngram_floor(many));
        assert_int_equal(ngram_prunes(plain), ngram_prunes(many));
        assert_true(m == 1 || ngram_floor(plain) > 0);
        size_t pa = 0, pb = 0, la, lb;
        const char *ka, *kb;
        int da, db;
        uint64_t ca, cb, records = 0;
        while (ngram_next(plain, &pa, &ka, &la, &da, &ca)) {
            assert_true(ngram_next(many, &pb, &kb, &lb, &db, &cb));
            assert_true(la == lb && memcmp(ka, kb, la) == 0 && da == db && ca == cb);
            records++;
        }
        assert_false(ngram_next(many, &pb, &kb, &lb, &db, &cb));
        assert_true(records > 500);
        ngram_free(plain);
        ngram_free(many);
    }
    free(text);
    free(keys);
}

/* ---- wiki_build on the fixture ------------------------------------------------------------- */

static void test_fixture_counts(void **state)
{
    (void)state;
    wiki_opts o;
    opts_all(&o);
    query_list *ql;
    wiki_stats st;
    assert_int_equal(build(FIXTURE, &o, &ql, &st), CC_OK);

    assert_int_equal(st.pages, 7);
    assert_int_equal(st.articles, 4); /* Red fox, Arctic fox, Zürich, Snow (deleted text) */
    assert_int_equal(st.redirects, 1);
    assert_int_equal(st.other_ns, 2);
    assert_int_equal(st.cut_pages, 0);
    assert_int_equal(st.words, 183);
    assert_int_equal(st.distinct_unigrams, 88);
    assert_int_equal(st.distinct_bigrams, 118);
    assert_int_equal(st.prune_floor, 0);
    /* titles first, then words and bigrams; "zürich", "snow", "red fox", "arctic fox" merged */
    assert_int_equal(st.titles_added, 4);
    assert_int_equal(st.words_added, 86);
    assert_int_equal(st.bigrams_added, 116);
    assert_int_equal(query_list_count(ql), 206);

    static const struct {
        const char *w;
        uint64_t n;
    } words[] = {
        {"fox", 20},
        {"red", 11},
        {"the", 23},
        {"arctic", 7},
        {"Zürich", 3},
        {"foxes", 2},
        {"snow", 1},
        {"rodents", 3},
        {"carnivora", 1},
        {"site", 1},
        {"description", 1},
        {"white", 3},
        {"3", 1},
        {"5", 1},
        {"kg", 1},
        /* from the first revision, a redirect, Talk:, Template:, or removed markup */
        {"obsoleteword", 0},
        {"redirectonlyword", 0},
        {"talkonlyword", 0},
        {"templateonlyword", 0},
        {"doc", 0},
        {"iucn", 0},
        {"thumb", 0},
        {"smith", 0},
        {"example", 0},
        {"notoc", 0},
        {"measure", 0},
        {"rotfuchs", 0},
        {"mammals", 0},
        {"hidden", 0},
        {"nbsp", 0},
        {"amp", 0},
        {"mc", 0},
        {"jpg", 0},
        {"cite", 0},
        {"gallery", 0},
    };
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++) {
        const query *q = lookup(ql, words[i].w);
        if (words[i].n == 0) {
            if (q != NULL)
                fail_msg("\"%s\" should not be counted", words[i].w);
            continue;
        }
        assert_non_null(q);
        if (q->count != words[i].n)
            fail_msg("\"%s\": count %llu, want %llu", words[i].w, (unsigned long long)q->count,
                     (unsigned long long)words[i].n);
        assert_true(q->sources & QSRC_WIKI_WORD);
        assert_true(isnan(q->pmi));
    }

    static const struct {
        const char *b;
        uint64_t n;
        double pmi;
    } bigrams[] = {
        {"red fox", 9, 2.013083183825279},       {"arctic fox", 5, 1.8772816426662169},
        {"small rodents", 3, 3.82319179172153},  {"the red", 9, 1.8733212414501201},
        {"3 5", 1, 5.209486152841421}, /* "3.5": not a sentence end */
        {"weighs 3", 1, 5.209486152841421},      {"5 kg", 1, 5.209486152841421},
        {"ghost fox", 1, 2.21375387928743},      {"tail and", 1, 3.6000482404073204}, /* &nbsp; */
        {"red white", 1, 1.7129785913749407}, /* &amp; */
        {"fur white", 1, 3.417726683613366}, /* &mdash; */
        {"in zürich", 2, 3.0122615755052013},    {"vulpes vulpes", 1, 3.0122615755052013},
        {"north america", 1, 5.209486152841421}, {"the fox", 1, -0.9217403366417198},
    };
    for (size_t i = 0; i < sizeof bigrams / sizeof bigrams[0]; i++) {
        const query *q = lookup(ql, bigrams[i].b);
        if (q == NULL)
            fail_msg("bigram \"%s\" missing", bigrams[i].b);
        assert_int_equal(q->count, bigrams[i].n);
        assert_true(q->sources & QSRC_WIKI_BIGRAM);
        if (fabs(q->pmi - bigrams[i].pmi) > 1e-9)
            fail_msg("PMI of \"%s\": %.12f, want %.12f", bigrams[i].b, q->pmi, bigrams[i].pmi);
    }
    /* bigram chains break at sentence ends (also after a closing quote), paragraph ends,
     * headings and list items */
    static const char *const never[] = {"fox hunters",         "carnivora the", "fruit see",
                                        "rodents rabbits",     "regions it",    "night diet",
                                        "america description", "legs its"};
    for (size_t i = 0; i < sizeof never / sizeof never[0]; i++)
        if (lookup(ql, never[i]) != NULL)
            fail_msg("\"%s\" crosses a segment end", never[i]);

    /* titles of articles only; merged with the bigram or word of the same text */
    static const char *const titles[] = {"Red fox", "Arctic fox", "Zürich", "Snow"};
    for (size_t i = 0; i < 4; i++) {
        const query *q = lookup(ql, titles[i]);
        assert_non_null(q);
        assert_true(q->sources & QSRC_WIKI_TITLE);
    }
    assert_int_equal(lookup(ql, "red fox")->sources, QSRC_WIKI_TITLE | QSRC_WIKI_BIGRAM);
    assert_int_equal(lookup(ql, "snow")->sources, QSRC_WIKI_TITLE | QSRC_WIKI_WORD);
    assert_null(lookup(ql, "Talk:Red fox"));
    assert_null(lookup(ql, "Template:Infobox animal"));
    assert_null(lookup(ql, "infobox animal"));
    const query *fox = lookup(ql, "Fox");
    assert_non_null(fox); /* the word, not the redirect's title */
    assert_int_equal(fox->sources, QSRC_WIKI_WORD);
    query_list_free(ql);
}

typedef struct thr_case {
    uint64_t min_count, bigram_min_count;
    double min_pmi;
    uint64_t words_passing, words_added, bigrams_passing, bigrams_added;
} thr_case;

static void test_thresholds(void **state)
{
    (void)state;
    /* from the Python reference: passing = over the thresholds, added = new to the list (the
     * titles "zürich", "snow", "red fox", "arctic fox" are there first) */
    static const thr_case cases[] = {
        {1, 1, -1e300, 88, 86, 118, 116},
        /* min_count alone */
        {4, 1, -1e300, 8, 8, 118, 116},
        {21, 1, -1e300, 1, 1, 118, 116},
        /* bigram_min_count alone */
        {1, 2, -1e300, 88, 86, 16, 14},
        {1, 9, -1e300, 88, 86, 2, 1},
        /* min_pmi alone */
        {1, 1, 3.5, 88, 86, 51, 51},
        {1, 1, 5.0, 88, 86, 25, 25},
        {1, 1, 5.3, 88, 86, 0, 0},
        /* together */
        {5, 3, 0.5, 7, 7, 6, 4},
        {3, 2, 2.0, 14, 13, 11, 10},
        {12, 4, 1.0, 2, 2, 4, 2},
        {2, 2, 3.0, 23, 22, 5, 5},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const thr_case *c = &cases[i];
        wiki_opts o;
        wiki_opts_default(&o);
        o.min_count = c->min_count;
        o.bigram_min_count = c->bigram_min_count;
        o.min_pmi = c->min_pmi;
        query_list *ql;
        wiki_stats st;
        assert_int_equal(build(FIXTURE, &o, &ql, &st), CC_OK);
        uint64_t words = 0, bigrams = 0;
        for (uint64_t id = 0; id < query_list_count(ql); id++) {
            const query *q = query_list_get(ql, id);
            words += (q->sources & QSRC_WIKI_WORD) != 0;
            bigrams += (q->sources & QSRC_WIKI_BIGRAM) != 0;
            if (q->sources & QSRC_WIKI_WORD)
                assert_true(q->count >= c->min_count);
            if (q->sources & QSRC_WIKI_BIGRAM)
                assert_true(q->count >= c->bigram_min_count && q->pmi >= c->min_pmi);
        }
        if (words != c->words_passing || bigrams != c->bigrams_passing ||
            st.words_added != c->words_added || st.bigrams_added != c->bigrams_added)
            fail_msg("case %zu: words %llu/%llu added %llu/%llu, bigrams %llu/%llu added "
                     "%llu/%llu",
                     i, (unsigned long long)words, (unsigned long long)c->words_passing,
                     (unsigned long long)st.words_added, (unsigned long long)c->words_added,
                     (unsigned long long)bigrams, (unsigned long long)c->bigrams_passing,
                     (unsigned long long)st.bigrams_added, (unsigned long long)c->bigrams_added);
        assert_int_equal(st.titles_added, 4);
        assert_int_equal(query_list_count(ql), words + bigrams + 4 -
                                                   (c->words_passing - c->words_added) -
                                                   (c->bigrams_passing - c->bigrams_added));
        query_list_free(ql);
    }
    /* the defaults (CLIP's 100 / 30 / 5.0) keep nothing of this small text but the titles */
    query_list *ql;
    wiki_stats st;
    assert_int_equal(build(FIXTURE, NULL, &ql, &st), CC_OK);
    assert_int_equal(st.words_added + st.bigrams_added, 0);
    assert_int_equal(query_list_count(ql), 4);
    query_list_free(ql);
}

static void test_compressed_copies(void **state)
{
    (void)state;
    wiki_opts o;
    opts_all(&o);
    query_list *ref;
    wiki_stats ref_st;
    assert_int_equal(build(FIXTURE, &o, &ref, &ref_st), CC_OK);
    static const struct {
        const char *name;
        char kind;
        zread_kind zk;
        int multi;
    } copies[] = {
        {"small.xml.bz2", 'b', ZREAD_BZIP2, 0}, {"small.xml.gz", 'g', ZREAD_GZIP, 0},
        {"small.xml.zst", 'z', ZREAD_ZSTD, 0},  {"multi.xml.bz2", 'b', ZREAD_BZIP2, 1},
        {"multi.xml.gz", 'g', ZREAD_GZIP, 1},   {"multi.xml.zst", 'z', ZREAD_ZSTD, 1},
    };
    for (size_t i = 0; i < sizeof copies / sizeof copies[0]; i++) {
        char path[256];
        /* multi: cut inside an element, as Wikimedia's multistream dumps cut between pages */
        write_compressed(copies[i].name, copies[i].kind, copies[i].multi ? fixture_len / 3 : 0,
                         path, sizeof path);
        zread *z;
        assert_int_equal(zread_open(path, &z), CC_OK);
        assert_int_equal(zread_get_kind(z), copies[i].zk);
        zread_close(z);
        query_list *ql;
        wiki_stats st;
        cc_status s = build(path, &o, &ql, &st);
        if (s != CC_OK)
            fail_msg("%s: %s", copies[i].name, cc_errmsg());
        assert_stats_equal(&st, &ref_st);
        assert_lists_equal(ql, ref);
        query_list_free(ql);
    }
    query_list_free(ref);
}

static void test_zread_plain_roundtrip(void **state)
{
    (void)state;
    char path[256];
    write_compressed("rt.bz2", 'b', fixture_len / 2, path, sizeof path);
    zread *z;
    assert_int_equal(zread_open(path, &z), CC_OK);
    uint8_t *got = malloc(fixture_len + 16);
    assert_non_null(got);
    size_t total = 0, n;
    do {
        /* odd small reads, as libxml2 makes */
        assert_int_equal(zread_read(z, got + total,
                                    7 + total % 13 < fixture_len + 16 - total
                                        ? 7 + total % 13
                                        : fixture_len + 16 - total,
                                    &n),
                         CC_OK);
        total += n;
    } while (n > 0 && total < fixture_len + 16);
    assert_int_equal(total, fixture_len);
    assert_memory_equal(got, fixture, fixture_len);
    assert_true(zread_file_offset(z) > 0);
    zread_close(z);
    free(got);
}

static void test_pageviews(void **state)
{
    (void)state;
    char pv[256], pvgz[256];
    tmp_path(pv, sizeof pv, "pageviews");
    /* a line over the 4096-byte bound is skipped whole (it would give Snow 100000 views) */
    cc_buf text;
    cc_buf_init(&text, 1u << 16);
    const char *head = "en.wikipedia Red_fox 500 0\n"
                       "en Arctic_fox 40 0\n"
                       "en.m Z\u00fcrich 9999 0\n"
                       "de.wikipedia Snow 1000 0\n"
                       "en.wikipedia Z\u00fcrich 120 0\n"
                       "en.wikipedia Snow 3 0\n"
                       "en.wikipedia Arctic_fox 20 0\n"
                       "en.wikipedia Fox 7000 0\n"
                       "garbage line\n"
                       "en.wikipedia Bad_views abc 0\n"
                       "en.wikipedia Snow 100000 ";
    assert_int_equal(cc_buf_append(&text, head, strlen(head)), CC_OK);
    for (int i = 0; i < 5000; i++)
        assert_int_equal(cc_buf_append(&text, "x", 1), CC_OK);
    assert_int_equal(cc_buf_append(&text, "\nen.wikipedia Nope 1", 20), CC_OK);
    write_file(pv, text.data, text.len);
    /* the same file gzip-compressed reads the same */
    uint8_t *gz;
    size_t gzn = compress_buf('g', text.data, text.len, &gz);
    tmp_path(pvgz, sizeof pvgz, "pageviews.gz");
    write_file(pvgz, gz, gzn);
    free(gz);
    cc_buf_free(&text);

    const char *files[] = {pv, pvgz};
    for (int f = 0; f < 2; f++) {
        wiki_opts o;
        opts_all(&o);
        o.pageviews = files[f];
        o.min_views = 50;
        query_list *ql;
        wiki_stats st;
        assert_int_equal(build(FIXTURE, &o, &ql, &st), CC_OK);
        assert_int_equal(st.titles_added, 3);
        /* a title's count is its views; merged with the bigram's count by max */
        assert_int_equal(count_of(ql, "Red fox"), 500);
        assert_int_equal(count_of(ql, "Arctic fox"), 60); /* 40 + 20, two project spellings */
        assert_int_equal(count_of(ql, "Zürich"), 120);
        const query *snow = lookup(ql, "Snow");
        assert_non_null(snow); /* the word, 1 occurrence; not the title (3 views < 50) */
        assert_int_equal(snow->sources, QSRC_WIKI_WORD);
        assert_int_equal(snow->count, 1);
        query_list_free(ql);
    }
    /* min_views 0 keeps every title; one absent from the file counts 0 */
    wiki_opts o;
    wiki_opts_default(&o);
    o.pageviews = pv;
    query_list *ql;
    wiki_stats st;
    assert_int_equal(build(FIXTURE, &o, &ql, &st), CC_OK);
    assert_int_equal(st.titles_added, 4);
    assert_int_equal(count_of(ql, "Snow"), 3);
    query_list_free(ql);
    /* a missing pageviews file */
    char missing[256];
    tmp_path(missing, sizeof missing, "no-such-pageviews");
    o.pageviews = missing;
    assert_int_equal(build(FIXTURE, &o, &ql, &st), CC_E_NOTFOUND);
    query_list_free(ql);
}

static void test_limits_of_pages(void **state)
{
    (void)state;
    wiki_opts o;
    opts_all(&o);
    o.max_pages = 1;
    query_list *ql;
    wiki_stats st;
    assert_int_equal(build(FIXTURE, &o, &ql, &st), CC_OK);
    assert_int_equal(st.pages, 1);
    assert_int_equal(st.articles, 1);
    assert_int_equal(st.titles_added, 1);
    assert_int_equal(count_of(ql, "arctic"), 0);
    query_list_free(ql);
    /* texts over max_page_bytes are cut: Red fox (1033 bytes) and Arctic fox (555), not Zürich
     * (133); the counts shrink */
    opts_all(&o);
    o.max_page_bytes = 200;
    assert_int_equal(build(FIXTURE, &o, &ql, &st), CC_OK);
    assert_int_equal(st.cut_pages, 2);
    assert_int_equal(st.articles, 4);
    assert_true(st.words > 0 && st.words < 183);
    assert_int_equal(count_of(ql, "zürich"), 3);
    query_list_free(ql);
}

/* A generated export with many distinct bigrams, counted exactly and at the minimum memory. */
static void write_synthetic(const char *path, int pages)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fprintf(f, "<mediawiki xmlns=\"http://www.mediawiki.org/xml/export-0.10/\" "
               "version=\"0.10\" xml:lang=\"en\">\n");
    uint64_t x = 0x9E3779B97F4A7C15ull;
    for (int p = 0; p < pages; p++) {
        fprintf(f,
                "<page><title>Synthetic page %d</title><ns>0</ns><id>%d</id><revision>"
                "<text xml:space=\"preserve\">",
                p, p + 1);
        for (int s = 0; s < 60; s++) {
            for (int w = 0; w < 8; w++) {
                x ^= x << 13, x ^= x >> 7, x ^= x << 17;
                double u = (double)(x >> 11) / 9007199254740992.0;
                unsigned v = (unsigned)(700 * u * u); /* skewed vocabulary of 700 words */
                fprintf(f, "%sw%c%c%c", w ? " " : "", 'a' + v % 26, 'a' + v / 26 % 26,
                        'a' + v / 676);
            }
            fputs(s % 10 == 9 ? ".\n\n" : ". ", f);
        }
        fputs("</text></revision></page>\n", f);
    }
    fputs("</mediawiki>\n", f);
    assert_int_equal(fclose(f), 0);
}

static void test_pruning(void **state)
{
    (void)state;
    char path[256];
    tmp_path(path, sizeof path, "synthetic.xml");
    write_synthetic(path, 60);
    wiki_opts o;
    opts_all(&o);
    o.max_memory = 64u << 20;
    query_list *exact, *lossy;
    wiki_stats se, sl;
    assert_int_equal(build(path, &o, &exact, &se), CC_OK);
    assert_int_equal(se.prune_floor, 0);
    assert_true(se.distinct_bigrams > 10000);
    o.max_memory = 128u << 10; /* the minimum */
    assert_int_equal(build(path, &o, &lossy, &sl), CC_OK);
    assert_true(sl.prune_floor > 0);
    assert_int_equal(sl.words, se.words); /* N is exact */
    assert_true(sl.distinct_bigrams < se.distinct_bigrams);
    uint64_t floor = sl.prune_floor;
    /* every kept count is within [truth - floor, truth]; every n-gram above the floor is kept */
    for (uint64_t i = 0; i < query_list_count(lossy); i++) {
        const query *q = query_list_get(lossy, i);
        const query *t = lookup(exact, q->text);
        assert_non_null(t);
        assert_true(q->count <= t->count);
        assert_true(t->count - q->count <= floor);
    }
    uint64_t above = 0;
    for (uint64_t i = 0; i < query_list_count(exact); i++) {
        const query *t = query_list_get(exact, i);
        if (t->count > floor && !(t->sources & QSRC_WIKI_TITLE)) {
            above++;
            assert_non_null(lookup(lossy, t->text));
        }
    }
    assert_true(above > 0);
    query_list_free(exact);
    query_list_free(lossy);
}

/* ---- errors -------------------------------------------------------------------------------- */

static void expect_error(const char *path, cc_status want, const char *in_msg)
{
    wiki_opts o;
    opts_all(&o);
    query_list *ql;
    wiki_stats st;
    cc_status s = build(path, &o, &ql, &st);
    if (s != want)
        fail_msg("%s: status %d (%s), want %d", path, s, cc_errmsg(), want);
    if (in_msg != NULL && strstr(cc_errmsg(), in_msg) == NULL)
        fail_msg("%s: message \"%s\" lacks \"%s\"", path, cc_errmsg(), in_msg);
    query_list_free(ql);
}

static void test_errors(void **state)
{
    (void)state;
    char path[256];
    tmp_path(path, sizeof path, "html.xml");
    const char *html = "<?xml version=\"1.0\"?>\n<html><body><page><title>x</title></page>"
                       "</body></html>\n";
    write_file(path, html, strlen(html));
    expect_error(path, CC_E_FORMAT, "not a MediaWiki export (root element is <html>)");

    tmp_path(path, sizeof path, "notxml.txt");
    write_file(path, "just some text\n", 15);
    expect_error(path, CC_E_FORMAT, "not well-formed XML");

    tmp_path(path, sizeof path, "empty.xml");
    write_file(path, "", 0);
    expect_error(path, CC_E_FORMAT, NULL);

    tmp_path(path, sizeof path, "truncated.xml");
    write_file(path, fixture, fixture_len * 6 / 10);
    expect_error(path, CC_E_FORMAT, "not well-formed XML");

    tmp_path(path, sizeof path, "no-such-dump.xml.bz2");
    expect_error(path, CC_E_NOTFOUND, "no such file");
    expect_error(tmpdir, CC_E_IO, "is a directory");

    /* truncated compressed copies: the decompressor's error, not the XML parser's */
    static const struct {
        const char *name;
        char kind;
        const char *msg;
    } trunc[] = {{"cut.bz2", 'b', "truncated bzip2"},
                 {"cut.gz", 'g', "truncated gzip"},
                 {"cut.zst", 'z', "truncated zstd"}};
    for (size_t i = 0; i < 3; i++) {
        uint8_t *c;
        size_t n = compress_buf(trunc[i].kind, fixture, fixture_len, &c);
        tmp_path(path, sizeof path, trunc[i].name);
        write_file(path, c, n - n / 3);
        expect_error(path, CC_E_COMPRESS, trunc[i].msg);
        /* damaged in the middle: bzip2 and gzip carry CRCs */
        if (trunc[i].kind != 'z') {
            for (size_t k = n / 2; k < n / 2 + 8; k++)
                c[k] ^= 0x5a;
            write_file(path, c, n);
            expect_error(path, CC_E_COMPRESS, "damaged");
        }
        free(c);
    }

    /* options */
    wiki_opts o;
    opts_all(&o);
    query_list *ql;
    assert_int_equal(query_list_new(16, &ql), CC_OK);
    o.max_memory = 1000;
    assert_int_equal(wiki_build(FIXTURE, &o, ql, NULL), CC_E_INVAL);
    opts_all(&o);
    o.max_page_bytes = 0;
    assert_int_equal(wiki_build(FIXTURE, &o, ql, NULL), CC_E_INVAL);
    assert_int_equal(wiki_build(NULL, &o, ql, NULL), CC_E_INVAL);
    /* a full query list */
    opts_all(&o);
    assert_int_equal(wiki_build(FIXTURE, &o, ql, NULL), CC_E_LIMIT);
    query_list_free(ql);
}

/* A text node over libxml2's 10 MB limit (we never pass XML_PARSE_HUGE): "page too large". */
static void test_huge_page(void **state)
{
    (void)state;
    char path[256];
    tmp_path(path, sizeof path, "huge.xml");
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("<mediawiki><page><title>Small</title><ns>0</ns><revision><text>small page"
          "</text></revision></page><page><title>Huge</title><ns>0</ns><revision><text>",
          f);
    static char chunk[65536];
    for (size_t i = 0; i < sizeof chunk; i++)
        chunk[i] = i % 6 == 5 ? ' ' : 'w';
    for (int i = 0; i < 170; i++) /* 11.1 MB */
        assert_int_equal(fwrite(chunk, 1, sizeof chunk, f), sizeof chunk);
    fputs("</text></revision></page></mediawiki>\n", f);
    assert_int_equal(fclose(f), 0);
    expect_error(path, CC_E_LIMIT, "page too large");
}

static int setup(void **state)
{
    (void)state;
    snprintf(tmpdir, sizeof tmpdir, "/tmp/test_wiki.XXXXXX");
    if (mkdtemp(tmpdir) == NULL)
        return -1;
    FILE *f = fopen(FIXTURE, "rb");
    if (f == NULL) {
        fprintf(stderr, "test_wiki: cannot open %s (run from the repository root)\n", FIXTURE);
        return -1;
    }
    fixture = malloc(1u << 16);
    fixture_len = fread(fixture, 1, 1u << 16, f);
    fclose(f);
    return fixture_len > 0 && fixture_len < (1u << 16) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    if (tmpdir[0] != '\0' && system(cmd) != 0)
        return -1;
    free(fixture);
    return 0;
}

int main(void)
{
    /* clang-format off */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_strip_constructs),
        cmocka_unit_test(test_strip_unterminated),
        cmocka_unit_test(test_strip_linear),
        cmocka_unit_test(test_strip_buffer),
        cmocka_unit_test(test_ngram_exact),
        cmocka_unit_test(test_ngram_pruning),
        cmocka_unit_test(test_ngram_many_equals_plain),
        cmocka_unit_test(test_fixture_counts),
        cmocka_unit_test(test_thresholds),
        cmocka_unit_test(test_compressed_copies),
        cmocka_unit_test(test_zread_plain_roundtrip),
        cmocka_unit_test(test_pageviews),
        cmocka_unit_test(test_limits_of_pages),
        cmocka_unit_test(test_pruning),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_huge_page),
    };
    /* clang-format on */
    return cmocka_run_group_tests(tests, setup, teardown);
}
