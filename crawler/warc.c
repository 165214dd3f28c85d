/* crawler/warc.c — the WARC/WAT reader (see warc.h and docs/WARC.md).
 *
 * Layers, bottom up:
 *   input   the file (read() into ibuf) or the caller's memory: ip/iavail is the unread part,
 *           ioff the file offset of ip[0].
 *   decoder gzip (zlib, windowBits 15+16, one inflateReset per member), zstd (streaming DCtx) or a
 *           copy for plain files. dec_fill appends decompressed bytes to the window and never
 *           decodes past the end of a member or frame in one call, so the reader always knows
 *           where the latest member began: (mstart_c in the file, mstart_u in the stream).
 *   window  win.data[pos, win.len) holds decompressed bytes not consumed yet; win_u is the
 *           stream offset of win.data[0]. A record is parsed in place at pos and consumed only
 *           when it is complete, so after an error its bytes are still there to re-scan.
 *   records header → fields (copied, NUL-terminated, into hdr), block (a view into the window),
 *           trailer check, HTTP head and payload for application/http blocks.
 *
 * Stream offsets ("u") count from the start of the file while u_known; after a seek to a file
 * offset or a recovery in the compressed bytes they only keep their differences, which is all
 * the member-start comparisons need.
 */
#include "crawler/warc.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>
#include <zlib.h>
#include <zstd.h>
#include <zstd_errors.h>

#include "common/buf.h"
#include "crawler/url.h"

#define IN_CAP ((size_t)256 << 10) /* read() buffer */
#define FILL_CHUNK ((size_t)128 << 10) /* decompressed bytes asked for when reading ahead */
#define WIN_SLACK ((size_t)1 << 20) /* window bytes beyond max_header + max_block */
#define SCAN_MAGIC 7 /* "WARC/1." */

enum layout { L_PLAIN, L_GZIP, L_ZSTD };
enum dstate { D_BETWEEN, D_IN, D_END }; /* decoder: before a member, inside one, no more data */
enum pending { P_NONE, P_STREAM, P_COMPRESSED }; /* recovery owed by the next warc_reader_next */

struct warc_reader {
    warc_limits lim;
    char name[512]; /* file name for messages */
    enum layout layout;

    /* input */
    int fd; /* -1 for memory input */
    const uint8_t *mem;
    uint64_t file_size;
    uint8_t *ibuf;
    const uint8_t *ip;
    size_t iavail;
    uint64_t ioff;

    /* decoder */
    z_stream z;
    int z_init;
    ZSTD_DCtx *zd;
    size_t zs_err; /* a zstd error held back while the bytes before it are read */
    enum dstate ds;
    int have_member; /* a member has begun since open/seek */
    int began; /* dec_fill began a member in its last call */
    uint64_t mstart_c, mstart_u; /* latest member */
    uint64_t mprev_c, mprev_u; /* the one before it (valid when have_prev) */
    int have_prev;
    int u_known;

    /* window */
    cc_buf win;
    size_t pos;
    uint64_t win_u;

    /* record scratch */
    cc_buf hdr; /* WARC header strings */
    warc_field *fields;
    size_t fields_cap;
    cc_buf hhdr; /* HTTP header strings */
    warc_field *hfields;
    size_t hfields_cap;
    cc_buf payload; /* de-chunked payload */

    /* the record being read started a member: a later member that starts with "WARC/1." before
     * its block ends means its Content-Length is wrong */
    int chk_active;
    uint64_t chk_start_u, chk_end_u;
    int crossed;
    uint64_t cross_u;

    enum pending pending;
    uint64_t resync_c; /* P_COMPRESSED: search for a member magic from here */
    uint8_t scan_prev; /* P_STREAM: the byte before pos ('\n' = pos starts a line) */
    uint64_t cursor;
    warc_stats st;
};

/* ---- names and limits ---------------------------------------------------------------------- */

static const char *const type_names[WARC_TYPE_COUNT] = {
    "warcinfo", "response",   "resource",     "request", "metadata",
    "revisit",  "conversion", "continuation", "other",
};

const char *warc_type_name(warc_type t)
{
    if ((int)t < 0 || t >= WARC_TYPE_COUNT)
        return "unknown";
    return type_names[t];
}

static const char *const skip_names[WARC_SKIP_COUNT] = {"too_large", "malformed", "truncated",
                                                        "corrupt"};

const char *warc_skip_name(warc_skip s)
{
    if ((int)s < 0 || s >= WARC_SKIP_COUNT)
        return "unknown";
    return skip_names[s];
}

void warc_limits_default(warc_limits *l)
{
    l->max_block = (size_t)64 << 20;
    l->max_skip = (uint64_t)4 << 30;
    l->max_header = (size_t)64 << 10;
    l->max_header_lines = 1000;
    l->max_http_header = (size_t)64 << 10;
    l->max_json = (size_t)8 << 20;
}

/* ---- small helpers ------------------------------------------------------------------------- */

static size_t min_sz(size_t a, size_t b)
{
    return a < b ? a : b;
}

static int is_crlf(uint8_t c)
{
    return c == '\r' || c == '\n';
}

static int is_ws(uint8_t c)
{
    return c == ' ' || c == '\t';
}

static const char *layout_unit(const warc_reader *r)
{
    return r->layout == L_ZSTD ? "zstd frame" : "gzip member";
}

/* Where stream offset u lies, for messages: "offset N" in a plain file or at a member start,
 * else "byte K of the gzip member at offset N". */
static const char *where(const warc_reader *r, uint64_t u, char *buf, size_t cap)
{
    unsigned long long c = 0, k = 0;
    if (r->layout == L_PLAIN) {
        snprintf(buf, cap, "offset %llu", (unsigned long long)u);
        return buf;
    }
    if (r->have_member && u >= r->mstart_u) {
        c = r->mstart_c;
        k = u - r->mstart_u;
    } else if (r->have_prev && u >= r->mprev_u) {
        c = r->mprev_c;
        k = u - r->mprev_u;
    } else {
        snprintf(buf, cap, "decompressed offset %llu", (unsigned long long)u);
        return buf;
    }
    if (k == 0)
        snprintf(buf, cap, "offset %llu", c);
    else
        snprintf(buf, cap, "byte %llu of the %s at offset %llu", k, layout_unit(r), c);
    return buf;
}

/* Up to 16 bytes of p as text for messages, non-printable bytes as \xHH. */
static const char *show(const uint8_t *p, size_t n, char *buf, size_t cap)
{
    size_t o = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < n && i < 16 && o + 5 < cap; i++) {
        if (p[i] >= 0x20 && p[i] < 0x7f && p[i] != '\\')
            buf[o++] = (char)p[i];
        else
            o += (size_t)snprintf(buf + o, cap - o, "\\x%02x", p[i]);
    }
    buf[o] = '\0';
    return buf;
}

/* ---- input --------------------------------------------------------------------------------- */

/* Makes at least n (<= IN_CAP) bytes readable at ip when the file has them; *avail receives how
 * many are (fewer only at the end of the file). */
static cc_status in_peek(warc_reader *r, size_t n, size_t *avail)
{
    if (r->iavail >= n || r->fd < 0) {
        *avail = r->iavail;
        return CC_OK;
    }
    if (r->iavail > 0)
        memmove(r->ibuf, r->ip, r->iavail);
    r->ip = r->ibuf;
    while (r->iavail < n) {
        ssize_t k = read(r->fd, r->ibuf + r->iavail, IN_CAP - r->iavail);
        if (k < 0) {
            if (errno == EINTR)
                continue;
            return cc_fail(CC_E_IO, "%s: read at offset %llu: %s", r->name,
                           (unsigned long long)(r->ioff + r->iavail), strerror(errno));
        }
        if (k == 0)
            break;
        r->iavail += (size_t)k;
    }
    *avail = r->iavail;
    return CC_OK;
}

static void in_consume(warc_reader *r, size_t n)
{
    r->ip += n;
    r->iavail -= n;
    r->ioff += n;
    r->st.bytes_in += n;
}

