/* query_lists/querylist.c — see querylist.h.
 *
 * Storage: entries (ql_entry, the public query first) in one growing array; their strings (the
 * normalized texts and the provenance lists) in an arena of chunks, so that pointers handed out
 * stay valid while the list grows. A provenance list that outgrows its reserved bytes moves to a
 * new place in the arena with twice the room (the old bytes stay unused until the list is freed).
 * Dedupe and find: an open-addressing table, probed linearly from XXH3-64 of the normalized text
 * and kept at most half full; a slot holds the hash's high 32 bits and entry index + 1 (0 =
 * empty), so that a probe past another query rarely touches that query's entry.
 */
#include "query_lists/querylist.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/file.h"
#include "common/hash.h"
#include "common/utf8.h"
#include "query_lists/normalize.h"

#define QL_MAGIC "# clipcrawl queries 1"
#define QL_MAGIC_PREFIX "# clipcrawl queries "
#define QL_VERSION 1
#define QL_PROV_MAX 200 /* bytes of provenance kept */
/* Longest normalized text: QN_MAX_WORDS words of at most QN_WORD_MAX - 1 bytes, and the spaces. */
#define QL_TEXT_MAX (QN_MAX_WORDS * QN_WORD_MAX - 1)
/* Longest queries.tsv line: id, text, sources, count, a "%.6f" double (<= 317), provenance. */
#define QL_LINE_MAX 8192
#define QL_FILE_MAX ((size_t)1 << 30)
#define QL_IDS_MAX ((uint64_t)UINT32_MAX - 1) /* table slots hold index + 1 in 32 bits */
#define QL_SRC_ALL ((1u << QSRC_COUNT) - 1)
#define QL_CHUNK_MIN ((size_t)16 << 10)
#define QL_CHUNK_MAX ((size_t)1 << 20)

typedef struct ql_entry {
    query q; /* first: query_list_get hands out &entry->q */
    uint64_t hash; /* cc_hash64 of q.text */
    uint32_t text_len;
    uint16_t prov_len; /* strlen(q.provenance) */
    uint16_t prov_cap; /* bytes reserved at q.provenance, its NUL included; 0 = the static "" */
} ql_entry;

typedef struct ql_chunk {
    struct ql_chunk *next;
    size_t used, cap;
    char data[];
} ql_chunk;

struct query_list {
    uint64_t max; /* most entries */
    ql_entry *e; /* e[0..n) */
    uint64_t n, cap;
    uint64_t *slots; /* nslots (a power of two, or 0): hash >> 32 << 32 | (index + 1); 0 = empty */
    size_t nslots;
    ql_chunk *arena; /* newest first */
    cc_buf norm; /* query_list_add's and load's normalized text */
    int finished; /* after finish or load: ids are positions, no more adds */
};

static const char *const source_names[QSRC_COUNT] = {"wordnet", "wiki_word", "wiki_bigram",
                                                     "wiki_title", "user"};

const char *query_source_name(uint32_t bit)
{
    for (int i = 0; i < QSRC_COUNT; i++)
        if (bit == 1u << i)
            return source_names[i];
    return NULL;
}

/* ---- memory -------------------------------------------------------------------------------- */

static char *arena_alloc(query_list *ql, size_t n)
{
    ql_chunk *c = ql->arena;
    if (!c || c->cap - c->used < n) {
        size_t cap = c ? c->cap * 2 : QL_CHUNK_MIN;
        if (cap > QL_CHUNK_MAX)
            cap = QL_CHUNK_MAX;
        if (cap < n)
            cap = n;
        ql_chunk *nc = malloc(sizeof *nc + cap);
        if (!nc)
            return NULL;
        nc->next = c;
        nc->used = 0;
        nc->cap = cap;
        ql->arena = c = nc;
    }
    char *p = c->data + c->used;
    c->used += n;
    return p;
}

cc_status query_list_new(uint64_t max_queries, query_list **out)
{
    *out = NULL;
    CC_CHECK(max_queries <= QL_IDS_MAX, CC_E_INVAL,
             "a query list holds at most %" PRIu64 " queries (asked for %" PRIu64 ")", QL_IDS_MAX,
             max_queries);
    query_list *ql = calloc(1, sizeof *ql);
    CC_CHECK(ql, CC_E_NOMEM, "out of memory");
    ql->max = max_queries;
    cc_buf_init(&ql->norm, QL_TEXT_MAX + 1);
    *out = ql;
    return CC_OK;
}

