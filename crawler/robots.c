/* crawler/robots.c — robots.txt (RFC 9309) parsing and matching; see robots.h.
 *
 * Decisions where the RFC is silent or real files are messy (Google's open-source parser is the
 * reference for what the web expects):
 *   - Input: at most ROBOTS_MAX_BYTES bytes are read. A UTF-8 BOM, or the start of one, is
 *     skipped. Lines end at LF, CR or CRLF. NUL and other control bytes are ordinary bytes: in a
 *     key they make it unknown, in a pattern they are percent-encoded.
 *   - A line longer than ROBOTS_LINE_MAX (16 KiB) is cut there and the rest skipped; so is the
 *     last line when the ROBOTS_MAX_BYTES cut falls inside it. A cut line is "incomplete": a cut
 *     Disallow is kept (its prefix disallows at least what was written), a cut Allow and a cut
 *     Sitemap are dropped (a prefix would allow more than written, a cut URL is wrong). When the
 *     comment starts before the cut, only the comment was cut and the line is complete.
 *   - '#' starts a comment anywhere on the line (a URL path cannot hold a raw '#'). Spaces and
 *     tabs around keys and values are trimmed; blank lines mean nothing.
 *   - Keys are case-insensitive; accepted spellings: user-agent, useragent, user agent,
 *     user_agent; allow; disallow and the misspellings dissallow, dissalow, disalow, diasllow,
 *     disallaw; crawl-delay, crawldelay, crawl delay, crawl_delay; sitemap, site-map. Other keys
 *     are ignored.
 *   - A missing colon is accepted when the line is exactly two words, a known key and its value
 *     ("Disallow /x", "Sitemap https://x/s.xml"), as Google does.
 *   - Groups: consecutive user-agent lines open one group; the first allow, disallow or
 *     crawl-delay line ends the run of user-agent lines, and the next user-agent line opens a
 *     new group. Sitemap, unknown and blank lines do not end the run. Rules before any
 *     user-agent line are ignored. A group whose user-agent lines name both us and '*' adds its
 *     rules to both sets; the '*' set is used only when no group names us.
 *   - User-agent values: '*' alone (or followed by a space) is the wildcard; otherwise the
 *     leading run of [A-Za-z_-] is the product token ("ClipCrawl/1.0" -> "ClipCrawl"), compared
 *     with ours case-insensitively and in full ("clipcrawlbot" does not name "clipcrawl").
 *   - Patterns: an empty allow or disallow value is ignored. A value that starts with neither
 *     '/' nor '*' gets a '/' in front ("Disallow: private/" means "/private/"). Only a final '$'
 *     anchors; a '$' elsewhere is literal. Patterns and paths go through one percent-encoding
 *     normalization (url_percent_normalize), the canonical form of crawler/url.h: hex upper-case,
 *     escapes of unreserved characters decoded, bytes outside printable ASCII and
 *     space " < > ` { } | ^ encoded, a '%' without two hex digits written "%25". So "%7e" is
 *     "~", "é" is "%C3%A9", and "%2F" stays distinct from "/".
 *   - Priority: the longest pattern (normalized, '*' and '$' counted) wins, Allow on a tie.
 *     "/robots.txt" (exactly, after normalization) is always allowed.
 *   - Crawl-delay: the whole value must be a decimal number ("10", "0.5", ".5"); anything else
 *     (signs, units, exponents, "inf") is ignored; values above ROBOTS_DELAY_MAX are capped.
 *     The largest value of the groups that apply wins.
 *   - Limits: rules past ROBOTS_MAX_RULES and sitemaps past ROBOTS_MAX_SITEMAPS are ignored.
 *     Sitemaps are kept as written (not normalized, not deduplicated); a value holding a
 *     control byte (NUL, tab, ...) is not a URL and is dropped.
 *
 * Matching: the rules are sorted by priority (length descending, Allow first), so the first
 * rule that matches decides. To avoid testing every rule, rules are indexed by the byte after
 * their leading '/' (256 buckets) plus one bucket for rules without one ("/", "/$", "*...",
 * "/" then '*'); a path tests only its own bucket and that one, merged in priority order. A rule
 * that needs a byte the path does not hold is skipped without matching (byte_set). A pattern
 * is matched greedily: its first '*'-separated segment at the start of the path, each next one
 * at its leftmost occurrence (memmem, linear), the last one at the end when anchored by '$'.
 * Leftmost placement leaves the most room for what follows, so greedy is exact for '*'-only
 * globs, and the cost is O(path × pattern) at worst, never exponential.
 */
