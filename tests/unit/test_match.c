/* tests/unit/test_match.c — the query matcher: exact cases on a hand-made list (words, bigrams,
 * a title, a 16-word query, overlapping queries, case, punctuation, Unicode folding, prefixes,
 * repeats, the cap, the 4096-byte limit, cut words, captions matching more queries than the
 * matcher gathers at once), then random captions against a slow reference (qn_normalize, then
 * strstr of " query " in " caption " for every query): mixed UTF-8 captions (the plain
 * tokenizer), also from several threads at once, and ASCII captions of every length up to past
 * the limit (the 16-bytes-at-a-time tokenizer). Built with -U__SSE2__, the same tests cover the
 * plain tokenizer and sort alone.
 *
 * Captions are matched from exact-size heap copies, so that AddressSanitizer (make check)
 * catches any read past the n bytes given.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "query_lists/match.h"
#include "query_lists/normalize.h"
#include "query_lists/querylist.h"

#define MAX_IDS 4096

/* ---- helpers ------------------------------------------------------------------------------- */

static query_list *make_list(const char *const *texts, size_t n)
{
    query_list *ql = NULL;
    assert_int_equal(query_list_new(100000, &ql), CC_OK);
    for (size_t i = 0; i < n; i++) {
        int added = -1;
        assert_int_equal(
            query_list_add(ql, texts[i], strlen(texts[i]), QSRC_USER, 0, NAN, "", &added), CC_OK);
        assert_int_not_equal(added, 0);
    }
    query_list_finish(ql, 0);
    return ql;
}

