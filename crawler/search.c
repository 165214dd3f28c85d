/* crawler/search.c — search specs, page URLs and answers of search APIs (see search.h).
 *
 * Specs. The presets are spec files kept as strings and read by the same parser as files, so the
 * file format can say everything a preset says. A PATH is stored unescaped, its segments
 * NUL-terminated one after the other in jpath.buf (offsets in off[]); "*" as the last segment
 * of the results path is a flag, not a segment.
 *
 * Parsing an answer, per call:
 *   root                  jansson's tree of the whole answer (json_loadb after the size check);
 *   ents[0..nent)         the entries of the result list, sorted by the order field when the
 *                         spec has one (stable: the answer's position breaks ties);
 *   res[0..kept), offs[]  the kept results; their strings live in one arena (cc_buf) and are
 *                         recorded as offsets while it may move, turned into pointers at the end;
 *   dedupe                an open-addressing set of indices into res, keyed by XXH3 of the image
 *                         URL and of the text (both compared as strings on a hash hit);
 *   raw, norm, text       scratch: a transformed value, its normalized form, the text being built.
 * Every loop is linear in the answer or in max_results; jansson itself is linear in the input.
 */
#include "crawler/search.h"

#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "common/buf.h"
#include "common/file.h"
#include "common/hash.h"
#include "common/utf8.h"
#include "crawler/url.h"
#include "filters/text.h"

#define PATH_BYTES 256 /* a PATH unescaped, its segments NUL-terminated */
#define LINE_MAX_BYTES 4096 /* one spec line */
#define NAME_MAX_BYTES 64
#define DIM_MAX 1000000
#define MAX_BYTES_LIMIT ((size_t)1 << 30)
#define MAX_TEXT_LIMIT ((size_t)1 << 20)
#define REAL_INT_MAX 9007199254740992.0 /* 2^53: larger reals are not exact integers */

/* ---- names --------------------------------------------------------------------------------- */

static const char *const skip_names[SEARCH_SKIP_COUNT] = {
    [SEARCH_SKIP_NOT_OBJECT] = "not_object",
    [SEARCH_SKIP_NO_IMAGE] = "no_image",
    [SEARCH_SKIP_DATA_URL] = "data_url",
    [SEARCH_SKIP_UNSUPPORTED] = "unsupported",
    [SEARCH_SKIP_BAD_URL] = "bad_url",
    [SEARCH_SKIP_SVG] = "svg",
    [SEARCH_SKIP_GIF] = "gif",
    [SEARCH_SKIP_ICO] = "ico",
    [SEARCH_SKIP_NO_TEXT] = "no_text",
    [SEARCH_SKIP_DUPLICATE] = "duplicate",
    [SEARCH_SKIP_RESULT_LIMIT] = "result_limit",
};

static const char *const field_names[SEARCH_FIELD_COUNT] = {
    "image", "text", "page", "width", "height", "license",
};

static const char *const end_names[SEARCH_END_COUNT] = {
    "more", "empty", "last", "bad_paging", "max_pages",
};

const char *search_skip_name(search_skip r)
{
    return (unsigned)r < SEARCH_SKIP_COUNT ? skip_names[r] : "unknown";
}

const char *search_field_name(search_field f)
{
    return (unsigned)f < SEARCH_FIELD_COUNT ? field_names[f] : "unknown";
}

const char *search_end_name(search_end e)
{
    return (unsigned)e < SEARCH_END_COUNT ? end_names[e] : "unknown";
}

void search_limits_default(search_limits *lim)
{
    lim->max_bytes = (size_t)4 << 20;
    lim->max_results = 1000;
    lim->max_text = 2000;
}

/* ---- the spec ------------------------------------------------------------------------------ */

typedef enum xform { XF_NONE, XF_HTML, XF_FILE } xform;

typedef struct jpath {
    int nseg;
    int star; /* a last segment "*": every value of the object (or array) there */
    xform xf;
    uint8_t off[SEARCH_PATH_SEGMENTS]; /* segment i is the NUL-terminated string buf + off[i] */
    char buf[PATH_BYTES];
    char text[PATH_BYTES]; /* as written, for messages */
} jpath;

typedef struct jfield {
    int n; /* 0: not set */
    int join; /* '+': every present value; else the first */
    jpath alt[SEARCH_FIELD_PATHS];
} jfield;

typedef enum next_mode { NM_EMPTY, NM_PRESENT, NM_TOTAL, NM_PAGES, NM_OFFSET, NM_TOKEN } next_mode;

struct search_spec {
    char name[NAME_MAX_BYTES];
    char tmpl[URL_MAX];
    int relative;
    char base[URL_MAX]; /* canonical, "" when not set */
    unsigned per_page, max_pages;
    int has_results;
    jpath results;
    int missing_empty;
    jfield f[SEARCH_FIELD_COUNT];
    next_mode next;
    jpath next_path;
    int has_order, has_error;
    jpath order, error;
};

/* Spec file keys. */
enum {
    K_PRESET,
    K_NAME,
    K_TEMPLATE,
    K_BASE,
    K_PER_PAGE,
    K_MAX_PAGES,
    K_RESULTS,
    K_MISSING,
    K_IMAGE,
    K_TEXT,
    K_PAGE,
    K_WIDTH,
    K_HEIGHT,
    K_LICENSE,
    K_NEXT,
    K_ORDER,
    K_ERROR,
    K_COUNT
};

static const char *const key_names[K_COUNT] = {
    "preset", "name", "template", "base",  "per_page", "max_pages", "results", "missing_results",
    "image",  "text", "page",     "width", "height",   "license",   "next",    "order",
    "error",
};

/* The search_field a key sets, or -1. */
static int key_field(int k)
{
    switch (k) {
    case K_IMAGE:
        return SEARCH_FIELD_IMAGE;
    case K_TEXT:
        return SEARCH_FIELD_TEXT;
    case K_PAGE:
        return SEARCH_FIELD_PAGE;
    case K_WIDTH:
        return SEARCH_FIELD_WIDTH;
    case K_HEIGHT:
        return SEARCH_FIELD_HEIGHT;
    case K_LICENSE:
        return SEARCH_FIELD_LICENSE;
    default:
        return -1;
    }
}

static const char preset_fixture[] =
    "# The fixture web's search API (docs/FIXTURE_WEB.md); set the served site as the base.\n"
    "name = fixture\n"
    "template = /api/search?q={query}&page={page}\n"
    "per_page = 10\n"
    "results = results\n"
    "image = image_url\n"
    "text = title\n"
    "page = page_url\n"
    "width = width\n"
    "height = height\n"
    "next = next\n";

static const char preset_openverse[] =
    "# Openverse's image search (https://api.openverse.org/v1/); anonymous page_size <= 20.\n"
    "name = openverse\n"
    "template = https://api.openverse.org/v1/images/"
    "?q={query}&page={page}&page_size={per_page}\n"
    "per_page = 20\n"
    "results = results\n"
    "image = url\n"
    "text = title\n"
    "page = foreign_landing_url\n"
    "width = width\n"
    "height = height\n"
    "license = license+license_version\n"
    "next = pages=page_count\n";

static const char preset_wikimedia[] =
    "# Wikimedia Commons: full-text search of the File: namespace, with image info.\n"
    "name = wikimedia\n"
    "template = https://commons.wikimedia.org/w/api.php?action=query&format=json"
    "&generator=search&gsrnamespace=6&gsrsearch={query}&gsrlimit={per_page}"
    "&gsroffset={offset}&prop=imageinfo&iiprop=url|size|extmetadata\n"
    "per_page = 50\n"
    "results = query.pages.*\n"
    "missing_results = empty\n"
    "order = index\n"
    "image = imageinfo.0.url\n"
    "text = title@file | imageinfo.0.extmetadata.ImageDescription.value@html\n"
    "page = imageinfo.0.descriptionurl\n"
    "width = imageinfo.0.width\n"
    "height = imageinfo.0.height\n"
    "license = imageinfo.0.extmetadata.LicenseShortName.value@html\n"
    "next = offset=continue.gsroffset\n"
    "error = error.info\n";

