/* query_lists/zread.c — see zread.h.
 *
 * One loop serves the three decompressors: refill the input buffer when it is empty, start a
 * stream when none is open, run one decompression step, return as soon as bytes came out. A
 * stream that ends is closed; more input after it starts the next stream (multistream dumps).
 * The file ending while a stream is open, with the decompressor unable to make progress, is a
 * truncated file.
 */
#include "query_lists/zread.h"

#include <bzlib.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

struct zread {
    int fd;
    zread_kind kind;
    int eof; /* read() returned 0 */
    int in_stream; /* a compressed stream is open and not finished */
    int dec_ready; /* the decompressor is initialised (bzip2 and gzip) */
    uint8_t *in;
    size_t in_pos, in_len;
    uint64_t file_off;
    uint64_t streams; /* compressed streams started, for messages */
    cc_status err; /* sticky error */
    char msg[2048]; /* its message, replayed on later calls */
    bz_stream bz;
    z_stream gz;
    ZSTD_DStream *zs;
    char path[1024];
};

static const char *const kind_names[] = {"plain", "bzip2", "gzip", "zstd"};

const char *zread_kind_name(zread_kind k)
{
    return (unsigned)k < 4 ? kind_names[k] : "unknown";
}

zread_kind zread_get_kind(const zread *z)
{
    return z->kind;
}

uint64_t zread_file_offset(const zread *z)
{
    return z->file_off;
}

/* Records a sticky error: this and every later zread_read return it with the same message. */
static cc_status zr_fail(zread *z, cc_status st, const char *what)
{
    snprintf(z->msg, sizeof z->msg, "%s: %s", z->path, what);
    z->err = st;
    return cc_fail(st, "%s", z->msg);
}

/* Reads more of the file after the bytes already buffered (at most up to ZREAD_IN_BYTES). */
static cc_status zr_fill(zread *z)
{
    if (z->in_pos == z->in_len)
        z->in_pos = z->in_len = 0;
    if (z->eof || z->in_len == ZREAD_IN_BYTES)
        return CC_OK;
    ssize_t r;
    do
        r = read(z->fd, z->in + z->in_len, ZREAD_IN_BYTES - z->in_len);
    while (r < 0 && errno == EINTR);
    if (r < 0) {
        char what[300];
        snprintf(what, sizeof what, "read failed: %s", strerror(errno));
        return zr_fail(z, CC_E_IO, what);
    }
    if (r == 0)
        z->eof = 1;
    z->in_len += (size_t)r;
    z->file_off += (uint64_t)r;
    return CC_OK;
}

cc_status zread_open(const char *path, zread **out)
{
    *out = NULL;
    int fd;
    do
        fd = open(path, O_RDONLY | O_CLOEXEC);
    while (fd < 0 && errno == EINTR);
    if (fd < 0) {
        if (errno == ENOENT)
            return cc_fail(CC_E_NOTFOUND, "%s: no such file (check the path of the dump)", path);
        return cc_fail(CC_E_IO, "%s: cannot open: %s", path, strerror(errno));
    }
    struct stat sb;
    if (fstat(fd, &sb) == 0 && S_ISDIR(sb.st_mode)) {
        close(fd);
        return cc_fail(CC_E_IO, "%s: is a directory (give the dump file itself)", path);
    }
#ifdef POSIX_FADV_SEQUENTIAL
    (void)posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
#endif
    zread *z = calloc(1, sizeof *z);
    uint8_t *in = malloc(ZREAD_IN_BYTES);
    if (z == NULL || in == NULL) {
        free(z);
        free(in);
        close(fd);
        return cc_fail(CC_E_NOMEM, "out of memory opening %s", path);
    }
    z->fd = fd;
    z->in = in;
    snprintf(z->path, sizeof z->path, "%s", path);
    /* sniff: a short read (a pipe, a tiny file) must not hide the magic */
    while (z->in_len < 4 && !z->eof) {
        cc_status st = zr_fill(z);
        if (st != CC_OK) {
            zread_close(z);
            return st;
        }
    }
    const uint8_t *m = z->in;
    if (z->in_len >= 4 && m[0] == 'B' && m[1] == 'Z' && m[2] == 'h' && m[3] >= '1' && m[3] <= '9')
        z->kind = ZREAD_BZIP2;
    else if (z->in_len >= 2 && m[0] == 0x1f && m[1] == 0x8b)
        z->kind = ZREAD_GZIP;
    else if (z->in_len >= 4 && m[0] == 0x28 && m[1] == 0xb5 && m[2] == 0x2f && m[3] == 0xfd)
        z->kind = ZREAD_ZSTD;
    else
        z->kind = ZREAD_PLAIN;
    if (z->kind == ZREAD_ZSTD) {
        z->zs = ZSTD_createDStream();
        if (z->zs == NULL) {
            zread_close(z);
            return cc_fail(CC_E_NOMEM, "out of memory starting zstd for %s", path);
        }
    }
    *out = z;
    return CC_OK;
}

