/* tests/unit/test_warc.c — the WARC/WAT reader (crawler/warc.h) on WARC files built here in
 * memory: every record type, every layout (plain, gzip per record, one gzip stream, zstd per
 * record, one zstd frame), from a file and from memory; cursors and seeking; oversize records;
 * every kind of malformed input with its error, offset and recovery; HTTP heads, chunked
 * payloads; WAT link extraction.
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

#include <zlib.h>
#include <zstd.h>

#include "common/buf.h"
#include "crawler/warc.h"

/* ---- building WARC files ------------------------------------------------------------------- */

/* A record to write: the header lines are given whole ("Name: value"), Content-Length is added
 * unless cl_override says otherwise (-1: the block's length, -2: no Content-Length). */
typedef struct spec {
    const char *version;
    const char *headers; /* "WARC-Type: response\r\n..." */
    const char *block;
    size_t block_len;
    long long cl_override;
} spec;

#define BIG (1 << 22)

static void put(cc_buf *b, const void *p, size_t n)
{
    assert_int_equal(cc_buf_append(b, p, n), CC_OK);
}

static void puts_(cc_buf *b, const char *s)
{
    put(b, s, strlen(s));
}

/* Appends one plain record. */
static void rec_plain(cc_buf *out, const spec *s)
{
    char cl[64];
    puts_(out, s->version ? s->version : "WARC/1.0");
    puts_(out, "\r\n");
    puts_(out, s->headers);
    if (s->cl_override != -2) {
        long long v = s->cl_override == -1 ? (long long)s->block_len : s->cl_override;
        snprintf(cl, sizeof cl, "Content-Length: %lld\r\n", v);
        puts_(out, cl);
    }
    puts_(out, "\r\n");
    put(out, s->block, s->block_len);
    puts_(out, "\r\n\r\n");
}

/* Appends in[0..n) as one gzip member. */
static void gz_member(cc_buf *out, const uint8_t *in, size_t n)
{
    z_stream z;
    memset(&z, 0, sizeof z);
    assert_int_equal(deflateInit2(&z, 6, Z_DEFLATED, 31, 8, Z_DEFAULT_STRATEGY), Z_OK);
    size_t cap = deflateBound(&z, (uLong)n) + 64;
    assert_int_equal(cc_buf_reserve(out, cap), CC_OK);
    z.next_in = (Bytef *)(uintptr_t)in;
    z.avail_in = (uInt)n;
    z.next_out = out->data + out->len;
    z.avail_out = (uInt)cap;
    assert_int_equal(deflate(&z, Z_FINISH), Z_STREAM_END);
    out->len += cap - z.avail_out;
    deflateEnd(&z);
}

static void zs_frame(cc_buf *out, const uint8_t *in, size_t n)
{
    size_t cap = ZSTD_compressBound(n);
    assert_int_equal(cc_buf_reserve(out, cap), CC_OK);
    size_t k = ZSTD_compress(out->data + out->len, cap, in, n, 3);
    assert_false(ZSTD_isError(k));
    out->len += k;
}

enum layout { PLAIN, GZ_EACH, GZ_ONE, ZS_EACH, ZS_ONE, N_LAYOUTS };
static const char *const layout_names[N_LAYOUTS] = {"plain", "gzip-per-record", "gzip-one-stream",
                                                    "zstd-per-frame", "zstd-one-frame"};

/* Writes records in a layout into out; starts[i] receives the file offset of record i's member
 * (per-record layouts) or of the record (plain); ustarts[i] its decompressed offset. */
static void build(cc_buf *out, enum layout lay, const spec *specs, size_t n, uint64_t *starts,
                  uint64_t *ustarts)
{
    cc_buf all, one;
    cc_buf_init(&all, BIG * 4);
    cc_buf_init(&one, BIG * 4);
    cc_buf_reset(out);
    for (size_t i = 0; i < n; i++) {
        cc_buf_reset(&one);
        rec_plain(&one, &specs[i]);
        if (ustarts)
            ustarts[i] = all.len;
        if (starts)
            starts[i] = lay == PLAIN ? all.len : out->len;
        put(&all, one.data, one.len);
        if (lay == GZ_EACH)
            gz_member(out, one.data, one.len);
        if (lay == ZS_EACH)
            zs_frame(out, one.data, one.len);
    }
    if (lay == PLAIN)
        put(out, all.data, all.len);
    if (lay == GZ_ONE)
        gz_member(out, all.data, all.len);
    if (lay == ZS_ONE)
        zs_frame(out, all.data, all.len);
    cc_buf_free(&all);
    cc_buf_free(&one);
}

static char tmpdir[] = "/tmp/test_warc.XXXXXX";

static const char *write_tmp(const char *name, const void *p, size_t n)
{
    static char path[512];
    snprintf(path, sizeof path, "%s/%s", tmpdir, name);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(p, 1, n, f), n);
    assert_int_equal(fclose(f), 0);
    return path;
}

static int setup(void **state)
{
    (void)state;
    assert_non_null(mkdtemp(tmpdir));
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    return system(cmd);
}

/* Opens bytes either from a file or from memory (an exact-size heap copy, so that ASan sees any
 * read past the end). *copy must be freed after closing. */
static warc_reader *open_bytes(const cc_buf *b, int from_file, const warc_limits *lim, void **copy)
{
    warc_reader *r = NULL;
    *copy = NULL;
    if (from_file) {
        const char *path = write_tmp("in.warc", b->data, b->len);
        assert_int_equal(warc_reader_open(path, lim, &r), CC_OK);
    } else {
        *copy = malloc(b->len ? b->len : 1);
        assert_non_null(*copy);
        memcpy(*copy, b->data, b->len);
        if (warc_reader_open_mem(*copy, b->len, "mem.warc", lim, &r) != CC_OK)
            fail_msg("open_mem: %s", cc_errmsg());
    }
    assert_non_null(r);
    return r;
}

static void expect_err(cc_status got, cc_status want, const char *needle)
{
    if (got != want)
        fail_msg("status %s (%s), expected %s", cc_status_str(got), cc_errmsg(),
                 cc_status_str(want));
    if (needle && strstr(cc_errmsg(), needle) == NULL)
        fail_msg("message '%s' lacks '%s'", cc_errmsg(), needle);
}

static void next_ok(warc_reader *r, warc_record *rec)
{
    cc_status st = warc_reader_next(r, rec);
    if (st != CC_OK)
        fail_msg("warc_reader_next: %s: %s", cc_status_str(st), cc_errmsg());
}

/* ---- the sample file ----------------------------------------------------------------------- */

static const char warcinfo_block[] = "software: test\r\nformat: WARC File Format 1.1\r\n";
static const char request_block[] =
    "GET /a.jpg HTTP/1.1\r\nHost: example.com\r\nUser-Agent: t\r\n\r\n";
static const char response_block[] = "HTTP/1.1 200 OK\r\nContent-Type: image/jpeg\r\n"
                                     "Content-Length: 10\r\n\r\n\xff\xd8\xff\xe0"
                                     "\0\x10JFIF";
static const char chunked_block[] = "HTTP/1.1 200 OK\r\ncontent-type: text/html\r\n"
                                    "Transfer-Encoding: chunked\r\n\r\n"
                                    "5\r\n<html\r\n1A;ext=1\r\n><body>hello world!</body>\r\n"
                                    "0\r\nX-Trailer: y\r\n\r\n";
static const char resource_block[] = "plain text resource\n";
static const char metadata_block[] = "fetchTimeMs: 123\r\n";
static const char revisit_block[] = "HTTP/1.1 304 Not Modified\r\nETag: \"x\"\r\n\r\n";

#define S(x) x, sizeof(x) - 1

