/* crawler/fetch.c — the fetch engine (see fetch.h for the model).
 *
 * Structures:
 *   item   one submitted URL (or an internal robots.txt request) from fetch_submit to its callback;
 *          it sits in exactly one place at a time: a host queue, the delayed heap (retry back-off),
 *          a transfer (in flight), or the finished list (callback pending).
 *   host   per host name: a FIFO of items, transfers in flight, the time the next request may
 *          start (next_ok), the politeness delay and the 429/503 penalty. Hosts that have queued
 *          items, room for a transfer and no robots.txt wait sit in the ready heap by next_ok.
 *   auth   per authority (scheme://host:port): the robots.txt state and its expiry.
 *   xfer   a libcurl easy handle with its body buffer and response flags, pooled.
 * Callbacks run only in drain_finished(), never while a structure is half updated, so they may
 * call fetch_submit freely.
 */
#include "crawler/fetch.h"

#include <curl/curl.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "common/buf.h"
#include "common/hash.h"
#include "crawler/robots.h"
#include "crawler/url.h"

#define MAX_HOPS 32 /* hard ceiling on max_redirects */
#define NOT_IN_HEAP ((size_t)-1)
#define ROBOTS_FETCH_MAX (ROBOTS_MAX_BYTES + 4096)
#define ERROR_BODY_MAX (64 * 1024) /* bytes of a non-2xx body read (and discarded) */
#define KEEP_BUF_CAP (1u << 20) /* body buffers larger than this are freed after use */

static const char *const outcome_names[FETCH_OUTCOME_COUNT] = {
    "ok",
    "http_3xx",
    "http_4xx",
    "http_404",
    "http_429",
    "http_5xx",
    "timeout",
    "too_slow",
    "dns",
    "connect",
    "conn_reset",
    "truncated",
    "tls",
    "protocol",
    "too_large",
    "bad_content_type",
    "x_robots_tag",
    "robots_denied",
    "robots_unavailable",
    "ssrf_blocked",
    "bad_url",
    "redirect_loop",
    "too_many_redirects",
    "cancelled",
};

const char *fetch_outcome_name(fetch_outcome o)
{
    return (unsigned)o < FETCH_OUTCOME_COUNT ? outcome_names[o] : "unknown";
}

void fetch_opts_default(fetch_opts *o)
{
    memset(o, 0, sizeof *o);
    o->user_agent = FETCH_DEFAULT_USER_AGENT;
    o->robots_token = "clipcrawl";
    o->obey_robots = 1;
    o->per_host = 1;
    o->host_delay = 1.0;
    o->crawl_delay_cap = 30;
    o->retry_after_cap = 300;
    o->backoff_base = 1.0;
    o->max_retries = 3;
    o->max_redirects = 5;
    o->max_inflight = 256;
    o->max_queued = 1000000;
    o->connect_timeout = 10;
    o->timeout = 60;
    o->low_speed_limit = 1024;
    o->low_speed_time = 20;
    o->max_image_bytes = 32u << 20;
    o->max_html_bytes = 8u << 20;
    o->robots_ttl = 86400;
}

/* ---- structures ----------------------------------------------------------------------------- */

typedef struct host host;
typedef struct auth auth;
typedef struct xfer xfer;

typedef struct item {
    struct item *next; /* host queue or finished list */
    char *url; /* as submitted, normalized (or the raw text when it did not normalize) */
    char *cur; /* the current hop */
    fetch_kind kind;
    int is_robots; /* an internal robots.txt request for ra */
    auth *ra; /* is_robots: the authority whose robots.txt this is */
    fetch_done_fn done;
    void *user;
    host *h; /* host of cur (NULL before it is known) */
    auth *a; /* authority of cur */
    int attempts, redirects, hop_tries;
    uint64_t chain[MAX_HOPS + 1]; /* hashes of the URLs of this chain, for loop detection */
    double submitted, not_before;
    size_t heap_idx; /* in the delayed heap */
    fetch_outcome outcome;
    int http_status;
    char detail[160];
    /* set on the finished list for OK results: the body moves here */
    cc_buf body;
    char *content_type;
} item;

struct host {
    char *name;
    host *hnext; /* hash chain */
    item *head, *tail;
    size_t queued;
    int inflight;
    double next_ok; /* earliest start of the next request */
    double delay; /* host_delay raised to the largest honoured Crawl-delay */
    double penalty; /* 429/503 back-off in seconds, 0 = none */
    auth *wait; /* robots.txt in flight for the head item's authority */
    size_t heap_idx;
};

enum { RS_NONE, RS_FETCHING, RS_READY, RS_RETRY, RS_FAILED };

struct auth {
    char *key;
    auth *anext;
    host *h;
    int state;
    robots *rb; /* RS_READY */
    double expires; /* RS_READY / RS_FAILED: until then */
    double retry_at; /* RS_RETRY */
    int failures;
    fetch_outcome fail_outcome; /* RS_FAILED: what every URL of this authority ends with */
    char fail_detail[160];
};

struct xfer {
    xfer *next_free;
    fetch_engine *e;
    CURL *easy;
    item *it;
    cc_buf body;
    size_t max; /* body limit of this transfer */
    long status; /* of the current response (headers) */
    int is_2xx;
    int too_large, bad_type, noai, robots_cut;
    ssrf_verdict ssrf;
    double started;
    char ctype[128];
    char location[URL_MAX];
    char errbuf[CURL_ERROR_SIZE];
};

typedef struct hmap {
    void **slots;
    size_t cap, count;
} hmap;

