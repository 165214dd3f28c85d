/* shards/record.c — the record value codec (docs/FORMAT.md, "Record value").
 *
 * value  = header (32 bytes) | metadata block (zstd or raw) | image bytes (stored as is)
 * header = "CCR1" u16 version u16 header_size u64 xxh3_64(value[16..end))
 *          u8 meta_codec u8 image_format u16 flags u32 meta_len u32 meta_raw_len u32 image_len
 * The checksum covers everything after itself, header fields included; magic, version and
 * header size before it are checked exactly.
 * Images are never compressed: JPEG/PNG/WebP bytes are already entropy-coded, and leaving them
 * raw lets readers hand out a pointer into the memory map.
 */
#include "shards/shard.h"

#include <stdlib.h>
#include <string.h>
#include <zstd.h>

#define REC_MAGIC "CCR1"
#define REC_VERSION 1
#define REC_HEADER 32
#define META_FIXED 72

enum { CODEC_RAW = 0, CODEC_ZSTD = 1, CODEC_ZSTD_DICT = 2 };

struct shard_codec {
    ZSTD_CCtx *cctx;
    ZSTD_DCtx *dctx;
    ZSTD_CDict *cdict;
    ZSTD_DDict *ddict;
    int level;
    cc_buf meta; /* raw metadata of the last encode, or decompressed metadata of the last decode */
    uint32_t *qids; /* aligned copy of the last decoded query ids */
    uint32_t qids_cap;
    int check_values; /* verify each value's XXH3-64 in decode */
};

const char *shard_image_ext(uint8_t format)
{
    switch (format) {
    case SHARD_IMG_JPEG:
        return "jpg";
    case SHARD_IMG_PNG:
        return "png";
    case SHARD_IMG_WEBP:
        return "webp";
    default:
        return "bin";
    }
}

cc_status shard_pair_uid(const char *source, const char *caption, uint8_t uid[16])
{
    cc_hasher *h;
    CC_TRY(cc_hasher_new(&h));
    cc_hasher_update(h, source, strlen(source) + 1);
    cc_hasher_update(h, caption, strlen(caption));
    cc_hash128_to_bytes(cc_hasher_digest(h), uid);
    cc_hasher_free(h);
    return CC_OK;
}

cc_status shard_codec_new(int zstd_level, shard_codec **out)
{
    shard_codec *c = calloc(1, sizeof *c);
    if (!c)
        return cc_fail(CC_E_NOMEM, "codec: out of memory");
    c->cctx = ZSTD_createCCtx();
    c->dctx = ZSTD_createDCtx();
    c->level = zstd_level;
    c->check_values = 1;
    cc_buf_init(&c->meta, SHARD_MAX_META);
    if (!c->cctx || !c->dctx) {
        shard_codec_free(c);
        return cc_fail(CC_E_NOMEM, "codec: out of memory for zstd contexts");
    }
    /* Untrusted frames may not ask for a large window. */
    ZSTD_DCtx_setParameter(c->dctx, ZSTD_d_windowLogMax, 20);
    *out = c;
    return CC_OK;
}

static void codec_drop_dict(shard_codec *c)
{
    ZSTD_freeCDict(c->cdict);
    ZSTD_freeDDict(c->ddict);
    c->cdict = NULL;
    c->ddict = NULL;
}

void shard_codec_free(shard_codec *c)
{
    if (!c)
        return;
    codec_drop_dict(c);
    ZSTD_freeCCtx(c->cctx);
    ZSTD_freeDCtx(c->dctx);
    cc_buf_free(&c->meta);
    free(c->qids);
    free(c);
}

cc_status shard_codec_set_dict(shard_codec *c, const void *dict, size_t len)
{
    codec_drop_dict(c);
    if (len == 0)
        return CC_OK;
    c->cdict = ZSTD_createCDict(dict, len, c->level);
    c->ddict = ZSTD_createDDict(dict, len);
    if (!c->cdict || !c->ddict) {
        codec_drop_dict(c);
        return cc_fail(CC_E_COMPRESS, "zstd dictionary of %zu bytes rejected", len);
    }
    return CC_OK;
}