static cc_status in_seek(warc_reader *r, uint64_t off)
{
    if (off > r->file_size)
        return cc_fail(CC_E_INVAL, "%s: offset %llu is past the end of the file (%llu bytes)",
                       r->name, (unsigned long long)off, (unsigned long long)r->file_size);
    if (r->fd < 0) {
        r->ip = r->mem + off;
        r->iavail = (size_t)(r->file_size - off);
    } else {
        if (lseek(r->fd, (off_t)off, SEEK_SET) < 0)
            return cc_fail(CC_E_IO, "%s: seek to %llu: %s", r->name, (unsigned long long)off,
                           strerror(errno));
        r->ip = r->ibuf;
        r->iavail = 0;
    }
    r->ioff = off;
    return CC_OK;
}

/* ---- decoder ------------------------------------------------------------------------------- */

/* A damaged member or frame: the next warc_reader_next looks for the next member magic after
 * the damaged member's start. */
static cc_status dec_error(warc_reader *r, cc_status st, uint64_t resync_from, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static cc_status dec_error(warc_reader *r, cc_status st, uint64_t resync_from, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    r->pending = P_COMPRESSED;
    r->resync_c = resync_from;
    r->chk_active = 0;
    r->st.skipped[WARC_SKIP_CORRUPT]++;
    return cc_fail(st, "%s: %s", r->name, msg);
}

static void member_begin(warc_reader *r)
{
    uint64_t u = r->win_u + r->win.len;
    if (r->have_member) {
        r->mprev_c = r->mstart_c;
        r->mprev_u = r->mstart_u;
        r->have_prev = 1;
    }
    r->mstart_c = r->ioff;
    r->mstart_u = u;
    r->have_member = 1;
    r->began = 1;
    r->ds = D_IN;
    r->st.members++;
}

static cc_status gz_fill(warc_reader *r, uint8_t *dst, size_t room, size_t *got)
{
    for (;;) {
        size_t avail;
        if (r->ds == D_END)
            return CC_OK;
        if (r->ds == D_BETWEEN) {
            CC_TRY(in_peek(r, 3, &avail));
            if (avail == 0) {
                r->ds = D_END;
                return CC_OK;
            }
            if (avail < 3 || r->ip[0] != 0x1f || r->ip[1] != 0x8b || r->ip[2] != 8) {
                char s[80];
                return dec_error(r, CC_E_FORMAT, r->ioff,
                                 "offset %llu: bytes after the gzip member at offset %llu are "
                                 "not another gzip member ('%s')",
                                 (unsigned long long)r->ioff, (unsigned long long)r->mstart_c,
                                 show(r->ip, avail, s, sizeof s));
            }
            if (inflateReset(&r->z) != Z_OK)
                return cc_fail(CC_E_NOMEM, "%s: inflateReset failed", r->name);
            member_begin(r);
        }
        CC_TRY(in_peek(r, 1, &avail));
        uInt in_n = (uInt)min_sz(avail, UINT_MAX);
        uInt out_n = (uInt)min_sz(room, UINT_MAX);
        r->z.next_in = (Bytef *)(uintptr_t)r->ip;
        r->z.avail_in = in_n;
        r->z.next_out = dst;
        r->z.avail_out = out_n;
        int zr = inflate(&r->z, Z_NO_FLUSH);
        size_t used = in_n - r->z.avail_in, made = out_n - r->z.avail_out;
        in_consume(r, used);
        *got = made;
        if (zr == Z_STREAM_END) {
            r->ds = D_BETWEEN;
            if (made > 0)
                return CC_OK;
            continue;
        }
        if (zr == Z_OK || zr == Z_BUF_ERROR) {
            if (made > 0)
                return CC_OK;
            if (avail == 0)
                return dec_error(r, CC_E_FORMAT, r->mstart_c + 1,
                                 "gzip member at offset %llu is truncated: the file ends at "
                                 "offset %llu",
                                 (unsigned long long)r->mstart_c, (unsigned long long)r->ioff);
            if (used == 0)
                return dec_error(r, CC_E_FORMAT, r->mstart_c + 1,
                                 "gzip member at offset %llu: inflate made no progress",
                                 (unsigned long long)r->mstart_c);
            continue;
        }
        if (zr == Z_MEM_ERROR)
            return cc_fail(CC_E_NOMEM, "%s: out of memory in inflate", r->name);
        if (made > 0)
            return CC_OK; /* the bytes before the damage first; zlib repeats the error */
        return dec_error(r, CC_E_FORMAT, r->mstart_c + 1,
                         "gzip member at offset %llu is corrupt near offset %llu: %s",
                         (unsigned long long)r->mstart_c, (unsigned long long)r->ioff,
                         r->z.msg ? r->z.msg : zError(zr));
    }
}

static int zstd_magic(const uint8_t *p)
{
    if (p[0] == 0x28 && p[1] == 0xb5 && p[2] == 0x2f && p[3] == 0xfd)
        return 1;
    return (p[0] & 0xf0) == 0x50 && p[1] == 0x2a && p[2] == 0x4d && p[3] == 0x18; /* skippable */
}

static cc_status zs_fill(warc_reader *r, uint8_t *dst, size_t room, size_t *got)
{
    int stalls = 0;
    for (;;) {
        size_t avail;
        if (r->ds == D_END)
            return CC_OK;
        if (r->ds == D_BETWEEN) {
            CC_TRY(in_peek(r, 4, &avail));
            if (avail == 0) {
                r->ds = D_END;
                return CC_OK;
            }
            if (avail < 4 || !zstd_magic(r->ip)) {
                char s[80];
                return dec_error(r, CC_E_FORMAT, r->ioff,
                                 "offset %llu: bytes after the zstd frame at offset %llu are "
                                 "not another zstd frame ('%s')",
                                 (unsigned long long)r->ioff, (unsigned long long)r->mstart_c,
                                 show(r->ip, avail, s, sizeof s));
            }
            unsigned dict = ZSTD_getDictID_fromFrame(r->ip, avail);
            if (dict != 0)
                return dec_error(r, CC_E_UNSUPPORTED, r->ioff + 1,
                                 "zstd frame at offset %llu needs dictionary %u (WARC-zstd with a "
                                 "dictionary is not supported)",
                                 (unsigned long long)r->ioff, dict);
            ZSTD_DCtx_reset(r->zd, ZSTD_reset_session_only);
            r->zs_err = 0;
            member_begin(r);
        }
        CC_TRY(in_peek(r, 1, &avail));
        ZSTD_inBuffer in = {r->ip, avail, 0};
        ZSTD_outBuffer out = {dst, room, 0};
        size_t zr = r->zs_err;
        if (zr == 0) {
            zr = ZSTD_decompressStream(r->zd, &out, &in);
            in_consume(r, in.pos);
        }
        *got = out.pos;
        if (ZSTD_isError(zr) && out.pos > 0) {
            r->zs_err = zr; /* the bytes before the damage first, the error next time */
            return CC_OK;
        }
        r->zs_err = 0;
        if (ZSTD_isError(zr)) {
            ZSTD_ErrorCode code = ZSTD_getErrorCode(zr);
            if (code == ZSTD_error_dictionary_wrong)
                return dec_error(r, CC_E_UNSUPPORTED, r->mstart_c + 1,
                                 "zstd frame at offset %llu needs a dictionary (WARC-zstd with "
                                 "a dictionary is not supported)",
                                 (unsigned long long)r->mstart_c);
            if (code == ZSTD_error_memory_allocation)
                return cc_fail(CC_E_NOMEM, "%s: out of memory in zstd", r->name);
            return dec_error(r, CC_E_FORMAT, r->mstart_c + 1,
                             "zstd frame at offset %llu is corrupt near offset %llu: %s",
                             (unsigned long long)r->mstart_c, (unsigned long long)r->ioff,
                             ZSTD_getErrorName(zr));
        }
        if (zr == 0) { /* frame decoded and flushed */
            r->ds = D_BETWEEN;
            if (out.pos > 0)
                return CC_OK;
            continue;
        }
        if (out.pos > 0)
            return CC_OK;
        if (avail == 0)
            return dec_error(r, CC_E_FORMAT, r->mstart_c + 1,
                             "zstd frame at offset %llu is truncated: the file ends at offset "
                             "%llu",
                             (unsigned long long)r->mstart_c, (unsigned long long)r->ioff);
        if (in.pos == 0 && ++stalls > 2)
            return dec_error(r, CC_E_FORMAT, r->mstart_c + 1,
                             "zstd frame at offset %llu: no progress",
                             (unsigned long long)r->mstart_c);
    }
}

/* Appends up to room decompressed bytes to the window: at least one unless the data has ended
 * (*got == 0). Also runs the member-crossing check (see struct warc_reader). */
static cc_status dec_fill(warc_reader *r, size_t room, size_t *got)
{
    *got = 0;
    r->began = 0;
    CC_TRY(cc_buf_reserve(&r->win, room));
    uint8_t *dst = r->win.data + r->win.len;
    if (r->layout == L_PLAIN) {
        size_t avail;
        CC_TRY(in_peek(r, 1, &avail));
        size_t n = min_sz(avail, room);
        memcpy(dst, r->ip, n);
        in_consume(r, n);
        *got = n;
    } else if (r->layout == L_GZIP) {
        CC_TRY(gz_fill(r, dst, room, got));
    } else {
        CC_TRY(zs_fill(r, dst, room, got));
    }
    r->win.len += *got;
    r->st.bytes_out += *got;
    if (r->chk_active && r->began && r->mstart_u > r->chk_start_u && r->mstart_u < r->chk_end_u) {
        size_t i = (size_t)(r->mstart_u - r->win_u);
        if (r->win.len - i >= SCAN_MAGIC && memcmp(r->win.data + i, "WARC/1.", SCAN_MAGIC) == 0) {
            r->crossed = 1;
            r->cross_u = r->mstart_u;
        }
    }
    return CC_OK;
}

/* ---- window -------------------------------------------------------------------------------- */

static size_t win_avail(const warc_reader *r)
{
    return r->win.len - r->pos;
}

static uint64_t pos_u(const warc_reader *r)
{
    return r->win_u + r->pos;
}

static void win_compact(warc_reader *r)
{
    if (r->pos == 0)
        return;
    memmove(r->win.data, r->win.data + r->pos, r->win.len - r->pos);
    r->win.len -= r->pos;
    r->win_u += r->pos;
    r->pos = 0;
}

/* Makes n bytes available at pos when the data has them; *have receives how many are (fewer at
 * the end of the data, or when the member-crossing check fired: r->crossed). May move the
 * window's bytes (pos stays the same record byte). */
static cc_status win_need(warc_reader *r, size_t n, size_t *have)
{
    while (win_avail(r) < n && !r->crossed) {
        size_t want = n - win_avail(r);
        if (want < FILL_CHUNK)
            want = FILL_CHUNK;
        if (r->pos > 0 && (r->pos >= r->win.len / 2 || r->win.max - r->win.len < want))
            win_compact(r);
        if (want > r->win.max - r->win.len)
            want = r->win.max - r->win.len;
        if (want < n - win_avail(r))
            return cc_fail(CC_E_LIMIT, "%s: %zu bytes do not fit the reader's window", r->name, n);
        size_t got;
        CC_TRY(dec_fill(r, want, &got));
        if (got == 0)
            break;
    }
    *have = win_avail(r);
    return CC_OK;
}

/* ---- cursors ------------------------------------------------------------------------------- */

static uint64_t cursor_at(const warc_reader *r, uint64_t u)
{
    if (r->layout == L_PLAIN)
        return u;
    if (r->have_member && u == r->mstart_u)
        return r->mstart_c;
    if (r->u_known)
        return WARC_CURSOR_STREAM | u;
    /* after a seek or a recovery: the start of the member that holds u (re-reads, never skips) */
    if (r->have_member && u >= r->mstart_u)
        return r->mstart_c;
    if (r->have_prev && u >= r->mprev_u)
        return r->mprev_c;
    return 0;
}

uint64_t warc_reader_offset(const warc_reader *r)
{
    return r->cursor;
}

/* ---- errors with recovery in the stream ----------------------------------------------------- */

/* Fails the record at pos: the next warc_reader_next scans for a record from scan (a window
 * index > pos, or == pos when scan starts a member or a line). */
static cc_status rec_error(warc_reader *r, warc_skip why, size_t scan, uint8_t prev, cc_status st,
                           const char *fmt, ...) __attribute__((format(printf, 6, 7)));
static cc_status rec_error(warc_reader *r, warc_skip why, size_t scan, uint8_t prev, cc_status st,
                           const char *fmt, ...)
{
    char msg[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (scan > r->pos)
        r->st.skipped_bytes += scan - r->pos;
    r->pos = scan;
    r->scan_prev = prev;
    r->pending = P_STREAM;
    r->chk_active = 0;
    r->crossed = 0;
    r->st.skipped[why]++;
    return cc_fail(st, "%s: %s", r->name, msg);
}

/* Consumes bytes up to the next "WARC/1." that starts a line or a member; at the end of the
 * data consumes everything. */
static cc_status scan_record(warc_reader *r)
{
    for (;;) {
        size_t have;
        CC_TRY(win_need(r, SCAN_MAGIC, &have));
        if (have == 0)
            return CC_OK;
        const uint8_t *d = r->win.data;
        size_t i = r->pos, end = r->win.len;
        while (i < end) {
            const uint8_t *w = memchr(d + i, 'W', end - i);
            if (w == NULL) {
                i = end;
                break;
            }
            i = (size_t)(w - d);
            uint8_t prev = i == r->pos ? r->scan_prev : d[i - 1];
            int line = prev == '\n' ||
                       (r->layout != L_PLAIN && r->have_member && r->win_u + i == r->mstart_u);
            if (line) {
                if (end - i < SCAN_MAGIC)
                    break; /* need more bytes to decide */
                if (memcmp(d + i, "WARC/1.", SCAN_MAGIC) == 0) {
                    r->st.skipped_bytes += i - r->pos;
                    r->pos = i;
                    return CC_OK;
                }
            }
            i++;
        }
        if (i == r->pos && end - i < SCAN_MAGIC) {
            /* a candidate with fewer than 7 bytes left: see whether more data comes */
            size_t before = win_avail(r);
            CC_TRY(win_need(r, before + 1, &have));
            if (have == before) { /* the data ends here */
                r->st.skipped_bytes += have;
                r->pos = r->win.len;
                return CC_OK;
            }
            continue;
        }
        r->st.skipped_bytes += i - r->pos;
        r->scan_prev = d[i - 1];
        r->pos = i;
    }
}

/* Looks for the next gzip member or zstd frame magic at or after file offset from, and resets
 * the decoder there (or at the end of the file). */
static cc_status resync_compressed(warc_reader *r, uint64_t from)
{
    const uint8_t *magic =
        r->layout == L_GZIP ? (const uint8_t *)"\x1f\x8b\x08" : (const uint8_t *)"\x28\xb5\x2f\xfd";
    size_t mlen = r->layout == L_GZIP ? 3 : 4;
    if (from > r->file_size)
        from = r->file_size;
    CC_TRY(in_seek(r, from));
    r->ds = D_BETWEEN;
    r->win.len = r->pos = 0;
    r->win_u = 0;
    r->u_known = 0;
    r->have_member = r->have_prev = 0;
    r->scan_prev = '\n';
    for (;;) {
        size_t avail;
        CC_TRY(in_peek(r, IN_CAP, &avail));
        if (avail < mlen) {
            in_consume(r, avail);
            r->ds = D_END;
            return CC_OK;
        }
        const uint8_t *p = r->ip, *end = r->ip + avail;
        while (p + mlen <= end) {
            const uint8_t *q = memchr(p, magic[0], (size_t)(end - p) - (mlen - 1));
            if (q == NULL) {
                p = end - (mlen - 1);
                break;
            }
            if (memcmp(q, magic, mlen) == 0) {
                in_consume(r, (size_t)(q - r->ip));
                return CC_OK;
            }
            p = q + 1;
        }
        in_consume(r, (size_t)(p - r->ip));
    }
}

static cc_status recover(warc_reader *r)
{
    if (r->pending == P_COMPRESSED) {
        r->pending = P_NONE;
        CC_TRY(resync_compressed(r, r->resync_c));
        return scan_record(r);
    }
    r->pending = P_NONE;
    return scan_record(r);
}

/* ---- WARC header --------------------------------------------------------------------------- */

/* Finds the end of the header that starts at pos: *hlen, the bytes up to and including its
 * empty line. */
static cc_status find_header_end(warc_reader *r, uint64_t rec_u, size_t *hlen)
{
    char loc[160], s[80];
    size_t have, from = 0;
    CC_TRY(win_need(r, 5, &have));
    if (have < 5 || memcmp(r->win.data + r->pos, "WARC/", 5) != 0) {
        if (have < 5 && memcmp(r->win.data + r->pos, "WARC/", have) == 0)
            return rec_error(r, WARC_SKIP_TRUNCATED, r->pos + 1, 'W', CC_E_FORMAT,
                             "%s: the file ends inside a WARC version line",
                             where(r, rec_u, loc, sizeof loc));
        return rec_error(r, WARC_SKIP_MALFORMED, r->pos + 1, r->win.data[r->pos], CC_E_FORMAT,
                         "%s: expected a WARC record ('WARC/1.0'), found '%s' (garbage between "
                         "records, or the previous record's Content-Length is wrong)",
                         where(r, rec_u, loc, sizeof loc),
                         show(r->win.data + r->pos, have, s, sizeof s));
    }
    *hlen = 0;
    for (;;) {
        const uint8_t *d = r->win.data + r->pos;
        while (from < have) { /* look for LF LF or LF CR LF */
            const uint8_t *nl = memchr(d + from, '\n', have - from);
            if (nl == NULL) {
                from = have;
                break;
            }
            size_t i = (size_t)(nl - d);
            if (i + 1 >= have || (d[i + 1] == '\r' && i + 2 >= have)) {
                from = i; /* undecided until more bytes come */
                break;
            }
            if (d[i + 1] == '\n') {
                *hlen = i + 2;
                break;
            }
            if (d[i + 1] == '\r' && d[i + 2] == '\n') {
                *hlen = i + 3;
                break;
            }
            from = i + 1;
        }
        if (*hlen > 0 || have > r->lim.max_header) {
            if (*hlen > 0 && *hlen <= r->lim.max_header)
                return CC_OK;
            return rec_error(r, WARC_SKIP_MALFORMED, r->pos + 1, 'W', CC_E_LIMIT,
                             "%s: WARC header longer than max_header (%zu bytes)",
                             where(r, rec_u, loc, sizeof loc), r->lim.max_header);
        }
        size_t before = have;
        CC_TRY(win_need(r, have + 1, &have));
        if (have == before)
            return rec_error(r, WARC_SKIP_TRUNCATED, r->pos + 1, 'W', CC_E_FORMAT,
                             "%s: the file ends inside the WARC header (%zu bytes, no empty line)",
                             where(r, rec_u, loc, sizeof loc), have);
    }
}

static cc_status push_field(warc_field **arr, size_t *cap, size_t n, size_t max)
{
    if (n < *cap)
        return CC_OK;
    size_t nc = *cap ? *cap * 2 : 32;
    if (nc > max)
        nc = max;
    warc_field *p = realloc(*arr, nc * sizeof *p);
    if (p == NULL)
        return cc_fail(CC_E_NOMEM, "out of memory for header fields");
    *arr = p;
    *cap = nc;
    return CC_OK;
}

/* Parses header lines ("Name: value", continuation lines, CRLF or LF) from h[0..n) into out
 * and *fields. out is reset and gets capacity for the strings plus extra bytes reserved here, so
 * that the string pointers stay valid while the caller appends up to extra bytes. Stops at the
 * first empty line or at n. A line without ':' is skipped when skip_bad is set (HTTP, as
 * browsers do), else CC_E_FORMAT; too many lines are CC_E_LIMIT; *bad says why and *badline
 * gives the line's number (1-based). */
static cc_status parse_fields(const uint8_t *h, size_t n, size_t extra, size_t max_lines,
                              int skip_bad, cc_buf *out, warc_field **fields, size_t *cap,
                              size_t *nf, const char **bad, size_t *badline)
{
    cc_buf_reset(out);
    CC_TRY(cc_buf_reserve(out, n + 16 + extra));
    char *o = (char *)out->data;
    size_t ol = 0, i = 0, line = 0, last_value = 0;
    *nf = 0;
    while (i < n) {
        const uint8_t *nl = memchr(h + i, '\n', n - i);
        size_t e = nl ? (size_t)(nl - h) : n, next = nl ? e + 1 : n;
        if (e > i && h[e - 1] == '\r')
            e--;
        line++;
        if (e == i)
            break; /* the empty line */
        if (line > max_lines) {
            *bad = "too many header lines";
            *badline = line;
            return CC_E_LIMIT;
        }
        if (memchr(h + i, '\0', e - i) != NULL) { /* would cut the C strings short */
            if (skip_bad) {
                i = next;
                continue;
            }
            *bad = "NUL byte in a header line";
            *badline = line;
            return CC_E_FORMAT;
        }
        if (is_ws(h[i])) { /* continuation: append to the last value with one space */
            if (*nf == 0 && skip_bad) {
                i = next;
                continue;
            }
            if (*nf == 0) {
                *bad = "continuation line before any field";
                *badline = line;
                return CC_E_FORMAT;
            }
            size_t a = i, b = e;
            while (a < b && is_ws(h[a]))
                a++;
            while (b > a && is_ws(h[b - 1]))
                b--;
            if (b > a) {
                ol--; /* over the NUL of the last value */
                if (ol > last_value)
                    o[ol++] = ' ';
                memcpy(o + ol, h + a, b - a);
                ol += b - a;
                o[ol++] = '\0';
            }
            i = next;
            continue;
        }
        const uint8_t *colon = memchr(h + i, ':', e - i);
        if ((colon == NULL || colon == h + i) && skip_bad) {
            i = next;
            continue;
        }
        if (colon == NULL || colon == h + i) {
            *bad = colon ? "empty field name" : "line without ':'";
            *badline = line;
            return CC_E_FORMAT;
        }
        size_t c = (size_t)(colon - h), ne = c;
        while (ne > i && is_ws(h[ne - 1]))
            ne--;
        size_t a = c + 1, b = e;
        while (a < b && is_ws(h[a]))
            a++;
        while (b > a && is_ws(h[b - 1]))
            b--;
        CC_TRY(push_field(fields, cap, *nf, max_lines));
        (*fields)[*nf].name = o + ol;
        memcpy(o + ol, h + i, ne - i);
        ol += ne - i;
        o[ol++] = '\0';
        last_value = ol;
        (*fields)[*nf].value = o + ol;
        memcpy(o + ol, h + a, b - a);
        ol += b - a;
        o[ol++] = '\0';
        (*nf)++;
        i = next;
    }
    out->len = ol;
    return CC_OK;
}

static const char *field_get(const warc_field *f, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcasecmp(f[i].name, name) == 0)
            return f[i].value;
    return NULL;
}

const char *warc_header(const warc_record *rec, const char *name)
{
    return field_get(rec->fields, rec->n_fields, name);
}

const char *warc_http_header(const warc_record *rec, const char *name)
{
    if (rec->http != WARC_HTTP_OK)
        return NULL;
    return field_get(rec->http_fields, rec->n_http_fields, name);
}

/* A decimal Content-Length: digits only, no overflow. */
static int parse_u64(const char *s, uint64_t *v)
{
    uint64_t x = 0;
    if (*s == '\0')
        return 0;
    for (; *s; s++) {
        if (*s < '0' || *s > '9')
            return 0;
        if (x > (UINT64_MAX - 9) / 10)
            return 0;
        x = x * 10 + (uint64_t)(*s - '0');
    }
    *v = x;
    return 1;
}

static warc_type type_of(const char *s)
{
    for (int t = 0; t < WARC_OTHER; t++)
        if (strcasecmp(s, type_names[t]) == 0)
            return (warc_type)t;
    return WARC_OTHER;
}

/* ---- HTTP ---------------------------------------------------------------------------------- */

/* Removes a chunked transfer coding from p[0..n) into out. 1 on success (also when the body ends
 * early, as truncated records do), 0 when p is not chunked data. */
static int dechunk(const uint8_t *p, size_t n, cc_buf *out)
{
    size_t i = 0;
    cc_buf_reset(out);
    while (i < n) {
        uint64_t size = 0;
        size_t digits = 0;
        while (i < n) {
            uint8_t c = p[i];
            int v = c >= '0' && c <= '9'   ? c - '0'
                    : c >= 'a' && c <= 'f' ? c - 'a' + 10
                    : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                           : -1;
            if (v < 0)
                break;
            if (size > (UINT64_MAX >> 4))
                return 0;
            size = size << 4 | (uint64_t)v;
            digits++;
            i++;
        }
        if (digits == 0)
            return 0;
        /* chunk extensions (";name=value") and whitespace up to the end of the line */
        if (i < n && p[i] != ';' && p[i] != '\r' && p[i] != '\n' && !is_ws(p[i]))
            return 0;
        const uint8_t *nl = memchr(p + i, '\n', n - i);
        if (nl == NULL)
            return 1; /* ends inside a chunk-size line */
        i = (size_t)(nl - p) + 1;
        if (size == 0)
            return 1; /* the last chunk; trailers are ignored */
        size_t take = size > n - i ? n - i : (size_t)size;
        if (cc_buf_append(out, p + i, take) != CC_OK)
            return 0;
        i += take;
        if (i == n)
            return 1;
        if (p[i] == '\r')
            i++;
        if (i < n && p[i] != '\n')
            return 0;
        i++;
    }
    return 1;
}

/* 1 when the comma-separated list s contains token (case-insensitive). */
static int has_token(const char *s, const char *token)
{
    size_t tl = strlen(token);
    while (*s) {
        while (*s == ',' || is_ws((uint8_t)*s))
            s++;
        const char *e = s;
        while (*e && *e != ',' && *e != ';')
            e++;
        const char *b = e;
        while (b > s && is_ws((uint8_t)b[-1]))
            b--;
        if ((size_t)(b - s) == tl && strncasecmp(s, token, tl) == 0)
            return 1;
        while (*e && *e != ',')
            e++;
        s = e;
    }
    return 0;
}

static int is_app_http(const char *ct)
{
    if (strncasecmp(ct, "application/http", 16) != 0)
        return 0;
    return ct[16] == '\0' || ct[16] == ';' || is_ws((uint8_t)ct[16]);
}

static void http_bad(warc_reader *r, warc_record *rec, const char *why)
{
    rec->http = WARC_HTTP_BAD;
    rec->http_error = why;
    rec->http_line = "";
    rec->n_http_fields = 0;
    rec->payload = (const uint8_t *)"";
    rec->payload_len = 0;
    r->st.http_bad++;
}

/* Parses the block of an application/http record: start line, headers, payload. */
static cc_status parse_http(warc_reader *r, warc_record *rec)
{
    const uint8_t *b = rec->block;
    size_t n = rec->block_len, lim = min_sz(n, r->lim.max_http_header), head = 0;
    /* the head ends at the first empty line; a block without one is all head (a revisit) */
    for (size_t i = 0; i < lim;) {
        const uint8_t *nl = memchr(b + i, '\n', lim - i);
        if (nl == NULL)
            break;
        size_t e = (size_t)(nl - b);
        if (e + 1 < n && b[e + 1] == '\n') {
            head = e + 2;
            break;
        }
        if (e + 2 < n && b[e + 1] == '\r' && b[e + 2] == '\n') {
            head = e + 3;
            break;
        }
        i = e + 1;
    }
    if (head == 0 || head > r->lim.max_http_header) {
        if (n > r->lim.max_http_header) {
            http_bad(r, rec, "HTTP head longer than max_http_header");
            return CC_OK;
        }
        head = n;
    }
    const uint8_t *nl = memchr(b, '\n', head);
    size_t le = nl ? (size_t)(nl - b) : head, ls = nl ? le + 1 : head;
    if (le > 0 && b[le - 1] == '\r')
        le--;
    if (le == 0) {
        http_bad(r, rec, "empty HTTP start line");
        return CC_OK;
    }
    if (memchr(b, '\0', le) != NULL) {
        http_bad(r, rec, "NUL byte in the HTTP start line");
        return CC_OK;
    }
    int status = 0;
    if (le >= 5 && memcmp(b, "HTTP/", 5) == 0) {
        size_t i = 5;
        while (i < le && b[i] != ' ')
            i++;
        while (i < le && b[i] == ' ')
            i++;
        if (i + 3 > le || (i + 3 < le && b[i + 3] != ' ')) {
            http_bad(r, rec, "bad HTTP status line");
            return CC_OK;
        }
        for (size_t k = 0; k < 3; k++) {
            if (b[i + k] < '0' || b[i + k] > '9') {
                http_bad(r, rec, "bad HTTP status code");
                return CC_OK;
            }
            status = status * 10 + (b[i + k] - '0');
        }
        if (status < 100) {
            http_bad(r, rec, "bad HTTP status code");
            return CC_OK;
        }
    } else if (memchr(b, ' ', le) == NULL) {
        http_bad(r, rec, "bad HTTP request line");
        return CC_OK;
    }
    /* the start line goes first into hhdr, then the header fields */
    const char *why = NULL;
    size_t badline = 0, nf = 0;
    cc_status st = parse_fields(b + ls, head - ls, le + 1, r->lim.max_header_lines, 1, &r->hhdr,
                                &r->hfields, &r->hfields_cap, &nf, &why, &badline);
    if (st == CC_E_NOMEM)
        return st;
    if (st != CC_OK) {
        http_bad(r, rec, st == CC_E_LIMIT ? "too many HTTP header lines" : why);
        return CC_OK;
    }
    assert(r->hhdr.cap - r->hhdr.len >= le + 1); /* reserved by parse_fields */
    char *line = (char *)r->hhdr.data + r->hhdr.len;
    memcpy(line, b, le);
    line[le] = '\0';
    r->hhdr.len += le + 1;

    rec->http = WARC_HTTP_OK;
    rec->http_error = "";
    rec->http_line = line;
    rec->http_status = status;
    rec->http_fields = r->hfields;
    rec->n_http_fields = nf;
    rec->payload = b + head;
    rec->payload_len = n - head;
    const char *te = field_get(r->hfields, nf, "Transfer-Encoding");
    if (te != NULL && has_token(te, "chunked") && rec->payload_len > 0) {
        if (dechunk(rec->payload, rec->payload_len, &r->payload)) {
            rec->payload = r->payload.data ? r->payload.data : (const uint8_t *)"";
            rec->payload_len = r->payload.len;
            rec->payload_dechunked = 1;
        } else {
            r->st.dechunk_failed++;
        }
    }
    return CC_OK;
}

/* ---- records ------------------------------------------------------------------------------- */

/* Accepts the record trailer after a block ending at window index e (stream offset eu): CRLF
 * CRLF or LF LF; at the end of the data (at_end: the window holds all the rest) a beginning of
 * one; nothing at all when a new member begins right after the block. *tlen receives its length;
 * 0 if the trailer is wrong (then Content-Length is most likely wrong). */
static int trailer_ok(const warc_reader *r, size_t e, uint64_t eu, int at_end, size_t *tlen)
{
    const uint8_t *t = r->win.data + e;
    size_t n = min_sz(r->win.len - e, 4);
    *tlen = 0;
    if (n == 4 && memcmp(t, "\r\n\r\n", 4) == 0)
        *tlen = 4;
    else if (n >= 2 && t[0] == '\n' && t[1] == '\n')
        *tlen = 2;
    else if (at_end && n < 4 &&
             (memcmp(t, "\r\n\r", n) == 0 || (n <= 2 && memcmp(t, "\n\n", n) == 0)))
        *tlen = n; /* the file ends inside (or before) the trailer */
    else if (r->layout != L_PLAIN && r->have_member && r->mstart_u == eu)
        return 1; /* the member ends with the block */
    return *tlen > 0 || (at_end && n == 0);
}

/* Skips the block of an oversize record (header already consumed); bounded memory. */
static cc_status skip_block(warc_reader *r, uint64_t rec_u, uint64_t cl)
{
    char loc[160];
    uint64_t left = cl;
    while (left > 0) {
        if (win_avail(r) == 0) {
            r->win_u += r->win.len;
            r->win.len = r->pos = 0;
            size_t got;
            CC_TRY(dec_fill(r, FILL_CHUNK, &got));
            if (got == 0)
                return rec_error(r, WARC_SKIP_TRUNCATED, r->pos, '\n', CC_E_FORMAT,
                                 "%s: Content-Length %llu but the file ends %llu bytes into the "
                                 "block",
                                 where(r, rec_u, loc, sizeof loc), (unsigned long long)cl,
                                 (unsigned long long)(cl - left));
        }
        if (r->crossed) {
            size_t i = (size_t)(r->cross_u - r->win_u);
            return rec_error(r, WARC_SKIP_MALFORMED, i, '\n', CC_E_FORMAT,
                             "%s: Content-Length %llu runs past the end of its %s: the %s at "
                             "offset %llu starts a new record",
                             where(r, rec_u, loc, sizeof loc), (unsigned long long)cl,
                             layout_unit(r), layout_unit(r), (unsigned long long)r->mstart_c);
        }
        size_t take = (size_t)(left < win_avail(r) ? left : win_avail(r));
        r->pos += take;
        left -= take;
        r->st.skipped_bytes += take;
    }
    r->chk_active = 0;
    size_t have, tlen;
    CC_TRY(win_need(r, 4, &have));
    if (!trailer_ok(r, r->pos, pos_u(r), have < 4, &tlen))
        return rec_error(r, WARC_SKIP_MALFORMED, r->pos, 'x', CC_E_FORMAT,
                         "%s: the skipped block of Content-Length %llu is not followed by CRLF "
                         "CRLF (Content-Length is wrong or the record is damaged)",
                         where(r, rec_u, loc, sizeof loc), (unsigned long long)cl);
    r->pos += tlen;
    r->st.skipped[WARC_SKIP_TOO_LARGE]++;
    return CC_OK;
}

/* Reads the record at pos. *skipped is set when it was an oversize record that was skipped. */
static cc_status read_record(warc_reader *r, warc_record *rec, int *skipped)
{
    char loc[160], s[80];
    uint64_t rec_u = pos_u(r);
    size_t hlen = 0;
    uint64_t cursor = cursor_at(r, rec_u);
    *skipped = 0;
    CC_TRY(find_header_end(r, rec_u, &hlen));

    /* version line */
    const uint8_t *h = r->win.data + r->pos;
    const uint8_t *nl = memchr(h, '\n', hlen);
    size_t vl = (size_t)(nl - h);
    while (vl > 0 && (h[vl - 1] == '\r' || is_ws(h[vl - 1])))
        vl--;
    if (vl == 8 && (memcmp(h, "WARC/1.0", 8) == 0 || memcmp(h, "WARC/1.1", 8) == 0)) {
        memcpy(rec->version, h, 8);
        rec->version[8] = '\0';
    } else {
        size_t i = 5, d1 = 0, d2 = 0;
        while (i < vl && h[i] >= '0' && h[i] <= '9')
            i++, d1++;
        if (i < vl && h[i] == '.')
            for (i++; i < vl && h[i] >= '0' && h[i] <= '9'; i++)
                d2++;
        int is_version = d1 > 0 && d2 > 0 && i == vl;
        return rec_error(r, WARC_SKIP_MALFORMED, r->pos + 1, 'W',
                         is_version ? CC_E_VERSION : CC_E_FORMAT,
                         is_version ? "%s: WARC version '%s' is not read (WARC/1.0 and WARC/1.1 "
                                      "are)"
                                    : "%s: bad version line '%s'",
                         where(r, rec_u, loc, sizeof loc), show(h, vl, s, sizeof s));
    }

    /* fields */
    const char *why = NULL;
    size_t badline = 0, nf = 0;
    size_t fl = hlen - (size_t)(nl - h) - 1; /* bytes after the version line */
    cc_status st = parse_fields(nl + 1, fl, fl, r->lim.max_header_lines, 0, &r->hdr, &r->fields,
                                &r->fields_cap, &nf, &why, &badline);
    if (st == CC_E_NOMEM)
        return st;
    if (st != CC_OK)
        return rec_error(r, WARC_SKIP_MALFORMED, r->pos + 1, 'W', st,
                         "%s: WARC header line %zu: %s", where(r, rec_u, loc, sizeof loc),
                         badline + 1, why);
    uint64_t cl = 0;
    int have_cl = 0;
    for (size_t i = 0; i < nf; i++) {
        if (strcasecmp(r->fields[i].name, "Content-Length") != 0)
            continue;
        uint64_t v;
        if (!parse_u64(r->fields[i].value, &v))
            return rec_error(r, WARC_SKIP_MALFORMED, r->pos + 1, 'W', CC_E_FORMAT,
                             "%s: bad Content-Length '%s'", where(r, rec_u, loc, sizeof loc),
                             r->fields[i].value);
        if (have_cl && v != cl)
            return rec_error(r, WARC_SKIP_MALFORMED, r->pos + 1, 'W', CC_E_FORMAT,
                             "%s: two different Content-Length values (%llu, %llu)",
                             where(r, rec_u, loc, sizeof loc), (unsigned long long)cl,
                             (unsigned long long)v);
        cl = v;
        have_cl = 1;
    }
    if (!have_cl)
        return rec_error(r, WARC_SKIP_MALFORMED, r->pos + 1, 'W', CC_E_FORMAT,
                         "%s: WARC header without Content-Length",
                         where(r, rec_u, loc, sizeof loc));
    if (cl > r->lim.max_skip)
        return rec_error(r, WARC_SKIP_MALFORMED, r->pos + 1, 'W', CC_E_LIMIT,
                         "%s: Content-Length %llu exceeds max_skip (%llu)",
                         where(r, rec_u, loc, sizeof loc), (unsigned long long)cl,
                         (unsigned long long)r->lim.max_skip);

    /* a record that starts a member must not run into a member that starts another record */
    r->crossed = 0;
    r->chk_active = r->layout != L_PLAIN && r->have_member && rec_u == r->mstart_u;
    r->chk_start_u = rec_u;
    r->chk_end_u = rec_u + hlen + cl;

    if (cl > r->lim.max_block) {
        r->pos += hlen;
        CC_TRY(skip_block(r, rec_u, cl));
        *skipped = 1;
        return CC_OK;
    }

    size_t have, need = hlen + (size_t)cl;
    CC_TRY(win_need(r, need + 4, &have));
    if (r->crossed) {
        size_t i = (size_t)(r->cross_u - r->win_u);
        return rec_error(r, WARC_SKIP_MALFORMED, i, '\n', CC_E_FORMAT,
                         "%s: Content-Length %llu runs past the end of its %s: the %s at offset "
                         "%llu starts a new record",
                         where(r, rec_u, loc, sizeof loc), (unsigned long long)cl, layout_unit(r),
                         layout_unit(r), (unsigned long long)r->mstart_c);
    }
    r->chk_active = 0;
    if (have < need)
        return rec_error(r, WARC_SKIP_TRUNCATED, r->pos + 1, 'W', CC_E_FORMAT,
                         "%s: Content-Length %llu but the file ends %zu bytes into the block",
                         where(r, rec_u, loc, sizeof loc), (unsigned long long)cl, have - hlen);
    size_t tlen;
    if (!trailer_ok(r, r->pos + need, rec_u + need, have < need + 4, &tlen))
        return rec_error(r, WARC_SKIP_MALFORMED, r->pos + 1, 'W', CC_E_FORMAT,
                         "%s: block of Content-Length %llu is followed by '%s', not CRLF CRLF "
                         "(Content-Length is wrong or the record is damaged)",
                         where(r, rec_u, loc, sizeof loc), (unsigned long long)cl,
                         show(r->win.data + r->pos + need, min_sz(have - need, 4), s, sizeof s));

    /* the record is complete: fill rec (pointers into the window and hdr) */
    rec->fields = r->fields;
    rec->n_fields = nf;
    rec->block = r->win.data + r->pos + hlen;
    rec->block_len = (size_t)cl;
    const char *v;
    rec->type_name = (v = field_get(r->fields, nf, "WARC-Type")) ? v : "";
    rec->type = type_of(rec->type_name);
    rec->date = (v = field_get(r->fields, nf, "WARC-Date")) ? v : "";
    rec->record_id = (v = field_get(r->fields, nf, "WARC-Record-ID")) ? v : "";
    rec->content_type = (v = field_get(r->fields, nf, "Content-Type")) ? v : "";
    rec->target_uri = "";
    if ((v = field_get(r->fields, nf, "WARC-Target-URI")) != NULL) {
        size_t ul = strlen(v);
        if (ul >= 2 && v[0] == '<' && v[ul - 1] == '>') {
            /* a copy without the brackets after the fields' strings (parse_fields reserved
             * room for it) */
            assert(r->hdr.cap - r->hdr.len >= ul - 1);
            char *u = (char *)r->hdr.data + r->hdr.len;
            memcpy(u, v + 1, ul - 2);
            u[ul - 2] = '\0';
            r->hdr.len += ul - 1;
            rec->target_uri = u;
        } else {
            rec->target_uri = v;
        }
    }
    rec->offset = r->cursor = cursor;
    r->pos += need + tlen;
    if (is_app_http(rec->content_type))
        CC_TRY(parse_http(r, rec));
    return CC_OK;
}

static void record_clear(warc_record *rec)
{
    memset(rec, 0, sizeof *rec);
    rec->type = WARC_OTHER;
    rec->type_name = rec->target_uri = rec->date = rec->record_id = rec->content_type = "";
    rec->http_error = rec->http_line = "";
    rec->block = rec->payload = (const uint8_t *)"";
}

cc_status warc_reader_next(warc_reader *r, warc_record *rec)
{
    record_clear(rec);
    if (r->pending != P_NONE)
        CC_TRY(recover(r));
    for (;;) {
        /* blank lines between records are skipped; fill only when the window is empty, so that
         * the member a record starts in is known */
        size_t have;
        for (;;) {
            while (r->pos < r->win.len && is_crlf(r->win.data[r->pos]))
                r->pos++;
            if (r->pos < r->win.len)
                break;
            CC_TRY(win_need(r, 1, &have));
            if (have == 0)
                return cc_fail(CC_E_NOTFOUND, "%s: no more records", r->name);
        }
        int skipped;
        CC_TRY(read_record(r, rec, &skipped));
        if (skipped)
            continue;
        r->st.records++;
        r->st.by_type[rec->type]++;
        return CC_OK;
    }
}

/* ---- open, seek, close --------------------------------------------------------------------- */

static cc_status reader_init(warc_reader *r, const warc_limits *lim)
{
    char s[80];
    if (lim != NULL)
        r->lim = *lim;
    else
        warc_limits_default(&r->lim);
    const warc_limits *l = &r->lim;
    if (l->max_block == 0 || l->max_skip == 0 || l->max_header < 16 || l->max_header_lines == 0 ||
        l->max_http_header == 0 || l->max_json == 0)
        return cc_fail(CC_E_INVAL, "%s: a WARC limit is 0 (or max_header < 16)", r->name);
    if (l->max_block > SIZE_MAX / 4 || l->max_header > SIZE_MAX / 4)
        return cc_fail(CC_E_INVAL, "%s: WARC limits too large", r->name);
    cc_buf_init(&r->win, l->max_header + l->max_block + WIN_SLACK);
    cc_buf_init(&r->hdr, 2 * l->max_header + 32); /* strings + a copy of the target URI */
    cc_buf_init(&r->hhdr, l->max_http_header + 16);
    cc_buf_init(&r->payload, l->max_block);
    r->u_known = 1;
    r->ds = D_BETWEEN;
    r->scan_prev = '\n';

    size_t avail;
    CC_TRY(in_peek(r, 6, &avail));
    const uint8_t *p = r->ip;
    r->layout = L_PLAIN;
    if (avail >= 2 && p[0] == 0x1f && p[1] == 0x8b) {
        r->layout = L_GZIP;
        memset(&r->z, 0, sizeof r->z);
        if (inflateInit2(&r->z, 15 + 16) != Z_OK)
            return cc_fail(CC_E_NOMEM, "%s: inflateInit2 failed", r->name);
        r->z_init = 1;
    } else if (avail >= 4 && p[0] == 0x5d && p[1] == 0x2a && p[2] == 0x4d && p[3] == 0x18) {
        return cc_fail(CC_E_UNSUPPORTED,
                       "%s: zstd WARC with a dictionary frame (magic 0x184D2A5D) is not "
                       "supported; recompress without a dictionary (zstd -d | zstd)",
                       r->name);
    } else if (avail >= 4 && zstd_magic(p)) {
        r->layout = L_ZSTD;
        r->zd = ZSTD_createDCtx();
        if (r->zd == NULL)
            return cc_fail(CC_E_NOMEM, "%s: ZSTD_createDCtx failed", r->name);
        ZSTD_DCtx_setParameter(r->zd, ZSTD_d_windowLogMax, 27); /* 128 MiB at most */
    } else if (avail >= 3 && memcmp(p, "BZh", 3) == 0) {
        return cc_fail(CC_E_UNSUPPORTED,
                       "%s: bzip2-compressed file; only gzip, zstd and plain WARC are read",
                       r->name);
    } else if (avail >= 6 && memcmp(p,
                                    "\xfd"
                                    "7zXZ\0",
                                    6) == 0) {
        return cc_fail(CC_E_UNSUPPORTED,
                       "%s: xz-compressed file; only gzip, zstd and plain WARC are read", r->name);
    } else if (avail > 0 && p[0] != 'W' && !is_crlf(p[0])) {
        /* not a WARC at all: fail early with what was found */
        return cc_fail(CC_E_FORMAT, "%s: not a WARC file (starts with '%s')", r->name,
                       show(p, avail, s, sizeof s));
    }
    return CC_OK;
}

static cc_status reader_new(const char *name, warc_reader **out)
{
    warc_reader *r = calloc(1, sizeof *r);
    if (r == NULL)
        return cc_fail(CC_E_NOMEM, "out of memory for a WARC reader");
    r->fd = -1;
    snprintf(r->name, sizeof r->name, "%s", name);
    *out = r;
    return CC_OK;
}

cc_status warc_reader_open(const char *path, const warc_limits *lim, warc_reader **out)
{
    warc_reader *r = NULL;
    cc_status st;
    *out = NULL;
    CC_TRY(reader_new(path, &r));
    r->fd = open(path, O_RDONLY | O_CLOEXEC);
    if (r->fd < 0) {
        st = cc_fail(errno == ENOENT ? CC_E_NOTFOUND : CC_E_IO, "%s: %s", path, strerror(errno));
        goto fail;
    }
    struct stat sb;
    if (fstat(r->fd, &sb) != 0) {
        st = cc_fail(CC_E_IO, "%s: %s", path, strerror(errno));
        goto fail;
    }
    if (S_ISDIR(sb.st_mode)) {
        st = cc_fail(CC_E_IO, "%s: is a directory", path);
        goto fail;
    }
    r->file_size = (uint64_t)sb.st_size;
    r->ibuf = malloc(IN_CAP);
    if (r->ibuf == NULL) {
        st = cc_fail(CC_E_NOMEM, "out of memory for a WARC reader");
        goto fail;
    }
    r->ip = r->ibuf;
    CC_TRY_GOTO(st, reader_init(r, lim), fail);
    *out = r;
    return CC_OK;
fail:
    warc_reader_close(r);
    return st;
}

cc_status warc_reader_open_mem(const void *data, size_t len, const char *name,
                               const warc_limits *lim, warc_reader **out)
{
    warc_reader *r = NULL;
    cc_status st;
    *out = NULL;
    if (data == NULL && len > 0)
        return cc_fail(CC_E_INVAL, "warc_reader_open_mem: NULL data");
    CC_TRY(reader_new(name ? name : "<memory>", &r));
    r->mem = data ? data : (const uint8_t *)"";
    r->file_size = len;
    r->ip = r->mem;
    r->iavail = len;
    CC_TRY_GOTO(st, reader_init(r, lim), fail);
    *out = r;
    return CC_OK;
fail:
    warc_reader_close(r);
    return st;
}

cc_status warc_reader_seek(warc_reader *r, uint64_t c)
{
    r->pending = P_NONE;
    r->chk_active = r->crossed = 0;
    r->win.len = r->pos = 0;
    r->have_member = r->have_prev = 0;
    r->ds = D_BETWEEN;
    r->scan_prev = '\n';
    r->cursor = c;
    if (!(c & WARC_CURSOR_STREAM)) {
        CC_TRY(in_seek(r, c));
        r->win_u = r->layout == L_PLAIN ? c : 0;
        r->u_known = r->layout == L_PLAIN || c == 0;
        return CC_OK;
    }
    uint64_t u = c & ~WARC_CURSOR_STREAM;
    if (r->layout == L_PLAIN)
        return cc_fail(CC_E_INVAL, "%s: cursor %llu is a stream cursor but the file is plain",
                       r->name, (unsigned long long)c);
    CC_TRY(in_seek(r, 0));
    r->win_u = 0;
    r->u_known = 1;
    while (pos_u(r) < u) {
        if (win_avail(r) == 0) {
            r->win_u += r->win.len;
            r->win.len = r->pos = 0;
            size_t got;
            CC_TRY(dec_fill(r, FILL_CHUNK, &got));
            if (got == 0)
                return cc_fail(CC_E_INVAL,
                               "%s: stream cursor %llu is past the end of the data (%llu bytes)",
                               r->name, (unsigned long long)u, (unsigned long long)pos_u(r));
        }
        uint64_t left = u - pos_u(r);
        r->pos += (size_t)(left < win_avail(r) ? left : win_avail(r));
    }
    return CC_OK;
}

const warc_stats *warc_reader_stats(const warc_reader *r)
{
    return &r->st;
}

void warc_reader_close(warc_reader *r)
{
    if (r == NULL)
        return;
    if (r->fd >= 0)
        close(r->fd);
    if (r->z_init)
        inflateEnd(&r->z);
    ZSTD_freeDCtx(r->zd);
    free(r->ibuf);
    cc_buf_free(&r->win);
    cc_buf_free(&r->hdr);
    cc_buf_free(&r->hhdr);
    cc_buf_free(&r->payload);
    free(r->fields);
    free(r->hfields);
    free(r);
}

/* ---- WAT ----------------------------------------------------------------------------------- */

static const char *jstr(const json_t *obj, const char *key)
{
    const json_t *v = json_is_object(obj) ? json_object_get(obj, key) : NULL;
    return json_is_string(v) ? json_string_value(v) : NULL;
}

static json_t *jobj(json_t *obj, const char *key)
{
    json_t *v = json_is_object(obj) ? json_object_get(obj, key) : NULL;
    return json_is_object(v) ? v : NULL;
}

static warc_link_kind link_kind(const char *path)
{
    if (strcasecmp(path, "IMG@/src") == 0)
        return WARC_LINK_IMG_SRC;
    if (strcasecmp(path, "IMG@/srcset") == 0 || strcasecmp(path, "IMG@/data-srcset") == 0)
        return WARC_LINK_IMG_SRCSET;
    if (strcasecmp(path, "A@/href") == 0)
        return WARC_LINK_A_HREF;
    size_t n = strlen(path); /* IMG@/data-…src */
    if (n >= 13 && strncasecmp(path, "IMG@/data-", 10) == 0 && strcasecmp(path + n - 3, "src") == 0)
        return WARC_LINK_IMG_LAZY;
    return WARC_LINK_OTHER;
}

typedef struct wat_ctx {
    warc_link_fn fn;
    void *ctx;
    const warc_wat_page *page;
    warc_wat_info *info;
    char resolved[URL_MAX];
} wat_ctx;

/* Gives one link to the callback; returns nonzero when it asks to stop. */
static int emit(wat_ctx *w, warc_link *l)
{
    l->resolved = NULL;
    if (w->page->base[0] != '\0' && l->url[0] != '\0' &&
        url_resolve(w->page->base, l->url, w->resolved, sizeof w->resolved) == CC_OK)
        l->resolved = w->resolved;
    w->info->links++;
    w->info->by_kind[l->kind]++;
    if (l->resolved == NULL)
        w->info->unresolved++;
    return w->fn(w->ctx, w->page, l);
}

/* Splits a srcset ("a.jpg 1x, b.jpg 480w") into candidates, as the HTML rules do: a URL is a
 * run of non-space characters (trailing commas removed), followed by descriptors up to a comma. */
static int emit_srcset(wat_ctx *w, warc_link *l, const char *set)
{
    size_t n = strlen(set);
    char *copy = malloc(n + 1);
    if (copy == NULL)
        return -1;
    const char *p = set, *end = set + n;
    int stop = 0;
    while (p < end && !stop) {
        while (p < end && (is_ws((uint8_t)*p) || *p == ',' || *p == '\n' || *p == '\r'))
            p++;
        const char *u = p;
        while (p < end && !is_ws((uint8_t)*p) && *p != '\n' && *p != '\r')
            p++;
        const char *ue = p;
        int had_comma = 0;
        while (ue > u && ue[-1] == ',') {
            ue--;
            had_comma = 1;
        }
        if (!had_comma) /* descriptors up to the next comma */
            while (p < end && *p != ',')
                p++;
        if (ue > u) {
            memcpy(copy, u, (size_t)(ue - u));
            copy[ue - u] = '\0';
            l->url = copy;
            stop = emit(w, l);
        }
    }
    free(copy);
    return stop;
}

cc_status warc_wat_links(const warc_record *rec, const warc_limits *lim, warc_link_fn fn, void *ctx,
                         warc_wat_info *info)
{
    warc_limits dl;
    warc_wat_info dummy;
    if (lim == NULL) {
        warc_limits_default(&dl);
        lim = &dl;
    }
    if (info == NULL)
        info = &dummy;
    memset(info, 0, sizeof *info);
    const char *id = rec->record_id[0] ? rec->record_id : "(no WARC-Record-ID)";
    if (rec->block_len > lim->max_json)
        return cc_fail(CC_E_LIMIT, "WAT record %s: JSON of %zu bytes exceeds max_json (%zu)", id,
                       rec->block_len, lim->max_json);
    json_error_t err;
    json_t *root = json_loadb((const char *)rec->block, rec->block_len, 0, &err);
    if (root == NULL)
        return cc_fail(CC_E_FORMAT, "WAT record %s: bad JSON at line %d, column %d: %s", id,
                       err.line, err.column, err.text);
    cc_status st = CC_OK;
    json_t *env = jobj(root, "Envelope");
    if (env == NULL) {
        st = cc_fail(CC_E_FORMAT, "WAT record %s: no \"Envelope\" object", id);
        goto done;
    }
    const char *page_url = jstr(jobj(env, "WARC-Header-Metadata"), "WARC-Target-URI");
    if (page_url == NULL || page_url[0] == '\0')
        page_url = rec->target_uri;
    json_t *html =
        jobj(jobj(jobj(env, "Payload-Metadata"), "HTTP-Response-Metadata"), "HTML-Metadata");
    if (html == NULL)
        goto done;
    info->has_html = 1;
    json_t *head = jobj(html, "Head");
    const char *title = jstr(head, "Title");
    const char *base_ref = jstr(head, "Base");

    wat_ctx *w = malloc(sizeof *w);
    char *page_canon = malloc(URL_MAX), *base = malloc(URL_MAX);
    if (w == NULL || page_canon == NULL || base == NULL) {
        free(w);
        free(page_canon);
        free(base);
        st = cc_fail(CC_E_NOMEM, "out of memory parsing a WAT record");
        goto done;
    }
    int have_page = url_normalize(page_url, page_canon, URL_MAX) == CC_OK;
    base[0] = '\0';
    if (base_ref != NULL && base_ref[0] != '\0') {
        if (have_page ? url_resolve(page_canon, base_ref, base, URL_MAX) != CC_OK
                      : url_normalize(base_ref, base, URL_MAX) != CC_OK)
            base[0] = '\0';
    }
    if (base[0] == '\0' && have_page)
        memcpy(base, page_canon, strlen(page_canon) + 1);
    warc_wat_page page = {page_url, base, title ? title : ""};
    w->fn = fn;
    w->ctx = ctx;
    w->page = &page;
    w->info = info;

    json_t *links = json_object_get(html, "Links");
    size_t n = json_is_array(links) ? json_array_size(links) : 0;
    for (size_t i = 0; i < n; i++) {
        json_t *e = json_array_get(links, i);
        const char *path = jstr(e, "path"), *url = jstr(e, "url");
        if (path == NULL || url == NULL) {
            info->bad_entries++;
            continue;
        }
        const char *alt = jstr(e, "alt"), *ltitle = jstr(e, "title");
        warc_link l = {link_kind(path), path, url, alt ? alt : "", ltitle ? ltitle : "", NULL};
        int stop = l.kind == WARC_LINK_IMG_SRCSET ? emit_srcset(w, &l, url) : emit(w, &l);
        if (stop < 0) {
            st = cc_fail(CC_E_NOMEM, "out of memory parsing a WAT record");
            break;
        }
        if (stop)
            break;
    }
    free(w);
    free(page_canon);
    free(base);
done:
    json_decref(root);
    return st;
}
