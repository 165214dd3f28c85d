/* common/file.c — see file.h. */
#include "common/file.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

cc_status cc_path_join(char *out, size_t cap, const char *dir, const char *name)
{
    size_t dl = strlen(dir);
    while (dl > 1 && dir[dl - 1] == '/')
        dl--;
    int n = snprintf(out, cap, "%.*s/%s", (int)dl, dir, name);
    if (n < 0 || (size_t)n >= cap)
        return cc_fail(CC_E_LIMIT, "path too long: %s/%s", dir, name);
    return CC_OK;
}

const char *cc_path_base(const char *path)
{
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

cc_status cc_write_all(int fd, const void *p, size_t n)
{
    const uint8_t *c = p;
    while (n > 0) {
        ssize_t w = write(fd, c, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return cc_fail(CC_E_IO, "write: %s", strerror(errno));
        }
        c += w;
        n -= (size_t)w;
    }
    return CC_OK;
}

cc_status cc_fsync_path(const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return cc_fail(CC_E_IO, "%s: open for fsync: %s", path, strerror(errno));
    int rc;
    do
        rc = fsync(fd);
    while (rc < 0 && errno == EINTR);
    int err = errno;
    close(fd);
    if (rc < 0)
        return cc_fail(CC_E_IO, "%s: fsync: %s", path, strerror(err));
    return CC_OK;
}

cc_status cc_read_file(const char *path, cc_buf *out)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return cc_fail(errno == ENOENT ? CC_E_NOTFOUND : CC_E_IO, "%s: %s", path, strerror(errno));
    cc_status st = CC_OK;
    for (;;) {
        if (out->len == out->max) {
            /* Full: fine only if the file ends exactly here. */
            uint8_t probe;
            ssize_t r = read(fd, &probe, 1);
            if (r > 0)
                st = cc_fail(CC_E_LIMIT, "%s: larger than the limit of %zu bytes", path, out->max);
            break;
        }
        size_t want = out->max - out->len < 65536 ? out->max - out->len : 65536;
        st = cc_buf_reserve(out, want);
        if (st != CC_OK)
            break;
        ssize_t r = read(fd, out->data + out->len, want);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            st = cc_fail(CC_E_IO, "%s: read: %s", path, strerror(errno));
            break;
        }
        if (r == 0)
            break;
        out->len += (size_t)r;
    }
    close(fd);
    return st;
}

cc_status cc_hash_file(const char *path, cc_hash128 *out, uint64_t *size)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return cc_fail(errno == ENOENT ? CC_E_NOTFOUND : CC_E_IO, "%s: %s", path, strerror(errno));
    cc_hasher *h = NULL;
    cc_status st = cc_hasher_new(&h);
    enum { CHUNK = 1 << 20 };
    uint8_t *chunk = st == CC_OK ? malloc(CHUNK) : NULL;
    uint64_t total = 0;
    if (st == CC_OK && !chunk)
        st = cc_fail(CC_E_NOMEM, "out of memory");
    while (st == CC_OK) {
        ssize_t r = read(fd, chunk, CHUNK);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            st = cc_fail(CC_E_IO, "%s: read: %s", path, strerror(errno));
            break;
        }
        if (r == 0)
            break;
        cc_hasher_update(h, chunk, (size_t)r);
        total += (uint64_t)r;
    }
    if (st == CC_OK) {
        *out = cc_hasher_digest(h);
        if (size)
            *size = total;
    }
    free(chunk);
    cc_hasher_free(h);
    close(fd);
    return st;
}

cc_status cc_mkdir(const char *dir)
{
    if (mkdir(dir, 0777) == 0 || errno == EEXIST) {
        struct stat sb;
        if (stat(dir, &sb) == 0 && S_ISDIR(sb.st_mode))
            return CC_OK;
        return cc_fail(CC_E_IO, "%s: exists and is not a directory", dir);
    }
    return cc_fail(CC_E_IO, "%s: mkdir: %s", dir, strerror(errno));
}

int cc_exists(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0;
}

/* ---- cc_file_out ------------------------------------------------------------------------- */

cc_status cc_file_out_open(cc_file_out *fo, const char *path)
{
    fo->path = path;
    fo->fd = -1;
    fo->len = 0;
    fo->xs = NULL;
    int n = snprintf(fo->tmp, sizeof fo->tmp, "%s.tmp", path);
    CC_CHECK(n >= 0 && (size_t)n < sizeof fo->tmp, CC_E_LIMIT, "path too long: %s", path);
    XXH3_state_t *xs = XXH3_createState();
    fo->xs = xs;
    CC_CHECK(fo->xs, CC_E_NOMEM, "%s: out of memory", path);
    XXH3_64bits_reset(xs);
    fo->fd = open(fo->tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fo->fd < 0) {
        XXH3_freeState((XXH3_state_t *)fo->xs);
        return cc_fail(CC_E_IO, "%s: %s", fo->tmp, strerror(errno));
    }
    return CC_OK;
}