void shard_codec_check_values(shard_codec *c, int on)
{
    c->check_values = on;
}

const cc_buf *shard_codec_last_meta(const shard_codec *c)
{
    return &c->meta;
}

static cc_status put_str(cc_buf *b, const char *s, const char *field)
{
    size_t n = s ? strlen(s) : 0;
    CC_CHECK(n <= SHARD_MAX_TEXT, CC_E_LIMIT, "%s of %zu bytes exceeds the %u-byte limit", field, n,
             SHARD_MAX_TEXT);
    CC_TRY(cc_buf_put_u32(b, (uint32_t)n));
    return cc_buf_append(b, s, n);
}

static cc_status encode_meta(cc_buf *m, const shard_record *r)
{
    CC_CHECK(r->n_query_ids <= SHARD_MAX_QUERY_IDS, CC_E_LIMIT,
             "%u query ids exceed the limit of %u", r->n_query_ids, SHARD_MAX_QUERY_IDS);
    CC_CHECK(r->n_query_ids == 0 || r->query_ids, CC_E_INVAL, "query_ids is NULL");
    cc_buf_reset(m);
    CC_TRY(cc_buf_append(m, r->uid, 16));
    CC_TRY(cc_buf_append(m, r->content_hash, 16));
    CC_TRY(cc_buf_put_u64(m, r->phash));
    CC_TRY(cc_buf_put_u64(m, (uint64_t)r->fetch_time_ms));
    CC_TRY(cc_buf_put_u32(m, r->width));
    CC_TRY(cc_buf_put_u32(m, r->height));
    CC_TRY(cc_buf_put_u32(m, r->orig_width));
    CC_TRY(cc_buf_put_u32(m, r->orig_height));
    CC_TRY(cc_buf_put_u32(m, r->query_id));
    CC_TRY(cc_buf_put_u32(m, r->n_query_ids));
    for (uint32_t i = 0; i < r->n_query_ids; i++)
        CC_TRY(cc_buf_put_u32(m, r->query_ids[i]));
    CC_TRY(put_str(m, r->caption, "caption"));
    CC_TRY(put_str(m, r->url, "url"));
    CC_TRY(put_str(m, r->page_url, "page_url"));
    return put_str(m, r->license, "license");
}

cc_status shard_codec_encode(shard_codec *c, const shard_record *r, int use_dict, cc_buf *out)
{
    CC_CHECK(r->image_len <= SHARD_MAX_IMAGE, CC_E_LIMIT,
             "image of %zu bytes exceeds the %u-byte limit", r->image_len, SHARD_MAX_IMAGE);
    CC_CHECK(r->image_len == 0 || r->image, CC_E_INVAL, "image is NULL");
    CC_TRY(encode_meta(&c->meta, r));

    cc_buf_reset(out);
    size_t bound = ZSTD_compressBound(c->meta.len);
    CC_TRY(cc_buf_reserve(out, REC_HEADER + bound + r->image_len));
    uint8_t *h = out->data;
    uint8_t *body = h + REC_HEADER;

    /* A few hundred bytes of metadata compress well only with a dictionary: without one, zstd
     * saves a few bytes and costs ~2 us to decode against ~0.2 us with one (measured on
     * synthetic captions), while a whole record is read in ~4 us. So without a dictionary the
     * block is stored raw unless it is long; either way zstd must save an eighth of it. */
    int codec = CODEC_RAW;
    size_t zn = c->meta.len;
    if ((use_dict && c->cdict) || c->meta.len >= 4096) {
        codec = use_dict && c->cdict ? CODEC_ZSTD_DICT : CODEC_ZSTD;
        zn = codec == CODEC_ZSTD_DICT
                 ? ZSTD_compress_usingCDict(c->cctx, body, bound, c->meta.data, c->meta.len,
                                            c->cdict)
                 : ZSTD_compressCCtx(c->cctx, body, bound, c->meta.data, c->meta.len, c->level);
        if (ZSTD_isError(zn))
            return cc_fail(CC_E_COMPRESS, "zstd: %s", ZSTD_getErrorName(zn));
    }
    if (codec == CODEC_RAW || zn * 8 > c->meta.len * 7) {
        codec = CODEC_RAW;
        zn = c->meta.len;
        memcpy(body, c->meta.data, zn);
    }
    if (r->image_len)
        memcpy(body + zn, r->image, r->image_len);

    memcpy(h, REC_MAGIC, 4);
    cc_store_u16(h + 4, REC_VERSION);
    cc_store_u16(h + 6, REC_HEADER);
    h[16] = (uint8_t)codec;
    h[17] = r->image_format;
    cc_store_u16(h + 18, 0);
    cc_store_u32(h + 20, (uint32_t)zn);
    cc_store_u32(h + 24, (uint32_t)c->meta.len);
    cc_store_u32(h + 28, (uint32_t)r->image_len);
    out->len = REC_HEADER + zn + r->image_len;
    cc_store_u64(h + 8, cc_hash64(h + 16, out->len - 16));
    return CC_OK;
}

