/* tests/fuzz/fuzz_record.c — libFuzzer target for shard_codec_decode (shards/record.c).
 *
 * Each input is decoded three ways:
 *   1. as it is, by a codec without a dictionary (exercises the header and checksum checks);
 *   2. with the XXH3-64 checksum at bytes 8..16 recomputed, so that the fuzzer reaches the
 *      length, zstd and metadata parsers behind the checksum;
 *   3. the same patched copy by a codec holding a fixed dictionary (the dictionary codec).
 * Every decode runs on an exact-size heap copy, so ASan catches a read past the value's end.
 * When a decode succeeds, the record is checked for its documented invariants (strings are
 * NUL-terminated and free of NULs inside, the image lies inside the value) and round-tripped:
 * encode(decoded) must decode to the same fields.
 * With CLIPCRAWL_FUZZ_SEED_DIR set, LLVMFuzzerInitialize writes valid records (raw, zstd and
 * dictionary-coded metadata) made by shard_codec_encode into that directory as seeds.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/hash.h"
#include "shards/shard.h"
#include "tests/fuzz/fuzz_util.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond) FUZZ_CHECK("fuzz_record", cond)

/* A small fixed dictionary: bytes typical of record metadata (URLs, captions). Raw content
 * dictionaries are valid for zstd. */
static const char dict_bytes[] =
    "https://upload.wikimedia.org/wikipedia/commons/thumb/ https://www.example.com/images/ "
    "a photo of a the and with on in of for http://cdn.example.org/img/ .jpg .png .webp "
    "CC BY-SA 4.0 https://creativecommons.org/licenses/by/4.0/ caption license page_url";

static shard_codec *plain, *dicted, *enc, *redec;
static cc_buf enc_out;

static void codecs_init(void)
{
    if (plain != NULL)
        return;
    CHECK(shard_codec_new(3, &plain) == CC_OK);
    CHECK(shard_codec_new(3, &dicted) == CC_OK);
    CHECK(shard_codec_new(3, &enc) == CC_OK);
    CHECK(shard_codec_new(3, &redec) == CC_OK);
    CHECK(shard_codec_set_dict(dicted, dict_bytes, sizeof dict_bytes - 1) == CC_OK);
    CHECK(shard_codec_set_dict(enc, dict_bytes, sizeof dict_bytes - 1) == CC_OK);
    CHECK(shard_codec_set_dict(redec, dict_bytes, sizeof dict_bytes - 1) == CC_OK);
    cc_buf_init(&enc_out, SHARD_MAX_META + SHARD_MAX_IMAGE + 1024);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    codecs_init();
    const char *dir = getenv("CLIPCRAWL_FUZZ_SEED_DIR");
    if (dir == NULL || dir[0] == '\0')
        return 0;
    static const uint32_t qids[] = {7, 99, 123456};
    static const uint8_t img[] = {0xff, 0xd8, 0xff, 0xc0, 0, 11, 8, 0, 5, 0, 7, 1, 1, 0x11, 0};
    shard_record r;
    memset(&r, 0, sizeof r);
    for (int i = 0; i < 16; i++) {
        r.uid[i] = (uint8_t)(i * 17);
        r.content_hash[i] = (uint8_t)(255 - i);
    }
    r.caption = "a photo of a red circle on a blue gradient background";
    r.url = "https://www.example.com/images/red-circle.jpg";
    r.page_url = "https://www.example.com/gallery";
    r.license = "CC BY-SA 4.0";
    r.query_id = 99;
    r.query_ids = qids;
    r.n_query_ids = 3;
    r.image = img;
    r.image_len = sizeof img;
    r.image_format = SHARD_IMG_JPEG;
    r.width = r.orig_width = 7;
    r.height = r.orig_height = 5;
    r.phash = 0x0123456789abcdefull;
    r.fetch_time_ms = 1700000000000;
    /* short metadata stays raw; a long caption makes plain zstd pay off; the dictionary codec */
    if (shard_codec_encode(enc, &r, 0, &enc_out) == CC_OK)
        fuzz_write_seed(dir, "seed-short", enc_out.data, enc_out.len);
    if (shard_codec_encode(enc, &r, 1, &enc_out) == CC_OK)
        fuzz_write_seed(dir, "seed-dict", enc_out.data, enc_out.len);
    char longcap[600];
    for (size_t i = 0; i + 1 < sizeof longcap; i++)
        longcap[i] = "red circle "[i % 11];
    longcap[sizeof longcap - 1] = '\0';
    r.caption = longcap;
    if (shard_codec_encode(enc, &r, 0, &enc_out) == CC_OK)
        fuzz_write_seed(dir, "seed-zstd", enc_out.data, enc_out.len);
    r.caption = "";
    r.url = r.page_url = r.license = "";
    r.n_query_ids = 0;
    r.image_len = 0;
    r.image = NULL;
    if (shard_codec_encode(enc, &r, 0, &enc_out) == CC_OK)
        fuzz_write_seed(dir, "seed-empty", enc_out.data, enc_out.len);
    return 0;
}

