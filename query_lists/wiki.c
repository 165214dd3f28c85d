/* query_lists/wiki.c — wiki_build (see wiki.h): stream a MediaWiki export, count words and
 * bigrams, add words, high-PMI bigrams and titles to a query list.
 *
 * Pipeline, one page at a time, memory bounded by the options:
 *   zread (decompressor, magic bytes) -> xmlTextReader (libxml2, XML_PARSE_NONET, no HUGE)
 *   -> page state (<ns>, <redirect>, <title>, text of the last <revision>, cut at max_page_bytes)
 *   -> wiki_strip_markup (wiki_markup.c) -> segments -> qn_words -> ngram counters (ngram.c).
 *
 * Bigram rule (pinned by tests/unit/test_wiki.c): a bigram is two consecutive words of the same
 * segment. Segments end at
 *   - a paragraph end: the stripper's '\n' (blank line, heading, list item, table, rule);
 *   - a sentence end: '.', '!' or '?', optionally followed by closing quotes or brackets
 *     (" ' ) ]), then whitespace or the end of the text. "3.5" and "U.S.A" do not end a sentence
 *     (their words "3 5" are what normalize.h makes of the query "3.5" too); "U.S. Army" does.
 * Every word is counted as a unigram; N (wiki_stats.words) is their total.
 *
 * PMI(a b) = ln(c(a b)) + ln(N) - ln(c(a)) - ln(c(b)), in double precision.
 * Pages without an <ns> element (exports older than schema 0.6) count as namespace 0.
 * Titles go to the list as their pages are read; words and bigrams after the whole dump.
 * The n-gram counters and the pageviews table share max_memory: the pageviews table takes what
 * it needs up to half of it, the counters the rest.
 */
#include "query_lists/wiki.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/xmlerror.h>
#include <libxml/xmlreader.h>

#include "common/hash.h"
#include "query_lists/ngram.h"
#include "query_lists/normalize.h"
#include "query_lists/zread.h"

#define WIKI_MAX_TITLE 1024 /* bytes; MediaWiki titles are at most 255 */
#define PV_MAX_LINE 4096 /* pageviews lines longer than this are skipped */
#define WIKI_DRAIN_BYTES ((size_t)16 << 20) /* read on after an XML error, see xml_failure */

void wiki_opts_default(wiki_opts *o)
{
    memset(o, 0, sizeof *o);
    o->min_count = 100;
    o->bigram_min_count = 30;
    o->min_pmi = 5.0;
    o->pageviews = NULL;
    o->min_views = 0;
    o->max_memory = (size_t)2 << 30;
    o->max_pages = 0;
    o->max_page_bytes = (size_t)8 << 20;
}

/* ---- pageviews: XXH3-64 of the title (spaces, not underscores) -> views -------------------- */

typedef struct views {
    uint64_t *keys; /* 0 = empty (a hash of 0 is stored as 1) */
    uint64_t *vals;
    size_t cap, n, max_cap; /* cap a power of two */
} views;

static void views_free(views *v)
{
    free(v->keys);
    free(v->vals);
    memset(v, 0, sizeof *v);
}

static size_t views_slot(const views *v, uint64_t h)
{
    size_t i = (size_t)h & (v->cap - 1);
    while (v->keys[i] != 0 && v->keys[i] != h)
        i = (i + 1) & (v->cap - 1);
    return i;
}

static cc_status views_grow(views *v, size_t cap)
{
    uint64_t *k = calloc(cap, sizeof *k), *val = calloc(cap, sizeof *val);
    if (k == NULL || val == NULL) {
        free(k);
        free(val);
        return cc_fail(CC_E_NOMEM, "out of memory growing the pageviews table to %zu titles", cap);
    }
    views old = *v;
    v->keys = k;
    v->vals = val;
    v->cap = cap;
    for (size_t i = 0; i < old.cap; i++)
        if (old.keys[i] != 0) {
            size_t s = views_slot(v, old.keys[i]);
            v->keys[s] = old.keys[i];
            v->vals[s] = old.vals[i];
        }
    free(old.keys);
    free(old.vals);
    return CC_OK;
}

