/* query_lists/ngram.c — see ngram.h. */
#include "query_lists/ngram.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "common/hash.h"

typedef struct ng_slot {
    uint32_t tag; /* high 32 bits of the key's XXH3-64 */
    uint32_t off8; /* record offset / 8 + 1; 0 = empty slot */
} ng_slot;

typedef struct ng_rec {
    uint64_t count;
    uint32_t delta; /* the floor when the record was inserted */
    uint16_t len;
    uint8_t kind;
    uint8_t pad;
    char text[]; /* len bytes, zero-padded to a multiple of 8 */
} ng_rec;

#define NG_HIST 256 /* prune histogram: floor raises of 1..NG_HIST considered per prune */

struct ngram_table {
    uint8_t *arena; /* records, 8-byte aligned, in insertion order */
    size_t used, cap, arena_max;
    ng_slot *slots;
    size_t nslots, nslots_max, entries;
    uint64_t floor, prunes;
    uint64_t distinct[2];
};

static size_t rec_size(size_t len)
{
    return sizeof(ng_rec) + ((len + 7) & ~(size_t)7);
}

static ng_rec *rec_at(const ngram_table *t, size_t off)
{
    return (ng_rec *)(void *)(t->arena + off);
}

/* fastrange: maps the low 32 bits of the hash onto [0, nslots) without a division */
static size_t home(uint64_t h, size_t nslots)
{
    return (size_t)(((h & 0xffffffffu) * (uint64_t)nslots) >> 32);
}

cc_status ngram_new(size_t max_memory, ngram_table **out)
{
    *out = NULL;
    if (max_memory < NGRAM_MIN_MEMORY)
        return cc_fail(CC_E_INVAL, "n-gram memory bound of %zu bytes is below the minimum of %zu",
                       max_memory, NGRAM_MIN_MEMORY);
    ngram_table *t = calloc(1, sizeof *t);
    if (t == NULL)
        return cc_fail(CC_E_NOMEM, "out of memory creating the n-gram counters");
    size_t index_max = max_memory / 5;
    t->nslots_max = index_max / sizeof(ng_slot);
    if (t->nslots_max > UINT32_MAX)
        t->nslots_max = UINT32_MAX;
    t->arena_max = max_memory - t->nslots_max * sizeof(ng_slot);
    /* offsets are stored / 8 + 1 in 32 bits */
    const size_t arena_limit = (size_t)8 * (UINT32_MAX - 1);
    if (t->arena_max > arena_limit)
        t->arena_max = arena_limit;
    t->arena_max &= ~(size_t)7;
    t->nslots = t->nslots_max < 1024 ? t->nslots_max : 1024;
    t->cap = t->arena_max < 65536 ? t->arena_max : 65536;
    t->slots = calloc(t->nslots, sizeof(ng_slot));
    t->arena = malloc(t->cap);
    if (t->slots == NULL || t->arena == NULL) {
        ngram_free(t);
        return cc_fail(CC_E_NOMEM, "out of memory creating the n-gram counters");
    }
    *out = t;
    return CC_OK;
}

void ngram_free(ngram_table *t)
{
    if (t == NULL)
        return;
    free(t->arena);
    free(t->slots);
    free(t);
}

/* The slot holding key, or the empty slot where it would go. */
static ng_slot *find(const ngram_table *t, const char *key, size_t len, uint64_t h)
{
    uint32_t tag = (uint32_t)(h >> 32);
    size_t i = home(h, t->nslots);
    for (;;) {
        ng_slot *s = &t->slots[i];
        if (s->off8 == 0)
            return s;
        if (s->tag == tag) {
            const ng_rec *r = rec_at(t, ((size_t)s->off8 - 1) * 8);
            if (r->len == len && memcmp(r->text, key, len) == 0)
                return s;
        }
        if (++i == t->nslots)
            i = 0;
    }
}