static const char *const preset_names[] = {"fixture", "openverse", "wikimedia", NULL};
static const char *const preset_texts[] = {preset_fixture, preset_openverse, preset_wikimedia};

const char *const *search_spec_preset_names(void)
{
    return preset_names;
}

/* -- values ---------------------------------------------------------------------------------- */

static int is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r';
}

static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static int is_alpha(char c)
{
    return (c | 0x20) >= 'a' && (c | 0x20) <= 'z';
}

static int is_alnum(char c)
{
    return is_digit(c) || is_alpha(c);
}

/* A whole decimal number in 1..max (no sign, no spaces). */
static int parse_count(const char *v, unsigned long max, unsigned *out)
{
    if (!is_digit(v[0]))
        return -1;
    errno = 0;
    char *end;
    unsigned long x = strtoul(v, &end, 10);
    if (errno != 0 || *end != '\0' || x < 1 || x > max)
        return -1;
    *out = (unsigned)x;
    return 0;
}

/* Parses one PATH of n bytes at v into *p: segments split at unescaped '.', '\' escaping the
 * next byte, an optional "@html"/"@file" suffix when allow_xf, a last "*" when allow_star.
 * Returns 0, or -1 with a reason in err. */
static int path_parse(const char *v, size_t n, jpath *p, int allow_star, int allow_xf, char *err,
                      size_t errn)
{
    memset(p, 0, sizeof *p);
    while (n > 0 && is_space(v[0]))
        v++, n--;
    while (n > 0 && is_space(v[n - 1]) && !(n >= 2 && v[n - 2] == '\\'))
        n--;
    if (n == 0) {
        snprintf(err, errn, "empty path");
        return -1;
    }
    if (n >= PATH_BYTES) {
        snprintf(err, errn, "path longer than %d bytes", PATH_BYTES - 1);
        return -1;
    }
    memcpy(p->text, v, n);
    p->text[n] = '\0';
    /* the transform: after the first unescaped '@' */
    size_t end = n;
    for (size_t i = 0; i < n; i++) {
        if (v[i] == '\\') {
            i++;
            continue;
        }
        if (v[i] == '@') {
            end = i;
            break;
        }
    }
    if (end < n) {
        const char *x = v + end + 1;
        size_t xn = n - end - 1;
        if (!allow_xf) {
            snprintf(err, errn, "no transform allowed here ('@%.*s')", (int)(xn > 32 ? 32 : xn), x);
            return -1;
        }
        if (xn == 4 && memcmp(x, "html", 4) == 0) {
            p->xf = XF_HTML;
        } else if (xn == 4 && memcmp(x, "file", 4) == 0) {
            p->xf = XF_FILE;
        } else {
            snprintf(err, errn, "unknown transform '@%.*s' (known: @html, @file)",
                     (int)(xn > 32 ? 32 : xn), x);
            return -1;
        }
    }
    size_t o = 0, seg_start = 0;
    int escaped_seg = 0; /* the segment had an escape: "\*" is the key "*" */
    for (size_t i = 0; i <= end; i++) {
        if (i == end || v[i] == '.') {
            size_t len = o - seg_start;
            if (len == 0) {
                snprintf(err, errn, "empty segment in '%s'", p->text);
                return -1;
            }
            if (p->star) {
                snprintf(err, errn, "'*' must be the last segment of '%s'", p->text);
                return -1;
            }
            if (len == 1 && p->buf[seg_start] == '*' && !escaped_seg) {
                if (!allow_star) {
                    snprintf(err, errn, "'*' is allowed only at the end of 'results'");
                    return -1;
                }
                p->star = 1;
                o = seg_start;
            } else {
                if (p->nseg == SEARCH_PATH_SEGMENTS) {
                    snprintf(err, errn, "more than %d segments in '%s'", SEARCH_PATH_SEGMENTS,
                             p->text);
                    return -1;
                }
                p->off[p->nseg++] = (uint8_t)seg_start;
                p->buf[o++] = '\0';
            }
            seg_start = o;
            escaped_seg = 0;
            continue;
        }
        char c = v[i];
        if (c == '\\') {
            if (i + 1 >= end) {
                snprintf(err, errn, "'\\' at the end of '%s'", p->text);
                return -1;
            }
            c = v[++i];
            escaped_seg = 1;
        }
        if (o + 2 >= PATH_BYTES) {
            snprintf(err, errn, "path '%s' too long", p->text);
            return -1;
        }
        p->buf[o++] = c;
    }
    return 0;
}

/* Parses FIELD (PATHs separated by '|' or '+') into *f. */
static int field_parse(const char *v, jfield *f, int allow_join, int allow_xf, char *err,
                       size_t errn)
{
    memset(f, 0, sizeof *f);
    size_t n = strlen(v), start = 0;
    char sep = 0;
    for (size_t i = 0; i <= n; i++) {
        if (i < n && v[i] == '\\') {
            if (i + 1 == n) {
                snprintf(err, errn, "'\\' at the end of '%s'", v);
                return -1;
            }
            i++;
            continue;
        }
        if (i < n && v[i] != '|' && v[i] != '+')
            continue;
        if (i < n) {
            if (sep != 0 && v[i] != sep) {
                snprintf(err, errn, "mixes '|' and '+'");
                return -1;
            }
            sep = v[i];
        }
        if (f->n == SEARCH_FIELD_PATHS) {
            snprintf(err, errn, "more than %d paths", SEARCH_FIELD_PATHS);
            return -1;
        }
        if (path_parse(v + start, (i < n ? i : n) - start, &f->alt[f->n], 0, allow_xf, err, errn) !=
            0)
            return -1;
        f->n++;
        start = i + 1;
    }
    if (sep == '+' && !allow_join) {
        snprintf(err, errn, "'+' (join) is allowed only for text and license");
        return -1;
    }
    f->join = sep == '+';
    return 0;
}

/* One PATH with no alternatives: an unescaped '|' or '+' is an error. */
static int single_path(const char *v, jpath *p, int allow_star, char *err, size_t errn)
{
    for (size_t i = 0; v[i]; i++) {
        if (v[i] == '\\' && v[i + 1]) {
            i++;
        } else if (v[i] == '|' || v[i] == '+') {
            snprintf(err, errn, "one path expected ('%c' separates alternatives: escape it)", v[i]);
            return -1;
        }
    }
    return path_parse(v, strlen(v), p, allow_star, 0, err, errn);
}

static int next_parse(const char *v, search_spec *s, char *err, size_t errn)
{
    static const struct {
        const char *prefix;
        next_mode mode;
    } modes[] = {{"present=", NM_PRESENT},
                 {"total=", NM_TOTAL},
                 {"pages=", NM_PAGES},
                 {"offset=", NM_OFFSET},
                 {"token=", NM_TOKEN}};
    if (strcmp(v, "empty") == 0) {
        s->next = NM_EMPTY;
        return 0;
    }
    for (size_t i = 0; i < sizeof modes / sizeof modes[0]; i++) {
        size_t pl = strlen(modes[i].prefix);
        if (strncmp(v, modes[i].prefix, pl) == 0) {
            s->next = modes[i].mode;
            return single_path(v + pl, &s->next_path, 0, err, errn);
        }
    }
    if (strchr(v, '=') != NULL) {
        snprintf(err, errn,
                 "unknown mode (known: empty, PATH, present=PATH, total=PATH, "
                 "pages=PATH, offset=PATH, token=PATH)");
        return -1;
    }
    s->next = NM_PRESENT;
    return single_path(v, &s->next_path, 0, err, errn);
}

/* -- templates ------------------------------------------------------------------------------- */

typedef enum ph { PH_QUERY, PH_PAGE, PH_PER_PAGE, PH_OFFSET, PH_TOKEN, PH_COUNT } ph;
static const char *const ph_names[PH_COUNT] = {"query", "page", "per_page", "offset", "token"};