static const spec sample[] = {
    {"WARC/1.1",
     "WARC-Type: warcinfo\r\nWARC-Date: 2024-01-02T03:04:05Z\r\n"
     "WARC-Record-ID: <urn:uuid:00000000-0000-0000-0000-000000000001>\r\n"
     "WARC-Filename: t.warc.gz\r\nContent-Type: application/warc-fields\r\n",
     S(warcinfo_block), -1},
    {"WARC/1.1",
     "WARC-Type: request\r\nWARC-Target-URI: http://example.com/a.jpg\r\n"
     "WARC-Date: 2024-01-02T03:04:06Z\r\n"
     "WARC-Record-ID: <urn:uuid:00000000-0000-0000-0000-000000000002>\r\n"
     "Content-Type: application/http; msgtype=request\r\n",
     S(request_block), -1},
    {"WARC/1.1",
     "WARC-Type: response\r\nWARC-Target-URI: http://example.com/a.jpg\r\n"
     "WARC-Date: 2024-01-02T03:04:07Z\r\n"
     "WARC-Record-ID: <urn:uuid:00000000-0000-0000-0000-000000000003>\r\n"
     "Content-Type: application/http; msgtype=response\r\n"
     "WARC-Payload-Digest: sha1:ABC\r\n",
     S(response_block), -1},
    {"WARC/1.0",
     "WARC-Type: response\r\nWARC-Target-URI: <http://example.com/page.html>\r\n"
     "WARC-Date: 2024-01-02T03:04:08Z\r\n"
     "WARC-Record-ID: <urn:uuid:00000000-0000-0000-0000-000000000004>\r\n"
     "Content-Type: application/http;msgtype=response\r\n",
     S(chunked_block), -1},
    {"WARC/1.1",
     "WARC-Type: resource\r\nWARC-Target-URI: file:///r.txt\r\n"
     "WARC-Date: 2024-01-02T03:04:09Z\r\n"
     "WARC-Record-ID: <urn:uuid:00000000-0000-0000-0000-000000000005>\r\n"
     "Content-Type: text/plain\r\n",
     S(resource_block), -1},
    {"WARC/1.1",
     "WARC-Type: metadata\r\nWARC-Target-URI: http://example.com/a.jpg\r\n"
     "WARC-Date: 2024-01-02T03:04:10Z\r\n"
     "WARC-Record-ID: <urn:uuid:00000000-0000-0000-0000-000000000006>\r\n"
     "Content-Type: application/warc-fields\r\n",
     S(metadata_block), -1},
    {"WARC/1.1",
     "WARC-Type: revisit\r\nWARC-Target-URI: http://example.com/a.jpg\r\n"
     "WARC-Date: 2024-01-02T03:04:11Z\r\n"
     "WARC-Record-ID: <urn:uuid:00000000-0000-0000-0000-000000000007>\r\n"
     "WARC-Profile: http://netpreserve.org/warc/1.1/revisit/server-not-modified\r\n"
     "Content-Type: application/http; msgtype=response\r\n",
     S(revisit_block), -1},
};
#define N_SAMPLE (sizeof sample / sizeof sample[0])

static void check_sample(const warc_record *rec, size_t i)
{
    char id[64];
    snprintf(id, sizeof id, "<urn:uuid:00000000-0000-0000-0000-00000000000%zu>", i + 1);
    assert_string_equal(rec->record_id, id);
    assert_string_equal(rec->version, sample[i].version);
    assert_int_equal(rec->block_len, sample[i].block_len);
    assert_memory_equal(rec->block, sample[i].block, sample[i].block_len);
    char cl[32];
    snprintf(cl, sizeof cl, "%zu", sample[i].block_len);
    assert_string_equal(warc_header(rec, "content-length"), cl);
    assert_null(warc_header(rec, "X-Nope"));
    switch (i) {
    case 0:
        assert_int_equal(rec->type, WARC_WARCINFO);
        assert_string_equal(rec->type_name, "warcinfo");
        assert_string_equal(rec->target_uri, "");
        assert_string_equal(rec->date, "2024-01-02T03:04:05Z");
        assert_string_equal(rec->content_type, "application/warc-fields");
        assert_string_equal(warc_header(rec, "warc-filename"), "t.warc.gz");
        assert_int_equal(rec->http, WARC_HTTP_NONE);
        assert_null(warc_http_header(rec, "Host"));
        assert_int_equal(rec->n_fields, 6);
        break;
    case 1:
        assert_int_equal(rec->type, WARC_REQUEST);
        assert_string_equal(rec->target_uri, "http://example.com/a.jpg");
        assert_int_equal(rec->http, WARC_HTTP_OK);
        assert_int_equal(rec->http_status, 0);
        assert_string_equal(rec->http_line, "GET /a.jpg HTTP/1.1");
        assert_string_equal(warc_http_header(rec, "host"), "example.com");
        assert_int_equal(rec->n_http_fields, 2);
        assert_int_equal(rec->payload_len, 0);
        break;
    case 2:
        assert_int_equal(rec->type, WARC_RESPONSE);
        assert_string_equal(rec->date, "2024-01-02T03:04:07Z");
        assert_string_equal(rec->content_type, "application/http; msgtype=response");
        assert_string_equal(warc_header(rec, "WARC-PAYLOAD-DIGEST"), "sha1:ABC");
        assert_int_equal(rec->http, WARC_HTTP_OK);
        assert_string_equal(rec->http_error, "");
        assert_int_equal(rec->http_status, 200);
        assert_string_equal(rec->http_line, "HTTP/1.1 200 OK");
        assert_string_equal(warc_http_header(rec, "Content-Type"), "image/jpeg");
        assert_string_equal(warc_http_header(rec, "content-length"), "10");
        assert_int_equal(rec->payload_len, 10);
        assert_memory_equal(rec->payload, "\xff\xd8\xff\xe0\0\x10JFIF", 10);
        assert_int_equal(rec->payload_dechunked, 0);
        break;
    case 3:
        assert_int_equal(rec->type, WARC_RESPONSE);
        assert_string_equal(rec->version, "WARC/1.0");
        assert_string_equal(rec->target_uri, "http://example.com/page.html"); /* <> removed */
        assert_string_equal(warc_header(rec, "WARC-Target-URI"), "<http://example.com/page.html>");
        assert_int_equal(rec->http, WARC_HTTP_OK);
        assert_int_equal(rec->http_status, 200);
        assert_string_equal(warc_http_header(rec, "Content-Type"), "text/html");
        assert_int_equal(rec->payload_dechunked, 1);
        assert_int_equal(rec->payload_len, 31);
        assert_memory_equal(rec->payload, "<html><body>hello world!</body>", 31);
        break;
    case 4:
        assert_int_equal(rec->type, WARC_RESOURCE);
        assert_string_equal(rec->target_uri, "file:///r.txt");
        assert_string_equal(rec->content_type, "text/plain");
        assert_int_equal(rec->http, WARC_HTTP_NONE);
        break;
    case 5:
        assert_int_equal(rec->type, WARC_METADATA);
        assert_int_equal(rec->http, WARC_HTTP_NONE);
        break;
    case 6:
        assert_int_equal(rec->type, WARC_REVISIT);
        assert_int_equal(rec->http, WARC_HTTP_OK);
        assert_int_equal(rec->http_status, 304);
        assert_string_equal(warc_http_header(rec, "etag"), "\"x\"");
        assert_int_equal(rec->payload_len, 0);
        break;
    }
}

/* Every record of the sample, every layout, from a file and from memory; the cursors are the
 * member offsets (per-record layouts), the record offsets (plain) or stream cursors. */
static void test_layouts(void **state)
{
    (void)state;
    cc_buf b;
    cc_buf_init(&b, BIG * 4);
    for (int lay = 0; lay < N_LAYOUTS; lay++) {
        uint64_t starts[N_SAMPLE], ustarts[N_SAMPLE];
        build(&b, (enum layout)lay, sample, N_SAMPLE, starts, ustarts);
        for (int from_file = 0; from_file < 2; from_file++) {
            void *copy;
            warc_reader *r = open_bytes(&b, from_file, NULL, &copy);
            warc_record rec;
            for (size_t i = 0; i < N_SAMPLE; i++) {
                next_ok(r, &rec);
                check_sample(&rec, i);
                uint64_t want = starts[i];
                if ((lay == GZ_ONE || lay == ZS_ONE) && i > 0)
                    want = WARC_CURSOR_STREAM | ustarts[i];
                if (rec.offset != want)
                    fail_msg("%s record %zu: cursor %llx, expected %llx", layout_names[lay], i,
                             (unsigned long long)rec.offset, (unsigned long long)want);
                assert_int_equal(warc_reader_offset(r), want);
            }
            expect_err(warc_reader_next(r, &rec), CC_E_NOTFOUND, NULL);
            expect_err(warc_reader_next(r, &rec), CC_E_NOTFOUND, NULL);
            const warc_stats *st = warc_reader_stats(r);
            assert_int_equal(st->records, N_SAMPLE);
            assert_int_equal(st->by_type[WARC_RESPONSE], 2);
            assert_int_equal(st->by_type[WARC_WARCINFO], 1);
            assert_int_equal(st->by_type[WARC_REQUEST], 1);
            assert_int_equal(st->by_type[WARC_RESOURCE], 1);
            assert_int_equal(st->by_type[WARC_METADATA], 1);
            assert_int_equal(st->by_type[WARC_REVISIT], 1);
            for (int k = 0; k < WARC_SKIP_COUNT; k++)
                assert_int_equal(st->skipped[k], 0);
            assert_int_equal(st->bytes_in, b.len);
            assert_int_equal(st->http_bad, 0);
            if (lay == GZ_EACH || lay == ZS_EACH)
                assert_int_equal(st->members, N_SAMPLE);
            warc_reader_close(r);
            free(copy);
        }
    }
    cc_buf_free(&b);
}

/* Resuming: seek to each record's cursor and read it again, in every layout, also out of order;
 * a cursor past the end is CC_E_INVAL. */
