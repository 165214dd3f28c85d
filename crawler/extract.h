/* crawler/extract.h — candidate (image URL, text) pairs and links from one HTML page.
 *
 * The `web` source (pages fetched from seeds) and the HTML records of WARC files both go through
 * extract_html: bytes and URL of a page in, a read-only result out. Nothing here applies the text
 * rules, fetches, or decides what to keep: the pipeline does (filters/text.h for captions, the
 * image filters for pixels, the meta robots flags for whole pages).
 *
 * Parsing. libxml2's HTML parser in SAX mode (no tree is built, memory does not grow with the
 * page), options HTML_PARSE_RECOVER | HTML_PARSE_NONET | HTML_PARSE_NOERROR |
 * HTML_PARSE_NOWARNING; it never reads a file or the network. HTML_PARSE_NOBLANKS is not used:
 * the blank between "<b>red</b> <i>fox</i>" is part of a caption. Broken HTML is repaired the
 * way libxml2 repairs it (implied html/head/body, unclosed tags closed). Entities are decoded by
 * libxml2, in attributes and text. Encoding: a BOM, else <meta charset> / <meta http-equiv
 * content-type>, else UTF-8 that falls back to ISO-8859-1 at the first invalid byte (libxml2's
 * rule); every string given back is UTF-8. NUL bytes are read as spaces (libxml2 would end the
 * page at the first one), except in pages whose first bytes say UTF-16 or UCS-4.
 *
 * Base URL. The page URL (normalized), replaced by the first <base href> of the document (the
 * HTML rule: first in tree order; it belongs in <head>, and libxml2 may move a misplaced one)
 * resolved against the page URL; a <base> whose href does not resolve is ignored, later <base>
 * elements are ignored. URLs that appear before that <base> in the document resolve against the
 * page URL (in a well-formed page there are none).
 *
 * URLs. Every src, srcset candidate and href is trimmed of HTML whitespace and resolved with
 * url_resolve (crawler/url.h): relative, root-relative, protocol-relative and absolute
 * references; the result is canonical (fragment dropped). A reference of URL_MAX bytes or more is
 * not resolved (bad_url).
 *
 * Images: one <img> gives at most one image URL, chosen among its candidates:
 *   - the srcset candidates of the <source> elements of the enclosing <picture> that precede the
 *     <img> (a <source> whose type is set and is not image/jpeg, image/jpg, image/pjpeg,
 *     image/png or image/webp, the formats the image filters decode, is skipped: source_type);
 *   - the candidates of the img's srcset; when srcset is absent or has only data: candidates,
 *     those of data-srcset, else data-lazy-srcset (lazy loading);
 *   - src as a 1x candidate; when src is absent, empty, a data: URL, fragment-only, or a
 *     placeholder file name (its last path segment, without extension, lower-cased, contains
 *     "spacer", "placeholder", "blank", "transparent", "1x1", "lazy" or "loading", or is one of
 *     "pixel", "clear", "dot", "empty", "px", "trans", "grey", "gray"), the first present of
 *     data-src, data-lazy-src, data-original, data-lazy replaces it.
 *   srcset is parsed as the HTML standard's "parse a srcset attribute" does: a URL runs to the
 *   next whitespace (commas inside it are kept; trailing commas end it and the candidate);
 *   descriptors "<int>w", "<float>x" and "<int>h" (h only with w); a candidate with an invalid,
 *   repeated or conflicting descriptor is dropped; no descriptor means 1x. At most
 *   EXTRACT_MAX_CANDIDATES candidates per <img> are looked at (the picture's first).
 *   Each candidate is resolved and checked (skip reasons below); among the usable ones the
 *   largest wins: any w candidate beats any x candidate, then the largest w, else the largest x;
 *   ties go to the earlier candidate (picture sources, then srcset, then src). When no
 *   candidate is usable the <img> is counted once, under the reason of the candidate that would
 *   have won, or no_url when it has none.
 * A candidate is unusable when it is a data: URL (data_url), when its resolved path ends in
 * ".svg"/".svgz" (svg), ".gif" (gif) or ".ico" (ico), case-insensitive, the query ignored; when
 * url_resolve refuses its scheme or user info (unsupported: "javascript:", "blob:", "ftp:"...),
 * or fails otherwise (bad_url: no host, bad port, too long, fragment-only "#x").
 *
 * Texts: an <img> with a usable URL gives
 *   - an alt pair when its alt attribute is non-empty after normalization, else a title pair
 *     when its title attribute is (never both: title is the fallback for a missing alt);
 *   - when it is inside a <figure> (the nearest one) whose first <figcaption> has text, a
 *     figcaption pair, made when the figure ends, for every <img> of the figure (a gallery's
 *     caption describes each of its images); images of a nested figure belong to that figure;
 *   - nothing else: an <img> with no text at all is counted as no_text.
 * Text is text_normalize (filters/text.h) of the attribute, or of the figcaption's text content:
 * its descendant text nodes concatenated, with a space at the boundary of every element that is
 * not inline (a, abbr, b, bdi, bdo, cite, code, data, dfn, em, font, i, kbd, mark, q, s, samp,
 * small, span, strike, strong, sub, sup, time, tt, u, var, wbr), so "<b>R</b>ed" is "Red" and
 * "a<br>b" is "a b"; <script> and <style> content is not text. At most 16 * max_text + 4096 raw
 * bytes of a figcaption are read. A normalized text longer than max_text bytes is cut at the
 * last UTF-8 character boundary at or before max_text and trailing spaces are dropped
 * (counted in text_cut). Pairs are unique on (image_url, text): a figcaption equal to the alt
 * text of the same image gives one pair (the alt one, which came first).
 *
 * Links: <a href> and <area href> targets, resolved, unique, in document order, except
 * rel="nofollow" links (the rel token list, case-insensitive), fragment-only references ("#x"),
 * links back to the page itself, and references url_resolve refuses (javascript:, mailto:, tel:,
 * data:, ...). Every skipped link is counted by reason. Links are given even when the page says
 * nofollow: the pipeline reads extract_meta_robots and decides.
 *
 * Meta robots: <meta name="robots" content="..."> and <meta name="clipcrawl" content="...">
 * (names and tokens case-insensitive, tokens separated by commas or whitespace, all such metas
 * OR'ed): noindex, nofollow, none (= noindex, nofollow), noimageindex, noai, noimageai.
 *
 * Bounded cost: input over max_bytes is refused (CC_E_LIMIT) before parsing; at most max_pairs
 * pairs and max_links links are kept (more are counted, the parse goes on); an element nested
 * deeper than max_depth stops the parse there (libxml2's HTML parser is quadratic on deep
 * unclosed nesting; its own tree builder stops at the same depth): what was found before is
 * kept, stats.truncated is set, depth is counted. Time is linear in the input (a 1 MB attribute
 * or a 5 MB page of nested <div>s takes milliseconds); memory is bounded by the limits:
 * about max_pairs * (URL_MAX + max_text) + max_links * URL_MAX bytes of strings at most.
 *
 * Thread safety: extract_html is reentrant (one libxml2 parser context per call; the library is
 * initialized once, through pthread_once). A result is read-only after extract_html returns and
 * may be read from several threads at once.
 */