static uint32_t id_of(const query_list *ql, const char *text)
{
    int64_t id = query_list_find(ql, text, strlen(text));
    assert_true(id >= 0);
    return (uint32_t)id;
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

/* qmatcher_find on an exact-size heap copy of the n bytes at caption. */
static size_t find_n(const qmatcher *m, const char *caption, size_t n, uint32_t *ids, size_t cap)
{
    char *copy = malloc(n ? n : 1);
    assert_non_null(copy);
    memcpy(copy, caption, n);
    size_t k = qmatcher_find(m, copy, n, ids, cap);
    free(copy);
    return k;
}

/* Asserts that caption matches exactly the queries named (NULL-terminated), each once,
 * ascending. */
static void expect(const qmatcher *m, const query_list *ql, const char *caption, ...)
{
    uint32_t want[64], got[64];
    size_t nw = 0;
    va_list ap;
    va_start(ap, caption);
    for (const char *q; (q = va_arg(ap, const char *)) != NULL;)
        want[nw++] = id_of(ql, q);
    va_end(ap);
    qsort(want, nw, sizeof *want, cmp_u32);
    size_t ng = find_n(m, caption, strlen(caption), got, 64);
    if (ng != nw)
        fail_msg("'%s': %zu matches, expected %zu", caption, ng, nw);
    for (size_t i = 0; i < nw; i++)
        if (got[i] != want[i])
            fail_msg("'%s': match %zu is id %u ('%s'), expected %u ('%s')", caption, i, got[i],
                     query_list_get(ql, got[i])->text, want[i], query_list_get(ql, want[i])->text);
}

/* ---- hand-made list ------------------------------------------------------------------------ */

static const char *const hand[] = {
    "cat",
    "dog",
    "hot dog",
    "new york",
    "New York City",
    "york",
    "The Lord of the Rings",
    "sunset",
    "a",
    "Ice Cream Sundae",
    "zebra",
    "café",
    "Αθήνα",
    "МОСКВА",
    "straße",
    "star",
    "istanbul",
    "one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen "
    "sixteen",
    "rock n roll",
    "t shirt",
    "42",
    "2 cats",
    "red fox",
};

typedef struct fixture {
    query_list *ql;
    qmatcher *m;
} fixture;

static int setup_hand(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    f->ql = make_list(hand, sizeof hand / sizeof hand[0]);
    assert_int_equal(qmatcher_build(f->ql, &f->m), CC_OK);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    qmatcher_free(f->m);
    query_list_free(f->ql);
    free(f);
    return 0;
}

static void test_words_and_ngrams(void **state)
{
    fixture *f = *state;
    const qmatcher *m = f->m;
    const query_list *ql = f->ql;
    expect(m, ql, "cat", "cat", NULL);
    expect(m, ql, "A cat and a dog", "a", "cat", "dog", NULL);
    expect(m, ql, "hot dog stand", "hot dog", "dog", NULL);
    expect(m, ql, "the lord of the rings", "the lord of the rings", NULL);
    expect(m, ql, "Poster: The Lord of the Rings (2001), extended", "the lord of the rings", NULL);
    expect(m, ql, "lord of the rings", NULL);
    expect(m, ql, "the lord of the ring", NULL);
    expect(m, ql, "2 cats, 42 dogs", "2 cats", "42", NULL);
    /* whole words only */
    expect(m, ql, "cats bulldog hotdog newyork yorkshire sunsets", NULL);
    expect(m, ql, "red  fox", "red fox", NULL);
    expect(m, ql, "red foxes", NULL);
    /* the longest query a list holds, QN_MAX_WORDS words */
    const char *q16 = "one two three four five six seven eight nine ten eleven twelve thirteen "
                      "fourteen fifteen sixteen";
    expect(m, ql,
           "One, two, three, four, five, six, seven, eight, nine, ten, eleven, twelve, "
           "thirteen, fourteen, fifteen, sixteen!",
           q16, NULL);
    expect(m, ql,
           "zero one two three four five six seven eight nine ten eleven twelve thirteen "
           "fourteen fifteen sixteen seventeen",
           q16, NULL);
    expect(m, ql,
           "one two three four five six seven eight nine ten eleven twelve thirteen "
           "fourteen fifteen",
           NULL);
}

static void test_overlapping(void **state)
{
    fixture *f = *state;
    const qmatcher *m = f->m;
    const query_list *ql = f->ql;
    expect(m, ql, "new york city", "new york", "new york city", "york", NULL);
    expect(m, ql, "New-York City!", "new york", "new york city", "york", NULL);
    expect(m, ql, "NEW YORK", "new york", "york", NULL);
    expect(m, ql, "new yorkers", NULL);
    expect(m, ql, "york city", "york", NULL);
    expect(m, ql, "new new york city city", "new york", "new york city", "york", NULL);
}

static void test_edges_and_repeats(void **state)
{
    fixture *f = *state;
    const qmatcher *m = f->m;
    const query_list *ql = f->ql;
    expect(m, ql, "sunset", "sunset", NULL);
    expect(m, ql, "cat on the beach at sunset", "cat", "sunset", NULL);
    expect(m, ql, "...sunset!!!", "sunset", NULL);
    expect(m, ql, "dog dog DOG, dog. hot dog; Dog", "dog", "hot dog", NULL);
    expect(m, ql, "", NULL);
    expect(m, ql, " \t-!?.,;:()[]", NULL);
    uint32_t ids[4] = {7, 7, 7, 7};
    assert_int_equal(find_n(m, "cat", 0, ids, 4), 0);
    assert_int_equal(ids[0], 7);
}

static void test_case_punctuation_unicode(void **state)
{
    fixture *f = *state;
    const qmatcher *m = f->m;
    const query_list *ql = f->ql;
    expect(m, ql, "CAFÉ de Paris", "café", NULL);
    expect(m, ql, "Café", "café", NULL);
    expect(m, ql, "cafe", NULL); /* no accent stripping */
    expect(m, ql, "ΑΘΉΝΑ by night", "αθήνα", NULL);
    expect(m, ql, "Москва 2020", "москва", NULL);
    expect(m, ql, "STRASSE", NULL);
    expect(m, ql, "Straße", "straße", NULL);
    expect(m, ql, "\xC5\xBFtar", "star", NULL); /* long s folds to s */
    expect(m, ql, "\xC4\xB0stanbul", "istanbul", NULL); /* dotted capital I */
    /* separators: apostrophes, General Punctuation, symbols, invalid bytes */
    expect(m, ql, "Rock'n'Roll!", "rock n roll", NULL);
    expect(m, ql, "rock\xE2\x80\x99n\xE2\x80\x99roll", "rock n roll", NULL);
    expect(m, ql, "T-Shirt", "t shirt", NULL);
    expect(m, ql,
           "cat\xFF"
           "dog",
           "cat", "dog", NULL);
    expect(m, ql,
           "cat\xC3"
           "dog",
           "cat", "dog", NULL); /* a truncated sequence */
    expect(m, ql,
           "cat\xC2\xA0"
           "dog",
           "cat", "dog", NULL); /* no-break space */
    expect(m, ql,
           "cat\xC3\x97"
           "dog",
           "cat", "dog", NULL); /* multiplication sign */
    expect(m, ql,
           "cat\xE3\x80\x82"
           "dog",
           "cat", "dog", NULL); /* ideographic full stop */
    expect(m, ql, "hot_dog", "hot dog", "dog", NULL); /* '_' is not a word character */
}

static void test_prefixes(void **state)
{
    fixture *f = *state;
    const qmatcher *m = f->m;
    const query_list *ql = f->ql;
    /* "ice cream sundae" is a query, its prefixes "ice" and "ice cream" are not */
    expect(m, ql, "ice", NULL);
    expect(m, ql, "ice cream", NULL);
    expect(m, ql, "ice cream sunday", NULL);
    expect(m, ql, "an ice cream sundae", "ice cream sundae", NULL);
    expect(m, ql, "ice ice cream sundae cream", "ice cream sundae", NULL);
    /* "zebra" is the prefix of no query */
    expect(m, ql, "zebra crossing", "zebra", NULL);
    expect(m, ql, "crossing zebra", "zebra", NULL);
}

static void test_cap(void **state)
{
    fixture *f = *state;
    const qmatcher *m = f->m;
    const query_list *ql = f->ql;
    const char *caption = "A cat and a hot dog in New York City at sunset";
    uint32_t all[16];
    size_t n = find_n(m, caption, strlen(caption), all, 16);
    assert_int_equal(n, 8); /* a cat hot dog dog new york new york city york sunset */
    for (size_t i = 1; i < n; i++)
        assert_true(all[i - 1] < all[i]);
    for (size_t cap = 0; cap < n; cap++) {
        uint32_t ids[16];
        for (size_t i = 0; i < 16; i++)
            ids[i] = 0xABCDEF;
        assert_int_equal(find_n(m, caption, strlen(caption), ids, cap), n);
        for (size_t i = 0; i < cap; i++)
            assert_int_equal(ids[i], all[i]); /* the smallest cap, ascending */
        for (size_t i = cap; i < 16; i++)
            assert_int_equal(ids[i], 0xABCDEF); /* nothing written past cap */
    }
    assert_int_equal(qmatcher_find(m, caption, strlen(caption), NULL, 0), n);
    (void)ql;
}

/* Only the first 4096 bytes count: a word crossing that edge is cut there. */
static void test_4096_limit(void **state)
{
    fixture *f = *state;
    const qmatcher *m = f->m;
    const query_list *ql = f->ql;
    char *c = malloc(8192);
    assert_non_null(c);
    uint32_t ids[8];

    /* "... sunset" ending exactly at byte 4096: matched */
    memset(c, '.', 8192);
    memcpy(c + 4096 - 6, "sunset", 6);
    assert_int_equal(find_n(m, c, 8192, ids, 8), 1);
    assert_int_equal(ids[0], id_of(ql, "sunset"));
    assert_int_equal(find_n(m, c, 4096, ids, 8), 1);
    /* one byte later, "sunse" is what remains */
    memset(c, '.', 8192);
    memcpy(c + 4096 - 5, "sunset", 6);
    assert_int_equal(find_n(m, c, 8192, ids, 8), 0);
    /* "cat" cut to "ca" at the edge while "cat" itself stands earlier */
    memset(c, '.', 8192);
    memcpy(c + 10, "cat", 3);
    memcpy(c + 4094, "cat", 3);
    assert_int_equal(find_n(m, c, 8192, ids, 8), 1);
    /* a query after the limit is not seen */
    memset(c, '.', 8192);
    memcpy(c + 5000, "zebra", 5);
    assert_int_equal(find_n(m, c, 8192, ids, 8), 0);
    assert_int_equal(find_n(m, c, 5005, ids, 8), 0);
    /* a two-byte letter across the edge is an invalid (truncated) sequence: it separates */
    memset(c, '.', 8192);
    memcpy(c + 4092, "caf\xC3\xA9", 5); /* é's second byte is byte 4096 */
    assert_int_equal(find_n(m, c, 8192, ids, 8), 0);
    memset(c, '.', 8192);
    memcpy(c + 4091, "caf\xC3\xA9", 5);
    assert_int_equal(find_n(m, c, 8192, ids, 8), 1);
    assert_int_equal(ids[0], id_of(ql, "café"));
    /* 2048 one-letter words: the most words a caption can have */
    for (size_t i = 0; i < 8192; i += 2)
        c[i] = 'a', c[i + 1] = ' ';
    assert_int_equal(find_n(m, c, 8192, ids, 8), 1);
    assert_int_equal(ids[0], id_of(ql, "a"));
    /* 4096 bytes of one word: cut to 255 bytes, matches nothing */
    memset(c, 'z', 8192);
    assert_int_equal(find_n(m, c, 8192, ids, 8), 0);
    free(c);
}

/* Words over QN_WORD_MAX - 1 bytes are cut by the same rule on both sides. */
static void test_long_words(void **state)
{
    (void)state;
    char word[400];
    memset(word, 'b', 254);
    memcpy(word + 254, "\xC3\xA9", 2); /* é does not fit after 254 bytes... */
    memset(word + 256, 'c', 100); /* ...the c's after it do, one of them */
    const char *texts[] = {word, "short"};
    word[356] = '\0';
    query_list *ql = make_list(texts, 2);
    qmatcher *m = NULL;
    assert_int_equal(qmatcher_build(ql, &m), CC_OK);
    uint32_t ids[4];
    char caption[512];
    int k = snprintf(caption, sizeof caption, "short %s!", word);
    assert_true(k > 0 && (size_t)k < sizeof caption);
    assert_int_equal(find_n(m, caption, (size_t)k, ids, 4), 2);
    /* the normalized form: 254 b's and one c, which is also what the query became */
    char cut[256];
    memset(cut, 'b', 254);
    cut[254] = 'c';
    assert_int_equal(find_n(m, cut, 255, ids, 4), 1);
    assert_int_equal(ids[0], id_of(ql, word));
    assert_int_equal(find_n(m, cut, 254, ids, 4), 0);
    qmatcher_free(m);
    query_list_free(ql);
}

static void test_empty_list_and_bytes(void **state)
{
    (void)state;
    query_list *ql = make_list(NULL, 0);
    qmatcher *m = NULL;
    assert_int_equal(qmatcher_build(ql, &m), CC_OK);
    uint32_t ids[2];
    assert_int_equal(find_n(m, "a cat", 5, ids, 2), 0);
    assert_true(qmatcher_bytes(m) < 1024);
    qmatcher_free(m);
    query_list_free(ql);
    qmatcher_free(NULL);

    /* 1000 two-word queries sharing 10 first words: 1010 entries, 16 bytes a slot, load 0.5 */
    ql = NULL;
    assert_int_equal(query_list_new(2000, &ql), CC_OK);
    for (int i = 0; i < 1000; i++) {
        char t[32];
        int k = snprintf(t, sizeof t, "w%d x%d", i % 10, i);
        assert_int_equal(query_list_add(ql, t, (size_t)k, QSRC_USER, 0, NAN, "", NULL), CC_OK);
    }
    query_list_finish(ql, 0);
    assert_int_equal(qmatcher_build(ql, &m), CC_OK);
    size_t bytes = qmatcher_bytes(m);
    assert_true(bytes >= 1010 * 32);
    assert_true(bytes <= 1010 * 32 + 1024);
    assert_int_equal(find_n(m, "w3 x13 w3 x14 w4 x14", 20, ids, 2), 2);
    assert_int_equal(ids[0], id_of(ql, "w3 x13"));
    assert_int_equal(ids[1], id_of(ql, "w4 x14"));
    qmatcher_free(m);
    query_list_free(ql);
}

/* ---- many matches in one caption ----------------------------------------------------------- */

/* 3000 queries "qN" and "qN qN+1"; a 4096-byte caption "q0 q1 q2 ..." matches about 1400 of
 * them, more than the matcher gathers at once, so that it scans in several passes. */
static void test_many_matches(void **state)
{
    (void)state;
    query_list *ql = NULL;
    assert_int_equal(query_list_new(4000, &ql), CC_OK);
    char t[32];
    for (int i = 0; i < 1500; i++) {
        int k = snprintf(t, sizeof t, "q%d", i);
        assert_int_equal(
            query_list_add(ql, t, (size_t)k, QSRC_USER, (uint64_t)(i * 7919 % 1500), NAN, "", NULL),
            CC_OK);
        k = snprintf(t, sizeof t, "q%d q%d", i, i + 1);
        assert_int_equal(query_list_add(ql, t, (size_t)k, QSRC_USER, (uint64_t)(i * 104729 % 1500),
                                        NAN, "", NULL),
                         CC_OK);
    }
    query_list_finish(ql, 0);
    qmatcher *m = NULL;
    assert_int_equal(qmatcher_build(ql, &m), CC_OK);

    char *c = malloc(8192);
    assert_non_null(c);
    size_t len = 0;
    int words = 0;
    for (int i = 0; len < 8000; i++) {
        int k = snprintf(c + len, 8192 - len, "Q%d, ", i);
        assert_true(k > 0);
        len += (size_t)k;
    }
    /* the words wholly inside the first 4096 bytes, and the expected ids */
    uint32_t *want = malloc(4000 * sizeof *want);
    assert_non_null(want);
    size_t nwant = 0, at = 0;
    for (int i = 0;; i++) {
        int k = snprintf(t, sizeof t, "Q%d", i);
        if (at + (size_t)k > 4096)
            break;
        words = i + 1;
        at += (size_t)k + 2;
    }
    for (int i = 0; i < words; i++) {
        snprintf(t, sizeof t, "q%d", i);
        want[nwant++] = id_of(ql, t);
        if (i + 1 < words) {
            snprintf(t, sizeof t, "q%d q%d", i, i + 1);
            want[nwant++] = id_of(ql, t);
        }
    }
    assert_true(nwant > 1024);
    qsort(want, nwant, sizeof *want, cmp_u32);

    uint32_t *got = malloc(4000 * sizeof *got);
    assert_non_null(got);
    assert_int_equal(find_n(m, c, len, got, 4000), nwant);
    assert_memory_equal(got, want, nwant * sizeof *got);
    assert_int_equal(find_n(m, c, len, got, 100), nwant);
    assert_memory_equal(got, want, 100 * sizeof *got);
    assert_int_equal(find_n(m, c, len, NULL, 0), nwant);
    free(got);
    free(want);
    free(c);
    qmatcher_free(m);
    query_list_free(ql);
}

/* ---- random captions against the reference ------------------------------------------------- */

static const char *const vocab[] = {
    "red",    "fox",   "new", "york",  "city", "the",    "of",     "a",    "in",     "on",
    "dog",    "cat",   "hot", "sun",   "set",  "sunset", "blue",   "sky",  "big",    "ben",
    "ice",    "cream", "t",   "shirt", "2",    "42",     "1999",   "café", "Straße", "Αθήνα",
    "москва", "rock",  "n",   "roll",  "art",  "wall",   "photo",  "of",   "and",    "with",
    "x",      "y",     "ÉTÉ", "été",   "ete",  "go",     "golden", "gate"};
#define NVOCAB (sizeof vocab / sizeof vocab[0])
static const char *const seps[] = {
    " ",  " ",  " ",       "  ", ", ",           "-",        ". ",   "! ",           "'",
    "\t", "\n", "/",       "_",  "\xE2\x80\x99", "\xC2\xA0", "\xFF", "\xE2\x80\x94", " (",
    ") ", "#",  "\xC3\x97"};
#define NSEPS (sizeof seps / sizeof seps[0])

static uint64_t rng_state = 0x9E3779B97F4A7C15u;
static uint32_t rnd(uint32_t n)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (uint32_t)((rng_state >> 11) % n);
}