static void check_record(const shard_record *r, const uint8_t *val, size_t len)
{
    const char *strs[4] = {r->caption, r->url, r->page_url, r->license};
    for (int i = 0; i < 4; i++) {
        CHECK(strs[i] != NULL);
        CHECK(strlen(strs[i]) <= SHARD_MAX_TEXT);
    }
    CHECK(r->n_query_ids <= SHARD_MAX_QUERY_IDS);
    CHECK(r->n_query_ids == 0 || r->query_ids != NULL);
    uint32_t sum = 0;
    for (uint32_t i = 0; i < r->n_query_ids; i++)
        sum += r->query_ids[i]; /* touch every id: ASan checks the scratch memory */
    (void)sum;
    if (r->image_len > 0) {
        CHECK(r->image >= val && r->image_len <= len && r->image <= val + (len - r->image_len));
    }
}

/* encode(r) then decode must give r's fields back. r's pointers belong to another codec. */
static void check_roundtrip(const shard_record *r, int use_dict)
{
    cc_status st = shard_codec_encode(enc, r, use_dict, &enc_out);
    CHECK(st == CC_OK);
    shard_record b;
    st = shard_codec_decode(redec, enc_out.data, enc_out.len, &b);
    CHECK(st == CC_OK);
    CHECK(memcmp(b.uid, r->uid, 16) == 0 && memcmp(b.content_hash, r->content_hash, 16) == 0);
    CHECK(strcmp(b.caption, r->caption) == 0 && strcmp(b.url, r->url) == 0);
    CHECK(strcmp(b.page_url, r->page_url) == 0 && strcmp(b.license, r->license) == 0);
    CHECK(b.query_id == r->query_id && b.n_query_ids == r->n_query_ids);
    CHECK(r->n_query_ids == 0 ||
          memcmp(b.query_ids, r->query_ids, r->n_query_ids * sizeof *r->query_ids) == 0);
    CHECK(b.image_len == r->image_len && b.image_format == r->image_format);
    CHECK(r->image_len == 0 || memcmp(b.image, r->image, r->image_len) == 0);
    CHECK(b.width == r->width && b.height == r->height);
    CHECK(b.orig_width == r->orig_width && b.orig_height == r->orig_height);
    CHECK(b.phash == r->phash && b.fetch_time_ms == r->fetch_time_ms);
}

static void decode_one(shard_codec *c, const uint8_t *val, size_t len, int use_dict)
{
    shard_record r;
    cc_status st = shard_codec_decode(c, val, len, &r);
    if (st != CC_OK) {
        CHECK(st != CC_E_INVAL && cc_errmsg()[0] != '\0');
        return;
    }
    check_record(&r, val, len);
    check_roundtrip(&r, use_dict);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    codecs_init();
    uint8_t *copy = malloc(size ? size : 1);
    if (copy == NULL)
        return 0;
    if (size)
        memcpy(copy, data, size);
    decode_one(plain, copy, size, 0);
    if (size >= 16) {
        cc_store_u64(copy + 8, cc_hash64(copy + 16, size - 16));
        decode_one(plain, copy, size, 0);
        decode_one(dicted, copy, size, 1);
    }
    free(copy);
    return 0;
}
