/* tests/unit/test_wordnet.c — WordNet queries (query_lists/wordnet.h) from the real database in
 * /usr/share/wordnet (Debian's wordnet-base): synset and lemma counts per file against counts
 * made here independently, known lemmas with their synset ids, adjective markers, the number of
 * distinct queries and the load time; and small synthetic data folders: CRLF, verb frames,
 * every kind of malformed line (CC_E_FORMAT naming file:line), missing files, a full list.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <ftw.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/status.h"
#include "query_lists/querylist.h"
#include "query_lists/wordnet.h"

#define WN_DIR "/usr/share/wordnet"

static const char *const files[4] = {"data.noun", "data.verb", "data.adj", "data.adv"};

static char tmpdir[64];

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static int setup(void **state)
{
    (void)state;
    snprintf(tmpdir, sizeof tmpdir, "/tmp/cc-test-wordnet-XXXXXX");
    return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    return nftw(tmpdir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
}

static void need_wordnet(void)
{
    for (int i = 0; i < 4; i++) {
        char p[256];
        snprintf(p, sizeof p, "%s/%s", WN_DIR, files[i]);
        if (access(p, R_OK) != 0)
            fail_msg("%s missing: install wordnet-base (ops/deps.sh)", p);
    }
}

/* Synset lines (those not starting with two spaces) and the sum of their w_cnt, counted here
 * without the loader's code. */
static void count_file(const char *path, uint64_t *synsets, uint64_t *lemmas)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    static char line[1 << 16];
    *synsets = *lemmas = 0;
    while (fgets(line, sizeof line, f)) {
        assert_non_null(strchr(line, '\n')); /* no line longer than the buffer */
        if (line[0] == ' ' && line[1] == ' ')
            continue;
        unsigned off, lexfile, w_cnt;
        char type;
        assert_int_equal(sscanf(line, "%8u %2u %c %2x", &off, &lexfile, &type, &w_cnt), 4);
        (*synsets)++;
        *lemmas += w_cnt;
    }
    fclose(f);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A folder under tmpdir holding files[only] (a link to the real one) and the other three empty. */
static void one_file_dir(int only, char *dir, size_t cap)
{
    snprintf(dir, cap, "%s/only-%d", tmpdir, only);
    assert_int_equal(mkdir(dir, 0755), 0);
    for (int i = 0; i < 4; i++) {
        char p[256], real[256];
        snprintf(p, sizeof p, "%s/%s", dir, files[i]);
        if (i == only) {
            snprintf(real, sizeof real, "%s/%s", WN_DIR, files[i]);
            assert_int_equal(symlink(real, p), 0);
        } else {
            FILE *f = fopen(p, "wb");
            assert_non_null(f);
            fclose(f);
        }
    }
}

static void test_real_counts_per_file(void **state)
{
    (void)state;
    need_wordnet();
    uint64_t all_synsets = 0;
    for (int i = 0; i < 4; i++) {
        char real[256], dir[128];
        snprintf(real, sizeof real, "%s/%s", WN_DIR, files[i]);
        uint64_t synsets, lemmas;
        count_file(real, &synsets, &lemmas);
        one_file_dir(i, dir, sizeof dir);
        query_list *ql = NULL;
        assert_int_equal(query_list_new(1000000, &ql), CC_OK);
        wordnet_stats s;
        cc_status st = wordnet_load(dir, ql, &s);
        if (st != CC_OK)
            fail_msg("%s: %s", files[i], cc_errmsg());
        if (s.synsets != synsets || s.lemmas != lemmas)
            fail_msg("%s: loader read %llu synsets, %llu lemmas; the file has %llu, %llu", files[i],
                     (unsigned long long)s.synsets, (unsigned long long)s.lemmas,
                     (unsigned long long)synsets, (unsigned long long)lemmas);
        assert_int_equal(s.added + s.merged + s.skipped, s.lemmas);
        assert_int_equal(query_list_count(ql), s.added);
        print_message("%-10s %6llu synsets, %6llu lemmas, %6llu distinct\n", files[i],
                      (unsigned long long)synsets, (unsigned long long)lemmas,
                      (unsigned long long)s.added);
        all_synsets += synsets;
        query_list_free(ql);
    }
    assert_int_equal(all_synsets, 117659); /* WordNet 3.0 */
}

