/* shards/json.h — one record as a JSON object (docs/FORMAT.md, "Records as JSON").
 *
 * `clipcrawl shards dump` prints one such object per line and the webdataset export stores it as
 * KEY.json. The text is byte-for-byte what Python's
 * `json.dumps(obj, ensure_ascii=False, separators=(",", ":"))` prints for the same record as read
 * by ops/python/clipcrawl_shards.py, so the two readers can be compared with `cmp`.
 */
#ifndef CC_SHARD_JSON_H
#define CC_SHARD_JSON_H

#include "common/buf.h"
#include "common/status.h"
#include "shards/shard.h"

/* Appends the JSON object of r to out, without a trailing newline (may reallocate out; the text
 * already in out is kept). Keys, in this order: key, caption, url, page_url, license, query_id,
 * query_ids, format, image_bytes, width, height, orig_width, orig_height, content_hash, phash,
 * fetch_time_ms. Strings are escaped as Python escapes them: \" \\ \b \f \n \r \t, other control
 * characters as \u00xx; other valid UTF-8 (DEL included) is copied as it is, and every ill-formed
 * UTF-8 sequence (stray continuation bytes, overlong forms, surrogates, code points past
 * U+10FFFF, truncated sequences) becomes U+FFFD, one per maximal ill-formed subpart, as Python's
 * bytes.decode("utf-8", "replace") does. The output is therefore always valid UTF-8 JSON.
 * NULL strings print as "".
 * Returns CC_OK, or CC_E_LIMIT / CC_E_NOMEM from growing out; on error out->len is restored to
 * its value on entry. Reentrant. */
cc_status shard_record_to_json(const shard_record *r, cc_buf *out);

#endif