#include "crawler/robots.h"

#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/buf.h"
#include "crawler/url.h"

#define ROBOTS_LINE_MAX (16u * 1024) /* bytes of one line that are read */
#define ROBOTS_DELAY_MAX 86400.0 /* largest crawl-delay kept, seconds */
#define ROBOTS_ANY 256 /* bucket of rules that do not start with "/" + a fixed byte */
#define ROBOTS_PATH_STACK 8192 /* paths up to 2730 bytes (URL_MAX: 2048) need no allocation */

typedef struct rule {
    uint32_t off; /* pattern in the text arena, NUL-terminated, final '$' included */
    uint32_t mlen; /* bytes to match: the pattern without its final '$' */
    uint32_t len; /* priority: the normalized pattern length, '$' included */
    uint8_t allow; /* 1 Allow, 0 Disallow */
    uint8_t anchored; /* 1 when the pattern ends with '$' */
    uint64_t need[2]; /* byte set of the pattern's literal bytes (see byte_set) */
} rule;

/* The rules of one kind of group ("us" or '*') while parsing. */
typedef struct rule_set {
    cc_buf rules; /* rule[] */
    cc_buf text; /* patterns, each NUL-terminated */
    double delay; /* largest crawl-delay, -1 when none */
    int seen; /* a group of this kind exists (even without rules) */
} rule_set;

struct robots {
    rule *rules; /* nrules, priority order */
    size_t nrules;
    char *text; /* pattern arena */
    uint32_t *order; /* rule indices grouped by bucket, priority order inside a bucket */
    uint32_t start[ROBOTS_ANY + 2]; /* bucket b is order[start[b] .. start[b + 1]) */
    double delay;
    char *sitemap_text; /* sitemap arena, each NUL-terminated */
    uint32_t *sitemap_off; /* nsitemaps offsets into sitemap_text */
    size_t nsitemaps;
};

typedef enum key { KEY_NONE, KEY_UA, KEY_ALLOW, KEY_DISALLOW, KEY_DELAY, KEY_SITEMAP } key;

static const struct {
    const char *name;
    key k;
} keys[] = {
    {"user-agent", KEY_UA},      {"useragent", KEY_UA},      {"user agent", KEY_UA},
    {"user_agent", KEY_UA},      {"allow", KEY_ALLOW},       {"disallow", KEY_DISALLOW},
    {"dissallow", KEY_DISALLOW}, {"dissalow", KEY_DISALLOW}, {"disalow", KEY_DISALLOW},
    {"diasllow", KEY_DISALLOW},  {"disallaw", KEY_DISALLOW}, {"crawl-delay", KEY_DELAY},
    {"crawldelay", KEY_DELAY},   {"crawl delay", KEY_DELAY}, {"crawl_delay", KEY_DELAY},
    {"sitemap", KEY_SITEMAP},    {"site-map", KEY_SITEMAP},
};

/* ---- percent-encoding ---------------------------------------------------------------------- */

/* The set of bytes in s[0..n), '*' left out, as 128 bits. Normalized text is printable ASCII,
 * so the set is exact: a rule that needs a byte the path lacks cannot match, which rejects most
 * rules with two ANDs before any memcmp or memmem. */
static void byte_set(const char *s, size_t n, uint64_t set[2])
{
    set[0] = set[1] = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned c = (unsigned char)s[i] & 127;
        if (c != '*')
            set[c >> 6] |= (uint64_t)1 << (c & 63);
    }
}

/* ---- rule sets ----------------------------------------------------------------------------- */

static void set_init(rule_set *s)
{
    cc_buf_init(&s->rules, (size_t)ROBOTS_MAX_RULES * sizeof(rule));
    /* Each pattern takes at most 3 bytes per value byte + 2 ('/' and NUL), less than 3 bytes per
     * byte of its line, so the arena can never outgrow this. */
    cc_buf_init(&s->text, 3 * (size_t)ROBOTS_MAX_BYTES + 64);
    s->delay = -1;
    s->seen = 0;
}

static void set_free(rule_set *s)
{
    cc_buf_free(&s->rules);
    cc_buf_free(&s->text);
}