/* A word of the vocabulary, ASCII letters upper-cased at random. */
static size_t put_word(char *out, size_t room)
{
    const char *w = vocab[rnd(NVOCAB)];
    size_t n = strlen(w);
    if (n > room)
        return 0;
    int mode = (int)rnd(4);
    for (size_t i = 0; i < n; i++) {
        char ch = w[i];
        if (ch >= 'a' && ch <= 'z' && (mode == 1 || (mode == 2 && i == 0) || (mode == 3 && rnd(2))))
            ch = (char)(ch - 'a' + 'A');
        out[i] = ch;
    }
    return n;
}

typedef struct random_case {
    query_list *ql;
    qmatcher *m;
    size_t ncap;
    char **caps;
    size_t *caplen;
    uint32_t **want; /* want[i][0] = count, then the ids */
} random_case;

#define NQUERIES 2000
#define NCAPTIONS 5000

static void build_random_case(random_case *rc)
{
    assert_int_equal(query_list_new(NQUERIES * 2, &rc->ql), CC_OK);
    size_t added = 0;
    while (added < NQUERIES) {
        char q[256];
        size_t len = 0;
        uint32_t r = rnd(10), nw = r < 1 ? 1 : r < 5 ? 2 : r < 8 ? 3 : 4 + rnd(2);
        for (uint32_t i = 0; i < nw; i++) {
            if (i)
                q[len++] = ' ';
            len += put_word(q + len, sizeof q - len);
        }
        int a = 0;
        assert_int_equal(query_list_add(rc->ql, q, len, QSRC_USER, rnd(1000), NAN, "", &a), CC_OK);
        added += a == 1;
    }
    query_list_finish(rc->ql, 0);
    assert_int_equal(query_list_count(rc->ql), NQUERIES);
    assert_int_equal(qmatcher_build(rc->ql, &rc->m), CC_OK);

    /* " query " for each query, for the reference */
    char **pat = malloc(NQUERIES * sizeof *pat);
    assert_non_null(pat);
    for (size_t i = 0; i < NQUERIES; i++) {
        const char *t = query_list_get(rc->ql, i)->text;
        size_t n = strlen(t);
        pat[i] = malloc(n + 3);
        assert_non_null(pat[i]);
        pat[i][0] = ' ';
        memcpy(pat[i] + 1, t, n);
        pat[i][n + 1] = ' ';
        pat[i][n + 2] = '\0';
    }

    rc->ncap = NCAPTIONS;
    rc->caps = malloc(NCAPTIONS * sizeof *rc->caps);
    rc->caplen = malloc(NCAPTIONS * sizeof *rc->caplen);
    rc->want = malloc(NCAPTIONS * sizeof *rc->want);
    assert_true(rc->caps && rc->caplen && rc->want);
    cc_buf norm;
    cc_buf_init(&norm, 1 << 16);
    char *spaced = malloc(1 << 16);
    assert_non_null(spaced);
    uint32_t ids[NQUERIES];
    size_t total = 0;
    for (size_t c = 0; c < NCAPTIONS; c++) {
        char buf[1024];
        size_t len = 0;
        if (rnd(2))
            len += (size_t)snprintf(buf, sizeof buf, "%s", seps[rnd(NSEPS)]);
        uint32_t nw = 1 + rnd(25);
        for (uint32_t i = 0; i < nw; i++) {
            if (i) {
                const char *s = seps[rnd(NSEPS)];
                memcpy(buf + len, s, strlen(s));
                len += strlen(s);
            }
            len += put_word(buf + len, sizeof buf - len);
        }
        if (rnd(2))
            buf[len++] = rnd(2) ? '.' : '!';
        rc->caps[c] = malloc(len ? len : 1);
        assert_non_null(rc->caps[c]);
        memcpy(rc->caps[c], buf, len);
        rc->caplen[c] = len;

        /* the reference: whole-word containment in the normalized caption */
        assert_int_equal(qn_normalize(buf, len, &norm, NULL), CC_OK);
        spaced[0] = ' ';
        memcpy(spaced + 1, norm.data, norm.len);
        spaced[norm.len + 1] = ' ';
        spaced[norm.len + 2] = '\0';
        size_t k = 0;
        for (uint32_t q = 0; q < NQUERIES; q++)
            if (strstr(spaced, pat[q]))
                ids[k++] = q;
        rc->want[c] = malloc((k + 1) * sizeof *rc->want[c]);
        assert_non_null(rc->want[c]);
        rc->want[c][0] = (uint32_t)k;
        memcpy(rc->want[c] + 1, ids, k * sizeof *ids);
        total += k;
    }
    /* the case means something: many captions match several queries */
    assert_true(total > 3 * NCAPTIONS);
    free(spaced);
    cc_buf_free(&norm);
    for (size_t i = 0; i < NQUERIES; i++)
        free(pat[i]);
    free(pat);
}

