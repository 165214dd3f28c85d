/* crawler/extract.c — extract_html (see extract.h): libxml2's HTML parser in SAX mode, our own
 * element stack, pairs and links collected as the elements go by.
 *
 * State, per call (struct xstate), all bounded by the limits:
 *   frames[0..depth)   one tag id per open element (depth <= max_depth), mirroring libxml2's
 *                      startElement/endElement calls one for one;
 *   picture            the srcset candidates of the innermost open <picture>'s <source>s, resolved
 *                      (cands[0..pic_ncand), their URLs in curls), kept until </picture>;
 *   figs[0..nfigs)     open <figure>s: where their images start in pend[], their caption;
 *   pend[0..npend)     images of open figures waiting for the caption (npend <= max_pairs);
 *   cap_raw            the raw text of the figcaption being read (one at a time);
 *   pair_set/link_set  open-addressing hash sets of indices into the result, for uniqueness.
 * Strings given back live in the result's arena (blocks that never move), so the pair and link
 * pointers stay valid while the arrays grow.
 */
#include "crawler/extract.h"

#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/HTMLparser.h>
#include <libxml/parserInternals.h>

#include "common/buf.h"
#include "common/hash.h"
#include "crawler/url.h"
#include "filters/text.h"

#define ARENA_BLOCK ((size_t)64 << 10)
#define MAX_DIM 100000

/* ---- names and defaults -------------------------------------------------------------------- */

static const char *const kind_names[EXTRACT_KINDS] = {"alt", "title", "figcaption"};

const char *extract_text_kind_name(extract_text_kind k)
{
    return (unsigned)k < EXTRACT_KINDS ? kind_names[k] : "unknown";
}

static const char *const skip_names[EXTRACT_SKIP_COUNT] = {
    [EXTRACT_SKIP_NO_URL] = "no_url",
    [EXTRACT_SKIP_DATA_URL] = "data_url",
    [EXTRACT_SKIP_SVG] = "svg",
    [EXTRACT_SKIP_GIF] = "gif",
    [EXTRACT_SKIP_ICO] = "ico",
    [EXTRACT_SKIP_UNSUPPORTED] = "unsupported",
    [EXTRACT_SKIP_BAD_URL] = "bad_url",
    [EXTRACT_SKIP_NO_TEXT] = "no_text",
    [EXTRACT_SKIP_SOURCE_TYPE] = "source_type",
    [EXTRACT_SKIP_DUPLICATE] = "duplicate",
    [EXTRACT_SKIP_PAIR_LIMIT] = "pair_limit",
    [EXTRACT_SKIP_LINK_NOFOLLOW] = "link_nofollow",
    [EXTRACT_SKIP_LINK_FRAGMENT] = "link_fragment",
    [EXTRACT_SKIP_LINK_UNSUPPORTED] = "link_unsupported",
    [EXTRACT_SKIP_LINK_BAD_URL] = "link_bad_url",
    [EXTRACT_SKIP_LINK_SELF] = "link_self",
    [EXTRACT_SKIP_LINK_DUPLICATE] = "link_duplicate",
    [EXTRACT_SKIP_LINK_LIMIT] = "link_limit",
    [EXTRACT_SKIP_DEPTH] = "depth",
};

const char *extract_skip_name(extract_skip r)
{
    return (unsigned)r < EXTRACT_SKIP_COUNT ? skip_names[r] : "unknown";
}

void extract_limits_default(extract_limits *lim)
{
    lim->max_bytes = (size_t)8 << 20;
    lim->max_pairs = 10000;
    lim->max_links = 10000;
    lim->max_text = 2000;
    lim->max_depth = 256;
}

/* ---- result and its arena ------------------------------------------------------------------ */

typedef struct arena_block {
    struct arena_block *next;
    size_t used, cap;
    char data[];
} arena_block;

struct extract_result {
    extract_pair *pairs;
    size_t npairs, pairs_cap;
    const char **links;
    size_t nlinks, links_cap;
    const char *base;
    int robots;
    extract_stats stats;
    arena_block *arena; /* newest first */
};

/* A NUL-terminated copy of the n bytes at s, valid until extract_free; NULL when out of memory. */
static char *arena_dup(extract_result *r, const char *s, size_t n)
{
    arena_block *b = r->arena;
    if (b == NULL || b->cap - b->used < n + 1) {
        size_t cap = n + 1 > ARENA_BLOCK ? n + 1 : ARENA_BLOCK;
        b = malloc(sizeof *b + cap);
        if (b == NULL)
            return NULL;
        b->used = 0;
        b->cap = cap;
        b->next = r->arena;
        r->arena = b;
    }
    char *p = b->data + b->used;
    memcpy(p, s, n);
    p[n] = '\0';
    b->used += n + 1;
    return p;
}

void extract_free(extract_result *r)
{
    if (r == NULL)
        return;
    for (arena_block *b = r->arena, *next; b != NULL; b = next) {
        next = b->next;
        free(b);
    }
    free(r->pairs);
    free(r->links);
    free(r);
}

size_t extract_pair_count(const extract_result *r)
{
    return r->npairs;
}

const extract_pair *extract_pair_at(const extract_result *r, size_t i)
{
    return i < r->npairs ? &r->pairs[i] : NULL;
}

size_t extract_link_count(const extract_result *r)
{
    return r->nlinks;
}

const char *extract_link_at(const extract_result *r, size_t i)
{
    return i < r->nlinks ? r->links[i] : NULL;
}

const char *extract_base_url(const extract_result *r)
{
    return r->base;
}

int extract_meta_robots(const extract_result *r)
{
    return r->robots;
}

const extract_stats *extract_result_stats(const extract_result *r)
{
    return &r->stats;
}

/* ---- a set of indices, keyed by a 64-bit hash, equality decided by the caller -------------- */

typedef struct idxset {
    uint64_t *hash;
    uint32_t *idx; /* index + 1; 0 = empty slot */
    size_t cap, n; /* cap a power of two, n <= cap / 2 */
} idxset;

static void idxset_free(idxset *s)
{
    free(s->hash);
    free(s->idx);
    memset(s, 0, sizeof *s);
}