static size_t set_count(const rule_set *s)
{
    return s->rules.len / sizeof(rule);
}

/* Adds the rule "allow|disallow: v" (vn > 0 bytes, trimmed). Past ROBOTS_MAX_RULES: ignored. */
static cc_status set_add(rule_set *s, const char *v, size_t vn, int allow)
{
    assert(vn > 0 && vn <= ROBOTS_LINE_MAX);
    if (set_count(s) >= ROBOTS_MAX_RULES)
        return CC_OK;
    CC_TRY(cc_buf_reserve(&s->text, 3 * vn + 2));
    CC_TRY(cc_buf_reserve(&s->rules, sizeof(rule)));
    char *start = (char *)s->text.data + s->text.len, *o = start;
    if (v[0] != '/' && v[0] != '*')
        *o++ = '/';
    o += url_percent_normalize(v, vn, o);
    rule r;
    r.off = (uint32_t)s->text.len;
    r.len = (uint32_t)(o - start);
    r.anchored = (uint8_t)(start[r.len - 1] == '$');
    r.mlen = r.len - r.anchored;
    r.allow = (uint8_t)(allow != 0);
    byte_set(start, r.mlen, r.need);
    *o++ = '\0';
    s->text.len += (size_t)(o - start);
    memcpy(s->rules.data + s->rules.len, &r, sizeof r);
    s->rules.len += sizeof r;
    return CC_OK;
}

/* ---- building the object ------------------------------------------------------------------- */

static int rule_cmp(const void *a, const void *b)
{
    const rule *x = a, *y = b;
    if (x->len != y->len)
        return x->len > y->len ? -1 : 1;
    if (x->allow != y->allow)
        return x->allow ? -1 : 1;
    return x->off < y->off ? -1 : x->off > y->off; /* a total order: same output every time */
}

static int bucket_of(const char *pattern, const rule *r)
{
    if (r->mlen >= 2 && pattern[0] == '/' && pattern[1] != '*')
        return (unsigned char)pattern[1];
    return ROBOTS_ANY;
}

/* Moves the rules of s into a new object (s is left empty), sorted and indexed. */
static cc_status robots_from_set(rule_set *s, robots **out)
{
    robots *r = calloc(1, sizeof *r);
    if (r == NULL)
        return cc_fail(CC_E_NOMEM, "robots: out of memory");
    r->nrules = set_count(s);
    r->rules = (rule *)s->rules.data;
    r->text = (char *)s->text.data;
    r->delay = s->delay;
    cc_buf_init(&s->rules, s->rules.max);
    cc_buf_init(&s->text, s->text.max);
    if (r->nrules > 0) {
        r->order = malloc(r->nrules * sizeof *r->order);
        if (r->order == NULL) {
            size_t n = r->nrules;
            robots_free(r);
            return cc_fail(CC_E_NOMEM, "robots: out of memory for %zu rules", n);
        }
        qsort(r->rules, r->nrules, sizeof *r->rules, rule_cmp);
    }
    /* Counting sort into buckets; a stable pass keeps priority order inside each bucket. */
    uint32_t fill[ROBOTS_ANY + 1] = {0};
    for (size_t i = 0; i < r->nrules; i++)
        r->start[bucket_of(r->text + r->rules[i].off, &r->rules[i]) + 1]++;
    for (int b = 0; b <= ROBOTS_ANY; b++)
        r->start[b + 1] += r->start[b];
    for (size_t i = 0; i < r->nrules; i++) {
        int b = bucket_of(r->text + r->rules[i].off, &r->rules[i]);
        r->order[r->start[b] + fill[b]++] = (uint32_t)i;
    }
    *out = r;
    return CC_OK;
}

/* ---- parsing ------------------------------------------------------------------------------- */

typedef struct parser {
    const char *token; /* our product token */
    size_t token_len;
    rule_set us, any; /* groups naming us, '*' groups */
    int in_agents; /* the last group line was a user-agent line */
    int cur_us, cur_any; /* the current group names us / '*' */
    cc_buf sitemaps; /* NUL-terminated values */
    cc_buf sitemap_off; /* uint32_t[] */
} parser;

static int is_space(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\v' || c == '\f';
}

static int is_token_char(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '-' || c == '_';
}

