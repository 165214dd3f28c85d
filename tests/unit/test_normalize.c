/* tests/unit/test_normalize.c — the one tokenizer of queries and captions
 * (query_lists/normalize.h): ASCII, punctuation and hyphens, digits, case folding of Latin, Greek
 * and Cyrillic, CJK runs, invalid UTF-8 and every kind of whitespace as separators, empty input,
 * over-long words cut on a character boundary, the output buffer's maximum, and properties over
 * random text (idempotent, single spaces, valid UTF-8, qn_words and qn_normalize agree).
 *
 * Inputs are exact-size heap copies, so that AddressSanitizer (make check) sees any read past the
 * end.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/utf8.h"
#include "query_lists/normalize.h"

/* qn_normalize of the n bytes at s (copied to an exact-size allocation); *words set. */
static char *norm_n(const char *s, size_t n, size_t *words)
{
    char *copy = malloc(n ? n : 1);
    assert_non_null(copy);
    memcpy(copy, s, n);
    cc_buf b;
    cc_buf_init(&b, 1 << 16);
    size_t w = 12345;
    assert_int_equal(qn_normalize(copy, n, &b, &w), CC_OK);
    free(copy);
    assert_non_null(b.data);
    assert_int_equal(b.data[b.len], '\0'); /* NUL-terminated, NUL not counted */
    assert_int_equal(strlen((char *)b.data), b.len);
    if (words)
        *words = w;
    return (char *)b.data; /* the caller frees */
}

static void expect(const char *in, const char *want, size_t want_words)
{
    size_t w;
    char *got = norm_n(in, strlen(in), &w);
    if (strcmp(got, want) != 0 || w != want_words)
        fail_msg("normalize('%s') = '%s' (%zu words), expected '%s' (%zu words)", in, got, w, want,
                 want_words);
    free(got);
}

static void test_ascii_punctuation(void **state)
{
    (void)state;
    expect("Hello, World!", "hello world", 2);
    expect("T-shirt", "t shirt", 2);
    expect("Rock'n'Roll!", "rock n roll", 3);
    expect("a dog's life", "a dog s life", 4);
    expect("snake_case_name", "snake case name", 3); /* '_' is not a word character */
    expect("e-mail: foo@example.com (PDF)", "e mail foo example com pdf", 6);
    expect("  leading and trailing  ", "leading and trailing", 3);
    expect("ALL CAPS Mixed cAsE", "all caps mixed case", 4);
    expect("x", "x", 1);
}

static void test_digits(void **state)
{
    (void)state;
    expect("R2-D2 and C-3PO", "r2 d2 and c 3po", 5);
    expect("3.14159", "3 14159", 2);
    expect("1,000,000 Years", "1 000 000 years", 4);
    expect("2024", "2024", 1);
    expect("iPhone15Pro", "iphone15pro", 1);
}

static void test_unicode_folding(void **state)
{
    (void)state;
    expect("Éclair ÜBER Straße", "éclair über straße", 3); /* ß has no simple fold */
    expect("ÀÉÎÕÜ àéîõü", "àéîõü àéîõü", 2);
    expect("Ångström Łódź", "ångström łódź", 2); /* Latin-1 and Latin Extended-A */
    expect("ΑΘΗΝΑ Ωμέγα", "αθηνα ωμέγα", 2);
    expect("ΣΟΦΊΑ", "σοφία", 1);
    expect("МОСКВА Ёлка ЖУК", "москва ёлка жук", 3);
    expect("Ünïcödé-Wörds", "ünïcödé wörds", 2);
    /* below U+00C0 only ASCII letters and digits are word characters (cc_utf8_is_word): the
     * micro sign, ª and º separate */
    expect("5µm 1ª", "5 m 1", 3);
    expect("5×3÷2", "5 3 2", 3); /* × and ÷ are not word characters */
}

