/* tests/unit/test_bpe.c — the byte-level BPE tokenizer: cleanup, pre-tokenization, training
 * (a hand-checked case, determinism, the word cap), encoding against a plain CLIP-style
 * reference encoder, round trips, truncation, every byte, files and their damage, threads.
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
#include <unistd.h>

#include "common/buf.h"
#include "common/file.h"
#include "common/hash.h"
#include "trainer/bpe.h"

/* ---- helpers ------------------------------------------------------------------------------- */

static char tmpdir[256];

static int setup(void **state)
{
    (void)state;
    snprintf(tmpdir, sizeof tmpdir, "/tmp/test_bpe.XXXXXX");
    return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    return system(cmd);
}

static void path_of(char *out, size_t cap, const char *name)
{
    snprintf(out, cap, "%s/%s", tmpdir, name);
}

/* bpe_clean of s (from an exact-size heap copy, so ASan catches reads past the end). */
static void check_clean(const char *s, const char *want)
{
    size_t n = strlen(s);
    char *copy = malloc(n ? n : 1);
    memcpy(copy, s, n);
    cc_buf out;
    cc_buf_init(&out, 1 << 20);
    assert_int_equal(bpe_clean(copy, n, &out), CC_OK);
    if (out.len != strlen(want) || (out.len && memcmp(out.data, want, out.len) != 0))
        fail_msg("clean(\"%s\") = \"%.*s\", want \"%s\"", s, (int)out.len, (const char *)out.data,
                 want);
    cc_buf_free(&out);
    free(copy);
}

/* A deterministic generator of caption-like texts. */
static uint64_t rng_state;

static uint32_t rnd(uint32_t n)
{
    rng_state = rng_state * 6364136223846793005ULL + 1442695040888963407ULL;
    return (uint32_t)(rng_state >> 33) % n;
}

static const char *const vocab_words[] = {
    "a",        "photo", "of",     "the",     "dog",     "cat",    "sitting",
    "on",       "grass", "red",    "car",     "parked",  "street", "lowest",
    "lower",    "low",   "newest", "widest",  "it's",    "don't",  "we're",
    "2024",     "3.5",   "café",   "Ünïcödé", "東京",    "🙂",   "👍🏽",
    "&amp;",    "&#39;", "x-ray",  "...",     "(large)", "NEW!!",  "&lt;b&gt;",
    "\xc2\xa0", "  ",    "\t",     "Ÿes",     "ÀÉÎ",     "l'été",  "rock'n'roll"};
#define NVOCAB (sizeof vocab_words / sizeof vocab_words[0])

/* Writes a random caption into buf (cap bytes). */
static size_t gen_caption(char *buf, size_t cap)
{
    size_t n = 0;
    uint32_t words = 1 + rnd(14);
    for (uint32_t i = 0; i < words; i++) {
        const char *w = vocab_words[rnd(NVOCAB)];
        int k = snprintf(buf + n, cap - n, "%s%s", i ? " " : "", w);
        if (k < 0 || (size_t)k >= cap - n)
            break;
        n += (size_t)k;
        if (rnd(5) == 0 && n + 1 < cap)
            buf[n++] = (char)('a' + rnd(26)); /* glued suffixes make rarer words */
    }
    return n;
}

/* A tokenizer trained on n generated captions (seeded) with the given vocab. */
static bpe *train_generated(uint64_t seed, int n, uint32_t vocab)
{
    bpe_trainer *t = NULL;
    assert_int_equal(bpe_trainer_new(0, &t), CC_OK);
    rng_state = seed;
    char buf[512];
    for (int i = 0; i < n; i++) {
        size_t k = gen_caption(buf, sizeof buf);
        assert_int_equal(bpe_trainer_add(t, buf, k), CC_OK);
    }
    assert_int_equal(bpe_trainer_texts(t), (uint64_t)n);
    bpe *b = NULL;
    assert_int_equal(bpe_trainer_finish(t, vocab, BPE_CONTEXT_DEFAULT, &b), CC_OK);
    bpe_trainer_free(t);
    return b;
}

static bpe *train_texts(const char *const *texts, size_t n, uint32_t vocab)
{
    bpe_trainer *t = NULL;
    assert_int_equal(bpe_trainer_new(0, &t), CC_OK);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(bpe_trainer_add(t, texts[i], strlen(texts[i])), CC_OK);
    bpe *b = NULL;
    assert_int_equal(bpe_trainer_finish(t, vocab, BPE_CONTEXT_DEFAULT, &b), CC_OK);
    bpe_trainer_free(t);
    return b;
}

/* The merges of b as (left, right) pairs, read back from its saved file (the documented
 * layout: 32-byte header, then 8 bytes per merge). Caller frees. */
static uint32_t *merges_of(const bpe *b, const char *name)
{
    char path[512];
    path_of(path, sizeof path, name);
    assert_int_equal(bpe_save(b, path), CC_OK);
    cc_buf f;
    cc_buf_init(&f, 64 << 20);
    assert_int_equal(cc_read_file(path, &f), CC_OK);
    uint32_t m = bpe_merges(b);
    assert_int_equal(f.len, 32 + 8 * (size_t)m + 8);
    uint32_t *p = malloc((2 * (size_t)m + 1) * sizeof *p);
    for (uint32_t i = 0; i < 2 * m; i++)
        p[i] = cc_load_u32(f.data + 32 + 4 * (size_t)i);
    cc_buf_free(&f);
    return p;
}

