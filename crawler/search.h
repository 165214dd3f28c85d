/* crawler/search.h — the `search` source: a search API queried once per query, page by page.
 *
 * A search spec says how to ask an API for one page of results (a URL template) and how to read
 * the JSON it answers (where the result list is, which fields give the image URL, the text, the
 * landing page, the size and the license, and how paging ends). This module builds page URLs and
 * parses answers; it does no network I/O: the pipeline fetches each URL with the fetch engine
 * (crawler/fetch.h), hands the body to search_parse, and follows the cursor it gives back until
 * the page says "end". docs/SEARCH.md has the spec file format and the presets in full.
 *
 * Specs. Three presets, each a complete spec written in the spec file format below:
 *   "fixture"    the fixture web's API (docs/FIXTURE_WEB.md): GET /api/search?q=Q&page=N, a
 *                relative template (set the served site with search_spec_set_base), 10 per page,
 *                text "title", paging until "next" is null;
 *   "openverse"  https://api.openverse.org/v1/images/?q=Q&page=N&page_size=20: results
 *                "results", image "url", text "title", page "foreign_landing_url", license
 *                "license" + "license_version", paging until "page_count";
 *   "wikimedia"  Wikimedia Commons' generator=search + imageinfo query, 50 per page: results the
 *                values of "query"."pages" ordered by their "index", text the file title (the
 *                "File:" prefix and extension dropped, '_' read as ' ') else the description
 *                (HTML stripped), image/page/size from imageinfo[0], license
 *                extmetadata.LicenseShortName, paging by the offset in "continue"."gsroffset".
 * A spec file is UTF-8 text, at most SEARCH_SPEC_MAX_BYTES, of "key = value" lines ('#' starts a
 * comment line, blank lines are ignored, spaces around key and value are dropped):
 *   preset = NAME          start from a preset (first key only), the keys below override it
 *   name = NAME            [A-Za-z0-9_-], at most 63 bytes, for messages     (default: the file)
 *   template = URL         absolute http(s) URL, or a root-relative "/path?..." (then a base is
 *                          needed); placeholders {query} (required), {page}, {per_page},
 *                          {offset}, {token}; any other '{' or '}' is an error
 *   base = URL             the base of a relative template (as search_spec_set_base)
 *   per_page = N           1 .. SEARCH_PER_PAGE_MAX, the page size asked for / given    (20)
 *   max_pages = N          1 .. SEARCH_MAX_PAGES_LIMIT, pages fetched per query at most (1000)
 *   results = PATH         where the result list is: an array, or an object's values with a
 *                          last segment "*" ("query.pages.*"); "*" alone is the root's values
 *   missing_results = error | empty   a missing result list is CC_E_FORMAT (default) or an
 *                          empty page (Wikimedia leaves "query" out when nothing matches)
 *   image = FIELD          required; the image URL
 *   text = FIELD           required; the text
 *   page = FIELD, width = FIELD, height = FIELD, license = FIELD      optional
 *   next = MODE            how paging ends (default "empty"), see search_end
 *                            empty          every page but an empty one has a next page
 *                            PATH or present=PATH   a next page while PATH is present and not
 *                                           null, false, "", [] or {}
 *                            total=PATH     while offset + per_page < the total count at PATH
 *                            pages=PATH     while page < the page count at PATH
 *                            offset=PATH    the next page's {offset} is the number at PATH
 *                            token=PATH     the next page's {token} is the string at PATH
 *   order = PATH           sort the results by the number at PATH (ascending; results without
 *                          one last, the answer's order kept among equals)
 *   error = PATH           when PATH is present and not null, the answer is an API error
 * PATH is a dotted path into the JSON, "a.b.0.c": a segment of digits indexes an array (or is an
 * object key when the value there is an object); '\' escapes the next character ("a\.b" is the
 * key "a.b"); at most SEARCH_PATH_SEGMENTS segments and 255 bytes. FIELD is one PATH, or several
 * separated by '|' (the first present, usable value wins) or by '+' (all present values joined:
 * texts with ". " — or " " after a sentence end —, licenses with " "; only text and license may
 * join), at most SEARCH_FIELD_PATHS. A text or license PATH may end in a transform: "@html"
 * (tags removed — a space for each tag that is not inline —, comments dropped, entities
 * &amp; &lt; &gt; &quot; &apos; &nbsp; and numeric ones decoded) or "@file" (a "File:" or
 * "Image:" prefix and the last extension dropped, '_' read as ' ').
 * Errors of a spec file name the file and the line: "my.spec:4: unknown key 'temlate'".
 *
 * URLs. search_page_url expands the template: {query} percent-encoded byte by byte (RFC 3986
 * unreserved characters A-Z a-z 0-9 - . _ ~ kept, everything else, space included, as %XX:
 * "red+fox & co" is "red%2Bfox%20%26%20co"), {page} 1-based, {per_page}, {offset} 0-based (the
 * cursor's offset: (page - 1) * per_page unless the API gave the next offset), {token} the
 * cursor's token percent-encoded ("" on the first page). The result is resolved against the base
 * (relative templates) and normalized (crawler/url.h): canonical, at most URL_MAX - 1 bytes.
 *
 * Answers. search_parse reads one answer (JSON through jansson, after a size check; numbers read
 * as doubles, so an id beyond 64 bits does not fail the answer and numbers are exact up to 2^53)
 * and gives back its usable results, in order, each with:
 *   image_url  the first present image field, resolved against the API page URL (relative,
 *              root-relative, protocol-relative "//host/x" and absolute references) to the
 *              canonical form of crawler/url.h;
 *   text       the text field(s), each text_normalize'd (filters/text.h) after its transform;
 *              empty values are skipped; longer than max_text bytes: cut at the last UTF-8
 *              character boundary at or before max_text, trailing spaces dropped (text_cut);
 *   page_url   resolved likewise, NULL when absent or when it does not resolve (bad_page_url);
 *   width, height  a JSON integer, an integral real or a string of digits, 1 .. 1,000,000;
 *              0 when absent, null or 0;
 *   license    the license field(s), normalized, at most SEARCH_LICENSE_MAX - 1 bytes (cut at a
 *              character boundary), NULL when absent.
 * A result is skipped, and counted by reason (search_skip), when it is not an object, has no
 * image URL, a data: URL, an URL that does not resolve, an .svg/.svgz/.gif/.ico path (query
 * ignored, case-insensitive), no text, or the image URL and text of an earlier result of the
 * page (the same image with another text is another pair, as in crawler/extract.h). A
 * field of the wrong type (a number where a string is expected, an object where a number is,
 * a size out of range) is ignored and counted (search_stats.bad_type) — for image and text the
 * result then has none and is skipped as no_image / no_text.
 *
 * Paging. Whatever the mode, an answer with an empty result list ends the query, and so does
 * reaching the spec's max_pages. Otherwise the mode decides (see search_end); an answer whose
 * paging field is missing or unusable ends the query as bad_paging, so that a broken API costs
 * one page, not max_pages.
 *
 * Bounded cost: an answer over max_bytes is CC_E_LIMIT before parsing; nesting deeper than
 * jansson's 2048 levels is CC_E_FORMAT; at most max_results entries of the list are read (the
 * rest are counted as result_limit); raw texts are read up to 16 * max_text + 4096 bytes.
 * Memory: the parsed JSON (a few times the answer's size) while parsing, then about
 * max_results * (2 * URL_MAX + max_text + SEARCH_LICENSE_MAX) bytes at most for the results.
 *
 * Thread safety: a spec is read-only once loaded and based (search_spec_set_base must not run
 * while other threads use the spec); search_page_url and search_parse are reentrant and may share
 * a spec; a page is read-only after search_parse and may be read from several threads.
 */