static void test_seek(void **state)
{
    (void)state;
    cc_buf b;
    cc_buf_init(&b, BIG * 4);
    for (int lay = 0; lay < N_LAYOUTS; lay++) {
        build(&b, (enum layout)lay, sample, N_SAMPLE, NULL, NULL);
        void *copy;
        warc_reader *r = open_bytes(&b, lay % 2, NULL, &copy);
        uint64_t cur[N_SAMPLE];
        warc_record rec;
        for (size_t i = 0; i < N_SAMPLE; i++) {
            next_ok(r, &rec);
            cur[i] = rec.offset;
        }
        for (size_t k = 0; k < N_SAMPLE; k++) {
            size_t i = (k * 3 + 2) % N_SAMPLE; /* a permutation */
            assert_int_equal(warc_reader_seek(r, cur[i]), CC_OK);
            assert_int_equal(warc_reader_offset(r), cur[i]);
            next_ok(r, &rec);
            check_sample(&rec, i);
            assert_int_equal(rec.offset, cur[i]);
            /* and the reader goes on from there */
            for (size_t j = i + 1; j < N_SAMPLE; j++) {
                next_ok(r, &rec);
                check_sample(&rec, j);
                assert_int_equal(rec.offset, cur[j]);
            }
            expect_err(warc_reader_next(r, &rec), CC_E_NOTFOUND, NULL);
        }
        assert_int_equal(warc_reader_seek(r, 0), CC_OK);
        next_ok(r, &rec);
        check_sample(&rec, 0);
        expect_err(warc_reader_seek(r, b.len + 1), CC_E_INVAL, "past the end");
        if (lay == GZ_ONE || lay == ZS_ONE)
            expect_err(warc_reader_seek(r, WARC_CURSOR_STREAM | 1000000), CC_E_INVAL,
                       "past the end");
        if (lay == PLAIN)
            expect_err(warc_reader_seek(r, WARC_CURSOR_STREAM | 5), CC_E_INVAL, "plain");
        /* seeking to the end: no more records */
        assert_int_equal(warc_reader_seek(r, b.len), CC_OK);
        expect_err(warc_reader_next(r, &rec), CC_E_NOTFOUND, NULL);
        warc_reader_close(r);
        free(copy);
    }
    cc_buf_free(&b);
}

/* A file whose gzip members each hold two records, read after a seek to a member: the second
 * record of a member gets the member's cursor (re-reading, never skipping). */
static void test_seek_multi_record_members(void **state)
{
    (void)state;
    cc_buf b, one;
    cc_buf_init(&b, BIG);
    cc_buf_init(&one, BIG);
    uint64_t m[3];
    for (size_t k = 0; k < 3; k++) {
        cc_buf_reset(&one);
        rec_plain(&one, &sample[2 * k]);
        rec_plain(&one, &sample[2 * k + 1]);
        m[k] = b.len;
        gz_member(&b, one.data, one.len);
    }
    void *copy;
    warc_reader *r = open_bytes(&b, 0, NULL, &copy);
    warc_record rec;
    for (size_t i = 0; i < 6; i++) {
        next_ok(r, &rec);
        check_sample(&rec, i);
        assert_true(i % 2 == 0 ? rec.offset == m[i / 2] : (rec.offset & WARC_CURSOR_STREAM) != 0);
    }
    assert_int_equal(warc_reader_seek(r, m[1]), CC_OK);
    next_ok(r, &rec);
    check_sample(&rec, 2);
    assert_int_equal(rec.offset, m[1]);
    next_ok(r, &rec);
    check_sample(&rec, 3);
    assert_int_equal(rec.offset, m[1]); /* the member's cursor: resuming re-reads record 2 */
    next_ok(r, &rec);
    check_sample(&rec, 4);
    assert_int_equal(rec.offset, m[2]);
    warc_reader_close(r);
    free(copy);
    cc_buf_free(&one);
    cc_buf_free(&b);
}

/* Lower-case names, LF-only lines, continuation lines, extra blank lines between records, the
 * WARC/1.0 "<uri>" form, duplicate equal Content-Length, spaces after the version. */
static void test_header_forms(void **state)
{
    (void)state;
    static const char text[] =
        "\r\n\r\nWARC/1.0\r\nwarc-type: Resource\r\nwarc-target-uri: <http://a.example/x>\r\n"
        "X-Long: first\r\n  second\r\n\tthird  \r\ncontent-length: 3\r\n"
        "CONTENT-LENGTH:3\r\n\r\nabc\r\n\r\n\r\n\n"
        "WARC/1.1 \t\nWARC-Type: metadata\nContent-Length: 2\nX-Empty:\n\nxy\n\n"
        "WARC/1.1\r\nWARC-Type: something-new\r\nContent-Length: 0\r\n\r\n\r\n\r\n";
    cc_buf b;
    cc_buf_init(&b, sizeof text);
    put(&b, text, sizeof text - 1);
    for (int from_file = 0; from_file < 2; from_file++) {
        void *copy;
        warc_reader *r = open_bytes(&b, from_file, NULL, &copy);
        warc_record rec;
        next_ok(r, &rec);
        assert_int_equal(rec.type, WARC_RESOURCE);
        assert_string_equal(rec.type_name, "Resource");
        assert_string_equal(rec.target_uri, "http://a.example/x");
        assert_string_equal(warc_header(&rec, "x-long"), "first second third");
        assert_int_equal(rec.block_len, 3);
        assert_memory_equal(rec.block, "abc", 3);
        assert_int_equal(rec.offset, 4);
        next_ok(r, &rec);
        assert_int_equal(rec.type, WARC_METADATA);
        assert_string_equal(rec.version, "WARC/1.1");
        assert_string_equal(warc_header(&rec, "X-Empty"), "");
        assert_memory_equal(rec.block, "xy", 2);
        next_ok(r, &rec);
        assert_int_equal(rec.type, WARC_OTHER);
        assert_string_equal(rec.type_name, "something-new");
        assert_int_equal(rec.block_len, 0);
        assert_string_equal(rec.record_id, "");
        expect_err(warc_reader_next(r, &rec), CC_E_NOTFOUND, NULL);
        warc_reader_close(r);
        free(copy);
    }
    cc_buf_free(&b);
}

/* ---- errors -------------------------------------------------------------------------------- */

static const spec good1 = {"WARC/1.1", "WARC-Type: resource\r\nWARC-Record-ID: <g1>\r\n",
                           S("first good block"), -1};
static const spec good2 = {"WARC/1.1", "WARC-Type: resource\r\nWARC-Record-ID: <g2>\r\n",
                           S("second good block"), -1};

/* Reads the next record and checks it is the one with record id id. */
static void expect_id(warc_reader *r, const char *id)
{
    warc_record rec;
    next_ok(r, &rec);
    assert_string_equal(rec.record_id, id);
}

/* good1, bad, good2 in a layout: the bad record gives want (message with needle), then good2. */
static void bad_between(enum layout lay, const spec *bad, cc_status want, const char *needle,
                        warc_skip reason)
{
    spec s[3] = {good1, *bad, good2};
    uint64_t starts[3];
    cc_buf b;
    cc_buf_init(&b, BIG);
    build(&b, lay, s, 3, starts, NULL);
    char where[64];
    snprintf(where, sizeof where, "offset %llu", (unsigned long long)starts[1]);
    void *copy;
    warc_reader *r = open_bytes(&b, 0, NULL, &copy);
    warc_record rec;
    expect_id(r, "<g1>");
    expect_err(warc_reader_next(r, &rec), want, needle);
    if (lay == PLAIN || lay == GZ_EACH || lay == ZS_EACH)
        expect_err(want, want, where);
    expect_id(r, "<g2>");
    expect_err(warc_reader_next(r, &rec), CC_E_NOTFOUND, NULL);
    assert_int_equal(warc_reader_stats(r)->skipped[reason], 1);
    assert_int_equal(warc_reader_stats(r)->records, 2);
    warc_reader_close(r);
    free(copy);
    cc_buf_free(&b);
}

static void test_bad_headers(void **state)
{
    (void)state;
    for (int lay = 0; lay < N_LAYOUTS; lay++) {
        spec bad = {"WARC/1.1", "WARC-Type: resource\r\n", S("xyz"), -2};
        bad_between((enum layout)lay, &bad, CC_E_FORMAT, "without Content-Length",
                    WARC_SKIP_MALFORMED);
        bad.cl_override = -1;
        bad.version = "WARC/2.0";
        bad_between((enum layout)lay, &bad, CC_E_VERSION, "'WARC/2.0' is not read",
                    WARC_SKIP_MALFORMED);
        bad.version = "WARC/one";
        bad_between((enum layout)lay, &bad, CC_E_FORMAT, "bad version line 'WARC/one'",
                    WARC_SKIP_MALFORMED);
        bad.version = "WARC/1.1";
        bad.headers = "WARC-Type: resource\r\nContent-Length: 12x\r\n";
        bad_between((enum layout)lay, &bad, CC_E_FORMAT, "bad Content-Length '12x'",
                    WARC_SKIP_MALFORMED);
        bad.headers = "WARC-Type: resource\r\nContent-Length: 4\r\n";
        bad_between((enum layout)lay, &bad, CC_E_FORMAT, "two different Content-Length",
                    WARC_SKIP_MALFORMED);
        bad.headers = "WARC-Type: resource\r\nthis line has no colon\r\n";
        bad_between((enum layout)lay, &bad, CC_E_FORMAT, "line 3: line without ':'",
                    WARC_SKIP_MALFORMED);
        bad.headers = "  continued\r\n";
        bad_between((enum layout)lay, &bad, CC_E_FORMAT, "continuation line before any field",
                    WARC_SKIP_MALFORMED);
        bad.headers = "WARC-Type: resource\r\n";
        bad.cl_override = 99999999999999LL;
        bad_between((enum layout)lay, &bad, CC_E_LIMIT, "exceeds max_skip", WARC_SKIP_MALFORMED);
    }
}

