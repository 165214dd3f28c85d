/* tests/unit/test_utf8.c — the strict decoder against every canonical encoding, the encoder,
 * validation, the case-folding rules against Python's str.casefold() for every code point of
 * U+0000–U+04FF, the character classes and cc_utf8_fold_str.
 *
 * Byte strings are decoded from exact-size heap copies, so that AddressSanitizer (make check)
 * catches any read past the end.
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

/* (code point, simple case fold) for every code point of U+0000–U+017F and U+0370–U+04FF
 * whose fold differs from itself; generated with Python 3.11 (Unicode 14.0) str.casefold()
 * on single characters, skipping those whose fold expands. */
static const uint32_t fold_pairs[][2] = {
    {0x0041, 0x0061}, {0x0042, 0x0062}, {0x0043, 0x0063}, {0x0044, 0x0064}, {0x0045, 0x0065},
    {0x0046, 0x0066}, {0x0047, 0x0067}, {0x0048, 0x0068}, {0x0049, 0x0069}, {0x004A, 0x006A},
    {0x004B, 0x006B}, {0x004C, 0x006C}, {0x004D, 0x006D}, {0x004E, 0x006E}, {0x004F, 0x006F},
    {0x0050, 0x0070}, {0x0051, 0x0071}, {0x0052, 0x0072}, {0x0053, 0x0073}, {0x0054, 0x0074},
    {0x0055, 0x0075}, {0x0056, 0x0076}, {0x0057, 0x0077}, {0x0058, 0x0078}, {0x0059, 0x0079},
    {0x005A, 0x007A}, {0x00B5, 0x03BC}, {0x00C0, 0x00E0}, {0x00C1, 0x00E1}, {0x00C2, 0x00E2},
    {0x00C3, 0x00E3}, {0x00C4, 0x00E4}, {0x00C5, 0x00E5}, {0x00C6, 0x00E6}, {0x00C7, 0x00E7},
    {0x00C8, 0x00E8}, {0x00C9, 0x00E9}, {0x00CA, 0x00EA}, {0x00CB, 0x00EB}, {0x00CC, 0x00EC},
    {0x00CD, 0x00ED}, {0x00CE, 0x00EE}, {0x00CF, 0x00EF}, {0x00D0, 0x00F0}, {0x00D1, 0x00F1},
    {0x00D2, 0x00F2}, {0x00D3, 0x00F3}, {0x00D4, 0x00F4}, {0x00D5, 0x00F5}, {0x00D6, 0x00F6},
    {0x00D8, 0x00F8}, {0x00D9, 0x00F9}, {0x00DA, 0x00FA}, {0x00DB, 0x00FB}, {0x00DC, 0x00FC},
    {0x00DD, 0x00FD}, {0x00DE, 0x00FE}, {0x0100, 0x0101}, {0x0102, 0x0103}, {0x0104, 0x0105},
    {0x0106, 0x0107}, {0x0108, 0x0109}, {0x010A, 0x010B}, {0x010C, 0x010D}, {0x010E, 0x010F},
    {0x0110, 0x0111}, {0x0112, 0x0113}, {0x0114, 0x0115}, {0x0116, 0x0117}, {0x0118, 0x0119},
    {0x011A, 0x011B}, {0x011C, 0x011D}, {0x011E, 0x011F}, {0x0120, 0x0121}, {0x0122, 0x0123},
    {0x0124, 0x0125}, {0x0126, 0x0127}, {0x0128, 0x0129}, {0x012A, 0x012B}, {0x012C, 0x012D},
    {0x012E, 0x012F}, {0x0132, 0x0133}, {0x0134, 0x0135}, {0x0136, 0x0137}, {0x0139, 0x013A},
    {0x013B, 0x013C}, {0x013D, 0x013E}, {0x013F, 0x0140}, {0x0141, 0x0142}, {0x0143, 0x0144},
    {0x0145, 0x0146}, {0x0147, 0x0148}, {0x014A, 0x014B}, {0x014C, 0x014D}, {0x014E, 0x014F},
    {0x0150, 0x0151}, {0x0152, 0x0153}, {0x0154, 0x0155}, {0x0156, 0x0157}, {0x0158, 0x0159},
    {0x015A, 0x015B}, {0x015C, 0x015D}, {0x015E, 0x015F}, {0x0160, 0x0161}, {0x0162, 0x0163},
    {0x0164, 0x0165}, {0x0166, 0x0167}, {0x0168, 0x0169}, {0x016A, 0x016B}, {0x016C, 0x016D},
    {0x016E, 0x016F}, {0x0170, 0x0171}, {0x0172, 0x0173}, {0x0174, 0x0175}, {0x0176, 0x0177},
    {0x0178, 0x00FF}, {0x0179, 0x017A}, {0x017B, 0x017C}, {0x017D, 0x017E}, {0x017F, 0x0073},
    {0x0370, 0x0371}, {0x0372, 0x0373}, {0x0376, 0x0377}, {0x037F, 0x03F3}, {0x0386, 0x03AC},
    {0x0388, 0x03AD}, {0x0389, 0x03AE}, {0x038A, 0x03AF}, {0x038C, 0x03CC}, {0x038E, 0x03CD},
    {0x038F, 0x03CE}, {0x0391, 0x03B1}, {0x0392, 0x03B2}, {0x0393, 0x03B3}, {0x0394, 0x03B4},
    {0x0395, 0x03B5}, {0x0396, 0x03B6}, {0x0397, 0x03B7}, {0x0398, 0x03B8}, {0x0399, 0x03B9},
    {0x039A, 0x03BA}, {0x039B, 0x03BB}, {0x039C, 0x03BC}, {0x039D, 0x03BD}, {0x039E, 0x03BE},
    {0x039F, 0x03BF}, {0x03A0, 0x03C0}, {0x03A1, 0x03C1}, {0x03A3, 0x03C3}, {0x03A4, 0x03C4},
    {0x03A5, 0x03C5}, {0x03A6, 0x03C6}, {0x03A7, 0x03C7}, {0x03A8, 0x03C8}, {0x03A9, 0x03C9},
    {0x03AA, 0x03CA}, {0x03AB, 0x03CB}, {0x03C2, 0x03C3}, {0x03CF, 0x03D7}, {0x03D0, 0x03B2},
    {0x03D1, 0x03B8}, {0x03D5, 0x03C6}, {0x03D6, 0x03C0}, {0x03D8, 0x03D9}, {0x03DA, 0x03DB},
    {0x03DC, 0x03DD}, {0x03DE, 0x03DF}, {0x03E0, 0x03E1}, {0x03E2, 0x03E3}, {0x03E4, 0x03E5},
    {0x03E6, 0x03E7}, {0x03E8, 0x03E9}, {0x03EA, 0x03EB}, {0x03EC, 0x03ED}, {0x03EE, 0x03EF},
    {0x03F0, 0x03BA}, {0x03F1, 0x03C1}, {0x03F4, 0x03B8}, {0x03F5, 0x03B5}, {0x03F7, 0x03F8},
    {0x03F9, 0x03F2}, {0x03FA, 0x03FB}, {0x03FD, 0x037B}, {0x03FE, 0x037C}, {0x03FF, 0x037D},
    {0x0400, 0x0450}, {0x0401, 0x0451}, {0x0402, 0x0452}, {0x0403, 0x0453}, {0x0404, 0x0454},
    {0x0405, 0x0455}, {0x0406, 0x0456}, {0x0407, 0x0457}, {0x0408, 0x0458}, {0x0409, 0x0459},
    {0x040A, 0x045A}, {0x040B, 0x045B}, {0x040C, 0x045C}, {0x040D, 0x045D}, {0x040E, 0x045E},
    {0x040F, 0x045F}, {0x0410, 0x0430}, {0x0411, 0x0431}, {0x0412, 0x0432}, {0x0413, 0x0433},
    {0x0414, 0x0434}, {0x0415, 0x0435}, {0x0416, 0x0436}, {0x0417, 0x0437}, {0x0418, 0x0438},
    {0x0419, 0x0439}, {0x041A, 0x043A}, {0x041B, 0x043B}, {0x041C, 0x043C}, {0x041D, 0x043D},
    {0x041E, 0x043E}, {0x041F, 0x043F}, {0x0420, 0x0440}, {0x0421, 0x0441}, {0x0422, 0x0442},
    {0x0423, 0x0443}, {0x0424, 0x0444}, {0x0425, 0x0445}, {0x0426, 0x0446}, {0x0427, 0x0447},
    {0x0428, 0x0448}, {0x0429, 0x0449}, {0x042A, 0x044A}, {0x042B, 0x044B}, {0x042C, 0x044C},
    {0x042D, 0x044D}, {0x042E, 0x044E}, {0x042F, 0x044F}, {0x0460, 0x0461}, {0x0462, 0x0463},
    {0x0464, 0x0465}, {0x0466, 0x0467}, {0x0468, 0x0469}, {0x046A, 0x046B}, {0x046C, 0x046D},
    {0x046E, 0x046F}, {0x0470, 0x0471}, {0x0472, 0x0473}, {0x0474, 0x0475}, {0x0476, 0x0477},
    {0x0478, 0x0479}, {0x047A, 0x047B}, {0x047C, 0x047D}, {0x047E, 0x047F}, {0x0480, 0x0481},
    {0x048A, 0x048B}, {0x048C, 0x048D}, {0x048E, 0x048F}, {0x0490, 0x0491}, {0x0492, 0x0493},
    {0x0494, 0x0495}, {0x0496, 0x0497}, {0x0498, 0x0499}, {0x049A, 0x049B}, {0x049C, 0x049D},
    {0x049E, 0x049F}, {0x04A0, 0x04A1}, {0x04A2, 0x04A3}, {0x04A4, 0x04A5}, {0x04A6, 0x04A7},
    {0x04A8, 0x04A9}, {0x04AA, 0x04AB}, {0x04AC, 0x04AD}, {0x04AE, 0x04AF}, {0x04B0, 0x04B1},
    {0x04B2, 0x04B3}, {0x04B4, 0x04B5}, {0x04B6, 0x04B7}, {0x04B8, 0x04B9}, {0x04BA, 0x04BB},
    {0x04BC, 0x04BD}, {0x04BE, 0x04BF}, {0x04C0, 0x04CF}, {0x04C1, 0x04C2}, {0x04C3, 0x04C4},
    {0x04C5, 0x04C6}, {0x04C7, 0x04C8}, {0x04C9, 0x04CA}, {0x04CB, 0x04CC}, {0x04CD, 0x04CE},
    {0x04D0, 0x04D1}, {0x04D2, 0x04D3}, {0x04D4, 0x04D5}, {0x04D6, 0x04D7}, {0x04D8, 0x04D9},
    {0x04DA, 0x04DB}, {0x04DC, 0x04DD}, {0x04DE, 0x04DF}, {0x04E0, 0x04E1}, {0x04E2, 0x04E3},
    {0x04E4, 0x04E5}, {0x04E6, 0x04E7}, {0x04E8, 0x04E9}, {0x04EA, 0x04EB}, {0x04EC, 0x04ED},
    {0x04EE, 0x04EF}, {0x04F0, 0x04F1}, {0x04F2, 0x04F3}, {0x04F4, 0x04F5}, {0x04F6, 0x04F7},
    {0x04F8, 0x04F9}, {0x04FA, 0x04FB}, {0x04FC, 0x04FD}, {0x04FE, 0x04FF},
};