/* The placeholder whose name is the n bytes at p, or -1. */
static int ph_find(const char *p, size_t n)
{
    for (int i = 0; i < PH_COUNT; i++)
        if (strlen(ph_names[i]) == n && memcmp(p, ph_names[i], n) == 0)
            return i;
    return -1;
}

typedef struct obuf {
    char *p;
    size_t len, cap;
    int over;
} obuf;

static void ob_put(obuf *o, const char *s, size_t n)
{
    if (o->over || n >= o->cap - o->len) {
        o->over = 1;
        return;
    }
    memcpy(o->p + o->len, s, n);
    o->len += n;
    o->p[o->len] = '\0';
}

/* Appends n bytes percent-encoded: RFC 3986 unreserved kept, every other byte as %XX. */
static void ob_pct(obuf *o, const char *s, size_t n)
{
    static const char hex[] = "0123456789ABCDEF";
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (is_alnum((char)c) || c == '-' || c == '.' || c == '_' || c == '~') {
            ob_put(o, (const char *)&s[i], 1);
        } else {
            char e[3] = {'%', hex[c >> 4], hex[c & 15]};
            ob_put(o, e, 3);
        }
    }
}

/* Expands tmpl into out (cap bytes). CC_E_LIMIT when it does not fit; CC_E_FORMAT for a brace
 * that is not a known placeholder. */
static cc_status expand(const char *tmpl, unsigned per_page, const char *query,
                        const search_cursor *cur, char *out, size_t cap)
{
    obuf o = {out, 0, cap, 0};
    out[0] = '\0';
    char num[32];
    for (const char *p = tmpl; *p;) {
        if (*p == '}')
            return cc_fail(CC_E_FORMAT, "'}' without '{' at byte %zu of the template",
                           (size_t)(p - tmpl));
        if (*p != '{') {
            size_t run = strcspn(p, "{}");
            ob_put(&o, p, run);
            p += run;
            continue;
        }
        const char *close = strchr(p, '}');
        int which = close ? ph_find(p + 1, (size_t)(close - p - 1)) : -1;
        if (which < 0)
            return cc_fail(CC_E_FORMAT,
                           "unknown placeholder at byte %zu of the template (known: {query}, "
                           "{page}, {per_page}, {offset}, {token})",
                           (size_t)(p - tmpl));
        switch ((ph)which) {
        case PH_QUERY:
            ob_pct(&o, query, strlen(query));
            break;
        case PH_PAGE:
            snprintf(num, sizeof num, "%u", (unsigned)cur->page);
            ob_put(&o, num, strlen(num));
            break;
        case PH_PER_PAGE:
            snprintf(num, sizeof num, "%u", per_page);
            ob_put(&o, num, strlen(num));
            break;
        case PH_OFFSET:
            snprintf(num, sizeof num, "%llu", (unsigned long long)cur->offset);
            ob_put(&o, num, strlen(num));
            break;
        case PH_TOKEN:
            ob_pct(&o, cur->token, strlen(cur->token));
            break;
        default:
            assert(0);
        }
        p = close + 1;
    }
    if (o.over)
        return cc_fail(CC_E_LIMIT, "search URL longer than %zu bytes", cap - 1);
    return CC_OK;
}

/* Checks a template: scheme or '/', placeholders, {query}, and that a sample expansion is a
 * URL. Sets s->tmpl and s->relative. */
static int template_set(search_spec *s, const char *v, char *err, size_t errn)
{
    size_t n = strlen(v);
    if (n >= URL_MAX) {
        snprintf(err, errn, "longer than %d bytes", URL_MAX - 1);
        return -1;
    }
    int relative;
    if (strncasecmp(v, "http://", 7) == 0 || strncasecmp(v, "https://", 8) == 0) {
        relative = 0;
    } else if (v[0] == '/' && v[1] != '/') {
        relative = 1;
    } else {
        snprintf(err, errn, "must be an absolute http(s) URL or start with '/'");
        return -1;
    }
    if (strstr(v, "{query}") == NULL) {
        snprintf(err, errn, "has no {query}");
        return -1;
    }
    search_cursor c;
    search_cursor_init(&c);
    char tmp[URL_MAX], canon[URL_MAX];
    cc_status st = expand(v, 1, "q", &c, tmp, sizeof tmp);
    if (st == CC_OK)
        st = relative ? url_resolve("http://example.com/", tmp, canon, sizeof canon)
                      : url_normalize(tmp, canon, sizeof canon);
    if (st != CC_OK) {
        snprintf(err, errn, "%s", cc_errmsg());
        return -1;
    }
    memcpy(s->tmpl, v, n + 1);
    s->relative = relative;
    return 0;
}

/* -- the file format ------------------------------------------------------------------------- */

static cc_status parse_text(search_spec *s, const char *text, size_t len, const char *origin,
                            int nested);

static cc_status apply_preset(search_spec *s, const char *name)
{
    for (size_t i = 0; preset_names[i]; i++)
        if (strcmp(name, preset_names[i]) == 0)
            return parse_text(s, preset_texts[i], strlen(preset_texts[i]), preset_names[i], 1);
    return cc_fail(CC_E_NOTFOUND, "no search preset '%.64s' (known: fixture, openverse, wikimedia)",
                   name);
}

/* Applies key k = v. Returns 0, or -1 with a reason in err (or a cc status already failed: 1). */
static int apply_key(search_spec *s, int k, const char *v, char *err, size_t errn)
{
    int f = key_field(k);
    if (f >= 0)
        return field_parse(v, &s->f[f], f == SEARCH_FIELD_TEXT || f == SEARCH_FIELD_LICENSE,
                           f == SEARCH_FIELD_TEXT || f == SEARCH_FIELD_LICENSE, err, errn);
    switch (k) {
    case K_NAME: {
        size_t n = strlen(v);
        for (size_t i = 0; i < n; i++) {
            if (!is_alnum(v[i]) && v[i] != '_' && v[i] != '-') {
                snprintf(err, errn, "only letters, digits, '_' and '-'");
                return -1;
            }
        }
        if (n >= NAME_MAX_BYTES) {
            snprintf(err, errn, "longer than %d bytes", NAME_MAX_BYTES - 1);
            return -1;
        }
        memcpy(s->name, v, n + 1);
        return 0;
    }
    case K_TEMPLATE:
        return template_set(s, v, err, errn);
    case K_BASE:
        if (search_spec_set_base(s, v) != CC_OK) {
            snprintf(err, errn, "%s", cc_errmsg());
            return -1;
        }
        return 0;
    case K_PER_PAGE:
        if (parse_count(v, SEARCH_PER_PAGE_MAX, &s->per_page) != 0) {
            snprintf(err, errn, "not a number in 1..%d", SEARCH_PER_PAGE_MAX);
            return -1;
        }
        return 0;
    case K_MAX_PAGES:
        if (parse_count(v, SEARCH_MAX_PAGES_LIMIT, &s->max_pages) != 0) {
            snprintf(err, errn, "not a number in 1..%d", SEARCH_MAX_PAGES_LIMIT);
            return -1;
        }
        return 0;
    case K_RESULTS:
        if (single_path(v, &s->results, 1, err, errn) != 0)
            return -1;
        s->has_results = 1;
        return 0;
    case K_MISSING:
        if (strcmp(v, "error") == 0 || strcmp(v, "empty") == 0) {
            s->missing_empty = v[1] == 'm';
            return 0;
        }
        snprintf(err, errn, "'error' or 'empty' expected");
        return -1;
    case K_NEXT:
        return next_parse(v, s, err, errn);
    case K_ORDER:
        s->has_order = 1;
        return single_path(v, &s->order, 0, err, errn);
    case K_ERROR:
        s->has_error = 1;
        return single_path(v, &s->error, 0, err, errn);
    default:
        assert(0);
        return -1;
    }
}