/* A NUL byte in a WARC header line is malformed (it would cut the strings short); in an HTTP
 * header line the line is skipped. */
static void test_nul_bytes(void **state)
{
    (void)state;
    static const char text[] =
        "WARC/1.1\r\nWARC-Type: resource\r\nX-A: a\0b\r\nContent-Length: 1\r\n"
        "\r\nx\r\n\r\n"
        "WARC/1.1\r\nWARC-Type: response\r\nContent-Type: application/http\r\n"
        "Content-Length: 42\r\n\r\n"
        "HTTP/1.1 200 OK\r\nA\0: 1\r\nB: 2\r\n  more\r\n\r\nxy\r\n\r\n";
    cc_buf b;
    cc_buf_init(&b, sizeof text);
    put(&b, text, sizeof text - 1);
    void *copy;
    warc_reader *r = open_bytes(&b, 0, NULL, &copy);
    warc_record rec;
    expect_err(warc_reader_next(r, &rec), CC_E_FORMAT, "offset 0: WARC header line 3: NUL byte");
    next_ok(r, &rec);
    assert_int_equal(rec.type, WARC_RESPONSE);
    assert_int_equal(rec.http, WARC_HTTP_OK);
    assert_int_equal(rec.n_http_fields, 1);
    assert_string_equal(warc_http_header(&rec, "B"), "2 more");
    assert_int_equal(rec.payload_len, 2);
    expect_err(warc_reader_next(r, &rec), CC_E_NOTFOUND, NULL);
    warc_reader_close(r);
    free(copy);
    cc_buf_free(&b);
}

/* Content-Length too small or a little too large: the trailer check names the record; too
 * large across members: the next member starts a record. */
static void test_content_length_mismatch(void **state)
{
    (void)state;
    for (int lay = 0; lay < N_LAYOUTS; lay++) {
        spec bad = {"WARC/1.1", "WARC-Type: resource\r\n", S("0123456789abcdef"), 10};
        bad_between((enum layout)lay, &bad, CC_E_FORMAT, "followed by 'abcd', not CRLF CRLF",
                    WARC_SKIP_MALFORMED);
        bad.cl_override = 17;
        bad_between((enum layout)lay, &bad, CC_E_FORMAT, "not CRLF CRLF", WARC_SKIP_MALFORMED);
        bad.cl_override = 60;
        bad_between((enum layout)lay, &bad, CC_E_FORMAT,
                    lay == GZ_EACH   ? "runs past the end of its gzip member"
                    : lay == ZS_EACH ? "runs past the end of its zstd frame"
                                     : "not CRLF CRLF",
                    WARC_SKIP_MALFORMED);
    }
}

/* Garbage between records in a plain file; Content-Length past the end of the file; a file
 * that ends inside a header; a record whose header never ends. */
static void test_garbage_and_truncation(void **state)
{
    (void)state;
    cc_buf b, g2;
    cc_buf_init(&b, BIG);
    cc_buf_init(&g2, BIG);
    rec_plain(&b, &good1);
    size_t garbage_at = b.len;
    puts_(&b, "junk junk\r\nWARC/1.1 not at line start... WARC/1.x\r\n");
    rec_plain(&b, &good2);
    void *copy;
    warc_reader *r = open_bytes(&b, 1, NULL, &copy);
    warc_record rec;
    expect_id(r, "<g1>");
    char needle[64];
    snprintf(needle, sizeof needle, "offset %zu: expected a WARC record", garbage_at);
    expect_err(warc_reader_next(r, &rec), CC_E_FORMAT, needle);
    assert_non_null(strstr(cc_errmsg(), "found 'junk junk\\x0d\\x0aWARC/'"));
    /* the scan skips "WARC/1.1 not..." inside the garbage? No: it starts a line, so it is tried
     * and fails as a bad version line, then the real record follows */
    cc_status st = warc_reader_next(r, &rec);
    if (st != CC_OK) {
        expect_err(st, CC_E_FORMAT, "bad version line");
        next_ok(r, &rec);
    }
    assert_string_equal(rec.record_id, "<g2>");
    assert_int_equal(warc_reader_stats(r)->records, 2);
    assert_true(warc_reader_stats(r)->skipped_bytes > 0);
    warc_reader_close(r);
    free(copy);

    /* Content-Length larger than the file, in every layout */
    for (int lay = 0; lay < N_LAYOUTS; lay++) {
        spec s[2] = {good1, {"WARC/1.1", "WARC-Type: resource\r\n", S("short"), 1000}};
        uint64_t starts[2];
        build(&b, (enum layout)lay, s, 2, starts, NULL);
        r = open_bytes(&b, lay % 2, NULL, &copy);
        expect_id(r, "<g1>");
        expect_err(warc_reader_next(r, &rec), CC_E_FORMAT,
                   "Content-Length 1000 but the file ends 9 bytes into the block");
        snprintf(needle, sizeof needle, "offset %llu", (unsigned long long)starts[1]);
        if (lay != GZ_ONE && lay != ZS_ONE)
            expect_err(CC_E_FORMAT, CC_E_FORMAT, needle);
        expect_err(warc_reader_next(r, &rec), CC_E_NOTFOUND, NULL);
        assert_int_equal(warc_reader_stats(r)->skipped[WARC_SKIP_TRUNCATED], 1);
        warc_reader_close(r);
        free(copy);
    }

    /* a plain file cut inside a header, and inside the version line */
    cc_buf_reset(&b);
    rec_plain(&b, &good1);
    size_t at = b.len;
    puts_(&b, "WARC/1.1\r\nWARC-Type: resource\r\nContent-Le");
    r = open_bytes(&b, 0, NULL, &copy);
    expect_id(r, "<g1>");
    snprintf(needle, sizeof needle, "offset %zu: the file ends inside the WARC header", at);
    expect_err(warc_reader_next(r, &rec), CC_E_FORMAT, needle);
    expect_err(warc_reader_next(r, &rec), CC_E_NOTFOUND, NULL);
    warc_reader_close(r);
    free(copy);
    b.len = at + 3;
    r = open_bytes(&b, 0, NULL, &copy);
    expect_id(r, "<g1>");
    expect_err(warc_reader_next(r, &rec), CC_E_FORMAT, "ends inside a WARC version line");
    warc_reader_close(r);
    free(copy);

    /* header limits */
    warc_limits lim;
    warc_limits_default(&lim);
    lim.max_header = 200;
    lim.max_header_lines = 5;
    cc_buf_reset(&b);
    rec_plain(&b, &good1);
    spec many = {"WARC/1.1", "A: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\nE: 5\r\n", S("x"), -1};
    rec_plain(&b, &many);
    char longh[400];
    memset(longh, 'a', sizeof longh);
    memcpy(longh, "X-Long: ", 8);
    memcpy(longh + sizeof longh - 3, "\r\n", 3);
    spec big = {"WARC/1.1", longh, S("x"), -1};
    rec_plain(&b, &big);
    rec_plain(&b, &good2);
    r = open_bytes(&b, 0, &lim, &copy);
    expect_id(r, "<g1>");
    expect_err(warc_reader_next(r, &rec), CC_E_LIMIT, "too many header lines");
    expect_err(warc_reader_next(r, &rec), CC_E_LIMIT, "longer than max_header (200 bytes)");
    expect_id(r, "<g2>");
    warc_reader_close(r);
    free(copy);
    cc_buf_free(&g2);
    cc_buf_free(&b);
}

/* Damaged compressed data: a truncated last member, a corrupt member in the middle, bytes after
 * the last member; zstd dictionaries, bzip2 and xz are refused. */