struct fetch_engine {
    fetch_opts o;
    char *ua, *token, *proxy;
    struct curl_slist *resolve;
    struct curl_slist *accept[FETCH_KIND_COUNT];
    ssrf_policy *own_ssrf;
    const ssrf_policy *ssrf;
    CURLM *multi;
    CURLSH *share;
    pthread_mutex_t share_lock;
    hmap hosts, auths;
    host **ready; /* min-heap by next_ok */
    size_t nready, ready_cap;
    item **delayed; /* min-heap by not_before */
    size_t ndelayed, delayed_cap;
    item *fin_head, *fin_tail; /* finished, callbacks pending */
    xfer *free_xfers;
    xfer **all_xfers;
    size_t nxfers;
    int inflight;
    int closing; /* fetch_engine_free has begun: no more submissions */
    size_t pending; /* submitted items not yet called back (robots items excluded) */
    uint64_t rng;
    double t0;
    fetch_stats st;
};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static uint64_t rng_next(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static char *dup_str(const char *s)
{
    return s ? strdup(s) : NULL;
}

/* ---- string-keyed hash map (open addressing; entries are host* or auth*, key read by getter) - */

typedef const char *(*key_fn)(const void *);
static const char *host_key(const void *p)
{
    return ((const host *)p)->name;
}
static const char *auth_key(const void *p)
{
    return ((const auth *)p)->key;
}

static void *hmap_get(const hmap *m, const char *key, key_fn kf)
{
    if (!m->cap)
        return NULL;
    size_t i = (size_t)cc_hash64(key, strlen(key)) & (m->cap - 1);
    while (m->slots[i]) {
        if (strcmp(kf(m->slots[i]), key) == 0)
            return m->slots[i];
        i = (i + 1) & (m->cap - 1);
    }
    return NULL;
}

static cc_status hmap_put(hmap *m, void *v, key_fn kf)
{
    if ((m->count + 1) * 2 > m->cap) {
        size_t ncap = m->cap ? m->cap * 2 : 64;
        void **ns = calloc(ncap, sizeof *ns);
        if (!ns)
            return cc_fail(CC_E_NOMEM, "fetch: out of memory (host table)");
        for (size_t j = 0; j < m->cap; j++) {
            if (!m->slots[j])
                continue;
            const char *k = kf(m->slots[j]);
            size_t i = (size_t)cc_hash64(k, strlen(k)) & (ncap - 1);
            while (ns[i])
                i = (i + 1) & (ncap - 1);
            ns[i] = m->slots[j];
        }
        free(m->slots);
        m->slots = ns;
        m->cap = ncap;
    }
    const char *k = kf(v);
    size_t i = (size_t)cc_hash64(k, strlen(k)) & (m->cap - 1);
    while (m->slots[i])
        i = (i + 1) & (m->cap - 1);
    m->slots[i] = v;
    m->count++;
    return CC_OK;
}

/* ---- heaps ---------------------------------------------------------------------------------- */

static void ready_swap(fetch_engine *e, size_t a, size_t b)
{
    host *t = e->ready[a];
    e->ready[a] = e->ready[b];
    e->ready[b] = t;
    e->ready[a]->heap_idx = a;
    e->ready[b]->heap_idx = b;
}

static void ready_fix(fetch_engine *e, size_t i)
{
    while (i > 0 && e->ready[(i - 1) / 2]->next_ok > e->ready[i]->next_ok) {
        ready_swap(e, i, (i - 1) / 2);
        i = (i - 1) / 2;
    }
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < e->nready && e->ready[l]->next_ok < e->ready[m]->next_ok)
            m = l;
        if (r < e->nready && e->ready[r]->next_ok < e->ready[m]->next_ok)
            m = r;
        if (m == i)
            return;
        ready_swap(e, i, m);
        i = m;
    }
}

static void ready_remove(fetch_engine *e, host *h)
{
    size_t i = h->heap_idx;
    if (i == NOT_IN_HEAP)
        return;
    h->heap_idx = NOT_IN_HEAP;
    e->nready--;
    if (i != e->nready) {
        e->ready[i] = e->ready[e->nready];
        e->ready[i]->heap_idx = i;
        ready_fix(e, i);
    }
}

/* Puts h into the ready heap, or takes it out, or moves it, according to its state. */
static cc_status host_update(fetch_engine *e, host *h)
{
    /* A host waiting for robots.txt still serves the robots.txt request itself (a redirect hop
     * of it, queued at the front). */
    int want = h->head && (!h->wait || h->head->is_robots) && h->inflight < e->o.per_host;
    if (!want) {
        ready_remove(e, h);
        return CC_OK;
    }
    if (h->heap_idx != NOT_IN_HEAP) {
        ready_fix(e, h->heap_idx);
        return CC_OK;
    }
    if (e->nready == e->ready_cap) {
        size_t nc = e->ready_cap ? e->ready_cap * 2 : 64;
        host **n = realloc(e->ready, nc * sizeof *n);
        if (!n)
            return cc_fail(CC_E_NOMEM, "fetch: out of memory (ready heap)");
        e->ready = n;
        e->ready_cap = nc;
    }
    h->heap_idx = e->nready;
    e->ready[e->nready++] = h;
    ready_fix(e, h->heap_idx);
    return CC_OK;
}

static void delayed_swap(fetch_engine *e, size_t a, size_t b)
{
    item *t = e->delayed[a];
    e->delayed[a] = e->delayed[b];
    e->delayed[b] = t;
    e->delayed[a]->heap_idx = a;
    e->delayed[b]->heap_idx = b;
}

static void delayed_fix(fetch_engine *e, size_t i)
{
    while (i > 0 && e->delayed[(i - 1) / 2]->not_before > e->delayed[i]->not_before) {
        delayed_swap(e, i, (i - 1) / 2);
        i = (i - 1) / 2;
    }
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < e->ndelayed && e->delayed[l]->not_before < e->delayed[m]->not_before)
            m = l;
        if (r < e->ndelayed && e->delayed[r]->not_before < e->delayed[m]->not_before)
            m = r;
        if (m == i)
            return;
        delayed_swap(e, i, m);
        i = m;
    }
}

static cc_status delayed_push(fetch_engine *e, item *it)
{
    if (e->ndelayed == e->delayed_cap) {
        size_t nc = e->delayed_cap ? e->delayed_cap * 2 : 64;
        item **n = realloc(e->delayed, nc * sizeof *n);
        if (!n)
            return cc_fail(CC_E_NOMEM, "fetch: out of memory (retry heap)");
        e->delayed = n;
        e->delayed_cap = nc;
    }
    it->heap_idx = e->ndelayed;
    e->delayed[e->ndelayed++] = it;
    delayed_fix(e, it->heap_idx);
    return CC_OK;
}

static item *delayed_pop(fetch_engine *e)
{
    item *it = e->delayed[0];
    e->ndelayed--;
    if (e->ndelayed) {
        e->delayed[0] = e->delayed[e->ndelayed];
        e->delayed[0]->heap_idx = 0;
        delayed_fix(e, 0);
    }
    it->heap_idx = NOT_IN_HEAP;
    return it;
}

/* ---- items ---------------------------------------------------------------------------------- */

static void item_free(item *it)
{
    if (!it)
        return;
    free(it->url);
    free(it->cur);
    free(it->content_type);
    cc_buf_free(&it->body);
    free(it);
}

static cc_status robots_done(fetch_engine *e, item *r, fetch_outcome o, long status,
                             const cc_buf *body, double now);

/* Moves it to the finished list with outcome o (its callback runs in drain_finished). A robots.txt
 * request that ends here (a redirect it cannot follow) settles its authority instead. */
static void finish(fetch_engine *e, item *it, fetch_outcome o, const char *detail)
{
    it->outcome = o;
    if (detail && detail != it->detail)
        snprintf(it->detail, sizeof it->detail, "%s", detail);
    if (it->is_robots) {
        /* (only a failed heap growth can fail here; the host then waits for the next event) */
        (void)robots_done(e, it, o, it->http_status, NULL, now_s());
        item_free(it);
        return;
    }
    it->next = NULL;
    if (e->fin_tail)
        e->fin_tail->next = it;
    else
        e->fin_head = it;
    e->fin_tail = it;
}

static void host_push(host *h, item *it, int front)
{
    it->next = NULL;
    if (front) {
        it->next = h->head;
        h->head = it;
        if (!h->tail)
            h->tail = it;
    } else {
        if (h->tail)
            h->tail->next = it;
        else
            h->head = it;
        h->tail = it;
    }
    h->queued++;
}