/* Re-indexes every record of the arena into a cleared index of t->nslots slots. */
static void reindex(ngram_table *t)
{
    memset(t->slots, 0, t->nslots * sizeof(ng_slot));
    for (size_t off = 0; off < t->used;) {
        const ng_rec *r = rec_at(t, off);
        uint64_t h = cc_hash64(r->text, r->len);
        size_t i = home(h, t->nslots);
        while (t->slots[i].off8 != 0)
            if (++i == t->nslots)
                i = 0;
        t->slots[i].tag = (uint32_t)(h >> 32);
        t->slots[i].off8 = (uint32_t)(off / 8 + 1);
        off += rec_size(r->len);
    }
}

static cc_status grow_index(ngram_table *t)
{
    size_t n = t->nslots * 2 < t->nslots_max ? t->nslots * 2 : t->nslots_max;
    ng_slot *s = calloc(n, sizeof(ng_slot));
    if (s == NULL)
        return cc_fail(CC_E_NOMEM, "out of memory growing the n-gram index to %zu slots", n);
    free(t->slots);
    t->slots = s;
    t->nslots = n;
    reindex(t);
    return CC_OK;
}

static cc_status grow_arena(ngram_table *t, size_t need)
{
    size_t cap = t->cap * 2 < t->arena_max ? t->cap * 2 : t->arena_max;
    if (cap < t->used + need)
        cap = t->used + need;
    uint8_t *a = realloc(t->arena, cap);
    if (a == NULL)
        return cc_fail(CC_E_NOMEM, "out of memory growing the n-gram arena to %zu bytes", cap);
    t->arena = a;
    t->cap = cap;
    return CC_OK;
}

/* Raises the floor until at least a quarter of the arena's bytes and of the records would go
 * (or by NG_HIST at most), then drops every record with count + delta <= floor. */
static cc_status prune(ngram_table *t)
{
    /* every record has count + delta > floor (see ngram.h): v = count + delta - floor >= 1 */
    uint64_t bytes[NG_HIST + 1] = {0}, recs[NG_HIST + 1] = {0};
    for (size_t off = 0; off < t->used;) {
        const ng_rec *r = rec_at(t, off);
        uint64_t v = r->count + r->delta - t->floor;
        assert(v >= 1);
        if (v <= NG_HIST) {
            bytes[v] += rec_size(r->len);
            recs[v]++;
        }
        off += rec_size(r->len);
    }
    uint64_t fb = 0, fr = 0, k = 1;
    for (; k < NG_HIST; k++) {
        fb += bytes[k];
        fr += recs[k];
        if (fb * 4 >= t->used && fr * 4 >= t->entries)
            break;
    }
    if (t->floor + k > UINT32_MAX)
        return cc_fail(CC_E_LIMIT, "n-gram prune floor passed 2^32: raise max_memory");
    t->floor += k;
    size_t w = 0;
    for (size_t off = 0; off < t->used;) {
        ng_rec *r = rec_at(t, off);
        size_t sz = rec_size(r->len);
        if (r->count + r->delta <= t->floor) {
            t->distinct[r->kind]--;
            t->entries--;
        } else {
            if (w != off)
                memmove(t->arena + w, r, sz);
            w += sz;
        }
        off += sz;
    }
    t->used = w;
    t->prunes++;
    reindex(t);
    return CC_OK;
}