static void test_compressed_damage(void **state)
{
    (void)state;
    spec s[3] = {good1, sample[2], good2};
    uint64_t starts[3];
    cc_buf b;
    cc_buf_init(&b, BIG);
    char needle[128];
    warc_record rec;
    void *copy;
    for (int zs = 0; zs < 2; zs++) {
        const char *unit = zs ? "zstd frame" : "gzip member";
        enum layout lay = zs ? ZS_EACH : GZ_EACH;
        /* truncated last member */
        build(&b, lay, s, 3, starts, NULL);
        size_t full = b.len;
        b.len = (size_t)starts[2] + (full - starts[2]) / 2;
        warc_reader *r = open_bytes(&b, 1, NULL, &copy);
        expect_id(r, "<g1>");
        expect_id(r, "<urn:uuid:00000000-0000-0000-0000-000000000003>");
        snprintf(needle, sizeof needle, "%s at offset %llu is truncated", unit,
                 (unsigned long long)starts[2]);
        expect_err(warc_reader_next(r, &rec), CC_E_FORMAT, needle);
        expect_err(warc_reader_next(r, &rec), CC_E_NOTFOUND, NULL);
        assert_int_equal(warc_reader_stats(r)->skipped[WARC_SKIP_CORRUPT], 1);
        warc_reader_close(r);
        free(copy);

        /* a corrupt member in the middle: the reader goes on at the next member */
        build(&b, lay, s, 3, starts, NULL);
        for (uint64_t k = starts[1] + 20; k < starts[2] - 10; k += 7)
            b.data[k] ^= 0x5a;
        r = open_bytes(&b, 0, NULL, &copy);
        expect_id(r, "<g1>");
        cc_status st;
        int errors = 0;
        while ((st = warc_reader_next(r, &rec)) != CC_OK) {
            assert_true(st == CC_E_FORMAT);
            if (errors++ == 0) {
                snprintf(needle, sizeof needle, "offset %llu", (unsigned long long)starts[1]);
                expect_err(st, CC_E_FORMAT, needle);
            }
            assert_true(errors < 50);
        }
        assert_true(errors >= 1);
        assert_string_equal(rec.record_id, "<g2>");
        assert_int_equal(rec.offset, starts[2]); /* the cursor stays a file offset */
        expect_err(warc_reader_next(r, &rec), CC_E_NOTFOUND, NULL);
        warc_reader_close(r);
        free(copy);

        /* bytes after the last member */
        build(&b, lay, s, 3, starts, NULL);
        size_t end = b.len;
        puts_(&b, "trailing");
        r = open_bytes(&b, 1, NULL, &copy);
        for (int i = 0; i < 3; i++)
            next_ok(r, &rec);
        snprintf(needle, sizeof needle, "offset %zu: bytes after the %s", end, unit);
        expect_err(warc_reader_next(r, &rec), CC_E_FORMAT, needle);
        expect_err(warc_reader_next(r, &rec), CC_E_NOTFOUND, NULL);
        warc_reader_close(r);
        free(copy);
    }
    /* one gzip stream cut short */
    build(&b, GZ_ONE, s, 3, NULL, NULL);
    b.len -= 12;
    warc_reader *r = open_bytes(&b, 0, NULL, &copy);
    expect_id(r, "<g1>");
    expect_id(r, "<urn:uuid:00000000-0000-0000-0000-000000000003>");
    cc_status st = warc_reader_next(r, &rec);
    assert_int_equal(st, CC_E_FORMAT);
    assert_true(strstr(cc_errmsg(), "truncated") || strstr(cc_errmsg(), "ends"));
    expect_err(warc_reader_next(r, &rec), CC_E_NOTFOUND, NULL);
    warc_reader_close(r);
    free(copy);

    /* refused at open */
    static const uint8_t dict[] = {0x5d, 0x2a, 0x4d, 0x18, 4, 0, 0, 0, 1, 2, 3, 4};
    static const uint8_t xz[] = {0xfd, '7', 'z', 'X', 'Z', 0, 1, 2};
    const struct {
        const void *p;
        size_t n;
        cc_status st;
        const char *needle;
    } refused[] = {
        {dict, sizeof dict, CC_E_UNSUPPORTED, "dictionary"},
        {"BZh91AY&SY", 10, CC_E_UNSUPPORTED, "bzip2"},
        {xz, sizeof xz, CC_E_UNSUPPORTED, "xz"},
        {"<html>hello", 11, CC_E_FORMAT, "not a WARC file (starts with '<html>hello')"},
    };
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
        warc_reader *x = (warc_reader *)1;
        expect_err(warc_reader_open_mem(refused[i].p, refused[i].n, NULL, NULL, &x), refused[i].st,
                   refused[i].needle);
        assert_null(x);
    }
    /* a zstd frame that declares a dictionary id (after a good frame) */
    {
        cc_buf z;
        cc_buf_init(&z, 4096);
        cc_buf one;
        cc_buf_init(&one, 4096);
        rec_plain(&one, &good1);
        zs_frame(&z, one.data, one.len);
        size_t at = z.len;
        /* magic, FHD 0x21 (single segment, 1-byte dictionary id), id 7, content size 5, one
         * raw last block of 5 bytes */
        static const uint8_t fr[] = {0x28, 0xb5, 0x2f, 0xfd, 0x21, 0x07, 0x05, 0x29,
                                     0x00, 0x00, 'W',  'A',  'R',  'C',  '/'};
        put(&z, fr, sizeof fr);
        warc_reader *x;
        assert_int_equal(warc_reader_open_mem(z.data, z.len, NULL, NULL, &x), CC_OK);
        expect_id(x, "<g1>");
        snprintf(needle, sizeof needle, "zstd frame at offset %zu needs dictionary 7", at);
        expect_err(warc_reader_next(x, &rec), CC_E_UNSUPPORTED, needle);
        expect_err(warc_reader_next(x, &rec), CC_E_NOTFOUND, NULL);
        warc_reader_close(x);
        cc_buf_free(&one);
        cc_buf_free(&z);
    }
    /* missing file, empty file */
    warc_reader *x = (warc_reader *)1;
    expect_err(warc_reader_open("/nonexistent/x.warc.gz", NULL, &x), CC_E_NOTFOUND, "x.warc.gz");
    assert_null(x);
    const char *empty = write_tmp("empty.warc", "", 0);
    assert_int_equal(warc_reader_open(empty, NULL, &x), CC_OK);
    expect_err(warc_reader_next(x, &rec), CC_E_NOTFOUND, NULL);
    warc_reader_close(x);
    warc_limits zero;
    warc_limits_default(&zero);
    zero.max_block = 0;
    expect_err(warc_reader_open_mem("", 0, NULL, &zero, &x), CC_E_INVAL, "limit");
    warc_reader_close(NULL);
    cc_buf_free(&b);
}

/* ---- oversize records ---------------------------------------------------------------------- */

static void test_oversize(void **state)
{
    (void)state;
    char *big = malloc(5000);
    assert_non_null(big);
    for (int i = 0; i < 5000; i++)
        big[i] = (char)('a' + i % 26);
    spec s[3] = {good1, {"WARC/1.1", "WARC-Type: resource\r\n", big, 5000, -1}, good2};
    warc_limits lim;
    warc_limits_default(&lim);
    lim.max_block = 1000;
    cc_buf b;
    cc_buf_init(&b, BIG);
    for (int lay = 0; lay < N_LAYOUTS; lay++) {
        uint64_t starts[3];
        build(&b, (enum layout)lay, s, 3, starts, NULL);
        void *copy;
        warc_reader *r = open_bytes(&b, lay % 2, &lim, &copy);
        warc_record rec;
        expect_id(r, "<g1>");
        next_ok(r, &rec);
        assert_string_equal(rec.record_id, "<g2>");
        if (lay != GZ_ONE && lay != ZS_ONE)
            assert_int_equal(rec.offset, starts[2]);
        expect_err(warc_reader_next(r, &rec), CC_E_NOTFOUND, NULL);
        const warc_stats *st = warc_reader_stats(r);
        assert_int_equal(st->skipped[WARC_SKIP_TOO_LARGE], 1);
        assert_int_equal(st->skipped_bytes, 5000);
        assert_int_equal(st->records, 2);
        warc_reader_close(r);
        free(copy);

        /* the same with a skip limit below the record: an error, then the next record */
        lim.max_skip = 4000;
        r = open_bytes(&b, 0, &lim, &copy);
        expect_id(r, "<g1>");
        expect_err(warc_reader_next(r, &rec), CC_E_LIMIT, "exceeds max_skip (4000)");
        expect_id(r, "<g2>");
        warc_reader_close(r);
        free(copy);
        lim.max_skip = (uint64_t)4 << 30;
    }
    free(big);

    /* a gzip bomb: 48 MiB of zeros in one record of a gzip member (about 48 KiB compressed)
     * with max_block 1 MiB is skipped in bounded memory; the record after it is read */
    cc_buf_free(&b);
    size_t zn = (size_t)48 << 20;
    char *zeros = calloc(1, zn);
    assert_non_null(zeros);
    spec bomb[3] = {good1, {"WARC/1.1", "WARC-Type: resource\r\n", zeros, zn, -1}, good2};
    lim.max_block = 1 << 20;
    cc_buf_init(&b, (size_t)64 << 20);
    cc_buf out;
    cc_buf_init(&out, (size_t)64 << 20);
    for (size_t i = 0; i < 3; i++) {
        cc_buf_reset(&b);
        rec_plain(&b, &bomb[i]);
        gz_member(&out, b.data, b.len);
    }
    free(zeros);
    cc_buf_free(&b);
    assert_true(out.len < (size_t)1 << 20);
    warc_reader *r;
    assert_int_equal(warc_reader_open_mem(out.data, out.len, NULL, &lim, &r), CC_OK);
    expect_id(r, "<g1>");
    expect_id(r, "<g2>");
    assert_int_equal(warc_reader_stats(r)->skipped[WARC_SKIP_TOO_LARGE], 1);
    assert_true(warc_reader_stats(r)->bytes_out > zn);
    warc_reader_close(r);
    cc_buf_free(&out);
}

