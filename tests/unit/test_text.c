/* tests/unit/test_text.c — caption normalization, every text rule with real-looking positives
 * and negatives, the blocklist (built in memory and loaded from files) and CLD2 identification.
 *
 * Every caption is checked from an exact-size heap copy without a NUL, so that a read past the
 * end is caught by AddressSanitizer (make check).
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

#include "common/buf.h"
#include "common/utf8.h"
#include "filters/text.h"

/* ---- helpers ------------------------------------------------------------------------------- */

static cc_buf norm; /* shared scratch, as a worker would hold it */

static int setup(void **state)
{
    (void)state;
    cc_buf_init(&norm, 1 << 16);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    cc_buf_free(&norm);
    return 0;
}

/* text_check on an exact-size heap copy of s; the result goes to *res. */
static text_reason check_res(const text_rules *r, const char *s, text_result *res)
{
    size_t n = strlen(s);
    char *copy = malloc(n ? n : 1);
    assert_non_null(copy);
    memcpy(copy, s, n);
    assert_int_equal(text_check(r, copy, n, &norm, res), CC_OK);
    free(copy);
    /* the result always describes the normalized text in the caller's buffer */
    assert_ptr_equal(res->text, (const char *)norm.data);
    assert_int_equal(res->len, norm.len);
    assert_int_equal(res->text[res->len], '\0');
    assert_true((res->reason == TEXT_OK) == (res->message[0] == '\0'));
    return res->reason;
}

static text_reason check(const text_rules *r, const char *s)
{
    text_result res;
    return check_res(r, s, &res);
}

/* Rules that let one-word captions through, to reach the boilerplate rules. */
static text_rules loose_rules(void)
{
    text_rules r;
    text_rules_default(&r);
    r.min_chars = 1;
    r.min_words = 1;
    return r;
}

static void expect_all(const text_rules *r, const char *const *caps, text_reason want)
{
    for (size_t i = 0; caps[i]; i++) {
        text_result res;
        text_reason got = check_res(r, caps[i], &res);
        if (got != want)
            fail_msg("'%s': %s (%s), expected %s", caps[i], text_reason_name(got), res.message,
                     text_reason_name(want));
    }
}

/* Normalizes s (exact-size heap copy of n bytes) and compares with want. */
static void expect_norm(const char *s, size_t n, const char *want, size_t want_invalid)
{
    char *copy = malloc(n ? n : 1);
    assert_non_null(copy);
    memcpy(copy, s, n);
    size_t invalid = 99;
    assert_int_equal(text_normalize(copy, n, &norm, &invalid), CC_OK);
    free(copy);
    if (norm.len != strlen(want) || memcmp(norm.data, want, norm.len) != 0)
        fail_msg("normalized to '%.*s' (%zu bytes), expected '%s'", (int)norm.len,
                 (const char *)norm.data, norm.len, want);
    assert_int_equal(norm.data[norm.len], '\0');
    assert_int_equal(invalid, want_invalid);
    assert_true(cc_utf8_valid(norm.data, norm.len));
}