void query_list_free(query_list *ql)
{
    if (!ql)
        return;
    for (ql_chunk *c = ql->arena, *next; c; c = next) {
        next = c->next;
        free(c);
    }
    free(ql->e);
    free(ql->slots);
    cc_buf_free(&ql->norm);
    free(ql);
}

/* ---- hash table ---------------------------------------------------------------------------- */

/* The slot holding this text, or the empty slot where it would go (*found = 0). nslots > 0. */
static size_t slot_find(const query_list *ql, uint64_t h, const char *t, size_t len, int *found)
{
    size_t mask = ql->nslots - 1;
    for (size_t i = (size_t)h & mask;; i = (i + 1) & mask) {
        uint64_t s = ql->slots[i];
        if (!s) {
            *found = 0;
            return i;
        }
        if ((s ^ h) >> 32)
            continue;
        const ql_entry *e = &ql->e[(uint32_t)s - 1];
        if (e->hash == h && e->text_len == len && memcmp(e->q.text, t, len) == 0) {
            *found = 1;
            return i;
        }
    }
}

/* Fills slots (nslots of them, zeroed) with entries 0..n-1, which are all distinct. */
static uint64_t slot_value(uint64_t hash, uint64_t index)
{
    return (hash >> 32 << 32) | (index + 1);
}

static void table_fill(query_list *ql, uint64_t *slots, size_t nslots)
{
    size_t mask = nslots - 1;
    for (uint64_t k = 0; k < ql->n; k++) {
        size_t i = (size_t)ql->e[k].hash & mask;
        while (slots[i])
            i = (i + 1) & mask;
        slots[i] = slot_value(ql->e[k].hash, k);
    }
}

static size_t table_size_for(uint64_t n)
{
    size_t s = 64;
    while (s < 2 * n)
        s *= 2;
    return s;
}

/* Makes room for one more entry: the array and the table (load <= 1/2). */
static cc_status ensure_room(query_list *ql)
{
    if (ql->n == ql->cap) {
        uint64_t cap = ql->cap ? ql->cap * 2 : 256;
        if (cap > ql->max)
            cap = ql->max;
        ql_entry *e = realloc(ql->e, (size_t)cap * sizeof *e);
        CC_CHECK(e, CC_E_NOMEM, "out of memory growing the query list to %" PRIu64 " queries", cap);
        ql->e = e;
        ql->cap = cap;
    }
    if (2 * (ql->n + 1) > ql->nslots) {
        size_t ns = table_size_for(ql->n + 1);
        uint64_t *s = calloc(ns, sizeof *s);
        CC_CHECK(s, CC_E_NOMEM, "out of memory growing the query table to %zu slots", ns);
        table_fill(ql, s, ns);
        free(ql->slots);
        ql->slots = s;
        ql->nslots = ns;
    }
    return CC_OK;
}

/* ---- provenance ---------------------------------------------------------------------------- */

/* Provenance is written to a TSV field: valid UTF-8 without control bytes (tab, newline). */
static int prov_ok(const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if ((uint8_t)p[i] < 0x20 || p[i] == 0x7F)
            return 0;
    return cc_utf8_valid(p, n);
}

static int prov_has(const ql_entry *e, const char *id, size_t n)
{
    const char *p = e->q.provenance, *end = p + e->prov_len;
    while (p < end) {
        const char *c = memchr(p, ',', (size_t)(end - p));
        size_t len = c ? (size_t)(c - p) : (size_t)(end - p);
        if (len == n && memcmp(p, id, n) == 0)
            return 1;
        p += len + 1;
    }
    return 0;
}

static cc_status prov_reserve(query_list *ql, ql_entry *e, size_t need)
{
    if (need <= e->prov_cap)
        return CC_OK;
    size_t cap = e->prov_cap ? 2u * e->prov_cap : 16;
    if (cap < need)
        cap = need;
    if (cap > QL_PROV_MAX + 1)
        cap = QL_PROV_MAX + 1;
    char *p = arena_alloc(ql, cap);
    CC_CHECK(p, CC_E_NOMEM, "out of memory");
    memcpy(p, e->q.provenance, e->prov_len + 1);
    e->q.provenance = p;
    e->prov_cap = (uint16_t)cap;
    return CC_OK;
}

/* Appends the ids of the comma-separated list prov that e does not hold yet. Ids are kept whole:
 * one that no longer fits in QL_PROV_MAX bytes is dropped; a first id longer than that on its own
 * is cut on a character boundary. Empty ids and "-" (the file's "none") are ignored. */