static cc_status views_add(views *v, const char *title, size_t len, uint64_t n, const char *path)
{
    uint64_t h = cc_hash64(title, len);
    h += h == 0;
    if ((v->n + 1) * 4 > v->cap * 3) {
        if (v->cap * 2 > v->max_cap)
            return cc_fail(CC_E_LIMIT,
                           "%s: more English titles than the pageviews table may hold (%zu "
                           "bytes, half of max_memory): raise max_memory or give a smaller file",
                           path, v->max_cap * 2 * sizeof(uint64_t));
        CC_TRY(views_grow(v, v->cap * 2));
    }
    size_t s = views_slot(v, h);
    if (v->keys[s] == 0) {
        v->keys[s] = h;
        v->n++;
    }
    v->vals[s] = v->vals[s] > UINT64_MAX - n ? UINT64_MAX : v->vals[s] + n;
    return CC_OK;
}

/* Views of a title (0 when absent). */
static uint64_t views_get(const views *v, const char *title, size_t len)
{
    if (v->cap == 0)
        return 0;
    uint64_t h = cc_hash64(title, len);
    h += h == 0;
    size_t s = views_slot(v, h);
    return v->keys[s] == h ? v->vals[s] : 0;
}

/* One line "project title views [bytes]": only projects "en" and "en.wikipedia"; malformed
 * lines are skipped. */
static cc_status views_line(views *v, char *line, size_t len, const char *path)
{
    char *sp = memchr(line, ' ', len);
    if (sp == NULL)
        return CC_OK;
    size_t plen = (size_t)(sp - line);
    if (!((plen == 2 && memcmp(line, "en", 2) == 0) ||
          (plen == 12 && memcmp(line, "en.wikipedia", 12) == 0)))
        return CC_OK;
    char *title = sp + 1, *end = line + len;
    char *sp2 = memchr(title, ' ', (size_t)(end - title));
    if (sp2 == NULL || sp2 == title)
        return CC_OK;
    uint64_t n = 0;
    char *d = sp2 + 1;
    if (d == end || *d < '0' || *d > '9')
        return CC_OK;
    for (; d < end && *d >= '0' && *d <= '9'; d++) {
        unsigned dig = (unsigned)(*d - '0');
        n = n > (UINT64_MAX - dig) / 10 ? UINT64_MAX : n * 10 + dig;
    }
    if (d < end && *d != ' ' && *d != '\r')
        return CC_OK;
    for (char *c = title; c < sp2; c++)
        if (*c == '_')
            *c = ' ';
    return views_add(v, title, (size_t)(sp2 - title), n, path);
}

static cc_status views_load(views *v, const char *path, size_t max_bytes)
{
    v->max_cap = 16;
    while (v->max_cap * 2 * 2 * sizeof(uint64_t) <= max_bytes)
        v->max_cap *= 2;
    CC_TRY(views_grow(v, 1024 < v->max_cap ? 1024 : v->max_cap));
    zread *z = NULL;
    cc_status st = zread_open(path, &z);
    if (st != CC_OK)
        return cc_wrap(st, "pageviews file");
    enum { CHUNK = 65536 };
    char *chunk = malloc(CHUNK), *line = malloc(PV_MAX_LINE);
    size_t ll = 0;
    int skipping = 0; /* the current line is over PV_MAX_LINE: ignored up to its newline */
    if (chunk == NULL || line == NULL) {
        st = cc_fail(CC_E_NOMEM, "out of memory reading %s", path);
        goto done;
    }
    for (;;) {
        size_t got = 0;
        CC_TRY_GOTO(st, zread_read(z, chunk, CHUNK, &got), done);
        if (got == 0)
            break;
        size_t p = 0;
        while (p < got) {
            char *nl = memchr(chunk + p, '\n', got - p);
            size_t e = nl ? (size_t)(nl - chunk) : got;
            if (!skipping) {
                if (ll + (e - p) > PV_MAX_LINE)
                    skipping = 1;
                else {
                    memcpy(line + ll, chunk + p, e - p);
                    ll += e - p;
                }
            }
            p = e;
            if (nl != NULL) {
                if (!skipping)
                    CC_TRY_GOTO(st, views_line(v, line, ll, path), done);
                ll = 0;
                skipping = 0;
                p++;
            }
        }
    }
    if (!skipping && ll > 0)
        st = views_line(v, line, ll, path);
done:
    free(chunk);
    free(line);
    zread_close(z);
    return st;
}

/* ---- counting ------------------------------------------------------------------------------ */

/* Words and bigrams go to the counters in groups (ngram_add_many), in text order. */
#define CNT_KEYS 64
typedef struct counter {
    ngram_table *ng;
    uint64_t words;
    cc_status st;
    int have_prev;
    size_t prev_len;
    char prev[QN_WORD_MAX]; /* the previous word of the segment */
    size_t nkeys, pool_len;
    ngram_key keys[CNT_KEYS];
    char pool[CNT_KEYS * QN_WORD_MAX]; /* key texts: "prev word" with "word" as its tail */
} counter;

