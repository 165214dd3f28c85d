/* crawler/url.h — parsing, resolving and normalizing http(s) URLs.
 *
 * Every URL the crawler meets (seeds, <img src>, Location headers, search results) goes through
 * url_resolve or url_normalize before it is queued, deduplicated or compared, so that one resource
 * has one spelling. The canonical form is:
 *   - scheme lower-case, only "http" and "https" (anything else: CC_E_UNSUPPORTED);
 *   - no user info (CC_E_UNSUPPORTED: credentials in URLs are never sent);
 *   - host lower-case, trailing dot removed; IPv4 hosts in any spelling curl and browsers accept
 *     ("2130706433", "0x7f.1", "0177.0.0.1", "127.1") rewritten as dotted decimal; IPv6 literals in
 *     brackets, compressed lower-case form; non-ASCII host names converted to punycode is NOT done:
 *     a host that is not ASCII letters, digits, '-', '.', '_' is CC_E_FORMAT;
 *   - port removed when it is the scheme's default (80, 443), kept otherwise; 0 or > 65535 is
 *     CC_E_FORMAT;
 *   - path: "/" when empty, dot segments removed (RFC 3986 §5.2.4), backslashes read as '/';
 *   - percent-encoding: hex digits upper-case, escapes of unreserved characters (ALPHA DIGIT
 *     - . _ ~) decoded, bytes outside printable ASCII, spaces, '"', '<', '>', '`', '{', '}', '|',
 *     '^' percent-encoded; every other character kept as written (reserved characters keep their
 *     meaning);
 *   - query kept (same percent rules); "?" with an empty query kept as written is dropped;
 *   - fragment removed;
 *   - leading/trailing ASCII whitespace and C0 controls trimmed, embedded tab/CR/LF removed
 *     (as browsers do).
 * A URL longer than URL_MAX - 1 bytes, before or after normalization, is CC_E_LIMIT.
 *
 * Thread safety: every function is reentrant.
 */
#ifndef CC_URL_H
#define CC_URL_H

#include <stddef.h>

#include "common/status.h"

#define URL_MAX 2048 /* longest URL kept, including the terminating NUL */
#define URL_HOST_MAX 256 /* longest host name, including the NUL */

/* The parts of a canonical URL (views into one normalized string). */
typedef struct url_parts {
    char scheme[8]; /* "http" or "https" */
    char host[URL_HOST_MAX]; /* lower-case; IPv6 without brackets */
    int port; /* explicit or default (80 / 443) */
    int is_ip; /* 4 or 6 when the host is an IP literal, else 0 */
    const char *path_query; /* "/path?query" inside the normalized URL given to url_split */
} url_parts;

/* Writes the canonical form of the absolute URL in (NUL-terminated) into out (cap bytes).
 * CC_E_FORMAT (not a URL, relative, bad host or port), CC_E_UNSUPPORTED (scheme, user info),
 * CC_E_LIMIT (too long, or cap too small). The message says what was wrong. */
cc_status url_normalize(const char *in, char *out, size_t cap);

/* Resolves the reference ref (absolute, protocol-relative "//host/x", absolute-path "/x",
 * relative "x/../y", query-only "?q", fragment-only "#f") against the absolute canonical base
 * URL (RFC 3986 §5.2), then normalizes the result into out. Errors as url_normalize; a ref of
 * another scheme ("data:", "javascript:", "mailto:", "ftp:") is CC_E_UNSUPPORTED. */
cc_status url_resolve(const char *base, const char *ref, char *out, size_t cap);

/* Splits a canonical URL (output of url_normalize/url_resolve) into parts. CC_E_FORMAT when url
 * is not canonical. parts->path_query points into url. */
cc_status url_split(const char *url, url_parts *parts);

/* Writes in[0..n) under the percent rules above (escapes of unreserved characters decoded, other
 * escapes upper-cased, a '%' that starts no escape and the bytes that must be encoded written as
 * escapes) to out, which has room for 3n + 1 bytes, NUL-terminates it, and returns its length
 * (NUL excluded). Idempotent. robots.txt rules and paths are compared in this form. */
size_t url_percent_normalize(const char *in, size_t n, char *out);

/* The authority key of a canonical URL, "scheme://host:port" with the port always written
 * (robots.txt is per authority). CC_E_FORMAT, CC_E_LIMIT. */
cc_status url_authority(const char *url, char *out, size_t cap);

#endif