static item *host_pop(host *h)
{
    item *it = h->head;
    h->head = it->next;
    if (!h->head)
        h->tail = NULL;
    it->next = NULL;
    h->queued--;
    return it;
}

static cc_status get_host(fetch_engine *e, const char *name, host **out)
{
    host *h = hmap_get(&e->hosts, name, host_key);
    if (!h) {
        h = calloc(1, sizeof *h);
        if (!h || !(h->name = strdup(name))) {
            free(h);
            return cc_fail(CC_E_NOMEM, "fetch: out of memory (host)");
        }
        h->heap_idx = NOT_IN_HEAP;
        h->delay = e->o.host_delay;
        cc_status st = hmap_put(&e->hosts, h, host_key);
        if (st != CC_OK) {
            free(h->name);
            free(h);
            return st;
        }
        e->st.hosts++;
    }
    *out = h;
    return CC_OK;
}

static cc_status get_auth(fetch_engine *e, const char *key, host *h, auth **out)
{
    auth *a = hmap_get(&e->auths, key, auth_key);
    if (!a) {
        a = calloc(1, sizeof *a);
        if (!a || !(a->key = strdup(key))) {
            free(a);
            return cc_fail(CC_E_NOMEM, "fetch: out of memory (authority)");
        }
        a->h = h;
        cc_status st = hmap_put(&e->auths, a, auth_key);
        if (st != CC_OK) {
            free(a->key);
            free(a);
            return st;
        }
    }
    *out = a;
    return CC_OK;
}

/* Points it at the URL it->cur: finds its host and authority and queues it there, or finishes it
 * when the URL cannot be fetched (SSRF pre-checks that need no DNS). */
static cc_status item_route(fetch_engine *e, item *it, int front)
{
    url_parts p;
    char key[URL_HOST_MAX + 32];
    if (url_split(it->cur, &p) != CC_OK || url_authority(it->cur, key, sizeof key) != CC_OK) {
        finish(e, it, FETCH_BAD_URL, cc_errmsg());
        return CC_OK;
    }
    /* An IP literal is checked in full now; a name's port can be refused before DNS when no
     * allowed network could make it acceptable. */
    if (p.is_ip) {
        ssrf_verdict v = ssrf_check_ip(e->ssrf, p.host, p.port);
        if (v != SSRF_OK) {
            snprintf(it->detail, sizeof it->detail, "%.100s:%d refused (%s)", p.host, p.port,
                     ssrf_verdict_name(v));
            finish(e, it, FETCH_SSRF_BLOCKED, it->detail);
            return CC_OK;
        }
    } else if (ssrf_policy_net_count(e->ssrf) == 0 && !ssrf_policy_port_allowed(e->ssrf, p.port)) {
        snprintf(it->detail, sizeof it->detail, "port %d not allowed", p.port);
        finish(e, it, FETCH_SSRF_BLOCKED, it->detail);
        return CC_OK;
    }
    host *h = NULL;
    CC_TRY(get_host(e, p.host, &h));
    auth *a = NULL;
    CC_TRY(get_auth(e, key, h, &a));
    it->h = h;
    it->a = a;
    host_push(h, it, front);
    return host_update(e, h);
}

static void chain_add(item *it, const char *url)
{
    if (it->redirects <= MAX_HOPS)
        it->chain[it->redirects] = cc_hash64(url, strlen(url));
}

cc_status fetch_submit(fetch_engine *e, const char *url, fetch_kind kind, fetch_done_fn done,
                       void *user)
{
    if (!e || !url || !done || (unsigned)kind >= FETCH_KIND_COUNT)
        return cc_fail(CC_E_INVAL, "fetch_submit: bad argument");
    if (e->closing)
        return cc_fail(CC_E_INVAL, "fetch_submit: the engine is being freed");
    if (e->pending >= e->o.max_queued)
        return cc_fail(CC_E_LIMIT, "fetch: %zu URLs pending (max_queued)", e->pending);
    item *it = calloc(1, sizeof *it);
    if (!it)
        return cc_fail(CC_E_NOMEM, "fetch: out of memory (item)");
    it->kind = kind;
    it->done = done;
    it->user = user;
    it->submitted = now_s();
    it->heap_idx = NOT_IN_HEAP;
    cc_buf_init(&it->body, 0);
    char norm[URL_MAX];
    cc_status nst = url_normalize(url, norm, sizeof norm);
    if (nst == CC_OK) {
        it->url = strdup(norm);
        it->cur = strdup(norm);
    } else {
        snprintf(it->detail, sizeof it->detail, "%s", cc_errmsg());
        size_t n = strnlen(url, URL_MAX - 1);
        it->url = strndup(url, n);
        it->cur = strndup(url, n);
    }
    if (!it->url || !it->cur) {
        item_free(it);
        return cc_fail(CC_E_NOMEM, "fetch: out of memory (item)");
    }
    e->pending++;
    e->st.submitted++;
    if (nst != CC_OK) {
        finish(e, it, FETCH_BAD_URL, it->detail);
        return CC_OK;
    }
    chain_add(it, it->cur);
    return item_route(e, it, 0);
}

/* ---- libcurl callbacks ---------------------------------------------------------------------- */

static curl_socket_t open_socket_cb(void *clientp, curlsocktype purpose, struct curl_sockaddr *addr)
{
    xfer *x = clientp;
    (void)purpose;
    ssrf_verdict v = ssrf_check(x->e->ssrf, &addr->addr, addr->addrlen);
    if (v != SSRF_OK) {
        x->ssrf = v;
        return CURL_SOCKET_BAD;
    }
    return socket(addr->family, addr->socktype | SOCK_CLOEXEC, addr->protocol);
}

static int prereq_cb(void *clientp, char *primary_ip, char *local_ip, int primary_port,
                     int local_port)
{
    xfer *x = clientp;
    (void)local_ip;
    (void)local_port;
    ssrf_verdict v = ssrf_check_ip(x->e->ssrf, primary_ip, primary_port);
    if (v != SSRF_OK) {
        x->ssrf = v;
        return CURL_PREREQFUNC_ABORT;
    }
    return CURL_PREREQFUNC_OK;
}

static int ctype_ok(fetch_kind kind, const char *ct)
{
    char t[64];
    size_t n = 0;
    while (ct[n] && ct[n] != ';' && ct[n] != ' ' && n < sizeof t - 1) {
        t[n] = (char)((ct[n] >= 'A' && ct[n] <= 'Z') ? ct[n] + 32 : ct[n]);
        n++;
    }
    t[n] = 0;
    if (n == 0)
        return 1;
    switch (kind) {
    case FETCH_KIND_IMAGE:
        return strncmp(t, "image/", 6) == 0 || strcmp(t, "application/octet-stream") == 0 ||
               strcmp(t, "binary/octet-stream") == 0;
    case FETCH_KIND_HTML:
        return strcmp(t, "text/html") == 0 || strcmp(t, "application/xhtml+xml") == 0;
    default:
        return 1;
    }
}