static void flush(counter *c)
{
    if (c->st == CC_OK && c->nkeys > 0)
        c->st = ngram_add_many(c->ng, c->keys, c->nkeys);
    c->nkeys = 0;
    c->pool_len = 0;
}

static void on_word(void *ctx, const char *w, size_t len)
{
    counter *c = ctx;
    if (c->st != CC_OK || len == 0)
        return;
    size_t pl = c->have_prev ? c->prev_len + 1 : 0;
    if (c->nkeys + 2 > CNT_KEYS || c->pool_len + pl + len > sizeof c->pool)
        flush(c);
    char *d = c->pool + c->pool_len;
    if (pl) {
        memcpy(d, c->prev, c->prev_len);
        d[c->prev_len] = ' ';
    }
    memcpy(d + pl, w, len);
    c->pool_len += pl + len;
    c->keys[c->nkeys++] = (ngram_key){d + pl, len, NGRAM_UNI};
    if (pl)
        c->keys[c->nkeys++] = (ngram_key){d, pl + len, NGRAM_BI};
    memcpy(c->prev, w, len);
    c->prev_len = len;
    c->have_prev = 1;
    c->words++;
}

/* bytes that may follow a sentence's '.', '!' or '?' before the whitespace */
static int is_closer(uint8_t b)
{
    return b == '"' || b == '\'' || b == ')' || b == ']';
}

/* Counts the words and bigrams of stripped text (see the bigram rule at the top). */
static cc_status count_text(counter *c, const char *s, size_t n)
{
    char scratch[QN_WORD_MAX];
    size_t start = 0;
    for (size_t i = 0; i <= n; i++) {
        int end = i == n;
        if (!end) {
            uint8_t b = (uint8_t)s[i];
            if (b == '\n') {
                end = 1;
            } else if (b == '.' || b == '!' || b == '?') {
                size_t j = i + 1;
                while (j < n && is_closer((uint8_t)s[j]))
                    j++;
                end = j == n || s[j] == ' ' || s[j] == '\n' || s[j] == '\t' || s[j] == '\r';
            }
        }
        if (!end)
            continue;
        if (i > start) {
            c->have_prev = 0;
            qn_words(s + start, i - start, scratch, on_word, c);
            if (c->st != CC_OK)
                return c->st;
        }
        start = i + 1;
    }
    flush(c);
    return c->st;
}

/* ---- the XML stream ------------------------------------------------------------------------ */

enum field { F_NONE, F_TITLE, F_NS, F_TEXT };

typedef struct wb {
    const char *path;
    const wiki_opts *o;
    query_list *ql;
    wiki_stats st;
    zread *z;
    cc_status io_st; /* a read error seen by the libxml2 callback */
    char io_msg[1024];
    int xml_err_line, xml_err_code; /* the last XML error of level >= XML_ERR_ERROR */
    char xml_err[512];
    int root_seen, in_page, in_rev, stop;
    enum field field;
    cc_buf title, text, plain;
    int title_long, cut, redirect, have_ns;
    char ns[24];
    size_t ns_len;
    views views;
    counter cnt;
} wb;

static int xml_read(void *ctx, char *buf, int len)
{
    wb *b = ctx;
    if (b->io_st != CC_OK || len <= 0)
        return b->io_st != CC_OK ? -1 : 0;
    size_t got = 0;
    cc_status st = zread_read(b->z, buf, (size_t)len, &got);
    if (st != CC_OK) {
        b->io_st = st;
        snprintf(b->io_msg, sizeof b->io_msg, "%s", cc_errmsg());
        return -1;
    }
    return (int)got;
}

static void xml_error(void *ctx, xmlErrorPtr e)
{
    wb *b = ctx;
    if (e == NULL || e->level < XML_ERR_ERROR)
        return;
    b->xml_err_line = e->line;
    b->xml_err_code = e->code;
    snprintf(b->xml_err, sizeof b->xml_err, "%s", e->message ? e->message : "unknown error");
    size_t k = strlen(b->xml_err);
    while (k > 0 && (b->xml_err[k - 1] == '\n' || b->xml_err[k - 1] == ' '))
        b->xml_err[--k] = '\0';
}

/* Appends text to a field buffer, cutting (on a UTF-8 character boundary) at its maximum;
 * returns 1 when something was cut. */
