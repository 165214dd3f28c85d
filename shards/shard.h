/* shards/shard.h — the shard store: zstd-compressed records in single-file LMDB shards.
 *
 * A run directory holds sealed shards `shard-NNNNNN.lmdb`, at most one shard being written
 * (`shard-NNNNNN.lmdb.open`), and `manifest.tsv`, which lists every sealed shard with its pair
 * count, byte size and XXH3-128 checksum. The manifest is the commit point of sealing: a shard
 * file that is not listed in it is not part of the dataset. docs/FORMAT.md specifies every byte.
 *
 * Lifecycle:
 *   writer: shard_writer_open → shard_writer_add … shard_writer_commit … → shard_writer_close
 *   reader: shard_manifest_load → shard_reader_open(entry) → shard_view_open (one per thread)
 *           → shard_view_get … → shard_view_close → shard_reader_close
 *
 * Errors: every function returns a cc_status; the reason, naming the shard and record, is in
 * cc_errmsg() on the calling thread.
 */
#ifndef CC_SHARD_H
#define CC_SHARD_H

#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/hash.h"
#include "common/status.h"

/* ---- records ----------------------------------------------------------------------------- */

enum shard_image_format {
    SHARD_IMG_UNKNOWN = 0,
    SHARD_IMG_JPEG = 1,
    SHARD_IMG_PNG = 2,
    SHARD_IMG_WEBP = 3,
};

#define SHARD_NO_QUERY UINT32_MAX /* query_id of a pair that counts for no query */
#define SHARD_MAX_TEXT (64u << 10) /* caption, URLs and license: at most 64 KiB each */
#define SHARD_MAX_QUERY_IDS 4096u /* matched query ids per record */
#define SHARD_MAX_IMAGE (64u << 20) /* image bytes per record */
#define SHARD_MAX_META (SHARD_MAX_TEXT * 4 + SHARD_MAX_QUERY_IDS * 4 + 256)

/* One image–text pair. On input (shard_writer_add) the caller owns every pointer. On output
 * (shard_view_get, shard_codec_decode) strings and query_ids point into the view's or codec's
 * scratch memory and image into the shard's memory map: valid until the next get/decode on the
 * same view or codec, or until it closes. Strings are NUL-terminated UTF-8, never NULL ("" when
 * absent). */
typedef struct shard_record {
    uint8_t uid[16]; /* 128-bit unique id of the pair */
    const char *caption; /* the text of the pair */
    const char *url; /* image URL (or the source path for packed files) */
    const char *page_url; /* page the pair was found on */
    const char *license; /* license found on the page */
    uint32_t query_id; /* the query this pair counts for, or SHARD_NO_QUERY */
    const uint32_t *query_ids; /* every query the caption matched */
    uint32_t n_query_ids;
    const uint8_t *image; /* stored image bytes */
    size_t image_len;
    uint8_t image_format; /* enum shard_image_format */
    uint32_t width, height; /* stored image size in pixels */
    uint32_t orig_width, orig_height; /* size of the image as fetched */
    uint8_t content_hash[16]; /* XXH3-128 (canonical bytes) of the fetched image bytes */
    uint64_t phash; /* 64-bit perceptual hash (0 if not computed) */
    int64_t fetch_time_ms; /* Unix time in milliseconds */
} shard_record;

/* File extension of a format ("jpg", "png", "webp", "bin"). */
const char *shard_image_ext(uint8_t format);

/* The uid of a pair: XXH3-128 of source (the image URL, or the file path for packed files), a NUL,
 * then caption. The same image with the same caption is the same pair, whichever command stored
 * it. CC_E_NOMEM. */
cc_status shard_pair_uid(const char *source, const char *caption, uint8_t uid[16]);

/* ---- record codec -------------------------------------------------------------------------- */

/* Encodes and decodes record values (the bytes stored under each index key). Metadata is zstd-
 * compressed, optionally with a per-shard dictionary; image bytes are stored as they are (they are
 * already compressed). Each value carries an XXH3-64 checksum of everything after its header.
 * A codec is used by one thread at a time. */
typedef struct shard_codec shard_codec;

cc_status shard_codec_new(int zstd_level, shard_codec **out);
void shard_codec_free(shard_codec *c); /* accepts NULL */
/* Sets (len > 0) or clears (len == 0) the dictionary used for both directions. The bytes are
 * copied. */
cc_status shard_codec_set_dict(shard_codec *c, const void *dict, size_t len);
/* Appends the encoded value of r to out (out is reset first; may reallocate). use_dict selects
 * the dictionary codec when one is set. CC_E_LIMIT when a field exceeds its SHARD_MAX_*. */
cc_status shard_codec_encode(shard_codec *c, const shard_record *r, int use_dict, cc_buf *out);
/* Decodes a value into out. Never trusts the bytes: bad magic, version, lengths, checksum or
 * zstd frames give CC_E_FORMAT / CC_E_VERSION / CC_E_CHECKSUM / CC_E_COMPRESS. out->image points
 * into val. */