static void free_random_case(random_case *rc)
{
    for (size_t c = 0; c < rc->ncap; c++) {
        free(rc->caps[c]);
        free(rc->want[c]);
    }
    free(rc->caps);
    free(rc->caplen);
    free(rc->want);
    qmatcher_free(rc->m);
    query_list_free(rc->ql);
}

/* Number of captions whose matches differ from the reference (the first is reported). */
static size_t check_captions(const random_case *rc, size_t from, size_t step)
{
    size_t bad = 0;
    uint32_t got[NQUERIES];
    for (size_t c = from; c < rc->ncap; c += step) {
        size_t n = qmatcher_find(rc->m, rc->caps[c], rc->caplen[c], got, NQUERIES);
        const uint32_t *want = rc->want[c];
        if (n != want[0] || memcmp(got, want + 1, n * sizeof *got) != 0) {
            if (bad++ == 0)
                print_error("caption %zu '%.*s': %zu matches, reference %u\n", c,
                            (int)rc->caplen[c], rc->caps[c], n, want[0]);
        }
    }
    return bad;
}

typedef struct thread_arg {
    const random_case *rc;
    size_t from, step, bad;
} thread_arg;

static void *thread_main(void *p)
{
    thread_arg *a = p;
    for (int rep = 0; rep < 3; rep++)
        a->bad += check_captions(a->rc, a->from, a->step);
    return NULL;
}