static cc_status prov_merge(query_list *ql, ql_entry *e, const char *prov)
{
    for (const char *p = prov; *p;) {
        size_t n = strcspn(p, ",");
        const char *id = p;
        p += n + (p[n] == ',');
        if (n == 0 || (n == 1 && id[0] == '-') || prov_has(e, id, n))
            continue;
        size_t sep = e->prov_len ? 1 : 0;
        if (e->prov_len + sep + n > QL_PROV_MAX) {
            if (e->prov_len)
                continue;
            n = QL_PROV_MAX;
            while (n > 0 && ((uint8_t)id[n] & 0xC0) == 0x80)
                n--; /* id[n] is the first byte left out: not inside a character */
        }
        CC_TRY(prov_reserve(ql, e, e->prov_len + sep + n + 1));
        char *dst = (char *)e->q.provenance; /* ours: allocated in the arena by prov_reserve */
        if (sep)
            dst[e->prov_len] = ',';
        memcpy(dst + e->prov_len + sep, id, n);
        e->prov_len = (uint16_t)(e->prov_len + sep + n);
        dst[e->prov_len] = '\0';
    }
    return CC_OK;
}

/* ---- building ------------------------------------------------------------------------------ */

/* Appends a new entry for the normalized text t (not present; room ensured) at slot. */
static cc_status insert_new(query_list *ql, size_t slot, const char *t, size_t len, uint64_t h,
                            ql_entry **out)
{
    char *text = arena_alloc(ql, len + 1);
    CC_CHECK(text, CC_E_NOMEM, "out of memory");
    memcpy(text, t, len);
    text[len] = '\0';
    ql_entry *e = &ql->e[ql->n];
    *e = (ql_entry){
        .q = {.text = text, .pmi = NAN, .provenance = ""}, .hash = h, .text_len = (uint32_t)len};
    ql->slots[slot] = slot_value(h, ql->n);
    ql->n++;
    *out = e;
    return CC_OK;
}

cc_status query_list_add(query_list *ql, const char *text, size_t len, uint32_t source,
                         uint64_t count, double pmi, const char *provenance, int *added)
{
    int ignored;
    if (!added)
        added = &ignored;
    *added = 0;
    CC_CHECK(!ql->finished, CC_E_INVAL,
             "query list: add after finish or load (ids are fixed; build a new list)");
    CC_CHECK(source && !(source & ~QL_SRC_ALL), CC_E_INVAL, "query list: bad source bits 0x%x",
             (unsigned)source);
    CC_CHECK(isnan(pmi) || isfinite(pmi), CC_E_INVAL, "query list: PMI must be finite or NAN");
    const char *prov = provenance ? provenance : "";
    CC_CHECK(prov_ok(prov, strlen(prov)), CC_E_INVAL,
             "query list: provenance '%.60s' is not UTF-8 text without tabs or newlines", prov);

    size_t words = 0;
    cc_status st = qn_normalize(text ? text : "", text ? len : 0, &ql->norm, &words);
    if (st == CC_E_LIMIT) /* longer than QN_MAX_WORDS words can be */
        return CC_OK;
    CC_TRY(st);
    if (words == 0 || words > QN_MAX_WORDS)
        return CC_OK;
    const char *t = (const char *)ql->norm.data;
    size_t n = ql->norm.len;
    uint64_t h = cc_hash64(t, n);

    int found = 0;
    size_t slot = ql->nslots ? slot_find(ql, h, t, n, &found) : 0;
    ql_entry *e;
    if (found) {
        e = &ql->e[(uint32_t)ql->slots[slot] - 1];
        *added = 2;
    } else {
        CC_CHECK(ql->n < ql->max, CC_E_LIMIT,
                 "query list full: more than %" PRIu64 " distinct queries (raise the maximum)",
                 ql->max);
        size_t nslots = ql->nslots;
        CC_TRY(ensure_room(ql));
        if (nslots != ql->nslots) /* the table was rebuilt: find the new home */
            slot = slot_find(ql, h, t, n, &found);
        CC_TRY(insert_new(ql, slot, t, n, h, &e));
        *added = 1;
    }
    CC_TRY(prov_merge(ql, e, prov));
    e->q.sources |= source;
    if (count > e->q.count)
        e->q.count = count;
    if (isnan(e->q.pmi))
        e->q.pmi = pmi;
    return CC_OK;
}