/* Checks the u32-length-prefixed string at *off and points out at its bytes. */
static cc_status take_str(const uint8_t *m, size_t len, size_t *off, const char **out,
                          const char *field)
{
    CC_CHECK(len - *off >= 4, CC_E_FORMAT, "record metadata truncated before %s", field);
    uint32_t n = cc_load_u32(m + *off);
    *off += 4;
    CC_CHECK(n <= SHARD_MAX_TEXT && n <= len - *off, CC_E_FORMAT,
             "record %s length %u out of bounds", field, n);
    CC_CHECK(memchr(m + *off, 0, n) == NULL, CC_E_FORMAT, "record %s contains a NUL byte", field);
    *out = (const char *)m + *off;
    *off += n;
    return CC_OK;
}

/* Parses the raw metadata in c->meta into out. Strings need NUL terminators, so the block is
 * rewritten in place: each string moves 4 bytes left over its own length prefix, which frees
 * the byte after it for the terminator without touching the next prefix. */
static cc_status decode_meta(shard_codec *c, shard_record *out)
{
    uint8_t *m = c->meta.data;
    size_t len = c->meta.len;
    CC_CHECK(len >= META_FIXED, CC_E_FORMAT, "record metadata of %zu bytes is too short", len);
    memcpy(out->uid, m, 16);
    memcpy(out->content_hash, m + 16, 16);
    out->phash = cc_load_u64(m + 32);
    out->fetch_time_ms = (int64_t)cc_load_u64(m + 40);
    out->width = cc_load_u32(m + 48);
    out->height = cc_load_u32(m + 52);
    out->orig_width = cc_load_u32(m + 56);
    out->orig_height = cc_load_u32(m + 60);
    out->query_id = cc_load_u32(m + 64);
    uint32_t nq = cc_load_u32(m + 68);
    CC_CHECK(nq <= SHARD_MAX_QUERY_IDS && (size_t)nq * 4 <= len - META_FIXED, CC_E_FORMAT,
             "record query id count %u out of bounds", nq);
    if (nq > c->qids_cap) {
        uint32_t *q = realloc(c->qids, (size_t)nq * sizeof *q);
        CC_CHECK(q, CC_E_NOMEM, "out of memory for %u query ids", nq);
        c->qids = q;
        c->qids_cap = nq;
    }
    for (uint32_t i = 0; i < nq; i++)
        c->qids[i] = cc_load_u32(m + META_FIXED + 4 * i);
    out->query_ids = c->qids;
    out->n_query_ids = nq;

    size_t off = META_FIXED + (size_t)nq * 4;
    const char **fields[4] = {&out->caption, &out->url, &out->page_url, &out->license};
    static const char *const names[4] = {"caption", "url", "page_url", "license"};
    for (int i = 0; i < 4; i++)
        CC_TRY(take_str(m, len, &off, fields[i], names[i]));
    CC_CHECK(off == len, CC_E_FORMAT, "record metadata has %zu trailing bytes", len - off);

    /* Shift each string over its prefix and terminate it. */
    for (int i = 0; i < 4; i++) {
        uint8_t *s = (uint8_t *)*fields[i];
        size_t n = cc_load_u32(s - 4);
        memmove(s - 4, s, n);
        (s - 4)[n] = 0; /* inside this string's old bytes, before the next prefix */
        *fields[i] = (const char *)(s - 4);
    }
    return CC_OK;
}