static void test_real_full(void **state)
{
    (void)state;
    need_wordnet();
    uint64_t synsets = 0, lemmas = 0;
    for (int i = 0; i < 4; i++) {
        char real[256];
        snprintf(real, sizeof real, "%s/%s", WN_DIR, files[i]);
        uint64_t a, b;
        count_file(real, &a, &b);
        synsets += a;
        lemmas += b;
    }
    query_list *ql = NULL;
    assert_int_equal(query_list_new(1000000, &ql), CC_OK);
    wordnet_stats s;
    double t0 = now_s();
    cc_status st = wordnet_load(WN_DIR, ql, &s);
    double dt = now_s() - t0;
    if (st != CC_OK)
        fail_msg("%s", cc_errmsg());
    assert_int_equal(s.synsets, synsets);
    assert_int_equal(s.lemmas, lemmas);
    assert_int_equal(s.added + s.merged + s.skipped, lemmas);
    assert_int_equal(query_list_count(ql), s.added);
    assert_true(s.skipped < 100); /* lemmas have at most a few words */

    /* "dog": every synset holding the lemma, in file order (noun, verb, adj, adv) */
    int64_t id = query_list_find(ql, "dog", 3);
    assert_true(id >= 0);
    const query *q = query_list_get(ql, (uint64_t)id);
    assert_string_equal(q->text, "dog");
    assert_string_equal(q->provenance, "n02084071,n02710044,n03901548,n07676602,n09886220,"
                                       "n10023039,n10114209,v02001876");
    assert_int_equal(q->sources, QSRC_WORDNET);
    assert_int_equal(q->count, 0);
    assert_true(isnan(q->pmi));
    /* "hot_dog" (three noun synsets) and the verb "hot-dog" are one query, "hot dog";
     * "hotdog" is another */
    id = query_list_find(ql, "hot dog", 7);
    assert_true(id >= 0);
    assert_string_equal(query_list_get(ql, (uint64_t)id)->provenance,
                        "n07676602,n07697537,n10187710,v01938855");
    assert_true(query_list_find(ql, "hotdog", 6) >= 0);
    assert_true(query_list_find(ql, "Canis familiaris", 16) >= 0);
    /* the first synset of data.noun */
    id = query_list_find(ql, "entity", 6);
    assert_true(id >= 0);
    assert_non_null(strstr(query_list_get(ql, (uint64_t)id)->provenance, "n00001740"));
    /* adjective markers are dropped: "galore(ip)" (two satellites), "out_of_reach(p)",
     * "putative(a)" */
    id = query_list_find(ql, "galore", 6);
    assert_true(id >= 0);
    assert_string_equal(query_list_get(ql, (uint64_t)id)->provenance, "s00014358,s01552162");
    assert_int_equal(query_list_find(ql, "galore ip", 9), -1);
    assert_true(query_list_find(ql, "out of reach", 12) >= 0);
    assert_int_equal(query_list_find(ql, "out of reach p", 14), -1);
    assert_true(query_list_find(ql, "putative", 8) >= 0);
    assert_int_equal(query_list_find(ql, "putative a", 10), -1);
    /* an adverb */
    id = query_list_find(ql, "quickly", 7);
    assert_true(id >= 0);
    assert_int_equal(query_list_get(ql, (uint64_t)id)->provenance[0], 'r');

    uint64_t before = query_list_count(ql);
    query_list_finish(ql, 0);
    uint64_t distinct = query_list_count(ql);
    assert_int_equal(distinct, before);
    print_message("wordnet: %llu synsets, %llu lemmas, %llu distinct queries, %llu merged, "
                  "%llu skipped; loaded in %.3f s\n",
                  (unsigned long long)s.synsets, (unsigned long long)s.lemmas,
                  (unsigned long long)distinct, (unsigned long long)s.merged,
                  (unsigned long long)s.skipped, dt);
    assert_true(distinct >= 100000 && distinct <= 160000);
    /* all counts are 0, so the order is number of sources (all 1), then bytes */
    for (uint64_t i = 1; i < distinct; i++)
        assert_true(strcmp(query_list_get(ql, i - 1)->text, query_list_get(ql, i)->text) < 0);
    assert_true(dt < 10.0); /* well under a second on a normal build; generous for sanitizers */
    query_list_free(ql);
}