/* X-Robots-Tag value: "noai, noimageai" or "clipcrawl: noindex" or "otherbot: none". */
static int xrobots_forbids(const char *v, const char *token)
{
    /* An agent prefix applies the directives after it only to that agent. */
    const char *colon = strchr(v, ':');
    if (colon) {
        const char *p = v;
        while (*p == ' ')
            p++;
        size_t n = (size_t)(colon - p);
        int is_agent = n > 0;
        for (size_t i = 0; i < n; i++)
            if (!((p[i] >= 'a' && p[i] <= 'z') || (p[i] >= 'A' && p[i] <= 'Z') || p[i] == '-' ||
                  p[i] == '_'))
                is_agent = 0;
        if (is_agent) {
            if (!(strlen(token) == n && strncasecmp(p, token, n) == 0))
                return 0;
            v = colon + 1;
        }
    }
    static const char *const bad[] = {"noai", "noimageai", "noindex", "noimageindex", "none"};
    const char *p = v;
    while (*p) {
        while (*p == ' ' || *p == ',' || *p == '\t')
            p++;
        const char *s = p;
        while (*p && *p != ',' && *p != ' ' && *p != '\t')
            p++;
        size_t n = (size_t)(p - s);
        for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
            if (n == strlen(bad[i]) && strncasecmp(s, bad[i], n) == 0)
                return 1;
    }
    return 0;
}

/* Copies a header value (after "Name:"), trimmed, into out. */
static void header_value(const char *line, size_t n, size_t namelen, char *out, size_t cap)
{
    size_t i = namelen;
    while (i < n && (line[i] == ' ' || line[i] == '\t'))
        i++;
    size_t j = n;
    while (j > i && (line[j - 1] == '\r' || line[j - 1] == '\n' || line[j - 1] == ' ' ||
                     line[j - 1] == '\t'))
        j--;
    size_t len = j - i < cap - 1 ? j - i : cap - 1;
    memcpy(out, line + i, len);
    out[len] = 0;
}

static int header_is(const char *line, size_t n, const char *name)
{
    size_t k = strlen(name);
    return n > k && strncasecmp(line, name, k) == 0 && line[k] == ':';
}

static size_t header_cb(char *line, size_t size, size_t nitems, void *userdata)
{
    xfer *x = userdata;
    size_t n = size * nitems;
    if (n >= 5 && strncmp(line, "HTTP/", 5) == 0) {
        /* a new response (after 1xx or on a retry inside libcurl): reset its state */
        const char *sp = memchr(line, ' ', n);
        x->status = sp ? strtol(sp + 1, NULL, 10) : 0;
        x->is_2xx = x->status >= 200 && x->status < 300;
        x->ctype[0] = 0;
        x->location[0] = 0;
        return n;
    }
    if (header_is(line, n, "Content-Type")) {
        header_value(line, n, 13, x->ctype, sizeof x->ctype);
    } else if (header_is(line, n, "Location")) {
        header_value(line, n, 9, x->location, sizeof x->location);
    } else if (header_is(line, n, "X-Robots-Tag") && x->it->kind != FETCH_KIND_ANY &&
               !x->it->is_robots) {
        char v[512];
        header_value(line, n, 13, v, sizeof v);
        if (x->is_2xx && xrobots_forbids(v, x->e->token)) {
            x->noai = 1;
            return 0; /* abort before the body */
        }
    } else if (header_is(line, n, "Content-Length") && x->is_2xx && !x->it->is_robots) {
        char v[32];
        header_value(line, n, 15, v, sizeof v);
        char *end;
        errno = 0;
        unsigned long long cl = strtoull(v, &end, 10);
        if (end != v && errno == 0 && cl > x->max) {
            x->too_large = 1;
            return 0;
        }
    } else if ((n == 2 && line[0] == '\r') || (n == 1 && line[0] == '\n')) {
        /* end of headers */
        if (x->is_2xx && !x->it->is_robots && !ctype_ok(x->it->kind, x->ctype)) {
            x->bad_type = 1;
            return 0;
        }
    }
    return n;
}

static size_t write_cb(char *data, size_t size, size_t nmemb, void *userdata)
{
    xfer *x = userdata;
    size_t n = size * nmemb;
    if (!x->is_2xx) {
        /* error and redirect bodies are read (keeping the connection) but not kept */
        if (x->body.len + n > ERROR_BODY_MAX)
            return 0;
        x->body.len += n;
        return n;
    }
    if (x->body.len + n > x->max) {
        if (x->it->is_robots) {
            x->robots_cut = 1; /* the first 500 KiB are all the RFC asks us to read */
            size_t room = x->max - x->body.len;
            if (room && cc_buf_append(&x->body, data, room) != CC_OK)
                return 0;
        } else {
            x->too_large = 1;
        }
        return 0;
    }
    if (cc_buf_append(&x->body, data, n) != CC_OK) {
        x->too_large = 1;
        return 0;
    }
    return n;
}

/* ---- transfers ------------------------------------------------------------------------------ */

static cc_status xfer_get(fetch_engine *e, xfer **out)
{
    xfer *x = e->free_xfers;
    if (x) {
        e->free_xfers = x->next_free;
        *out = x;
        return CC_OK;
    }
    xfer **all = realloc(e->all_xfers, (e->nxfers + 1) * sizeof *all);
    if (!all)
        return cc_fail(CC_E_NOMEM, "fetch: out of memory (transfer)");
    e->all_xfers = all;
    x = calloc(1, sizeof *x);
    if (!x)
        return cc_fail(CC_E_NOMEM, "fetch: out of memory (transfer)");
    x->e = e;
    x->easy = curl_easy_init();
    if (!x->easy) {
        free(x);
        return cc_fail(CC_E_IO, "fetch: curl_easy_init failed");
    }
    CURL *c = x->easy;
    const fetch_opts *o = &e->o;
    curl_easy_setopt(c, CURLOPT_PRIVATE, x);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(c, CURLOPT_PROXY, e->proxy ? e->proxy : "");
    curl_easy_setopt(c, CURLOPT_NETRC, (long)CURL_NETRC_IGNORED);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
    curl_easy_setopt(c, CURLOPT_USERAGENT, e->ua);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long)(o->connect_timeout * 1000));
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)(o->timeout * 1000));
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, o->low_speed_limit);
    long lst = (long)ceil(o->low_speed_time);
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, lst < 1 ? 1L : lst);
    curl_easy_setopt(c, CURLOPT_ACCEPT_ENCODING, "");
    curl_easy_setopt(c, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS);
    curl_easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(c, CURLOPT_SHARE, e->share);
    if (e->resolve)
        curl_easy_setopt(c, CURLOPT_RESOLVE, e->resolve);
    curl_easy_setopt(c, CURLOPT_OPENSOCKETFUNCTION, open_socket_cb);
    curl_easy_setopt(c, CURLOPT_OPENSOCKETDATA, x);
    curl_easy_setopt(c, CURLOPT_PREREQFUNCTION, prereq_cb);
    curl_easy_setopt(c, CURLOPT_PREREQDATA, x);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, header_cb);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, x);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, write_cb);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, x);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, x->errbuf);
    e->all_xfers[e->nxfers++] = x;
    *out = x;
    return CC_OK;
}