#ifndef CC_EXTRACT_H
#define CC_EXTRACT_H

#include <stddef.h>
#include <stdint.h>

#include "common/status.h"

#define EXTRACT_MAX_CANDIDATES 64 /* image URL candidates looked at per <img> */
#define EXTRACT_MAX_ITEMS ((size_t)1 << 30) /* the largest max_pairs / max_links accepted */

/* Bit flags of extract_meta_robots. */
#define EXTRACT_ROBOTS_NOINDEX 0x01 /* the page's pairs must not be used */
#define EXTRACT_ROBOTS_NOFOLLOW 0x02 /* the page's links must not be followed */
#define EXTRACT_ROBOTS_NOIMAGEINDEX 0x04 /* the page's images must not be used */
#define EXTRACT_ROBOTS_NOAI 0x08 /* the page's content must not be used for AI training */
#define EXTRACT_ROBOTS_NOIMAGEAI 0x10 /* the page's images must not be used for AI training */

/* Where the text of a pair came from. */
typedef enum extract_text_kind {
    EXTRACT_ALT, /* the img's alt attribute */
    EXTRACT_TITLE, /* the img's title attribute (only when alt is empty or absent) */
    EXTRACT_FIGCAPTION, /* the text of the enclosing figure's figcaption */
    EXTRACT_KINDS
} extract_text_kind;