static cc_status idxset_grow(idxset *s)
{
    size_t cap = s->cap ? s->cap * 2 : 64;
    uint64_t *h = calloc(cap, sizeof *h);
    uint32_t *v = calloc(cap, sizeof *v);
    if (h == NULL || v == NULL) {
        free(h);
        free(v);
        return cc_fail(CC_E_NOMEM, "extract: out of memory (hash set of %zu)", cap);
    }
    for (size_t i = 0; i < s->cap; i++) {
        if (s->idx[i] == 0)
            continue;
        size_t j = (size_t)s->hash[i] & (cap - 1);
        while (v[j] != 0)
            j = (j + 1) & (cap - 1);
        h[j] = s->hash[i];
        v[j] = s->idx[i];
    }
    free(s->hash);
    free(s->idx);
    s->hash = h;
    s->idx = v;
    s->cap = cap;
    return CC_OK;
}

/* Inserts index + 1 = v under hash hv; the caller made room (idxset_grow). */
static void idxset_put(idxset *s, uint64_t hv, size_t v)
{
    size_t j = (size_t)hv & (s->cap - 1);
    while (s->idx[j] != 0)
        j = (j + 1) & (s->cap - 1);
    s->hash[j] = hv;
    s->idx[j] = (uint32_t)v;
    s->n++;
}

/* ---- per-call parse state ------------------------------------------------------------------ */

typedef enum tag {
    TAG_BLOCK, /* any element not listed below and not inline */
    TAG_INLINE, /* no word boundary in caption text */
    TAG_IMG,
    TAG_PICTURE,
    TAG_SOURCE,
    TAG_FIGURE,
    TAG_FIGCAPTION,
    TAG_A,
    TAG_AREA,
    TAG_BASE,
    TAG_META,
} tag;

/* One image URL candidate. The resolved URL of a usable one is at curls.data + off. */
typedef struct cand {
    size_t off;
    unsigned long w; /* width descriptor, when has_w */
    double x; /* density descriptor (1 when none) */
    int has_w;
    int reason; /* -1 usable, else an extract_skip */
    const char *attr; /* static name of the attribute it came from */
} cand;

typedef struct pending {
    const char *url; /* in the arena */
    const char *attr;
    int width, height;
    int had_text; /* the img gave an alt or title text */
} pending;

typedef struct figure {
    size_t pend_start; /* its images are pend[pend_start..] */
    char *caption; /* normalized, malloc'ed; NULL until its first figcaption ends */
    int has_caption; /* a figcaption ended (even an empty one): later ones are ignored */
} figure;

typedef struct xstate {
    const extract_limits *lim;
    extract_result *res;
    htmlParserCtxtPtr ctxt;
    cc_status err; /* first failure inside a callback (the parse is stopped) */
    int stopped;
    char page[URL_MAX]; /* normalized page URL */
    char base[URL_MAX]; /* effective base */
    int base_set;
    /* element stack */
    uint8_t *frames;
    int depth;
    /* candidates: the picture's first, then the current img's */
    cand cands[EXTRACT_MAX_CANDIDATES];
    size_t ncand;
    cc_buf curls;
    int pic_frame; /* frame index of the innermost open <picture>, -1 none */
    size_t pic_ncand, pic_bytes;
    /* figures */
    figure *figs;
    size_t nfigs, figs_cap;
    pending *pend;
    size_t npend, pend_cap;
    /* the figcaption being read */
    int cap_frame; /* its frame index, -1 none */
    size_t cap_fig; /* the figure it belongs to: figs[cap_fig] */
    cc_buf cap_raw;
    /* scratch */
    cc_buf norm; /* normalized text */
    char url[URL_MAX]; /* one resolved URL */
    char ref[URL_MAX]; /* one reference, NUL-terminated for url_resolve */
    idxset pair_set, link_set;
} xstate;

/* Records the first failure and stops the parser; later callbacks do nothing. */
static void xfail(xstate *st, cc_status s)
{
    if (st->err == CC_OK)
        st->err = s;
    st->stopped = 1;
    xmlStopParser(st->ctxt);
}

/* ---- small string helpers ------------------------------------------------------------------ */

static int is_html_space(int c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f';
}

static int lower(int c)
{
    return c >= 'A' && c <= 'Z' ? c + 32 : c;
}

/* 1 when the n bytes at s equal the lower-case literal lit, ignoring ASCII case. */
static int eq_ci_n(const char *s, size_t n, const char *lit)
{
    size_t k = strlen(lit);
    if (n != k)
        return 0;
    for (size_t i = 0; i < k; i++)
        if (lower((unsigned char)s[i]) != lit[i])
            return 0;
    return 1;
}

static int starts_ci(const char *s, size_t n, const char *lit)
{
    size_t k = strlen(lit);
    return n >= k && eq_ci_n(s, k, lit);
}

/* Trims HTML whitespace from both ends of s; returns the start and sets *n. */
static const char *trim(const char *s, size_t *n)
{
    size_t len = strlen(s);
    while (len > 0 && is_html_space((unsigned char)*s)) {
        s++;
        len--;
    }
    while (len > 0 && is_html_space((unsigned char)s[len - 1]))
        len--;
    *n = len;
    return s;
}

/* The value of attribute name in libxml2's NULL-terminated name/value array; NULL when absent,
 * "" for an attribute without a value. */
static const char *attr(const xmlChar **atts, const char *name)
{
    if (atts == NULL)
        return NULL;
    for (size_t i = 0; atts[i] != NULL; i += 2)
        if (strcmp((const char *)atts[i], name) == 0)
            return atts[i + 1] ? (const char *)atts[i + 1] : "";
    return NULL;
}

/* True when the whitespace-separated token list s holds token (ASCII case-insensitive).
 * Commas separate too (meta robots content). */
static int has_token(const char *s, const char *token)
{
    while (*s) {
        while (*s && (is_html_space((unsigned char)*s) || *s == ','))
            s++;
        const char *t = s;
        while (*s && !is_html_space((unsigned char)*s) && *s != ',')
            s++;
        if (s > t && eq_ci_n(t, (size_t)(s - t), token))
            return 1;
    }
    return 0;
}

/* Dimension attribute: digits, an optional fraction, anything but '%' after; 0 when invalid. */
static int parse_dim(const char *s)
{
    if (s == NULL)
        return 0;
    while (is_html_space((unsigned char)*s))
        s++;
    long v = 0;
    const char *d = s;
    while (*s >= '0' && *s <= '9') {
        v = v * 10 + (*s - '0');
        if (v > MAX_DIM)
            return 0;
        s++;
    }
    if (s == d)
        return 0;
    if (*s == '.')
        for (s++; *s >= '0' && *s <= '9'; s++)
            ;
    if (*s == '%')
        return 0;
    return (int)v;
}

/* ---- element names ------------------------------------------------------------------------- */