static size_t kind_max(const fetch_engine *e, const item *it)
{
    if (it->is_robots)
        return ROBOTS_FETCH_MAX;
    return it->kind == FETCH_KIND_IMAGE ? e->o.max_image_bytes : e->o.max_html_bytes;
}

/* Starts a request for it (popped from its host, which is ready). */
static cc_status start(fetch_engine *e, item *it, double now)
{
    xfer *x = NULL;
    cc_status st = xfer_get(e, &x);
    if (st != CC_OK)
        return st;
    x->it = it;
    x->max = kind_max(e, it);
    x->body.max = x->max; /* keeps the allocation of the previous transfer */
    x->body.len = 0;
    x->status = 0;
    x->is_2xx = 0;
    x->too_large = x->bad_type = x->noai = x->robots_cut = 0;
    x->ssrf = SSRF_OK;
    x->ctype[0] = x->location[0] = x->errbuf[0] = 0;
    x->started = now;
    curl_easy_setopt(x->easy, CURLOPT_URL, it->cur);
    curl_easy_setopt(x->easy, CURLOPT_HTTPHEADER,
                     e->accept[it->is_robots ? FETCH_KIND_ANY : it->kind]);
    curl_off_t mfs = (curl_off_t)x->max;
    curl_easy_setopt(x->easy, CURLOPT_MAXFILESIZE_LARGE, it->is_robots ? (curl_off_t)0 : mfs);
    CURLMcode mc = curl_multi_add_handle(e->multi, x->easy);
    if (mc != CURLM_OK) {
        x->next_free = e->free_xfers;
        e->free_xfers = x;
        return cc_fail(CC_E_IO, "fetch: curl_multi_add_handle: %s", curl_multi_strerror(mc));
    }
    host *h = it->h;
    h->inflight++;
    h->next_ok = now + h->delay + h->penalty;
    e->inflight++;
    if ((size_t)e->inflight > e->st.max_inflight_seen)
        e->st.max_inflight_seen = (size_t)e->inflight;
    e->st.requests++;
    if (it->is_robots)
        e->st.robots_fetched++;
    else
        it->attempts++;
    it->hop_tries++;
    return CC_OK;
}

static cc_status start_robots(fetch_engine *e, auth *a, double now)
{
    item *r = calloc(1, sizeof *r);
    char url[URL_MAX];
    snprintf(url, sizeof url, "%s/robots.txt", a->key);
    /* a->key is scheme://host:port: normalize drops a default port */
    char norm[URL_MAX];
    if (!r || url_normalize(url, norm, sizeof norm) != CC_OK || !(r->url = strdup(norm)) ||
        !(r->cur = strdup(norm))) {
        item_free(r);
        return cc_fail(CC_E_NOMEM, "fetch: cannot make the robots.txt request of %s", a->key);
    }
    r->is_robots = 1;
    r->ra = a;
    r->kind = FETCH_KIND_ANY;
    r->h = a->h;
    r->a = a;
    r->heap_idx = NOT_IN_HEAP;
    r->submitted = now;
    cc_buf_init(&r->body, 0);
    chain_add(r, r->cur);
    a->state = RS_FETCHING;
    a->h->wait = a;
    cc_status st = start(e, r, now);
    if (st != CC_OK) {
        a->state = RS_NONE;
        a->h->wait = NULL;
        item_free(r);
    }
    return st;
}

/* Robots decisions for the head item of h at time now. Returns 1 when the head may start, 0 when
 * the host must wait or the head was finished (the caller loops). */
static int robots_gate(fetch_engine *e, host *h, double now, cc_status *st)
{
    item *it = h->head;
    auth *a = it->a;
    *st = CC_OK;
    if (!e->o.obey_robots || it->is_robots)
        return 1;
    if ((a->state == RS_READY || a->state == RS_FAILED) && now >= a->expires) {
        robots_free(a->rb);
        a->rb = NULL;
        a->state = RS_NONE;
        a->failures = 0;
    }
    switch (a->state) {
    case RS_NONE:
        *st = start_robots(e, a, now);
        return 0;
    case RS_RETRY:
        if (now < a->retry_at) {
            if (h->next_ok < a->retry_at)
                h->next_ok = a->retry_at;
            return 0;
        }
        *st = start_robots(e, a, now);
        return 0;
    case RS_FAILED:
        host_pop(h);
        finish(e, it, a->fail_outcome, a->fail_detail);
        return 0;
    case RS_READY: {
        url_parts p;
        if (url_split(it->cur, &p) == CC_OK && !robots_is_allowed(a->rb, p.path_query)) {
            host_pop(h);
            finish(e, it, FETCH_ROBOTS_DENIED, "disallowed by robots.txt");
            return 0;
        }
        return 1;
    }
    default: /* RS_FETCHING: the host waits for it */
        h->wait = a;
        return 0;
    }
}

/* Moves due retries back to their hosts and starts every transfer that politeness allows. */
static cc_status dispatch(fetch_engine *e, double now)
{
    while (e->ndelayed && e->delayed[0]->not_before <= now) {
        item *it = delayed_pop(e);
        host_push(it->h, it, 0);
        CC_TRY(host_update(e, it->h));
    }
    while (e->nready && e->inflight < e->o.max_inflight && e->ready[0]->next_ok <= now) {
        host *h = e->ready[0];
        cc_status st;
        int go = robots_gate(e, h, now, &st);
        if (st != CC_OK)
            return st;
        if (go) {
            item *it = host_pop(h);
            st = start(e, it, now);
            if (st != CC_OK) {
                host_push(h, it, 1);
                return st;
            }
        }
        CC_TRY(host_update(e, h));
    }
    return CC_OK;
}

/* ---- completion ----------------------------------------------------------------------------- */

static double backoff(fetch_engine *e, int tries)
{
    double jitter = 0.5 + (double)(rng_next(&e->rng) >> 11) / 9007199254740992.0;
    double d = e->o.backoff_base * ldexp(1.0, tries > 20 ? 20 : tries - 1) * jitter;
    return d < e->o.retry_after_cap ? d : e->o.retry_after_cap;
}

typedef enum { K_FINAL, K_RETRY, K_HOST_BACKOFF } retry_kind;