static void trim(const char **s, size_t *n)
{
    while (*n > 0 && is_space((unsigned char)(*s)[0])) {
        (*s)++;
        (*n)--;
    }
    while (*n > 0 && is_space((unsigned char)(*s)[*n - 1]))
        (*n)--;
}

static key key_of(const char *k, size_t n)
{
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        if (strlen(keys[i].name) == n && strncasecmp(k, keys[i].name, n) == 0)
            return keys[i].k;
    return KEY_NONE;
}

/* Splits the "two words" form of a line without a usable colon: key, space, value without
 * spaces. 0 when the line is not of that form. */
static int split_words(const char *s, size_t n, const char **k, size_t *kn, const char **v,
                       size_t *vn)
{
    size_t i = 0;
    while (i < n && !is_space((unsigned char)s[i]))
        i++;
    if (i == n)
        return 0;
    *k = s;
    *kn = i;
    while (i < n && is_space((unsigned char)s[i]))
        i++;
    *v = s + i;
    *vn = n - i;
    for (; i < n; i++)
        if (is_space((unsigned char)s[i]))
            return 0;
    return 1;
}

/* A crawl-delay value: digits with an optional fraction, nothing else. -1 when invalid. */
static double parse_delay(const char *v, size_t n)
{
    double x = 0, scale = 1;
    size_t digits = 0, i = 0;
    for (; i < n && v[i] >= '0' && v[i] <= '9'; i++, digits++)
        if (x <= ROBOTS_DELAY_MAX) /* stop growing: it is capped anyway */
            x = x * 10 + (v[i] - '0');
    if (i < n && v[i] == '.')
        for (i++; i < n && v[i] >= '0' && v[i] <= '9'; i++, digits++)
            if (scale > 1e-9)
                x += (v[i] - '0') * (scale /= 10);
    if (digits == 0 || i != n)
        return -1;
    return x > ROBOTS_DELAY_MAX ? ROBOTS_DELAY_MAX : x;
}

static void user_agent(parser *p, const char *v, size_t vn)
{
    if (!p->in_agents) { /* a user-agent line after rules opens a new group */
        p->cur_us = p->cur_any = 0;
        p->in_agents = 1;
    }
    if (vn >= 1 && v[0] == '*' && (vn == 1 || is_space((unsigned char)v[1]))) {
        p->cur_any = p->any.seen = 1;
        return;
    }
    size_t t = 0;
    while (t < vn && is_token_char((unsigned char)v[t]))
        t++;
    if (t == p->token_len && strncasecmp(v, p->token, t) == 0)
        p->cur_us = p->us.seen = 1;
}

static cc_status sitemap(parser *p, const char *v, size_t vn)
{
    if (vn == 0 || p->sitemap_off.len / sizeof(uint32_t) >= ROBOTS_MAX_SITEMAPS)
        return CC_OK;
    for (size_t i = 0; i < vn; i++)
        if ((unsigned char)v[i] < 0x20 || v[i] == 0x7f) /* NUL, tab, controls: not a URL */
            return CC_OK;
    CC_TRY(cc_buf_put_u32(&p->sitemap_off, (uint32_t)p->sitemaps.len));
    CC_TRY(cc_buf_append(&p->sitemaps, v, vn));
    return cc_buf_append(&p->sitemaps, "", 1);
}

/* One line (no line end, at most ROBOTS_LINE_MAX bytes); cut: the line went on past s + n. */
static cc_status parse_line(parser *p, const char *s, size_t n, int cut)
{
    const char *hash = memchr(s, '#', n);
    if (hash != NULL) {
        n = (size_t)(hash - s);
        cut = 0; /* only the comment was cut */
    }
    trim(&s, &n);
    if (n == 0)
        return CC_OK;
    const char *k = s, *v = NULL;
    size_t kn = 0, vn = 0;
    key kind = KEY_NONE;
    const char *colon = memchr(s, ':', n);
    if (colon != NULL) {
        kn = (size_t)(colon - s);
        v = colon + 1;
        vn = n - kn - 1;
        trim(&k, &kn);
        kind = key_of(k, kn);
    }
    if (kind == KEY_NONE) { /* "Disallow /x", "Sitemap https://x/s.xml" */
        if (!split_words(s, n, &k, &kn, &v, &vn))
            return CC_OK;
        kind = key_of(k, kn);
    }
    trim(&v, &vn);

    switch (kind) {
    case KEY_UA:
        user_agent(p, v, vn);
        return CC_OK;
    case KEY_SITEMAP:
        return cut ? CC_OK : sitemap(p, v, vn);
    case KEY_ALLOW:
    case KEY_DISALLOW: {
        p->in_agents = 0;
        int allow = kind == KEY_ALLOW;
        if (vn == 0 || (allow && cut))
            return CC_OK;
        if (p->cur_us)
            CC_TRY(set_add(&p->us, v, vn, allow));
        if (p->cur_any)
            CC_TRY(set_add(&p->any, v, vn, allow));
        return CC_OK;
    }
    case KEY_DELAY: {
        p->in_agents = 0;
        double d = parse_delay(v, vn);
        if (d >= 0 && p->cur_us && d > p->us.delay)
            p->us.delay = d;
        if (d >= 0 && p->cur_any && d > p->any.delay)
            p->any.delay = d;
        return CC_OK;
    }
    case KEY_NONE:
        return CC_OK;
    }
    return CC_OK;
}