static cc_status parse_text(search_spec *s, const char *text, size_t len, const char *origin,
                            int nested)
{
    if (len > SEARCH_SPEC_MAX_BYTES)
        return cc_fail(CC_E_LIMIT, "%s: spec of %zu bytes is over the limit of %d", origin, len,
                       SEARCH_SPEC_MAX_BYTES);
    char line[LINE_MAX_BYTES + 1], err[URL_MAX + 128];
    unsigned seen = 0;
    size_t lineno = 0, pos = 0;
    int first_key = 1;
    if (len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0) /* a UTF-8 BOM */
        pos = 3;
    while (pos < len) {
        lineno++;
        const char *nl = memchr(text + pos, '\n', len - pos);
        size_t end = nl ? (size_t)(nl - text) : len, n = end - pos;
        if (n > LINE_MAX_BYTES)
            return cc_fail(CC_E_FORMAT, "%s:%zu: line longer than %d bytes", origin, lineno,
                           LINE_MAX_BYTES);
        if (memchr(text + pos, '\0', n) != NULL)
            return cc_fail(CC_E_FORMAT, "%s:%zu: NUL byte", origin, lineno);
        memcpy(line, text + pos, n);
        line[n] = '\0';
        pos = nl ? end + 1 : len;
        char *a = line, *b = line + n;
        while (a < b && is_space(*a))
            a++;
        while (b > a && is_space(b[-1]))
            b--;
        *b = '\0';
        if (a == b || *a == '#')
            continue;
        char *eq = strchr(a, '=');
        if (eq == NULL)
            return cc_fail(CC_E_FORMAT, "%s:%zu: 'key = value' expected, got '%.64s'", origin,
                           lineno, a);
        char *ke = eq, *v = eq + 1;
        while (ke > a && is_space(ke[-1]))
            ke--;
        *ke = '\0';
        while (is_space(*v))
            v++;
        int k = -1;
        for (int i = 0; i < K_COUNT; i++)
            if (strcmp(a, key_names[i]) == 0)
                k = i;
        if (k < 0)
            return cc_fail(CC_E_FORMAT, "%s:%zu: unknown key '%.64s'", origin, lineno, a);
        if (seen & (1u << k))
            return cc_fail(CC_E_FORMAT, "%s:%zu: key '%s' given twice", origin, lineno, a);
        seen |= 1u << k;
        if (*v == '\0')
            return cc_fail(CC_E_FORMAT, "%s:%zu: '%s' has an empty value", origin, lineno, a);
        if (k == K_PRESET) {
            if (nested || !first_key)
                return cc_fail(CC_E_FORMAT, "%s:%zu: 'preset' must be the first key", origin,
                               lineno);
            cc_status st = apply_preset(s, v);
            if (st != CC_OK)
                return cc_wrap(st, "%s:%zu", origin, lineno);
        } else if (apply_key(s, k, v, err, sizeof err) != 0) {
            return cc_fail(CC_E_FORMAT, "%s:%zu: %s: %s", origin, lineno, key_names[k], err);
        }
        first_key = 0;
    }
    if (nested)
        return CC_OK;
    static const int required[] = {K_TEMPLATE, K_RESULTS, K_IMAGE, K_TEXT};
    for (size_t i = 0; i < sizeof required / sizeof required[0]; i++) {
        int k = required[i], f = key_field(k);
        int have = k == K_TEMPLATE  ? s->tmpl[0] != '\0'
                   : k == K_RESULTS ? s->has_results
                                    : s->f[f].n > 0;
        if (!have)
            return cc_fail(CC_E_FORMAT, "%s: missing key '%s'", origin, key_names[k]);
    }
    return CC_OK;
}

static void spec_defaults(search_spec *s, const char *origin)
{
    memset(s, 0, sizeof *s);
    s->per_page = 20;
    s->max_pages = 1000;
    s->next = NM_EMPTY;
    const char *base = cc_path_base(origin);
    size_t n = strlen(base);
    if (n >= NAME_MAX_BYTES)
        n = NAME_MAX_BYTES - 1;
    memcpy(s->name, base, n);
    s->name[n] = '\0';
}

cc_status search_spec_parse(const char *text, size_t len, const char *origin, search_spec **out)
{
    if (out == NULL)
        return cc_fail(CC_E_INVAL, "search_spec_parse: NULL output");
    *out = NULL;
    if ((text == NULL && len > 0) || origin == NULL)
        return cc_fail(CC_E_INVAL, "search_spec_parse: NULL argument");
    search_spec *s = malloc(sizeof *s);
    if (s == NULL)
        return cc_fail(CC_E_NOMEM, "search spec: out of memory");
    spec_defaults(s, origin);
    cc_status st = parse_text(s, text ? text : "", len, origin, 0);
    if (st != CC_OK) {
        free(s);
        return st;
    }
    *out = s;
    return CC_OK;
}

cc_status search_spec_load(const char *path, search_spec **out)
{
    if (out == NULL || path == NULL)
        return cc_fail(CC_E_INVAL, "search_spec_load: NULL argument");
    *out = NULL;
    cc_buf b;
    cc_buf_init(&b, SEARCH_SPEC_MAX_BYTES + 1);
    cc_status st = cc_read_file(path, &b);
    if (st == CC_E_LIMIT || (st == CC_OK && b.len > SEARCH_SPEC_MAX_BYTES))
        st = cc_fail(CC_E_LIMIT, "%s: spec file over the limit of %d bytes", path,
                     SEARCH_SPEC_MAX_BYTES);
    if (st == CC_OK)
        st = search_spec_parse((const char *)b.data, b.len, path, out);
    cc_buf_free(&b);
    return st;
}

cc_status search_spec_preset(const char *name, search_spec **out)
{
    if (out == NULL || name == NULL)
        return cc_fail(CC_E_INVAL, "search_spec_preset: NULL argument");
    *out = NULL;
    for (size_t i = 0; preset_names[i]; i++)
        if (strcmp(name, preset_names[i]) == 0)
            return search_spec_parse(preset_texts[i], strlen(preset_texts[i]), preset_names[i],
                                     out);
    return cc_fail(CC_E_NOTFOUND, "no search preset '%.64s' (known: fixture, openverse, wikimedia)",
                   name);
}

void search_spec_free(search_spec *s)
{
    free(s);
}

cc_status search_spec_set_base(search_spec *s, const char *base_url)
{
    if (s == NULL || base_url == NULL)
        return cc_fail(CC_E_INVAL, "search_spec_set_base: NULL argument");
    char canon[URL_MAX];
    CC_TRY(url_normalize(base_url, canon, sizeof canon));
    memcpy(s->base, canon, strlen(canon) + 1);
    return CC_OK;
}

const char *search_spec_name(const search_spec *s)
{
    return s->name;
}

unsigned search_spec_per_page(const search_spec *s)
{
    return s->per_page;
}

unsigned search_spec_max_pages(const search_spec *s)
{
    return s->max_pages;
}

int search_spec_needs_base(const search_spec *s)
{
    return s->relative && s->base[0] == '\0';
}

/* ---- cursors and URLs ---------------------------------------------------------------------- */

void search_cursor_init(search_cursor *c)
{
    memset(c, 0, sizeof *c);
    c->page = 1;
}

/* A token is 1..SEARCH_TOKEN_MAX-1 bytes of printable ASCII without space. */
static int token_ok(const char *t, size_t n)
{
    if (n == 0 || n >= SEARCH_TOKEN_MAX)
        return 0;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)t[i] < 0x21 || (unsigned char)t[i] > 0x7e)
            return 0;
    return 1;
}

