/* crawler/fetch.h — the fetch engine: one libcurl multi loop, per-host politeness, robots.txt,
 * the SSRF guard, hard limits, retries, and a named outcome for every URL.
 *
 * Model. The caller submits URLs (fetch_submit) with a completion callback and drives the loop
 * (fetch_run). Every URL goes into the queue of its host (our own frontier; libcurl's own
 * per-host queue is never used, because transfers waiting there spend their timeout). A host
 * starts a transfer when fewer than per_host of its transfers are in flight and its delay has
 * passed: host_delay seconds after its previous transfer started and after it ended, raised to
 * robots.txt's Crawl-delay (up to crawl_delay_cap) and by back-off. Before the first URL of an
 * authority (scheme://host:port) its /robots.txt is fetched through the same queue and cached
 * for robots_ttl seconds: 2xx parsed (first 500 KiB), 4xx allow all, 5xx/network error disallow
 * all and retried with back-off (after max_retries failed tries every URL of that authority ends
 * robots_unavailable for retry_after_cap seconds), up to 5 redirects followed; an authority
 * whose robots.txt is refused by the SSRF guard or fails TLS ends every URL the same way.
 *
 * Redirects are never followed inside libcurl: a 3xx with a Location goes back to the frontier as
 * a new hop, checked again (URL, port, robots, politeness; SSRF at connect time); at most
 * max_redirects hops; a URL seen twice in one chain is a redirect_loop.
 *
 * Retries: 429 and 503 back the host off (Retry-After honoured, seconds or HTTP date, capped at
 * retry_after_cap; without it the host's delay doubles, up to the cap, and decays again on
 * success); other 5xx, timeouts, DNS failures, refused and reset connections are retried after an
 * exponential back-off with jitter (backoff_base · 2^attempt · [0.5, 1.5), capped) while the
 * current hop has tries left (1 + max_retries per hop); then the outcome of the last try is final.
 *
 * Limits: connect timeout, total timeout, low-speed abort, body bytes per kind counted after
 * decompression in the write callback (a Content-Length above the limit aborts before the body),
 * content type per kind, only http and https, no cookies, no .netrc, no proxy unless set, TLS
 * verified. Images (and pages) whose response has X-Robots-Tag noai, noimageai, noindex,
 * noimageindex or none (bare or for our product token) end x_robots_tag, without their body.
 *
 * Threads: an engine belongs to one thread; callbacks run on it, inside fetch_run, and may call
 * fetch_submit. Several engines (one per thread) are independent.
 */
#ifndef CC_FETCH_H
#define CC_FETCH_H

#include <stddef.h>
#include <stdint.h>

#include "common/status.h"
#include "crawler/ssrf.h"

/* Every way a fetch can end. Names (fetch_outcome_name) are stable: they appear in stats, logs
 * and the crawler's reports. */
typedef enum fetch_outcome {
    FETCH_OK = 0, /* 2xx, body complete */
    FETCH_HTTP_3XX, /* 3xx without a usable Location, or 304 */
    FETCH_HTTP_4XX, /* 4xx other than 404, 410 and 429 */
    FETCH_HTTP_404, /* 404 or 410: gone */
    FETCH_HTTP_429, /* still 429 after every retry */
    FETCH_HTTP_5XX, /* still 5xx after every retry */
    FETCH_TIMEOUT, /* connect or total timeout, after every retry */
    FETCH_TOO_SLOW, /* below the low-speed limit for low_speed_time */
    FETCH_DNS, /* name did not resolve, after every retry */
    FETCH_CONNECT, /* connection refused or unreachable, after every retry */
    FETCH_CONN_RESET, /* connection reset or closed mid-response, after every retry */
    FETCH_TRUNCATED, /* fewer body bytes than Content-Length said */
    FETCH_TLS, /* certificate or handshake failure */
    FETCH_PROTOCOL, /* malformed HTTP, bad content encoding */
    FETCH_TOO_LARGE, /* body (decompressed) or Content-Length over the kind's limit */
    FETCH_BAD_CONTENT_TYPE, /* content type not accepted for the kind */
    FETCH_X_ROBOTS_TAG, /* X-Robots-Tag forbids our use */
    FETCH_ROBOTS_DENIED, /* robots.txt disallows the URL; no request sent */
    FETCH_ROBOTS_UNAVAILABLE, /* robots.txt kept failing (5xx, network): disallowed for now */
    FETCH_SSRF_BLOCKED, /* address or port refused by the SSRF guard; no packet sent */
    FETCH_BAD_URL, /* not a URL we fetch (scheme, syntax, length) */
    FETCH_REDIRECT_LOOP, /* a redirect chain came back to a URL it had visited */
    FETCH_TOO_MANY_REDIRECTS, /* more than max_redirects hops */
    FETCH_CANCELLED, /* the engine was freed with the URL still queued */
    FETCH_OUTCOME_COUNT
} fetch_outcome;

const char *
fetch_outcome_name(fetch_outcome o); /* "ok", "http_4xx", ...; "unknown" if out of range */