static cc_status parse_body(parser *p, const char *body, size_t len)
{
    size_t end = len > ROBOTS_MAX_BYTES ? ROBOTS_MAX_BYTES : len;
    size_t i = 0;
    static const unsigned char bom[] = {0xEF, 0xBB, 0xBF};
    while (i < end && i < 3 && (unsigned char)body[i] == bom[i])
        i++;
    while (i < end) {
        size_t s = i;
        while (i < end && body[i] != '\n' && body[i] != '\r')
            i++;
        size_t n = i - s;
        /* cut by the line cap, or by the byte cap inside the last line */
        int cut = n > ROBOTS_LINE_MAX ||
                  (i == end && end < len && body[end] != '\n' && body[end] != '\r');
        CC_TRY(parse_line(p, body + s, n > ROBOTS_LINE_MAX ? ROBOTS_LINE_MAX : n, cut));
        if (i < end && body[i] == '\r' && i + 1 < end && body[i + 1] == '\n')
            i++;
        i++;
    }
    return CC_OK;
}

cc_status robots_parse(const char *body, size_t len, const char *product_token, robots **out)
{
    CC_CHECK(out != NULL && (body != NULL || len == 0) && product_token != NULL, CC_E_INVAL,
             "robots_parse: NULL argument");
    *out = NULL;
    size_t tn = strlen(product_token);
    CC_CHECK(tn > 0, CC_E_INVAL, "robots_parse: empty product token");
    for (size_t i = 0; i < tn; i++)
        CC_CHECK(is_token_char((unsigned char)product_token[i]), CC_E_INVAL,
                 "robots_parse: product token '%s' has a character other than a letter, '-', '_'",
                 product_token);

    parser p;
    memset(&p, 0, sizeof p);
    p.token = product_token;
    p.token_len = tn;
    set_init(&p.us);
    set_init(&p.any);
    cc_buf_init(&p.sitemaps, (size_t)ROBOTS_MAX_BYTES + ROBOTS_MAX_SITEMAPS);
    cc_buf_init(&p.sitemap_off, ROBOTS_MAX_SITEMAPS * sizeof(uint32_t));

    robots *r = NULL;
    cc_status st;
    CC_TRY_GOTO(st, parse_body(&p, body, len), done);
    /* groups naming us win; otherwise the '*' groups; otherwise nothing (all allowed) */
    CC_TRY_GOTO(st, robots_from_set(p.us.seen ? &p.us : &p.any, &r), done);
    r->nsitemaps = p.sitemap_off.len / sizeof(uint32_t);
    r->sitemap_text = (char *)p.sitemaps.data;
    r->sitemap_off = (uint32_t *)p.sitemap_off.data;
    cc_buf_init(&p.sitemaps, 0);
    cc_buf_init(&p.sitemap_off, 0);
    *out = r;
done:
    set_free(&p.us);
    set_free(&p.any);
    cc_buf_free(&p.sitemaps);
    cc_buf_free(&p.sitemap_off);
    return st;
}

cc_status robots_new_allow_all(robots **out)
{
    CC_CHECK(out != NULL, CC_E_INVAL, "robots_new_allow_all: NULL argument");
    rule_set s;
    set_init(&s);
    cc_status st = robots_from_set(&s, out);
    set_free(&s);
    return st;
}

