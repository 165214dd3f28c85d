/* shards/lmdbx.h — internal to shards/: LMDB names and error translation shared by the writer,
 * reader and verifier. */
#ifndef CC_SHARDS_LMDBX_H
#define CC_SHARDS_LMDBX_H

#include <lmdb.h>

#include "common/status.h"

#define SHARD_DB_META "meta"
#define SHARD_DB_REC "rec"
#define SHARD_DB_UID "uid"
#define SHARD_FORMAT_VALUE "clipcrawl-shard 1"
#define SHARD_FORMAT_PREFIX "clipcrawl-shard "

/* Translates an LMDB return code into a status with "what: mdb_strerror" as the message. */
static inline cc_status shard_mdb_fail(int rc, const char *what)
{
    return cc_fail(rc == MDB_NOTFOUND ? CC_E_NOTFOUND : CC_E_DB, "%s: %s", what, mdb_strerror(rc));
}

#endif