/* Strength: count descending, then number of sources descending, then text bytewise. */
static int cmp_strength(const void *a, const void *b)
{
    const ql_entry *x = a, *y = b;
    if (x->q.count != y->q.count)
        return x->q.count > y->q.count ? -1 : 1;
    int sx = __builtin_popcount(x->q.sources), sy = __builtin_popcount(y->q.sources);
    if (sx != sy)
        return sx > sy ? -1 : 1;
    return strcmp(x->q.text, y->q.text);
}

void query_list_finish(query_list *ql, uint64_t max)
{
    if (ql->n > 1)
        qsort(ql->e, (size_t)ql->n, sizeof *ql->e, cmp_strength);
    if (max && ql->n > max)
        ql->n = max; /* the dropped ones' strings stay in the arena until the list is freed */
    ql->finished = 1;
    if (!ql->nslots)
        return;
    /* Rebuild the table for the kept entries, smaller when that saves memory. The current one is
     * large enough, so a failed allocation only keeps it. */
    size_t ns = table_size_for(ql->n);
    uint64_t *s = ns < ql->nslots ? calloc(ns, sizeof *s) : NULL;
    if (s) {
        free(ql->slots);
        ql->slots = s;
        ql->nslots = ns;
    } else {
        memset(ql->slots, 0, ql->nslots * sizeof *ql->slots);
    }
    table_fill(ql, ql->slots, ql->nslots);
}

uint64_t query_list_count(const query_list *ql)
{
    return ql->n;
}

const query *query_list_get(const query_list *ql, uint64_t id)
{
    return id < ql->n ? &ql->e[id].q : NULL;
}

/* query_list_find's normalizer: into a fixed buffer (no allocation, so the list stays shareable
 * between threads). */
typedef struct find_ctx {
    char text[QL_TEXT_MAX + 1];
    size_t len;
    int over;
} find_ctx;

static void find_word(void *ctx, const char *word, size_t len)
{
    find_ctx *c = ctx;
    size_t sep = c->len ? 1 : 0;
    if (c->over || c->len + sep + len > QL_TEXT_MAX) {
        c->over = 1;
        return;
    }
    if (sep)
        c->text[c->len++] = ' ';
    memcpy(c->text + c->len, word, len);
    c->len += len;
}

int64_t query_list_find(const query_list *ql, const char *text, size_t len)
{
    if (!ql->nslots || !text)
        return -1;
    find_ctx c;
    c.len = 0;
    c.over = 0;
    char scratch[QN_WORD_MAX];
    size_t words = qn_words(text, len, scratch, find_word, &c);
    if (c.over || words == 0 || words > QN_MAX_WORDS)
        return -1;
    int found;
    size_t slot = slot_find(ql, cc_hash64(c.text, c.len), c.text, c.len, &found);
    return found ? (int64_t)(uint32_t)ql->slots[slot] - 1 : -1;
}

/* ---- queries.tsv --------------------------------------------------------------------------- */

/* Formats query id as one queries.tsv line (with its '\n') into line; returns its length. */
static size_t format_line(const query_list *ql, uint64_t id, char *line, size_t cap)
{
    const query *q = &ql->e[id].q;
    char src[64] = "", pmi[400] = "-";
    size_t sl = 0;
    for (int i = 0; i < QSRC_COUNT; i++) {
        if (!(q->sources & (1u << i)))
            continue;
        int w = snprintf(src + sl, sizeof src - sl, "%s%s", sl ? "," : "", source_names[i]);
        sl += (size_t)w; /* at most 45 bytes for all five names */
    }
    if (!isnan(q->pmi))
        snprintf(pmi, sizeof pmi, "%.6f", q->pmi); /* finite: at most 317 bytes */
    int n = snprintf(line, cap, "%" PRIu64 "\t%s\t%s\t%" PRIu64 "\t%s\t%s\n", id, q->text, src,
                     q->count, pmi, q->provenance[0] ? q->provenance : "-");
    /* bounded by construction (see QL_LINE_MAX) */
    return n < 0 ? 0 : (size_t)n < cap ? (size_t)n : cap - 1;
}