/* Then one matcher shared by 4 threads, each on its own captions, interleaved. */
static void test_random_against_reference(void **state)
{
    (void)state;
    random_case rc;
    build_random_case(&rc);
    assert_int_equal(check_captions(&rc, 0, 1), 0);
    pthread_t th[4];
    thread_arg args[4];
    for (size_t i = 0; i < 4; i++) {
        args[i] = (thread_arg){&rc, i, 4, 0};
        assert_int_equal(pthread_create(&th[i], NULL, thread_main, &args[i]), 0);
    }
    for (size_t i = 0; i < 4; i++) {
        assert_int_equal(pthread_join(th[i], NULL), 0);
        assert_int_equal(args[i].bad, 0);
    }
    free_random_case(&rc);
}

/* ASCII captions (the matcher's fast path) of every length up to past the 4096-byte limit: words
 * of a small vocabulary in any case, runs of letters up to 300 long, separators including NUL,
 * tab, '_' and apostrophes, against the same reference. */
static void test_random_ascii(void **state)
{
    (void)state;
    static const char *const words[] = {"a",  "b",   "ab",   "ba",   "x1", "the",
                                        "of", "new", "york", "aaaa", "0",  "42"};
    const size_t nwords = sizeof words / sizeof words[0];
    static const char seps[] = " ,.-!\t\n_'/()\0";
    query_list *ql = NULL;
    assert_int_equal(query_list_new(10000, &ql), CC_OK);
    while (query_list_count(ql) < 600) {
        char q[64];
        size_t len = 0;
        for (uint32_t i = 0, nw = 1 + rnd(3); i < nw; i++)
            len += (size_t)snprintf(q + len, sizeof q - len, "%s%s", i ? " " : "",
                                    words[rnd((uint32_t)nwords)]);
        assert_int_equal(query_list_add(ql, q, len, QSRC_USER, rnd(100), NAN, "", NULL), CC_OK);
    }
    /* runs of 255 a's or more all become this query (words are cut at 255 bytes) */
    char run[300];
    memset(run, 'a', sizeof run);
    assert_int_equal(query_list_add(ql, run, sizeof run, QSRC_USER, 0, NAN, "", NULL), CC_OK);
    query_list_finish(ql, 0);
    size_t nq = (size_t)query_list_count(ql);
    qmatcher *m = NULL;
    assert_int_equal(qmatcher_build(ql, &m), CC_OK);

    char *cap = malloc(6000), *spaced = malloc(6000), *pat = malloc(300);
    uint32_t *got = malloc(nq * sizeof *got), *want = malloc(nq * sizeof *want);
    assert_true(cap && spaced && pat && got && want);
    cc_buf norm;
    cc_buf_init(&norm, 1 << 16);
    size_t total = 0, long_ones = 0, runs = 0;
    int64_t run_id = query_list_find(ql, run, sizeof run);
    assert_true(run_id >= 0);
    for (int c = 0; c < 3000; c++) {
        size_t target = rnd(20) == 0 ? 3000 + rnd(2500) : rnd(300), len = 0;
        while (len < target) {
            uint32_t r = rnd(10);
            if (r < 7) {
                const char *w = words[rnd((uint32_t)nwords)];
                for (size_t i = 0; w[i] && len < 5900; i++)
                    cap[len++] = (char)(rnd(3) == 0 && w[i] >= 'a' ? w[i] - 32 : w[i]);
            } else {
                size_t rl = r == 7 ? 240 + rnd(30) : 1 + rnd(20);
                for (size_t i = 0; i < rl && len < 5900; i++)
                    cap[len++] = (char)('a' + rnd(r == 7 ? 1 : 26));
            }
            for (uint32_t i = 0, ns = 1 + rnd(2); i < ns && len < 5900; i++)
                cap[len++] = seps[rnd(sizeof seps - 1)];
        }
        if (rnd(2) && len > 0)
            len--; /* end inside a word half the time */
        long_ones += len > 4096;
        assert_int_equal(qn_normalize(cap, len < 4096 ? len : 4096, &norm, NULL), CC_OK);
        spaced[0] = ' ';
        memcpy(spaced + 1, norm.data, norm.len);
        memcpy(spaced + 1 + norm.len, " ", 2);
        size_t k = 0;
        for (size_t q = 0; q < nq; q++) {
            int pl = snprintf(pat, 300, " %s ", query_list_get(ql, q)->text);
            assert_true(pl > 0 && pl < 300);
            if (strstr(spaced, pat))
                want[k++] = (uint32_t)q;
        }
        for (size_t i = 0; i < k; i++)
            runs += want[i] == (uint32_t)run_id;
        size_t n = find_n(m, cap, len, got, nq);
        if (n != k || memcmp(got, want, k * sizeof *got) != 0)
            fail_msg("ASCII caption %d (%zu bytes): %zu matches, reference %zu", c, len, n, k);
        total += k;
    }
    assert_true(total > 10000);
    assert_true(long_ones > 50);
    assert_true(runs > 20);
    cc_buf_free(&norm);
    free(cap);
    free(spaced);
    free(pat);
    free(got);
    free(want);
    qmatcher_free(m);
    query_list_free(ql);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_words_and_ngrams, setup_hand, teardown),
        cmocka_unit_test_setup_teardown(test_overlapping, setup_hand, teardown),
        cmocka_unit_test_setup_teardown(test_edges_and_repeats, setup_hand, teardown),
        cmocka_unit_test_setup_teardown(test_case_punctuation_unicode, setup_hand, teardown),
        cmocka_unit_test_setup_teardown(test_prefixes, setup_hand, teardown),
        cmocka_unit_test_setup_teardown(test_cap, setup_hand, teardown),
        cmocka_unit_test_setup_teardown(test_4096_limit, setup_hand, teardown),
        cmocka_unit_test(test_long_words),
        cmocka_unit_test(test_empty_list_and_bytes),
        cmocka_unit_test(test_many_matches),
        cmocka_unit_test(test_random_against_reference),
        cmocka_unit_test(test_random_ascii),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