/* Trailer leniency: a plain file may end inside (or right before) the CRLF CRLF after the last
 * block; a gzip member may end right after its block. Anything else after a block is an error. */
static void test_trailer_ends(void **state)
{
    (void)state;
    static const char *const tails[] = {"", "\r", "\r\n", "\r\n\r", "\n"};
    cc_buf b;
    cc_buf_init(&b, BIG);
    warc_record rec;
    void *copy;
    for (size_t i = 0; i < sizeof tails / sizeof tails[0]; i++) {
        cc_buf_reset(&b);
        rec_plain(&b, &good1);
        b.len -= 4; /* drop the CRLF CRLF */
        puts_(&b, tails[i]);
        warc_reader *r = open_bytes(&b, 0, NULL, &copy);
        expect_id(r, "<g1>");
        expect_err(warc_reader_next(r, &rec), CC_E_NOTFOUND, NULL);
        warc_reader_close(r);
        free(copy);
    }
    /* "\n\r" at the end is not a beginning of a trailer */
    cc_buf_reset(&b);
    rec_plain(&b, &good1);
    b.len -= 4;
    puts_(&b, "\n\r");
    warc_reader *r = open_bytes(&b, 0, NULL, &copy);
    expect_err(warc_reader_next(r, &rec), CC_E_FORMAT, "offset 0: block of Content-Length 16");
    warc_reader_close(r);
    free(copy);

    /* gzip members without the trailer */
    cc_buf one;
    cc_buf_init(&one, BIG);
    cc_buf_reset(&b);
    const spec *s[2] = {&good1, &good2};
    for (int k = 0; k < 2; k++) {
        cc_buf_reset(&one);
        rec_plain(&one, s[k]);
        gz_member(&b, one.data, one.len - 4);
    }
    r = open_bytes(&b, 0, NULL, &copy);
    expect_id(r, "<g1>");
    expect_id(r, "<g2>");
    expect_err(warc_reader_next(r, &rec), CC_E_NOTFOUND, NULL);
    warc_reader_close(r);
    free(copy);
    cc_buf_free(&one);
    cc_buf_free(&b);
}

/* Oversize records that are also malformed: Content-Length past the end of the file, past the
 * end of the member, or a block not followed by CRLF CRLF. */
static void test_oversize_malformed(void **state)
{
    (void)state;
    warc_limits lim;
    warc_limits_default(&lim);
    spec big = {"WARC/1.1", "WARC-Type: resource\r\nWARC-Record-ID: <big>\r\n",
                S("0123456789abcdef"), 1000};
    spec s[3] = {good1, big, good2};
    lim.max_block = 100; /* good1 and good2 fit, big does not */
    cc_buf b;
    cc_buf_init(&b, BIG);
    warc_record rec;
    void *copy;
    /* past the end of the file: the last record */
    build(&b, PLAIN, s, 2, NULL, NULL);
    warc_reader *r = open_bytes(&b, 0, &lim, &copy);
    expect_id(r, "<g1>");
    expect_err(warc_reader_next(r, &rec), CC_E_FORMAT,
               "Content-Length 1000 but the file ends 20 bytes into the block");
    expect_err(warc_reader_next(r, &rec), CC_E_NOTFOUND, NULL);
    assert_int_equal(warc_reader_stats(r)->skipped[WARC_SKIP_TRUNCATED], 1);
    warc_reader_close(r);
    free(copy);
    /* past the end of its gzip member */
    uint64_t starts[3];
    build(&b, GZ_EACH, s, 3, starts, NULL);
    r = open_bytes(&b, 0, &lim, &copy);
    expect_id(r, "<g1>");
    char needle[128];
    snprintf(needle, sizeof needle,
             "offset %llu: Content-Length 1000 runs past the end of its gzip member: the gzip "
             "member at offset %llu starts a new record",
             (unsigned long long)starts[1], (unsigned long long)starts[2]);
    expect_err(warc_reader_next(r, &rec), CC_E_FORMAT, needle);
    next_ok(r, &rec);
    assert_string_equal(rec.record_id, "<g2>");
    assert_int_equal(rec.offset, starts[2]);
    warc_reader_close(r);
    free(copy);
    /* a wrong trailer after a skipped block */
    lim.max_block = 10;
    big.cl_override = 12;
    spec g[3] = {{"WARC/1.1", "WARC-Record-ID: <a>\r\n", S("x"), -1},
                 big,
                 {"WARC/1.1", "WARC-Record-ID: <b>\r\n", S("y"), -1}};
    build(&b, PLAIN, g, 3, starts, NULL);
    r = open_bytes(&b, 0, &lim, &copy);
    expect_id(r, "<a>");
    snprintf(needle, sizeof needle, "offset %llu: the skipped block of Content-Length 12",
             (unsigned long long)starts[1]);
    expect_err(warc_reader_next(r, &rec), CC_E_FORMAT, needle);
    expect_id(r, "<b>");
    warc_reader_close(r);
    free(copy);
    cc_buf_free(&b);
}

/* The recovery scan near the end of the data: garbage ending in a partial "WARC/1." */
static void test_scan_at_end(void **state)
{
    (void)state;
    cc_buf b;
    cc_buf_init(&b, BIG);
    rec_plain(&b, &good1);
    puts_(&b, "garbage\nWARC/");
    warc_reader *r;
    void *copy;
    r = open_bytes(&b, 0, NULL, &copy);
    warc_record rec;
    expect_id(r, "<g1>");
    expect_err(warc_reader_next(r, &rec), CC_E_FORMAT, "expected a WARC record");
    expect_err(warc_reader_next(r, &rec), CC_E_NOTFOUND, NULL);
    assert_int_equal(warc_reader_stats(r)->skipped_bytes, 13);
    warc_reader_close(r);
    free(copy);
    /* a directory, NULL memory */
    expect_err(warc_reader_open(tmpdir, NULL, &r), CC_E_IO, "is a directory");
    expect_err(warc_reader_open_mem(NULL, 5, NULL, NULL, &r), CC_E_INVAL, "NULL");
    cc_buf_free(&b);
}

/* ---- HTTP ---------------------------------------------------------------------------------- */

/* One response record with the given block; returns the reader positioned after it in *rec. */
static warc_reader *one_response(const char *block, size_t n, const warc_limits *lim, cc_buf *b,
                                 warc_record *rec)
{
    spec s = {"WARC/1.1",
              "WARC-Type: response\r\nWARC-Target-URI: http://h/\r\n"
              "Content-Type: application/http; msgtype=response\r\n",
              block, n, -1};
    cc_buf_reset(b);
    rec_plain(b, &s);
    warc_reader *r;
    assert_int_equal(warc_reader_open_mem(b->data, b->len, NULL, lim, &r), CC_OK);
    next_ok(r, rec);
    return r;
}