cc_status search_cursor_format(const search_cursor *c, char *out, size_t cap)
{
    if (c == NULL || out == NULL || cap == 0)
        return cc_fail(CC_E_INVAL, "search_cursor_format: NULL argument");
    size_t tn = strnlen(c->token, SEARCH_TOKEN_MAX);
    if (!c->done && (c->page == 0 || (tn > 0 && !token_ok(c->token, tn))))
        return cc_fail(CC_E_INVAL, "search cursor: page 0 or a bad token");
    int n = c->done ? snprintf(out, cap, "end")
                    : snprintf(out, cap, "%u %llu%s%s", (unsigned)c->page,
                               (unsigned long long)c->offset, tn ? " " : "", c->token);
    if (n < 0 || (size_t)n >= cap)
        return cc_fail(CC_E_LIMIT, "search cursor: %zu bytes are not enough", cap);
    return CC_OK;
}

cc_status search_cursor_parse(const char *s, search_cursor *c)
{
    if (s == NULL || c == NULL)
        return cc_fail(CC_E_INVAL, "search_cursor_parse: NULL argument");
    search_cursor_init(c);
    if (strcmp(s, "end") == 0) {
        c->done = 1;
        return CC_OK;
    }
    char *end;
    if (!is_digit(s[0]))
        goto bad;
    errno = 0;
    unsigned long long page = strtoull(s, &end, 10);
    if (errno != 0 || page < 1 || page > UINT32_MAX || *end != ' ' || !is_digit(end[1]))
        goto bad;
    errno = 0;
    unsigned long long off = strtoull(end + 1, &end, 10);
    if (errno != 0)
        goto bad;
    if (*end == ' ') {
        size_t tn = strlen(end + 1);
        if (!token_ok(end + 1, tn))
            goto bad;
        memcpy(c->token, end + 1, tn + 1);
    } else if (*end != '\0') {
        goto bad;
    }
    c->page = (uint32_t)page;
    c->offset = off;
    return CC_OK;
bad:
    search_cursor_init(c);
    return cc_fail(CC_E_FORMAT, "search cursor '%.64s': 'PAGE OFFSET [TOKEN]' or 'end' expected",
                   s);
}

cc_status search_page_url(const search_spec *s, const char *query, const search_cursor *cur,
                          char *out, size_t cap)
{
    if (s == NULL || query == NULL || cur == NULL || out == NULL || cap == 0)
        return cc_fail(CC_E_INVAL, "search_page_url: NULL argument");
    if (query[0] == '\0')
        return cc_fail(CC_E_INVAL, "search %s: empty query", s->name);
    if (cur->done || cur->page == 0)
        return cc_fail(CC_E_INVAL, "search %s: the cursor is at the end", s->name);
    if (search_spec_needs_base(s))
        return cc_fail(CC_E_INVAL, "search %s: relative template and no base URL", s->name);
    char tmp[URL_MAX];
    cc_status st = expand(s->tmpl, s->per_page, query, cur, tmp, sizeof tmp);
    if (st != CC_OK)
        return cc_wrap(st, "search %s", s->name);
    st = s->base[0] ? url_resolve(s->base, tmp, out, cap) : url_normalize(tmp, out, cap);
    if (st != CC_OK)
        return cc_wrap(st, "search %s", s->name);
    return CC_OK;
}

/* ---- reading answers ----------------------------------------------------------------------- */

struct search_page {
    search_result *res;
    size_t n;
    cc_buf arena;
    search_cursor next;
    search_end end;
    search_stats st;
};

static json_t *path_get(const jpath *p, json_t *v)
{
    for (int i = 0; i < p->nseg && v != NULL; i++) {
        const char *seg = p->buf + p->off[i];
        if (json_is_object(v)) {
            v = json_object_get(v, seg);
        } else if (json_is_array(v)) {
            size_t idx = 0, k = 0;
            for (; is_digit(seg[k]) && k < 10; k++)
                idx = idx * 10 + (size_t)(seg[k] - '0');
            if (k == 0 || seg[k] != '\0')
                return NULL;
            v = json_array_get(v, idx);
        } else {
            return NULL;
        }
    }
    return v;
}

/* A non-negative integer: a JSON integer, an integral real, or a string of digits.
 * 1: *out set; 0: absent or null; -1: another type, or out of 0..max. */
static int json_uint(const json_t *v, uint64_t max, uint64_t *out)
{
    if (v == NULL || json_is_null(v))
        return 0;
    if (json_is_integer(v)) {
        json_int_t i = json_integer_value(v);
        if (i < 0 || (uint64_t)i > max)
            return -1;
        *out = (uint64_t)i;
        return 1;
    }
    if (json_is_real(v)) {
        double d = json_real_value(v);
        if (!(d >= 0.0 && d <= REAL_INT_MAX) || d != (double)(uint64_t)d || (uint64_t)d > max)
            return -1;
        *out = (uint64_t)d;
        return 1;
    }
    if (json_is_string(v)) {
        const char *s = json_string_value(v);
        size_t n = json_string_length(v);
        if (n == 0 || n > 19)
            return -1;
        uint64_t x = 0;
        for (size_t i = 0; i < n; i++) {
            if (!is_digit(s[i]))
                return -1;
            x = x * 10 + (uint64_t)(s[i] - '0');
        }
        if (x > max)
            return -1;
        *out = x;
        return 1;
    }
    return -1;
}

/* -- transforms ------------------------------------------------------------------------------ */

static int is_inline_tag(const char *name, size_t n)
{
    static const char *const tags[] = {
        "a",  "abbr", "b",    "bdi", "bdo",    "cite", "code",  "data", "dfn",   "em",   "font",
        "i",  "kbd",  "mark", "q",   "s",      "samp", "small", "span", "sub",   "sup",  "time",
        "tt", "u",    "var",  "wbr", "strike", "ins",  "del",   "big",  "label", "nobr", "strong",
    };
    for (size_t i = 0; i < sizeof tags / sizeof tags[0]; i++)
        if (strlen(tags[i]) == n && strncasecmp(name, tags[i], n) == 0)
            return 1;
    return 0;
}

/* The entity at s[0] == '&' (n bytes left): its length, with its code point in *cp, or 0. */
static size_t entity(const char *s, size_t n, uint32_t *cp)
{
    static const struct {
        const char *name;
        uint32_t cp;
    } named[] = {{"amp;", '&'},  {"lt;", '<'},    {"gt;", '>'},
                 {"quot;", '"'}, {"apos;", '\''}, {"nbsp;", 0xA0}};
    if (n >= 3 && s[1] == '#') {
        int hex = s[2] == 'x' || s[2] == 'X';
        size_t i = hex ? 3 : 2, start = i;
        uint32_t v = 0;
        for (; i < n && i - start < 8; i++) {
            char c = s[i];
            int d = is_digit(c)                                     ? c - '0'
                    : hex && (c | 0x20) >= 'a' && (c | 0x20) <= 'f' ? (c | 0x20) - 'a' + 10
                                                                    : -1;
            if (d < 0)
                break;
            v = v * (hex ? 16 : 10) + (uint32_t)d;
        }
        if (i == start || i >= n || s[i] != ';' || v == 0 || v > 0x10FFFF ||
            (v >= 0xD800 && v <= 0xDFFF))
            return 0;
        *cp = v;
        return i + 1;
    }
    for (size_t k = 0; k < sizeof named / sizeof named[0]; k++) {
        size_t len = strlen(named[k].name);
        if (n > len && memcmp(s + 1, named[k].name, len) == 0) {
            *cp = named[k].cp;
            return len + 1;
        }
    }
    return 0;
}

/* A simple tag stripper: tags removed (a space for each tag that is not inline), comments
 * dropped, a few entities decoded. Linear in n. */
