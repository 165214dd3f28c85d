/* tests/unit/test_querylist.c — the query list (query_lists/querylist.h): adding and merging
 * (sources, count, PMI, provenance with its cap), the skip rules, the maximum, ranking with ties,
 * truncation, find before and after finish, growth to many queries, queries.tsv round trips and
 * every load error.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ftw.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/status.h"
#include "common/utf8.h"
#include "query_lists/querylist.h"

static query_list *new_list(uint64_t max)
{
    query_list *ql = NULL;
    assert_int_equal(query_list_new(max, &ql), CC_OK);
    assert_non_null(ql);
    return ql;
}

/* Adds text (strlen) and returns *added; the call must succeed. */
static int add(query_list *ql, const char *text, uint32_t src, uint64_t count, double pmi,
               const char *prov)
{
    int added = -1;
    cc_status st = query_list_add(ql, text, strlen(text), src, count, pmi, prov, &added);
    if (st != CC_OK)
        fail_msg("add('%s'): %s: %s", text, cc_status_str(st), cc_errmsg());
    return added;
}

static int64_t find(const query_list *ql, const char *text)
{
    return query_list_find(ql, text, strlen(text));
}

static void test_source_names(void **state)
{
    (void)state;
    assert_string_equal(query_source_name(QSRC_WORDNET), "wordnet");
    assert_string_equal(query_source_name(QSRC_WIKI_WORD), "wiki_word");
    assert_string_equal(query_source_name(QSRC_WIKI_BIGRAM), "wiki_bigram");
    assert_string_equal(query_source_name(QSRC_WIKI_TITLE), "wiki_title");
    assert_string_equal(query_source_name(QSRC_USER), "user");
    assert_null(query_source_name(0));
    assert_null(query_source_name(QSRC_WORDNET | QSRC_USER));
    assert_null(query_source_name(1u << QSRC_COUNT));
}

static void test_add_merge(void **state)
{
    (void)state;
    query_list *ql = new_list(100);
    assert_int_equal(add(ql, "Hot Dog!", QSRC_WORDNET, 0, NAN, "n07676602"), 1);
    assert_int_equal(add(ql, "hot-dog", QSRC_WIKI_WORD, 50, NAN, NULL), 2);
    assert_int_equal(add(ql, "HOT  DOG", QSRC_WIKI_BIGRAM, 30, 7.25, ""), 2);
    assert_int_equal(add(ql, "hot dog", QSRC_WIKI_TITLE, 10, 3.0, "n07697537"), 2);
    assert_int_equal(add(ql, "dog", QSRC_WORDNET, 0, NAN, "n02084071"), 1);
    assert_int_equal(query_list_count(ql), 2);

    const query *q = query_list_get(ql, 0);
    assert_non_null(q);
    assert_string_equal(q->text, "hot dog");
    assert_int_equal(q->sources, QSRC_WORDNET | QSRC_WIKI_WORD | QSRC_WIKI_BIGRAM |
                                     QSRC_WIKI_TITLE); /* OR-ed */
    assert_int_equal(q->count, 50); /* the largest */
    assert_true(q->pmi == 7.25); /* the first one set is kept */
    assert_string_equal(q->provenance, "n07676602,n07697537");

    /* A repeated id is not appended again; a list is split at commas, empty ids and "-" are
     * ignored. */
    assert_int_equal(add(ql, "hot dog", QSRC_WORDNET, 5, 1.0, "n07676602"), 2);
    assert_int_equal(add(ql, "hot dog", QSRC_WORDNET, 0, NAN, "n07697537,x1,,-,x1,"), 2);
    assert_string_equal(q->provenance, "n07676602,n07697537,x1");
    assert_int_equal(q->count, 50);
    assert_true(q->pmi == 7.25);

    const query *d = query_list_get(ql, 1);
    assert_string_equal(d->text, "dog");
    assert_true(isnan(d->pmi));
    assert_int_equal(d->count, 0);
    assert_null(query_list_get(ql, 2));
    /* a query without provenance has "" */
    assert_int_equal(add(ql, "cat", QSRC_USER, 0, NAN, NULL), 1);
    assert_string_equal(query_list_get(ql, 2)->provenance, "");
    /* PMI set later on a query without one */
    assert_int_equal(add(ql, "cat", QSRC_WIKI_BIGRAM, 0, 9.5, NULL), 2);
    assert_true(query_list_get(ql, 2)->pmi == 9.5);
    query_list_free(ql);
    query_list_free(NULL);
}