static int append_cut(cc_buf *buf, const char *s, size_t n)
{
    size_t room = buf->max - buf->len, k = n;
    int cut = 0;
    if (k > room) {
        k = room;
        while (k > 0 && ((uint8_t)s[k] & 0xC0) == 0x80)
            k--;
        cut = 1;
    }
    if (cc_buf_append(buf, s, k) != CC_OK)
        return -1;
    return cut;
}

static cc_status page_end(wb *b)
{
    b->st.pages++;
    if (b->have_ns) {
        /* "0", "-1", ... at most a few digits; anything else is not namespace 0 */
        int zero = b->ns_len > 0;
        for (size_t k = 0; k < b->ns_len; k++)
            if (b->ns[k] != '0' && b->ns[k] != ' ' && b->ns[k] != '\n' && b->ns[k] != '\t')
                zero = 0;
        if (!zero) {
            b->st.other_ns++;
            return CC_OK;
        }
    }
    if (b->redirect) {
        b->st.redirects++;
        return CC_OK;
    }
    b->st.articles++;
    if (b->cut)
        b->st.cut_pages++;
    cc_buf_reset(&b->plain);
    CC_TRY(wiki_strip_markup((const char *)b->text.data, b->text.len, &b->plain));
    CC_TRY(count_text(&b->cnt, (const char *)b->plain.data, b->plain.len));
    if (!b->title_long && b->title.len > 0) {
        const char *t = (const char *)b->title.data;
        uint64_t count = 0;
        int keep = 1;
        if (b->o->pageviews != NULL) {
            count = views_get(&b->views, t, b->title.len);
            keep = count >= b->o->min_views;
        }
        if (keep) {
            int added = 0;
            cc_status st =
                query_list_add(b->ql, t, b->title.len, QSRC_WIKI_TITLE, count, NAN, NULL, &added);
            if (st != CC_OK)
                return cc_wrap(st, "adding the title \"%.*s\"",
                               (int)(b->title.len < 100 ? b->title.len : 100), t);
            b->st.titles_added += added == 1;
        }
    }
    if (b->o->max_pages != 0 && b->st.articles >= b->o->max_pages)
        b->stop = 1;
    return CC_OK;
}

static cc_status on_node(wb *b, xmlTextReaderPtr r)
{
    int type = xmlTextReaderNodeType(r);
    if (type == XML_READER_TYPE_ELEMENT) {
        const char *name = (const char *)xmlTextReaderConstLocalName(r);
        if (name == NULL)
            return cc_fail(CC_E_NOMEM, "out of memory in the XML reader");
        b->field = F_NONE;
        if (!b->root_seen) {
            b->root_seen = 1;
            if (strcmp(name, "mediawiki") != 0)
                return cc_fail(CC_E_FORMAT,
                               "%s: not a MediaWiki export (root element is <%.64s>); give a "
                               "pages-articles XML dump from dumps.wikimedia.org",
                               b->path, name);
            return CC_OK;
        }
        int depth = xmlTextReaderDepth(r), empty = xmlTextReaderIsEmptyElement(r) == 1;
        if (depth == 1 && strcmp(name, "page") == 0) {
            b->in_page = !empty;
            b->in_rev = 0;
            cc_buf_reset(&b->title);
            cc_buf_reset(&b->text);
            b->title_long = b->cut = b->redirect = b->have_ns = 0;
            b->ns_len = 0;
        } else if (b->in_page && depth == 2) {
            if (strcmp(name, "title") == 0) {
                cc_buf_reset(&b->title);
                b->title_long = 0;
                b->field = empty ? F_NONE : F_TITLE;
            } else if (strcmp(name, "ns") == 0) {
                b->have_ns = 1;
                b->ns_len = 0;
                b->field = empty ? F_NONE : F_NS;
            } else if (strcmp(name, "redirect") == 0) {
                b->redirect = 1;
            } else if (strcmp(name, "revision") == 0) {
                b->in_rev = !empty;
                cc_buf_reset(&b->text); /* only the last revision's text counts */
                b->cut = 0;
            }
        } else if (b->in_rev && depth == 3 && strcmp(name, "text") == 0) {
            cc_buf_reset(&b->text);
            b->cut = 0;
            b->field = empty ? F_NONE : F_TEXT;
        }
        return CC_OK;
    }
    if (type == XML_READER_TYPE_END_ELEMENT) {
        b->field = F_NONE;
        int depth = xmlTextReaderDepth(r);
        const char *name = (const char *)xmlTextReaderConstLocalName(r);
        if (depth == 1 && b->in_page && name != NULL && strcmp(name, "page") == 0) {
            b->in_page = 0;
            return page_end(b);
        }
        if (depth == 2 && name != NULL && strcmp(name, "revision") == 0)
            b->in_rev = 0;
        return CC_OK;
    }
    if (b->field == F_NONE ||
        (type != XML_READER_TYPE_TEXT && type != XML_READER_TYPE_CDATA &&
         type != XML_READER_TYPE_WHITESPACE && type != XML_READER_TYPE_SIGNIFICANT_WHITESPACE))
        return CC_OK;
    const char *v = (const char *)xmlTextReaderConstValue(r);
    if (v == NULL)
        return CC_OK;
    size_t n = strlen(v);
    if (b->field == F_TEXT) {
        int cut = append_cut(&b->text, v, n);
        if (cut < 0)
            return cc_fail(CC_E_NOMEM, "out of memory holding a page's text");
        b->cut |= cut;
    } else if (b->field == F_TITLE) {
        int cut = append_cut(&b->title, v, n);
        if (cut < 0)
            return cc_fail(CC_E_NOMEM, "out of memory holding a title");
        b->title_long |= cut;
    } else {
        size_t k = n < sizeof b->ns - b->ns_len ? n : sizeof b->ns - b->ns_len;
        memcpy(b->ns + b->ns_len, v, k);
        b->ns_len += k;
        if (k < n) /* absurdly long: keep it from reading as 0 */
            b->ns[0] = 'x';
    }
    return CC_OK;
}