static const char *const inline_tags[] = {
    "a",      "abbr", "b",   "bdi",  "bdo", "cite", "code", "data",  "dfn",  "em",
    "font",   "i",    "kbd", "mark", "q",   "s",    "samp", "small", "span", "strike",
    "strong", "sub",  "sup", "time", "tt",  "u",    "var",  "wbr",   NULL};

static tag tag_of(const char *name)
{
    switch (name[0]) {
    case 'a':
        if (strcmp(name, "a") == 0)
            return TAG_A;
        if (strcmp(name, "area") == 0)
            return TAG_AREA;
        break;
    case 'b':
        if (strcmp(name, "base") == 0)
            return TAG_BASE;
        break;
    case 'f':
        if (strcmp(name, "figure") == 0)
            return TAG_FIGURE;
        if (strcmp(name, "figcaption") == 0)
            return TAG_FIGCAPTION;
        break;
    case 'i':
        if (strcmp(name, "img") == 0)
            return TAG_IMG;
        break;
    case 'm':
        if (strcmp(name, "meta") == 0)
            return TAG_META;
        break;
    case 'p':
        if (strcmp(name, "picture") == 0)
            return TAG_PICTURE;
        break;
    case 's':
        if (strcmp(name, "source") == 0)
            return TAG_SOURCE;
        break;
    default:
        break;
    }
    for (size_t i = 0; inline_tags[i]; i++)
        if (strcmp(name, inline_tags[i]) == 0)
            return TAG_INLINE;
    return TAG_BLOCK;
}

/* ---- text ---------------------------------------------------------------------------------- */

/* Normalizes the n bytes at s into st->norm and cuts the result to max_text bytes on a character
 * boundary; *len receives its length (0: no text). */
static cc_status norm_text(xstate *st, const char *s, size_t n, size_t *len)
{
    CC_TRY(text_normalize(s, n, &st->norm, NULL));
    size_t k = st->norm.len;
    char *t = (char *)st->norm.data;
    if (k > st->lim->max_text) {
        k = st->lim->max_text;
        /* text_normalize gives valid UTF-8: back up over continuation bytes */
        while (k > 0 && ((unsigned char)t[k] & 0xC0) == 0x80)
            k--;
        while (k > 0 && t[k - 1] == ' ')
            k--;
        st->res->stats.text_cut++;
    }
    if (t != NULL)
        t[k] = '\0';
    *len = k;
    return CC_OK;
}

/* ---- URLs ---------------------------------------------------------------------------------- */

/* Resolves the reference s (n bytes, trimmed) against the base into st->url and checks it as an
 * image URL. Returns -1 when usable, else the extract_skip reason. */
static int image_url_check(xstate *st, const char *s, size_t n)
{
    if (n == 0)
        return EXTRACT_SKIP_NO_URL;
    if (starts_ci(s, n, "data:"))
        return EXTRACT_SKIP_DATA_URL;
    if (s[0] == '#' || n >= URL_MAX)
        return EXTRACT_SKIP_BAD_URL;
    memcpy(st->ref, s, n);
    st->ref[n] = '\0';
    cc_status rs = url_resolve(st->base, st->ref, st->url, sizeof st->url);
    if (rs == CC_E_UNSUPPORTED)
        return EXTRACT_SKIP_UNSUPPORTED;
    if (rs != CC_OK)
        return EXTRACT_SKIP_BAD_URL;
    return extract_image_url_skip(st->url);
}

int extract_image_url_skip(const char *u)
{
    if (starts_ci(u, strlen(u), "data:"))
        return EXTRACT_SKIP_DATA_URL;
    /* the extension of the path's last segment (canonical URLs have no fragment) */
    const char *path = strstr(u, "://");
    path = path ? strchr(path + 3, '/') : NULL;
    if (path == NULL)
        return -1;
    size_t pend = strcspn(path, "?");
    size_t dot = pend;
    while (dot > 0 && path[dot - 1] != '.' && path[dot - 1] != '/')
        dot--;
    if (dot == 0 || path[dot - 1] != '.')
        return -1;
    const char *ext = path + dot;
    size_t elen = pend - dot;
    if (eq_ci_n(ext, elen, "svg") || eq_ci_n(ext, elen, "svgz"))
        return EXTRACT_SKIP_SVG;
    if (eq_ci_n(ext, elen, "gif"))
        return EXTRACT_SKIP_GIF;
    if (eq_ci_n(ext, elen, "ico"))
        return EXTRACT_SKIP_ICO;
    return -1;
}

/* Adds one candidate (reference s, n bytes, untrimmed) with its descriptors. */
static void cand_add(xstate *st, const char *s, size_t n, unsigned long w, int has_w, double x,
                     const char *attr_name)
{
    if (st->ncand >= EXTRACT_MAX_CANDIDATES)
        return;
    while (n > 0 && is_html_space((unsigned char)*s)) {
        s++;
        n--;
    }
    while (n > 0 && is_html_space((unsigned char)s[n - 1]))
        n--;
    cand *c = &st->cands[st->ncand];
    c->w = w;
    c->has_w = has_w;
    c->x = x;
    c->attr = attr_name;
    c->off = st->curls.len;
    c->reason = image_url_check(st, s, n);
    if (c->reason < 0) {
        cc_status s2 = cc_buf_append(&st->curls, st->url, strlen(st->url) + 1);
        if (s2 != CC_OK) {
            xfail(st, s2);
            return;
        }
    }
    st->ncand++;
}

/* A valid non-negative integer (digits only), capped; 0 when invalid. */
static unsigned long parse_uint(const char *s, size_t n)
{
    unsigned long v = 0;
    if (n == 0)
        return 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return 0;
        if (v < 100000000ul)
            v = v * 10 + (unsigned long)(s[i] - '0');
    }
    return v;
}

/* A valid floating-point number of the HTML standard ("-"? digits ("." digits)? (e sign?
 * digits)?, or "." digits); returns 0 when invalid. Locale-independent. */