/* Decodes the first n bytes of p from an exact-size heap copy. */
static size_t decode_exact(const uint8_t *p, size_t n, uint32_t *cp)
{
    uint8_t *copy = malloc(n ? n : 1);
    assert_non_null(copy);
    memcpy(copy, p, n);
    size_t k = cc_utf8_decode(copy, n, cp);
    free(copy);
    return k;
}

/* The length that the lead byte announces: 1..4, or 0 for a byte that cannot lead. */
static size_t lead_length(uint8_t b0)
{
    return b0 < 0x80 ? 1 : b0 < 0xC0 ? 0 : b0 < 0xE0 ? 2 : b0 < 0xF0 ? 3 : b0 < 0xF8 ? 4 : 0;
}

/* decode(b, n) reads the first code point and accepts exactly the canonical encodings: the
 * byte strings that encode() writes back from the value their bit pattern carries. */
static void check_canonical(const uint8_t *b, size_t n)
{
    uint32_t cp = 0xDEAD;
    size_t k = cc_utf8_decode(b, n, &cp);
    size_t len = lead_length(b[0]);
    if (len == 0 || len > n) {
        assert_int_equal(k, 0);
        return;
    }
    static const uint8_t lead_mask[5] = {0, 0x7F, 0x1F, 0x0F, 0x07};
    uint32_t v = b[0] & lead_mask[len];
    for (size_t i = 1; i < len; i++)
        v = v << 6 | (b[i] & 0x3F);
    uint8_t enc[4];
    size_t e = cc_utf8_encode(v, enc);
    if (e == len && memcmp(enc, b, len) == 0) {
        assert_int_equal(k, len);
        assert_int_equal(cp, v);
    } else {
        assert_int_equal(k, 0);
    }
}