/* The reader stopped with an error: the read callback's, or libxml2's. A damaged compressed
 * block decodes to garbage before its CRC is checked (bzip2: at the end of the block, at most
 * 900 kB; gzip: at the end of the member), so the XML parser usually fails first: read on a
 * little to report the damage instead when it shows up. */
static cc_status xml_failure(wb *b)
{
    if (b->io_st == CC_OK && zread_get_kind(b->z) != ZREAD_PLAIN) {
        enum { SCRATCH = 65536 };
        char *scratch = malloc(SCRATCH);
        size_t got = 0, drained = 0;
        cc_status st = CC_OK;
        if (scratch != NULL) {
            do
                st = zread_read(b->z, scratch, SCRATCH, &got);
            while (st == CC_OK && got > 0 && (drained += got) < WIKI_DRAIN_BYTES);
            free(scratch);
        }
        if (st != CC_OK)
            return st;
    }
    if (b->io_st != CC_OK)
        return cc_fail(b->io_st, "%s", b->io_msg);
    if (strstr(b->xml_err, "huge text node") != NULL)
        return cc_fail(CC_E_LIMIT,
                       "%s: page too large: a text near line %d (page \"%.*s\") is over "
                       "libxml2's 10 MB limit for one text node; remove that page from the dump "
                       "or stop before it with max_pages",
                       b->path, b->xml_err_line, (int)(b->title.len < 100 ? b->title.len : 100),
                       b->title.data ? (const char *)b->title.data : "");
    return cc_fail(CC_E_FORMAT,
                   "%s: not well-formed XML near line %d: %s (truncated or damaged dump? fetch "
                   "it again)",
                   b->path, b->xml_err_line, b->xml_err[0] ? b->xml_err : "unknown error");
}

/* Adds the words and the bigrams that pass the thresholds. */
static cc_status add_ngrams(wb *b)
{
    const wiki_opts *o = b->o;
    ngram_table *ng = b->cnt.ng;
    double log_n = log((double)b->cnt.words);
    size_t pos = 0, len = 0;
    const char *key = NULL;
    int kind = 0;
    uint64_t count = 0;
    while (ngram_next(ng, &pos, &key, &len, &kind, &count)) {
        int added = 0;
        cc_status st = CC_OK;
        if (kind == NGRAM_UNI) {
            if (count < o->min_count)
                continue;
            st = query_list_add(b->ql, key, len, QSRC_WIKI_WORD, count, NAN, NULL, &added);
            b->st.words_added += added == 1;
        } else {
            if (count < o->bigram_min_count)
                continue;
            const char *sp = memchr(key, ' ', len);
            if (sp == NULL)
                continue;
            size_t la = (size_t)(sp - key);
            uint64_t ca = ngram_get(ng, key, la), cb = ngram_get(ng, sp + 1, len - la - 1);
            if (ca == 0 || cb == 0)
                continue; /* a word was pruned: this bigram's true count is <= the floor */
            double pmi = log((double)count) + log_n - log((double)ca) - log((double)cb);
            if (!(pmi >= o->min_pmi))
                continue;
            st = query_list_add(b->ql, key, len, QSRC_WIKI_BIGRAM, count, pmi, NULL, &added);
            b->st.bigrams_added += added == 1;
        }
        if (st != CC_OK)
            return cc_wrap(st, "adding \"%.*s\"", (int)(len < 100 ? len : 100), key);
    }
    return CC_OK;
}