static cc_status fo_flush(cc_file_out *fo)
{
    XXH3_64bits_update((XXH3_state_t *)fo->xs, fo->buf, fo->len);
    cc_status st = cc_write_all(fo->fd, fo->buf, fo->len);
    fo->len = 0;
    return st == CC_OK ? st : cc_wrap(st, "%s", fo->tmp);
}

cc_status cc_file_out_put(cc_file_out *fo, const void *p, size_t n)
{
    const uint8_t *c = p;
    while (n > 0) {
        if (fo->len == sizeof fo->buf)
            CC_TRY(fo_flush(fo));
        size_t take = sizeof fo->buf - fo->len < n ? sizeof fo->buf - fo->len : n;
        memcpy(fo->buf + fo->len, c, take);
        fo->len += take;
        c += take;
        n -= take;
    }
    return CC_OK;
}

void cc_file_out_abort(cc_file_out *fo)
{
    if (fo->fd >= 0)
        close(fo->fd);
    fo->fd = -1;
    unlink(fo->tmp);
    XXH3_freeState((XXH3_state_t *)fo->xs);
    fo->xs = NULL;
}

static cc_status fo_commit(cc_file_out *fo, int trailer)
{
    cc_status st;
    CC_TRY_GOTO(st, fo_flush(fo), fail);
    if (trailer) {
        uint8_t sum[8];
        cc_store_u64(sum, XXH3_64bits_digest((XXH3_state_t *)fo->xs));
        CC_TRY_GOTO(st, cc_write_all(fo->fd, sum, sizeof sum), fail);
    }
    if (fsync(fo->fd) != 0) {
        st = cc_fail(CC_E_IO, "%s: fsync: %s", fo->tmp, strerror(errno));
        goto fail;
    }
    int rc = close(fo->fd);
    fo->fd = -1;
    if (rc != 0) {
        st = cc_fail(CC_E_IO, "%s: close: %s", fo->tmp, strerror(errno));
        goto fail;
    }
    if (rename(fo->tmp, fo->path) != 0) {
        st = cc_fail(CC_E_IO, "%s: rename to %s: %s", fo->tmp, fo->path, strerror(errno));
        goto fail;
    }
    XXH3_freeState((XXH3_state_t *)fo->xs);
    fo->xs = NULL;
    /* The rename is durable once the folder is synced. */
    char dir[4096];
    const char *slash = strrchr(fo->path, '/');
    if (!slash)
        snprintf(dir, sizeof dir, ".");
    else if (slash == fo->path)
        snprintf(dir, sizeof dir, "/");
    else
        snprintf(dir, sizeof dir, "%.*s", (int)(slash - fo->path), fo->path);
    return cc_fsync_path(dir);
fail:
    cc_file_out_abort(fo);
    return st;
}

cc_status cc_file_out_commit(cc_file_out *fo)
{
    return fo_commit(fo, 1);
}

cc_status cc_file_out_commit_plain(cc_file_out *fo)
{
    return fo_commit(fo, 0);
}

cc_status cc_file_check_header(const char *path, const uint8_t *data, size_t len, const char *magic,
                               const char *what, unsigned version, size_t min_hs, size_t *hs)
{
    CC_CHECK(len >= 8 && memcmp(data, magic, 4) == 0, CC_E_FORMAT,
             "%s: not a clipcrawl %s file (no '%s' magic)", path, what, magic);
    unsigned v = cc_load_u16(data + 4);
    CC_CHECK(v == version, CC_E_VERSION, "%s: %s file version %u; this build reads version %u (%s)",
             path, what, v, version,
             v > version ? "written by a newer clipcrawl: upgrade" : "damaged file");
    *hs = cc_load_u16(data + 6);
    CC_CHECK(*hs >= min_hs && *hs <= len, CC_E_FORMAT,
             "%s: header size %zu (version %u needs %zu, file has %zu bytes)", path, *hs, version,
             min_hs, len);
    return CC_OK;
}

cc_status cc_file_check_sum(const char *path, const uint8_t *data, size_t len)
{
    uint64_t want = cc_load_u64(data + len - 8), got = cc_hash64(data, len - 8);
    CC_CHECK(want == got, CC_E_CHECKSUM,
             "%s: checksum mismatch (stored %016" PRIx64 ", computed %016" PRIx64
             "): the file is damaged or was changed",
             path, want, got);
    return CC_OK;
}
