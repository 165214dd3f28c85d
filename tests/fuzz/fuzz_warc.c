/* tests/fuzz/fuzz_warc.c — libFuzzer target for the WARC/WAT reader (crawler/warc.h).
 *
 * The input is a whole WARC file (plain, gzip or zstd, told apart by the reader from its first
 * bytes), read from an exact-size heap copy with warc_reader_open_mem. Every record is read, and
 * every metadata record goes through warc_wat_links. Properties checked, beyond "no crash, no
 * out-of-bounds read" (ASan/UBSan), "no timeout" and "bounded memory" (run.sh's -timeout=10;
 * run with -rss_limit_mb=512):
 *   - every returned record's block length equals its Content-Length header, its strings are
 *     non-NULL and NUL-terminated, an HTTP payload lies inside the block unless de-chunked (then
 *     it is no longer than the rest of the block);
 *   - the reader makes progress: after an error the next call continues, and the number of calls
 *     before CC_E_NOTFOUND is bounded by the input size;
 *   - the stats agree with what was returned (records, by type);
 *   - cursors resume: for records read before the first error, warc_reader_seek to the record's
 *     cursor then warc_reader_next gives the same record (same id, same block bytes);
 *   - warc_wat_links returns CC_OK, CC_E_FORMAT or CC_E_LIMIT only, and the counts it reports
 *     match the callback's calls.
 * With CLIPCRAWL_FUZZ_SEED_DIR set, LLVMFuzzerInitialize writes seed files into that directory:
 * plain, gzip-per-record, one-gzip-stream and zstd files with every record type, chunked and
 * plain HTTP responses, and a WAT metadata record with links.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>
#include <zstd.h>

#include "common/buf.h"
#include "crawler/warc.h"
#include "tests/fuzz/fuzz_util.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond) FUZZ_CHECK("fuzz_warc", cond)

#define MAX_RESUME 8 /* records per input whose cursors are checked by seeking */

/* ---- seeds --------------------------------------------------------------------------------- */

/* Seed records: WARC header lines (without Content-Length) and block. */
static const char *const seed_records[][2] = {
    {"WARC/1.1\r\nWARC-Type: warcinfo\r\nWARC-Record-ID: <urn:uuid:1>\r\n"
     "Content-Type: application/warc-fields\r\n",
     "software: fuzz\r\n"},
    {"WARC/1.1\r\nWARC-Type: request\r\nWARC-Target-URI: http://a.example/x.jpg\r\n"
     "Content-Type: application/http; msgtype=request\r\n",
     "GET /x.jpg HTTP/1.1\r\nHost: a.example\r\n\r\n"},
    {"WARC/1.0\r\nWARC-Type: response\r\nWARC-Target-URI: <http://a.example/x.jpg>\r\n"
     "WARC-Record-ID: <urn:uuid:3>\r\nContent-Type: application/http; msgtype=response\r\n",
     "HTTP/1.1 200 OK\r\nContent-Type: image/jpeg\r\n\r\n\xff\xd8\xff\xe0"},
    {"WARC/1.1\r\nWARC-Type: response\r\nWARC-Target-URI: http://a.example/\r\n"
     "Content-Type: application/http;msgtype=response\r\n",
     "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n<html\r\n1\r\n>\r\n0\r\n\r\n"},
    {"WARC/1.1\r\nWARC-Type: resource\r\n", "abc"},
    {"WARC/1.1\r\nWARC-Type: metadata\r\nWARC-Target-URI: http://a.example/p.html\r\n"
     "Content-Type: application/json\r\n",
     "{\"Envelope\":{\"WARC-Header-Metadata\":{\"WARC-Target-URI\":\"http://a.example/p.html\"},"
     "\"Payload-Metadata\":{\"HTTP-Response-Metadata\":{\"HTML-Metadata\":{\"Head\":{\"Title\":"
     "\"T\",\"Base\":\"/b/\"},\"Links\":[{\"path\":\"IMG@/src\",\"url\":\"c.jpg\",\"alt\":"
     "\"a cat\"},{\"path\":\"A@/href\",\"url\":\"/d\",\"title\":\"D\"},{\"path\":"
     "\"IMG@/srcset\",\"url\":\"e.jpg 1x, f.jpg 2x\"}]}}}}}"},
    {"WARC/1.1\r\nWARC-Type: revisit\r\nContent-Type: application/http; msgtype=response\r\n",
     "HTTP/1.1 304 Not Modified\r\n\r\n"},
};
#define N_SEED_RECORDS (sizeof seed_records / sizeof seed_records[0])