static void test_decode_exhaustive(void **state)
{
    (void)state;
    uint8_t b[4];
    for (unsigned x = 0; x < 256; x++) {
        b[0] = (uint8_t)x;
        check_canonical(b, 1);
        for (unsigned y = 0; y < 256; y++) {
            b[1] = (uint8_t)y;
            check_canonical(b, 2);
        }
    }
    /* every 3-byte string that starts with a 3-byte lead */
    for (unsigned x = 0xE0; x < 0xF0; x++)
        for (unsigned y = 0; y < 256; y++)
            for (unsigned z = 0; z < 256; z++) {
                b[0] = (uint8_t)x, b[1] = (uint8_t)y, b[2] = (uint8_t)z;
                check_canonical(b, 3);
            }
    /* 4-byte leads (and F5..FF) with every second and third byte, the last at its edges */
    static const uint8_t last[] = {0x00, 0x7F, 0x80, 0xA5, 0xBF, 0xC0, 0xFF};
    for (unsigned x = 0xF0; x < 0x100; x++)
        for (unsigned y = 0; y < 256; y++)
            for (unsigned z = 0x70; z < 0xD0; z++)
                for (size_t l = 0; l < sizeof last; l++) {
                    b[0] = (uint8_t)x, b[1] = (uint8_t)y, b[2] = (uint8_t)z, b[3] = last[l];
                    check_canonical(b, 4);
                }
}