static void test_http(void **state)
{
    (void)state;
    cc_buf b;
    cc_buf_init(&b, BIG);
    warc_record rec;
    warc_reader *r;

    /* LF-only head, obs-fold, a line without ':' skipped, no reason phrase */
    static const char lf[] = "HTTP/1.0 404\nServer: x\n  y\nbroken line\nA:b\n\nbody";
    r = one_response(S(lf), NULL, &b, &rec);
    assert_int_equal(rec.http, WARC_HTTP_OK);
    assert_int_equal(rec.http_status, 404);
    assert_string_equal(rec.http_line, "HTTP/1.0 404");
    assert_int_equal(rec.n_http_fields, 2);
    assert_string_equal(warc_http_header(&rec, "server"), "x y");
    assert_string_equal(warc_http_header(&rec, "a"), "b");
    assert_int_equal(rec.payload_len, 4);
    assert_memory_equal(rec.payload, "body", 4);
    assert_int_equal(warc_reader_stats(r)->http_bad, 0);
    warc_reader_close(r);

    /* too many HTTP header lines */
    warc_limits few;
    warc_limits_default(&few);
    few.max_header_lines = 4; /* the WARC header has 4 lines */
    static const char two[] = "HTTP/1.1 200 OK\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\nE: 5\r\n\r\n";
    r = one_response(S(two), &few, &b, &rec);
    assert_int_equal(rec.http, WARC_HTTP_BAD);
    assert_string_equal(rec.http_error, "too many HTTP header lines");
    assert_null(warc_http_header(&rec, "A"));
    assert_int_equal(warc_reader_stats(r)->http_bad, 1);
    warc_reader_close(r);

    /* bad status lines */
    const char *bad[] = {"HTTP/1.1 20 OK\r\n\r\n", "HTTP/1.1 abc OK\r\n\r\n",
                         "HTTP/1.1 099 x\r\n\r\n", "\r\n\r\nbody",
                         "NOSPACE\r\n\r\n",        "HTTP/1.1 200 O\0K\r\n\r\n"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        size_t n = i == 5 ? 20 : strlen(bad[i]);
        r = one_response(bad[i], n, NULL, &b, &rec);
        assert_int_equal(rec.http, WARC_HTTP_BAD);
        assert_true(rec.http_error[0] != '\0');
        assert_int_equal(rec.block_len, n); /* the block is still there */
        warc_reader_close(r);
    }

    /* head over max_http_header */
    warc_limits lim;
    warc_limits_default(&lim);
    lim.max_http_header = 64;
    static const char longhead[] =
        "HTTP/1.1 200 OK\r\nX-A: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
        "aaaaaaaaaaaaaaaaaaa\r\n\r\nbody";
    r = one_response(S(longhead), &lim, &b, &rec);
    assert_int_equal(rec.http, WARC_HTTP_BAD);
    assert_string_equal(rec.http_error, "HTTP head longer than max_http_header");
    warc_reader_close(r);

    /* a chunked header on a body that is not chunked: given as stored, counted */
    static const char notchunked[] = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                                     "<html>already decoded</html>";
    r = one_response(S(notchunked), NULL, &b, &rec);
    assert_int_equal(rec.http, WARC_HTTP_OK);
    assert_int_equal(rec.payload_dechunked, 0);
    assert_int_equal(rec.payload_len, 28);
    assert_memory_equal(rec.payload, "<html>already decoded</html>", 28);
    assert_int_equal(warc_reader_stats(r)->dechunk_failed, 1);
    warc_reader_close(r);

    /* chunked with LF-only lines, "gzip, chunked" list, truncated in the last chunk */
    static const char trunc[] = "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, Chunked\r\n\r\n"
                                "3\nabc\n10\r\nde";
    r = one_response(S(trunc), NULL, &b, &rec);
    assert_int_equal(rec.payload_dechunked, 1);
    assert_int_equal(rec.payload_len, 5);
    assert_memory_equal(rec.payload, "abcde", 5);
    warc_reader_close(r);

    /* a chunk not followed by its CRLF is not chunked data */
    static const char badchunk[] = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                                   "3\r\nabcX\r\n0\r\n\r\n";
    r = one_response(S(badchunk), NULL, &b, &rec);
    assert_int_equal(rec.payload_dechunked, 0);
    assert_int_equal(rec.payload_len, 14);
    warc_reader_close(r);

    /* only "chunked" as a token counts */
    static const char notoken[] = "HTTP/1.1 200 OK\r\nTransfer-Encoding: xchunked\r\n\r\n"
                                  "3\r\nabc\r\n0\r\n\r\n";
    r = one_response(S(notoken), NULL, &b, &rec);
    assert_int_equal(rec.payload_dechunked, 0);
    assert_int_equal(rec.payload_len, 13);
    warc_reader_close(r);

    /* application/http not parsed for other content types; content coding is kept */
    static const char gz[] = "HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\n\r\n\x1f\x8b\x08";
    r = one_response(S(gz), NULL, &b, &rec);
    assert_string_equal(warc_http_header(&rec, "Content-Encoding"), "gzip");
    assert_int_equal(rec.payload_len, 3);
    assert_memory_equal(rec.payload, "\x1f\x8b\x08", 3);
    warc_reader_close(r);
    cc_buf_free(&b);
}

/* ---- WAT ----------------------------------------------------------------------------------- */

typedef struct got_link {
    warc_link_kind kind;
    char url[256], alt[128], title[128], resolved[256], page[256], base[256], ptitle[64];
    int has_resolved;
} got_link;

typedef struct links_ctx {
    got_link l[32];
    int n;
    int stop_after;
} links_ctx;

static int on_link(void *ctx, const warc_wat_page *page, const warc_link *link)
{
    links_ctx *c = ctx;
    assert_true(c->n < 32);
    got_link *g = &c->l[c->n++];
    g->kind = link->kind;
    snprintf(g->url, sizeof g->url, "%s", link->url);
    snprintf(g->alt, sizeof g->alt, "%s", link->alt);
    snprintf(g->title, sizeof g->title, "%s", link->title);
    g->has_resolved = link->resolved != NULL;
    snprintf(g->resolved, sizeof g->resolved, "%s", link->resolved ? link->resolved : "");
    snprintf(g->page, sizeof g->page, "%s", page->url);
    snprintf(g->base, sizeof g->base, "%s", page->base);
    snprintf(g->ptitle, sizeof g->ptitle, "%s", page->title);
    return c->stop_after > 0 && c->n >= c->stop_after;
}

static const char wat_json[] =
    "{\"Container\":{\"Filename\":\"x.warc.gz\",\"Offset\":\"123\"},"
    "\"Envelope\":{\"Format\":\"WARC\",\"WARC-Header-Length\":\"300\","
    "\"WARC-Header-Metadata\":{\"WARC-Type\":\"response\","
    "\"WARC-Target-URI\":\"http://Example.com/dir/page.html\"},"
    "\"Payload-Metadata\":{\"Actual-Content-Type\":\"application/http; msgtype=response\","
    "\"HTTP-Response-Metadata\":{\"Response-Message\":{\"Status\":\"200\"},"
    "\"HTML-Metadata\":{\"Head\":{\"Title\":\"A page\",\"Link\":[]},"
    "\"Links\":["
    "{\"path\":\"IMG@/src\",\"url\":\"img/cat.jpg\",\"alt\":\"A cat on a mat\"},"
    "{\"path\":\"A@/href\",\"url\":\"/about\",\"title\":\"About us\",\"text\":\"About\"},"
    "{\"path\":\"IMG@/src\",\"url\":\"//cdn.example.net/x.png\"},"
    "{\"path\":\"IMG@/srcset\",\"url\":\"s1.jpg 1x, s2.jpg 2x,s3.jpg,\",\"alt\":\"set\"},"
    "{\"path\":\"LINK@/href\",\"url\":\"style.css\",\"rel\":\"stylesheet\"},"
    "{\"path\":\"IMG@/data-src\",\"url\":\"lazy.jpg\",\"alt\":\"lazy\"},"
    "{\"path\":\"IMG@/src\",\"url\":\"data:image/png;base64,AAAA\",\"alt\":\"inline\"},"
    "{\"path\":\"IMG@/src\"},"
    "\"not an object\","
    "{\"path\":\"A@/href\",\"url\":7},"
    "{\"path\":\"img@/src\",\"url\":\"https://other.example/\\u00e9.jpg\",\"alt\":\"caf\\u00e9\"}"
    "]}}}}}";

static warc_record wat_record(const char *json, size_t n, const char *uri)
{
    warc_record rec;
    memset(&rec, 0, sizeof rec);
    rec.type = WARC_METADATA;
    rec.record_id = "<urn:uuid:wat>";
    rec.target_uri = uri;
    rec.block = (const uint8_t *)json;
    rec.block_len = n;
    return rec;
}