static int parse_float(const char *s, size_t n, double *out)
{
    size_t i = 0;
    int neg = 0, digits = 0;
    double v = 0;
    if (i < n && s[i] == '-') {
        neg = 1;
        i++;
    }
    for (; i < n && s[i] >= '0' && s[i] <= '9'; i++, digits++)
        v = v * 10 + (s[i] - '0');
    if (i < n && s[i] == '.') {
        i++;
        double scale = 0.1;
        int frac = 0;
        for (; i < n && s[i] >= '0' && s[i] <= '9'; i++, frac++, scale /= 10)
            v += (s[i] - '0') * scale;
        if (frac == 0)
            return 0;
        digits += frac;
    }
    if (digits == 0)
        return 0;
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        int eneg = 0, edig = 0;
        long e = 0;
        if (i < n && (s[i] == '+' || s[i] == '-'))
            eneg = s[i++] == '-';
        for (; i < n && s[i] >= '0' && s[i] <= '9'; i++, edig++)
            if (e < 400)
                e = e * 10 + (s[i] - '0');
        if (edig == 0)
            return 0;
        for (long k = 0; k < e && v != 0; k++)
            v = eneg ? v / 10 : v * 10;
    }
    if (i != n)
        return 0;
    *out = neg ? -v : v;
    return 1;
}

/* Descriptors of one srcset candidate, as the HTML standard's parser collects them. */
typedef struct desc {
    int error, has_w, has_x, has_h;
    unsigned long w;
    double x;
} desc;

static void desc_apply(desc *d, const char *t, size_t n)
{
    if (n == 0)
        return;
    char last = t[n - 1];
    if (last == 'w') {
        unsigned long v = parse_uint(t, n - 1);
        if (d->has_w || d->has_x || v == 0)
            d->error = 1;
        d->has_w = 1;
        d->w = v;
    } else if (last == 'x') {
        double v = 0;
        if (d->has_w || d->has_x || d->has_h || !parse_float(t, n - 1, &v) || v < 0)
            d->error = 1;
        d->has_x = 1;
        d->x = v;
    } else if (last == 'h') {
        if (d->has_h || d->has_x || parse_uint(t, n - 1) == 0)
            d->error = 1;
        d->has_h = 1;
    } else {
        d->error = 1;
    }
}

/* Parses a srcset attribute ("parse a srcset attribute", HTML standard), adding its valid
 * candidates. Returns the number of candidates that are not data: URLs (for the lazy fallback). */
static size_t srcset_add(xstate *st, const char *s, const char *attr_name)
{
    size_t real = 0;
    const char *p = s;
    for (;;) {
        while (*p && (is_html_space((unsigned char)*p) || *p == ','))
            p++;
        if (*p == '\0')
            break;
        const char *u = p;
        while (*p && !is_html_space((unsigned char)*p))
            p++;
        size_t ulen = (size_t)(p - u);
        desc d = {0};
        if (u[ulen - 1] == ',') {
            while (ulen > 0 && u[ulen - 1] == ',')
                ulen--;
        } else {
            /* tokenize descriptors up to an unparenthesized comma or the end */
            while (*p && is_html_space((unsigned char)*p))
                p++;
            const char *t = p;
            int paren = 0;
            for (;;) {
                char c = *p;
                if (c == '\0') {
                    desc_apply(&d, t, (size_t)(p - t));
                    break;
                }
                if (paren) {
                    if (c == ')')
                        paren = 0;
                    p++;
                } else if (c == '(') {
                    paren = 1;
                    p++;
                } else if (c == ',') {
                    desc_apply(&d, t, (size_t)(p - t));
                    p++;
                    break;
                } else if (is_html_space((unsigned char)c)) {
                    desc_apply(&d, t, (size_t)(p - t));
                    while (*p && is_html_space((unsigned char)*p))
                        p++;
                    t = p;
                } else {
                    p++;
                }
            }
        }
        if (d.has_h && !d.has_w)
            d.error = 1;
        if (d.error || ulen == 0)
            continue;
        if (!starts_ci(u, ulen, "data:"))
            real++;
        cand_add(st, u, ulen, d.w, d.has_w, d.has_x ? d.x : 1.0, attr_name);
        if (st->stopped)
            break;
    }
    return real;
}

/* Index of the best candidate in [from, ncand) — usable ones only, or all when usable_only is 0
 * — or -1: any w beats any x, then larger w, else larger x; ties keep the earlier. */
static long cand_best(const xstate *st, int usable_only)
{
    long best = -1;
    for (size_t i = 0; i < st->ncand; i++) {
        const cand *c = &st->cands[i];
        if (usable_only && c->reason >= 0)
            continue;
        if (best < 0) {
            best = (long)i;
            continue;
        }
        const cand *b = &st->cands[best];
        int better;
        if (c->has_w != b->has_w)
            better = c->has_w;
        else if (c->has_w)
            better = c->w > b->w;
        else
            better = c->x > b->x;
        if (better)
            best = (long)i;
    }
    return best;
}

/* 1 when a src value is a placeholder for lazy loading (see extract.h). */
static int is_placeholder(const char *s, size_t n)
{
    if (n == 0 || s[0] == '#' || starts_ci(s, n, "data:"))
        return 1;
    size_t end = 0;
    while (end < n && s[end] != '?' && s[end] != '#')
        end++;
    size_t start = end;
    while (start > 0 && s[start - 1] != '/')
        start--;
    size_t stem = end;
    for (size_t i = start; i < end; i++)
        if (s[i] == '.') {
            stem = i;
            break;
        }
    char name[64];
    size_t k = stem - start;
    if (k == 0 || k >= sizeof name)
        return 0;
    for (size_t i = 0; i < k; i++)
        name[i] = (char)lower((unsigned char)s[start + i]);
    name[k] = '\0';
    static const char *const parts[] = {"spacer", "placeholder", "blank",   "transparent",
                                        "1x1",    "lazy",        "loading", NULL};
    static const char *const whole[] = {"pixel", "clear", "dot",  "empty", "px",
                                        "trans", "grey",  "gray", NULL};
    for (size_t i = 0; parts[i]; i++)
        if (strstr(name, parts[i]) != NULL)
            return 1;
    for (size_t i = 0; whole[i]; i++)
        if (strcmp(name, whole[i]) == 0)
            return 1;
    return 0;
}

/* ---- pairs and links ----------------------------------------------------------------------- */

static uint64_t pair_hash(const char *url, const char *text, size_t tlen)
{
    uint64_t a = cc_hash64(url, strlen(url)), b = cc_hash64(text, tlen);
    return a ^ (b * 0x9E3779B97F4A7C15ull + (a << 6) + (a >> 2));
}

/* Adds the pair (*url, text) unless it is a duplicate or past max_pairs. *url is either an arena
 * string (url_in_arena) or st->url, then copied into the arena and *url updated. */