/* Classifies a finished request: outcome, and whether it may be retried. */
static fetch_outcome classify(const xfer *x, CURLcode rc, long status, retry_kind *rk)
{
    *rk = K_FINAL;
    if (x->ssrf != SSRF_OK && rc != CURLE_OK)
        return FETCH_SSRF_BLOCKED; /* (a refused address then an allowed one is a success) */
    if (x->too_large)
        return FETCH_TOO_LARGE;
    if (x->bad_type)
        return FETCH_BAD_CONTENT_TYPE;
    if (x->noai)
        return FETCH_X_ROBOTS_TAG;
    if (x->robots_cut)
        return FETCH_OK;
    switch (rc) {
    case CURLE_OK:
        break;
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
        *rk = K_RETRY;
        return FETCH_DNS;
    case CURLE_COULDNT_CONNECT:
        *rk = K_RETRY;
        return FETCH_CONNECT;
    case CURLE_OPERATION_TIMEDOUT:
        *rk = K_RETRY;
        return strncmp(x->errbuf, "Operation too slow", 18) == 0 ? FETCH_TOO_SLOW : FETCH_TIMEOUT;
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_HTTP2_STREAM:
        *rk = K_RETRY;
        return FETCH_CONN_RESET;
    case CURLE_PARTIAL_FILE:
        *rk = K_RETRY;
        return FETCH_TRUNCATED;
    case CURLE_FILESIZE_EXCEEDED:
        return FETCH_TOO_LARGE;
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
        return FETCH_TLS;
    case CURLE_URL_MALFORMAT:
        return FETCH_BAD_URL;
    default:
        return FETCH_PROTOCOL;
    }
    if (status >= 200 && status < 300)
        return FETCH_OK;
    if (status >= 300 && status < 400)
        return FETCH_HTTP_3XX;
    if (status == 429) {
        *rk = K_HOST_BACKOFF;
        return FETCH_HTTP_429;
    }
    if (status == 503) {
        *rk = K_HOST_BACKOFF;
        return FETCH_HTTP_5XX;
    }
    if (status >= 500 && status < 600) {
        *rk = K_RETRY;
        return FETCH_HTTP_5XX;
    }
    if (status == 404 || status == 410)
        return FETCH_HTTP_404;
    if (status >= 400 && status < 500)
        return FETCH_HTTP_4XX;
    return FETCH_PROTOCOL;
}

/* Robots.txt answered (or failed): sets the authority's state and wakes its host. */
static cc_status robots_done(fetch_engine *e, item *r, fetch_outcome o, long status,
                             const cc_buf *body, double now)
{
    auth *a = r->ra;
    cc_status st = CC_OK;
    robots *rb = NULL;
    if (o == FETCH_OK && body) {
        st = robots_parse((const char *)body->data, body->len, e->token, &rb);
    } else if (o == FETCH_HTTP_404 || o == FETCH_HTTP_4XX || o == FETCH_HTTP_3XX ||
               o == FETCH_TOO_MANY_REDIRECTS || o == FETCH_REDIRECT_LOOP ||
               o == FETCH_BAD_CONTENT_TYPE || o == FETCH_TOO_LARGE) {
        st = robots_new_allow_all(&rb); /* unavailable (4xx): everything allowed */
    }
    if (st != CC_OK)
        return st;
    if (rb) {
        a->state = RS_READY;
        a->rb = rb;
        a->expires = now + e->o.robots_ttl;
        a->failures = 0;
        double cd = robots_crawl_delay(rb);
        if (cd > 0) {
            if (cd > e->o.crawl_delay_cap)
                cd = e->o.crawl_delay_cap;
            if (cd > a->h->delay)
                a->h->delay = cd;
        }
    } else if (o == FETCH_SSRF_BLOCKED || o == FETCH_TLS || o == FETCH_BAD_URL) {
        /* the authority itself cannot be fetched: every URL of it ends the same way */
        a->state = RS_FAILED;
        a->fail_outcome = o;
        snprintf(a->fail_detail, sizeof a->fail_detail, "robots.txt: %.140s", r->detail);
        a->expires = now + e->o.retry_after_cap;
    } else {
        /* 5xx, 429, network trouble: disallow everything for now and retry later */
        a->failures++;
        if (a->failures > e->o.max_retries) {
            a->state = RS_FAILED;
            a->fail_outcome = FETCH_ROBOTS_UNAVAILABLE;
            if (status)
                snprintf(a->fail_detail, sizeof a->fail_detail,
                         "robots.txt failed %d times: %s %ld", a->failures, fetch_outcome_name(o),
                         status);
            else
                snprintf(a->fail_detail, sizeof a->fail_detail, "robots.txt failed %d times: %s",
                         a->failures, fetch_outcome_name(o));
            a->expires = now + e->o.retry_after_cap;
        } else {
            a->state = RS_RETRY;
            a->retry_at = now + backoff(e, a->failures);
        }
    }
    if (a->h->wait == a)
        a->h->wait = NULL;
    return host_update(e, a->h);
}

/* A 3xx with a Location: the next hop goes back to the frontier. Returns 1 when it did. */
static int follow(fetch_engine *e, item *it, const xfer *x, cc_status *st)
{
    *st = CC_OK;
    if (!x->location[0])
        return 0;
    char next[URL_MAX];
    int maxr = it->is_robots ? 5 : e->o.max_redirects;
    if (url_resolve(it->cur, x->location, next, sizeof next) != CC_OK) {
        snprintf(it->detail, sizeof it->detail, "redirect to a URL we do not fetch: %.100s",
                 x->location);
        finish(e, it, FETCH_BAD_URL, NULL);
        return 1;
    }
    if (it->redirects >= maxr) {
        snprintf(it->detail, sizeof it->detail, "more than %d redirects", maxr);
        finish(e, it, FETCH_TOO_MANY_REDIRECTS, NULL);
        return 1;
    }
    uint64_t hsh = cc_hash64(next, strlen(next));
    for (int i = 0; i <= it->redirects && i <= MAX_HOPS; i++)
        if (it->chain[i] == hsh) {
            snprintf(it->detail, sizeof it->detail, "loop back to %.120s", next);
            finish(e, it, FETCH_REDIRECT_LOOP, NULL);
            return 1;
        }
    char *dup = strdup(next);
    if (!dup) {
        *st = cc_fail(CC_E_NOMEM, "fetch: out of memory (redirect)");
        return 1;
    }
    free(it->cur);
    it->cur = dup;
    it->redirects++;
    it->hop_tries = 0;
    chain_add(it, it->cur);
    e->st.redirects++;
    *st = item_route(e, it, it->is_robots);
    return 1;
}