cc_status wiki_build(const char *path, const wiki_opts *opts, query_list *ql, wiki_stats *stats)
{
    wiki_opts defaults;
    if (opts == NULL) {
        wiki_opts_default(&defaults);
        opts = &defaults;
    }
    if (stats != NULL)
        memset(stats, 0, sizeof *stats);
    if (path == NULL || ql == NULL)
        return cc_fail(CC_E_INVAL, "wiki_build: path and query list are required");
    if (opts->max_page_bytes == 0)
        return cc_fail(CC_E_INVAL, "wiki_opts.max_page_bytes must be at least 1");
    if (opts->max_memory < 2 * NGRAM_MIN_MEMORY)
        return cc_fail(CC_E_INVAL, "wiki_opts.max_memory of %zu bytes is below the minimum of %zu",
                       opts->max_memory, 2 * NGRAM_MIN_MEMORY);

    wb *b = calloc(1, sizeof *b);
    if (b == NULL)
        return cc_fail(CC_E_NOMEM, "out of memory starting wiki_build");
    b->path = path;
    b->o = opts;
    b->ql = ql;
    cc_buf_init(&b->title, WIKI_MAX_TITLE);
    cc_buf_init(&b->text, opts->max_page_bytes);
    cc_buf_init(&b->plain, opts->max_page_bytes);
    xmlTextReaderPtr r = NULL;
    xmlStructuredErrorFunc old_fn = xmlStructuredError;
    void *old_ctx = xmlStructuredErrorContext;
    int handler_set = 0;
    cc_status st = CC_OK;

    size_t views_bytes = 0;
    if (opts->pageviews != NULL) {
        CC_TRY_GOTO(st, views_load(&b->views, opts->pageviews, opts->max_memory / 2), out);
        views_bytes = b->views.cap * 2 * sizeof(uint64_t);
    }
    size_t ng_mem = opts->max_memory - views_bytes;
    if (ng_mem < NGRAM_MIN_MEMORY)
        ng_mem = NGRAM_MIN_MEMORY;
    CC_TRY_GOTO(st, ngram_new(ng_mem, &b->cnt.ng), out);
    CC_TRY_GOTO(st, zread_open(path, &b->z), out);

    /* libxml2 reports I/O errors through the thread's generic handler (stderr by default):
     * route them, and the parser's, to xml_error for this call */
    xmlSetStructuredErrorFunc(b, xml_error);
    handler_set = 1;
    r = xmlReaderForIO(xml_read, NULL, b, path, NULL, XML_PARSE_NONET);
    if (r == NULL) {
        st = cc_fail(CC_E_NOMEM, "%s: cannot create the XML reader", path);
        goto out;
    }
    xmlTextReaderSetStructuredErrorHandler(r, xml_error, b);
    for (;;) {
        int rc = xmlTextReaderRead(r);
        if (rc == 0)
            break;
        if (rc < 0) {
            st = xml_failure(b);
            goto out;
        }
        CC_TRY_GOTO(st, on_node(b, r), out);
        if (b->stop)
            break;
    }
    if (!b->root_seen) {
        st = cc_fail(CC_E_FORMAT, "%s: not a MediaWiki export (no root element)", path);
        goto out;
    }
    CC_TRY_GOTO(st, add_ngrams(b), out);

out:
    /* on failure too: what was read before the error */
    b->st.words = b->cnt.words;
    if (b->cnt.ng != NULL) {
        b->st.distinct_unigrams = ngram_distinct(b->cnt.ng, NGRAM_UNI);
        b->st.distinct_bigrams = ngram_distinct(b->cnt.ng, NGRAM_BI);
        b->st.prune_floor = ngram_floor(b->cnt.ng);
    }
    if (stats != NULL)
        *stats = b->st;
    xmlFreeTextReader(r);
    if (handler_set)
        xmlSetStructuredErrorFunc(old_ctx, old_fn);
    zread_close(b->z);
    ngram_free(b->cnt.ng);
    views_free(&b->views);
    cc_buf_free(&b->title);
    cc_buf_free(&b->text);
    cc_buf_free(&b->plain);
    free(b);
    return st;
}