static void test_cjk(void **state)
{
    (void)state;
    /* A run of CJK characters is one word: they are word characters and carry no spaces. */
    expect("東京タワー", "東京タワー", 1);
    expect("東京タワー 北京", "東京タワー 北京", 2);
    expect("東京、大阪。", "東京 大阪", 2); /* CJK punctuation separates */
    expect("東京（とうきょう）", "東京 とうきょう", 2); /* fullwidth parentheses separate */
    expect("Tokyo東京", "tokyo東京", 1); /* no script boundary inside a run */
    expect("한국어 텍스트", "한국어 텍스트", 2);
    expect("ＡＢＣ！", "ＡＢＣ", 1); /* fullwidth letters are word characters, not folded */
}

static void test_invalid_utf8(void **state)
{
    (void)state;
    size_t w;
    char *got;
    got = norm_n("abc\xff"
                 "def",
                 7, &w);
    assert_string_equal(got, "abc def");
    assert_int_equal(w, 2);
    free(got);
    got = norm_n("caf\xc3", 4, &w); /* truncated sequence at the end */
    assert_string_equal(got, "caf");
    assert_int_equal(w, 1);
    free(got);
    got = norm_n("a\xc0\xaf"
                 "b",
                 4, &w); /* overlong '/' */
    assert_string_equal(got, "a b");
    free(got);
    got = norm_n("x\xed\xa0\x80y", 5, &w); /* a UTF-16 surrogate */
    assert_string_equal(got, "x y");
    free(got);
    got = norm_n("\x80\x80\x80", 3, &w); /* stray continuation bytes only */
    assert_string_equal(got, "");
    assert_int_equal(w, 0);
    free(got);
    got = norm_n("caf\xc3\xa9\xc3", 6, &w); /* a valid é before the broken byte */
    assert_string_equal(got, "café");
    free(got);
    /* An embedded NUL byte separates too (n, not strlen, is the length). */
    got = norm_n("ab\0cd", 5, &w);
    assert_string_equal(got, "ab cd");
    assert_int_equal(w, 2);
    free(got);
}

static void test_whitespace_kinds(void **state)
{
    (void)state;
    expect("a\tb\nc\rd\ve\ff g", "a b c d e f g", 7);
    expect("a\xc2\xa0"
           "b",
           "a b", 2); /* U+00A0 no-break space */
    expect("a\xc2\x85"
           "b",
           "a b", 2); /* U+0085 next line */
    expect("a\xe2\x80\x83"
           "b\xe2\x80\xa8"
           "c\xe2\x80\xaf"
           "d",
           "a b c d", 4); /* em space, line separator, narrow no-break space */
    expect("a\xe3\x80\x80"
           "b",
           "a b", 2); /* U+3000 ideographic space */
    expect("a\xe1\x9a\x80"
           "b",
           "a b", 2); /* U+1680 Ogham space mark */
    expect("a\xe2\x80\x8b"
           "b",
           "a b", 2); /* U+200B zero-width space */
    expect("\r\n\t  \xc2\xa0 ", "", 0);
}

static void test_empty_and_punctuation_only(void **state)
{
    (void)state;
    expect("", "", 0);
    expect("!!! ... --- ???", "", 0);
    expect("“”‘’…—–", "", 0); /* General Punctuation */
    expect("()[]{}<>'\"`~@#$%^&*_+=|\\/:;,.", "", 0);
    /* qn_words on nothing calls nothing */
    char scratch[QN_WORD_MAX];
    assert_int_equal(qn_words("", 0, scratch, NULL, NULL), 0);
    assert_int_equal(qn_words("?!", 2, scratch, NULL, NULL), 0);
}

typedef struct collect {
    char words[8][QN_WORD_MAX];
    size_t lens[8];
    size_t n;
} collect;

static void collect_word(void *ctx, const char *word, size_t len)
{
    collect *c = ctx;
    assert_true(c->n < 8);
    assert_true(len > 0 && len < QN_WORD_MAX);
    assert_int_equal(word[len], '\0'); /* terminated in scratch */
    memcpy(c->words[c->n], word, len + 1);
    c->lens[c->n++] = len;
}