cc_status shard_codec_decode(shard_codec *c, const void *val, size_t len, shard_record *out)
{
    const uint8_t *v = val;
    CC_CHECK(len >= REC_HEADER, CC_E_FORMAT, "record of %zu bytes is shorter than its header", len);
    CC_CHECK(memcmp(v, REC_MAGIC, 4) == 0, CC_E_FORMAT, "record has a bad magic");
    uint16_t ver = cc_load_u16(v + 4), hs = cc_load_u16(v + 6);
    CC_CHECK(ver == REC_VERSION, CC_E_VERSION,
             "record version %u is not supported (this build reads version %d; upgrade "
             "clipcrawl)",
             ver, REC_VERSION);
    CC_CHECK(hs >= REC_HEADER && hs <= len, CC_E_FORMAT, "record header size %u is invalid", hs);
    CC_CHECK(!c->check_values || cc_hash64(v + 16, len - 16) == cc_load_u64(v + 8), CC_E_CHECKSUM,
             "record checksum mismatch (damaged value)");
    uint8_t codec = v[16];
    uint32_t zlen = cc_load_u32(v + 20), rawlen = cc_load_u32(v + 24), ilen = cc_load_u32(v + 28);
    CC_CHECK((uint64_t)hs + zlen + ilen == len, CC_E_FORMAT,
             "record lengths (%u + %u + %u) do not add up to its %zu bytes", hs, zlen, ilen, len);
    CC_CHECK(rawlen >= META_FIXED && rawlen <= SHARD_MAX_META && ilen <= SHARD_MAX_IMAGE,
             CC_E_FORMAT, "record field lengths are outside the format's limits");

    cc_buf_reset(&c->meta);
    CC_TRY(cc_buf_reserve(&c->meta, rawlen));
    const uint8_t *z = v + hs;
    if (codec == CODEC_RAW) {
        CC_CHECK(zlen == rawlen, CC_E_FORMAT, "raw record metadata length mismatch");
        memcpy(c->meta.data, z, rawlen);
    } else if (codec == CODEC_ZSTD || codec == CODEC_ZSTD_DICT) {
        CC_CHECK(codec == CODEC_ZSTD || c->ddict, CC_E_FORMAT,
                 "record needs the shard dictionary, which is missing");
        unsigned long long fcs = ZSTD_getFrameContentSize(z, zlen);
        CC_CHECK(fcs == rawlen, CC_E_FORMAT,
                 "record metadata frame declares %llu bytes, header says %u", fcs, rawlen);
        size_t n =
            codec == CODEC_ZSTD_DICT
                ? ZSTD_decompress_usingDDict(c->dctx, c->meta.data, rawlen, z, zlen, c->ddict)
                : ZSTD_decompressDCtx(c->dctx, c->meta.data, rawlen, z, zlen);
        if (ZSTD_isError(n))
            return cc_fail(CC_E_COMPRESS, "record metadata: zstd: %s", ZSTD_getErrorName(n));
        CC_CHECK(n == rawlen, CC_E_FORMAT, "record metadata decompressed to %zu bytes, not %u", n,
                 rawlen);
    } else {
        return cc_fail(CC_E_FORMAT, "record metadata codec %u is unknown", codec);
    }
    c->meta.len = rawlen;
    CC_TRY(decode_meta(c, out));
    out->image_format = v[17];
    out->image = ilen ? v + hs + zlen : NULL;
    out->image_len = ilen;
    return CC_OK;
}