static cc_status html_strip(const char *s, size_t n, cc_buf *out)
{
    size_t i = 0, run = 0; /* s[run..i) is plain text not yet copied */
    while (i < n) {
        char c = s[i];
        if (c == '<' && i + 1 < n &&
            (is_alpha(s[i + 1]) || s[i + 1] == '/' || s[i + 1] == '!' || s[i + 1] == '?')) {
            CC_TRY(cc_buf_append(out, s + run, i - run));
            size_t j;
            if (n - i >= 4 && memcmp(s + i, "<!--", 4) == 0) {
                const char *e = memmem(s + i + 4, n - i - 4, "-->", 3);
                j = e ? (size_t)(e - s) + 3 : n;
            } else {
                j = i + 1;
                if (s[j] == '/')
                    j++;
                size_t name = j;
                while (j < n && is_alnum(s[j]))
                    j++;
                int inl = is_inline_tag(s + name, j - name);
                char q = 0, prev = 0;
                for (; j < n; j++) {
                    if (q) {
                        if (s[j] == q)
                            q = 0;
                    } else if ((s[j] == '"' || s[j] == '\'') && prev == '=') {
                        q = s[j];
                    } else if (s[j] == '>') {
                        break;
                    }
                    if (!is_space(s[j]) && s[j] != '\n')
                        prev = s[j];
                }
                j = j < n ? j + 1 : n;
                if (!inl)
                    CC_TRY(cc_buf_append(out, " ", 1));
            }
            i = run = j;
            continue;
        }
        uint32_t cp;
        size_t el;
        if (c == '&' && (el = entity(s + i, n - i, &cp)) > 0) {
            uint8_t u[4];
            CC_TRY(cc_buf_append(out, s + run, i - run));
            CC_TRY(cc_buf_append(out, u, cc_utf8_encode(cp, u)));
            i = run = i + el;
            continue;
        }
        i++;
    }
    return cc_buf_append(out, s + run, n - run);
}

/* A file page title: "File:Red_fox (Vulpes).jpg" is "Red fox (Vulpes)". */
static cc_status file_title(const char *s, size_t n, cc_buf *out)
{
    if (n >= 5 && strncasecmp(s, "file:", 5) == 0)
        s += 5, n -= 5;
    else if (n >= 6 && strncasecmp(s, "image:", 6) == 0)
        s += 6, n -= 6;
    for (size_t i = n; i > 0; i--) {
        if (s[i - 1] == '.') {
            size_t ext = n - i;
            int ok = ext >= 1 && ext <= 5 && i > 1;
            for (size_t k = i; ok && k < n; k++)
                ok = is_alnum(s[k]);
            if (ok)
                n = i - 1;
            break;
        }
        if (!is_alnum(s[i - 1]))
            break;
    }
    size_t start = out->len;
    CC_TRY(cc_buf_append(out, s, n));
    for (size_t i = start; i < out->len; i++)
        if (out->data[i] == '_')
            out->data[i] = ' ';
    return CC_OK;
}

/* -- one parse ------------------------------------------------------------------------------- */

typedef struct ent {
    json_t *v;
    uint64_t key;
    int has_key;
    size_t pos;
} ent;

static int cmp_ent(const void *a, const void *b)
{
    const ent *x = a, *y = b;
    if (x->has_key != y->has_key)
        return x->has_key ? -1 : 1;
    if (x->has_key && x->key != y->key)
        return x->key < y->key ? -1 : 1;
    return x->pos < y->pos ? -1 : x->pos > y->pos;
}

typedef struct roff {
    size_t img, text, page, lic; /* arena offsets; SIZE_MAX: none */
} roff;

typedef struct pstate {
    const search_spec *s;
    const search_limits *lim;
    char base[URL_MAX];
    size_t raw_max;
    cc_buf raw, norm, text;
    search_page *p;
    roff *offs;
    size_t *set; /* dedupe: index + 1 into res, 0 empty */
    size_t set_mask;
} pstate;

/* The last UTF-8 character boundary at or before max in s (which holds more than max bytes). */
static size_t utf8_cut(const uint8_t *s, size_t max)
{
    while (max > 0 && (s[max] & 0xC0) == 0x80)
        max--;
    return max;
}

/* Builds the text of field f of entry e into ps->text: each present string value transformed,
 * normalized; the first non-empty one, or all joined. *bad when a value had another type. */
static cc_status field_text(pstate *ps, const jfield *f, json_t *e, int license, int *bad)
{
    cc_buf_reset(&ps->text);
    uint64_t parts[SEARCH_FIELD_PATHS];
    int nparts = 0;
    for (int a = 0; a < f->n; a++) {
        json_t *v = path_get(&f->alt[a], e);
        if (v == NULL || json_is_null(v))
            continue;
        if (!json_is_string(v)) {
            *bad = 1;
            continue;
        }
        const char *str = json_string_value(v);
        size_t n = json_string_length(v);
        if (n > ps->raw_max)
            n = utf8_cut((const uint8_t *)str, ps->raw_max);
        if (f->alt[a].xf != XF_NONE) {
            cc_buf_reset(&ps->raw);
            CC_TRY(f->alt[a].xf == XF_HTML ? html_strip(str, n, &ps->raw)
                                           : file_title(str, n, &ps->raw));
            str = (const char *)ps->raw.data;
            n = ps->raw.len;
        }
        CC_TRY(text_normalize(str ? str : "", n, &ps->norm, NULL));
        if (ps->norm.len == 0)
            continue;
        uint64_t h = cc_hash64(ps->norm.data, ps->norm.len);
        int dup = 0;
        for (int k = 0; k < nparts; k++)
            dup |= parts[k] == h;
        if (dup)
            continue;
        parts[nparts++] = h;
        /* keep at most one byte past the cap: enough to know that a cut happened */
        size_t room = ps->text.max - ps->text.len;
        if (ps->text.len > 0) {
            char last = (char)ps->text.data[ps->text.len - 1];
            const char *sep = license || strchr(".!?:;", last) ? " " : ". ";
            size_t sl = strlen(sep) < room ? strlen(sep) : room;
            CC_TRY(cc_buf_append(&ps->text, sep, sl));
            room -= sl;
        }
        CC_TRY(cc_buf_append(&ps->text, ps->norm.data, ps->norm.len < room ? ps->norm.len : room));
        if (!f->join)
            break;
    }
    return CC_OK;
}

/* Appends the current text (cut to max bytes at a character boundary, trailing spaces dropped)
 * to the arena; *off gets its offset, SIZE_MAX when empty. *cut is set when it was cut. */
static cc_status keep_text(pstate *ps, size_t max, size_t *off, int *cut)
{
    size_t n = ps->text.len;
    const uint8_t *t = ps->text.data;
    if (n > max) {
        n = utf8_cut(t, max);
        while (n > 0 && t[n - 1] == ' ')
            n--;
        *cut = 1;
    }
    *off = SIZE_MAX;
    if (n == 0)
        return CC_OK;
    *off = ps->p->arena.len;
    CC_TRY(cc_buf_append(&ps->p->arena, t, n));
    return cc_buf_append(&ps->p->arena, "", 1);
}

/* The first present non-empty string of f in e, or NULL (*bad when a value had another type). */
static const char *field_str(const jfield *f, json_t *e, int *bad)
{
    for (int a = 0; a < f->n; a++) {
        json_t *v = path_get(&f->alt[a], e);
        if (v == NULL || json_is_null(v))
            continue;
        if (!json_is_string(v)) {
            *bad = 1;
            continue;
        }
        if (json_string_length(v) > 0)
            return json_string_value(v);
    }
    return NULL;
}

/* The first valid size of f in e, 0 when none. */
static int field_dim(const jfield *f, json_t *e, int *bad)
{
    for (int a = 0; a < f->n; a++) {
        uint64_t x;
        int r = json_uint(path_get(&f->alt[a], e), DIM_MAX, &x);
        if (r < 0)
            *bad = 1;
        if (r > 0 && x > 0)
            return (int)x;
    }
    return 0;
}

static int ends_with_ci(const char *s, size_t n, const char *suffix)
{
    size_t k = strlen(suffix);
    return n >= k && strncasecmp(s + n - k, suffix, k) == 0;
}