static char *repeat(const char *unit, size_t reps)
{
    size_t ul = strlen(unit);
    char *s = malloc(ul * reps + 1);
    assert_non_null(s);
    for (size_t i = 0; i < reps; i++)
        memcpy(s + i * ul, unit, ul);
    s[ul * reps] = '\0';
    return s;
}

static void test_provenance_cap(void **state)
{
    (void)state;
    query_list *ql = new_list(100);
    /* 9-byte ids: 20 of them with their commas take 199 bytes; the 21st does not fit. */
    char id[16];
    for (int i = 0; i < 30; i++) {
        snprintf(id, sizeof id, "n%08d", i);
        assert_int_equal(add(ql, "dog", QSRC_WORDNET, 0, NAN, id), i ? 2 : 1);
    }
    const query *q = query_list_get(ql, 0);
    assert_int_equal(strlen(q->provenance), 199);
    assert_non_null(strstr(q->provenance, "n00000019"));
    assert_null(strstr(q->provenance, "n00000020"));
    assert_int_equal(strncmp(q->provenance, "n00000000,n00000001,", 20), 0);
    /* ids are kept whole: a 1-byte id needs 2 more bytes, 201 > 200 */
    assert_int_equal(add(ql, "dog", QSRC_WORDNET, 0, NAN, "z"), 2);
    assert_int_equal(strlen(q->provenance), 199);

    /* Exactly 200 bytes are kept: 150 + ',' + 49. A 60-byte id does not fit and is dropped. */
    char *a150 = repeat("a", 150), *b60 = repeat("b", 60), *c49 = repeat("c", 49);
    add(ql, "cat", QSRC_USER, 0, NAN, a150);
    add(ql, "cat", QSRC_USER, 0, NAN, b60);
    add(ql, "cat", QSRC_USER, 0, NAN, c49);
    q = query_list_get(ql, 1);
    assert_int_equal(strlen(q->provenance), 200);
    assert_memory_equal(q->provenance, a150, 150);
    assert_int_equal(q->provenance[150], ',');
    assert_string_equal(q->provenance + 151, c49);
    free(a150);
    free(b60);
    free(c49);

    /* One id longer than 200 bytes is cut on a character boundary. */
    static const struct {
        const char *prefix, *unit;
        size_t want;
    } cuts[] = {
        {"", "\xc3\xa9", 200}, /* é x 150: 100 whole characters */
        {"x", "\xc3\xa9", 199}, /* 1 + 99 * 2: the 100th would split */
        {"", "東", 198}, /* 66 * 3 */
        {"ab", "\xf0\x9f\x98\x80", 198}, /* 2 + 49 * 4 */
    };
    for (size_t k = 0; k < sizeof cuts / sizeof cuts[0]; k++) {
        char *u = repeat(cuts[k].unit, 150);
        size_t pl = strlen(cuts[k].prefix), ul = strlen(u);
        char *p = malloc(pl + ul + 1);
        memcpy(p, cuts[k].prefix, pl);
        memcpy(p + pl, u, ul + 1);
        char text[16];
        snprintf(text, sizeof text, "cut %zu", k);
        assert_int_equal(add(ql, text, QSRC_USER, 0, NAN, p), 1);
        const query *c = query_list_get(ql, (uint64_t)find(ql, text));
        if (strlen(c->provenance) != cuts[k].want)
            fail_msg("cut %zu: %zu bytes kept, expected %zu", k, strlen(c->provenance),
                     cuts[k].want);
        assert_true(cc_utf8_valid(c->provenance, strlen(c->provenance)));
        assert_memory_equal(c->provenance, p, cuts[k].want);
        free(p);
        free(u);
    }

    /* Provenance goes into a TSV field: tabs, newlines and invalid UTF-8 are refused. */
    int added = -1;
    assert_int_equal(query_list_add(ql, "dog", 3, QSRC_WORDNET, 0, NAN, "a\tb", &added),
                     CC_E_INVAL);
    assert_int_equal(added, 0);
    assert_int_equal(query_list_add(ql, "dog", 3, QSRC_WORDNET, 0, NAN, "a\nb", NULL), CC_E_INVAL);
    assert_int_equal(query_list_add(ql, "dog", 3, QSRC_WORDNET, 0, NAN, "\xff", NULL), CC_E_INVAL);
    query_list_free(ql);
}