#ifndef CC_SEARCH_H
#define CC_SEARCH_H

#include <stddef.h>
#include <stdint.h>

#include "common/status.h"

#define SEARCH_SPEC_MAX_BYTES 65536 /* longest spec file */
#define SEARCH_PER_PAGE_MAX 1000 /* largest per_page */
#define SEARCH_MAX_PAGES_LIMIT 1000000 /* largest max_pages */
#define SEARCH_PATH_SEGMENTS 16 /* segments of one PATH */
#define SEARCH_FIELD_PATHS 8 /* PATHs of one FIELD */
#define SEARCH_TOKEN_MAX 201 /* cursor token, including the NUL: printable ASCII, no space */
#define SEARCH_CURSOR_STR_MAX 256 /* search_cursor_format's output, including the NUL */
#define SEARCH_LICENSE_MAX 256 /* license string, including the NUL */
#define SEARCH_RESULTS_LIMIT 100000 /* largest max_results */

/* A search spec. Opaque; create with search_spec_preset / search_spec_load / search_spec_parse,
 * free with search_spec_free. */
typedef struct search_spec search_spec;

/* The preset named name ("fixture", "openverse", "wikimedia"). *out receives a spec the caller
 * frees. CC_E_NOTFOUND for an unknown name (the message lists the known ones), CC_E_NOMEM. */
cc_status search_spec_preset(const char *name, search_spec **out);