static void test_words_callback(void **state)
{
    (void)state;
    const char *s = "The QUICK, brown—fox's Ünïcödé";
    char scratch[QN_WORD_MAX];
    collect c = {.n = 0};
    assert_int_equal(qn_words(s, strlen(s), scratch, collect_word, &c), 6);
    assert_int_equal(c.n, 6);
    const char *want[] = {"the", "quick", "brown", "fox", "s", "ünïcödé"};
    for (size_t i = 0; i < 6; i++) {
        assert_string_equal(c.words[i], want[i]);
        assert_int_equal(c.lens[i], strlen(want[i]));
    }
    /* A prefix of the input is read only up to n bytes. */
    c.n = 0;
    assert_int_equal(qn_words(s, 6, scratch, collect_word, &c), 2); /* "The QU" */
    assert_string_equal(c.words[1], "qu");
}

/* Returns a string of reps copies of unit, prefixed by prefix. */
static char *repeat(const char *prefix, const char *unit, size_t reps, size_t *n)
{
    size_t pl = strlen(prefix), ul = strlen(unit);
    char *s = malloc(pl + ul * reps + 1);
    assert_non_null(s);
    memcpy(s, prefix, pl);
    for (size_t i = 0; i < reps; i++)
        memcpy(s + pl + i * ul, unit, ul);
    *n = pl + ul * reps;
    s[*n] = '\0';
    return s;
}

static void test_long_words_cut(void **state)
{
    (void)state;
    static const struct {
        const char *prefix, *unit;
        size_t reps, want_len; /* bytes kept: the most whole characters within 255 */
    } cases[] = {
        {"", "a", 300, 255},
        {"", "a", 255, 255}, /* exactly at the maximum: kept whole */
        {"", "\xc3\xa9", 200, 254}, /* é: 127 characters, the 128th would split */
        {"a", "\xc3\xa9", 200, 255}, /* 1 + 127 * 2 */
        {"", "東", 100, 255}, /* 85 * 3 */
        {"ab", "東", 100, 254}, /* 2 + 84 * 3 */
        {"", "\xf0\x9f\x98\x80", 70, 252}, /* a 4-byte character: 63 * 4 */
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        size_t n;
        char *s = repeat(cases[k].prefix, cases[k].unit, cases[k].reps, &n);
        /* followed by a second, short word that must survive the cut */
        char *in = malloc(n + 5);
        memcpy(in, s, n);
        memcpy(in + n, " Tail", 5);
        char scratch[QN_WORD_MAX];
        collect c = {.n = 0};
        assert_int_equal(qn_words(in, n + 5, scratch, collect_word, &c), 2);
        if (c.lens[0] != cases[k].want_len)
            fail_msg("case %zu: word cut at %zu bytes, expected %zu", k, c.lens[0],
                     cases[k].want_len);
        assert_true(cc_utf8_valid(c.words[0], c.lens[0]));
        assert_memory_equal(c.words[0], s + 0, c.lens[0]); /* a prefix (already folded) */
        assert_string_equal(c.words[1], "tail");
        size_t w;
        char *got = norm_n(in, n + 5, &w);
        assert_int_equal(w, 2);
        assert_int_equal(strlen(got), cases[k].want_len + 5);
        assert_memory_equal(got, s, cases[k].want_len);
        assert_string_equal(got + cases[k].want_len, " tail");
        free(got);
        free(in);
        free(s);
    }
}

static void test_buffer_limit(void **state)
{
    (void)state;
    cc_buf b;
    /* "hello" needs 5 bytes and its NUL */
    cc_buf_init(&b, 6);
    size_t w = 0;
    assert_int_equal(qn_normalize("Hello!", 6, &b, &w), CC_OK);
    assert_string_equal((char *)b.data, "hello");
    assert_int_equal(w, 1);
    assert_int_equal(qn_normalize("Hello world", 11, &b, &w), CC_E_LIMIT);
    cc_buf_free(&b);
    cc_buf_init(&b, 5);
    assert_int_equal(qn_normalize("Hello", 5, &b, &w), CC_E_LIMIT); /* no room for the NUL */
    cc_buf_free(&b);
    /* The buffer is reset first: a second call does not append. */
    cc_buf_init(&b, 64);
    assert_int_equal(qn_normalize("one two", 7, &b, NULL), CC_OK);
    assert_int_equal(qn_normalize("Three", 5, &b, NULL), CC_OK);
    assert_string_equal((char *)b.data, "three");
    assert_int_equal(b.len, 5);
    cc_buf_free(&b);
}