cc_status shard_codec_decode(shard_codec *c, const void *val, size_t len, shard_record *out);
/* on = 0 skips the value checksum in decode (every other check stays): for values whose bytes
 * were already verified, e.g. by the whole-file checksum of a sealed shard. Default 1. */
void shard_codec_check_values(shard_codec *c, int on);
/* Raw metadata of the last encode, used to train a dictionary. */
const cc_buf *shard_codec_last_meta(const shard_codec *c);

/* ---- manifest ------------------------------------------------------------------------------ */

#define SHARD_MANIFEST_NAME "manifest.tsv"
#define SHARD_NAME_MAX 64

typedef struct shard_manifest_entry {
    char name[SHARD_NAME_MAX]; /* "shard-000003.lmdb", relative to the manifest's directory */
    uint64_t count; /* pairs in the shard */
    uint64_t bytes; /* file size */
    cc_hash128 checksum; /* XXH3-128 of the whole file */
    int64_t sealed_at; /* Unix seconds */
} shard_manifest_entry;

typedef struct shard_manifest {
    char dir[4096]; /* directory that holds the manifest and its shards */
    shard_manifest_entry *entries;
    size_t n;
} shard_manifest;

/* Loads DIR/manifest.tsv, or the manifest file itself when path_or_dir names a file. A torn last
 * line (no newline, from a crash while appending) is ignored; any other malformed line is
 * CC_E_FORMAT naming the line. Missing manifest: CC_E_NOTFOUND. */
cc_status shard_manifest_load(const char *path_or_dir, shard_manifest **out);
void shard_manifest_free(shard_manifest *m); /* accepts NULL */
/* Full path of an entry's shard file. */
cc_status shard_manifest_shard_path(const shard_manifest *m, size_t i, char *out, size_t cap);
/* Sum of counts. */
uint64_t shard_manifest_total(const shard_manifest *m);

/* ---- writer -------------------------------------------------------------------------------- */

typedef struct shard_writer_opts {
    uint64_t max_pairs; /* pairs per shard before it is sealed (default 10000) */
    uint64_t max_bytes; /* LMDB map size = the most bytes one shard file may take (1 GiB) */
    uint32_t batch_pairs; /* pairs per write transaction when committing automatically (256) */
    uint64_t batch_bytes; /* or this many encoded bytes, whichever comes first (64 MiB) */
    int zstd_level; /* metadata compression level (3) */
    uint32_t
        dict_samples; /* train a per-shard zstd dictionary after this many records; 0 = never */
    uint32_t dict_size; /* dictionary capacity in bytes (16384) */
    /* 1 (default): roll to the next shard when the size estimate says the map is about to fill;
     * 0: only on MDB_MAP_FULL, which replays the pending batch record by record (slower; for
     * tests of that path). */
    int roll_early;
} shard_writer_opts;

void shard_writer_opts_default(shard_writer_opts *o);

typedef struct shard_writer shard_writer;

/* Opens (creating if needed) the run directory dir for writing and takes its lock (CC_E_BUSY if
 * another process holds it). Resumes where a previous writer stopped, crashed or not: an unsealed
 * shard keeps its committed records and is appended to; a seal that did not reach the manifest is
 * redone; leftovers of an interrupted seal are removed. */
cc_status shard_writer_open(const char *dir, const shard_writer_opts *opts, shard_writer **out);
/* Adds a pair to the current write transaction. Commits automatically every batch_pairs /
 * batch_bytes; seals the shard and starts the next one when max_pairs is reached or the shard's
 * map is full (the pending batch moves to the next shard: no error reaches the caller).
 * CC_E_EXISTS if the uid is already in the current shard (the record is not added);
 * CC_E_LIMIT if the record can never fit a shard of max_bytes. */
cc_status shard_writer_add(shard_writer *w, const shard_record *r);
/* Makes every added pair durable (one LMDB commit with fsync). */
cc_status shard_writer_commit(shard_writer *w);
/* Commits, then seals the current shard if it holds any pair. */
cc_status shard_writer_seal(shard_writer *w);
/* Drops the pairs added since the last commit. */
void shard_writer_abort(shard_writer *w);
/* Pairs durable in this run: sealed shards plus the committed part of the open shard. */
uint64_t shard_writer_committed(const shard_writer *w);
/* The uid of the last committed pair of the run (in the open shard, else in the last sealed
 * shard, whose checksum is checked). CC_E_NOTFOUND when the run holds no pair. Lets a resuming
 * producer check that the run really holds what it is about to skip. */
cc_status shard_writer_last_uid(shard_writer *w, uint8_t uid[16]);
/* Calls fn for every committed pair of the run, sealed shards first (manifest order, each
 * checked against its manifest checksum when opened) then the open shard, in index order. The
 * record is valid only during the call. fn returning nonzero stops the scan (CC_OK is returned).
 * Lets a resuming producer rebuild its dedupe state from the run itself (the shards are the
 * truth). CC_E_INVAL with an uncommitted batch; reader and LMDB errors. */