static void pair_add(xstate *st, const char **url, int url_in_arena, const char *text, size_t tlen,
                     extract_text_kind kind, const char *attr_name, int w, int h)
{
    extract_result *r = st->res;
    idxset *set = &st->pair_set;
    uint64_t hv = pair_hash(*url, text, tlen);
    if (set->cap > 0) {
        for (size_t j = (size_t)hv & (set->cap - 1); set->idx[j] != 0;
             j = (j + 1) & (set->cap - 1)) {
            const extract_pair *q = &r->pairs[set->idx[j] - 1];
            if (set->hash[j] == hv && strcmp(q->image_url, *url) == 0 && strlen(q->text) == tlen &&
                memcmp(q->text, text, tlen) == 0) {
                r->stats.skipped[EXTRACT_SKIP_DUPLICATE]++;
                return;
            }
        }
    }
    if (r->npairs >= st->lim->max_pairs) {
        r->stats.skipped[EXTRACT_SKIP_PAIR_LIMIT]++;
        return;
    }
    if (r->npairs == r->pairs_cap) {
        size_t cap = r->pairs_cap ? r->pairs_cap * 2 : 16;
        if (cap > st->lim->max_pairs)
            cap = st->lim->max_pairs;
        extract_pair *np = realloc(r->pairs, cap * sizeof *np);
        if (np == NULL) {
            xfail(st, cc_fail(CC_E_NOMEM, "extract: out of memory (%zu pairs)", cap));
            return;
        }
        r->pairs = np;
        r->pairs_cap = cap;
    }
    if ((set->n + 1) * 2 > set->cap) {
        cc_status s = idxset_grow(set);
        if (s != CC_OK) {
            xfail(st, s);
            return;
        }
    }
    if (!url_in_arena) {
        const char *u = arena_dup(r, *url, strlen(*url));
        if (u == NULL) {
            xfail(st, cc_fail(CC_E_NOMEM, "extract: out of memory (strings)"));
            return;
        }
        *url = u;
    }
    const char *t = arena_dup(r, text, tlen);
    if (t == NULL) {
        xfail(st, cc_fail(CC_E_NOMEM, "extract: out of memory (strings)"));
        return;
    }
    extract_pair *p = &r->pairs[r->npairs++];
    p->image_url = *url;
    p->text = t;
    p->kind = kind;
    p->src_attr = attr_name;
    p->width = w;
    p->height = h;
    idxset_put(set, hv, r->npairs);
}

static void link_add(xstate *st, const xmlChar **atts)
{
    const char *href = attr(atts, "href");
    if (href == NULL)
        return;
    extract_result *r = st->res;
    r->stats.hrefs++;
    const char *rel = attr(atts, "rel");
    if (rel != NULL && has_token(rel, "nofollow")) {
        r->stats.skipped[EXTRACT_SKIP_LINK_NOFOLLOW]++;
        return;
    }
    size_t n;
    const char *s = trim(href, &n);
    if (n > 0 && s[0] == '#') {
        r->stats.skipped[EXTRACT_SKIP_LINK_FRAGMENT]++;
        return;
    }
    if (n >= URL_MAX) {
        r->stats.skipped[EXTRACT_SKIP_LINK_BAD_URL]++;
        return;
    }
    memcpy(st->ref, s, n);
    st->ref[n] = '\0';
    cc_status rs = url_resolve(st->base, st->ref, st->url, sizeof st->url);
    if (rs != CC_OK) {
        r->stats.skipped[rs == CC_E_UNSUPPORTED ? EXTRACT_SKIP_LINK_UNSUPPORTED
                                                : EXTRACT_SKIP_LINK_BAD_URL]++;
        return;
    }
    if (strcmp(st->url, st->page) == 0) {
        r->stats.skipped[EXTRACT_SKIP_LINK_SELF]++;
        return;
    }
    size_t ulen = strlen(st->url);
    uint64_t hv = cc_hash64(st->url, ulen);
    idxset *set = &st->link_set;
    if (set->cap > 0) {
        for (size_t j = (size_t)hv & (set->cap - 1); set->idx[j] != 0;
             j = (j + 1) & (set->cap - 1)) {
            if (set->hash[j] == hv && strcmp(r->links[set->idx[j] - 1], st->url) == 0) {
                r->stats.skipped[EXTRACT_SKIP_LINK_DUPLICATE]++;
                return;
            }
        }
    }
    if (r->nlinks >= st->lim->max_links) {
        r->stats.skipped[EXTRACT_SKIP_LINK_LIMIT]++;
        return;
    }
    if (r->nlinks == r->links_cap) {
        size_t cap = r->links_cap ? r->links_cap * 2 : 16;
        if (cap > st->lim->max_links)
            cap = st->lim->max_links;
        const char **nl = realloc(r->links, cap * sizeof *nl);
        if (nl == NULL) {
            xfail(st, cc_fail(CC_E_NOMEM, "extract: out of memory (%zu links)", cap));
            return;
        }
        r->links = nl;
        r->links_cap = cap;
    }
    if ((set->n + 1) * 2 > set->cap) {
        cc_status s2 = idxset_grow(set);
        if (s2 != CC_OK) {
            xfail(st, s2);
            return;
        }
    }
    const char *u = arena_dup(r, st->url, ulen);
    if (u == NULL) {
        xfail(st, cc_fail(CC_E_NOMEM, "extract: out of memory (strings)"));
        return;
    }
    r->links[r->nlinks++] = u;
    idxset_put(set, hv, r->nlinks);
}

/* ---- elements ------------------------------------------------------------------------------ */

static int source_type_ok(const char *type)
{
    size_t n;
    const char *s = trim(type, &n);
    size_t k = 0;
    while (k < n && s[k] != ';' && !is_html_space((unsigned char)s[k]))
        k++;
    return eq_ci_n(s, k, "image/jpeg") || eq_ci_n(s, k, "image/jpg") ||
           eq_ci_n(s, k, "image/pjpeg") || eq_ci_n(s, k, "image/png") ||
           eq_ci_n(s, k, "image/webp");
}

static void on_source(xstate *st, const xmlChar **atts)
{
    if (st->pic_frame < 0)
        return;
    const char *type = attr(atts, "type");
    if (type != NULL && type[0] != '\0' && !source_type_ok(type)) {
        st->res->stats.skipped[EXTRACT_SKIP_SOURCE_TYPE]++;
        return;
    }
    const char *srcset = attr(atts, "srcset");
    const char *lazy = attr(atts, "data-srcset");
    size_t before = st->ncand;
    size_t real = srcset ? srcset_add(st, srcset, "source-srcset") : 0;
    if (real == 0 && lazy != NULL) {
        st->ncand = before; /* the data: placeholders give way to the lazy list */
        srcset_add(st, lazy, "source-data-srcset");
    }
    st->pic_ncand = st->ncand;
    st->pic_bytes = st->curls.len;
}

