/* shards/manifest.c — the run manifest (docs/FORMAT.md, "Manifest").
 *
 * manifest.tsv: line 1 "# clipcrawl manifest 1", '#' comments, then one sealed shard per line:
 * name TAB count TAB bytes TAB xxh3_128 TAB sealed_at. Appending one line + fsync is the commit
 * point of sealing; a last line without '\n' is a torn append and is ignored (and trimmed by the
 * writer before it appends again).
 */
#include "shards/manifest.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/file.h"

#define MANIFEST_MAGIC "# clipcrawl manifest 1"
#define MANIFEST_COLUMNS "# name\tcount\tbytes\txxh3_128\tsealed_at"
#define MANIFEST_MAX (256u << 20) /* 256 MiB: millions of shards */

static cc_status parse_u64(const char *s, uint64_t *out)
{
    if (*s < '0' || *s > '9')
        return CC_E_FORMAT;
    errno = 0;
    char *end;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end)
        return CC_E_FORMAT;
    *out = v;
    return CC_OK;
}

/* A shard name: "shard-" digits ".lmdb", nothing that could leave the directory. */
int shard_name_valid(const char *name)
{
    size_t n = strlen(name);
    if (n < 12 || n >= SHARD_NAME_MAX || strncmp(name, "shard-", 6) != 0 ||
        strcmp(name + n - 5, ".lmdb") != 0)
        return 0;
    for (size_t i = 6; i < n - 5; i++)
        if (name[i] < '0' || name[i] > '9')
            return 0;
    return 1;
}

static cc_status parse_line(char *line, shard_manifest_entry *e)
{
    char *f[5];
    int nf = 0;
    for (char *p = line; nf < 5; nf++) {
        f[nf] = p;
        char *tab = strchr(p, '\t');
        if (!tab) {
            nf++;
            break;
        }
        *tab = '\0';
        p = tab + 1;
    }
    if (nf != 5 || strchr(f[4], '\t'))
        return CC_E_FORMAT;
    if (!shard_name_valid(f[0]))
        return CC_E_FORMAT;
    memcpy(e->name, f[0], strlen(f[0]) + 1);
    uint64_t sealed;
    if (parse_u64(f[1], &e->count) || parse_u64(f[2], &e->bytes) || parse_u64(f[4], &sealed) ||
        cc_hash128_parse(f[3], &e->checksum))
        return CC_E_FORMAT;
    e->sealed_at = (int64_t)sealed;
    return CC_OK;
}

cc_status shard_manifest_path(const char *path_or_dir, char *out, size_t cap)
{
    struct stat sb;
    if (stat(path_or_dir, &sb) == 0 && S_ISDIR(sb.st_mode))
        return cc_path_join(out, cap, path_or_dir, SHARD_MANIFEST_NAME);
    int n = snprintf(out, cap, "%s", path_or_dir);
    CC_CHECK(n >= 0 && (size_t)n < cap, CC_E_LIMIT, "path too long: %s", path_or_dir);
    return CC_OK;
}