/* Writes text to a new temporary file; returns its path (static storage). */
static const char *write_temp(const char *text, size_t n)
{
    static char path[64];
    snprintf(path, sizeof path, "/tmp/test_text_XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, n), (ssize_t)n);
    close(fd);
    return path;
}

/* ---- names and defaults -------------------------------------------------------------------- */

static void test_reason_names(void **state)
{
    (void)state;
    for (int i = 0; i < TEXT_R_COUNT; i++) {
        const char *a = text_reason_name((text_reason)i);
        assert_non_null(a);
        assert_string_not_equal(a, "unknown");
        for (int j = 0; j < i; j++)
            assert_string_not_equal(a, text_reason_name((text_reason)j));
    }
    assert_string_equal(text_reason_name(TEXT_OK), "ok");
    assert_string_equal(text_reason_name(TEXT_R_TOO_FEW_WORDS), "too_few_words");
    assert_string_equal(text_reason_name(TEXT_R_NOT_ENGLISH), "not_english");
    assert_string_equal(text_reason_name(TEXT_R_COUNT), "unknown");
    assert_string_equal(text_reason_name((text_reason)-1), "unknown");

    text_rules r;
    memset(&r, 0xAB, sizeof r);
    text_rules_default(&r);
    assert_int_equal(r.min_chars, 6);
    assert_int_equal(r.max_chars, 1000);
    assert_int_equal(r.min_words, 3);
    assert_true(r.max_invalid_frac > 0.099 && r.max_invalid_frac < 0.101);
    assert_int_equal(r.boilerplate, 1);
    assert_int_equal(r.english_only, 0);
    assert_null(r.blocklist);
}

/* ---- normalization ------------------------------------------------------------------------- */

static void test_normalize_whitespace(void **state)
{
    (void)state;
    const char *s = "  A dog\t\t in  the\r\nsnow \n";
    expect_norm(s, strlen(s), "A dog in the snow", 0);
    /* NBSP, ideographic space, em space, NEL, line separator, narrow NBSP all collapse */
    s = "\xC2\xA0Tour\xC2\xA0\xC2\xA0"
        "Eiffel\xE3\x80\x80la\xE2\x80\x83nuit\xC2\x85\xE2\x80\xA8Paris\xE2\x80\xAF!\xE3\x80\x80";
    expect_norm(s, strlen(s), "Tour Eiffel la nuit Paris !", 0);
    /* only whitespace */
    s = " \t\xC2\xA0\xE3\x80\x80 ";
    expect_norm(s, strlen(s), "", 0);
    expect_norm("", 0, "", 0);
    /* the buffer is reset, not appended to */
    expect_norm("first caption", 13, "first caption", 0);
    expect_norm("x", 1, "x", 0);
    /* case, punctuation and non-Latin text are kept as they are */
    s = "\xD0\x9F\xD1\x80\xD0\xB8\xD0\xB2\xD0\xB5\xD1\x82, \xE4\xB8\x96\xE7\x95\x8C! "
        "\xF0\x9F\x98\x80";
    expect_norm(s, strlen(s), s, 0);
}

static void test_normalize_controls(void **state)
{
    (void)state;
    /* C0, DEL and C1 controls go; tab/LF/CR are whitespace */
    const char *s = "a\x01"
                    "b\x7f c\xC2\x9F"
                    "d\x1b[0m e";
    expect_norm(s, strlen(s), "ab cd[0m e", 0);
    /* invisible characters: zero-width space, joiner, BOM, soft hyphen, LRM, word joiner */
    s = "\xEF\xBB\xBF"
        "foo\xE2\x80\x8B"
        "bar super\xC2\xAD"
        "market \xE2\x80\x8E"
        "left\xE2\x81\xA0right";
    expect_norm(s, strlen(s), "foobar supermarket leftright", 0);
    /* a control between spaces leaves one space; controls alone leave nothing */
    expect_norm("a \x01 b", 5, "a b", 0);
    expect_norm("\x01\x02\x03", 3, "", 0);
    /* a NUL inside the input is a control character, not the end */
    expect_norm("ab\0cd", 5, "abcd", 0);
}

static void test_normalize_invalid(void **state)
{
    (void)state;
    /* each invalid byte becomes U+FFFD (EF BF BD) and is counted */
    expect_norm("caf\xE9 au lait", 12, "caf\xEF\xBF\xBD au lait", 1);
    expect_norm("\xE2\x82", 2, "\xEF\xBF\xBD\xEF\xBF\xBD", 2); /* truncated euro sign */
    expect_norm("a\xC0\xAF"
                "b",
                4,
                "a\xEF\xBF\xBD\xEF\xBF\xBD"
                "b",
                2); /* overlong '/' */
    expect_norm("\xED\xA0\x80!", 4, "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD!", 3); /* surrogate */
    expect_norm("\xF4\x90\x80\x80", 4, "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD",
                4); /* above U+10FFFF */
    /* a bad continuation: the lead byte alone is replaced, the next byte is read again */
    expect_norm("\xC3(ok)", 5, "\xEF\xBF\xBD(ok)", 1);
    /* valid sequences around invalid ones survive; spaces still collapse */
    expect_norm("\xC3\xA9t\xC3\xA9  \xFF  \xE2\x82\xAC", 13,
                "\xC3\xA9t\xC3\xA9 \xEF\xBF\xBD \xE2\x82\xAC", 1);
    /* the count may be left out */
    assert_int_equal(text_normalize("\xFF", 1, &norm, NULL), CC_OK);
    assert_int_equal(norm.len, 3);
}

static void test_normalize_limits(void **state)
{
    (void)state;
    cc_buf b;
    /* "abc" needs 4 bytes with its NUL */
    cc_buf_init(&b, 4);
    size_t invalid = 7;
    assert_int_equal(text_normalize("abc", 3, &b, &invalid), CC_OK);
    assert_string_equal((const char *)b.data, "abc");
    assert_int_equal(invalid, 0);
    assert_int_equal(text_normalize("abcd", 4, &b, NULL), CC_E_LIMIT);
    /* the limit is on the output: a long input that collapses fits */
    char spaced[200];
    memset(spaced, ' ', sizeof spaced);
    spaced[50] = 'x';
    spaced[150] = 'y';
    assert_int_equal(text_normalize(spaced, sizeof spaced, &b, NULL), CC_OK);
    assert_string_equal((const char *)b.data, "x y");
    /* replacements make the output longer than the input */
    assert_int_equal(text_normalize("\xFF\xFF", 2, &b, NULL), CC_E_LIMIT);
    cc_buf_free(&b);
    /* no room even for the NUL */
    cc_buf_init(&b, 0);
    assert_int_equal(text_normalize("", 0, &b, NULL), CC_E_LIMIT);
    cc_buf_free(&b);

    /* text_check passes the limit on */
    cc_buf_init(&b, 16);
    text_rules r;
    text_rules_default(&r);
    text_result res;
    assert_int_equal(text_check(&r, "A dog playing in the snow", 25, &b, &res), CC_E_LIMIT);
    assert_int_equal(text_check(&r, "A dog in snow", 13, &b, &res), CC_OK);
    assert_int_equal(res.reason, TEXT_OK);
    cc_buf_free(&b);
}

/* ---- length rules -------------------------------------------------------------------------- */

static void test_check_empty_and_bad_utf8(void **state)
{
    (void)state;
    text_rules r;
    text_rules_default(&r);
    text_result res;
    assert_int_equal(check_res(&r, "", &res), TEXT_R_EMPTY);
    assert_int_equal(res.len, 0);
    assert_string_equal(res.text, "");
    assert_int_equal(check(&r, " \t \xC2\xA0 "), TEXT_R_EMPTY);
    assert_int_equal(check(&r, "\x01\x02\xE2\x80\x8B"), TEXT_R_EMPTY);

    /* 3 of 13 characters invalid > 10% */
    assert_int_equal(check_res(&r, "\xFF\xFE\xFD tea cups", &res), TEXT_R_BAD_UTF8);
    assert_int_equal(res.invalid, 3);
    assert_int_equal(res.chars, 12);
    assert_non_null(strstr(res.message, "3 of 12"));
    /* 1 of 26 is tolerated, and the repaired text is what the result shows */
    assert_int_equal(check_res(&r, "A caf\xE9 on the corner of Rue", &res), TEXT_OK);
    assert_int_equal(res.invalid, 1);
    assert_string_equal(res.text, "A caf\xEF\xBF\xBD on the corner of Rue");
    /* the threshold is a parameter */
    r.max_invalid_frac = 0.0;
    assert_int_equal(check(&r, "A caf\xE9 on the corner of Rue"), TEXT_R_BAD_UTF8);
}

static void test_check_lengths(void **state)
{
    (void)state;
    text_rules r;
    text_rules_default(&r);
    text_result res;
    /* characters are code points of the normalized text, spaces included */
    assert_int_equal(check_res(&r, "a b c", &res), TEXT_R_TOO_SHORT);
    assert_int_equal(res.chars, 5);
    assert_non_null(strstr(res.message, "5"));
    assert_int_equal(check_res(&r, "ab c d", &res), TEXT_OK);
    assert_int_equal(res.chars, 6);
    assert_int_equal(res.words, 3);
    /* "é ö ü" is 5 characters in 8 bytes */
    assert_int_equal(check_res(&r, "\xC3\xA9 \xC3\xB6 \xC3\xBC", &res), TEXT_R_TOO_SHORT);
    assert_int_equal(res.chars, 5);
    assert_int_equal(res.len, 8);
    /* too long, at and past the limit, counted after whitespace collapse */
    r.max_chars = 20;
    assert_int_equal(check(&r, "twenty chars exactly"), TEXT_OK);
    assert_int_equal(check(&r, "twenty   chars \t exactly  "), TEXT_OK);
    assert_int_equal(check(&r, "twenty-one characters"), TEXT_R_TOO_LONG);
    assert_int_equal(check(&r, "\xE5\xA4\xA7\xE5\xA4\xA7 \xE5\xA4\xA7 twenty chars"), TEXT_OK);
    text_rules_default(&r);
    /* words are space-separated tokens */
    assert_int_equal(check_res(&r, "hello world", &res), TEXT_R_TOO_FEW_WORDS);
    assert_int_equal(res.words, 2);
    assert_int_equal(check_res(&r, "hello, big world", &res), TEXT_OK);
    assert_int_equal(res.words, 3);
    assert_int_equal(check(&r, "hello\xE3\x80\x80"
                               "big\xC2\xA0world"),
                     TEXT_OK);
    /* rules run in the header's order: too_short before too_few_words before filename */
    assert_int_equal(check(&r, "IMG_1"), TEXT_R_TOO_SHORT);
    assert_int_equal(check(&r, "IMG_1234.JPG"), TEXT_R_TOO_FEW_WORDS);
    assert_int_equal(check(&r, "DSC00042"), TEXT_R_TOO_FEW_WORDS);
}

/* ---- boilerplate rules --------------------------------------------------------------------- */

static void test_check_url(void **state)
{
    (void)state;
    text_rules r = loose_rules();
    static const char *const urls[] = {
        "http://example.com/a.jpg",
        "https://www.example.com/path/to/page?id=42&lang=en#top",
        "HTTPS://EXAMPLE.COM",
        "ftp://files.example.org/pub",
        "//cdn.example.net/img/hero.webp",
        "www.example.com",
        "WWW.Example.co.uk",
        "example.com",
        "shop.example.de/produkte/123",
        "a.b/c",
        "localhost.localdomain:8080/x",
        "news.bbc.co.uk",
        "EXAMPLE.COM",
        "user@example.com",
        "mailto:info@example.com",
        NULL,
    };
    expect_all(&r, urls, TEXT_R_URL);
    static const char *const not_urls[] = {
        "St.Louis", /* mixed-case "TLD" */
        "3.5mm", /* digits in the last label */
        "e.g.", /* empty label */
        "v2.0", /* TLD is a number */
        "Visit example.com for the full story",
        "Our new website www.example.com is live",
        "A photo from http://example.com of a red car",
        NULL,
    };
    for (size_t i = 0; not_urls[i]; i++)
        assert_int_not_equal(check(&r, not_urls[i]), TEXT_R_URL);
    /* image files are file names, not domains */
    assert_int_equal(check(&r, "logo.png"), TEXT_R_FILENAME);
    assert_int_equal(check(&r, "banner.GIF"), TEXT_R_FILENAME);
    /* IP addresses have no letters */
    assert_int_equal(check(&r, "192.168.0.1"), TEXT_R_DIGITS);
    text_result res;
    check_res(&r, "www.example.com", &res);
    assert_string_equal(res.message, "a bare URL or domain");
}

static void test_check_filename(void **state)
{
    (void)state;
    text_rules r = loose_rules();
    static const char *const names[] = {
        "IMG_1234.JPG",
        "IMG_1234",
        "IMG-20190501-WA0001",
        "IMG_20190501_123456",
        "img1234",
        "DSC00042",
        "DSC_0042.jpg",
        "DSCN0042",
        "DSCF1234",
        "_DSC1234",
        "_MG_1234",
        "P1010001",
        "PXL_20210101_123456",
        "MVIMG_20190501_123456",
        "FB_IMG_1557847329871",
        "GOPR0001",
        "DJI_0042",
        "image001",
        "image-3",
        "photo_2",
        "IMG_1234 (1)",
        "IMG_1234 copy",
        "Screenshot 2021-05-01 at 10.00.00",
        "Screenshot_20190501-123456",
        "Screenshot (12)",
        "Screen Shot 2019-05-01 at 10.00.00 AM",
        "Screen Shot 2019-05-01 at 10.00.00 AM.png",
        "WhatsApp Image 2020-05-01 at 10.00.00 AM",
        "Bildschirmfoto 2021-05-01 um 10.00.00",
        "Capture d\xE2\x80\x99\xC3\xA9"
        "cran 2020-01-01 \xC3\xA0 12.00.00",
        "20190501_123456",
        "10151234_1015123456789_123456_n",
        "d41d8cd98f00b204e9800998ecf8427e",
        "123e4567-e89b-12d3-a456-426614174000",
        "my-photo-2019.png",
        "Untitled design (3).png",
        "File:Eiffel Tower.jpg",
        "brochure_2021_final.PDF",
        "Beach sunset.jpeg",
        "scan.tiff",
        "icon.svg",
        "spacer.gif",
        NULL,
    };
    expect_all(&r, names, TEXT_R_FILENAME);
    /* "word number" with a space is boilerplate, not a file name */
    assert_int_equal(check(&r, "image 3"), TEXT_R_BOILERPLATE);
    assert_int_equal(check(&r, "IMG 1234"), TEXT_R_BOILERPLATE);
    static const char *const captions[] = {
        "Photo by John Smith on Unsplash",
        "IMG_1234 - a walk in the park",
        "Screenshot of the new settings page",
        "DSC of the city at dusk",
        "P101",
        "P10100012",
        "The Boeing 747 at take-off",
        "Download the .pdf",
        "photo of my dog",
        "Route 66 at sunset",
        "deadbeefcafe",
        "2019 tour poster",
        NULL,
    };
    for (size_t i = 0; captions[i]; i++) {
        text_reason got = check(&r, captions[i]);
        if (got == TEXT_R_FILENAME || got == TEXT_R_URL)
            fail_msg("'%s' taken for a %s", captions[i], text_reason_name(got));
    }
    /* with the defaults, multi-word names still reach the rule */
    text_rules_default(&r);
    assert_int_equal(check(&r, "Screen Shot 2019-05-01 at 10.00.00 AM"), TEXT_R_FILENAME);
    assert_int_equal(check(&r, "WhatsApp Image 2020-05-01 at 10.00.00"), TEXT_R_FILENAME);
}

static void test_check_digits(void **state)
{
    (void)state;
    text_rules r = loose_rules();
    static const char *const digits[] = {
        "12345",   "2019-05-01",
        "$100.00", "+1 (555) 123-4567",
        "!!!",     "10:30",
        "1/2",     "#1",
        "...",     "\xE2\x80\x94 42 \xE2\x80\x94",
        NULL,
    };
    expect_all(&r, digits, TEXT_R_DIGITS);
    static const char *const not_digits[] = {
        "4K",
        "Route 66",
        "10:30 am",
        "\xE2\x82\xAC"
        "100",
        "\xD9\xA3\xD9\xA4",
        "1984 by Orwell",
        NULL,
    };
    for (size_t i = 0; not_digits[i]; i++)
        assert_int_not_equal(check(&r, not_digits[i]), TEXT_R_DIGITS);
}

static void test_check_boilerplate(void **state)
{
    (void)state;
    text_rules r = loose_rules();
    static const char *const generic[] = {
        "photo",
        "Photo",
        "Click here",
        "click here!",
        "image 3",
        "Image 1 of 5",
        "Click here to view larger image",
        "No image available",
        "Image not found",
        "placeholder image",
        "Thumbnail",
        "main product image",
        "Logo",
        "spacer",
        "transparent pixel",
        "undefined",
        "null",
        "[image]",
        "alt text",
        "1024x768 image",
        "Featured Image",
        "IMAGE - 01",
        NULL,
    };
    expect_all(&r, generic, TEXT_R_BOILERPLATE);
    static const char *const real[] = {
        "a photo of a red car",
        "photo of a red car parked outside",
        "a photo of a red image",
        "Photo of the day",
        "Logo of Acme Corp",
        "click beetle on a leaf",
        "Image of Mount Fuji",
        "here comes the sun",
        NULL,
    };
    expect_all(&r, real, TEXT_OK);
    /* with the defaults, longer boilerplate is caught too */
    text_rules_default(&r);
    assert_int_equal(check(&r, "Click here to enlarge"), TEXT_R_BOILERPLATE);
    assert_int_equal(check(&r, "Image 1 of 5"), TEXT_R_BOILERPLATE);
    /* and everything off: boilerplate = 0 skips url .. repeated */
    r = loose_rules();
    r.boilerplate = 0;
    static const char *const pass[] = {"photo", "www.example.com", "IMG_1234.JPG",
                                       "12345", "dog dog dog",     NULL};
    expect_all(&r, pass, TEXT_OK);
}

static void test_check_repeated(void **state)
{
    (void)state;
    text_rules r = loose_rules();
    text_result res;
    assert_int_equal(check_res(&r, "dog dog dog", &res), TEXT_R_REPEATED);
    assert_string_equal(res.message, "one word repeated: 'dog'");
    assert_int_equal(check(&r, "Dog, dog, DOG!"), TEXT_R_REPEATED);
    assert_int_equal(check(&r, "ha-ha-ha"), TEXT_R_REPEATED);
    assert_int_equal(check(&r, "sale sale"), TEXT_R_REPEATED);
    assert_int_equal(check(&r, "\xC3\x9C\x62\x65r \xC3\xBC\x62\x65R"), TEXT_R_REPEATED); /* Über */
    assert_int_equal(check(&r, "\xD0\x94\xD0\x90 \xD0\xB4\xD0\xB0"), TEXT_R_REPEATED); /* ДА да */
    /* the defaults still see three words */
    text_rules d;
    text_rules_default(&d);
    assert_int_equal(check(&d, "dog dog dog"), TEXT_R_REPEATED);
    static const char *const not_repeated[] = {"dog", "dog dog cat", "New York, New York",
                                               "dogs dog", NULL};
    expect_all(&r, not_repeated, TEXT_OK);
}

static void test_accepts_real_captions(void **state)
{
    (void)state;
    text_rules r;
    text_rules_default(&r);
    static const char *const ok[] = {
        "A dog playing in the snow",
        "Eiffel Tower at night, Paris",
        "photo of a red car parked outside",
        "Two children fly a kite on the beach at sunset",
        "Vintage 1960s Ford Mustang, restored (side view)",
        "Le chat noir dort sur le canap\xC3\xA9",
        "\xD0\x9A\xD1\x80\xD0\xB0\xD1\x81\xD0\xBD\xD0\xB0\xD1\x8F \xD0\xBF\xD0\xBB\xD0\xBE"
        "\xD1\x89\xD0\xB0\xD0\xB4\xD1\x8C \xD0\xB7\xD0\xB8\xD0\xBC\xD0\xBE\xD0\xB9",
        "Men\xE2\x80\x99s running shoes \xE2\x80\x93 size 42",
        "iPhone 12 Pro in Pacific Blue",
        NULL,
    };
    expect_all(&r, ok, TEXT_OK);
}

/* ---- blocklist ----------------------------------------------------------------------------- */

static void test_blocklist_add_and_match(void **state)
{
    (void)state;
    text_blocklist *bl = NULL;
    assert_int_equal(text_blocklist_new(&bl), CC_OK);
    assert_int_equal(text_blocklist_count(bl), 0);
    text_rules r;
    text_rules_default(&r);
    r.blocklist = bl;
    /* an empty list matches nothing */
    assert_int_equal(check(&r, "a perfectly normal caption"), TEXT_OK);

    static const char *const entries[] = {"Foo",
                                          "bad phrase here",
                                          "x-rated",
                                          "\xC3\x9CNI\xC3\x87ODE",
                                          "don't",
                                          "red car",
                                          "red car wash",
                                          "new york",
                                          "one two three four five six seven eight",
                                          NULL};
    for (size_t i = 0; entries[i]; i++)
        assert_int_equal(text_blocklist_add(bl, entries[i]), CC_OK);
    assert_int_equal(text_blocklist_count(bl), 9);
    /* duplicates, after folding and splitting, count once */
    assert_int_equal(text_blocklist_add(bl, "FOO"), CC_OK);
    assert_int_equal(text_blocklist_add(bl, "  Bad   Phrase,  HERE "), CC_OK);
    assert_int_equal(text_blocklist_add(bl, "X rated"), CC_OK);
    assert_int_equal(text_blocklist_count(bl), 9);

    text_result res;
    assert_int_equal(check_res(&r, "a foo walks into a bar", &res), TEXT_R_BLOCKLIST);
    assert_string_equal(res.message, "blocked word 'foo'");
    assert_int_equal(check(&r, "FOO! at the start"), TEXT_R_BLOCKLIST);
    assert_int_equal(check(&r, "a well-known foo-bar event"), TEXT_R_BLOCKLIST);
    assert_int_equal(check_res(&r, "this is a bad phrase here ok", &res), TEXT_R_BLOCKLIST);
    assert_string_equal(res.message, "blocked phrase 'bad phrase here'");
    assert_int_equal(check(&r, "Bad. Phrase. Here."), TEXT_R_BLOCKLIST);
    assert_int_equal(check(&r, "X-Rated movie poster"), TEXT_R_BLOCKLIST);
    assert_int_equal(check(&r, "an x rated movie"), TEXT_R_BLOCKLIST);
    assert_int_equal(check(&r, "\xC3\xBCni\xC3\xA7ode test case"), TEXT_R_BLOCKLIST);
    assert_int_equal(check(&r, "don\xE2\x80\x99t stop me now"), TEXT_R_BLOCKLIST);
    /* overlapping phrases: the shortest complete entry decides */
    assert_int_equal(check_res(&r, "a red car wash sign", &res), TEXT_R_BLOCKLIST);
    assert_string_equal(res.message, "blocked phrase 'red car'");
    /* a failed phrase restarts at the next word */
    assert_int_equal(check(&r, "new new york city"), TEXT_R_BLOCKLIST);
    assert_int_equal(check(&r, "count one two three four five six seven eight"), TEXT_R_BLOCKLIST);
    static const char *const clean[] = {
        "foobar walks into a bar", /* whole words only */
        "food for thought today",
        "this is a bad phrase only",
        "a red carpet event",
        "a red cat and a car",
        "dont stop me now",
        "new jersey shore",
        "count one two three four five six seven",
        "rated x by critics",
        NULL,
    };
    expect_all(&r, clean, TEXT_OK);
    /* the blocklist runs after the boilerplate rules */
    r.min_words = 1;
    r.min_chars = 1;
    assert_int_equal(check(&r, "foo foo"), TEXT_R_REPEATED);

    /* bad entries */
    assert_int_equal(text_blocklist_add(bl, ""), CC_E_INVAL);
    assert_int_equal(text_blocklist_add(bl, "   "), CC_E_INVAL);
    assert_int_equal(text_blocklist_add(bl, "!!! ---"), CC_E_INVAL);
    assert_int_equal(text_blocklist_add(bl, "one two three four five six seven eight nine"),
                     CC_E_INVAL);
    assert_non_null(strstr(cc_errmsg(), "more than 8 words"));
    assert_int_equal(text_blocklist_add(bl, "caf\xE9"), CC_E_INVAL);
    char longword[200];
    memset(longword, 'w', sizeof longword - 1);
    longword[sizeof longword - 1] = '\0';
    assert_int_equal(text_blocklist_add(bl, longword), CC_E_INVAL);
    assert_int_equal(text_blocklist_add(NULL, "x"), CC_E_INVAL);
    assert_int_equal(text_blocklist_add(bl, NULL), CC_E_INVAL);
    assert_int_equal(text_blocklist_count(bl), 9);
    text_blocklist_free(bl);
    text_blocklist_free(NULL);
    assert_int_equal(text_blocklist_count(NULL), 0);
}

static void test_blocklist_many(void **state)
{
    (void)state;
    /* enough entries to grow the table many times; every one must still be found */
    enum { N = 20000 };
    text_blocklist *bl = NULL;
    assert_int_equal(text_blocklist_new(&bl), CC_OK);
    char e[64];
    for (int i = 0; i < N; i++) {
        if (i % 3 == 0)
            snprintf(e, sizeof e, "w%d", i);
        else
            snprintf(e, sizeof e, "p%d q%d r%d", i, i % 7, i);
        assert_int_equal(text_blocklist_add(bl, e), CC_OK);
    }
    assert_int_equal(text_blocklist_count(bl), N);
    text_rules r;
    text_rules_default(&r);
    r.blocklist = bl;
    char cap[128];
    for (int i = 0; i < N; i += 7) {
        if (i % 3 == 0)
            snprintf(cap, sizeof cap, "seen at w%d today", i);
        else
            snprintf(cap, sizeof cap, "seen at p%d q%d r%d today", i, i % 7, i);
        if (check(&r, cap) != TEXT_R_BLOCKLIST)
            fail_msg("'%s' not blocked", cap);
        /* the same words but one of them off are not */
        if (i % 3 == 0)
            snprintf(cap, sizeof cap, "seen at w%d today", i + 1 + (i + 1) % 3);
        else
            snprintf(cap, sizeof cap, "seen at p%d q%d r%d today", i, (i + 1) % 7, i);
        if (i % 3 == 0 && (i + 1 + (i + 1) % 3) % 3 == 0)
            continue; /* that would be another listed word */
        if (check(&r, cap) != TEXT_OK)
            fail_msg("'%s' blocked", cap);
    }
    text_blocklist_free(bl);
}

static void test_blocklist_entry_limit(void **state)
{
    (void)state;
    /* the millionth entry is the last one; duplicates do not count against the limit */
    text_blocklist *bl = NULL;
    assert_int_equal(text_blocklist_new(&bl), CC_OK);
    char e[32];
    for (int i = 0; i < 1000000; i++) {
        snprintf(e, sizeof e, "e%d", i);
        if (text_blocklist_add(bl, e) != CC_OK)
            fail_msg("entry %d: %s", i, cc_errmsg());
    }
    assert_int_equal(text_blocklist_count(bl), 1000000);
    assert_int_equal(text_blocklist_add(bl, "E999999"), CC_OK);
    assert_int_equal(text_blocklist_add(bl, "one more"), CC_E_LIMIT);
    assert_int_equal(text_blocklist_count(bl), 1000000);
    text_rules r;
    text_rules_default(&r);
    r.blocklist = bl;
    assert_int_equal(check(&r, "entry e0 and e999999 here"), TEXT_R_BLOCKLIST);
    assert_int_equal(check(&r, "entry e1000000 is not in"), TEXT_OK);
    text_blocklist_free(bl);
}

static void test_blocklist_load(void **state)
{
    (void)state;
    const char text[] = "\xEF\xBB\xBF# words we never want\n"
                        "\n"
                        "   spam   \r\n"
                        "Buy Now\n"
                        "  # an indented comment\n"
                        "\t\n"
                        "\xD0\x9A\xD0\xA3\xD0\x9F\xD0\x98\xD0\xA2\xD0\xAC\n" /* КУПИТЬ */
                        "SPAM\n"
                        "caf\xC3\xA9 au lait\n"
                        "c#\n"
                        "last line without newline";
    const char *path = write_temp(text, sizeof text - 1);
    text_blocklist *bl = NULL;
    cc_status st = text_blocklist_load(path, &bl);
    unlink(path); /* before any assert can return */
    assert_int_equal(st, CC_OK);
    assert_non_null(bl);
    assert_int_equal(text_blocklist_count(bl), 6);
    text_rules r;
    text_rules_default(&r);
    r.blocklist = bl;
    static const char *const blocked[] = {
        "Great spam offers inside",
        "please BUY NOW while stocks last",
        "\xD0\xBA\xD1\x83\xD0\xBF\xD0\xB8\xD1\x82\xD1\x8C \xD0\xB4\xD0\xB5\xD1\x88\xD0\xB5\xD0\xB2"
        "\xD0\xBE \xD1\x81\xD0\xB5\xD0\xB9\xD1\x87\xD0\xB0\xD1\x81",
        "a CAF\xC3\x89 AU LAIT in Lyon",
        "learning C# in a week",
        "the last line without newline",
        NULL,
    };
    expect_all(&r, blocked, TEXT_R_BLOCKLIST);
    static const char *const fine[] = {"a tin of spam-free ham", "buy it now or later",
                                       "words we never want", "an indented comment here", NULL};
    /* "spam-free" holds the word "spam": whole words are split on punctuation */
    assert_int_equal(check(&r, fine[0]), TEXT_R_BLOCKLIST);
    expect_all(&r, fine + 1, TEXT_OK);
    text_blocklist_free(bl);

    /* an empty file is an empty list */
    path = write_temp("", 0);
    st = text_blocklist_load(path, &bl);
    unlink(path); /* before any assert can return */
    assert_int_equal(st, CC_OK);
    assert_int_equal(text_blocklist_count(bl), 0);
    text_blocklist_free(bl);
}

static void test_blocklist_load_errors(void **state)
{
    (void)state;
    text_blocklist *bl = (text_blocklist *)&bl; /* must be reset to NULL on failure */
    assert_int_equal(text_blocklist_load("/nonexistent/dir/blocklist.txt", &bl), CC_E_NOTFOUND);
    assert_null(bl);
    assert_non_null(strstr(cc_errmsg(), "/nonexistent/dir/blocklist.txt"));

    /* a line past 1024 bytes, on line 3 */
    char text[2100];
    int k = snprintf(text, sizeof text, "ok\n# comment\n");
    memset(text + k, 'a', 2000);
    text[k + 2000] = '\n';
    const char *path = write_temp(text, (size_t)k + 2001);
    bl = (text_blocklist *)&bl;
    cc_status st = text_blocklist_load(path, &bl);
    unlink(path); /* before any assert can return */
    assert_int_equal(st, CC_E_LIMIT);
    assert_null(bl);
    assert_non_null(strstr(cc_errmsg(), ":3:"));

    static const struct {
        const char *text;
        const char *where;
    } bad[] = {
        {"fine\none two three four five six seven eight nine\n", ":2"},
        {"fine\nalso fine\ncaf\xE9\n", ":3"},
        {"!!!\n", ":1"},
        {"a\n\n# c\n---\n", ":4"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        path = write_temp(bad[i].text, strlen(bad[i].text));
        bl = (text_blocklist *)&bl;
        cc_status st = text_blocklist_load(path, &bl);
        unlink(path); /* before any assert can return */
        assert_int_equal(st, CC_E_FORMAT);
        assert_null(bl);
        char want[80];
        snprintf(want, sizeof want, "%s%s", path, bad[i].where);
        if (!strstr(cc_errmsg(), want))
            fail_msg("message '%s' does not name '%s'", cc_errmsg(), want);
    }
}

static void test_blocklist_message_cut(void **state)
{
    (void)state;
    text_blocklist *bl = NULL;
    assert_int_equal(text_blocklist_new(&bl), CC_OK);
    /* 8 words of 18 two-byte letters: 295 bytes, far more than the message holds */
    char entry[400], caption[420];
    size_t n = 0;
    for (int w = 0; w < 8; w++) {
        if (w)
            entry[n++] = ' ';
        for (int i = 0; i < 18; i++) {
            entry[n++] = '\xC3';
            entry[n++] = '\xA9';
        }
    }
    entry[n] = '\0';
    assert_int_equal(text_blocklist_add(bl, entry), CC_OK);
    snprintf(caption, sizeof caption, "x %s y", entry);
    text_rules r;
    text_rules_default(&r);
    r.blocklist = bl;
    text_result res;
    assert_int_equal(check_res(&r, caption, &res), TEXT_R_BLOCKLIST);
    size_t len = strlen(res.message);
    assert_true(len < sizeof res.message);
    assert_true(cc_utf8_valid(res.message, len)); /* cut between characters */
    assert_non_null(strstr(res.message, "...'"));
    assert_memory_equal(res.message, "blocked phrase '\xC3\xA9\xC3\xA9", 20);
    text_blocklist_free(bl);
}

/* ---- language ------------------------------------------------------------------------------ */

static void test_cld2(void **state)
{
    (void)state;
    const char *lang = NULL;
    const char *en = "The quick brown fox jumps over the lazy dog near the river bank";
    assert_int_equal(text_lang_is_english(en, strlen(en), &lang), 1);
    assert_string_equal(lang, "en");
    const char *fr = "Le chat noir dort sur le canap\xC3\xA9 du salon pendant que la pluie tombe";
    assert_int_equal(text_lang_is_english(fr, strlen(fr), &lang), 0);
    assert_string_equal(lang, "fr");
    const char *de = "Der schwarze Hund spielt im Garten mit einem roten Ball und bellt laut";
    assert_int_equal(text_lang_is_english(de, strlen(de), &lang), 0);
    assert_string_equal(lang, "de");
    assert_int_equal(text_lang_is_english(de, strlen(de), NULL), 0);
    /* too short to tell, empty, or not UTF-8 */
    assert_int_equal(text_lang_is_english("ok", 2, &lang), -1);
    assert_int_equal(text_lang_is_english("", 0, &lang), -1);
    assert_int_equal(text_lang_is_english(NULL, 0, NULL), -1);
    char bad[80];
    snprintf(bad, sizeof bad, "%s \xFF\xFE", fr);
    assert_int_equal(text_lang_is_english(bad, strlen(bad), NULL), -1);
    /* only the given length is read */
    assert_int_equal(text_lang_is_english(en, 2, NULL), -1);

    text_rules r;
    text_rules_default(&r);
    r.english_only = 1;
    text_result res;
    assert_int_equal(check_res(&r, fr, &res), TEXT_R_NOT_ENGLISH);
    assert_string_equal(res.message, "language 'fr'");
    assert_int_equal(check(&r, "A dog playing in the snow"), TEXT_OK);
    assert_int_equal(check(&r, "Tour Eiffel la nuit"), TEXT_OK); /* unreliable: kept */
    r.english_only = 0;
    assert_int_equal(check(&r, fr), TEXT_OK);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reason_names),
        cmocka_unit_test(test_normalize_whitespace),
        cmocka_unit_test(test_normalize_controls),
        cmocka_unit_test(test_normalize_invalid),
        cmocka_unit_test(test_normalize_limits),
        cmocka_unit_test(test_check_empty_and_bad_utf8),
        cmocka_unit_test(test_check_lengths),
        cmocka_unit_test(test_check_url),
        cmocka_unit_test(test_check_filename),
        cmocka_unit_test(test_check_digits),
        cmocka_unit_test(test_check_boilerplate),
        cmocka_unit_test(test_check_repeated),
        cmocka_unit_test(test_accepts_real_captions),
        cmocka_unit_test(test_blocklist_add_and_match),
        cmocka_unit_test(test_blocklist_many),
        cmocka_unit_test(test_blocklist_entry_limit),
        cmocka_unit_test(test_blocklist_load),
        cmocka_unit_test(test_blocklist_load_errors),
        cmocka_unit_test(test_blocklist_message_cut),
        cmocka_unit_test(test_cld2),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
