/* tests/unit/test_json.c — shard_record_to_json: exact text of whole records (key order, null
 * query_id, numbers, hex fields) and string escaping, which must equal Python's
 * json.dumps(ensure_ascii=False, separators=(",", ":")) of bytes.decode("utf-8", "replace"):
 * short escapes, \u00xx for other control characters, DEL and valid UTF-8 as they are, and one
 * U+FFFD per maximal ill-formed subpart (overlongs, surrogates, past U+10FFFF, truncations).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "shards/json.h"

#define FFFD "\xEF\xBF\xBD"

static shard_record sample(void)
{
    static const uint32_t qids[] = {7, 0, 4294967295u};
    shard_record r;
    memset(&r, 0, sizeof r);
    for (int i = 0; i < 16; i++) {
        r.uid[i] = (uint8_t)(0x11 * i); /* 00 11 22 … ff: checks byte order */
        r.content_hash[i] = (uint8_t)(0xff - i);
    }
    r.caption = "a dog";
    r.url = "https://example.org/dog.jpg";
    r.page_url = "https://example.org/";
    r.license = "CC-BY 4.0";
    r.query_id = 7;
    r.query_ids = qids;
    r.n_query_ids = 3;
    r.image = (const uint8_t *)"\xff\xd8\xff";
    r.image_len = 3;
    r.image_format = SHARD_IMG_JPEG;
    r.width = 224;
    r.height = 160;
    r.orig_width = 4294967295u;
    r.orig_height = 1;
    r.phash = 0x00000000deadbeefULL;
    r.fetch_time_ms = 1700000000123LL;
    return r;
}

/* JSON of r as a NUL-terminated heap string (fails the test on error). */
static char *to_json(const shard_record *r)
{
    cc_buf b;
    cc_buf_init(&b, 1 << 24);
    assert_int_equal(shard_record_to_json(r, &b), CC_OK);
    assert_int_equal(cc_buf_append(&b, "", 1), CC_OK);
    return (char *)b.data;
}

static void test_full_record(void **state)
{
    (void)state;
    shard_record r = sample();
    char *j = to_json(&r);
    assert_string_equal(
        j, "{\"key\":\"00112233445566778899aabbccddeeff\",\"caption\":\"a dog\","
           "\"url\":\"https://example.org/dog.jpg\",\"page_url\":\"https://example.org/\","
           "\"license\":\"CC-BY 4.0\",\"query_id\":7,\"query_ids\":[7,0,4294967295],"
           "\"format\":\"jpg\",\"image_bytes\":3,\"width\":224,\"height\":160,"
           "\"orig_width\":4294967295,\"orig_height\":1,"
           "\"content_hash\":\"fffefdfcfbfaf9f8f7f6f5f4f3f2f1f0\",\"phash\":\"00000000deadbeef\","
           "\"fetch_time_ms\":1700000000123}");
    free(j);
}

static void test_null_query_and_empty_fields(void **state)
{
    (void)state;
    shard_record r;
    memset(&r, 0, sizeof r); /* NULL strings, no query ids, no image */
    r.query_id = SHARD_NO_QUERY;
    r.image_format = 9; /* unknown → "bin" */
    r.phash = UINT64_MAX;
    r.fetch_time_ms = -1;
    char *j = to_json(&r);
    assert_string_equal(
        j, "{\"key\":\"00000000000000000000000000000000\",\"caption\":\"\",\"url\":\"\","
           "\"page_url\":\"\",\"license\":\"\",\"query_id\":null,\"query_ids\":[],"
           "\"format\":\"bin\",\"image_bytes\":0,\"width\":0,\"height\":0,\"orig_width\":0,"
           "\"orig_height\":0,\"content_hash\":\"00000000000000000000000000000000\","
           "\"phash\":\"ffffffffffffffff\",\"fetch_time_ms\":-1}");
    free(j);

    r.query_id = 0; /* 0 is a real query id, not null */
    r.image_format = SHARD_IMG_WEBP;
    j = to_json(&r);
    assert_non_null(strstr(j, "\"query_id\":0,\"query_ids\":[],\"format\":\"webp\","));
    free(j);
    r.image_format = SHARD_IMG_PNG;
    j = to_json(&r);
    assert_non_null(strstr(j, "\"format\":\"png\","));
    free(j);
}

/* Checks that caption `in` prints as the JSON literal `want` (without its quotes). */
static void check_caption(const char *in, const char *want)
{
    shard_record r = sample();
    r.caption = in;
    char *j = to_json(&r);
    const char *p = strstr(j, "\"caption\":\"");
    assert_non_null(p);
    p += strlen("\"caption\":\"");
    const char *end = strstr(p, "\",\"url\":\"https://example.org/dog.jpg\"");
    assert_non_null(end);
    char got[512];
    assert_true((size_t)(end - p) < sizeof got);
    memcpy(got, p, (size_t)(end - p));
    got[end - p] = '\0';
    assert_string_equal(got, want);
    free(j);
}

static void test_escapes(void **state)
{
    (void)state;
    check_caption("plain text / slash", "plain text / slash");
    check_caption("say \"hi\"", "say \\\"hi\\\"");
    check_caption("back\\slash", "back\\\\slash");
    check_caption("\b\f\n\r\t", "\\b\\f\\n\\r\\t");
    /* Other control characters: \u00xx in lowercase hex, as Python writes them. */
    check_caption("\x01\x1b\x1f\x0b", "\\u0001\\u001b\\u001f\\u000b");
    /* DEL and the rest of printable ASCII are not escaped. */
    check_caption("\x7f ~<>&'", "\x7f ~<>&'");
    check_caption("", "");
}