/* decode(encode_raw(s)) must be clean(s). */
static void check_round_trip(const bpe *b, const char *s, size_t n)
{
    int32_t *toks = NULL;
    size_t nt = 0, cap = 0;
    assert_int_equal(bpe_encode_raw(b, s, n, &toks, &nt, &cap), CC_OK);
    cc_buf dec, cl;
    cc_buf_init(&dec, 1 << 24);
    cc_buf_init(&cl, 1 << 24);
    assert_int_equal(bpe_decode(b, toks, nt, &dec), CC_OK);
    assert_int_equal(bpe_clean(s, n, &cl), CC_OK);
    if (dec.len != cl.len || (cl.len && memcmp(dec.data, cl.data, cl.len) != 0))
        fail_msg("round trip of \"%.*s\": \"%.*s\" != \"%.*s\"", (int)n, s, (int)dec.len,
                 (const char *)dec.data, (int)cl.len, (const char *)cl.data);
    for (size_t i = 0; i < nt; i++)
        assert_true(toks[i] >= 0 && toks[i] < bpe_sot(b));
    cc_buf_free(&dec);
    cc_buf_free(&cl);
    free(toks);
}

/* ---- cleanup ------------------------------------------------------------------------------- */

static void test_clean(void **state)
{
    (void)state;
    check_clean("", "");
    check_clean("   \t\n ", "");
    check_clean("A Photo OF a Dog", "a photo of a dog");
    check_clean("  leading and trailing  ", "leading and trailing");
    check_clean("tabs\tnew\nlines\r\nand  runs", "tabs new lines and runs");
    check_clean("nbsp\xc2\xa0\xc2\xa0"
                "between \xc2\xa0 x\xc2\xa0",
                "nbsp between x");
    /* Entities, unescaped once: &amp;lt; is "&lt;", not "<". */
    check_clean("fish &amp; chips", "fish & chips");
    check_clean("&lt;b&gt;bold&lt;/b&gt;", "<b>bold</b>");
    check_clean("&quot;quoted&quot; it&#39;s", "\"quoted\" it's");
    check_clean("&amp;lt;", "&lt;");
    check_clean("&#65;&#x42;&#X63;", "abc"); /* then lower-cased */
    check_clean("a&#160;&#160;b", "a b"); /* an escaped no-break space is whitespace too */
    check_clean("&#233;t&#xE9;", "\xc3\xa9t\xc3\xa9");
    check_clean("&#128512;", "\xf0\x9f\x98\x80");
    /* Not entities: kept as they are. */
    check_clean("&nbsp; &foo; &#; &#xZZ; &#0; &#55296; &#99999999; & &amp",
                "&nbsp; &foo; &#; &#xzz; "
                "&#0; &#55296; "
                "&#99999999; & &amp");
    /* Latin-1 and Latin Extended-A letters, not other scripts. */
    check_clean("ÀÉÎÕÜ Ÿ ĀĞŁŒŽ", "àéîõü ÿ āğłœž");
    check_clean("ΑΒΓ ДЖ", "ΑΒΓ ДЖ");
    check_clean("ſ ß µ", "ſ ß µ");
    /* Invalid bytes are kept. */
    check_clean("\xff A\xc3", "\xff a\xc3");
    check_clean("\xe2\x80\x83wide\xe2\x80\x83space", "\xe2\x80\x83wide\xe2\x80\x83space");
}

/* ---- pre-tokenization ---------------------------------------------------------------------- */

/* Trains on many copies of text so that every word becomes one token, then checks that text
 * encodes to exactly the words given ("|"-separated; a trailing "_" marks a word-final token). */
static void check_words(const char *text, const char *want)
{
    const char *texts[8];
    for (int i = 0; i < 8; i++)
        texts[i] = text;
    bpe *b = train_texts(texts, 8, 10000);
    int32_t *toks = NULL;
    size_t nt = 0, cap = 0;
    assert_int_equal(bpe_encode_raw(b, text, strlen(text), &toks, &nt, &cap), CC_OK);
    char got[1024];
    size_t g = 0;
    for (size_t i = 0; i < nt; i++) {
        cc_buf one, two;
        cc_buf_init(&one, 4096);
        cc_buf_init(&two, 4096);
        int32_t pair[2] = {toks[i], toks[i]};
        assert_int_equal(bpe_decode(b, pair, 1, &one), CC_OK);
        assert_int_equal(bpe_decode(b, pair, 2, &two), CC_OK);
        int final = two.len == 2 * one.len + 1; /* a space after a word-final token */
        g += (size_t)snprintf(got + g, sizeof got - g, "%s%.*s%s", i ? "|" : "", (int)one.len,
                              (const char *)one.data, final ? "_" : "");
        cc_buf_free(&one);
        cc_buf_free(&two);
    }
    if (strcmp(got, want) != 0)
        fail_msg("words of \"%s\": %s, want %s", text, got, want);
    free(toks);
    bpe_free(b);
}

