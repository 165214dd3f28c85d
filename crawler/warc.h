/* crawler/warc.h — reading WARC and WAT files from disk (the crawler's `warc` source).
 *
 * Input. One WARC file (ISO 28500, WARC/1.0 and WARC/1.1), in one of three layouts, told apart
 * by its first bytes, never by its name:
 *   - gzip (1f 8b): one member per record as Common Crawl writes .warc.gz / .wat.gz, or one gzip
 *     stream holding many records; members are read one after another as one byte stream;
 *   - zstd (28 b5 2f fd): one frame per record (.warc.zst) or one frame for many; a file that
 *     starts with the WARC-zstd dictionary frame (skippable magic 0x184D2A5D), or frames that need
 *     a dictionary, are CC_E_UNSUPPORTED; other skippable frames are skipped;
 *   - plain, uncompressed records.
 * bzip2 and xz files are CC_E_UNSUPPORTED. docs/WARC.md has the details.
 *
 * Records. Each record is a version line ("WARC/1.0" or "WARC/1.1"; another "WARC/x.y" is
 * CC_E_VERSION), header lines "Name: value" (names case-insensitive, continuation lines joined
 * with one space, CRLF or bare LF), an empty line, Content-Length bytes of block, then CRLF CRLF
 * (also accepted: LF LF; at the end of the file, a beginning of CRLF CRLF or nothing; nothing when
 * the next gzip member or zstd frame starts right after the block).
 * Content-Length is the only header the reader requires. Blocks of Content-Type application/http
 * (response, request and revisit records) are also parsed as an HTTP message: status, headers and
 * payload (see warc_record).
 *
 * Payloads are given as stored: a chunked transfer coding still present is removed (Common Crawl
 * already stores payloads without it), but no content coding (gzip, br) is undone; look at
 * warc_http_header(rec, "Content-Encoding") before using the bytes.
 *
 * Limits (warc_limits). Whatever the input, a reader holds at most max_header + max_block + 1 MiB
 * of decompressed bytes, plus max_block for a de-chunked payload, 2 × max_header of header
 * strings and a zstd window of at most 128 MiB: blocks over max_block are skipped (counted in
 * stats, not an error) by decompressing and discarding Content-Length bytes in 128 KiB pieces, so
 * a gzip or zstd bomb costs time, never memory; a Content-Length over max_skip is an error, which
 * bounds the time one record can take.
 *
 * Errors and recovery. Malformed input is CC_E_FORMAT (or CC_E_LIMIT, CC_E_VERSION) with the
 * file offset in cc_errmsg(): a bad version line, a missing or bad Content-Length, a block not
 * followed by CRLF CRLF (a wrong Content-Length), a Content-Length past the end of the file or
 * running from the record's own gzip member into the next one that starts a record,
 * garbage between records, a corrupt or truncated gzip member or zstd frame, bytes after a member
 * that are not another member. The reader stays usable: the next warc_reader_next continues at
 * the next record it can find — after a damaged gzip member or zstd frame at the next member or
 * frame magic in the compressed bytes, otherwise at the next line that starts with "WARC/1."
 * (or a member that does) after the start of the bad record — so a caller may log the error and
 * go on, or stop.
 *
 * Threads: a reader belongs to one thread at a time; readers are independent. The WAT parser is
 * reentrant.
 */
#ifndef CC_WARC_H
#define CC_WARC_H

#include <stddef.h>
#include <stdint.h>

#include "common/status.h"

/* ---- limits and statistics ----------------------------------------------------------------- */

typedef struct warc_limits {
    size_t max_block; /* largest block returned; larger records are skipped (64 MiB) */
    uint64_t max_skip; /* largest Content-Length skipped; beyond it an error (4 GiB) */
    size_t max_header; /* bytes of a WARC header, version line to empty line (64 KiB) */
    size_t max_header_lines; /* header lines of a WARC header or HTTP head (1000) */
    size_t max_http_header; /* bytes of an HTTP head, status line to empty line (64 KiB) */
    size_t max_json; /* largest WAT JSON block warc_wat_links parses (8 MiB) */
} warc_limits;

/* Fills l with the defaults above. */
void warc_limits_default(warc_limits *l);

/* WARC-Type values. */
typedef enum warc_type {
    WARC_WARCINFO = 0,
    WARC_RESPONSE,
    WARC_RESOURCE,
    WARC_REQUEST,
    WARC_METADATA,
    WARC_REVISIT,
    WARC_CONVERSION,
    WARC_CONTINUATION,
    WARC_OTHER, /* missing or another value (the text is in warc_record.type_name) */
    WARC_TYPE_COUNT
} warc_type;

/* "warcinfo", "response", ..., "other"; "unknown" when out of range. */
const char *warc_type_name(warc_type t);

/* Why records were not returned. */
typedef enum warc_skip {
    WARC_SKIP_TOO_LARGE = 0, /* block over max_block: skipped, not an error */
    WARC_SKIP_MALFORMED, /* a bad header, wrong Content-Length or garbage: an error was returned */
    WARC_SKIP_TRUNCATED, /* the file ends inside the record: an error was returned */
    WARC_SKIP_CORRUPT, /* a damaged gzip member or zstd frame: an error was returned */
    WARC_SKIP_COUNT
} warc_skip;