static void test_skip_rules(void **state)
{
    (void)state;
    query_list *ql = new_list(100);
    assert_int_equal(add(ql, "", QSRC_USER, 0, NAN, NULL), 0);
    assert_int_equal(add(ql, "!!! --- ...", QSRC_USER, 0, NAN, NULL), 0);
    assert_int_equal(add(ql, " \t\n", QSRC_USER, 0, NAN, NULL), 0);
    int added = -1;
    assert_int_equal(query_list_add(ql, NULL, 0, QSRC_USER, 0, NAN, NULL, &added), CC_OK);
    assert_int_equal(added, 0);
    /* QN_MAX_WORDS = 16 words are kept, 17 skipped */
    const char *w16 = "a b c d e f g h i j k l m n o p";
    const char *w17 = "a b c d e f g h i j k l m n o p q";
    assert_int_equal(add(ql, w17, QSRC_USER, 0, NAN, NULL), 0);
    assert_int_equal(add(ql, w16, QSRC_USER, 0, NAN, NULL), 1);
    /* a very long text of many words is skipped without error */
    char *many = repeat("word ", 4000);
    assert_int_equal(add(ql, many, QSRC_USER, 0, NAN, NULL), 0);
    free(many);
    /* 16 words of 300 letters: each cut to 255 bytes, the longest normalized text (4095) */
    char *longw = repeat("x", 300);
    char big[16 * 301 + 1];
    size_t n = 0;
    for (int i = 0; i < 16; i++) {
        memcpy(big + n, longw, 300);
        n += 300;
        big[n++] = ' ';
    }
    big[n] = '\0';
    assert_int_equal(add(ql, big, QSRC_USER, 0, NAN, NULL), 1);
    free(longw);
    assert_int_equal(query_list_count(ql), 2);
    assert_int_equal(strlen(query_list_get(ql, 1)->text), 16 * 255 + 15);
    assert_int_equal(find(ql, big), 1);

    /* bad arguments */
    assert_int_equal(query_list_add(ql, "x", 1, 0, 0, NAN, NULL, &added), CC_E_INVAL);
    assert_int_equal(query_list_add(ql, "x", 1, 1u << QSRC_COUNT, 0, NAN, NULL, &added),
                     CC_E_INVAL);
    assert_int_equal(query_list_add(ql, "x", 1, QSRC_USER, 0, INFINITY, NULL, &added), CC_E_INVAL);
    assert_int_equal(added, 0);
    assert_int_equal(query_list_count(ql), 2);
    query_list_free(ql);
}

static void test_limit(void **state)
{
    (void)state;
    query_list *ql = new_list(3);
    assert_int_equal(add(ql, "a", QSRC_USER, 0, NAN, NULL), 1);
    assert_int_equal(add(ql, "b", QSRC_USER, 0, NAN, NULL), 1);
    assert_int_equal(add(ql, "c", QSRC_USER, 0, NAN, NULL), 1);
    int added = -1;
    assert_int_equal(query_list_add(ql, "d", 1, QSRC_USER, 0, NAN, NULL, &added), CC_E_LIMIT);
    assert_int_equal(added, 0);
    assert_non_null(strstr(cc_errmsg(), "full"));
    /* merging into a full list still works, and skips still skip */
    assert_int_equal(add(ql, "A", QSRC_WORDNET, 4, NAN, NULL), 2);
    assert_int_equal(add(ql, "?", QSRC_WORDNET, 4, NAN, NULL), 0);
    assert_int_equal(query_list_count(ql), 3);
    assert_int_equal(find(ql, "d"), -1);
    query_list_free(ql);

    ql = new_list(0); /* holds nothing */
    assert_int_equal(query_list_add(ql, "a", 1, QSRC_USER, 0, NAN, NULL, NULL), CC_E_LIMIT);
    query_list_free(ql);

    /* ids are 32-bit: the largest maximum is 2^32 - 2, and memory follows use */
    ql = NULL;
    assert_int_equal(query_list_new(UINT32_MAX, &ql), CC_E_INVAL);
    assert_null(ql);
    ql = new_list((uint64_t)UINT32_MAX - 1);
    assert_int_equal(add(ql, "a", QSRC_USER, 0, NAN, NULL), 1);
    query_list_free(ql);
}