cc_status query_list_save(const query_list *ql, const char *path)
{
    CC_CHECK(ql->finished, CC_E_INVAL, "%s: finish the query list before saving it (ids are ranks)",
             path);
    char *line = malloc(QL_LINE_MAX);
    CC_CHECK(line, CC_E_NOMEM, "out of memory");
    cc_file_out fo;
    cc_status st = cc_file_out_open(&fo, path);
    if (st != CC_OK) {
        free(line);
        return st;
    }
    CC_TRY_GOTO(st, cc_file_out_put(&fo, QL_MAGIC "\n", sizeof QL_MAGIC), fail);
    for (uint64_t id = 0; id < ql->n; id++) {
        size_t n = format_line(ql, id, line, QL_LINE_MAX);
        CC_TRY_GOTO(st, cc_file_out_put(&fo, line, n), fail);
    }
    free(line);
    return cc_file_out_commit_plain(&fo);
fail:
    cc_file_out_abort(&fo);
    free(line);
    return st;
}

/* Splits line at its tabs into f[0..max); returns the number of fields the line has. */
static int split_tabs(char *line, char **f, int max)
{
    int nf = 0;
    for (char *p = line;; nf++) {
        char *tab = strchr(p, '\t');
        if (nf < max)
            f[nf] = p;
        if (!tab)
            return nf + 1;
        if (nf < max)
            *tab = '\0';
        p = tab + 1;
    }
}

static int parse_u64(const char *s, uint64_t *out)
{
    size_t n = strlen(s);
    if (n == 0 || n > 20 || strspn(s, "0123456789") != n)
        return -1;
    errno = 0;
    char *end;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end)
        return -1;
    *out = v;
    return 0;
}

static int parse_pmi(const char *s, double *out)
{
    if (strcmp(s, "-") == 0) {
        *out = NAN;
        return 0;
    }
    if (!*s || !strchr("+-.0123456789", *s))
        return -1; /* strtod would skip spaces and read "nan", "inf", hex */
    errno = 0;
    char *end;
    double v = strtod(s, &end);
    if (errno || *end || !isfinite(v) || strpbrk(s, "xX"))
        return -1;
    *out = v;
    return 0;
}

static int parse_sources(const char *s, uint32_t *out)
{
    uint32_t bits = 0;
    for (const char *p = s;;) {
        size_t n = strcspn(p, ",");
        int k = 0;
        while (k < QSRC_COUNT &&
               !(strlen(source_names[k]) == n && memcmp(source_names[k], p, n) == 0))
            k++;
        if (k == QSRC_COUNT || (bits & (1u << k)))
            return -1;
        bits |= 1u << k;
        if (!p[n])
            break;
        p += n + 1;
    }
    *out = bits;
    return 0;
}

/* Parses and stores one query line (NUL-terminated, no '\n'). Messages name path:lineno. */
static cc_status load_line(query_list *ql, char *line, const char *path, size_t lineno)
{
    char *f[6];
    int nf = split_tabs(line, f, 6);
    CC_CHECK(nf == 6, CC_E_FORMAT,
             "%s:%zu: %d fields, expected 6 separated by tabs "
             "(ID QUERY SOURCES COUNT PMI PROVENANCE)",
             path, lineno, nf);
    char want[24];
    snprintf(want, sizeof want, "%" PRIu64, ql->n);
    CC_CHECK(strcmp(f[0], want) == 0, CC_E_FORMAT,
             "%s:%zu: id '%.24s', expected %s (ids are 0..n-1 in file order)", path, lineno, f[0],
             want);
    CC_CHECK(ql->n < ql->max, CC_E_LIMIT, "%s:%zu: more than %" PRIu64 " queries", path, lineno,
             ql->max);

    size_t tl = strlen(f[1]), words = 0;
    CC_CHECK(tl > 0, CC_E_FORMAT, "%s:%zu: empty query", path, lineno);
    cc_status st = qn_normalize(f[1], tl, &ql->norm, &words);
    if (st != CC_OK && st != CC_E_LIMIT)
        return st;
    CC_CHECK(st == CC_OK && words <= QN_MAX_WORDS, CC_E_FORMAT,
             "%s:%zu: query of more than %d words", path, lineno, QN_MAX_WORDS);
    CC_CHECK(ql->norm.len == tl && memcmp(ql->norm.data, f[1], tl) == 0, CC_E_FORMAT,
             "%s:%zu: query '%.80s' is not normalized (expected '%.80s')", path, lineno, f[1],
             (const char *)ql->norm.data);

    uint32_t sources;
    CC_CHECK(parse_sources(f[2], &sources) == 0, CC_E_FORMAT,
             "%s:%zu: sources '%.80s': expected distinct names from wordnet, wiki_word, "
             "wiki_bigram, wiki_title, user separated by commas",
             path, lineno, f[2]);
    uint64_t count;
    CC_CHECK(parse_u64(f[3], &count) == 0, CC_E_FORMAT,
             "%s:%zu: count '%.30s' is not a decimal number", path, lineno, f[3]);
    double pmi;
    CC_CHECK(parse_pmi(f[4], &pmi) == 0, CC_E_FORMAT,
             "%s:%zu: PMI '%.30s' is neither a finite number nor '-'", path, lineno, f[4]);
    const char *prov = strcmp(f[5], "-") == 0 ? "" : f[5];
    size_t pl = strlen(prov);
    CC_CHECK(pl <= QL_PROV_MAX && prov_ok(prov, pl), CC_E_FORMAT,
             "%s:%zu: provenance longer than %d bytes or not UTF-8 text", path, lineno,
             QL_PROV_MAX);

    uint64_t h = cc_hash64(f[1], tl);
    int found = 0;
    CC_TRY(ensure_room(ql));
    size_t slot = slot_find(ql, h, f[1], tl, &found);
    CC_CHECK(!found, CC_E_FORMAT, "%s:%zu: query '%.80s' repeats id %" PRIu32, path, lineno, f[1],
             (uint32_t)ql->slots[slot] - 1);
    ql_entry *e;
    CC_TRY(insert_new(ql, slot, f[1], tl, h, &e));
    e->q.sources = sources;
    e->q.count = count;
    e->q.pmi = pmi;
    return pl ? prov_merge(ql, e, prov) : CC_OK;
}