static void test_pretokenize(void **state)
{
    (void)state;
    check_words("a photo of dogs", "a_|photo_|of_|dogs_");
    check_words("it's we're they've i'm we'll he'd don't", "it|'s_|we|'re_|they|'ve_|i|'m_|we|'ll_|"
                                                           "he|'d_|don|'t_");
    check_words("'sup rock'n'roll", "'s|up_|rock|'|n|'|roll_");
    check_words("2024 x86", "2|0|2|4_|x|8|6_");
    check_words("hello, world!! (big)", "hello|,_|world|!!_|(|big|)_");
    check_words("!!'s", "!!'|s_"); /* a run of punctuation swallows the apostrophe, as CLIP's */
    check_words("café 東京🙂 ok", "café_|東京🙂_|ok_"); /* bytes >= 0x80 are letters */
    check_words("THE End.", "the_|end|._");
}

/* ---- training ------------------------------------------------------------------------------ */

static void test_train_hand_checked(void **state)
{
    (void)state;
    /* Sennrich et al.'s corpus: low ×5, lower ×2, newest ×6, widest ×3. Pair counts: (e,s) 9 and
     * (s,t</w>) 9 tie, 'e' < 's' wins; then (es,t</w>) 9; then (l,o) 7; then (n,e), (e,w),
     * (w,est</w>) tie at 6 and (e,w) has the smallest left id; then (n,ew) 6 beats (ew,est</w>). */
    const char *texts[] = {"low low low low low", "lower lower",
                           "newest newest newest newest newest newest", "widest widest widest"};
    bpe *b = train_texts(texts, 4, 514 + 5);
    assert_int_equal(bpe_merges(b), 5);
    assert_int_equal(bpe_vocab(b), 519);
    assert_int_equal(bpe_sot(b), 517);
    assert_int_equal(bpe_eot(b), 518);
    uint32_t *m = merges_of(b, "hand.bpe");
    uint32_t want[] = {'e', 's', 512, 256 + 't', 'l', 'o', 'e', 'w', 'n', 515};
    assert_memory_equal(m, want, sizeof want);
    free(m);
    /* "newest" = n,ew,est</w> after these five merges. */
    int32_t *toks = NULL;
    size_t nt = 0, cap = 0;
    assert_int_equal(bpe_encode_raw(b, "Newest", 6, &toks, &nt, &cap), CC_OK);
    assert_int_equal(nt, 2);
    assert_int_equal(toks[0], 516);
    assert_int_equal(toks[1], 513);
    free(toks);
    bpe_free(b);

    /* Training stops when no pair occurs twice, below the asked vocab. */
    const char *one[] = {"ab cd"};
    b = train_texts(one, 1, 1000);
    assert_int_equal(bpe_merges(b), 0);
    assert_int_equal(bpe_vocab(b), 514);
    bpe_free(b);
}

static void test_train_deterministic(void **state)
{
    (void)state;
    bpe *a = train_generated(7, 3000, 800), *b = train_generated(7, 3000, 800);
    assert_int_equal(bpe_merges(a), 800 - 514);
    uint32_t *ma = merges_of(a, "a.bpe"), *mb = merges_of(b, "b.bpe");
    assert_memory_equal(ma, mb, 2 * sizeof(uint32_t) * bpe_merges(a));
    /* The same texts in another order give the same merges (ties go by ids, not by order). */
    bpe_trainer *t = NULL;
    assert_int_equal(bpe_trainer_new(0, &t), CC_OK);
    char bufs[3000][256];
    size_t lens[3000];
    rng_state = 7;
    for (int i = 0; i < 3000; i++)
        lens[i] = gen_caption(bufs[i], sizeof bufs[i]);
    for (int i = 2999; i >= 0; i--)
        assert_int_equal(bpe_trainer_add(t, bufs[i], lens[i]), CC_OK);
    bpe *c = NULL;
    assert_int_equal(bpe_trainer_finish(t, 800, 77, &c), CC_OK);
    /* Finishing twice gives the same tokenizer (finish leaves the counts alone). */
    bpe *d = NULL;
    assert_int_equal(bpe_trainer_finish(t, 800, 77, &d), CC_OK);
    bpe_trainer_free(t);
    uint32_t *mc = merges_of(c, "c.bpe"), *md = merges_of(d, "d.bpe");
    assert_int_equal(bpe_merges(c), bpe_merges(a));
    assert_memory_equal(ma, mc, 2 * sizeof(uint32_t) * bpe_merges(a));
    assert_memory_equal(ma, md, 2 * sizeof(uint32_t) * bpe_merges(a));
    /* Every merge joins ids below its own. */
    for (uint32_t i = 0; i < bpe_merges(a); i++)
        assert_true(ma[2 * i] < 512 + i && ma[2 * i + 1] < 512 + i);
    free(ma);
    free(mb);
    free(mc);
    free(md);
    bpe_free(a);
    bpe_free(b);
    bpe_free(c);
    bpe_free(d);
}