static int seed_gzip(cc_buf *out, const void *p, size_t n)
{
    z_stream z;
    memset(&z, 0, sizeof z);
    if (deflateInit2(&z, 6, Z_DEFLATED, 31, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        return -1;
    size_t cap = deflateBound(&z, (uLong)n) + 64;
    if (cc_buf_reserve(out, cap) != CC_OK) {
        deflateEnd(&z);
        return -1;
    }
    z.next_in = (Bytef *)(uintptr_t)p;
    z.avail_in = (uInt)n;
    z.next_out = out->data + out->len;
    z.avail_out = (uInt)cap;
    int ok = deflate(&z, Z_FINISH) == Z_STREAM_END;
    out->len += cap - z.avail_out;
    deflateEnd(&z);
    return ok ? 0 : -1;
}

static int seed_zstd(cc_buf *out, const void *p, size_t n)
{
    size_t cap = ZSTD_compressBound(n);
    if (cc_buf_reserve(out, cap) != CC_OK)
        return -1;
    size_t k = ZSTD_compress(out->data + out->len, cap, p, n, 3);
    if (ZSTD_isError(k))
        return -1;
    out->len += k;
    return 0;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    const char *dir = getenv("CLIPCRAWL_FUZZ_SEED_DIR");
    if (dir == NULL || dir[0] == '\0')
        return 0;
    cc_buf plain, gz_each, gz_one, zs_each, zs_one;
    cc_buf_init(&plain, 1 << 20);
    cc_buf_init(&gz_each, 1 << 20);
    cc_buf_init(&gz_one, 1 << 20);
    cc_buf_init(&zs_each, 1 << 20);
    cc_buf_init(&zs_one, 1 << 20);
    int ok = 1;
    for (size_t i = 0; i < N_SEED_RECORDS && ok; i++) {
        char r[2048];
        int n = snprintf(r, sizeof r, "%sContent-Length: %zu\r\n\r\n%s\r\n\r\n", seed_records[i][0],
                         strlen(seed_records[i][1]), seed_records[i][1]);
        if (n < 0 || (size_t)n >= sizeof r)
            break;
        char name[64];
        snprintf(name, sizeof name, "seed-record-%02zu.warc", i);
        fuzz_write_seed(dir, name, r, (size_t)n);
        ok = cc_buf_append(&plain, r, (size_t)n) == CC_OK &&
             seed_gzip(&gz_each, r, (size_t)n) == 0 && seed_zstd(&zs_each, r, (size_t)n) == 0;
    }
    if (ok && seed_gzip(&gz_one, plain.data, plain.len) == 0 &&
        seed_zstd(&zs_one, plain.data, plain.len) == 0) {
        fuzz_write_seed(dir, "seed-all.warc", plain.data, plain.len);
        fuzz_write_seed(dir, "seed-all.warc.gz", gz_each.data, gz_each.len);
        fuzz_write_seed(dir, "seed-all-one-stream.warc.gz", gz_one.data, gz_one.len);
        fuzz_write_seed(dir, "seed-all.warc.zst", zs_each.data, zs_each.len);
        fuzz_write_seed(dir, "seed-all-one-frame.warc.zst", zs_one.data, zs_one.len);
    }
    cc_buf_free(&plain);
    cc_buf_free(&gz_each);
    cc_buf_free(&gz_one);
    cc_buf_free(&zs_each);
    cc_buf_free(&zs_one);
    return 0;
}

/* ---- the target ---------------------------------------------------------------------------- */

typedef struct link_count {
    size_t n;
} link_count;

static int on_link(void *ctx, const warc_wat_page *page, const warc_link *link)
{
    link_count *c = ctx;
    CHECK(page->url && page->base && page->title);
    CHECK(link->path && link->url && link->alt && link->title);
    CHECK((int)link->kind >= 0 && link->kind < WARC_LINK_KIND_COUNT);
    if (link->resolved)
        CHECK(strlen(link->resolved) > 0);
    c->n++;
    return 0;
}

static uint64_t hash_bytes(const uint8_t *p, size_t n)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 1099511628211ull;
    return h;
}

typedef struct seen {
    uint64_t cursor;
    uint64_t block_hash;
    size_t block_len;
    char id[64];
} seen;

static void check_record(const warc_record *rec)
{
    const char *cl = warc_header(rec, "Content-Length");
    CHECK(cl != NULL);
    CHECK(strtoull(cl, NULL, 10) == rec->block_len);
    CHECK(rec->type_name && rec->target_uri && rec->date && rec->record_id && rec->content_type);
    CHECK(rec->http_error && rec->http_line && rec->block && rec->payload);
    CHECK(strcmp(rec->version, "WARC/1.0") == 0 || strcmp(rec->version, "WARC/1.1") == 0);
    CHECK((int)rec->type >= 0 && rec->type < WARC_TYPE_COUNT);
    for (size_t i = 0; i < rec->n_fields; i++)
        CHECK(rec->fields[i].name[0] != '\0');
    if (rec->http == WARC_HTTP_OK) {
        if (rec->payload_dechunked) {
            CHECK(rec->payload_len <= rec->block_len);
        } else {
            CHECK(rec->payload >= rec->block);
            CHECK(rec->payload + rec->payload_len == rec->block + rec->block_len);
        }
        CHECK(rec->http_status == 0 || (rec->http_status >= 100 && rec->http_status <= 999));
    } else {
        CHECK(rec->payload_len == 0);
        CHECK(rec->n_http_fields == 0);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t *in = malloc(size ? size : 1); /* exact size: ASan sees reads past the end */
    if (in == NULL)
        return 0;
    memcpy(in, data, size);
    warc_limits lim;
    warc_limits_default(&lim);
    lim.max_block = 1 << 20;
    lim.max_skip = (uint64_t)64 << 20; /* bounds the time spent on one bomb record */
    lim.max_json = 1 << 20;

    warc_reader *r = NULL;
    cc_status st = warc_reader_open_mem(in, size, "fuzz", &lim, &r);
    if (st != CC_OK) {
        CHECK(st == CC_E_FORMAT || st == CC_E_UNSUPPORTED);
        CHECK(r == NULL);
        free(in);
        return 0;
    }
    seen resume[MAX_RESUME];
    size_t n_resume = 0, calls = 0, records = 0, errors = 0;
    uint64_t by_type[WARC_TYPE_COUNT] = {0};
    warc_record rec;
    for (;;) {
        CHECK(++calls <= 4 * size + 16);
        st = warc_reader_next(r, &rec);
        if (st == CC_E_NOTFOUND)
            break;
        if (st != CC_OK) {
            CHECK(st == CC_E_FORMAT || st == CC_E_LIMIT || st == CC_E_VERSION ||
                  st == CC_E_UNSUPPORTED);
            CHECK(strstr(cc_errmsg(), "fuzz: ") == cc_errmsg());
            errors++;
            continue;
        }
        records++;
        by_type[rec.type]++;
        check_record(&rec);
        CHECK(rec.offset == warc_reader_offset(r));
        if (errors == 0 && n_resume < MAX_RESUME) {
            seen *s = &resume[n_resume++];
            s->cursor = rec.offset;
            s->block_len = rec.block_len;
            s->block_hash = hash_bytes(rec.block, rec.block_len);
            snprintf(s->id, sizeof s->id, "%s", rec.record_id);
        }
        if (rec.type == WARC_METADATA) {
            link_count c = {0};
            warc_wat_info info;
            cc_status ws = warc_wat_links(&rec, &lim, on_link, &c, &info);
            CHECK(ws == CC_OK || ws == CC_E_FORMAT || ws == CC_E_LIMIT);
            if (ws == CC_OK) {
                CHECK(info.links == c.n);
                CHECK(info.unresolved <= info.links);
                size_t sum = 0;
                for (int k = 0; k < WARC_LINK_KIND_COUNT; k++)
                    sum += info.by_kind[k];
                CHECK(sum == info.links);
            }
        }
    }
    /* reading on after the end stays at the end */
    CHECK(warc_reader_next(r, &rec) == CC_E_NOTFOUND);
    const warc_stats *stats = warc_reader_stats(r);
    CHECK(stats->records == records);
    for (int t = 0; t < WARC_TYPE_COUNT; t++)
        CHECK(stats->by_type[t] == by_type[t]);

    /* resume at the cursors of the records read before any error */
    for (size_t i = 0; i < n_resume; i++) {
        CHECK(warc_reader_seek(r, resume[i].cursor) == CC_OK);
        st = warc_reader_next(r, &rec);
        CHECK(st == CC_OK);
        CHECK(rec.offset == resume[i].cursor);
        CHECK(rec.block_len == resume[i].block_len);
        CHECK(hash_bytes(rec.block, rec.block_len) == resume[i].block_hash);
        CHECK(strncmp(rec.record_id, resume[i].id, sizeof resume[i].id - 1) == 0);
    }
    warc_reader_close(r);
    free(in);
    return 0;
}
