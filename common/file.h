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

#endif