cc_status shard_manifest_load(const char *path_or_dir, shard_manifest **out)
{
    char path[4096];
    CC_TRY(shard_manifest_path(path_or_dir, path, sizeof path));
    shard_manifest *m = calloc(1, sizeof *m);
    CC_CHECK(m, CC_E_NOMEM, "out of memory");
    /* The manifest's directory holds its shards. */
    const char *slash = strrchr(path, '/');
    if (slash)
        snprintf(m->dir, sizeof m->dir, "%.*s", (int)(slash - path), path);
    else
        snprintf(m->dir, sizeof m->dir, ".");
    if (!m->dir[0])
        snprintf(m->dir, sizeof m->dir, "/");

    cc_buf text;
    cc_buf_init(&text, MANIFEST_MAX);
    cc_status st = cc_read_file(path, &text);
    if (st == CC_E_NOTFOUND) {
        st = cc_fail(CC_E_NOTFOUND,
                     "%s: no manifest (not a clipcrawl output folder, or nothing "
                     "sealed yet)",
                     path);
        goto fail;
    }
    if (st != CC_OK)
        goto fail;
    CC_TRY_GOTO(st, cc_buf_append(&text, "", 1), fail); /* NUL-terminate */
    text.len--;

    char *p = (char *)text.data, *end = p + text.len;
    size_t cap = 0;
    for (size_t lineno = 1; p < end; lineno++) {
        char *nl = memchr(p, '\n', (size_t)(end - p));
        if (!nl) {
            /* A torn append after a crash: not committed. The first append writes the header
             * with the first entry, so a torn header is an empty manifest, as is an empty file. */
            if (lineno == 1 && strncmp(p, MANIFEST_MAGIC, (size_t)(end - p)) != 0)
                st = cc_fail(CC_E_FORMAT, "%s: not a clipcrawl manifest", path);
            break;
        }
        *nl = '\0';
        if (lineno == 1) {
            if (strcmp(p, MANIFEST_MAGIC) != 0) {
                st = cc_fail(strncmp(p, "# clipcrawl manifest ", 21) == 0 ? CC_E_VERSION
                                                                          : CC_E_FORMAT,
                             "%s: first line is '%.60s', expected '%s'%s", path, p, MANIFEST_MAGIC,
                             strncmp(p, "# clipcrawl manifest ", 21) == 0
                                 ? " (written by a newer clipcrawl: upgrade)"
                                 : " (not a clipcrawl manifest)");
                goto fail;
            }
        } else if (*p != '#' && *p != '\0') {
            if (m->n == cap) {
                cap = cap ? cap * 2 : 64;
                shard_manifest_entry *v = realloc(m->entries, cap * sizeof *v);
                if (!v) {
                    st = cc_fail(CC_E_NOMEM, "out of memory");
                    goto fail;
                }
                m->entries = v;
            }
            if (parse_line(p, &m->entries[m->n]) != CC_OK) {
                st = cc_fail(CC_E_FORMAT, "%s:%zu: malformed manifest line", path, lineno);
                goto fail;
            }
            m->n++;
        }
        p = nl + 1;
    }
    if (st != CC_OK)
        goto fail;
    cc_buf_free(&text);
    *out = m;
    return CC_OK;
fail:
    cc_buf_free(&text);
    shard_manifest_free(m);
    return st;
}

void shard_manifest_free(shard_manifest *m)
{
    if (!m)
        return;
    free(m->entries);
    free(m);
}

cc_status shard_manifest_shard_path(const shard_manifest *m, size_t i, char *out, size_t cap)
{
    CC_CHECK(i < m->n, CC_E_INVAL, "manifest entry %zu out of range", i);
    return cc_path_join(out, cap, m->dir, m->entries[i].name);
}

uint64_t shard_manifest_total(const shard_manifest *m)
{
    uint64_t t = 0;
    for (size_t i = 0; i < m->n; i++)
        t += m->entries[i].count;
    return t;
}

cc_status shard_manifest_append(const char *path, const shard_manifest_entry *e)
{
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    CC_CHECK(fd >= 0, CC_E_IO, "%s: %s", path, strerror(errno));
    cc_status st = CC_OK;
    struct stat sb;
    if (fstat(fd, &sb) != 0) {
        st = cc_fail(CC_E_IO, "%s: %s", path, strerror(errno));
        goto out;
    }
    /* Trim a torn last line so the new one starts on a line of its own. */
    off_t keep = sb.st_size;
    while (keep > 0) {
        char c;
        if (pread(fd, &c, 1, keep - 1) != 1) {
            st = cc_fail(CC_E_IO, "%s: read: %s", path, strerror(errno));
            goto out;
        }
        if (c == '\n')
            break;
        keep--;
    }
    if (keep != sb.st_size && ftruncate(fd, keep) != 0) {
        st = cc_fail(CC_E_IO, "%s: truncate: %s", path, strerror(errno));
        goto out;
    }
    char line[256];
    char hex[33];
    cc_hash128_hex(e->checksum, hex);
    int n = snprintf(line, sizeof line, "%s%s\t%" PRIu64 "\t%" PRIu64 "\t%s\t%" PRId64 "\n",
                     keep == 0 ? MANIFEST_MAGIC "\n" MANIFEST_COLUMNS "\n" : "", e->name, e->count,
                     e->bytes, hex, e->sealed_at);
    if (n < 0 || (size_t)n >= sizeof line) {
        st = cc_fail(CC_E_LIMIT, "manifest line too long");
        goto out;
    }
    if (lseek(fd, keep, SEEK_SET) < 0) {
        st = cc_fail(CC_E_IO, "%s: seek: %s", path, strerror(errno));
        goto out;
    }
    CC_TRY_GOTO(st, cc_write_all(fd, line, (size_t)n), out);
    if (fsync(fd) != 0)
        st = cc_fail(CC_E_IO, "%s: fsync: %s", path, strerror(errno));
out:
    close(fd);
    return st;
}
