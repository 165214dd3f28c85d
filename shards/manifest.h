/* shards/manifest.h — internal to shards/: manifest helpers shared by writer and reader. The
 * public part of the manifest API is in shard.h. */
#ifndef CC_SHARDS_MANIFEST_H
#define CC_SHARDS_MANIFEST_H

#include "shards/shard.h"

/* Path of the manifest for a directory or manifest file argument. */
cc_status shard_manifest_path(const char *path_or_dir, char *out, size_t cap);
/* Appends one entry and fsyncs (creating the file with its header when new; trims a torn last
 * line first). The caller holds the run's writer lock. */
cc_status shard_manifest_append(const char *path, const shard_manifest_entry *e);
/* 1 if name is a valid shard file name ("shard-" digits ".lmdb"). */
int shard_name_valid(const char *name);

#endif