/* The ranking fixture: ties on count broken by number of sources, then by bytes. */
static const struct {
    const char *text;
    uint32_t sources;
    uint64_t count;
} rank_in[] = {
    {"beta", QSRC_WORDNET, 10},
    {"alpha", QSRC_WORDNET | QSRC_WIKI_WORD, 10},
    {"gamma", QSRC_WIKI_WORD, 10},
    {"delta", QSRC_USER, 100},
    {"epsilon", QSRC_WORDNET | QSRC_USER | QSRC_WIKI_TITLE, 0},
    {"zeta", QSRC_WORDNET, 0},
    {"eta", QSRC_WORDNET, 0},
    {"ab", QSRC_WORDNET, 10},
    {"a b", QSRC_WORDNET, 10},
    {"émile", QSRC_WORDNET, 0},
};
#define RANK_N (sizeof rank_in / sizeof rank_in[0])
static const char *const rank_want[RANK_N] = {"delta", "alpha",   "a b", "ab",   "beta",
                                              "gamma", "epsilon", "eta", "zeta", "émile"};

/* Adds the fixture in the order perm gives; sources with several bits go in one bit at a time. */
static query_list *rank_list(const size_t *perm)
{
    query_list *ql = new_list(100);
    for (size_t k = 0; k < RANK_N; k++) {
        size_t i = perm[k];
        for (uint32_t b = 1; b < (1u << QSRC_COUNT); b <<= 1)
            if (rank_in[i].sources & b)
                add(ql, rank_in[i].text, b, rank_in[i].count, NAN, NULL);
    }
    return ql;
}

static void test_finish_order(void **state)
{
    (void)state;
    const size_t fwd[RANK_N] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9};
    const size_t rev[RANK_N] = {9, 8, 7, 6, 5, 4, 3, 2, 1, 0};
    const size_t mix[RANK_N] = {4, 9, 0, 6, 2, 8, 1, 5, 3, 7};
    const size_t *perms[] = {fwd, rev, mix};
    for (int p = 0; p < 3; p++) {
        query_list *ql = rank_list(perms[p]);
        assert_int_equal(query_list_count(ql), RANK_N);
        /* before finish, ids are insertion positions */
        for (size_t k = 0; k < RANK_N; k++)
            assert_int_equal(find(ql, rank_in[perms[p][k]].text), (int64_t)k);
        query_list_finish(ql, 0);
        assert_int_equal(query_list_count(ql), RANK_N);
        for (size_t k = 0; k < RANK_N; k++) {
            const query *q = query_list_get(ql, k);
            if (strcmp(q->text, rank_want[k]) != 0)
                fail_msg("order %d, id %zu: '%s', expected '%s'", p, k, q->text, rank_want[k]);
            assert_int_equal(find(ql, rank_want[k]), (int64_t)k);
        }
        assert_int_equal(find(ql, "EMILE"), -1);
        assert_int_equal(find(ql, "Émile!"), 9); /* any text, normalized first */
        assert_null(query_list_get(ql, RANK_N));
        /* finished: no more adds */
        assert_int_equal(query_list_add(ql, "new", 3, QSRC_USER, 0, NAN, NULL, NULL), CC_E_INVAL);
        query_list_free(ql);
    }
}