static void test_decode_cases(void **state)
{
    (void)state;
    static const struct {
        const char *bytes;
        size_t n, len;
        uint32_t cp;
    } cases[] = {
        {"A", 1, 1, 0x41},
        {"\x00", 1, 1, 0},
        {"\xC2\x80", 2, 2, 0x80},
        {"\xDF\xBF", 2, 2, 0x7FF},
        {"\xE0\xA0\x80", 3, 3, 0x800},
        {"\xED\x9F\xBF", 3, 3, 0xD7FF},
        {"\xEE\x80\x80", 3, 3, 0xE000},
        {"\xEF\xBF\xBD", 3, 3, 0xFFFD},
        {"\xEF\xBF\xBF", 3, 3, 0xFFFF},
        {"\xF0\x90\x80\x80", 4, 4, 0x10000},
        {"\xF0\x9F\x98\x80", 4, 4, 0x1F600},
        {"\xF4\x8F\xBF\xBF", 4, 4, 0x10FFFF},
        {"\xC3\xA9tait", 6, 2, 0xE9}, /* only the first code point is read */
        /* invalid: overlongs, surrogates, above U+10FFFF, stray and bad continuations */
        {"\xC0\x80", 2, 0, 0},
        {"\xC1\xBF", 2, 0, 0},
        {"\xE0\x80\x80", 3, 0, 0},
        {"\xE0\x9F\xBF", 3, 0, 0},
        {"\xF0\x80\x80\x80", 4, 0, 0},
        {"\xF0\x8F\xBF\xBF", 4, 0, 0},
        {"\xED\xA0\x80", 3, 0, 0},
        {"\xED\xBF\xBF", 3, 0, 0},
        {"\xF4\x90\x80\x80", 4, 0, 0},
        {"\xF5\x80\x80\x80", 4, 0, 0},
        {"\xFF", 1, 0, 0},
        {"\x80", 1, 0, 0},
        {"\xBF", 1, 0, 0},
        {"\xC3\x28", 2, 0, 0},
        {"\xE2\x28\xA1", 3, 0, 0},
        {"\xF0\x9F\x98\x28", 4, 0, 0},
        /* truncated: valid prefixes cut short */
        {"\xC3", 1, 0, 0},
        {"\xE2\x82", 2, 0, 0},
        {"\xF0\x9F\x98", 3, 0, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint32_t cp = 0;
        size_t k = decode_exact((const uint8_t *)cases[i].bytes, cases[i].n, &cp);
        assert_int_equal(k, cases[i].len);
        if (k)
            assert_int_equal(cp, cases[i].cp);
    }
}

static void test_encode(void **state)
{
    (void)state;
    uint8_t out[4];
    /* every scalar value round-trips with the expected length */
    for (uint32_t cp = 0; cp <= 0x10FFFF; cp++) {
        if (cp == 0xD800)
            cp = 0xE000;
        size_t k = cc_utf8_encode(cp, out);
        size_t want = cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
        assert_int_equal(k, want);
        uint32_t back = 0;
        assert_int_equal(cc_utf8_decode(out, k, &back), k);
        assert_int_equal(back, cp);
    }
    assert_int_equal(cc_utf8_encode(0xD800, out), 0);
    assert_int_equal(cc_utf8_encode(0xDBFF, out), 0);
    assert_int_equal(cc_utf8_encode(0xDFFF, out), 0);
    assert_int_equal(cc_utf8_encode(0x110000, out), 0);
    assert_int_equal(cc_utf8_encode(0xFFFFFFFFu, out), 0);
    assert_int_equal(cc_utf8_encode(0x20AC, out), 3);
    assert_memory_equal(out, "\xE2\x82\xAC", 3);
}

static void test_valid(void **state)
{
    (void)state;
    assert_true(cc_utf8_valid("", 0));
    assert_true(cc_utf8_valid("plain ASCII", 11));
    assert_true(cc_utf8_valid("caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80", 14));
    assert_false(cc_utf8_valid("caf\xC3", 4)); /* truncated at the end */
    assert_false(cc_utf8_valid("a\xC0\xAF", 3)); /* overlong '/' */
    assert_false(cc_utf8_valid("\xED\xA0\x80", 3)); /* surrogate */
    assert_false(cc_utf8_valid("ok\x80ok", 5));
    /* the length is honoured: a NUL is data, and bytes past n are not read */
    assert_true(cc_utf8_valid("a\0b", 3));
    assert_true(cc_utf8_valid("ab\xFF", 2));
}

static void test_fold_every_code_point(void **state)
{
    (void)state;
    static uint32_t want[0x500];
    for (uint32_t cp = 0; cp < 0x500; cp++)
        want[cp] = cp;
    for (size_t i = 0; i < sizeof fold_pairs / sizeof fold_pairs[0]; i++)
        want[fold_pairs[i][0]] = fold_pairs[i][1];
    /* U+0130 İ has only a full folding ("i" + U+0307); we fold it to 'i' */
    want[0x130] = 0x69;
    /* Latin Extended-B, IPA, spacing modifiers and combining marks are not covered: the
     * table above holds nothing there and they must fold to themselves */
    for (uint32_t cp = 0; cp < 0x500; cp++)
        if (cc_utf8_fold(cp) != want[cp])
            fail_msg("fold(U+%04X) = U+%04X, expected U+%04X", cp, cc_utf8_fold(cp), want[cp]);
    /* the ones whose folding expands stay */
    assert_int_equal(cc_utf8_fold(0xDF), 0xDF); /* ß */
    assert_int_equal(cc_utf8_fold(0x149), 0x149); /* ŉ */
    assert_int_equal(cc_utf8_fold(0x390), 0x390); /* ΐ */
    assert_int_equal(cc_utf8_fold(0x3B0), 0x3B0); /* ΰ */
    /* spot checks from the brief, independent of the table */
    assert_int_equal(cc_utf8_fold('Q'), 'q');
    assert_int_equal(cc_utf8_fold(0xC9), 0xE9); /* É */
    assert_int_equal(cc_utf8_fold(0xD7), 0xD7); /* × */
    assert_int_equal(cc_utf8_fold(0xB5), 0x3BC); /* µ → μ */
    assert_int_equal(cc_utf8_fold(0x178), 0xFF); /* Ÿ */
    assert_int_equal(cc_utf8_fold(0x17F), 's'); /* ſ */
    assert_int_equal(cc_utf8_fold(0x3A3), 0x3C3); /* Σ */
    assert_int_equal(cc_utf8_fold(0x3C2), 0x3C3); /* ς */
    assert_int_equal(cc_utf8_fold(0x386), 0x3AC); /* Ά */
    assert_int_equal(cc_utf8_fold(0x401), 0x451); /* Ё */
    assert_int_equal(cc_utf8_fold(0x42F), 0x44F); /* Я */
    assert_int_equal(cc_utf8_fold(0x4C0), 0x4CF); /* Ӏ */
    /* outside the covered blocks everything folds to itself */
    static const uint32_t same[] = {0x0189, 0x01C4, 0x0245,  0x1E00, 0x1E9E, 0x2126,
                                    0x212A, 0x24B6, 0x10400, 0xFF21, 0xFFFD, 0x10FFFF};
    for (size_t i = 0; i < sizeof same / sizeof same[0]; i++)
        assert_int_equal(cc_utf8_fold(same[i]), same[i]);
}

static void test_space(void **state)
{
    (void)state;
    static const uint32_t spaces[] = {0x09,   0x0A,   0x0B,   0x0C,   0x0D,   0x20,   0x85,
                                      0xA0,   0x1680, 0x2000, 0x2001, 0x2002, 0x2003, 0x2004,
                                      0x2005, 0x2006, 0x2007, 0x2008, 0x2009, 0x200A, 0x2028,
                                      0x2029, 0x202F, 0x205F, 0x3000};
    size_t found = 0;
    for (uint32_t cp = 0; cp <= 0x10FFFF; cp++) {
        int want = 0;
        for (size_t i = 0; i < sizeof spaces / sizeof spaces[0]; i++)
            want |= spaces[i] == cp;
        if (cc_utf8_is_space(cp) != want)
            fail_msg("is_space(U+%04X) != %d", cp, want);
        found += (size_t)want;
    }
    assert_int_equal(found, sizeof spaces / sizeof spaces[0]);
    assert_false(cc_utf8_is_space(0x200B)); /* zero-width space is not White_Space */
    assert_false(cc_utf8_is_space(0xFEFF));
}

static void test_word_and_control(void **state)
{
    (void)state;
    static const uint32_t words[] = {'a',     'Z',    '0',    '9',    0xC0,   0xE9,
                                     0xFF,    0x3B1,  0x436,  0x4E00, 0x3042, 0xAC00,
                                     0x1F600, 0xFF21, 0xFF10, 0x20AC};
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
        if (!cc_utf8_is_word(words[i]))
            fail_msg("U+%04X should be a word character", words[i]);
    static const uint32_t nonwords[] = {
        '_',    '\'',   '-',    ' ',    '@',    0x7F,   0xA0,   0xAA,   0xB5,   0xBF,   0xD7,
        0xF7,   0x1680, 0x2003, 0x2014, 0x2019, 0x201C, 0x2026, 0x206F, 0x3000, 0x3001, 0x300C,
        0x303F, 0xFF01, 0xFF0C, 0xFF1F, 0xFF3B, 0xFF5E, 0xFF61, 0xFF65, 0xFFFD};
    for (size_t i = 0; i < sizeof nonwords / sizeof nonwords[0]; i++)
        if (cc_utf8_is_word(nonwords[i]))
            fail_msg("U+%04X should not be a word character", nonwords[i]);

    for (uint32_t cp = 0; cp < 0x20; cp++)
        assert_int_equal(cc_utf8_is_control(cp), !cc_utf8_is_space(cp));
    for (uint32_t cp = 0x20; cp < 0x7F; cp++)
        assert_false(cc_utf8_is_control(cp));
    for (uint32_t cp = 0x7F; cp < 0xA0; cp++)
        assert_int_equal(cc_utf8_is_control(cp), cp != 0x85);
    static const uint32_t invisible[] = {0xAD,   0x61C,  0x180E, 0x200B, 0x200C,
                                         0x200D, 0x200E, 0x200F, 0x202A, 0x202E,
                                         0x2060, 0x2064, 0x2066, 0x2069, 0xFEFF};
    for (size_t i = 0; i < sizeof invisible / sizeof invisible[0]; i++)
        if (!cc_utf8_is_control(invisible[i]))
            fail_msg("U+%04X should be removed as invisible", invisible[i]);
    static const uint32_t visible[] = {0xA0, 0xE9, 0x2010, 0x2019, 0x2065, 0x3000, 0xFFFD, 0x1F600};
    for (size_t i = 0; i < sizeof visible / sizeof visible[0]; i++)
        assert_false(cc_utf8_is_control(visible[i]));
}

static void test_fold_str(void **state)
{
    (void)state;
    cc_buf b;
    cc_buf_init(&b, 1024);
    assert_int_equal(cc_buf_append(&b, ">", 1), CC_OK); /* appends, keeps what is there */
    const char *in = "\xC3\x89T\xC3\x89 \xC4\xB0stanbul \xCE\xA3\xCE\x91\xCE\xA3 "
                     "\xD0\x9F\xD0\xA0\xD0\x98\xD0\x92\xD0\x95\xD0\xA2 Stra\xC3\x9F"
                     "e \xE2\x84\xAA \xF0\x9F\x98\x80";
    const char *want = ">\xC3\xA9t\xC3\xA9 istanbul \xCF\x83\xCE\xB1\xCF\x83 "
                       "\xD0\xBF\xD1\x80\xD0\xB8\xD0\xB2\xD0\xB5\xD1\x82 stra\xC3\x9F"
                       "e \xE2\x84\xAA \xF0\x9F\x98\x80";
    assert_int_equal(cc_utf8_fold_str(in, strlen(in), &b), CC_OK);
    assert_int_equal(b.len, strlen(want));
    assert_memory_equal(b.data, want, b.len);

    /* each invalid byte becomes U+FFFD */
    cc_buf_reset(&b);
    assert_int_equal(cc_utf8_fold_str("A\xFF"
                                      "B\xE2\x82",
                                      5, &b),
                     CC_OK);
    const char *rep = "a\xEF\xBF\xBD"
                      "b\xEF\xBF\xBD\xEF\xBF\xBD";
    assert_int_equal(b.len, strlen(rep));
    assert_memory_equal(b.data, rep, b.len);
    cc_buf_free(&b);

    /* the buffer's maximum holds, also when replacements make the output longer */
    cc_buf small;
    cc_buf_init(&small, 4);
    assert_int_equal(cc_utf8_fold_str("ABCD", 4, &small), CC_OK);
    assert_memory_equal(small.data, "abcd", 4);
    cc_buf_reset(&small);
    assert_int_equal(cc_utf8_fold_str("ABCDE", 5, &small), CC_E_LIMIT);
    cc_buf_reset(&small);
    assert_int_equal(cc_utf8_fold_str("\xFF\xFF", 2, &small), CC_E_LIMIT);
    cc_buf_free(&small);
    cc_buf_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_decode_exhaustive),
        cmocka_unit_test(test_decode_cases),
        cmocka_unit_test(test_encode),
        cmocka_unit_test(test_valid),
        cmocka_unit_test(test_fold_every_code_point),
        cmocka_unit_test(test_space),
        cmocka_unit_test(test_word_and_control),
        cmocka_unit_test(test_fold_str),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