/* Names of the presets, in a static NULL-terminated array. */
const char *const *search_spec_preset_names(void);

/* Reads a spec file (format above). *out receives a spec the caller frees; *out is NULL on
 * failure. CC_E_NOTFOUND / CC_E_IO (the file), CC_E_LIMIT (over SEARCH_SPEC_MAX_BYTES),
 * CC_E_FORMAT (syntax, unknown or repeated key, bad value, missing key: "PATH:LINE: what"),
 * CC_E_NOMEM. */
cc_status search_spec_load(const char *path, search_spec **out);

/* The same on the len bytes at text; origin names it in messages (e.g. "<inline>"). */
cc_status search_spec_parse(const char *text, size_t len, const char *origin, search_spec **out);

/* Frees a spec. Accepts NULL. */
void search_spec_free(search_spec *s);

/* Sets the base URL a relative template is resolved against ("http://127.0.0.1:8080" for the
 * fixture web; a path in it is replaced by the template's). For an absolute template it has no
 * effect. CC_E_INVAL (NULL), CC_E_FORMAT / CC_E_UNSUPPORTED / CC_E_LIMIT (as url_normalize). */
cc_status search_spec_set_base(search_spec *s, const char *base_url);

/* The spec's name ("openverse", or the file's "name", or its origin); valid until freed. */
const char *search_spec_name(const search_spec *s);
/* per_page and max_pages of the spec. */
unsigned search_spec_per_page(const search_spec *s);
unsigned search_spec_max_pages(const search_spec *s);
/* 1 when the template is relative and no base is set yet (search_page_url would fail). */
int search_spec_needs_base(const search_spec *s);

/* Where a query is in its pages. A plain value: copy it, keep it per query. */
typedef struct search_cursor {
    uint32_t page; /* 1-based number of the page to fetch next */
    uint64_t offset; /* 0-based offset of that page's first result ({offset}) */
    char token[SEARCH_TOKEN_MAX]; /* {token}: "" until an answer gives one */
    int done; /* 1 when the query has no more pages */
} search_cursor;

/* The cursor of a query's first page: page 1, offset 0, no token, not done. */
void search_cursor_init(search_cursor *c);

/* Writes the cursor as a short string for the coordinator's unit cursor (crawler/coord.h):
 * "PAGE OFFSET" or "PAGE OFFSET TOKEN", or "end" when done; always under SEARCH_CURSOR_STR_MAX
 * bytes. CC_E_LIMIT when cap is too small, CC_E_INVAL for a cursor that is not valid. */
cc_status search_cursor_format(const search_cursor *c, char *out, size_t cap);
/* Reads what search_cursor_format wrote back into *c. CC_E_FORMAT otherwise. */
cc_status search_cursor_parse(const char *s, search_cursor *c);

/* Writes the URL of the page at cur for query (UTF-8, non-empty) into out (cap bytes).
 * CC_E_INVAL (NULL or empty arguments, a done cursor, a relative template without a base),
 * CC_E_LIMIT (longer than URL_MAX - 1 bytes, or cap too small), CC_E_FORMAT (the expanded
 * template is not a URL). Reentrant. */
cc_status search_page_url(const search_spec *s, const char *query, const search_cursor *cur,
                          char *out, size_t cap);

/* Caps on the cost of one answer; defaults in search_limits_default. */
typedef struct search_limits {
    size_t max_bytes; /* 4 MiB, 1 .. 1 GiB: a longer answer is CC_E_LIMIT */
    size_t max_results; /* 1000 entries of the result list read, 0 .. SEARCH_RESULTS_LIMIT */
    size_t max_text; /* 2000 bytes per text, 1 .. 1 MiB; longer is cut */
} search_limits;

/* Sets *lim to the defaults above. */
void search_limits_default(search_limits *lim);

/* One result. Strings are owned by the page, NUL-terminated, valid until search_page_free. */
typedef struct search_result {
    const char *image_url; /* absolute, canonical http(s) URL */
    const char *text; /* normalized, valid UTF-8, 1 .. max_text bytes */
    const char *page_url; /* absolute, canonical, or NULL */
    const char *license; /* normalized, or NULL */
    int width, height; /* 0 when unknown */
    size_t index; /* position of the entry in the (ordered) result list, from 0 */
} search_result;