static void on_img(xstate *st, const xmlChar **atts)
{
    extract_result *r = st->res;
    r->stats.images++;
    /* candidates: the picture's (already there), srcset (or its lazy form), src (or lazy) */
    static const char *const lazy_srcsets[] = {"data-srcset", "data-lazy-srcset", NULL};
    static const char *const lazy_srcs[] = {"data-src", "data-lazy-src", "data-original",
                                            "data-lazy", NULL};
    const char *srcset = attr(atts, "srcset");
    size_t before = st->ncand;
    size_t real = srcset ? srcset_add(st, srcset, "srcset") : 0;
    if (real == 0) {
        for (size_t i = 0; lazy_srcsets[i]; i++) {
            const char *v = attr(atts, lazy_srcsets[i]);
            if (v != NULL && v[0] != '\0') {
                st->ncand = before;
                srcset_add(st, v, lazy_srcsets[i]);
                break;
            }
        }
    }
    const char *src = attr(atts, "src");
    size_t n = 0;
    const char *s = src ? trim(src, &n) : NULL;
    const char *src_name = "src";
    if (s == NULL || is_placeholder(s, n)) {
        for (size_t i = 0; lazy_srcs[i]; i++) {
            const char *v = attr(atts, lazy_srcs[i]);
            size_t vn;
            const char *vs = v ? trim(v, &vn) : NULL;
            if (vs != NULL && vn > 0) {
                s = vs;
                n = vn;
                src_name = lazy_srcs[i];
                break;
            }
        }
    }
    if (s != NULL && n > 0)
        cand_add(st, s, n, 0, 0, 1.0, src_name);
    if (st->stopped)
        return;

    long best = cand_best(st, 1);
    if (best < 0) {
        long pref = cand_best(st, 0);
        r->stats.skipped[pref < 0 ? EXTRACT_SKIP_NO_URL : st->cands[pref].reason]++;
        goto done;
    }
    const cand *c = &st->cands[best];
    const char *url = (const char *)st->curls.data + c->off;
    const char *arena_url = NULL;
    int w = parse_dim(attr(atts, "width")), h = parse_dim(attr(atts, "height"));

    int had_text = 0;
    static const struct {
        const char *name;
        extract_text_kind kind;
    } texts[] = {{"alt", EXTRACT_ALT}, {"title", EXTRACT_TITLE}};
    for (size_t i = 0; i < 2 && !had_text; i++) {
        const char *v = attr(atts, texts[i].name);
        if (v == NULL)
            continue;
        size_t tlen;
        cc_status ns = norm_text(st, v, strlen(v), &tlen);
        if (ns != CC_OK) {
            xfail(st, ns);
            return;
        }
        if (tlen == 0)
            continue;
        had_text = 1;
        const char *u = url;
        pair_add(st, &u, 0, (const char *)st->norm.data, tlen, texts[i].kind, c->attr, w, h);
        if (u != url)
            arena_url = u;
    }
    if (st->stopped)
        return;
    if (st->nfigs == 0) {
        if (!had_text)
            r->stats.skipped[EXTRACT_SKIP_NO_TEXT]++;
        goto done;
    }
    /* inside a figure: wait for its caption */
    if (st->npend >= st->lim->max_pairs) {
        r->stats.skipped[EXTRACT_SKIP_PAIR_LIMIT]++;
        goto done;
    }
    if (st->npend == st->pend_cap) {
        size_t cap = st->pend_cap ? st->pend_cap * 2 : 16;
        pending *np = realloc(st->pend, cap * sizeof *np);
        if (np == NULL) {
            xfail(st, cc_fail(CC_E_NOMEM, "extract: out of memory (figure images)"));
            return;
        }
        st->pend = np;
        st->pend_cap = cap;
    }
    if (arena_url == NULL && (arena_url = arena_dup(r, url, strlen(url))) == NULL) {
        xfail(st, cc_fail(CC_E_NOMEM, "extract: out of memory (strings)"));
        return;
    }
    st->pend[st->npend++] = (pending){arena_url, c->attr, w, h, had_text};
done:
    /* the picture's candidates stay for the next <img> of the same picture */
    st->ncand = st->pic_frame >= 0 ? st->pic_ncand : 0;
    st->curls.len = st->pic_frame >= 0 ? st->pic_bytes : 0;
}

static void on_base(xstate *st, const xmlChar **atts)
{
    const char *href = attr(atts, "href");
    if (st->base_set || href == NULL)
        return;
    st->base_set = 1;
    size_t n;
    const char *s = trim(href, &n);
    if (n >= URL_MAX)
        return;
    memcpy(st->ref, s, n);
    st->ref[n] = '\0';
    if (url_resolve(st->page, st->ref, st->url, sizeof st->url) == CC_OK)
        memcpy(st->base, st->url, strlen(st->url) + 1);
}

static void on_meta(xstate *st, const xmlChar **atts)
{
    const char *name = attr(atts, "name"), *content = attr(atts, "content");
    if (name == NULL || content == NULL)
        return;
    size_t n;
    const char *s = trim(name, &n);
    if (!eq_ci_n(s, n, "robots") && !eq_ci_n(s, n, "clipcrawl"))
        return;
    static const struct {
        const char *token;
        int flags;
    } toks[] = {
        {"noindex", EXTRACT_ROBOTS_NOINDEX},
        {"nofollow", EXTRACT_ROBOTS_NOFOLLOW},
        {"none", EXTRACT_ROBOTS_NOINDEX | EXTRACT_ROBOTS_NOFOLLOW},
        {"noimageindex", EXTRACT_ROBOTS_NOIMAGEINDEX},
        {"noai", EXTRACT_ROBOTS_NOAI},
        {"noimageai", EXTRACT_ROBOTS_NOIMAGEAI},
    };
    for (size_t i = 0; i < sizeof toks / sizeof toks[0]; i++)
        if (has_token(content, toks[i].token))
            st->res->robots |= toks[i].flags;
}

/* Appends a word boundary to the figcaption being read. */
static void cap_space(xstate *st)
{
    if (st->cap_raw.len < st->cap_raw.max) {
        cc_status s = cc_buf_append(&st->cap_raw, " ", 1);
        if (s != CC_OK)
            xfail(st, s);
    }
}