static void test_finish_max(void **state)
{
    (void)state;
    const size_t fwd[RANK_N] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9};
    query_list *ql = rank_list(fwd);
    query_list_finish(ql, 4);
    assert_int_equal(query_list_count(ql), 4);
    for (size_t k = 0; k < 4; k++) {
        assert_string_equal(query_list_get(ql, k)->text, rank_want[k]);
        assert_int_equal(find(ql, rank_want[k]), (int64_t)k);
    }
    for (size_t k = 4; k < RANK_N; k++)
        assert_int_equal(find(ql, rank_want[k]), -1); /* dropped: not found */
    assert_null(query_list_get(ql, 4));
    query_list_free(ql);

    /* a maximum above the count keeps all; an empty list finishes empty */
    ql = rank_list(fwd);
    query_list_finish(ql, 1000);
    assert_int_equal(query_list_count(ql), RANK_N);
    query_list_free(ql);
    ql = new_list(10);
    assert_int_equal(find(ql, "a"), -1);
    query_list_finish(ql, 0);
    assert_int_equal(query_list_count(ql), 0);
    assert_int_equal(find(ql, "a"), -1);
    query_list_free(ql);
}

static void test_many(void **state)
{
    (void)state;
    enum { N = 60000 };
    query_list *ql = new_list(1000000);
    char t[32];
    for (int i = 0; i < N; i++) {
        snprintf(t, sizeof t, "Q%d w%d", i, i % 97);
        assert_int_equal(add(ql, t, QSRC_WIKI_WORD, (uint64_t)(i % 1000), NAN, "p"), 1);
    }
    for (int i = 0; i < N; i += 7) { /* merges find the same entries after growth */
        snprintf(t, sizeof t, "q%d W%d", i, i % 97);
        assert_int_equal(add(ql, t, QSRC_WORDNET, 0, NAN, "p"), 2);
    }
    assert_int_equal(query_list_count(ql), N);
    query_list_finish(ql, 0);
    uint64_t prev = UINT64_MAX;
    for (int i = 0; i < N; i++) {
        const query *q = query_list_get(ql, (uint64_t)i);
        assert_true(q->count <= prev);
        prev = q->count;
        assert_int_equal(find(ql, q->text), i);
        assert_string_equal(q->provenance, "p");
    }
    query_list_free(ql);
}

/* ---- files ------------------------------------------------------------------------------- */

static char tmpdir[64];

static int setup_dir(void **state)
{
    (void)state;
    snprintf(tmpdir, sizeof tmpdir, "/tmp/cc-test-querylist-XXXXXX");
    return mkdtemp(tmpdir) ? 0 : -1;
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static int teardown_dir(void **state)
{
    (void)state;
    return nftw(tmpdir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
}

static char *path_in(const char *name, char *buf, size_t cap)
{
    snprintf(buf, cap, "%s/%s", tmpdir, name);
    return buf;
}

static char *slurp(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    char *s = malloc(1 << 20);
    *n = fread(s, 1, (1 << 20) - 1, f);
    s[*n] = '\0';
    fclose(f);
    return s;
}

static void spill(const char *path, const char *s, size_t n)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(s, 1, n, f), n);
    fclose(f);
}