static cc_status complete(fetch_engine *e, xfer *x, CURLcode rc, double now)
{
    item *it = x->it;
    host *h = it->h;
    long status = 0;
    curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &status);
    curl_off_t retry_after = 0;
    curl_easy_getinfo(x->easy, CURLINFO_RETRY_AFTER, &retry_after);
    curl_multi_remove_handle(e->multi, x->easy);
    e->inflight--;
    h->inflight--;
    double after = now + h->delay + h->penalty;
    if (h->next_ok < after)
        h->next_ok = after;
    it->http_status = (int)status;
    e->st.body_bytes += x->is_2xx ? x->body.len : 0;

    retry_kind rk;
    fetch_outcome o = classify(x, rc, status, &rk);
    if (o == FETCH_SSRF_BLOCKED)
        snprintf(it->detail, sizeof it->detail, "connection refused by the SSRF guard (%s)",
                 ssrf_verdict_name(x->ssrf));
    else if (rc != CURLE_OK && !x->too_large && !x->bad_type && !x->noai)
        snprintf(it->detail, sizeof it->detail, "%.150s",
                 x->errbuf[0] ? x->errbuf : curl_easy_strerror(rc));
    else if (x->bad_type)
        snprintf(it->detail, sizeof it->detail, "content type %s", x->ctype);
    else if (x->too_large)
        snprintf(it->detail, sizeof it->detail, "body over %zu bytes", x->max);
    else if (x->noai)
        snprintf(it->detail, sizeof it->detail, "X-Robots-Tag forbids use");
    else
        it->detail[0] = 0;

    cc_status st = CC_OK;
    if (o == FETCH_OK && !x->robots_cut && h->penalty > 0) {
        h->penalty /= 2; /* the host recovers */
        if (h->penalty < e->o.backoff_base / 2)
            h->penalty = 0;
    }
    if (o == FETCH_HTTP_3XX) {
        int followed = follow(e, it, x, &st);
        if (followed || st != CC_OK)
            goto out;
    }
    int tries = it->is_robots ? 1 : it->hop_tries;
    if (rk != K_FINAL && !it->is_robots && tries <= e->o.max_retries) {
        e->st.retries++;
        if (rk == K_HOST_BACKOFF) {
            double wait;
            if (retry_after > 0) {
                wait = (double)retry_after;
            } else {
                wait = h->penalty > 0 ? h->penalty * 2 : e->o.backoff_base;
            }
            if (wait > e->o.retry_after_cap)
                wait = e->o.retry_after_cap;
            if (retry_after <= 0)
                h->penalty = wait;
            if (h->next_ok < now + wait)
                h->next_ok = now + wait;
            host_push(h, it, 1);
            st = host_update(e, h);
        } else {
            it->not_before = now + backoff(e, tries);
            st = delayed_push(e, it);
        }
        goto out;
    }
    if (it->is_robots) {
        st = robots_done(e, it, o, status, &x->body, now);
        item_free(it);
        goto out;
    }
    if (o == FETCH_OK) {
        /* the body moves to the item; the transfer gets a fresh buffer */
        it->body = x->body;
        cc_buf_init(&x->body, x->max);
        it->content_type = strdup(x->ctype);
    }
    finish(e, it, o, NULL);
out:
    x->it = NULL;
    if (x->body.cap > KEEP_BUF_CAP)
        cc_buf_free(&x->body);
    x->next_free = e->free_xfers;
    e->free_xfers = x;
    if (st == CC_OK)
        st = host_update(e, h);
    return st;
}

static void drain_finished(fetch_engine *e)
{
    double now = now_s();
    while (e->fin_head) {
        item *it = e->fin_head;
        e->fin_head = it->next;
        if (!e->fin_head)
            e->fin_tail = NULL;
        fetch_result r = {
            .outcome = it->outcome,
            .http_status = it->http_status,
            .url = it->url,
            .final_url = it->cur,
            .content_type = it->content_type ? it->content_type : "",
            .body = it->outcome == FETCH_OK ? it->body.data : NULL,
            .body_len = it->outcome == FETCH_OK ? it->body.len : 0,
            .attempts = it->attempts,
            .redirects = it->redirects,
            .seconds = now - it->submitted,
            .detail = it->detail,
        };
        e->st.outcome[it->outcome]++;
        e->st.done++;
        e->pending--;
        it->done(it->user, &r);
        item_free(it);
    }
}

/* ---- engine --------------------------------------------------------------------------------- */

static void share_lock(CURL *c, curl_lock_data d, curl_lock_access a, void *p)
{
    (void)c;
    (void)d;
    (void)a;
    pthread_mutex_lock(p);
}

static void share_unlock(CURL *c, curl_lock_data d, void *p)
{
    (void)c;
    (void)d;
    pthread_mutex_unlock(p);
}

static pthread_once_t global_once = PTHREAD_ONCE_INIT;
static CURLcode global_rc;
static void global_init(void)
{
    global_rc = curl_global_init(CURL_GLOBAL_ALL);
}

static int token_ok(const char *t)
{
    if (!t || !*t)
        return 0;
    for (; *t; t++)
        if (!((*t >= 'a' && *t <= 'z') || (*t >= 'A' && *t <= 'Z') || *t == '-' || *t == '_'))
            return 0;
    return 1;
}

static cc_status check_opts(const fetch_opts *o)
{
    CC_CHECK(o->per_host >= 1 && o->per_host <= 1024, CC_E_INVAL,
             "fetch: per-host must be 1..1024, not %d", o->per_host);
    CC_CHECK(o->max_inflight >= 1 && o->max_inflight <= 100000, CC_E_INVAL,
             "fetch: inflight must be 1..100000, not %d", o->max_inflight);
    CC_CHECK(o->host_delay >= 0 && o->host_delay <= 86400, CC_E_INVAL,
             "fetch: host delay must be 0..86400 s");
    CC_CHECK(o->max_retries >= 0 && o->max_retries <= 100, CC_E_INVAL,
             "fetch: retries must be 0..100");
    CC_CHECK(o->max_redirects >= 0 && o->max_redirects <= MAX_HOPS, CC_E_INVAL,
             "fetch: redirects must be 0..%d", MAX_HOPS);
    CC_CHECK(o->timeout > 0 && o->connect_timeout > 0 && o->timeout <= 86400 &&
                 o->connect_timeout <= 86400,
             CC_E_INVAL, "fetch: timeouts must be > 0 and <= 86400 s");
    CC_CHECK(o->backoff_base >= 0 && o->retry_after_cap >= 0 && o->crawl_delay_cap >= 0 &&
                 o->robots_ttl >= 0 && o->low_speed_limit >= 0 && o->low_speed_time >= 0,
             CC_E_INVAL, "fetch: negative delays and limits are not allowed");
    CC_CHECK(o->max_image_bytes > 0 && o->max_html_bytes > 0, CC_E_INVAL,
             "fetch: body limits must be > 0");
    CC_CHECK(o->max_queued > 0, CC_E_INVAL, "fetch: max_queued must be > 0");
    CC_CHECK(token_ok(o->robots_token), CC_E_INVAL,
             "fetch: robots token must be letters, '-' and '_' only");
    CC_CHECK(o->user_agent && *o->user_agent && !strpbrk(o->user_agent, "\r\n"), CC_E_INVAL,
             "fetch: user agent must be one non-empty line");
    return CC_OK;
}