static void test_train_word_cap(void **state)
{
    (void)state;
    bpe_trainer *t = NULL;
    assert_int_equal(bpe_trainer_new(16, &t), CC_OK);
    char buf[64];
    /* "common" in every text; 200 distinct rare words. */
    for (int i = 0; i < 200; i++) {
        int k = snprintf(buf, sizeof buf, "common word%d", i);
        assert_int_equal(bpe_trainer_add(t, buf, (size_t)k), CC_OK);
        assert_true(bpe_trainer_words(t) <= 16);
    }
    bpe *b = NULL;
    assert_int_equal(bpe_trainer_finish(t, 600, 77, &b), CC_OK);
    /* The frequent word survived the pruning: it is one token. */
    int32_t *toks = NULL;
    size_t nt = 0, cap = 0;
    assert_int_equal(bpe_encode_raw(b, "common", 6, &toks, &nt, &cap), CC_OK);
    assert_int_equal(nt, 1);
    free(toks);
    bpe_free(b);
    /* Argument checks. */
    assert_int_equal(bpe_trainer_finish(t, 513, 77, &b), CC_E_INVAL);
    assert_int_equal(bpe_trainer_finish(t, BPE_MAX_VOCAB + 1, 77, &b), CC_E_INVAL);
    assert_int_equal(bpe_trainer_finish(t, 600, 2, &b), CC_E_INVAL);
    bpe_trainer_free(t);
    bpe_trainer_free(NULL);
    bpe_free(NULL);
}

/* ---- encoding ------------------------------------------------------------------------------ */

/* CLIP's encoder, plainly: repeatedly find the lowest-ranked adjacent pair and merge all its
 * occurrences left to right. */
static size_t reference_word(const uint32_t *merges, uint32_t nm, const uint8_t *s, size_t n,
                             int final, int32_t *out)
{
    size_t k = n;
    for (size_t i = 0; i < n; i++)
        out[i] = s[i];
    if (final)
        out[n - 1] += 256;
    for (;;) {
        uint32_t best = UINT32_MAX;
        for (size_t i = 0; i + 1 < k; i++)
            for (uint32_t m = 0; m < nm && m < best; m++)
                if (merges[2 * m] == (uint32_t)out[i] && merges[2 * m + 1] == (uint32_t)out[i + 1])
                    best = m;
        if (best == UINT32_MAX)
            return k;
        size_t j = 0;
        for (size_t i = 0; i < k;) {
            if (i + 1 < k && (uint32_t)out[i] == merges[2 * best] &&
                (uint32_t)out[i + 1] == merges[2 * best + 1]) {
                out[j++] = 512 + (int32_t)best;
                i += 2;
            } else {
                out[j++] = out[i++];
            }
        }
        k = j;
    }
}

static void test_encode_matches_reference(void **state)
{
    (void)state;
    bpe *b = train_generated(11, 2000, 1200);
    uint32_t *m = merges_of(b, "ref.bpe");
    rng_state = 99;
    char word[700];
    int32_t want[700];
    for (int it = 0; it < 3000; it++) {
        /* Letter words from the corpus's alphabet, some of them long (the heap path). */
        size_t n = it % 100 == 0 ? 300 + rnd(300) : 1 + rnd(12);
        static const char alpha[] = "abcdefghilnoprstuwy";
        for (size_t i = 0; i < n; i++)
            word[i] = alpha[rnd(sizeof alpha - 1)];
        int final = it % 2;
        if (!final)
            word[n] = '!';
        size_t k = reference_word(m, bpe_merges(b), (const uint8_t *)word, n, final, want);
        if (!final)
            want[k++] = 256 + '!';
        int32_t *toks = NULL;
        size_t nt = 0, cap = 0;
        assert_int_equal(bpe_encode_raw(b, word, n + !final, &toks, &nt, &cap), CC_OK);
        assert_int_equal(nt, k);
        assert_memory_equal(toks, want, k * sizeof *want);
        free(toks);
    }
    /* The vocabulary's own letter words (most of them take the one-token table). */
    int table_words = 0;
    for (int32_t t = 512; t < 512 + (int32_t)bpe_merges(b); t++) {
        cc_buf sp;
        cc_buf_init(&sp, 4096);
        int32_t two[2] = {t, t};
        assert_int_equal(bpe_decode(b, two, 1, &sp), CC_OK);
        size_t n = sp.len, i = 0;
        while (i < n && sp.data[i] >= 'a' && sp.data[i] <= 'z')
            i++;
        if (i == n && n < sizeof word - 1) {
            memcpy(word, sp.data, n);
            cc_buf_reset(&sp);
            assert_int_equal(bpe_decode(b, two, 2, &sp), CC_OK);
            int final = sp.len == 2 * n + 1;
            if (!final)
                word[n] = '!';
            size_t k = reference_word(m, bpe_merges(b), (const uint8_t *)word, n, final, want);
            if (!final)
                want[k++] = 256 + '!';
            int32_t *toks = NULL;
            size_t nt = 0, cap = 0;
            assert_int_equal(bpe_encode_raw(b, word, n + !final, &toks, &nt, &cap), CC_OK);
            assert_int_equal(nt, k);
            assert_memory_equal(toks, want, k * sizeof *want);
            table_words += toks[0] == t;
            free(toks);
        }
        cc_buf_free(&sp);
    }
    assert_true(table_words > 100);
    free(m);
    bpe_free(b);
}