static void test_save_load_roundtrip(void **state)
{
    (void)state;
    query_list *ql = new_list(100);
    add(ql, "Hot Dog", QSRC_WORDNET, 0, NAN, "n07676602");
    add(ql, "hot dog", QSRC_WIKI_BIGRAM, 1234, 7.25, NULL);
    add(ql, "the", QSRC_WIKI_WORD, UINT64_MAX, NAN, NULL);
    add(ql, "New York", QSRC_WIKI_BIGRAM, 500, 12.345678, NULL);
    add(ql, "New York", QSRC_WIKI_TITLE, 80, NAN, "Zürich,n1");
    add(ql, "rare pair", QSRC_WIKI_BIGRAM, 3, -1.5, NULL);
    add(ql, "東京タワー", QSRC_USER, 0, NAN, NULL);
    add(ql, "Ωμέγα", QSRC_USER | QSRC_WORDNET, 0, 0.0, "");
    query_list_finish(ql, 0);

    char path[128], path2[128], tmp[160];
    path_in("queries.tsv", path, sizeof path);
    path_in("again.tsv", path2, sizeof path2);
    assert_int_equal(query_list_save(ql, path), CC_OK);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    assert_int_not_equal(access(tmp, F_OK), 0); /* renamed away */

    size_t n;
    char *text = slurp(path, &n);
    const char *want = "# clipcrawl queries 1\n"
                       "0\tthe\twiki_word\t18446744073709551615\t-\t-\n"
                       "1\thot dog\twordnet,wiki_bigram\t1234\t7.250000\tn07676602\n"
                       "2\tnew york\twiki_bigram,wiki_title\t500\t12.345678\tZürich,n1\n"
                       "3\trare pair\twiki_bigram\t3\t-1.500000\t-\n"
                       "4\tωμέγα\twordnet,user\t0\t0.000000\t-\n"
                       "5\t東京タワー\tuser\t0\t-\t-\n";
    assert_string_equal(text, want); /* a plain TSV: no checksum trailer */

    query_list *back = NULL;
    assert_int_equal(query_list_load(path, 100, &back), CC_OK);
    assert_int_equal(query_list_count(back), query_list_count(ql));
    for (uint64_t i = 0; i < query_list_count(ql); i++) {
        const query *a = query_list_get(ql, i), *b = query_list_get(back, i);
        assert_string_equal(a->text, b->text);
        assert_int_equal(a->sources, b->sources);
        assert_int_equal(a->count, b->count);
        assert_true((isnan(a->pmi) && isnan(b->pmi)) || a->pmi == b->pmi);
        assert_string_equal(a->provenance, b->provenance);
        assert_int_equal(query_list_find(back, a->text, strlen(a->text)), (int64_t)i);
    }
    assert_int_equal(find(back, "NEW-YORK"), 2);
    /* a loaded list is finished */
    assert_int_equal(query_list_add(back, "x", 1, QSRC_USER, 0, NAN, NULL, NULL), CC_E_INVAL);
    /* byte-identical re-save */
    assert_int_equal(query_list_save(back, path2), CC_OK);
    size_t n2;
    char *text2 = slurp(path2, &n2);
    assert_int_equal(n2, n);
    assert_memory_equal(text2, text, n);
    free(text2);
    query_list_free(back);

    /* the maximum applies on load */
    back = NULL;
    assert_int_equal(query_list_load(path, 5, &back), CC_E_LIMIT);
    assert_null(back);
    assert_int_equal(query_list_load(path, 6, &back), CC_OK);
    query_list_free(back);

    /* saving over an existing file replaces it */
    query_list_finish(ql, 2);
    assert_int_equal(query_list_save(ql, path), CC_OK);
    free(text);
    text = slurp(path, &n);
    assert_string_equal(text, "# clipcrawl queries 1\n"
                              "0\tthe\twiki_word\t18446744073709551615\t-\t-\n"
                              "1\thot dog\twordnet,wiki_bigram\t1234\t7.250000\tn07676602\n");
    free(text);
    query_list_free(ql);

    /* an empty list: the header alone */
    ql = new_list(10);
    assert_int_equal(query_list_save(ql, path), CC_E_INVAL); /* not finished */
    query_list_finish(ql, 0);
    assert_int_equal(query_list_save(ql, path), CC_OK);
    text = slurp(path, &n);
    assert_string_equal(text, "# clipcrawl queries 1\n");
    free(text);
    assert_int_equal(query_list_load(path, 10, &back), CC_OK);
    assert_int_equal(query_list_count(back), 0);
    query_list_free(back);
    /* a folder that does not exist */
    char bad[160];
    snprintf(bad, sizeof bad, "%s/no/such/dir/q.tsv", tmpdir);
    assert_int_equal(query_list_save(ql, bad), CC_E_IO);
    query_list_free(ql);
}

/* Writes content as a queries.tsv, loads it, and checks the status and that the message holds
 * want_msg. */
static void load_expect(const char *content, size_t len, cc_status want, const char *want_msg)
{
    char path[128];
    path_in("case.tsv", path, sizeof path);
    spill(path, content, len);
    query_list *ql = (query_list *)(uintptr_t)1;
    cc_clear_error();
    cc_status st = query_list_load(path, 100, &ql);
    if (st != want || (want_msg && !strstr(cc_errmsg(), want_msg)))
        fail_msg("load of\n%.200s\ngave %s '%s', expected %s with '%s'", content, cc_status_str(st),
                 cc_errmsg(), cc_status_str(want), want_msg ? want_msg : "");
    if (st == CC_OK)
        query_list_free(ql);
    else
        assert_null(ql);
}

#define HDR "# clipcrawl queries 1\n"
#define L0 "0\tdog\twordnet\t0\t-\tn02084071\n"
#define LOAD(s, st, msg) load_expect(s, sizeof(s) - 1, st, msg)