cc_status query_list_load(const char *path, uint64_t max_queries, query_list **out)
{
    *out = NULL;
    query_list *ql;
    CC_TRY(query_list_new(max_queries, &ql));
    cc_buf text;
    cc_buf_init(&text, QL_FILE_MAX + 1); /* + 1: the NUL after the last line */
    cc_status st = cc_read_file(path, &text);
    if (st == CC_OK && text.len > QL_FILE_MAX)
        st = cc_fail(CC_E_LIMIT, "%s: larger than the limit of %zu bytes", path, QL_FILE_MAX);
    else if (st == CC_E_NOTFOUND)
        st = cc_fail(st, "%s: no such query list (build one with `clipcrawl queries build -o %s`)",
                     path, path);
    if (st == CC_OK)
        st = cc_buf_append(&text, "", 1);
    if (st != CC_OK)
        goto fail;
    text.len--;

    char *p = (char *)text.data, *end = p + text.len;
    for (size_t lineno = 1; st == CC_OK && (p < end || lineno == 1); lineno++) {
        char *nl = memchr(p, '\n', (size_t)(end - p));
        char *le = nl ? nl : end;
        size_t len = (size_t)(le - p);
        if (len > 0 && le[-1] == '\r')
            len--; /* tolerate CRLF */
        if (lineno == 1) {
            if (len == strlen(QL_MAGIC) && memcmp(p, QL_MAGIC, len) == 0) {
                /* ours */
            } else if (len >= strlen(QL_MAGIC_PREFIX) &&
                       memcmp(p, QL_MAGIC_PREFIX, strlen(QL_MAGIC_PREFIX)) == 0) {
                size_t vl = len - strlen(QL_MAGIC_PREFIX);
                st = cc_fail(CC_E_VERSION,
                             "%s: query list version '%.*s'; this build reads version %d "
                             "(rebuild it with `clipcrawl queries build`, or use the clipcrawl "
                             "that wrote it)",
                             path, (int)(vl < 20 ? vl : 20), p + strlen(QL_MAGIC_PREFIX),
                             QL_VERSION);
            } else {
                st = cc_fail(CC_E_FORMAT, "%s: not a clipcrawl query list (first line is not '%s')",
                             path, QL_MAGIC);
            }
        } else if (len > QL_LINE_MAX) {
            st = cc_fail(CC_E_FORMAT, "%s:%zu: line longer than %d bytes", path, lineno,
                         QL_LINE_MAX);
        } else if (memchr(p, '\0', len)) {
            st = cc_fail(CC_E_FORMAT, "%s:%zu: NUL byte in the line", path, lineno);
        } else {
            p[len] = '\0';
            st = load_line(ql, p, path, lineno);
        }
        p = nl ? nl + 1 : end;
    }
    if (st != CC_OK)
        goto fail;
    ql->finished = 1;
    cc_buf_free(&text);
    *out = ql;
    return CC_OK;
fail:
    cc_buf_free(&text);
    query_list_free(ql);
    return st;
}