static void test_round_trip(void **state)
{
    (void)state;
    bpe *b = train_generated(3, 2000, 1000);
    assert_int_equal(bpe_context(b), 77);
    const char *fixed[] = {"",
                           " ",
                           "a",
                           "A Photo of a Dog, sitting on the grass!",
                           "東京タワー at night 🌃🙂👍🏽 (2024)",
                           "l'été à Paris — “quotes” and ‘more’",
                           "&lt;b&gt;Bold&lt;/b&gt; &amp; &#128512;",
                           "don't stop 'til you're done",
                           "x\xc2\xa0\xc2\xa0y\tz\n",
                           "\xff\xfe invalid \xc3 bytes \xed\xa0\x80",
                           "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
                           "!!!???...,,,;;;"};
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++)
        check_round_trip(b, fixed[i], strlen(fixed[i]));
    /* Random captions, and random bytes. */
    rng_state = 12345;
    char buf[600];
    for (int i = 0; i < 2000; i++) {
        size_t n = gen_caption(buf, sizeof buf);
        check_round_trip(b, buf, n);
    }
    for (int i = 0; i < 500; i++) {
        size_t n = rnd(sizeof buf);
        for (size_t k = 0; k < n; k++)
            buf[k] = (char)(rnd(4) ? 'a' + rnd(8) : rnd(256));
        check_round_trip(b, buf, n);
    }
    /* A long word goes through the heap scratch. */
    char *big = malloc(20000);
    for (int i = 0; i < 20000; i++)
        big[i] = "photodg"[i % 7];
    check_round_trip(b, big, 20000);
    free(big);
    bpe_free(b);
}

static void test_encode_context(void **state)
{
    (void)state;
    bpe *b = train_generated(5, 1000, 700);
    int32_t out[100];
    uint32_t used = 999;
    /* Empty text: SOT, EOT, zeros. */
    for (int i = 0; i < 100; i++)
        out[i] = -7;
    assert_int_equal(bpe_encode(b, "", 0, out, 77, &used), CC_OK);
    assert_int_equal(used, 2);
    assert_int_equal(out[0], bpe_sot(b));
    assert_int_equal(out[1], bpe_eot(b));
    for (int i = 2; i < 77; i++)
        assert_int_equal(out[i], 0);
    assert_int_equal(out[77], -7); /* nothing past ctx */
    /* A short text: its raw tokens between SOT and EOT. */
    const char *s = "a red car parked on the street";
    int32_t *raw = NULL;
    size_t nr = 0, cap = 0;
    assert_int_equal(bpe_encode_raw(b, s, strlen(s), &raw, &nr, &cap), CC_OK);
    assert_int_equal(bpe_encode(b, s, strlen(s), out, 77, &used), CC_OK);
    assert_int_equal(used, nr + 2);
    assert_memory_equal(out + 1, raw, nr * sizeof *raw);
    assert_int_equal(out[nr + 1], bpe_eot(b));
    cc_buf dec;
    cc_buf_init(&dec, 4096);
    assert_int_equal(bpe_decode(b, out, 77, &dec), CC_OK);
    assert_int_equal(dec.len, strlen(s));
    assert_memory_equal(dec.data, s, dec.len);
    free(raw);
    /* Longer than the context: truncated, EOT at ctx - 1, for several ctx. */
    char longtext[4000];
    size_t n = 0;
    while (n < 3000)
        n += (size_t)snprintf(longtext + n, sizeof longtext - n, "word%zu %s ", n, "東京🙂");
    raw = NULL;
    nr = cap = 0;
    assert_int_equal(bpe_encode_raw(b, longtext, n, &raw, &nr, &cap), CC_OK);
    assert_true(nr > 100);
    uint32_t ctxs[] = {3, 4, 16, 77, 100};
    for (size_t c = 0; c < sizeof ctxs / sizeof ctxs[0]; c++) {
        uint32_t ctx = ctxs[c];
        assert_int_equal(bpe_encode(b, longtext, n, out, ctx, &used), CC_OK);
        assert_int_equal(used, ctx);
        assert_int_equal(out[0], bpe_sot(b));
        assert_int_equal(out[ctx - 1], bpe_eot(b));
        assert_memory_equal(out + 1, raw, (ctx - 2) * sizeof *raw);
    }
    free(raw);
    /* Exactly ctx - 2 tokens fit without truncation. */
    assert_int_equal(bpe_encode(b, "a a a", 5, out, 5, &used), CC_OK);
    assert_int_equal(used, 5);
    assert_int_equal(out[4], bpe_eot(b));
    assert_int_equal(bpe_encode(b, "a a a", 5, out, 5, NULL), CC_OK);
    /* Errors. */
    assert_int_equal(bpe_encode(b, "a", 1, out, 2, &used), CC_E_INVAL);
    int32_t bad[] = {bpe_sot(b), 5, (int32_t)bpe_vocab(b)};
    cc_buf_reset(&dec);
    assert_int_equal(bpe_decode(b, bad, 3, &dec), CC_E_INVAL);
    bad[2] = -1;
    assert_int_equal(bpe_decode(b, bad, 3, &dec), CC_E_INVAL);
    cc_buf_free(&dec);
    bpe_free(b);
}

