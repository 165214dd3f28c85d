/* tests/unit/test_common.c — status messages, bounded buffers, XXH3 helpers, file helpers. */
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
#include "common/file.h"
#include "common/hash.h"
#include "common/status.h"

static void test_status_names(void **state)
{
    (void)state;
    for (int i = 0; i < CC_STATUS_COUNT; i++) {
        assert_non_null(cc_status_str((cc_status)i));
        for (int j = 0; j < i; j++)
            assert_string_not_equal(cc_status_str((cc_status)i), cc_status_str((cc_status)j));
    }
    assert_string_equal(cc_status_str(CC_STATUS_COUNT), "unknown status");
    assert_string_equal(cc_status_str(CC_E_CHECKSUM), "checksum mismatch");
}

static cc_status inner(void)
{
    return cc_fail(CC_E_FORMAT, "record %d: bad magic", 7);
}

static cc_status outer(void)
{
    cc_status st = inner();
    return st == CC_OK ? st : cc_wrap(st, "shard-%06d.lmdb", 3);
}

static void test_status_messages(void **state)
{
    (void)state;
    cc_clear_error();
    assert_string_equal(cc_errmsg(), "");
    assert_int_equal(outer(), CC_E_FORMAT);
    assert_string_equal(cc_errmsg(), "shard-000003.lmdb: record 7: bad magic");
    /* A wrap without an inner message names the status. */
    cc_clear_error();
    assert_int_equal(cc_wrap(CC_E_IO, "x"), CC_E_IO);
    assert_string_equal(cc_errmsg(), "x: I/O error");
    /* Long messages are cut, not overflowed. */
    char big[2000];
    memset(big, 'z', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    cc_fail(CC_E_LIMIT, "%s", big);
    cc_wrap(CC_E_LIMIT, "%s", big);
    assert_true(strlen(cc_errmsg()) < 1024);
}

static void test_buf_limit(void **state)
{
    (void)state;
    cc_buf b;
    cc_buf_init(&b, 10);
    assert_int_equal(cc_buf_append(&b, "0123456789", 10), CC_OK);
    assert_int_equal(cc_buf_append(&b, "x", 1), CC_E_LIMIT);
    assert_int_equal(b.len, 10);
    assert_memory_equal(b.data, "0123456789", 10);
    assert_true(b.cap <= 10);
    cc_buf_reset(&b);
    assert_int_equal(cc_buf_put_u32(&b, 0x04030201u), CC_OK);
    assert_int_equal(cc_buf_put_u16(&b, 0x0605), CC_OK);
    assert_memory_equal(b.data, "\x01\x02\x03\x04\x05\x06", 6);
    assert_int_equal(cc_load_u32(b.data), 0x04030201u);
    assert_int_equal(cc_buf_put_u64(&b, 1), CC_E_LIMIT); /* 6 + 8 > 10 */
    assert_int_equal(cc_buf_reserve(&b, SIZE_MAX), CC_E_LIMIT);
    cc_buf_free(&b);
    cc_buf_free(NULL);
    uint8_t k[8];
    cc_store_be64(k, 0x0102030405060708ull);
    assert_memory_equal(k, "\x01\x02\x03\x04\x05\x06\x07\x08", 8);
    assert_true(cc_load_be64(k) == 0x0102030405060708ull);
}

static void test_hash_vectors(void **state)
{
    (void)state;
    /* The values xxhsum -H2 / -H3 print for "abc" and for nothing. */
    char hex[33];
    cc_hash128_hex(cc_hash128_of("abc", 3), hex);
    assert_string_equal(hex, "06b05ab6733a618578af5f94892f3950");
    cc_hash128_hex(cc_hash128_of("", 0), hex);
    assert_string_equal(hex, "99aa06d3014798d86001c324468d497f");
    assert_true(cc_hash64("abc", 3) == 0x78af5f94892f3950ull);
    cc_hash128 h;
    assert_int_equal(cc_hash128_parse("06B05AB6733A618578AF5F94892F3950", &h), CC_OK);
    assert_true(cc_hash128_eq(h, cc_hash128_of("abc", 3)));
    assert_int_equal(cc_hash128_parse("06b05ab6733a618578af5f94892f395", &h), CC_E_FORMAT);
    assert_int_equal(cc_hash128_parse("06b05ab6733a618578af5f94892f39500", &h), CC_E_FORMAT);
    assert_int_equal(cc_hash128_parse("g6b05ab6733a618578af5f94892f3950", &h), CC_E_FORMAT);
    uint8_t b[16];
    cc_hash128_to_bytes(h, b);
    assert_true(cc_hash128_eq(cc_hash128_from_bytes(b), h));
    /* Streaming in pieces gives the one-shot value. */
    cc_hasher *s;
    assert_int_equal(cc_hasher_new(&s), CC_OK);
    cc_hasher_update(s, "a", 1);
    cc_hasher_update(s, "bc", 2);
    assert_true(cc_hash128_eq(cc_hasher_digest(s), h));
    cc_hasher_free(s);
    cc_hasher_free(NULL);
}

static void test_files(void **state)
{
    (void)state;
    char dir[] = "/tmp/cc-test-common-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[4096];
    assert_int_equal(cc_path_join(path, sizeof path, dir, "f"), CC_OK);
    char small[8];
    assert_int_equal(cc_path_join(small, sizeof small, dir, "f"), CC_E_LIMIT);
    assert_string_equal(cc_path_base(path), "f");
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    uint8_t *data = malloc(3 << 20);
    for (size_t i = 0; i < (3u << 20); i++)
        data[i] = (uint8_t)(i * 7 + (i >> 12));
    assert_int_equal(fwrite(data, 1, 3 << 20, f), 3 << 20);
    fclose(f);
    cc_hash128 h;
    uint64_t size;
    assert_int_equal(cc_hash_file(path, &h, &size), CC_OK);
    assert_int_equal(size, 3 << 20);
    assert_true(cc_hash128_eq(h, cc_hash128_of(data, 3 << 20)));
    cc_buf b;
    cc_buf_init(&b, 3 << 20);
    assert_int_equal(cc_read_file(path, &b), CC_OK); /* exactly at the limit */
    assert_memory_equal(b.data, data, 3 << 20);
    cc_buf_free(&b);
    cc_buf_init(&b, (3 << 20) - 1);
    assert_int_equal(cc_read_file(path, &b), CC_E_LIMIT);
    cc_buf_free(&b);
    assert_int_equal(cc_fsync_path(path), CC_OK);
    assert_int_equal(cc_fsync_path(dir), CC_OK);
    assert_int_equal(cc_mkdir(dir), CC_OK);
    assert_int_equal(cc_mkdir(path), CC_E_IO); /* a file, not a folder */
    unlink(path);
    assert_false(cc_exists(path));
    assert_int_equal(cc_read_file(path, &b), CC_E_NOTFOUND);
    assert_int_equal(cc_hash_file(path, &h, &size), CC_E_NOTFOUND);
    rmdir(dir);
    free(data);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_status_names), cmocka_unit_test(test_status_messages),
        cmocka_unit_test(test_buf_limit),    cmocka_unit_test(test_hash_vectors),
        cmocka_unit_test(test_files),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