cc_status robots_new_disallow_all(robots **out)
{
    CC_CHECK(out != NULL, CC_E_INVAL, "robots_new_disallow_all: NULL argument");
    rule_set s;
    set_init(&s);
    cc_status st = set_add(&s, "/", 1, 0);
    if (st == CC_OK)
        st = robots_from_set(&s, out);
    set_free(&s);
    return st;
}

void robots_free(robots *r)
{
    if (r == NULL)
        return;
    free(r->rules);
    free(r->text);
    free(r->order);
    free(r->sitemap_text);
    free(r->sitemap_off);
    free(r);
}

/* ---- matching ------------------------------------------------------------------------------ */

/* 1 when pattern p (m bytes, '*' wildcards, without the '$') matches a prefix of path q (n
 * bytes), or all of q when anchored. Greedy leftmost placement of each '*'-separated segment. */
static int pattern_matches(const char *p, size_t m, int anchored, const char *q, size_t n)
{
    const char *star = memchr(p, '*', m);
    size_t seg = star ? (size_t)(star - p) : m;
    if (n < seg || memcmp(p, q, seg) != 0)
        return 0;
    if (star == NULL)
        return !anchored || n == m;
    size_t pos = seg; /* q[0..pos) is consumed */
    p = star + 1;
    m -= seg + 1;
    for (;;) {
        star = memchr(p, '*', m);
        if (star == NULL) /* the last segment: anywhere after pos, or at the very end */
            return anchored ? n - pos >= m && memcmp(q + n - m, p, m) == 0
                            : m == 0 || memmem(q + pos, n - pos, p, m) != NULL;
        seg = (size_t)(star - p);
        if (seg > 0) {
            const char *at = memmem(q + pos, n - pos, p, seg);
            if (at == NULL)
                return 0;
            pos = (size_t)(at - q) + seg;
        }
        p = star + 1;
        m -= seg + 1;
    }
}

/* The verdict for the normalized path q (n bytes, NUL-terminated, starting with '/'). */
static int decide(const robots *r, const char *q, size_t n)
{
    static const char self[] = "/robots.txt";
    if (n == sizeof self - 1 && memcmp(q, self, n) == 0)
        return 1;
    /* q[1] is the NUL for "/", and bucket 0 is empty: patterns hold no raw NUL */
    int b = (unsigned char)q[1];
    uint64_t have[2];
    byte_set(q, n, have);
    uint32_t i = r->start[b], ie = r->start[b + 1];
    uint32_t j = r->start[ROBOTS_ANY], je = r->start[ROBOTS_ANY + 1];
    while (i < ie || j < je) { /* merge by rule index = priority */
        uint32_t k;
        if (j >= je || (i < ie && r->order[i] < r->order[j]))
            k = r->order[i++];
        else
            k = r->order[j++];
        const rule *ru = &r->rules[k];
        if (((ru->need[0] & ~have[0]) | (ru->need[1] & ~have[1])) != 0)
            continue;
        if (pattern_matches(r->text + ru->off, ru->mlen, ru->anchored, q, n))
            return ru->allow;
    }
    return 1;
}

int robots_is_allowed(const robots *r, const char *path_query)
{
    if (r == NULL || path_query == NULL)
        return 0;
    size_t n = strlen(path_query);
    char stack[ROBOTS_PATH_STACK], *q = stack;
    if (n > (sizeof stack - 2) / 3) {
        q = malloc(3 * n + 2);
        if (q == NULL)
            return 0; /* cannot decide: do not fetch */
    }
    size_t m = 0;
    if (path_query[0] != '/') /* the contract says it starts with '/'; be safe if not */
        q[m++] = '/';
    m += url_percent_normalize(path_query, n, q + m);
    q[m] = '\0';
    int allowed = decide(r, q, m);
    if (q != stack)
        free(q);
    return allowed;
}

double robots_crawl_delay(const robots *r)
{
    return r ? r->delay : -1;
}

size_t robots_rule_count(const robots *r)
{
    return r ? r->nrules : 0;
}

size_t robots_sitemap_count(const robots *r)
{
    return r ? r->nsitemaps : 0;
}

const char *robots_sitemap(const robots *r, size_t i)
{
    if (r == NULL || i >= r->nsitemaps)
        return NULL;
    return r->sitemap_text + r->sitemap_off[i];
}