static void test_every_byte(void **state)
{
    (void)state;
    bpe *b = train_generated(9, 500, 600);
    for (int c = 0; c < 256; c++) {
        char one = (char)c;
        int32_t *toks = NULL;
        size_t nt = 0, cap = 0;
        assert_int_equal(bpe_encode_raw(b, &one, 1, &toks, &nt, &cap), CC_OK);
        int space = c == ' ' || (c >= '\t' && c <= '\r');
        if (space) {
            assert_int_equal(nt, 0);
        } else {
            int lower = c >= 'A' && c <= 'Z' ? c + 32 : c;
            assert_int_equal(nt, 1);
            assert_int_equal(toks[0], 256 + lower); /* a lone byte ends its word */
        }
        free(toks);
        /* Inside words, next to letters, digits and punctuation. */
        char text[8] = {'a', (char)c, 'b', ' ', '1', (char)c, '!', (char)c};
        check_round_trip(b, text, sizeof text);
    }
    bpe_free(b);
}

/* ---- files --------------------------------------------------------------------------------- */

static void write_bytes(const char *path, const uint8_t *p, size_t n)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(p, 1, n, f), n);
    assert_int_equal(fclose(f), 0);
}

/* Writes a copy of good (n bytes) changed by fn, with its checksum redone when resum. */
static cc_status load_variant(const uint8_t *good, size_t n, size_t keep, int resum,
                              void (*fn)(uint8_t *), const char *want_msg)
{
    uint8_t *p = malloc(n);
    memcpy(p, good, n);
    if (fn)
        fn(p);
    if (resum)
        cc_store_u64(p + keep - 8, cc_hash64(p, keep - 8));
    char path[512];
    path_of(path, sizeof path, "variant.bpe");
    write_bytes(path, p, keep);
    free(p);
    bpe *b = (bpe *)1;
    cc_status st = bpe_load(path, &b);
    if (st == CC_OK)
        bpe_free(b);
    else
        assert_ptr_equal(b, (bpe *)1); /* untouched on failure */
    if (want_msg && !strstr(cc_errmsg(), want_msg))
        fail_msg("message \"%s\" lacks \"%s\"", cc_errmsg(), want_msg);
    return st;
}

static void bad_magic(uint8_t *p)
{
    p[0] = 'X';
}
static void bad_version(uint8_t *p)
{
    cc_store_u32(p + 8, 2);
}
static void bad_header_size(uint8_t *p)
{
    cc_store_u32(p + 12, 16);
}
static void bad_vocab(uint8_t *p)
{
    cc_store_u32(p + 16, cc_load_u32(p + 16) + 1);
}
static void bad_context(uint8_t *p)
{
    cc_store_u32(p + 24, 2);
}
static void flip_merge(uint8_t *p)
{
    p[32 + 8 * 3] ^= 1;
}
static void forward_ref(uint8_t *p)
{
    cc_store_u32(p + 32 + 8 * 2 + 4, 512 + 2); /* merge 2 refers to itself */
}
static void duplicate(uint8_t *p)
{
    memcpy(p + 32 + 8 * 5, p + 32 + 8 * 4, 8);
}