/* Starts the next compressed stream at in_pos. */
static cc_status zr_start(zread *z)
{
    z->streams++;
    if (z->kind == ZREAD_BZIP2) {
        if (z->dec_ready)
            BZ2_bzDecompressEnd(&z->bz);
        memset(&z->bz, 0, sizeof z->bz);
        z->dec_ready = 0;
        int r = BZ2_bzDecompressInit(&z->bz, 0, 0);
        if (r != BZ_OK)
            return zr_fail(z, r == BZ_MEM_ERROR ? CC_E_NOMEM : CC_E_COMPRESS,
                           "cannot start the bzip2 decompressor");
        z->dec_ready = 1;
    } else if (z->kind == ZREAD_GZIP) {
        int r;
        if (z->dec_ready) {
            r = inflateReset(&z->gz);
        } else {
            memset(&z->gz, 0, sizeof z->gz);
            r = inflateInit2(&z->gz, 15 + 32); /* 32: accept the gzip header */
            z->dec_ready = r == Z_OK;
        }
        if (r != Z_OK)
            return zr_fail(z, r == Z_MEM_ERROR ? CC_E_NOMEM : CC_E_COMPRESS,
                           "cannot start the gzip decompressor");
    }
    /* zstd: ZSTD_decompressStream goes on from one frame to the next by itself */
    z->in_stream = 1;
    return CC_OK;
}

/* One decompression step from in[in_pos..] into out[0..cap): *produced bytes written, *ended
 * when the stream finished in this step. */