/* Resolves an image reference into out; SEARCH_SKIP_COUNT when usable, else the reason. */
static search_skip image_url(const char *base, const char *ref, char *out)
{
    const char *r = ref;
    while (*r && (unsigned char)*r <= 0x20)
        r++;
    if (strncasecmp(r, "data:", 5) == 0)
        return SEARCH_SKIP_DATA_URL;
    cc_status st = url_resolve(base, ref, out, URL_MAX);
    if (st == CC_E_UNSUPPORTED)
        return SEARCH_SKIP_UNSUPPORTED;
    if (st != CC_OK)
        return SEARCH_SKIP_BAD_URL;
    const char *path = strchr(strstr(out, "://") + 3, '/');
    size_t n = path ? strcspn(path, "?") : 0;
    if (ends_with_ci(path, n, ".svg") || ends_with_ci(path, n, ".svgz"))
        return SEARCH_SKIP_SVG;
    if (ends_with_ci(path, n, ".gif"))
        return SEARCH_SKIP_GIF;
    if (ends_with_ci(path, n, ".ico"))
        return SEARCH_SKIP_ICO;
    return SEARCH_SKIP_COUNT;
}

/* 1 when (url, text) is the pair of a result already kept; else records it (index i). */
static int seen_before(pstate *ps, const char *url, const char *text, size_t i)
{
    size_t ul = strlen(url), tl = strlen(text);
    uint64_t h = cc_hash64(url, ul) ^ (cc_hash64(text, tl) * 0x9E3779B97F4A7C15ull);
    for (size_t k = (size_t)h & ps->set_mask;; k = (k + 1) & ps->set_mask) {
        size_t j = ps->set[k];
        if (j == 0) {
            ps->set[k] = i + 1;
            return 0;
        }
        const char *a = (const char *)ps->p->arena.data;
        if (strcmp(a + ps->offs[j - 1].img, url) == 0 &&
            strcmp(a + ps->offs[j - 1].text, text) == 0)
            return 1;
    }
}

/* Reads entry e; keeps it as result number p->n or counts why not. */
static cc_status read_entry(pstate *ps, json_t *e, size_t index)
{
    const search_spec *s = ps->s;
    search_page *p = ps->p;
    search_stats *st = &p->st;
    if (!json_is_object(e)) {
        st->skipped[SEARCH_SKIP_NOT_OBJECT]++;
        return CC_OK;
    }
    int bad[SEARCH_FIELD_COUNT] = {0};
    roff o = {SIZE_MAX, SIZE_MAX, SIZE_MAX, SIZE_MAX};
    search_skip why = SEARCH_SKIP_COUNT;
    char url[URL_MAX];
    const char *ref = field_str(&s->f[SEARCH_FIELD_IMAGE], e, &bad[SEARCH_FIELD_IMAGE]);
    if (ref == NULL)
        why = SEARCH_SKIP_NO_IMAGE;
    else
        why = image_url(ps->base, ref, url);
    /* every field is read for every object entry, so that bad_type counts do not depend on
     * which field made the entry unusable */
    int cut = 0, lcut = 0;
    size_t mark = p->arena.len;
    CC_TRY(field_text(ps, &s->f[SEARCH_FIELD_TEXT], e, 0, &bad[SEARCH_FIELD_TEXT]));
    CC_TRY(keep_text(ps, ps->lim->max_text, &o.text, &cut));
    if (o.text == SIZE_MAX && why == SEARCH_SKIP_COUNT)
        why = SEARCH_SKIP_NO_TEXT;
    if (s->f[SEARCH_FIELD_LICENSE].n > 0) {
        CC_TRY(field_text(ps, &s->f[SEARCH_FIELD_LICENSE], e, 1, &bad[SEARCH_FIELD_LICENSE]));
        CC_TRY(keep_text(ps, SEARCH_LICENSE_MAX - 1, &o.lic, &lcut));
    }
    search_result r = {0};
    const char *pref = field_str(&s->f[SEARCH_FIELD_PAGE], e, &bad[SEARCH_FIELD_PAGE]);
    r.width = field_dim(&s->f[SEARCH_FIELD_WIDTH], e, &bad[SEARCH_FIELD_WIDTH]);
    r.height = field_dim(&s->f[SEARCH_FIELD_HEIGHT], e, &bad[SEARCH_FIELD_HEIGHT]);
    for (int f = 0; f < SEARCH_FIELD_COUNT; f++)
        st->bad_type[f] += (size_t)bad[f];
    if (why == SEARCH_SKIP_COUNT) {
        o.img = p->arena.len;
        CC_TRY(cc_buf_append(&p->arena, url, strlen(url) + 1));
        if (seen_before(ps, url, (const char *)p->arena.data + o.text, p->n))
            why = SEARCH_SKIP_DUPLICATE;
    }
    if (why != SEARCH_SKIP_COUNT) {
        st->skipped[why]++;
        p->arena.len = mark; /* nothing of a skipped entry stays */
        return CC_OK;
    }
    if (pref != NULL) {
        if (url_resolve(ps->base, pref, url, sizeof url) == CC_OK) {
            o.page = p->arena.len;
            CC_TRY(cc_buf_append(&p->arena, url, strlen(url) + 1));
        } else {
            st->bad_page_url++;
        }
    }
    st->text_cut += (size_t)cut;
    r.index = index;
    p->res[p->n] = r;
    ps->offs[p->n] = o;
    p->n++;
    st->kept++;
    return CC_OK;
}

/* Decides the next cursor from the answer's paging field. */
static void paging(const search_spec *s, const search_cursor *cur, json_t *root, size_t entries,
                   search_page *p)
{
    search_cursor *nx = &p->next;
    *nx = *cur;
    nx->offset = cur->offset + s->per_page;
    search_end end = SEARCH_MORE;
    json_t *v = s->next == NM_EMPTY ? NULL : path_get(&s->next_path, root);
    uint64_t x = 0;
    if (entries == 0) {
        end = SEARCH_END_EMPTY;
    } else {
        switch (s->next) {
        case NM_EMPTY:
            break;
        case NM_PRESENT:
            if (v == NULL || json_is_null(v) || json_is_false(v) ||
                (json_is_string(v) && json_string_length(v) == 0) ||
                (json_is_array(v) && json_array_size(v) == 0) ||
                (json_is_object(v) && json_object_size(v) == 0))
                end = SEARCH_END_LAST;
            break;
        case NM_TOTAL:
            if (json_uint(v, UINT64_MAX, &x) <= 0)
                end = SEARCH_END_BAD_PAGING;
            else if (nx->offset >= x)
                end = SEARCH_END_LAST;
            break;
        case NM_PAGES:
            if (json_uint(v, UINT64_MAX, &x) <= 0)
                end = SEARCH_END_BAD_PAGING;
            else if (cur->page >= x)
                end = SEARCH_END_LAST;
            break;
        case NM_OFFSET: {
            int r = json_uint(v, UINT64_MAX, &x);
            if (r == 0)
                end = SEARCH_END_LAST;
            else if (r < 0 || x <= cur->offset)
                end = SEARCH_END_BAD_PAGING;
            else
                nx->offset = x;
            break;
        }
        case NM_TOKEN: {
            char num[24];
            const char *t = NULL;
            size_t tn = 0;
            if (json_is_string(v)) {
                t = json_string_value(v);
                tn = json_string_length(v);
            } else if (json_uint(v, UINT64_MAX, &x) > 0) {
                tn = (size_t)snprintf(num, sizeof num, "%llu", (unsigned long long)x);
                t = num;
            }
            if (v == NULL || json_is_null(v) || (t != NULL && tn == 0)) {
                end = SEARCH_END_LAST;
            } else if (t == NULL || !token_ok(t, tn) || strcmp(t, cur->token) == 0) {
                end = SEARCH_END_BAD_PAGING;
            } else {
                memset(nx->token, 0, sizeof nx->token);
                memcpy(nx->token, t, tn);
            }
            break;
        }
        }
    }
    if (end == SEARCH_MORE && cur->page >= s->max_pages)
        end = SEARCH_END_MAX_PAGES;
    if (end == SEARCH_MORE && (nx->offset < cur->offset || cur->page == UINT32_MAX))
        end = SEARCH_END_BAD_PAGING; /* an offset or page number that would wrap */
    if (end != SEARCH_MORE) {
        *nx = *cur;
        nx->done = 1;
    } else {
        nx->page = cur->page + 1;
    }
    p->end = end;
}