static void test_save_load(void **state)
{
    (void)state;
    bpe_trainer *t = NULL;
    assert_int_equal(bpe_trainer_new(0, &t), CC_OK);
    rng_state = 21;
    char buf[512];
    for (int i = 0; i < 1000; i++) {
        size_t k = gen_caption(buf, sizeof buf);
        assert_int_equal(bpe_trainer_add(t, buf, k), CC_OK);
    }
    bpe *b = NULL;
    assert_int_equal(bpe_trainer_finish(t, 700, 32, &b), CC_OK);
    bpe_trainer_free(t);
    char path[512], path2[512];
    path_of(path, sizeof path, "tok.bpe");
    path_of(path2, sizeof path2, "tok2.bpe");
    assert_int_equal(bpe_save(b, path), CC_OK);
    bpe *l = NULL;
    assert_int_equal(bpe_load(path, &l), CC_OK);
    assert_int_equal(bpe_vocab(l), 700);
    assert_int_equal(bpe_merges(l), 700 - 514);
    assert_int_equal(bpe_context(l), 32);
    assert_int_equal(bpe_sot(l), 698);
    assert_int_equal(bpe_eot(l), 699);
    /* Same encodings, and the same bytes when saved again. */
    rng_state = 77;
    for (int i = 0; i < 300; i++) {
        size_t k = gen_caption(buf, sizeof buf);
        int32_t x[32], y[32];
        uint32_t nx, ny;
        assert_int_equal(bpe_encode(b, buf, k, x, 32, &nx), CC_OK);
        assert_int_equal(bpe_encode(l, buf, k, y, 32, &ny), CC_OK);
        assert_int_equal(nx, ny);
        assert_memory_equal(x, y, sizeof x);
    }
    assert_int_equal(bpe_save(l, path2), CC_OK);
    cc_buf f1, f2;
    cc_buf_init(&f1, 1 << 20);
    cc_buf_init(&f2, 1 << 20);
    assert_int_equal(cc_read_file(path, &f1), CC_OK);
    assert_int_equal(cc_read_file(path2, &f2), CC_OK);
    assert_int_equal(f1.len, 32 + 8 * (700 - 514) + 8);
    assert_int_equal(f1.len, f2.len);
    assert_memory_equal(f1.data, f2.data, f1.len);
    assert_memory_equal(f1.data, "CCBPE\0\0\1", 8);
    assert_int_equal(cc_load_u32(f1.data + 8), 1);
    assert_int_equal(cc_load_u32(f1.data + 12), 32);
    assert_int_equal(cc_load_u32(f1.data + 16), 700);
    assert_int_equal(cc_load_u32(f1.data + 20), 700 - 514);
    assert_int_equal(cc_load_u32(f1.data + 24), 32);
    assert_int_equal(cc_load_u32(f1.data + 28), 0);
    assert_int_equal(cc_load_u64(f1.data + f1.len - 8), cc_hash64(f1.data, f1.len - 8));
    char tmp[600];
    snprintf(tmp, sizeof tmp, "%s.tmp", path2);
    assert_false(cc_exists(tmp)); /* the temporary file is gone after the rename */
    bpe_free(l);

    /* Damage. */
    const uint8_t *g = f1.data;
    size_t n = f1.len;
    assert_int_equal(load_variant(g, n, n, 0, NULL, NULL), CC_OK); /* the control */
    {
        bpe *ok = NULL;
        assert_int_equal(bpe_load(path, &ok), CC_OK);
        bpe_free(ok);
    }
    assert_int_equal(load_variant(g, n, n, 0, bad_magic, "not a clipcrawl tokenizer"), CC_E_FORMAT);
    assert_int_equal(load_variant(g, n, n, 1, bad_version, "upgrade"), CC_E_VERSION);
    assert_int_equal(load_variant(g, n, n, 1, bad_header_size, "header size"), CC_E_FORMAT);
    assert_int_equal(load_variant(g, n, n - 9, 0, NULL, "truncated"), CC_E_FORMAT);
    assert_int_equal(load_variant(g, n, 20, 0, NULL, NULL), CC_E_FORMAT);
    assert_int_equal(load_variant(g, n, 5, 0, NULL, "not a clipcrawl tokenizer"), CC_E_FORMAT);
    assert_int_equal(load_variant(g, n, 0, 0, NULL, NULL), CC_E_FORMAT);
    assert_int_equal(load_variant(g, n, n, 0, flip_merge, "checksum"), CC_E_CHECKSUM);
    assert_int_equal(load_variant(g, n, n, 1, bad_vocab, "514 + merges"), CC_E_FORMAT);
    assert_int_equal(load_variant(g, n, n, 1, bad_context, "context"), CC_E_FORMAT);
    assert_int_equal(load_variant(g, n, n, 1, forward_ref, "below its own id"), CC_E_FORMAT);
    assert_int_equal(load_variant(g, n, n, 1, duplicate, "repeats"), CC_E_FORMAT);
    char missing[512];
    path_of(missing, sizeof missing, "missing.bpe");
    assert_int_equal(bpe_load(missing, &l), CC_E_IO);
    assert_non_null(strstr(cc_errmsg(), "missing.bpe"));
    /* Saving into a folder that does not exist fails cleanly. */
    path_of(missing, sizeof missing, "no/such/dir.bpe");
    assert_int_not_equal(bpe_save(b, missing), CC_OK);
    cc_buf_free(&f1);
    cc_buf_free(&f2);
    bpe_free(b);
}

/* Random damage with the checksum redone (so that the layout checks are what stands): loading
 * never crashes, and whatever loads encodes and decodes within its vocabulary. */
static void test_load_random_damage(void **state)
{
    (void)state;
    bpe *b = train_generated(17, 300, 560);
    char path[512];
    path_of(path, sizeof path, "good.bpe");
    assert_int_equal(bpe_save(b, path), CC_OK);
    bpe_free(b);
    cc_buf f;
    cc_buf_init(&f, 1 << 20);
    assert_int_equal(cc_read_file(path, &f), CC_OK);
    path_of(path, sizeof path, "damaged.bpe");
    uint8_t *p = malloc(f.len);
    rng_state = 5;
    int loaded = 0, rejected = 0;
    for (int it = 0; it < 400; it++) {
        memcpy(p, f.data, f.len);
        int k = 1 + (int)rnd(3);
        for (int j = 0; j < k; j++) {
            size_t at = rnd(4) == 0 ? 8 + rnd(24) : 32 + rnd((uint32_t)f.len - 40);
            p[at] = rnd(2) ? (uint8_t)rnd(256) : (uint8_t)(p[at] ^ (1u << rnd(8)));
        }
        cc_store_u64(p + f.len - 8, cc_hash64(p, f.len - 8));
        write_bytes(path, p, f.len);
        bpe *d = NULL;
        cc_status st = bpe_load(path, &d);
        if (st != CC_OK) {
            assert_true(st == CC_E_FORMAT || st == CC_E_VERSION);
            rejected++;
            continue;
        }
        loaded++;
        int32_t out[32];
        uint32_t used;
        cc_buf dec;
        cc_buf_init(&dec, 1 << 16);
        assert_int_equal(bpe_encode(d, "a photo of the dog", 18, out, 32, &used), CC_OK);
        for (uint32_t i = 0; i < used; i++)
            assert_true(out[i] >= 0 && (uint32_t)out[i] < bpe_vocab(d));
        assert_int_equal(bpe_decode(d, out, 32, &dec), CC_OK);
        assert_int_equal(dec.len, 18);
        cc_buf_free(&dec);
        bpe_free(d);
    }
    assert_true(loaded > 0 && rejected > 0);
    free(p);
    cc_buf_free(&f);
}

