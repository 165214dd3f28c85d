/* shards/export.c — webdataset export: one POSIX ustar archive per shard (see shard.h).
 *
 * OUT/shard-NNNNNN.tar holds, for each record in index order, KEY.<ext> (image bytes), KEY.txt
 * (caption, no newline) and KEY.json (shard_record_to_json), KEY = the uid as 32 hex digits.
 * Each member is a 512-byte ustar header, its bytes, and zero padding to a 512-byte boundary;
 * two zero blocks end the archive. The tar is written as NAME.tar.tmp, fsynced and renamed, so
 * a crash leaves either the previous file or the complete new one.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/file.h"
#include "shards/json.h"
#include "shards/manifest.h"
#include "shards/shard.h"

#define TAR_BLOCK 512
#define TAR_FLUSH (1u << 20) /* staging buffer: small members are batched into 1 MiB writes */
#define TAR_MAX_SIZE 077777777777ULL /* largest value of an 11-digit octal field */
#define JSON_MAX (4u << 20) /* bound on one record's JSON (4 strings ≤ 64 KiB, escaped ×6) */

/* An archive being written: staged bytes go to fd in large writes. */
typedef struct tar_out {
    int fd;
    const char *path;
    cc_buf stage;
    uint64_t bytes; /* archive bytes so far */
} tar_out;

static cc_status tar_flush(tar_out *t)
{
    cc_status st = cc_write_all(t->fd, t->stage.data, t->stage.len);
    cc_buf_reset(&t->stage);
    return st == CC_OK ? CC_OK : cc_wrap(st, "%s", t->path);
}

static cc_status tar_write(tar_out *t, const void *p, size_t n)
{
    if (t->stage.len + n > TAR_FLUSH)
        CC_TRY(tar_flush(t));
    t->bytes += n;
    if (n >= TAR_FLUSH) {
        cc_status st = cc_write_all(t->fd, p, n);
        return st == CC_OK ? CC_OK : cc_wrap(st, "%s", t->path);
    }
    return cc_buf_append(&t->stage, p, n);
}

/* Writes v as a zero-padded octal number of width-1 digits and a NUL. */
static void tar_octal(uint8_t *field, size_t width, uint64_t v)
{
    field[width - 1] = '\0';
    for (size_t i = width - 1; i-- > 0; v >>= 3)
        field[i] = (uint8_t)('0' + (v & 7));
}

/* Appends one regular-file member: ustar header, data, padding. name must fit 100 bytes. */
static cc_status tar_member(tar_out *t, const char *name, const void *data, size_t len,
                            int64_t mtime)
{
    static const uint8_t zeros[TAR_BLOCK];
    uint8_t h[TAR_BLOCK] = {0};
    size_t nlen = strlen(name);
    CC_CHECK(nlen <= 100, CC_E_LIMIT, "tar member name '%s' is longer than 100 bytes", name);
    CC_CHECK(len <= TAR_MAX_SIZE, CC_E_LIMIT, "tar member '%s' is too large", name);
    memcpy(h, name, nlen); /* name[100]; NUL-free when exactly 100 */
    tar_octal(h + 100, 8, 0644); /* mode */
    tar_octal(h + 108, 8, 0); /* uid */
    tar_octal(h + 116, 8, 0); /* gid */
    tar_octal(h + 124, 12, len); /* size */
    tar_octal(h + 136, 12, mtime > 0 && (uint64_t)mtime <= TAR_MAX_SIZE ? (uint64_t)mtime : 0);
    h[156] = '0'; /* typeflag: regular file */
    memcpy(h + 257, "ustar", 6); /* magic, NUL-terminated */
    memcpy(h + 263, "00", 2); /* version */
    tar_octal(h + 329, 8, 0); /* devmajor */
    tar_octal(h + 337, 8, 0); /* devminor */
    /* The checksum is the byte sum of the header with its own field read as 8 spaces, stored
     * as six octal digits, NUL, space. */
    memset(h + 148, ' ', 8);
    unsigned sum = 0;
    for (size_t i = 0; i < TAR_BLOCK; i++)
        sum += h[i];
    tar_octal(h + 148, 7, sum);
    h[155] = ' ';
    CC_TRY(tar_write(t, h, sizeof h));
    CC_TRY(tar_write(t, data, len));
    size_t pad = (TAR_BLOCK - len % TAR_BLOCK) % TAR_BLOCK;
    return tar_write(t, zeros, pad);
}