/* "too_large", "malformed", "truncated", "corrupt"; "unknown" when out of range. */
const char *warc_skip_name(warc_skip s);

typedef struct warc_stats {
    uint64_t records; /* records returned by warc_reader_next */
    uint64_t by_type[WARC_TYPE_COUNT]; /* of those, by WARC-Type */
    uint64_t skipped[WARC_SKIP_COUNT]; /* records or regions not returned, by reason */
    uint64_t skipped_bytes; /* decompressed bytes passed over (skipped blocks, garbage) */
    uint64_t http_bad; /* application/http blocks whose HTTP head did not parse */
    uint64_t dechunk_failed; /* chunked payloads that did not de-chunk (given as stored) */
    uint64_t members; /* gzip members or zstd frames begun */
    uint64_t bytes_in; /* file bytes consumed (bytes read again after a seek count again) */
    uint64_t bytes_out; /* decompressed bytes produced (plain: equal to bytes_in) */
} warc_stats;

/* ---- records ------------------------------------------------------------------------------- */

/* One header line, name and value NUL-terminated (value trimmed, continuation lines joined). */
typedef struct warc_field {
    const char *name;
    const char *value;
} warc_field;

/* What the HTTP parse of a block found. */
typedef enum warc_http_state {
    WARC_HTTP_NONE = 0, /* the block is not application/http */
    WARC_HTTP_OK, /* parsed: http_* fields and payload are set */
    WARC_HTTP_BAD, /* application/http that did not parse (http_error says why) */
} warc_http_state;

/* A record as returned by warc_reader_next. Every pointer points into the reader's memory and is
 * valid until the next warc_reader_next, warc_reader_seek or warc_reader_close on that reader.
 * Strings are NUL-terminated and never NULL ("" when absent). */
typedef struct warc_record {
    char version[9]; /* "WARC/1.0" or "WARC/1.1" */
    warc_type type;
    const char *type_name; /* WARC-Type as written */
    const char *target_uri; /* WARC-Target-URI, surrounding '<' '>' removed (WARC/1.0 style) */
    const char *date; /* WARC-Date as written */
    const char *record_id; /* WARC-Record-ID as written ("<urn:uuid:…>") */
    const char *content_type; /* Content-Type of the block */
    uint64_t offset; /* this record's cursor, as warc_reader_offset gives it */
    const warc_field *fields; /* every WARC header line, in order */
    size_t n_fields;
    const uint8_t *block; /* the block; block_len == Content-Length */
    size_t block_len;

    /* application/http blocks (response, request, revisit records) */
    warc_http_state http;
    const char *http_error; /* why http == WARC_HTTP_BAD, else "" */
    const char *http_line; /* status line ("HTTP/1.1 200 OK") or request line, without CRLF */
    int http_status; /* status code of a response (100–999); 0 for a request */
    const warc_field *http_fields; /* the HTTP header lines, in order */
    size_t n_http_fields;
    const uint8_t *payload; /* body after the HTTP head, de-chunked when it was chunked */
    size_t payload_len;
    int payload_dechunked; /* 1 when a chunked transfer coding was removed */
} warc_record;

/* The value of the first WARC header named name (case-insensitive), or NULL when absent. */
const char *warc_header(const warc_record *rec, const char *name);
/* The value of the first HTTP header named name (case-insensitive), or NULL when absent or when
 * rec->http != WARC_HTTP_OK. */
const char *warc_http_header(const warc_record *rec, const char *name);

/* ---- reader -------------------------------------------------------------------------------- */

typedef struct warc_reader warc_reader;

/* Cursors (warc_reader_offset, warc_record.offset) are uint64 values that warc_reader_seek
 * accepts. For a plain file, and for a record that starts a gzip member or zstd frame (Common
 * Crawl's layout), the cursor is the record's byte offset in the file. For a record inside a
 * member (a file that is one gzip stream or one zstd frame), it is WARC_CURSOR_STREAM | the
 * record's offset in the decompressed stream; seeking there decompresses from the start of the
 * file and discards up to it (cost proportional to the offset). */
#define WARC_CURSOR_STREAM ((uint64_t)1 << 63)

/* Opens the WARC file at path (layout detected from its first bytes; an empty file holds no
 * records). lim may be NULL for the defaults; it is copied. CC_E_NOTFOUND (no such file),
 * CC_E_IO, CC_E_NOMEM, CC_E_INVAL (a limit of 0, max_header < 16), CC_E_UNSUPPORTED (zstd
 * dictionary, bzip2, xz). The reader owns its memory; close it with warc_reader_close. */
cc_status warc_reader_open(const char *path, const warc_limits *lim, warc_reader **out);

/* The same over len bytes at data, which the caller keeps unchanged and alive until the reader
 * is closed (not copied). name labels error messages (NULL: "<memory>"). */
