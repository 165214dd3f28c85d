/* query_lists/zread.h — (internal) a file read as a byte stream through its decompressor.
 *
 * The format is told by the first bytes: "BZh" bzip2, 1f 8b gzip, 28 b5 2f fd zstd, anything
 * else is read as is. Concatenated streams are read through (Wikimedia's "multistream" bzip2
 * dumps are thousands of bzip2 streams back to back; `cat a.gz b.gz` and multi-frame zstd files
 * are the same case). Memory is fixed at open: one input buffer of ZREAD_IN_BYTES plus the
 * decompressor's own state (bzip2 ~64 KiB, zlib ~44 KiB, zstd at most a 128 MiB window: frames
 * that ask for more are refused with CC_E_COMPRESS).
 * Not thread-safe; one reader per thread.
 */
#ifndef CC_ZREAD_H
#define CC_ZREAD_H

#include <stddef.h>
#include <stdint.h>

#include "common/status.h"

#define ZREAD_IN_BYTES (256u * 1024u)

typedef enum zread_kind { ZREAD_PLAIN, ZREAD_BZIP2, ZREAD_GZIP, ZREAD_ZSTD } zread_kind;

typedef struct zread zread;

/* Opens path and sniffs its format. CC_E_NOTFOUND (no such file), CC_E_IO (any other open or
 * read error, a directory), CC_E_NOMEM, CC_E_COMPRESS (the decompressor would not start). */
cc_status zread_open(const char *path, zread **out);

/* Reads up to cap decompressed bytes into buf; *got = 0 only at the clean end of the data.
 * CC_E_COMPRESS for damaged or truncated compressed data (the message names the file and says
 * what to do), CC_E_IO for read errors. After an error every call returns it again. */
cc_status zread_read(zread *z, void *buf, size_t cap, size_t *got);

zread_kind zread_get_kind(const zread *z);
/* "plain", "bzip2", "gzip", "zstd". */
const char *zread_kind_name(zread_kind k);
/* Bytes of the file consumed so far (for progress lines). */
uint64_t zread_file_offset(const zread *z);

void zread_close(zread *z); /* accepts NULL */

#endif