static void figcaption_end(xstate *st)
{
    figure *f = &st->figs[st->cap_fig];
    st->cap_frame = -1;
    if (f->has_caption)
        return;
    f->has_caption = 1;
    size_t len;
    cc_status s = norm_text(st, (const char *)st->cap_raw.data, st->cap_raw.len, &len);
    if (s != CC_OK) {
        xfail(st, s);
        return;
    }
    if (len == 0)
        return;
    f->caption = malloc(len + 1);
    if (f->caption == NULL) {
        xfail(st, cc_fail(CC_E_NOMEM, "extract: out of memory (caption)"));
        return;
    }
    memcpy(f->caption, st->norm.data, len + 1);
}

static void figure_end(xstate *st)
{
    figure *f = &st->figs[--st->nfigs];
    size_t tlen = f->caption ? strlen(f->caption) : 0;
    for (size_t i = f->pend_start; i < st->npend && !st->stopped; i++) {
        pending *p = &st->pend[i];
        if (tlen > 0) {
            const char *u = p->url;
            pair_add(st, &u, 1, f->caption, tlen, EXTRACT_FIGCAPTION, p->attr, p->width, p->height);
        } else if (!p->had_text) {
            st->res->stats.skipped[EXTRACT_SKIP_NO_TEXT]++;
        }
    }
    st->npend = f->pend_start;
    free(f->caption);
    f->caption = NULL;
}

/* ---- SAX callbacks ------------------------------------------------------------------------- */

static void sax_start(void *ctx, const xmlChar *xname, const xmlChar **atts)
{
    xstate *st = ctx;
    if (st->stopped)
        return;
    if (st->depth >= st->lim->max_depth) {
        st->res->stats.truncated = 1;
        st->res->stats.skipped[EXTRACT_SKIP_DEPTH]++;
        st->stopped = 1;
        xmlStopParser(st->ctxt);
        return;
    }
    tag t = tag_of((const char *)xname);
    st->frames[st->depth] = (uint8_t)t;
    if (st->cap_frame >= 0 && t != TAG_INLINE)
        cap_space(st);
    switch (t) {
    case TAG_IMG:
        on_img(st, atts);
        break;
    case TAG_PICTURE:
        st->pic_frame = st->depth; /* an outer picture's candidates are dropped */
        st->ncand = st->pic_ncand = 0;
        st->curls.len = st->pic_bytes = 0;
        break;
    case TAG_SOURCE:
        on_source(st, atts);
        break;
    case TAG_FIGURE:
        if (st->nfigs == st->figs_cap) {
            size_t cap = st->figs_cap ? st->figs_cap * 2 : 8;
            figure *nf = realloc(st->figs, cap * sizeof *nf);
            if (nf == NULL) {
                xfail(st, cc_fail(CC_E_NOMEM, "extract: out of memory (figures)"));
                return;
            }
            st->figs = nf;
            st->figs_cap = cap;
        }
        st->figs[st->nfigs++] = (figure){st->npend, NULL, 0};
        break;
    case TAG_FIGCAPTION:
        if (st->cap_frame < 0 && st->nfigs > 0 && !st->figs[st->nfigs - 1].has_caption) {
            st->cap_frame = st->depth;
            st->cap_fig = st->nfigs - 1;
            cc_buf_reset(&st->cap_raw);
        }
        break;
    case TAG_A:
    case TAG_AREA:
        link_add(st, atts);
        break;
    case TAG_BASE:
        on_base(st, atts);
        break;
    case TAG_META:
        on_meta(st, atts);
        break;
    default:
        break;
    }
    st->depth++;
}

/* Pops one frame (also used to close what is left open after a stopped parse). */
static void frame_pop(xstate *st)
{
    if (st->depth == 0)
        return;
    int d = --st->depth;
    tag t = (tag)st->frames[d];
    if (st->cap_frame >= 0 && t != TAG_INLINE)
        cap_space(st);
    if (t == TAG_FIGCAPTION && st->cap_frame == d)
        figcaption_end(st);
    else if (t == TAG_FIGURE && st->nfigs > 0)
        figure_end(st);
    else if (t == TAG_PICTURE && st->pic_frame == d) {
        st->pic_frame = -1;
        st->ncand = st->pic_ncand = 0;
        st->curls.len = st->pic_bytes = 0;
    }
}

static void sax_end(void *ctx, const xmlChar *name)
{
    (void)name;
    xstate *st = ctx;
    if (!st->stopped)
        frame_pop(st);
}

static void sax_text(void *ctx, const xmlChar *s, int len)
{
    xstate *st = ctx;
    if (st->stopped || st->cap_frame < 0 || len <= 0)
        return;
    size_t room = st->cap_raw.max - st->cap_raw.len;
    size_t n = (size_t)len < room ? (size_t)len : room;
    if (n > 0) {
        cc_status s2 = cc_buf_append(&st->cap_raw, s, n);
        if (s2 != CC_OK)
            xfail(st, s2);
    }
}

/* <script> and <style> content: not text (without this callback libxml2 gives it to
 * characters) */
static void sax_cdata(void *ctx, const xmlChar *s, int len)
{
    (void)ctx;
    (void)s;
    (void)len;
}

static void sax_error(void *ctx, xmlErrorPtr err)
{
    (void)ctx;
    (void)err; /* broken HTML is the normal case; libxml2 recovers */
}

/* ---- entry point --------------------------------------------------------------------------- */

static pthread_once_t init_once = PTHREAD_ONCE_INIT;

static void init_libxml(void)
{
    xmlInitParser();
}

/* libxml2 takes a NUL byte for the end of the input: a page with one gets a copy (*copy, else
 * NULL) in which NULs are spaces, as browsers read on past them. Not for pages whose first
 * bytes say UTF-16 or UCS-4 (a BOM, "<?" in those encodings), where NULs are characters. */
static cc_status nul_as_space(const uint8_t *html, size_t len, char **copy)
{
    *copy = NULL;
    if (memchr(html, 0, len) == NULL)
        return CC_OK;
    if (len >= 4) {
        switch (xmlDetectCharEncoding(html, 4)) {
        case XML_CHAR_ENCODING_UTF16LE:
        case XML_CHAR_ENCODING_UTF16BE:
        case XML_CHAR_ENCODING_UCS4LE:
        case XML_CHAR_ENCODING_UCS4BE:
        case XML_CHAR_ENCODING_UCS4_2143:
        case XML_CHAR_ENCODING_UCS4_3412:
            return CC_OK;
        default:
            break;
        }
    }
    char *c = malloc(len);
    if (c == NULL)
        return CC_E_NOMEM;
    for (size_t i = 0; i < len; i++)
        c[i] = html[i] ? (char)html[i] : ' ';
    *copy = c;
    return CC_OK;
}