cc_status warc_reader_open_mem(const void *data, size_t len, const char *name,
                               const warc_limits *lim, warc_reader **out);

/* Reads the next record into *rec (see warc_record for lifetimes). Records over max_block are
 * skipped and counted (WARC_SKIP_TOO_LARGE). Returns CC_OK with a record, CC_E_NOTFOUND at the end
 * of the file, CC_E_FORMAT / CC_E_LIMIT / CC_E_VERSION / CC_E_UNSUPPORTED for malformed input
 * (the message names the file and offset; calling again continues at the next record, see the
 * top of this file), CC_E_IO, CC_E_NOMEM. */
cc_status warc_reader_next(warc_reader *r, warc_record *rec);

/* The cursor of the record last returned by warc_reader_next (after warc_reader_seek, the cursor
 * sought; 0 before the first record). warc_reader_seek(r, c) then warc_reader_next returns that
 * record again. One exception: after a seek to a file offset (or a recovery from a damaged
 * member), a record that shares its gzip member with the record before it gets the cursor of that
 * member, so resuming there re-reads the member's earlier records too (never skips one). */
uint64_t warc_reader_offset(const warc_reader *r);

/* Positions the reader so that the next warc_reader_next reads the record at cursor c (a value
 * from warc_reader_offset or warc_record.offset on a reader of the same file, or 0). A file
 * offset that is not a record start gives CC_E_FORMAT at the next read. CC_E_INVAL when c lies
 * past the end of the file (or of the decompressed stream); CC_E_IO; decompression errors while
 * skipping to a stream cursor. Clears a pending error. */
cc_status warc_reader_seek(warc_reader *r, uint64_t c);

/* Counters since open (seeking does not reset them). */
const warc_stats *warc_reader_stats(const warc_reader *r);

/* Closes the file and frees everything; accepts NULL. */
void warc_reader_close(warc_reader *r);

/* ---- WAT ----------------------------------------------------------------------------------- */

/* Where a link was found (its WAT "path"). */
typedef enum warc_link_kind {
    WARC_LINK_IMG_SRC = 0, /* "IMG@/src" */
    WARC_LINK_IMG_SRCSET, /* one candidate of "IMG@/srcset" (or "IMG@/data-srcset") */
    WARC_LINK_IMG_LAZY, /* a lazy-loading source: "IMG@/data-src", "IMG@/data-lazy-src", … */
    WARC_LINK_A_HREF, /* "A@/href" */
    WARC_LINK_OTHER, /* any other path ("LINK@/href", "SCRIPT@/src", …) */
    WARC_LINK_KIND_COUNT
} warc_link_kind;

/* The page a WAT metadata record describes. Strings are valid during the callback only. */
typedef struct warc_wat_page {
    const char *url; /* Envelope.WARC-Header-Metadata.WARC-Target-URI, else the metadata
                        record's own WARC-Target-URI; "" when neither */
    const char *base; /* the URL links are resolved against: <base href> resolved against url
                         when the page had one, else url (canonical form); "" when none */
    const char *title; /* HTML <title>, "" when absent */
} warc_wat_page;

/* One link of the page. Strings are valid during the callback only; never NULL except resolved. */
typedef struct warc_link {
    warc_link_kind kind;
    const char *path; /* as in the WAT: "IMG@/src" */
    const char *url; /* as written in the page (one srcset candidate for IMG_SRCSET) */
    const char *alt; /* alt attribute, "" when absent */
    const char *title; /* title attribute, "" when absent */
    const char *resolved; /* url resolved against page->base and normalized (crawler/url.h);
                             NULL when it cannot be (no base, data:/javascript:, bad URL) */
} warc_link;

/* Called once per link; return nonzero to stop (warc_wat_links then returns CC_OK). */
typedef int (*warc_link_fn)(void *ctx, const warc_wat_page *page, const warc_link *link);

/* Counts of one warc_wat_links call. */
typedef struct warc_wat_info {
    int has_html; /* 1 when the record described an HTML page (HTML-Metadata was present) */
    size_t links; /* links given to the callback */
    size_t by_kind[WARC_LINK_KIND_COUNT];
    size_t unresolved; /* of those, with resolved == NULL */
    size_t bad_entries; /* Links entries skipped: not an object, no string "url" or "path" */
} warc_wat_info;

/* Parses the JSON block of a WAT metadata record (Envelope → Payload-Metadata →
 * HTTP-Response-Metadata → HTML-Metadata → Links, and Head's Title and Base) and calls fn for
 * each link, in document order. A record that describes no HTML page (a request, a non-HTML
 * response, WAT's own warcinfo-like entries) gives no call and CC_OK. lim may be NULL (defaults;
 * only max_json is used); info may be NULL. CC_E_LIMIT (block over max_json), CC_E_FORMAT (not
 * JSON, naming line and column, or no "Envelope" object), CC_E_NOMEM. Reentrant. */
cc_status warc_wat_links(const warc_record *rec, const warc_limits *lim, warc_link_fn fn, void *ctx,
                         warc_wat_info *info);

#endif
