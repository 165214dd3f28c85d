/* crawler/robots.h — robots.txt (RFC 9309): parsing and matching.
 *
 * robots_parse reads at most ROBOTS_MAX_BYTES of the file (the rest is ignored, as the RFC
 * allows) and keeps only the groups that apply to our product token:
 *   - a group is one or more user-agent lines followed by rules; lines are "key: value" with
 *     optional whitespace, '#' starts a comment, keys are case-insensitive, unknown keys ignored,
 *     a rule before any user-agent line is ignored; CR, LF and CRLF end lines; a UTF-8 BOM is
 *     skipped;
 *   - a group applies when one of its user-agent values, up to the first character that is not
 *     a letter, '-' or '_', equals the product token case-insensitively; every group that
 *     applies is merged; when none applies, the '*' groups are merged; when there are none
 *     either, everything is allowed;
 *   - allow/disallow values are paths; '*' matches any sequence, a final '$' anchors the end;
 *     an empty disallow value is ignored (allows everything);
 *   - crawl-delay (an extension, not the RFC) is read from the groups that apply: seconds,
 *     decimals allowed, the largest value given wins;
 *   - sitemap lines are collected from the whole file (they belong to no group).
 * Matching (robots_is_allowed): the path with its query, percent-encoding normalized the same way
 * for rules and path (hex upper-case; escapes of unreserved characters decoded; other bytes
 * outside printable ASCII percent-encoded). The longest matching rule wins (length of the rule
 * pattern as written, after normalization); Allow wins a tie; no matching rule means allowed;
 * "/robots.txt" is always allowed.
 *
 * Thread safety: a parsed robots object is immutable and may be shared between threads.
 */
#ifndef CC_ROBOTS_H
#define CC_ROBOTS_H

#include <stddef.h>

#include "common/status.h"

#define ROBOTS_MAX_BYTES (500u * 1024) /* bytes of a robots.txt that are parsed */
#define ROBOTS_MAX_RULES 100000 /* rules kept from the groups that apply */
#define ROBOTS_MAX_SITEMAPS 1000

typedef struct robots robots;

/* Parses body (len bytes, any content; not NUL-terminated) for product token (e.g. "clipcrawl",
 * letters, '-' and '_' only: CC_E_INVAL otherwise). Never fails on malformed content: bad lines
 * are skipped. CC_E_NOMEM, CC_E_INVAL. */
cc_status robots_parse(const char *body, size_t len, const char *product_token, robots **out);

/* A robots object that allows everything (no robots.txt, 4xx) or disallows everything (5xx,
 * unreachable). CC_E_NOMEM. */
cc_status robots_new_allow_all(robots **out);
cc_status robots_new_disallow_all(robots **out);

void robots_free(robots *r); /* accepts NULL */

/* 1 when path_query ("/a/b?c=d"; must start with '/') may be fetched, else 0. */
int robots_is_allowed(const robots *r, const char *path_query);

/* The crawl-delay in seconds from the groups that apply, or -1 when none was given. */
double robots_crawl_delay(const robots *r);

/* The number of rules kept and the sitemap URLs (as written; i < robots_sitemap_count). */
size_t robots_rule_count(const robots *r);
size_t robots_sitemap_count(const robots *r);
const char *robots_sitemap(const robots *r, size_t i);

#endif