static void xstate_free(xstate *st)
{
    for (size_t i = 0; i < st->nfigs; i++)
        free(st->figs[i].caption);
    free(st->figs);
    free(st->pend);
    free(st->frames);
    cc_buf_free(&st->curls);
    cc_buf_free(&st->cap_raw);
    cc_buf_free(&st->norm);
    idxset_free(&st->pair_set);
    idxset_free(&st->link_set);
}

cc_status extract_html(const char *page_url, const uint8_t *html, size_t len,
                       const extract_limits *lim, extract_result **out)
{
    extract_limits def;
    if (out == NULL)
        return cc_fail(CC_E_INVAL, "extract_html: out is NULL");
    *out = NULL;
    if (page_url == NULL || (html == NULL && len > 0))
        return cc_fail(CC_E_INVAL, "extract_html: NULL page URL or HTML");
    if (lim == NULL) {
        extract_limits_default(&def);
        lim = &def;
    }
    CC_CHECK(lim->max_depth >= 1 && lim->max_depth <= 100000, CC_E_INVAL,
             "extract_html: max_depth %d out of range 1..100000", lim->max_depth);
    CC_CHECK(lim->max_text >= 1 && lim->max_text <= ((size_t)1 << 20), CC_E_INVAL,
             "extract_html: max_text %zu out of range 1..1048576", lim->max_text);
    CC_CHECK(lim->max_pairs <= EXTRACT_MAX_ITEMS && lim->max_links <= EXTRACT_MAX_ITEMS, CC_E_INVAL,
             "extract_html: max_pairs %zu / max_links %zu over %zu", lim->max_pairs, lim->max_links,
             (size_t)EXTRACT_MAX_ITEMS);
    CC_CHECK(len <= lim->max_bytes, CC_E_LIMIT,
             "%s: page of %zu bytes is over the extractor's limit of %zu bytes", page_url, len,
             lim->max_bytes);
    CC_CHECK(len <= INT_MAX / 8, CC_E_LIMIT, "%s: page of %zu bytes is too large to parse",
             page_url, len);

    xstate st;
    memset(&st, 0, sizeof st);
    char *nulfree = NULL;
    cc_status s = url_normalize(page_url, st.page, sizeof st.page);
    if (s != CC_OK)
        return cc_wrap(s, "extract_html: page URL");
    memcpy(st.base, st.page, sizeof st.base);
    st.lim = lim;
    st.pic_frame = -1;
    st.cap_frame = -1;
    /* every string libxml2 hands over comes from the page: at most twice its bytes as UTF-8
     * (ISO-8859-1), and text_normalize at most triples that (U+FFFD for an invalid byte) */
    cc_buf_init(&st.norm, 8 * len + 4096);
    cc_buf_init(&st.cap_raw, 16 * lim->max_text + 4096);
    cc_buf_init(&st.curls, (size_t)EXTRACT_MAX_CANDIDATES * URL_MAX);

    extract_result *r = calloc(1, sizeof *r);
    st.frames = malloc((size_t)lim->max_depth);
    st.res = r;
    if (r == NULL || st.frames == NULL) {
        s = cc_fail(CC_E_NOMEM, "extract_html: out of memory");
        goto fail;
    }
    if (len > 0) {
        pthread_once(&init_once, init_libxml);
        const char *in = (const char *)html;
        if (nul_as_space(html, len, &nulfree) != CC_OK) {
            s = cc_fail(CC_E_NOMEM, "extract_html: out of memory (copy of %zu bytes)", len);
            goto fail;
        }
        if (nulfree != NULL)
            in = nulfree;
        htmlParserCtxtPtr ctxt = htmlCreateMemoryParserCtxt(in, (int)len);
        if (ctxt == NULL) {
            s = cc_fail(CC_E_NOMEM, "extract_html: cannot create libxml2's parser");
            goto fail;
        }
        /* our handler, owned here: it replaces the default one, freed first */
        htmlSAXHandler sax;
        memset(&sax, 0, sizeof sax);
        sax.startElement = sax_start;
        sax.endElement = sax_end;
        sax.characters = sax_text;
        sax.ignorableWhitespace = sax_text;
        sax.cdataBlock = sax_cdata;
        sax.serror = sax_error;
        sax.initialized = XML_SAX2_MAGIC; /* so that serror is used */
        if (ctxt->sax != NULL)
            xmlFree(ctxt->sax);
        ctxt->sax = &sax;
        ctxt->userData = &st;
        st.ctxt = ctxt;
        /* htmlCreateMemoryParserCtxt leaves the charset unknown, and libxml2 then reads every
         * undeclared page as ISO-8859-1; htmlReadMemory starts from UTF-8, and so do we (a
         * <meta> charset or a BOM still wins, an invalid byte still falls back to Latin-1) */
        ctxt->charset = XML_CHAR_ENCODING_UTF8;
        htmlCtxtUseOptions(ctxt, HTML_PARSE_RECOVER | HTML_PARSE_NONET | HTML_PARSE_NOERROR |
                                     HTML_PARSE_NOWARNING);
        sax.ignorableWhitespace = sax_text; /* in case an option changed it */
        (void)htmlParseDocument(ctxt); /* its status only says the HTML was not well-formed */
        ctxt->sax = NULL;
        if (ctxt->myDoc != NULL) /* not built without tree callbacks; freed to be sure */
            xmlFreeDoc(ctxt->myDoc);
        ctxt->myDoc = NULL;
        htmlFreeParserCtxt(ctxt);
        st.ctxt = NULL;
        /* close what a stopped parse left open (figures waiting for their caption) */
        int was_stopped = st.stopped;
        st.stopped = st.err != CC_OK;
        while (st.depth > 0 && !st.stopped)
            frame_pop(&st);
        st.stopped = was_stopped || st.stopped;
    }
    if (st.err != CC_OK) {
        s = st.err;
        goto fail;
    }
    r->base = arena_dup(r, st.base, strlen(st.base));
    if (r->base == NULL) {
        s = cc_fail(CC_E_NOMEM, "extract_html: out of memory");
        goto fail;
    }
    xstate_free(&st);
    free(nulfree);
    *out = r;
    return CC_OK;
fail:
    xstate_free(&st);
    free(nulfree);
    extract_free(r);
    return s;
}