static void test_valid_utf8(void **state)
{
    (void)state;
    check_caption("caf\xc3\xa9", "caf\xc3\xa9"); /* é, 2 bytes */
    check_caption("\xe4\xb8\xad\xe6\x96\x87", "\xe4\xb8\xad\xe6\x96\x87"); /* 中文, 3 bytes */
    check_caption("\xf0\x9f\x98\x80!", "\xf0\x9f\x98\x80!"); /* U+1F600, 4 bytes */
    check_caption("\xc2\x80\xdf\xbf", "\xc2\x80\xdf\xbf"); /* U+0080, U+07FF */
    check_caption("\xe0\xa0\x80\xef\xbf\xbf", "\xe0\xa0\x80\xef\xbf\xbf"); /* U+0800, U+FFFF */
    check_caption("\xed\x9f\xbf\xee\x80\x80", "\xed\x9f\xbf\xee\x80\x80"); /* around surrogates */
    check_caption("\xf0\x90\x80\x80\xf4\x8f\xbf\xbf",
                  "\xf0\x90\x80\x80\xf4\x8f\xbf\xbf"); /* U+10000, U+10FFFF */
    /* U+2028/U+2029 are valid JSON inside strings; Python leaves them as they are. */
    check_caption("\xe2\x80\xa8\xe2\x80\xa9", "\xe2\x80\xa8\xe2\x80\xa9");
}

static void test_invalid_utf8(void **state)
{
    (void)state;
    check_caption("a\x80z", "a" FFFD "z"); /* stray continuation byte */
    check_caption("\xbf\xbf", FFFD FFFD); /* each stray byte is one subpart */
    check_caption("\xc0\xaf", FFFD FFFD); /* overlong '/' (C0 is never valid) */
    check_caption("\xc1\xbf", FFFD FFFD); /* overlong, C1 */
    check_caption("\xe0\x80\xaf", FFFD FFFD FFFD); /* 3-byte overlong */
    check_caption("\xf0\x80\x80\xaf", FFFD FFFD FFFD FFFD); /* 4-byte overlong */
    check_caption("\xed\xa0\x80", FFFD FFFD FFFD); /* high surrogate U+D800 */
    check_caption("\xed\xbf\xbf", FFFD FFFD FFFD); /* low surrogate U+DFFF */
    check_caption("\xed\xa0\xbd\xed\xb8\x80", FFFD FFFD FFFD FFFD FFFD FFFD); /* CESU pair */
    check_caption("\xf4\x90\x80\x80", FFFD FFFD FFFD FFFD); /* U+110000 */
    check_caption("\xf5\xf8\xfe\xff", FFFD FFFD FFFD FFFD); /* never-valid lead bytes */
    /* A truncated sequence is one subpart, and the byte that ended it is read afresh. */
    check_caption("\xe4\xb8", FFFD);
    check_caption("\xe4\xb8z", FFFD "z");
    check_caption("\xf0\x9f\x98\"", FFFD "\\\"");
    check_caption("\xf0\x9f\x98\n", FFFD "\\n");
    check_caption("\xe4\xe4\xb8\xad", FFFD "\xe4\xb8\xad");
    check_caption("\xc3", FFFD);
    check_caption("\xf0\x9f", FFFD);
}

static void test_appends_and_limits(void **state)
{
    (void)state;
    shard_record r = sample();
    cc_buf b;
    cc_buf_init(&b, 1 << 20);
    assert_int_equal(cc_buf_append(&b, "[", 1), CC_OK);
    assert_int_equal(shard_record_to_json(&r, &b), CC_OK);
    size_t one = b.len - 1;
    assert_int_equal(shard_record_to_json(&r, &b), CC_OK);
    assert_int_equal(b.len, 1 + 2 * one);
    assert_memory_equal(b.data + 1, b.data + 1 + one, one);
    assert_int_equal(b.data[0], '[');
    cc_buf_free(&b);

    /* Too small a buffer: CC_E_LIMIT and the old content untouched. */
    cc_buf_init(&b, 100);
    assert_int_equal(cc_buf_append(&b, "prefix", 6), CC_OK);
    assert_int_equal(shard_record_to_json(&r, &b), CC_E_LIMIT);
    assert_int_equal(b.len, 6);
    assert_memory_equal(b.data, "prefix", 6);
    cc_buf_free(&b);
}

/* Long strings mixing runs and escapes: every byte accounted for. */
static void test_long_string(void **state)
{
    (void)state;
    size_t n = 64 << 10;
    char *s = malloc(n + 1);
    assert_non_null(s);
    for (size_t i = 0; i < n; i++)
        s[i] = i % 7 == 0 ? '\n' : i % 11 == 0 ? '\x80' : 'x';
    s[n] = '\0';
    shard_record r = sample();
    r.caption = s;
    char *j = to_json(&r);
    size_t nl = 0, bad = 0, x = 0;
    for (size_t i = 0; i < n; i++) {
        nl += s[i] == '\n';
        bad += s[i] == '\x80';
        x += s[i] == 'x';
    }
    const char *p = strstr(j, "\"caption\":\"") + 11;
    const char *end = strstr(p, "\",\"url\":");
    assert_int_equal((size_t)(end - p), 2 * nl + 3 * bad + x);
    free(j);
    free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_full_record),  cmocka_unit_test(test_null_query_and_empty_fields),
        cmocka_unit_test(test_escapes),      cmocka_unit_test(test_valid_utf8),
        cmocka_unit_test(test_invalid_utf8), cmocka_unit_test(test_appends_and_limits),
        cmocka_unit_test(test_long_string),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