/* Why an entry of the result list was not given back. */
typedef enum search_skip {
    SEARCH_SKIP_NOT_OBJECT, /* "not_object": the entry is not a JSON object */
    SEARCH_SKIP_NO_IMAGE, /* "no_image": no image field, null, "" or not a string */
    SEARCH_SKIP_DATA_URL, /* "data_url": the image URL is a data: URL */
    SEARCH_SKIP_UNSUPPORTED, /* "unsupported": another scheme than http(s), or user info */
    SEARCH_SKIP_BAD_URL, /* "bad_url": the image URL does not resolve (no host, too long...) */
    SEARCH_SKIP_SVG, /* "svg": an .svg / .svgz path */
    SEARCH_SKIP_GIF, /* "gif": a .gif path */
    SEARCH_SKIP_ICO, /* "ico": an .ico path */
    SEARCH_SKIP_NO_TEXT, /* "no_text": no text field gives a non-empty normalized text */
    SEARCH_SKIP_DUPLICATE, /* "duplicate": image URL and text of an earlier result of the page */
    SEARCH_SKIP_RESULT_LIMIT, /* "result_limit": an entry past max_results */
    SEARCH_SKIP_COUNT
} search_skip;

/* Stable snake_case name of a reason (in quotes above); "unknown" when out of range. */
const char *search_skip_name(search_skip r);

/* The fields of a result, for search_stats.bad_type. */
typedef enum search_field {
    SEARCH_FIELD_IMAGE, /* "image" */
    SEARCH_FIELD_TEXT, /* "text" */
    SEARCH_FIELD_PAGE, /* "page" */
    SEARCH_FIELD_WIDTH, /* "width" */
    SEARCH_FIELD_HEIGHT, /* "height" */
    SEARCH_FIELD_LICENSE, /* "license" */
    SEARCH_FIELD_COUNT
} search_field;

/* The name of a field (its spec key, in quotes above); "unknown" when out of range. */
const char *search_field_name(search_field f);

/* Whether an answer has a next page, and why not. */
typedef enum search_end {
    SEARCH_MORE = 0, /* "more": fetch the next cursor */
    SEARCH_END_EMPTY, /* "empty": the result list was empty (or missing, missing_results=empty) */
    SEARCH_END_LAST, /* "last": the answer says it is the last page: next field absent or
                        null, page >= page count, offset + per_page >= total, no offset or token */
    SEARCH_END_BAD_PAGING, /* "bad_paging": the paging field is unusable: total or page count
                              missing or not a number, an offset not past the current one, a
                              token equal to the current one, too long or not printable ASCII */
    SEARCH_END_MAX_PAGES, /* "max_pages": the next page would be past the spec's max_pages */
    SEARCH_END_COUNT
} search_end;

/* Stable snake_case name of an end (in quotes above); "unknown" when out of range. */
const char *search_end_name(search_end e);

/* What one search_parse call saw. entries == kept + the sum of skipped. */
typedef struct search_stats {
    size_t entries; /* entries in the result list */
    size_t kept; /* results given back */
    size_t skipped[SEARCH_SKIP_COUNT]; /* by reason */
    size_t bad_type[SEARCH_FIELD_COUNT]; /* results whose field had a wrong type or value */
    size_t bad_page_url; /* kept results whose landing page URL did not resolve */
    size_t text_cut; /* texts cut to max_text */
} search_stats;

/* One parsed answer. Opaque; owns its strings. */
typedef struct search_page search_page;

/* Parses the len bytes at json, the answer to the page at cur, fetched from page_url (the
 * absolute URL search_page_url gave; relative URLs in the answer resolve against it). lim may be
 * NULL (defaults). On success *out receives a page the caller frees with search_page_free; on
 * failure *out is NULL and cc_errmsg() says why. Returns CC_E_INVAL (NULL arguments, a done
 * cursor, a limit out of range), CC_E_LIMIT (len > max_bytes), CC_E_FORMAT / CC_E_UNSUPPORTED /
 * CC_E_LIMIT (page_url, as url_normalize), CC_E_FORMAT (malformed JSON, with jansson's line,
 * column and message; no result list at the results path, naming it; a result list of the
 * wrong type; an API error, with the error's text), CC_E_NOMEM. Reentrant. */
cc_status search_parse(const search_spec *s, const search_cursor *cur, const char *page_url,
                       const uint8_t *json, size_t len, const search_limits *lim,
                       search_page **out);

/* Number of results, and result i (NULL when i >= search_page_count). */
size_t search_page_count(const search_page *p);
const search_result *search_page_at(const search_page *p, size_t i);

/* The cursor of the next page (done set when the query ends) and why it ends. */
const search_cursor *search_page_next(const search_page *p);
search_end search_page_end(const search_page *p);

/* Counters of what was seen and skipped. */
const search_stats *search_page_stats(const search_page *p);

/* Frees a page and its strings. Accepts NULL. */
void search_page_free(search_page *p);

#endif