static void test_wat_links(void **state)
{
    (void)state;
    /* through the reader: a WAT-style metadata record in a gzip member */
    spec s = {"WARC/1.0",
              "WARC-Type: metadata\r\nWARC-Target-URI: http://example.com/dir/page.html\r\n"
              "WARC-Record-ID: <urn:uuid:w1>\r\nContent-Type: application/json\r\n",
              S(wat_json), -1};
    cc_buf b;
    cc_buf_init(&b, BIG);
    build(&b, GZ_EACH, &s, 1, NULL, NULL);
    warc_reader *r;
    assert_int_equal(warc_reader_open_mem(b.data, b.len, NULL, NULL, &r), CC_OK);
    warc_record rec;
    next_ok(r, &rec);
    links_ctx c;
    memset(&c, 0, sizeof c);
    warc_wat_info info;
    assert_int_equal(warc_wat_links(&rec, NULL, on_link, &c, &info), CC_OK);
    warc_reader_close(r);
    cc_buf_free(&b);

    assert_int_equal(info.has_html, 1);
    assert_int_equal(c.n, 10);
    assert_int_equal(info.links, 10);
    assert_int_equal(info.bad_entries, 3);
    assert_int_equal(info.by_kind[WARC_LINK_IMG_SRC], 4);
    assert_int_equal(info.by_kind[WARC_LINK_IMG_SRCSET], 3);
    assert_int_equal(info.by_kind[WARC_LINK_A_HREF], 1);
    assert_int_equal(info.by_kind[WARC_LINK_OTHER], 1);
    assert_int_equal(info.by_kind[WARC_LINK_IMG_LAZY], 1);
    assert_int_equal(info.unresolved, 1);
    for (int i = 0; i < c.n; i++) {
        assert_string_equal(c.l[i].page, "http://Example.com/dir/page.html");
        assert_string_equal(c.l[i].base, "http://example.com/dir/page.html");
        assert_string_equal(c.l[i].ptitle, "A page");
    }
    assert_int_equal(c.l[0].kind, WARC_LINK_IMG_SRC);
    assert_string_equal(c.l[0].url, "img/cat.jpg");
    assert_string_equal(c.l[0].alt, "A cat on a mat");
    assert_string_equal(c.l[0].title, "");
    assert_string_equal(c.l[0].resolved, "http://example.com/dir/img/cat.jpg");
    assert_int_equal(c.l[1].kind, WARC_LINK_A_HREF);
    assert_string_equal(c.l[1].title, "About us");
    assert_string_equal(c.l[1].resolved, "http://example.com/about");
    assert_string_equal(c.l[2].resolved, "http://cdn.example.net/x.png");
    assert_string_equal(c.l[2].alt, "");
    const char *set[3] = {"s1.jpg", "s2.jpg", "s3.jpg"};
    for (int i = 0; i < 3; i++) {
        assert_int_equal(c.l[3 + i].kind, WARC_LINK_IMG_SRCSET);
        assert_string_equal(c.l[3 + i].url, set[i]);
        assert_string_equal(c.l[3 + i].alt, "set");
        char want[64];
        snprintf(want, sizeof want, "http://example.com/dir/%s", set[i]);
        assert_string_equal(c.l[3 + i].resolved, want);
    }
    assert_int_equal(c.l[6].kind, WARC_LINK_OTHER);
    assert_string_equal(c.l[6].url, "style.css");
    assert_int_equal(c.l[7].kind, WARC_LINK_IMG_LAZY);
    assert_string_equal(c.l[7].resolved, "http://example.com/dir/lazy.jpg");
    assert_string_equal(c.l[7].alt, "lazy");
    assert_int_equal(c.l[8].has_resolved, 0); /* data: URI */
    assert_string_equal(c.l[8].alt, "inline");
    assert_int_equal(c.l[9].kind, WARC_LINK_IMG_SRC); /* path compared case-insensitively */
    assert_string_equal(c.l[9].url, "https://other.example/\xc3\xa9.jpg");
    assert_string_equal(c.l[9].resolved, "https://other.example/%C3%A9.jpg");
    assert_string_equal(c.l[9].alt, "caf\xc3\xa9");

    /* the callback stops the walk */
    memset(&c, 0, sizeof c);
    c.stop_after = 2;
    rec = wat_record(S(wat_json), "");
    assert_int_equal(warc_wat_links(&rec, NULL, on_link, &c, NULL), CC_OK);
    assert_int_equal(c.n, 2);
}

static void test_wat_base_and_missing(void **state)
{
    (void)state;
    links_ctx c;
    warc_wat_info info;
    /* <base href> relative to the page; no page URL in the envelope: the record's is used */
    static const char based[] =
        "{\"Envelope\":{\"WARC-Header-Metadata\":{},\"Payload-Metadata\":{"
        "\"HTTP-Response-Metadata\":{\"HTML-Metadata\":{\"Head\":{\"Base\":\"/static/\"},"
        "\"Links\":[{\"path\":\"IMG@/src\",\"url\":\"a.jpg\",\"alt\":\"x\"},"
        "{\"path\":\"IMG@/src\",\"url\":\"\"}]}}}}}\r\n";
    memset(&c, 0, sizeof c);
    warc_record rec = wat_record(S(based), "https://site.example/a/b.html");
    assert_int_equal(warc_wat_links(&rec, NULL, on_link, &c, &info), CC_OK);
    assert_int_equal(c.n, 2);
    assert_string_equal(c.l[0].page, "https://site.example/a/b.html");
    assert_string_equal(c.l[0].base, "https://site.example/static/");
    assert_string_equal(c.l[0].resolved, "https://site.example/static/a.jpg");
    assert_int_equal(c.l[1].has_resolved, 0); /* an empty src is not the page */
    assert_string_equal(c.l[0].ptitle, "");

    /* no page URL at all: links as written, unresolved */
    memset(&c, 0, sizeof c);
    rec = wat_record(S(based), "");
    assert_int_equal(warc_wat_links(&rec, NULL, on_link, &c, &info), CC_OK);
    assert_int_equal(c.n, 2);
    assert_string_equal(c.l[0].url, "a.jpg");
    assert_int_equal(c.l[0].has_resolved, 0);
    assert_int_equal(info.unresolved, 2);

    /* records that describe no HTML page: no links, CC_OK */
    const char *none[] = {
        "{\"Envelope\":{\"WARC-Header-Metadata\":{\"WARC-Type\":\"request\"}}}",
        "{\"Envelope\":{\"Payload-Metadata\":{\"HTTP-Response-Metadata\":{}}}}",
        "{\"Envelope\":{\"Payload-Metadata\":{\"HTTP-Response-Metadata\":{\"HTML-Metadata\":{}}}}}",
        "{\"Envelope\":{\"Payload-Metadata\":[1,2]}}",
    };
    for (size_t i = 0; i < sizeof none / sizeof none[0]; i++) {
        memset(&c, 0, sizeof c);
        rec = wat_record(none[i], strlen(none[i]), "http://x/");
        assert_int_equal(warc_wat_links(&rec, NULL, on_link, &c, &info), CC_OK);
        assert_int_equal(c.n, 0);
        assert_int_equal(info.links, 0);
        assert_int_equal(info.has_html, i == 2);
    }
}

static void test_wat_malformed(void **state)
{
    (void)state;
    links_ctx c;
    memset(&c, 0, sizeof c);
    const struct {
        const char *json;
        cc_status st;
        const char *needle;
    } bad[] = {
        {"", CC_E_FORMAT, "bad JSON at line"},
        {"{\"Envelope\":{\"a\":", CC_E_FORMAT, "bad JSON at line 1"},
        {"{\"Envelope\":{}} trailing", CC_E_FORMAT, "bad JSON"},
        {"[1,2,3]", CC_E_FORMAT, "no \"Envelope\" object"},
        {"{\"Envelope\":\"str\"}", CC_E_FORMAT, "no \"Envelope\" object"},
        {"{\"Envelope\":{},\n\"x\":\xff}", CC_E_FORMAT, "line 2"},
        {"WARC/1.0 not json", CC_E_FORMAT, "<urn:uuid:wat>: bad JSON"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        size_t n = strlen(bad[i].json);
        char *copy = malloc(n ? n : 1); /* exact size: ASan sees reads past the end */
        assert_non_null(copy);
        memcpy(copy, bad[i].json, n);
        warc_record rec = wat_record(copy, n, "");
        expect_err(warc_wat_links(&rec, NULL, on_link, &c, NULL), bad[i].st, bad[i].needle);
        free(copy);
    }
    assert_int_equal(c.n, 0);
    /* deep nesting is refused by the parser's depth limit, not a crash */
    size_t depth = 100000;
    char *deep = malloc(2 * depth);
    assert_non_null(deep);
    memset(deep, '[', depth);
    memset(deep + depth, ']', depth);
    warc_record rec = wat_record(deep, 2 * depth, "");
    expect_err(warc_wat_links(&rec, NULL, on_link, &c, NULL), CC_E_FORMAT, "bad JSON");
    free(deep);
    /* max_json */
    warc_limits lim;
    warc_limits_default(&lim);
    lim.max_json = 100;
    rec = wat_record(S(wat_json), "");
    expect_err(warc_wat_links(&rec, &lim, on_link, &c, NULL), CC_E_LIMIT, "exceeds max_json");
    assert_int_equal(c.n, 0);
}

/* Names of types and skip reasons. */
static void test_names(void **state)
{
    (void)state;
    assert_string_equal(warc_type_name(WARC_RESPONSE), "response");
    assert_string_equal(warc_type_name(WARC_CONTINUATION), "continuation");
    assert_string_equal(warc_type_name(WARC_TYPE_COUNT), "unknown");
    assert_string_equal(warc_skip_name(WARC_SKIP_TOO_LARGE), "too_large");
    assert_string_equal(warc_skip_name(WARC_SKIP_CORRUPT), "corrupt");
    assert_string_equal(warc_skip_name((warc_skip)-1), "unknown");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_layouts),
        cmocka_unit_test(test_seek),
        cmocka_unit_test(test_seek_multi_record_members),
        cmocka_unit_test(test_header_forms),
        cmocka_unit_test(test_bad_headers),
        cmocka_unit_test(test_nul_bytes),
        cmocka_unit_test(test_content_length_mismatch),
        cmocka_unit_test(test_garbage_and_truncation),
        cmocka_unit_test(test_compressed_damage),
        cmocka_unit_test(test_oversize),
        cmocka_unit_test(test_trailer_ends),
        cmocka_unit_test(test_oversize_malformed),
        cmocka_unit_test(test_scan_at_end),
        cmocka_unit_test(test_http),
        cmocka_unit_test(test_wat_links),
        cmocka_unit_test(test_wat_base_and_missing),
        cmocka_unit_test(test_wat_malformed),
        cmocka_unit_test(test_names),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
