/* common/file.h — small, careful file-system helpers (durability and bounded reads).
 *
 * All functions retry EINTR and translate errno into CC_E_IO with the path and strerror text in
 * the thread's error message. Thread safety: reentrant.
 */
#ifndef CC_FILE_H
#define CC_FILE_H

#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/hash.h"
#include "common/status.h"

/* Joins dir and name with one '/'. CC_E_LIMIT if the result does not fit in cap bytes. */
cc_status cc_path_join(char *out, size_t cap, const char *dir, const char *name);
/* The last component of path (a pointer into path). */
const char *cc_path_base(const char *path);

/* Writes all n bytes to fd. */
cc_status cc_write_all(int fd, const void *p, size_t n);
/* fsync()s the file at path, or the directory at path (so that renames in it are durable). */
cc_status cc_fsync_path(const char *path);
/* Appends the whole file at path to out; CC_E_LIMIT if it is larger than out->max allows.
 * May reallocate out. */
cc_status cc_read_file(const char *path, cc_buf *out);
/* XXH3-128 of a file's bytes and its size, read in bounded chunks. */
cc_status cc_hash_file(const char *path, cc_hash128 *out, uint64_t *size);
/* Creates dir if missing (one level; parents must exist). */
cc_status cc_mkdir(const char *dir);
/* 1 if path exists (any type), 0 otherwise. */
int cc_exists(const char *path);

/* A file written whole or not at all, with an XXH3-64 trailer: bytes go through a buffer into
 * PATH.tmp and into the checksum; cc_file_out_commit appends the checksum (8 bytes, little-
 * endian, over every byte before it), fsyncs, renames over PATH and fsyncs the folder, so a
 * crash leaves either the old file or the new one. Used by every saved structure of ours. */
typedef struct cc_file_out {
    const char *path; /* not owned; must outlive the writer */
    char tmp[4096];
    int fd;
    void *xs; /* XXH3 streaming state */
    size_t len;
    uint8_t buf[32768];
} cc_file_out;

/* Creates PATH.tmp. CC_E_LIMIT (path too long), CC_E_IO, CC_E_NOMEM. */
cc_status cc_file_out_open(cc_file_out *fo, const char *path);
/* Appends n bytes. CC_E_IO. */
cc_status cc_file_out_put(cc_file_out *fo, const void *p, size_t n);
/* Appends the checksum and makes the file durable under its name; on failure the temporary file
 * is removed. Either way the writer is finished. */
cc_status cc_file_out_commit(cc_file_out *fo);
/* The same without the checksum trailer, for text files (queries.tsv). */
cc_status cc_file_out_commit_plain(cc_file_out *fo);
/* Removes the temporary file (after a failure of the caller's own). */
void cc_file_out_abort(cc_file_out *fo);

/* Reading such a file back. Our saved structures start with magic[4], u16 version, u16 header
 * size. cc_file_check_header checks them in data[0..len) (len: the bytes the file has; only the
 * first 8 are read): CC_E_FORMAT "not a clipcrawl <what> file" for another magic or len < 8,
 * CC_E_VERSION saying which version this build reads (and "upgrade" when the file is newer),
 * CC_E_FORMAT for a header size below min_hs or beyond len; *hs receives it. */
cc_status cc_file_check_header(const char *path, const uint8_t *data, size_t len, const char *magic,
                               const char *what, unsigned version, size_t min_hs, size_t *hs);
/* CC_E_CHECKSUM unless the last 8 bytes of data[0..len) (len >= 8) are the XXH3-64 of the
 * others, as cc_file_out_commit writes them. */
cc_status cc_file_check_sum(const char *path, const uint8_t *data, size_t len);

#endif