static cc_status zr_step(zread *z, uint8_t *out, size_t cap, size_t *produced, int *ended)
{
    size_t avail = z->in_len - z->in_pos;
    *ended = 0;
    char what[400];
    if (z->kind == ZREAD_BZIP2) {
        unsigned ocap = cap > UINT_MAX ? UINT_MAX : (unsigned)cap;
        z->bz.next_in = (char *)(z->in + z->in_pos);
        z->bz.avail_in = (unsigned)avail;
        z->bz.next_out = (char *)out;
        z->bz.avail_out = ocap;
        int r = BZ2_bzDecompress(&z->bz);
        z->in_pos += avail - z->bz.avail_in;
        *produced = ocap - z->bz.avail_out;
        if (r == BZ_STREAM_END) {
            *ended = 1;
        } else if (r != BZ_OK) {
            snprintf(what, sizeof what,
                     "damaged bzip2 data (libbz2 error %d in stream %llu, near byte %llu of the "
                     "file): download the file again or check the copy",
                     r, (unsigned long long)z->streams,
                     (unsigned long long)(z->file_off - (z->in_len - z->in_pos)));
            return zr_fail(z, r == BZ_MEM_ERROR ? CC_E_NOMEM : CC_E_COMPRESS, what);
        }
    } else if (z->kind == ZREAD_GZIP) {
        unsigned ocap = cap > UINT_MAX ? UINT_MAX : (unsigned)cap;
        z->gz.next_in = z->in + z->in_pos;
        z->gz.avail_in = (uInt)avail;
        z->gz.next_out = out;
        z->gz.avail_out = ocap;
        int r = inflate(&z->gz, Z_NO_FLUSH);
        z->in_pos += avail - z->gz.avail_in;
        *produced = ocap - z->gz.avail_out;
        if (r == Z_STREAM_END) {
            *ended = 1;
        } else if (r != Z_OK && r != Z_BUF_ERROR) {
            snprintf(what, sizeof what,
                     "damaged gzip data (zlib: %s, near byte %llu of the file): download the "
                     "file again or check the copy",
                     z->gz.msg ? z->gz.msg : zError(r),
                     (unsigned long long)(z->file_off - (z->in_len - z->in_pos)));
            return zr_fail(z, r == Z_MEM_ERROR ? CC_E_NOMEM : CC_E_COMPRESS, what);
        }
    } else {
        ZSTD_inBuffer ib = {z->in + z->in_pos, avail, 0};
        ZSTD_outBuffer ob = {out, cap, 0};
        size_t r = ZSTD_decompressStream(z->zs, &ob, &ib);
        if (ZSTD_isError(r)) {
            snprintf(what, sizeof what,
                     "damaged zstd data (zstd: %s, near byte %llu of the file): download the "
                     "file again; files made with `zstd --long` above 27 cannot be read",
                     ZSTD_getErrorName(r),
                     (unsigned long long)(z->file_off - (z->in_len - z->in_pos)));
            return zr_fail(z, CC_E_COMPRESS, what);
        }
        z->in_pos += ib.pos;
        *produced = ob.pos;
        *ended = r == 0; /* a frame fully decoded and flushed */
    }
    return CC_OK;
}

cc_status zread_read(zread *z, void *buf, size_t cap, size_t *got)
{
    *got = 0;
    if (z->err != CC_OK)
        return cc_fail(z->err, "%s", z->msg);
    if (cap == 0)
        return CC_OK;
    for (;;) {
        if (z->in_pos == z->in_len)
            CC_TRY(zr_fill(z));
        int have_in = z->in_pos < z->in_len;
        if (z->kind == ZREAD_PLAIN) {
            size_t k = z->in_len - z->in_pos < cap ? z->in_len - z->in_pos : cap;
            memcpy(buf, z->in + z->in_pos, k);
            z->in_pos += k;
            *got = k;
            return CC_OK;
        }
        if (!z->in_stream) {
            if (!have_in)
                return CC_OK; /* clean end: the last stream ended with the file */
            CC_TRY(zr_start(z));
        }
        size_t before = z->in_pos, produced = 0;
        int ended = 0;
        CC_TRY(zr_step(z, buf, cap, &produced, &ended));
        if (ended)
            z->in_stream = 0;
        if (produced > 0) {
            *got = produced;
            return CC_OK;
        }
        if (ended)
            continue;
        if (z->in_pos == before && z->in_pos == z->in_len && z->eof) {
            char what[300];
            snprintf(what, sizeof what,
                     "truncated %s data (the file ends inside compressed stream %llu): the "
                     "download or copy is incomplete; fetch the file again",
                     kind_names[z->kind], (unsigned long long)z->streams);
            return zr_fail(z, CC_E_COMPRESS, what);
        }
        if (z->in_pos == before && have_in)
            return zr_fail(z, CC_E_COMPRESS, "the decompressor made no progress (damaged data?)");
    }
}

void zread_close(zread *z)
{
    if (z == NULL)
        return;
    if (z->dec_ready && z->kind == ZREAD_BZIP2)
        BZ2_bzDecompressEnd(&z->bz);
    if (z->dec_ready && z->kind == ZREAD_GZIP)
        inflateEnd(&z->gz);
    ZSTD_freeDStream(z->zs);
    if (z->fd >= 0)
        close(z->fd);
    free(z->in);
    free(z);
}