/* "alt", "title", "figcaption"; "unknown" when out of range. */
const char *extract_text_kind_name(extract_text_kind k);

/* One candidate pair. All strings are owned by the result and NUL-terminated. */
typedef struct extract_pair {
    const char *image_url; /* absolute, canonical (url_resolve) http(s) URL */
    const char *text; /* normalized (text_normalize), non-empty, at most max_text bytes */
    extract_text_kind kind;
    const char *src_attr; /* where the URL came from: "src", "srcset", "data-src",
                             "data-srcset", "data-lazy-src", "data-lazy-srcset",
                             "data-original", "data-lazy", or "source-srcset" /
                             "source-data-srcset" (a <picture>'s <source>); a static string */
    int width, height; /* the img's width / height attributes, 0 when absent or invalid
                          (digits, an optional fraction dropped, anything but '%' after them;
                          above 100000 is invalid) */
} extract_pair;

/* Caps on the cost of one page; defaults in extract_limits_default. */
typedef struct extract_limits {
    size_t max_bytes; /* 8 MiB: a longer input is CC_E_LIMIT */
    size_t max_pairs; /* 10000 pairs kept; 0 keeps none; at most EXTRACT_MAX_ITEMS */
    size_t max_links; /* 10000 links kept; 0 keeps none; at most EXTRACT_MAX_ITEMS */
    size_t max_text; /* 2000 bytes per text, 1 .. 1 MiB; longer is cut (see above) */
    int max_depth; /* 256 elements deep, 1 .. 100000; deeper stops the parse (see above) */
} extract_limits;

/* Sets *lim to the defaults above. */
void extract_limits_default(extract_limits *lim);

/* Named reasons for what was seen and not given back. The unit counted is given per reason. */
typedef enum extract_skip {
    EXTRACT_SKIP_NO_URL, /* "no_url": <img> without any src, srcset or lazy candidate */
    EXTRACT_SKIP_DATA_URL, /* "data_url": <img> whose winning candidate is a data: URL */
    EXTRACT_SKIP_SVG, /* "svg": ... an .svg / .svgz path */
    EXTRACT_SKIP_GIF, /* "gif": ... a .gif path */
    EXTRACT_SKIP_ICO, /* "ico": ... an .ico path */
    EXTRACT_SKIP_UNSUPPORTED, /* "unsupported": ... a scheme other than http(s), or user info */
    EXTRACT_SKIP_BAD_URL, /* "bad_url": ... a URL that does not resolve (or too long) */
    EXTRACT_SKIP_NO_TEXT, /* "no_text": <img> with a usable URL and no alt, title or caption */
    EXTRACT_SKIP_SOURCE_TYPE, /* "source_type": <picture><source> of a type not decoded */
    EXTRACT_SKIP_DUPLICATE, /* "duplicate": pair equal (image_url, text) to an earlier one */
    EXTRACT_SKIP_PAIR_LIMIT, /* "pair_limit": pair (or figure image waiting for its caption)
                                past max_pairs */
    EXTRACT_SKIP_LINK_NOFOLLOW, /* "link_nofollow": link with rel="nofollow" */
    EXTRACT_SKIP_LINK_FRAGMENT, /* "link_fragment": fragment-only href ("#top") */
    EXTRACT_SKIP_LINK_UNSUPPORTED, /* "link_unsupported": javascript:, mailto:, tel:, ... */
    EXTRACT_SKIP_LINK_BAD_URL, /* "link_bad_url": href that does not resolve */
    EXTRACT_SKIP_LINK_SELF, /* "link_self": link to the page itself (empty href too) */
    EXTRACT_SKIP_LINK_DUPLICATE, /* "link_duplicate": link already given */
    EXTRACT_SKIP_LINK_LIMIT, /* "link_limit": link past max_links */
    EXTRACT_SKIP_DEPTH, /* "depth": the element past max_depth that stopped the parse */
    EXTRACT_SKIP_COUNT
} extract_skip;