/* Writes the three members of one record. json is scratch. */
static cc_status export_record(tar_out *t, const shard_record *r, cc_buf *json)
{
    char key[33], name[64];
    static const char digits[] = "0123456789abcdef";
    for (int i = 0; i < 16; i++) {
        key[2 * i] = digits[r->uid[i] >> 4];
        key[2 * i + 1] = digits[r->uid[i] & 15];
    }
    key[32] = '\0';
    int64_t mtime = r->fetch_time_ms > 0 ? r->fetch_time_ms / 1000 : 0;

    snprintf(name, sizeof name, "%s.%s", key, shard_image_ext(r->image_format));
    CC_TRY(tar_member(t, name, r->image, r->image_len, mtime));
    snprintf(name, sizeof name, "%s.txt", key);
    CC_TRY(tar_member(t, name, r->caption, r->caption ? strlen(r->caption) : 0, mtime));
    cc_buf_reset(json);
    CC_TRY(shard_record_to_json(r, json));
    snprintf(name, sizeof name, "%s.json", key);
    return tar_member(t, name, json->data, json->len, mtime);
}

/* Exports shard i of m into outdir; adds to stats. */
static cc_status export_shard(const shard_manifest *m, size_t i, const char *outdir,
                              shard_export_stats *stats)
{
    const shard_manifest_entry *e = &m->entries[i];
    char src[4096], tarname[SHARD_NAME_MAX + 8], dst[4096], tmp[4096];
    shard_reader *rd = NULL;
    shard_view *v = NULL;
    tar_out t = {.fd = -1, .path = tmp};
    cc_buf json;
    cc_status st = CC_OK;
    int created = 0; /* tmp exists and must go if we fail */
    cc_buf_init(&t.stage, TAR_FLUSH);
    cc_buf_init(&json, JSON_MAX);

    /* The tar takes the shard's number: shard-000003.lmdb → shard-000003.tar. The name check
     * also keeps a hand-made manifest from writing outside outdir. */
    if (!shard_name_valid(e->name)) {
        st = cc_fail(CC_E_FORMAT, "manifest entry %zu: invalid shard name '%.64s'", i, e->name);
        goto done;
    }
    snprintf(tarname, sizeof tarname, "%.*s.tar", (int)(strlen(e->name) - 5), e->name);
    CC_TRY_GOTO(st, shard_manifest_shard_path(m, i, src, sizeof src), done);
    CC_TRY_GOTO(st, cc_path_join(dst, sizeof dst, outdir, tarname), done);
    if (snprintf(tmp, sizeof tmp, "%s.tmp", dst) >= (int)sizeof tmp) {
        st = cc_fail(CC_E_LIMIT, "path too long: %s.tmp", dst);
        goto done;
    }

    CC_TRY_GOTO(st, shard_reader_open(src, e, &rd), done);
    CC_TRY_GOTO(st, shard_view_open(rd, &v), done);
    uint64_t count = shard_reader_count(rd);
    if (count != e->count) {
        st = cc_fail(CC_E_FORMAT, "%s: holds %" PRIu64 " records, the manifest says %" PRIu64,
                     e->name, count, e->count);
        goto done;
    }
    t.fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (t.fd < 0) {
        st = cc_fail(CC_E_IO, "%s: %s", tmp, strerror(errno));
        goto done;
    }
    created = 1;
    for (uint64_t k = 0; k < count; k++) {
        shard_record r;
        CC_TRY_GOTO(st, shard_view_get(v, k, &r), done);
        CC_TRY_GOTO(st, export_record(&t, &r, &json), done);
    }
    static const uint8_t end_blocks[2 * TAR_BLOCK];
    CC_TRY_GOTO(st, tar_write(&t, end_blocks, sizeof end_blocks), done);
    CC_TRY_GOTO(st, tar_flush(&t), done);
    if (fsync(t.fd) != 0) {
        st = cc_fail(CC_E_IO, "%s: fsync: %s", tmp, strerror(errno));
        goto done;
    }
    int fd = t.fd;
    t.fd = -1;
    if (close(fd) != 0) {
        st = cc_fail(CC_E_IO, "%s: close: %s", tmp, strerror(errno));
        goto done;
    }
    if (rename(tmp, dst) != 0) {
        st = cc_fail(CC_E_IO, "rename %s -> %s: %s", tmp, dst, strerror(errno));
        goto done;
    }
    created = 0;
    stats->shards++;
    stats->records += count;
    stats->bytes += t.bytes;

done:
    if (t.fd >= 0)
        close(t.fd);
    if (created)
        unlink(tmp);
    shard_view_close(v);
    shard_reader_close(rd);
    cc_buf_free(&t.stage);
    cc_buf_free(&json);
    return st;
}

cc_status shard_export_webdataset(const shard_manifest *m, const char *outdir,
                                  shard_export_stats *stats)
{
    shard_export_stats local = {0};
    if (!stats)
        stats = &local;
    memset(stats, 0, sizeof *stats);
    CC_TRY(cc_mkdir(outdir));
    for (size_t i = 0; i < m->n; i++)
        CC_TRY(export_shard(m, i, outdir, stats));
    /* Make the renames durable. */
    return cc_fsync_path(outdir);
}