/* What is fetched: decides the body limit and the accepted content types. */
typedef enum fetch_kind {
    FETCH_KIND_IMAGE = 0, /* image types, application/octet-stream, binary/octet-stream, none */
    FETCH_KIND_HTML, /* text/html, application/xhtml+xml, or none */
    FETCH_KIND_ANY, /* any content type (search API JSON, sitemaps); max_html_bytes */
    FETCH_KIND_COUNT
} fetch_kind;

typedef struct fetch_opts {
    const char *user_agent; /* default FETCH_DEFAULT_USER_AGENT */
    const char *robots_token; /* product token for robots.txt, default "clipcrawl" */
    int obey_robots; /* 1 */
    int per_host; /* transfers in flight per host: 1 */
    double host_delay; /* seconds between requests to one host: 1.0 */
    double crawl_delay_cap; /* largest robots Crawl-delay honoured: 30 */
    double retry_after_cap; /* largest Retry-After / back-off honoured: 300 */
    double backoff_base; /* seconds: 1.0 */
    int max_retries; /* retries after the first try: 3 */
    int max_redirects; /* 5 */
    int max_inflight; /* transfers in flight in all: 256 */
    size_t max_queued; /* URLs queued and in flight; fetch_submit fails beyond: 1,000,000 */
    double connect_timeout; /* seconds: 10 */
    double timeout; /* seconds per try, headers and body: 60 */
    long low_speed_limit; /* bytes/s: 1024 */
    double low_speed_time; /* seconds below low_speed_limit before abort: 20 */
    size_t max_image_bytes; /* 32 MiB */
    size_t max_html_bytes; /* 8 MiB */
    double robots_ttl; /* seconds a robots.txt stays cached: 86400 */
    const ssrf_policy *ssrf; /* not owned; NULL = the default policy */
    const char *proxy; /* NULL = none (environment variables are ignored) */
    const char *const *resolve; /* NULL-terminated "HOST:PORT:ADDRESS" pins (CURLOPT_RESOLVE) */
    uint64_t seed; /* jitter; 0 = fixed default */
} fetch_opts;

#define FETCH_DEFAULT_USER_AGENT                                                                   \
    "clipcrawl/0.1 (+https://github.com/clipcrawl/clipcrawl; research dataset crawler)"

/* Fills o with the defaults above. */
void fetch_opts_default(fetch_opts *o);

/* One finished URL, valid only during the callback. */
typedef struct fetch_result {
    fetch_outcome outcome;
    int http_status; /* last HTTP status, 0 when no response */
    const char *url; /* as submitted (after normalization) */
    const char *final_url; /* the last hop */
    const char *content_type; /* as sent, "" when none */
    const uint8_t *body; /* NULL unless outcome is FETCH_OK */
    size_t body_len;
    int attempts; /* requests sent for this URL over all hops, robots.txt not counted */
    int redirects; /* hops followed */
    double seconds; /* from submit to completion */
    const char *detail; /* libcurl's error text or our reason, "" when none */
} fetch_result;

typedef void (*fetch_done_fn)(void *user, const fetch_result *r);

typedef struct fetch_stats {
    uint64_t submitted, done;
    uint64_t outcome[FETCH_OUTCOME_COUNT];
    uint64_t requests; /* HTTP requests started (tries, hops, robots.txt) */
    uint64_t retries, redirects;
    uint64_t robots_fetched; /* robots.txt requests */
    uint64_t body_bytes; /* decompressed body bytes received */
    uint64_t hosts; /* hosts seen */
    size_t queued, inflight, max_inflight_seen;
} fetch_stats;

typedef struct fetch_engine fetch_engine;

/* Creates an engine (curl_global_init is called once per process, thread-safely). Copies opts
 * (strings included). CC_E_INVAL (a bad option, with a message), CC_E_NOMEM, CC_E_IO (libcurl
 * could not start). */
cc_status fetch_engine_new(const fetch_opts *opts, fetch_engine **out);

/* Completes every URL still queued with FETCH_CANCELLED (callbacks run), aborts transfers, frees
 * everything. Accepts NULL. */
void fetch_engine_free(fetch_engine *e);

/* Queues url (absolute; normalized here) of the given kind. done(user, result) is called exactly
 * once, from fetch_run (never from fetch_submit): a URL that cannot be fetched (bad URL, port
 * not allowed) completes on the next fetch_run. CC_E_LIMIT when max_queued URLs are pending (the
 * caller should run the loop and retry: back-pressure), CC_E_INVAL. */
cc_status fetch_submit(fetch_engine *e, const char *url, fetch_kind kind, fetch_done_fn done,
                       void *user);

/* Runs the loop until nothing is pending, or for at most max_seconds (< 0: no limit), whichever
 * comes first; callbacks run inside. *pending (may be NULL) gets the URLs still queued or in
 * flight. CC_E_IO on a libcurl multi failure. */
cc_status fetch_run(fetch_engine *e, double max_seconds, size_t *pending);

/* URLs queued or in flight. */
size_t fetch_pending(const fetch_engine *e);

void fetch_get_stats(const fetch_engine *e, fetch_stats *out);

#endif