/* ---- synthetic data folders ---------------------------------------------------------------- */

#define LICENSE "  1 This software and database is being provided to you, the LICENSEE  \n"
#define NOUN LICENSE "00001740 03 n 02 Hot_dog 0 frank 1 001 @ 00002000 n 0000 | a sausage  \r\n"
#define VERB                                                                                       \
    LICENSE "00002000 29 v 01 run 0 001 @ 00001740 v 0000 02 + 02 00 + 22 01 | move fast  \n"
#define ADJ                                                                                        \
    "00003000 00 a 01 galore(ip) 0 000 | abundant\n"                                               \
    "00003100 00 s 02 out_of_reach(p) 0 dead-on(a) 0 001 & 00003000 a 0000 | far\n"
#define ADV "00004000 02 r 01 fast 0 000 | quickly\n"

/* Makes folder tmpdir/name with the four files (NULL: the file is left out). */
static void make_dir(const char *name, const char *noun, const char *verb, const char *adj,
                     const char *adv, char *dir, size_t cap)
{
    snprintf(dir, cap, "%s/%s", tmpdir, name);
    assert_int_equal(mkdir(dir, 0755), 0);
    const char *content[4] = {noun, verb, adj, adv};
    for (int i = 0; i < 4; i++) {
        if (!content[i])
            continue;
        char p[256];
        snprintf(p, sizeof p, "%s/%s", dir, files[i]);
        FILE *f = fopen(p, "wb");
        assert_non_null(f);
        fputs(content[i], f);
        fclose(f);
    }
}

static const char *prov_of(const query_list *ql, const char *text)
{
    int64_t id = query_list_find(ql, text, strlen(text));
    if (id < 0)
        fail_msg("'%s' not in the list", text);
    return query_list_get(ql, (uint64_t)id)->provenance;
}

static void test_synthetic_ok(void **state)
{
    (void)state;
    char dir[128];
    make_dir("ok", NOUN, VERB, ADJ, ADV "\r\n", dir, sizeof dir); /* and a blank CRLF line */
    query_list *ql = NULL;
    assert_int_equal(query_list_new(100, &ql), CC_OK);
    wordnet_stats s;
    if (wordnet_load(dir, ql, &s) != CC_OK)
        fail_msg("%s", cc_errmsg());
    assert_int_equal(s.synsets, 5);
    assert_int_equal(s.lemmas, 7);
    assert_int_equal(s.added, 7);
    assert_int_equal(s.merged + s.skipped, 0);
    assert_string_equal(prov_of(ql, "hot dog"), "n00001740");
    assert_string_equal(prov_of(ql, "frank"), "n00001740");
    assert_string_equal(prov_of(ql, "run"), "v00002000");
    assert_string_equal(prov_of(ql, "galore"), "a00003000");
    assert_string_equal(prov_of(ql, "out of reach"), "s00003100");
    assert_string_equal(prov_of(ql, "dead on"), "s00003100");
    assert_string_equal(prov_of(ql, "fast"), "r00004000");
    /* loading again merges everything; stats may be NULL */
    assert_int_equal(wordnet_load(dir, ql, &s), CC_OK);
    assert_int_equal(s.merged, 7);
    assert_int_equal(s.added, 0);
    assert_int_equal(wordnet_load(dir, ql, NULL), CC_OK);
    assert_int_equal(query_list_count(ql), 7);
    query_list_free(ql);

    /* a list too small: the limit comes back with the line that hit it */
    assert_int_equal(query_list_new(2, &ql), CC_OK);
    assert_int_equal(wordnet_load(dir, ql, &s), CC_E_LIMIT);
    assert_non_null(strstr(cc_errmsg(), "data.verb:2"));
    assert_int_equal(query_list_count(ql), 2);
    query_list_free(ql);
}