/* The API error at s->error, when there is one. */
static cc_status api_error(const search_spec *s, json_t *root, const char *page_url)
{
    json_t *v = path_get(&s->error, root);
    if (v == NULL || json_is_null(v))
        return CC_OK;
    if (json_is_string(v))
        return cc_fail(CC_E_FORMAT, "%s: search API error: %.200s", page_url, json_string_value(v));
    char *d = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    cc_status st = cc_fail(CC_E_FORMAT, "%s: search API error: %.200s", page_url, d ? d : "?");
    free(d);
    return st;
}

/* The entries of the result list into *ents / *nent (ents malloc'ed; NULL when none). */
static cc_status collect(const search_spec *s, json_t *root, const char *page_url, ent **ents,
                         size_t *nent)
{
    *ents = NULL;
    *nent = 0;
    json_t *list = path_get(&s->results, root);
    if (list == NULL || json_is_null(list)) {
        if (s->missing_empty)
            return CC_OK;
        return cc_fail(CC_E_FORMAT, "%s: no result list at '%s'", page_url, s->results.text);
    }
    int ok = json_is_array(list) || (s->results.star && json_is_object(list));
    if (!ok)
        return cc_fail(CC_E_FORMAT, "%s: '%s' is not %s", page_url, s->results.text,
                       s->results.star ? "an object or an array" : "an array");
    size_t n = json_is_array(list) ? json_array_size(list) : json_object_size(list);
    if (n == 0)
        return CC_OK;
    ent *e = calloc(n, sizeof *e);
    if (e == NULL)
        return cc_fail(CC_E_NOMEM, "search: out of memory for %zu results", n);
    size_t k = 0;
    if (json_is_array(list)) {
        for (; k < n; k++)
            e[k].v = json_array_get(list, k);
    } else {
        const char *key;
        json_t *val;
        json_object_foreach(list, key, val)
        {
            if (k < n)
                e[k++].v = val;
        }
    }
    for (size_t i = 0; i < k; i++) {
        e[i].pos = i;
        if (s->has_order && json_is_object(e[i].v))
            e[i].has_key = json_uint(path_get(&s->order, e[i].v), UINT64_MAX, &e[i].key) > 0;
    }
    if (s->has_order)
        qsort(e, k, sizeof *e, cmp_ent);
    *ents = e;
    *nent = k;
    return CC_OK;
}

cc_status search_parse(const search_spec *s, const search_cursor *cur, const char *page_url,
                       const uint8_t *json, size_t len, const search_limits *lim, search_page **out)
{
    if (out == NULL)
        return cc_fail(CC_E_INVAL, "search_parse: NULL output");
    *out = NULL;
    if (s == NULL || cur == NULL || page_url == NULL || (json == NULL && len > 0))
        return cc_fail(CC_E_INVAL, "search_parse: NULL argument");
    search_limits dl;
    if (lim == NULL) {
        search_limits_default(&dl);
        lim = &dl;
    }
    if (lim->max_bytes < 1 || lim->max_bytes > MAX_BYTES_LIMIT ||
        lim->max_results > SEARCH_RESULTS_LIMIT || lim->max_text < 1 ||
        lim->max_text > MAX_TEXT_LIMIT)
        return cc_fail(CC_E_INVAL, "search_parse: a limit out of range");
    if (cur->done || cur->page == 0)
        return cc_fail(CC_E_INVAL, "search_parse: the cursor is at the end");
    if (len > lim->max_bytes)
        return cc_fail(CC_E_LIMIT, "%s: search answer of %zu bytes is over the limit of %zu",
                       page_url, len, lim->max_bytes);

    pstate ps = {.s = s, .lim = lim};
    CC_TRY(url_normalize(page_url, ps.base, sizeof ps.base));
    ps.raw_max = 16 * lim->max_text + 4096;
    cc_buf_init(&ps.raw, ps.raw_max + 16);
    cc_buf_init(&ps.norm, 3 * ps.raw_max + 16);
    cc_buf_init(&ps.text,
                lim->max_text + 1 > SEARCH_LICENSE_MAX ? lim->max_text + 1 : SEARCH_LICENSE_MAX);
    ent *ents = NULL;
    size_t nent = 0;
    cc_status st = CC_OK;
    search_page *p = calloc(1, sizeof *p);
    json_error_t jerr;
    /* integers as reals: an id beyond 64 bits anywhere in the answer must not fail the page */
    json_t *root =
        json ? json_loadb((const char *)json, len, JSON_DECODE_INT_AS_REAL, &jerr) : NULL;
    if (p == NULL) {
        st = cc_fail(CC_E_NOMEM, "search: out of memory");
        goto done;
    }
    ps.p = p;
    if (root == NULL) {
        if (json == NULL)
            st = cc_fail(CC_E_FORMAT, "%s: empty search answer", ps.base);
        else
            st = cc_fail(CC_E_FORMAT, "%s: malformed JSON at line %d, column %d: %s", ps.base,
                         jerr.line, jerr.column, jerr.text);
        goto done;
    }
    if (s->has_error)
        CC_TRY_GOTO(st, api_error(s, root, ps.base), done);
    CC_TRY_GOTO(st, collect(s, root, ps.base, &ents, &nent), done);

    size_t take = nent < lim->max_results ? nent : lim->max_results;
    p->st.entries = nent;
    p->st.skipped[SEARCH_SKIP_RESULT_LIMIT] = nent - take;
    cc_buf_init(&p->arena, take * (2 * URL_MAX + lim->max_text + SEARCH_LICENSE_MAX + 8) + 1);
    size_t slots = 16;
    while (slots < 2 * take)
        slots *= 2;
    p->res = calloc(take ? take : 1, sizeof *p->res);
    ps.offs = calloc(take ? take : 1, sizeof *ps.offs);
    ps.set = calloc(slots, sizeof *ps.set);
    ps.set_mask = slots - 1;
    if (p->res == NULL || ps.offs == NULL || ps.set == NULL) {
        st = cc_fail(CC_E_NOMEM, "search: out of memory for %zu results", take);
        goto done;
    }
    for (size_t i = 0; i < take; i++)
        CC_TRY_GOTO(st, read_entry(&ps, ents[i].v, i), done);
    paging(s, cur, root, nent, p);

    /* the arena no longer moves: offsets become pointers */
    const char *base = (const char *)p->arena.data;
    for (size_t i = 0; i < p->n; i++) {
        const roff *o = &ps.offs[i];
        p->res[i].image_url = base + o->img;
        p->res[i].text = base + o->text;
        p->res[i].page_url = o->page == SIZE_MAX ? NULL : base + o->page;
        p->res[i].license = o->lic == SIZE_MAX ? NULL : base + o->lic;
    }
done:
    json_decref(root);
    free(ents);
    free(ps.offs);
    free(ps.set);
    cc_buf_free(&ps.raw);
    cc_buf_free(&ps.norm);
    cc_buf_free(&ps.text);
    if (st != CC_OK) {
        search_page_free(p);
        return st;
    }
    *out = p;
    return CC_OK;
}

size_t search_page_count(const search_page *p)
{
    return p->n;
}

const search_result *search_page_at(const search_page *p, size_t i)
{
    return i < p->n ? &p->res[i] : NULL;
}

const search_cursor *search_page_next(const search_page *p)
{
    return &p->next;
}

search_end search_page_end(const search_page *p)
{
    return p->end;
}

const search_stats *search_page_stats(const search_page *p)
{
    return &p->st;
}

void search_page_free(search_page *p)
{
    if (p == NULL)
        return;
    free(p->res);
    cc_buf_free(&p->arena);
    free(p);
}