/* A tiny deterministic generator (xorshift64*). */
static uint64_t rng_next(uint64_t *s)
{
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * 0x2545F4914F6CDD1DULL;
}

static void append_word_cb(void *ctx, const char *word, size_t len)
{
    cc_buf *b = ctx;
    if (b->len)
        assert_int_equal(cc_buf_append(b, " ", 1), CC_OK);
    assert_int_equal(cc_buf_append(b, word, len), CC_OK);
}

static void test_random_properties(void **state)
{
    (void)state;
    /* pieces random text is made of: ASCII, punctuation, Latin, Greek, Cyrillic, CJK, spaces,
     * invalid bytes */
    static const char *const pieces[] = {
        "a",    "Z",    "7",    " ",    "-", "'", "_",  ".",  "\t",       "\n",
        "É",    "ß",    "Σ",    "ς",    "Ж", "ё", "東", "、", "\xc2\xa0", "\xe2\x80\x8b",
        "\xff", "\xc3", "\x80", "ＡＢ", "😀", "ǅ", "İ",  "ϴ"};
    const size_t np = sizeof pieces / sizeof pieces[0];
    uint64_t seed = 0x9E3779B97F4A7C15ULL;
    cc_buf once, twice, joined;
    cc_buf_init(&once, 1 << 16);
    cc_buf_init(&twice, 1 << 16);
    cc_buf_init(&joined, 1 << 16);
    for (int iter = 0; iter < 3000; iter++) {
        char in[1024];
        size_t n = 0, parts = rng_next(&seed) % 60;
        for (size_t i = 0; i < parts; i++) {
            const char *p = pieces[rng_next(&seed) % np];
            size_t pl = strlen(p);
            memcpy(in + n, p, pl);
            n += pl;
        }
        char *copy = malloc(n ? n : 1);
        memcpy(copy, in, n);
        size_t w1, w2;
        assert_int_equal(qn_normalize(copy, n, &once, &w1), CC_OK);
        const char *o = (const char *)once.data;
        /* valid UTF-8, single spaces between words, none at the ends */
        assert_true(cc_utf8_valid(o, once.len));
        if (once.len) {
            assert_true(o[0] != ' ' && o[once.len - 1] != ' ');
            assert_null(strstr(o, "  "));
        }
        size_t spaces = 0;
        for (size_t i = 0; i < once.len; i++)
            spaces += o[i] == ' ';
        assert_int_equal(w1, once.len ? spaces + 1 : 0);
        /* idempotent */
        assert_int_equal(qn_normalize(o, once.len, &twice, &w2), CC_OK);
        assert_int_equal(w2, w1);
        assert_int_equal(twice.len, once.len);
        assert_memory_equal(twice.data, once.data, once.len);
        /* qn_words gives the same words */
        char scratch[QN_WORD_MAX];
        cc_buf_reset(&joined);
        assert_int_equal(qn_words(copy, n, scratch, append_word_cb, &joined), w1);
        assert_int_equal(joined.len, once.len);
        if (once.len)
            assert_memory_equal(joined.data, once.data, once.len);
        free(copy);
    }
    cc_buf_free(&once);
    cc_buf_free(&twice);
    cc_buf_free(&joined);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ascii_punctuation),
        cmocka_unit_test(test_digits),
        cmocka_unit_test(test_unicode_folding),
        cmocka_unit_test(test_cjk),
        cmocka_unit_test(test_invalid_utf8),
        cmocka_unit_test(test_whitespace_kinds),
        cmocka_unit_test(test_empty_and_punctuation_only),
        cmocka_unit_test(test_words_callback),
        cmocka_unit_test(test_long_words_cut),
        cmocka_unit_test(test_buffer_limit),
        cmocka_unit_test(test_random_properties),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