typedef int (*shard_writer_scan_fn)(void *ctx, const shard_record *r);
cc_status shard_writer_scan(shard_writer *w, shard_writer_scan_fn fn, void *ctx);
/* Commits; seals the open shard if seal is nonzero; releases everything (also on error).
 * Accepts NULL. */
cc_status shard_writer_close(shard_writer *w, int seal);

/* ---- reader -------------------------------------------------------------------------------- */

typedef struct shard_reader shard_reader;
typedef struct shard_view shard_view;

/* Opens a sealed shard read-only. When expect is given (the normal case), the file's size and
 * XXH3-128 must match it before LMDB maps the file: a changed, truncated or bit-flipped file is
 * CC_E_CHECKSUM. expect == NULL skips the check (for files you trust). */
cc_status shard_reader_open(const char *path, const shard_manifest_entry *expect,
                            shard_reader **out);
void shard_reader_close(shard_reader *r); /* accepts NULL; all views must be closed first */
uint64_t shard_reader_count(const shard_reader *r);

/* A view is one reader's window for one thread at a time (an LMDB read transaction plus decode
 * scratch). Any number of views may be open on one reader in parallel threads. */
cc_status shard_view_open(shard_reader *r, shard_view **out);
void shard_view_close(shard_view *v); /* accepts NULL */
/* Record at index (0 ≤ index < count). CC_E_NOTFOUND past the end; corrupt values are
 * CC_E_FORMAT / CC_E_CHECKSUM naming the index. */
cc_status shard_view_get(shard_view *v, uint64_t index, shard_record *out);
/* Scans in index order with an LMDB cursor (no B-tree descent per record). shard_view_seek
 * positions the scan before record index (0 at first); each shard_view_next decodes the next
 * record into out (same lifetime rules as shard_view_get) and its index into *index;
 * CC_E_NOTFOUND after the last. shard_view_get does not move the scan. */
cc_status shard_view_seek(shard_view *v, uint64_t index);
cc_status shard_view_next(shard_view *v, uint64_t *index, shard_record *out);
/* Index of the record with this uid, CC_E_NOTFOUND if none. */
cc_status shard_view_find(shard_view *v, const uint8_t uid[16], uint64_t *index);
/* Whether shard_view_get re-hashes each value against its own checksum. Default: off when the
 * reader was opened with a manifest entry (the whole file's checksum was verified at open, so a
 * second pass over every image would only cost time), on otherwise. shard_verify turns it on. */
void shard_view_check_values(shard_view *v, int on);

/* Called for every record of a walk; return 0 to go on, nonzero to stop the walk. */
typedef int (*shard_walk_fn)(void *ctx, const shard_manifest_entry *e, uint64_t index,
                             const shard_record *r);
/* Calls fn for every record of every shard of m, in manifest and index order (each shard opened
 * against its manifest entry, then one cursor scan). *stopped (may be NULL) gets fn's nonzero
 * return when it stopped the walk, else 0. CC_OK when the walk ended or fn stopped it; shard
 * errors as shard_reader_open and shard_view_next, and CC_E_FORMAT naming a record missing from
 * the index sequence. */
cc_status shard_manifest_walk(const shard_manifest *m, shard_walk_fn fn, void *ctx, int *stopped);

/* ---- verify -------------------------------------------------------------------------------- */

/* Called for each record that decoded cleanly; return nonzero (with a message in msg) to report
 * the record as bad (e.g. its image does not parse). */
typedef int (*shard_verify_fn)(void *ctx, const shard_record *r, char *msg, size_t msg_cap);
/* Called for every problem found: shard name, record index (UINT64_MAX for the whole shard) and
 * what is wrong. */
typedef void (*shard_problem_fn)(void *ctx, const char *shard, uint64_t index, const char *what);

typedef struct shard_verify_report {
    uint64_t shards, records, bad_shards, bad_records;
} shard_verify_report;

/* Checks every shard of m: checksum and size, then decodes every record, checks the uid table
 * against the records and the count against the manifest. Problems go to on_problem; the report
 * sums them. Returns CC_OK when the check ran (whatever it found); errors only for I/O failures
 * unrelated to shard contents. */
cc_status shard_verify(const shard_manifest *m, shard_verify_fn on_record,
                       shard_problem_fn on_problem, void *ctx, shard_verify_report *rep);

/* ---- export -------------------------------------------------------------------------------- */

typedef struct shard_export_stats {
    uint64_t shards; /* tar files written */
    uint64_t records; /* pairs exported */
    uint64_t bytes; /* total size of the tar files */
} shard_export_stats;

/* Writes one tar per shard (OUT/shard-NNNNNN.tar) in the webdataset layout: KEY.jpg|png|webp
 * (image bytes), KEY.txt (caption), KEY.json (every other field), KEY = the uid in hex. Each tar
 * is written to a temporary name and renamed when complete. */
cc_status shard_export_webdataset(const shard_manifest *m, const char *outdir,
                                  shard_export_stats *stats);

#endif