/* Stable snake_case name of a reason (in quotes above); "unknown" when out of range. */
const char *extract_skip_name(extract_skip r);

/* What one extract_html call saw. */
typedef struct extract_stats {
    size_t images; /* <img> elements seen */
    size_t hrefs; /* <a>/<area> elements with an href seen */
    size_t text_cut; /* texts cut to max_text */
    size_t skipped[EXTRACT_SKIP_COUNT]; /* by reason, see extract_skip */
    int truncated; /* 1 when the parse stopped at max_depth: the rest of the page was not read */
} extract_stats;

/* The pairs, links, base URL, robots flags and stats of one page. Opaque; owns every string. */
typedef struct extract_result extract_result;

/* Extracts pairs and links from the len bytes of HTML at html, fetched from page_url (an
 * absolute http(s) URL, normalized here). lim may be NULL (defaults). On success *out receives a
 * result the caller frees with extract_free; on failure *out is NULL and cc_errmsg() says why.
 * Hitting max_pairs, max_links or max_depth is not a failure (see extract_stats). Returns
 * CC_E_INVAL (NULL arguments, a limit out of range), CC_E_LIMIT (len > lim->max_bytes),
 * CC_E_FORMAT / CC_E_UNSUPPORTED / CC_E_LIMIT (page_url, as url_normalize), CC_E_NOMEM.
 * Reentrant. */
cc_status extract_html(const char *page_url, const uint8_t *html, size_t len,
                       const extract_limits *lim, extract_result **out);

/* The rule above for one image URL already resolved (absolute and canonical, e.g. a WAT link's
 * warc_link.resolved): EXTRACT_SKIP_DATA_URL for a data: URL, EXTRACT_SKIP_SVG / _GIF / _ICO by
 * the extension of the path's last segment (case-insensitive, query ignored), -1 when usable.
 * For sources that resolve URLs themselves and must skip what extract_html skips. Reentrant. */
int extract_image_url_skip(const char *url);

/* Number of pairs, and pair i (< extract_pair_count; NULL otherwise), in document order (alt and
 * title pairs where their <img> is, figcaption pairs where their </figure> is). Valid until
 * extract_free. */
size_t extract_pair_count(const extract_result *r);
const extract_pair *extract_pair_at(const extract_result *r, size_t i);

/* Number of links, and link i (NULL when out of range): absolute canonical <a>/<area> href
 * targets, unique, in document order. Valid until extract_free. */
size_t extract_link_count(const extract_result *r);
const char *extract_link_at(const extract_result *r, size_t i);

/* The effective base URL (canonical): the page URL, or the first <base href> resolved. */
const char *extract_base_url(const extract_result *r);

/* EXTRACT_ROBOTS_* flags of the page's robots / clipcrawl meta elements; 0 when none. */
int extract_meta_robots(const extract_result *r);

/* Counters of what was seen and skipped. Valid until extract_free. */
const extract_stats *extract_result_stats(const extract_result *r);

/* Frees a result and every string in it. Accepts NULL. */
void extract_free(extract_result *r);

#endif