/* A hand-written file whose token 514 spells "abc" but is unreachable: (a,b) ranks before (b,c),
 * so "abc" encodes as ab + c</w>, whatever a shortcut from words to whole tokens would say. */
static void test_unreachable_token(void **state)
{
    (void)state;
    uint8_t f[32 + 3 * 8 + 8] = "CCBPE\0\0\1";
    cc_store_u32(f + 8, 1);
    cc_store_u32(f + 12, 32);
    cc_store_u32(f + 16, 514 + 3);
    cc_store_u32(f + 20, 3);
    cc_store_u32(f + 24, 77);
    uint32_t merges[] = {'a', 'b', 'b', 256 + 'c', 'a', 513};
    for (int i = 0; i < 6; i++)
        cc_store_u32(f + 32 + 4 * i, merges[i]);
    cc_store_u64(f + sizeof f - 8, cc_hash64(f, sizeof f - 8));
    char path[512];
    path_of(path, sizeof path, "hand.bpe");
    write_bytes(path, f, sizeof f);
    bpe *b = NULL;
    assert_int_equal(bpe_load(path, &b), CC_OK);
    int32_t *toks = NULL;
    size_t nt = 0, cap = 0;
    assert_int_equal(bpe_encode_raw(b, "abc bc", 6, &toks, &nt, &cap), CC_OK);
    int32_t want[] = {512, 256 + 'c', 513};
    assert_int_equal(nt, 3);
    assert_memory_equal(toks, want, sizeof want);
    free(toks);
    bpe_free(b);
}

/* ---- threads ------------------------------------------------------------------------------- */

#define THREAD_TEXTS 2000

typedef struct {
    const bpe *b;
    int32_t *out; /* THREAD_TEXTS × 77 */
    int failed;
} thread_job;

static void *encode_all(void *arg)
{
    thread_job *j = arg;
    uint64_t s = 4242;
    char buf[600];
    for (int i = 0; i < THREAD_TEXTS; i++) {
        /* The generator's state is global; use a local one here. */
        size_t n = 0;
        uint32_t words = 1 + (uint32_t)(s % 20);
        for (uint32_t w = 0; w < words; w++) {
            s = s * 6364136223846793005ULL + 1442695040888963407ULL;
            const char *word = vocab_words[(s >> 33) % NVOCAB];
            int k = snprintf(buf + n, sizeof buf - n, "%s ", word);
            if (k < 0 || (size_t)k >= sizeof buf - n)
                break;
            n += (size_t)k;
        }
        if (bpe_encode(j->b, buf, n, j->out + (size_t)i * 77, 77, NULL) != CC_OK)
            j->failed = 1;
    }
    return NULL;
}

static void test_threads(void **state)
{
    (void)state;
    bpe *b = train_generated(13, 2000, 1000);
    thread_job jobs[3];
    for (int i = 0; i < 3; i++)
        jobs[i] = (thread_job){b, calloc((size_t)THREAD_TEXTS * 77, sizeof(int32_t)), 0};
    encode_all(&jobs[0]); /* alone first */
    pthread_t th[2];
    for (int i = 0; i < 2; i++)
        assert_int_equal(pthread_create(&th[i], NULL, encode_all, &jobs[1 + i]), 0);
    for (int i = 0; i < 2; i++)
        assert_int_equal(pthread_join(th[i], NULL), 0);
    for (int i = 0; i < 3; i++)
        assert_false(jobs[i].failed);
    assert_memory_equal(jobs[0].out, jobs[1].out, (size_t)THREAD_TEXTS * 77 * sizeof(int32_t));
    assert_memory_equal(jobs[0].out, jobs[2].out, (size_t)THREAD_TEXTS * 77 * sizeof(int32_t));
    for (int i = 0; i < 3; i++)
        free(jobs[i].out);
    bpe_free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_clean),
        cmocka_unit_test(test_pretokenize),
        cmocka_unit_test(test_train_hand_checked),
        cmocka_unit_test(test_train_deterministic),
        cmocka_unit_test(test_train_word_cap),
        cmocka_unit_test(test_encode_matches_reference),
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_encode_context),
        cmocka_unit_test(test_every_byte),
        cmocka_unit_test(test_save_load),
        cmocka_unit_test(test_load_random_damage),
        cmocka_unit_test(test_unreachable_token),
        cmocka_unit_test(test_threads),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