static void test_synthetic_malformed(void **state)
{
    (void)state;
    static const struct {
        int file; /* which of the four gets the bad line (as its line 3) */
        const char *line, *msg;
    } cases[] = {
        {0, "00001800 03 n 0g dog 0 000 | x\n", "w_cnt '0g'"},
        {0, "00001800 03 n 00 000 | x\n", "w_cnt '00'"},
        {0, "00001800 03 n 02 hot_dog 0\n", "ends within its 2 words"},
        {0, "00001800 03 n 02 hot_dog 0 frank\n", "ends within its 2 words"},
        {0, "00001800 03 n 01 dog 0 002 @ 00002000 n 0000\n", "pointer 2 of 2"},
        {0, "00001800 03 n 01 dog 0 001 @ 00002000 n 00\n", "pointer 1 of 1"},
        {0, "00001800 03 n 01 dog 0 000\n", "no '|'"},
        {0, "00001800 03 n 01 dog 0 000 gloss without a bar\n", "no '|'"},
        {0, "00001800 03 n 01 dog g 000 | x\n", "lex_id 'g'"},
        {0, "1800 03 n 01 dog 0 000 | x\n", "offset '1800'"},
        {0, "00001800 3 n 01 dog 0 000 | x\n", "lex_filenum '3'"},
        {0, "00001800 03 v 01 dog 0 000 | x\n", "ss_type 'v'"},
        {0, "00001800 03 n 01 dog 0 1 | x\n", "p_cnt '1'"},
        {2, "00003200 00 n 01 big 0 000 | x\n", "ss_type 'n'"},
        {1, "00002100 29 v 01 walk 0 000 | x\n", "f_cnt '|'"},
        {1, "00002100 29 v 01 walk 0 000 02 + 02 00 | x\n", "verb frame 2 of 2"},
        {1, "00002100 29 v 01 walk 0 000 01 - 02 00 | x\n", "verb frame 1 of 1"},
        {3, "\t00004100 02 r 01 slowly 0 000 | x\n", "offset"},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        /* each file: its good content (two lines in noun and verb, with the license), then the
         * bad line as line 3 */
        char content[4][512];
        const char *good[4] = {NOUN, VERB, ADJ, ADV};
        for (int i = 0; i < 4; i++) {
            if (i != cases[k].file) {
                snprintf(content[i], sizeof content[i], "%s", good[i]);
                continue;
            }
            /* two good lines first, so the bad one is line 3 */
            const char *two = i == 0 ? NOUN : i == 1 ? VERB : i == 2 ? ADJ : LICENSE ADV;
            snprintf(content[i], sizeof content[i], "%s%s", two, cases[k].line);
        }
        char name[32], dir[128];
        snprintf(name, sizeof name, "bad-%zu", k);
        make_dir(name, content[0], content[1], content[2], content[3], dir, sizeof dir);
        query_list *ql = NULL;
        assert_int_equal(query_list_new(100, &ql), CC_OK);
        cc_clear_error();
        cc_status st = wordnet_load(dir, ql, NULL);
        char where[64];
        snprintf(where, sizeof where, "%s:3: ", files[cases[k].file]);
        if (st != CC_E_FORMAT || !strstr(cc_errmsg(), where) || !strstr(cc_errmsg(), cases[k].msg))
            fail_msg("case %zu: %s '%s', expected a format error with '%s' and '%s'", k,
                     cc_status_str(st), cc_errmsg(), where, cases[k].msg);
        query_list_free(ql);
    }
}

static void test_missing(void **state)
{
    (void)state;
    char dir[128];
    make_dir("no-verb", NOUN, NULL, ADJ, ADV, dir, sizeof dir);
    query_list *ql = NULL;
    assert_int_equal(query_list_new(100, &ql), CC_OK);
    assert_int_equal(wordnet_load(dir, ql, NULL), CC_E_NOTFOUND);
    assert_non_null(strstr(cc_errmsg(), "data.verb"));
    assert_non_null(strstr(cc_errmsg(), "install wordnet-base"));
    char none[160];
    snprintf(none, sizeof none, "%s/does-not-exist", tmpdir);
    assert_int_equal(wordnet_load(none, ql, NULL), CC_E_NOTFOUND);
    assert_non_null(strstr(cc_errmsg(), "data.noun"));
    query_list_free(ql);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_real_counts_per_file),
        cmocka_unit_test(test_real_full),
        cmocka_unit_test(test_synthetic_ok),
        cmocka_unit_test(test_synthetic_malformed),
        cmocka_unit_test(test_missing),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