cc_status fetch_engine_new(const fetch_opts *opts, fetch_engine **out)
{
    *out = NULL;
    fetch_opts d;
    if (!opts) {
        fetch_opts_default(&d);
        opts = &d;
    }
    CC_TRY(check_opts(opts));
    pthread_once(&global_once, global_init);
    if (global_rc != CURLE_OK)
        return cc_fail(CC_E_IO, "fetch: curl_global_init: %s", curl_easy_strerror(global_rc));
    fetch_engine *e = calloc(1, sizeof *e);
    if (!e)
        return cc_fail(CC_E_NOMEM, "fetch: out of memory");
    cc_status st = CC_OK;
    e->o = *opts;
    e->ua = dup_str(opts->user_agent);
    e->token = dup_str(opts->robots_token);
    e->proxy = dup_str(opts->proxy);
    pthread_mutex_init(&e->share_lock, NULL);
    if (!e->ua || !e->token || (opts->proxy && !e->proxy)) {
        st = cc_fail(CC_E_NOMEM, "fetch: out of memory");
        goto fail;
    }
    for (const char *const *r = opts->resolve; r && *r; r++) {
        struct curl_slist *n = curl_slist_append(e->resolve, *r);
        if (!n) {
            st = cc_fail(CC_E_NOMEM, "fetch: out of memory");
            goto fail;
        }
        e->resolve = n;
    }
    static const char *const accept[FETCH_KIND_COUNT] = {
        "Accept: image/webp,image/jpeg,image/png,image/*;q=0.8,*/*;q=0.1",
        "Accept: text/html,application/xhtml+xml;q=0.9,*/*;q=0.1",
        "Accept: */*",
    };
    for (int k = 0; k < FETCH_KIND_COUNT; k++)
        if (!(e->accept[k] = curl_slist_append(NULL, accept[k]))) {
            st = cc_fail(CC_E_NOMEM, "fetch: out of memory");
            goto fail;
        }
    if (opts->ssrf) {
        e->ssrf = opts->ssrf;
    } else {
        CC_TRY_GOTO(st, ssrf_policy_new(&e->own_ssrf), fail);
        e->ssrf = e->own_ssrf;
    }
    e->multi = curl_multi_init();
    e->share = curl_share_init();
    if (!e->multi || !e->share) {
        st = cc_fail(CC_E_IO, "fetch: libcurl could not start");
        goto fail;
    }
    curl_share_setopt(e->share, CURLSHOPT_LOCKFUNC, share_lock);
    curl_share_setopt(e->share, CURLSHOPT_UNLOCKFUNC, share_unlock);
    curl_share_setopt(e->share, CURLSHOPT_USERDATA, &e->share_lock);
    curl_share_setopt(e->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
    curl_share_setopt(e->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
    curl_multi_setopt(e->multi, CURLMOPT_PIPELINING, (long)CURLPIPE_MULTIPLEX);
    e->rng = opts->seed ? opts->seed : 0x636c697063726177ull;
    e->t0 = now_s();
    *out = e;
    return CC_OK;
fail:
    fetch_engine_free(e);
    return st;
}

static void cancel_item(fetch_engine *e, item *it)
{
    if (it->is_robots) {
        item_free(it);
        return;
    }
    finish(e, it, FETCH_CANCELLED, "engine freed");
}

void fetch_engine_free(fetch_engine *e)
{
    if (!e)
        return;
    e->closing = 1;
    for (size_t i = 0; i < e->nxfers; i++) {
        xfer *x = e->all_xfers[i];
        if (x->it) {
            curl_multi_remove_handle(e->multi, x->easy);
            cancel_item(e, x->it);
            x->it = NULL;
        }
    }
    for (size_t i = 0; i < e->ndelayed; i++)
        cancel_item(e, e->delayed[i]);
    e->ndelayed = 0;
    for (size_t i = 0; i < e->hosts.cap; i++) {
        host *h = e->hosts.slots[i];
        if (!h)
            continue;
        while (h->head)
            cancel_item(e, host_pop(h));
    }
    drain_finished(e);
    for (size_t i = 0; i < e->nxfers; i++) {
        curl_easy_cleanup(e->all_xfers[i]->easy);
        cc_buf_free(&e->all_xfers[i]->body);
        free(e->all_xfers[i]);
    }
    free(e->all_xfers);
    for (size_t i = 0; i < e->hosts.cap; i++) {
        host *h = e->hosts.slots[i];
        if (h) {
            free(h->name);
            free(h);
        }
    }
    for (size_t i = 0; i < e->auths.cap; i++) {
        auth *a = e->auths.slots[i];
        if (a) {
            robots_free(a->rb);
            free(a->key);
            free(a);
        }
    }
    free(e->hosts.slots);
    free(e->auths.slots);
    free(e->ready);
    free(e->delayed);
    if (e->multi)
        curl_multi_cleanup(e->multi);
    if (e->share)
        curl_share_cleanup(e->share);
    curl_slist_free_all(e->resolve);
    for (int k = 0; k < FETCH_KIND_COUNT; k++)
        curl_slist_free_all(e->accept[k]);
    ssrf_policy_free(e->own_ssrf);
    pthread_mutex_destroy(&e->share_lock);
    free(e->ua);
    free(e->token);
    free(e->proxy);
    free(e);
}

size_t fetch_pending(const fetch_engine *e)
{
    return e->pending;
}

void fetch_get_stats(const fetch_engine *e, fetch_stats *out)
{
    *out = e->st;
    size_t queued = e->ndelayed;
    for (size_t i = 0; i < e->hosts.cap; i++) {
        const host *h = e->hosts.slots[i];
        if (h)
            queued += h->queued;
    }
    out->queued = queued;
    out->inflight = (size_t)e->inflight;
}

cc_status fetch_run(fetch_engine *e, double max_seconds, size_t *pending)
{
    double deadline = max_seconds < 0 ? INFINITY : now_s() + max_seconds;
    cc_status st = CC_OK;
    for (;;) {
        drain_finished(e);
        double now = now_s();
        if (e->pending == 0 || now >= deadline)
            break;
        CC_TRY_GOTO(st, dispatch(e, now), out);
        drain_finished(e);
        int running = 0;
        CURLMcode mc = curl_multi_perform(e->multi, &running);
        if (mc != CURLM_OK) {
            st = cc_fail(CC_E_IO, "fetch: curl_multi_perform: %s", curl_multi_strerror(mc));
            goto out;
        }
        CURLMsg *m;
        int left;
        int completed = 0;
        while ((m = curl_multi_info_read(e->multi, &left))) {
            if (m->msg != CURLMSG_DONE)
                continue;
            xfer *x = NULL;
            curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&x);
            CURLcode rc = m->data.result;
            CC_TRY_GOTO(st, complete(e, x, rc, now_s()), out);
            completed++;
        }
        if (completed || e->fin_head)
            continue; /* callbacks, then new transfers, before sleeping */
        /* Sleep until a socket is ready, a host or a retry comes due, or the deadline. */
        now = now_s();
        double wake = deadline;
        if (e->nready && e->inflight < e->o.max_inflight && e->ready[0]->next_ok < wake)
            wake = e->ready[0]->next_ok;
        if (e->ndelayed && e->delayed[0]->not_before < wake)
            wake = e->delayed[0]->not_before;
        double wait = wake - now;
        int ms = wait <= 0 ? 0 : wait > 1.0 ? 1000 : (int)(wait * 1000) + 1;
        if (ms > 0) {
            mc = curl_multi_poll(e->multi, NULL, 0, ms, NULL);
            if (mc != CURLM_OK) {
                st = cc_fail(CC_E_IO, "fetch: curl_multi_poll: %s", curl_multi_strerror(mc));
                goto out;
            }
        }
    }
out:
    if (pending)
        *pending = e->pending;
    return st;
}