/* ngram_add with the key's hash already computed. */
static cc_status add_hashed(ngram_table *t, const char *key, size_t len, int kind, uint64_t h)
{
    if (len == 0 || len > NGRAM_MAX_KEY || (kind != NGRAM_UNI && kind != NGRAM_BI))
        return cc_fail(CC_E_INVAL, "n-gram key of %zu bytes (kind %d) is out of range", len, kind);
    ng_slot *s = find(t, key, len, h);
    if (s->off8 != 0) {
        rec_at(t, ((size_t)s->off8 - 1) * 8)->count++;
        return CC_OK;
    }
    size_t need = rec_size(len);
    for (;;) {
        /* index load at most 3/4, arena within its bound: grow first, prune when at the bound */
        int index_full = (t->entries + 1) * 4 > t->nslots * 3;
        int arena_full = t->used + need > t->cap;
        if (index_full && t->nslots < t->nslots_max) {
            CC_TRY(grow_index(t));
            continue;
        }
        if (arena_full && t->cap < t->arena_max && t->used + need <= t->arena_max) {
            CC_TRY(grow_arena(t, need));
            continue;
        }
        if (!index_full && !arena_full)
            break;
        if (t->entries == 0)
            return cc_fail(CC_E_LIMIT, "n-gram memory bound too small for one key of %zu bytes",
                           len);
        CC_TRY(prune(t));
    }
    s = find(t, key, len, h); /* the index may have changed */
    ng_rec *r = rec_at(t, t->used);
    r->count = 1;
    r->delta = (uint32_t)t->floor;
    r->len = (uint16_t)len;
    r->kind = (uint8_t)kind;
    r->pad = 0;
    memcpy(r->text, key, len);
    memset(r->text + len, 0, rec_size(len) - sizeof(ng_rec) - len);
    s->tag = (uint32_t)(h >> 32);
    s->off8 = (uint32_t)(t->used / 8 + 1);
    t->used += need;
    t->entries++;
    t->distinct[kind]++;
    return CC_OK;
}

cc_status ngram_add(ngram_table *t, const char *key, size_t len, int kind)
{
    return add_hashed(t, key, len, kind, cc_hash64(key, len));
}

cc_status ngram_add_many(ngram_table *t, const ngram_key *keys, size_t n)
{
    enum { GROUP = 32 };
    uint64_t h[GROUP];
    while (n > 0) {
        size_t m = n < GROUP ? n : GROUP;
        /* 1: hash, prefetch the home slots; 2: prefetch the records their tags point to;
         * 3: the plain adds, in order, mostly from cache. Slots and records only move when an add
         * grows or prunes the table, and then a prefetch is merely wasted. */
        for (size_t i = 0; i < m; i++) {
            h[i] = cc_hash64(keys[i].p, keys[i].len);
            __builtin_prefetch(&t->slots[home(h[i], t->nslots)]);
        }
        for (size_t i = 0; i < m; i++) {
            const ng_slot *s = &t->slots[home(h[i], t->nslots)];
            if (s->off8 != 0 && s->tag == (uint32_t)(h[i] >> 32))
                __builtin_prefetch(t->arena + ((size_t)s->off8 - 1) * 8);
        }
        for (size_t i = 0; i < m; i++)
            CC_TRY(add_hashed(t, keys[i].p, keys[i].len, keys[i].kind, h[i]));
        keys += m;
        n -= m;
    }
    return CC_OK;
}

uint64_t ngram_get(const ngram_table *t, const char *key, size_t len)
{
    if (len == 0 || len > NGRAM_MAX_KEY)
        return 0;
    const ng_slot *s = find(t, key, len, cc_hash64(key, len));
    return s->off8 ? rec_at(t, ((size_t)s->off8 - 1) * 8)->count : 0;
}

uint64_t ngram_floor(const ngram_table *t)
{
    return t->floor;
}

uint64_t ngram_distinct(const ngram_table *t, int kind)
{
    return kind == NGRAM_UNI || kind == NGRAM_BI ? t->distinct[kind] : 0;
}

uint64_t ngram_prunes(const ngram_table *t)
{
    return t->prunes;
}

int ngram_next(const ngram_table *t, size_t *pos, const char **key, size_t *len, int *kind,
               uint64_t *count)
{
    if (*pos >= t->used)
        return 0;
    const ng_rec *r = rec_at(t, *pos);
    *key = r->text;
    *len = r->len;
    *kind = r->kind;
    *count = r->count;
    *pos += rec_size(r->len);
    return 1;
}