static void test_load_errors(void **state)
{
    (void)state;
    query_list *ql = NULL;
    char path[128];
    assert_int_equal(query_list_load(path_in("absent.tsv", path, sizeof path), 10, &ql),
                     CC_E_NOTFOUND);
    assert_null(ql);
    assert_non_null(strstr(cc_errmsg(), "queries build"));

    LOAD(HDR L0, CC_OK, NULL);
    LOAD(HDR L0 "1\thot dog\tuser\t0\t-\t-", CC_OK, NULL); /* last line without '\n' */
    LOAD("# clipcrawl queries 1\r\n0\tdog\twordnet\t0\t-\tn02084071\r\n", CC_OK, NULL); /* CRLF */

    /* header */
    LOAD("", CC_E_FORMAT, "not a clipcrawl query list");
    LOAD("hello\n" L0, CC_E_FORMAT, "not a clipcrawl query list");
    LOAD("# clipcrawl manifest 1\n", CC_E_FORMAT, "not a clipcrawl query list");
    LOAD("# clipcrawl queries 2\n" L0, CC_E_VERSION, "reads version 1");
    LOAD("# clipcrawl queries 10\n", CC_E_VERSION, "version '10'");

    /* ids */
    LOAD(HDR "1\tdog\twordnet\t0\t-\t-\n", CC_E_FORMAT, ":2: id '1', expected 0");
    LOAD(HDR L0 "2\tcat\twordnet\t0\t-\t-\n", CC_E_FORMAT, ":3: id '2', expected 1");
    LOAD(HDR L0 "01\tcat\twordnet\t0\t-\t-\n", CC_E_FORMAT, ":3:");
    LOAD(HDR L0 "0\tcat\twordnet\t0\t-\t-\n", CC_E_FORMAT, ":3:");

    /* queries */
    LOAD(HDR L0 "1\tHot Dog\tuser\t0\t-\t-\n", CC_E_FORMAT,
         ":3: query 'Hot Dog' is not normalized");
    LOAD(HDR L0 "1\thot  dog\tuser\t0\t-\t-\n", CC_E_FORMAT, "not normalized");
    LOAD(HDR L0 "1\t hot dog\tuser\t0\t-\t-\n", CC_E_FORMAT, "not normalized");
    LOAD(HDR L0 "1\thot_dog\tuser\t0\t-\t-\n", CC_E_FORMAT, "not normalized");
    LOAD(HDR L0 "1\t\tuser\t0\t-\t-\n", CC_E_FORMAT, ":3: empty query");
    LOAD(HDR L0 "1\tdog\tuser\t0\t-\t-\n", CC_E_FORMAT, ":3: query 'dog' repeats id 0");
    LOAD(HDR "0\ta b c d e f g h i j k l m n o p q\tuser\t0\t-\t-\n", CC_E_FORMAT,
         ":2: query of more than 16 words");

    /* sources */
    LOAD(HDR "0\tdog\twordnet,wikipedia\t0\t-\t-\n", CC_E_FORMAT, ":2: sources");
    LOAD(HDR "0\tdog\t\t0\t-\t-\n", CC_E_FORMAT, ":2: sources");
    LOAD(HDR "0\tdog\twordnet,\t0\t-\t-\n", CC_E_FORMAT, ":2: sources");
    LOAD(HDR "0\tdog\twordnet,wordnet\t0\t-\t-\n", CC_E_FORMAT, ":2: sources");
    LOAD(HDR "0\tdog\tuser,wiki_title,wiki_bigram,wiki_word,wordnet\t0\t-\t-\n", CC_OK, NULL);

    /* tab count */
    LOAD(HDR "0\tdog\twordnet\t0\t-\n", CC_E_FORMAT, ":2: 5 fields, expected 6");
    LOAD(HDR "0\tdog\twordnet\t0\t-\t-\textra\n", CC_E_FORMAT, ":2: 7 fields, expected 6");
    LOAD(HDR L0 "\n", CC_E_FORMAT, ":3: 1 fields");

    /* numbers */
    LOAD(HDR "0\tdog\twordnet\t12x\t-\t-\n", CC_E_FORMAT, ":2: count '12x'");
    LOAD(HDR "0\tdog\twordnet\t-1\t-\t-\n", CC_E_FORMAT, ":2: count");
    LOAD(HDR "0\tdog\twordnet\t\t-\t-\n", CC_E_FORMAT, ":2: count");
    LOAD(HDR "0\tdog\twordnet\t18446744073709551616\t-\t-\n", CC_E_FORMAT, ":2: count");
    LOAD(HDR "0\tdog\twordnet\t18446744073709551615\t-\t-\n", CC_OK, NULL);
    LOAD(HDR "0\tdog\twordnet\t0\tabc\t-\n", CC_E_FORMAT, ":2: PMI 'abc'");
    LOAD(HDR "0\tdog\twordnet\t0\tnan\t-\n", CC_E_FORMAT, ":2: PMI");
    LOAD(HDR "0\tdog\twordnet\t0\t-inf\t-\n", CC_E_FORMAT, ":2: PMI");
    LOAD(HDR "0\tdog\twordnet\t0\t 1.0\t-\n", CC_E_FORMAT, ":2: PMI");
    LOAD(HDR "0\tdog\twordnet\t0\t0x10\t-\n", CC_E_FORMAT, ":2: PMI");
    LOAD(HDR "0\tdog\twordnet\t0\t1e999\t-\n", CC_E_FORMAT, ":2: PMI");
    LOAD(HDR "0\tdog\twordnet\t0\t\t-\n", CC_E_FORMAT, ":2: PMI");
    LOAD(HDR "0\tdog\twordnet\t0\t-3.25\t-\n", CC_OK, NULL);

    /* provenance: at most 200 bytes of UTF-8 text */
    char line[600];
    char *p201 = repeat("p", 201), *p200 = repeat("p", 200);
    int n = snprintf(line, sizeof line, HDR "0\tdog\twordnet\t0\t-\t%s\n", p201);
    load_expect(line, (size_t)n, CC_E_FORMAT, ":2: provenance");
    n = snprintf(line, sizeof line, HDR "0\tdog\twordnet\t0\t-\t%s\n", p200);
    load_expect(line, (size_t)n, CC_OK, NULL);
    free(p201);
    free(p200);
    LOAD(HDR "0\tdog\twordnet\t0\t-\tn0\xff\n", CC_E_FORMAT, ":2: provenance");
    LOAD(HDR "0\tdog\twordnet\t0\t-\t\n", CC_OK, NULL); /* empty is read as none */
    LOAD(HDR "0\tdog\twordnet\t0\t-\tn1\0junk\n", CC_E_FORMAT, ":2: NUL byte");

    /* a line longer than the bound (8192 bytes) */
    char *huge = malloc(20000);
    n = snprintf(huge, 20000, HDR L0 "1\tcat\twordnet\t0\t-\t");
    memset(huge + n, 'z', 9000);
    memcpy(huge + n + 9000, "\n", 2);
    load_expect(huge, (size_t)n + 9001, CC_E_FORMAT, ":3: line longer than 8192 bytes");
    free(huge);

    /* more lines than the maximum */
    path_in("max.tsv", path, sizeof path);
    const char two[] = HDR L0 "1\tcat\twordnet\t0\t-\t-\n";
    spill(path, two, sizeof two - 1);
    assert_int_equal(query_list_load(path, 1, &ql), CC_E_LIMIT);
    assert_non_null(strstr(cc_errmsg(), ":3:"));
    assert_int_equal(query_list_load(path, 2, &ql), CC_OK);
    assert_int_equal(query_list_count(ql), 2);
    assert_string_equal(query_list_get(ql, 0)->provenance, "n02084071");
    assert_string_equal(query_list_get(ql, 1)->provenance, "");
    query_list_free(ql);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_source_names),
        cmocka_unit_test(test_add_merge),
        cmocka_unit_test(test_provenance_cap),
        cmocka_unit_test(test_skip_rules),
        cmocka_unit_test(test_limit),
        cmocka_unit_test(test_finish_order),
        cmocka_unit_test(test_finish_max),
        cmocka_unit_test(test_many),
        cmocka_unit_test(test_save_load_roundtrip),
        cmocka_unit_test(test_load_errors),
    };
    return cmocka_run_group_tests(tests, setup_dir, teardown_dir);
}
