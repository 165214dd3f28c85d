/* query_lists/match.c — see match.h.
 *
 * Table: open addressing, linear probing, 16-byte slots {hash, id, flags}; hash 0 marks an empty
 * slot (a real 0 is stored as 1). Each key's home is the first slot of a 64-byte line (4 slots),
 * so that a probe mostly reads one cache line. The size is twice the number of entries (queries,
 * and the proper prefixes that are not queries themselves) in whole lines, not a power of two:
 * rounding up to one would cost up to twice the memory (67 bytes a query instead of 42 on
 * bench/match.sh's list). The home line is the hash's high 32 bits scaled to the number of lines
 * (a multiply and a shift). Tables of 2 MiB or more sit on huge pages where the OS allows.
 *
 * Matching: the caption (its first QM_CAPTION_MAX bytes) is tokenized once, exactly as
 * qn_words does it, into a stack buffer of normalized text — words folded and joined by single
 * spaces — so that the text of the n-gram of words s..e-1 is one span of that buffer and its
 * hash is cc_hash64 of the query text. ASCII captions take a 16-bytes-at-a-time path (SSE2), any
 * other the plain one; the tests hold both to qn_normalize. From each start word the span grows
 * one word at a time while the table holds it as a prefix. XXH3 is compiled inline here
 * (XXH_INLINE_ALL): the same function as common/hash.c's, without a library call per span.
 *
 * Where the time goes (bench/match.sh): a 500,000-query table is tens of MB, so most probes miss
 * the caches; qm_scan issues a caption's probes together (prefetch) so that their latencies
 * overlap, and the probe itself has no branch on found / not found.
 *
 * Ids found are gathered in a fixed buffer, sorted and deduplicated. When a caption matches more
 * distinct queries than half that buffer (a crafted caption can reach thousands), the buffer
 * keeps only the smallest ids and the scan runs again for the ids above them: exact, without
 * allocating, slow only for such captions.
 */
#include "query_lists/match.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#if defined(__SSE2__) && defined(__GNUC__)
#include <emmintrin.h>
#define QM_SIMD 1
#else
#define QM_SIMD 0
#endif

#define XXH_INLINE_ALL
#include <xxhash.h>

#include "common/buf.h"
#include "common/utf8.h"
#include "query_lists/normalize.h"

#define QM_IS_QUERY 1u
#define QM_IS_PREFIX 2u
#define QM_NO_ID UINT32_MAX
#define QM_CAPTION_MAX 4096
/* Words of a QM_CAPTION_MAX-byte caption: each but the last needs a separator after it. */
#define QM_WORDS_MAX (QM_CAPTION_MAX / 2 + 1)
/* Normalized bytes: a character folds to at most 4 bytes and is at least 2 when it is not
 * ASCII, so the text is at most twice the input (today's folding never grows it at all). */
#define QM_NORM_MAX (2 * QM_CAPTION_MAX)
#define QM_COLLECT 512 /* ids gathered before a sort; see qmatcher_find */
#define QM_HUGE ((size_t)2 << 20) /* tables this large go on 2 MiB pages where the OS allows */
#define QM_SMALL_SORT 16 /* ids sorted by rank; more by Shell sort */
#define QM_LINE 4 /* slots in a 64-byte cache line */
#define QM_BATCH 64 /* start words whose probes are issued together; see qm_scan */

#if defined(__GNUC__)
#define QM_PREFETCH(p) __builtin_prefetch(p)
#define QM_CTZ(x) ((unsigned)__builtin_ctz(x))
#else
#define QM_PREFETCH(p) ((void)(p))
static unsigned QM_CTZ(unsigned x)
{
    unsigned n = 0;
    while (!(x & 1))
        x >>= 1, n++;
    return n;
}
#endif

typedef struct qm_slot {
    uint64_t hash; /* 0: empty */
    uint32_t id; /* the query's id when flags has QM_IS_QUERY, else QM_NO_ID */
    uint32_t flags; /* QM_IS_QUERY | QM_IS_PREFIX */
} qm_slot;

typedef struct qm_table {
    qm_slot *slots;
    size_t nslots; /* >= 2 * entries, < 2^32 */
    size_t entries;
    size_t bytes; /* allocated for slots */
} qm_table;

struct qmatcher {
    qm_table t;
    uint8_t ascii[128]; /* ASCII byte -> its folded word character, 0 for a separator */
};

/* ---- table --------------------------------------------------------------------------------- */

static inline uint64_t qm_key(uint64_t h)
{
    return h ? h : 1;
}

/* The first slot of key's home line: 64-byte lines of 4 slots, so that a probe mostly reads one
 * line (at load 0.5 a line is full about one time in twenty). */
static inline size_t qm_home(uint64_t key, size_t nslots)
{
    return (size_t)(((key >> 32) * (uint64_t)(nslots / QM_LINE)) >> 32) * QM_LINE;
}

/* The flags of key's slot and its id (flags | id << 32), 0 when key is not in the table. Slots
 * are never emptied, and an insertion takes the first empty slot from the start of the key's
 * home line on: so a line fills from its first slot, key is in its home line unless that line is
 * full, and a line whose last slot is empty ends the search. The one branch that depends on the
 * caption (found or not) is left out: a miss reads that empty last slot, all zeros. */
static inline uint64_t qm_probe(const qm_table *t, uint64_t key)
{
    size_t i = qm_home(key, t->nslots);
    for (;;) {
        const qm_slot *l = &t->slots[i];
        unsigned eq = (unsigned)(l[0].hash == key) | (unsigned)(l[1].hash == key) << 1 |
                      (unsigned)(l[2].hash == key) << 2 | (unsigned)(l[3].hash == key) << 3;
        if (eq | (l[3].hash == 0)) {
            const qm_slot *s = &l[QM_CTZ(eq | 8u)]; /* the match, or the empty last slot */
            return s->flags | (uint64_t)s->id << 32;
        }
        i += QM_LINE;
        if (i == t->nslots)
            i = 0;
    }
}

/* Slots for entries: twice as many, whole lines. */
static size_t qm_slots_for(size_t entries)
{
    size_t n = 2 * entries + QM_LINE - 1;
    return n < QM_LINE ? QM_LINE : n / QM_LINE * QM_LINE;
}

static cc_status qm_table_init(qm_table *t, size_t entries)
{
    size_t n = qm_slots_for(entries);
    if (n >= (size_t)1 << 32)
        return cc_fail(CC_E_LIMIT, "query matcher: %zu table entries, the most is 2^31", entries);
    size_t bytes = n * sizeof *t->slots, align = 64;
    if (bytes >= QM_HUGE) {
        /* whole huge pages: a probe then rarely misses the TLB as well as the caches */
        align = QM_HUGE;
        bytes = (bytes + QM_HUGE - 1) / QM_HUGE * QM_HUGE;
    }
    t->slots = aligned_alloc(align, bytes);
    if (!t->slots)
        return cc_fail(CC_E_NOMEM, "query matcher: no memory for %zu slots", n);
#ifdef MADV_HUGEPAGE
    if (align == QM_HUGE)
        madvise(t->slots, bytes, MADV_HUGEPAGE); /* advice only: no error if refused */
#endif
    memset(t->slots, 0, bytes);
    t->nslots = n;
    t->bytes = bytes;
    t->entries = 0;
    return CC_OK;
}

/* Enters key with flags (and id, for a query) into t, which has room (entries < nslots / 2).
 * A key entered twice keeps the union of its flags and the first query id given. */
static void qm_table_put(qm_table *t, uint64_t key, uint32_t id, uint32_t flags)
{
    assert(2 * t->entries < t->nslots);
    size_t i = qm_home(key, t->nslots);
    while (t->slots[i].hash != 0 && t->slots[i].hash != key)
        if (++i == t->nslots)
            i = 0;
    qm_slot *s = &t->slots[i];
    if (s->hash == 0) {
        *s = (qm_slot){key, QM_NO_ID, 0};
        t->entries++;
    }
    if ((flags & QM_IS_QUERY) && !(s->flags & QM_IS_QUERY))
        s->id = id;
    s->flags |= flags;
}

/* Moves every entry of from into a fresh table of exactly 2 * entries slots (or twice that, to
 * grow); from is freed. */
static cc_status qm_table_resize(qm_table *t, size_t entries)
{
    qm_table n;
    CC_TRY(qm_table_init(&n, entries));
    for (size_t i = 0; i < t->nslots; i++)
        if (t->slots[i].hash)
            qm_table_put(&n, t->slots[i].hash, t->slots[i].id, t->slots[i].flags);
    free(t->slots);
    *t = n;
    return CC_OK;
}

/* ---- build --------------------------------------------------------------------------------- */

cc_status qmatcher_build(const query_list *ql, qmatcher **out)
{
    *out = NULL;
    qmatcher *m = calloc(1, sizeof *m);
    if (!m)
        return cc_fail(CC_E_NOMEM, "query matcher: no memory");
    for (int c = 0; c < 128; c++) {
        if ((c | 0x20) >= 'a' && (c | 0x20) <= 'z')
            m->ascii[c] = (uint8_t)(c | 0x20);
        else if (c >= '0' && c <= '9')
            m->ascii[c] = (uint8_t)c;
    }
    uint64_t n = query_list_count(ql);
    cc_buf norm;
    cc_buf_init(&norm, 1u << 20);
    cc_status st = qm_table_init(&m->t, n + n / 2 + 16);
    for (uint64_t id = 0; st == CC_OK && id < n; id++) {
        const query *q = query_list_get(ql, id);
        /* normalized again so that the hashes are the caption side's whatever the list holds */
        size_t words;
        CC_TRY_GOTO(st, qn_normalize(q->text, strlen(q->text), &norm, &words), done);
        if (words == 0 || words > QN_MAX_WORDS || id >= QM_NO_ID)
            continue; /* never matched */
        if (2 * (m->t.entries + words) >= m->t.nslots)
            CC_TRY_GOTO(st, qm_table_resize(&m->t, 2 * (m->t.entries + words)), done);
        /* the query and each proper prefix: the text up to each space */
        const char *s = (const char *)norm.data;
        for (size_t i = 0; i <= norm.len; i++)
            if (i == norm.len)
                qm_table_put(&m->t, qm_key(XXH3_64bits(s, i)), (uint32_t)id, QM_IS_QUERY);
            else if (s[i] == ' ')
                qm_table_put(&m->t, qm_key(XXH3_64bits(s, i)), QM_NO_ID, QM_IS_PREFIX);
    }
    if (st == CC_OK && m->t.nslots != qm_slots_for(m->t.entries))
        st = qm_table_resize(&m->t, m->t.entries);
done:
    cc_buf_free(&norm);
    if (st != CC_OK) {
        qmatcher_free(m);
        return cc_wrap(st, "building the query matcher");
    }
    *out = m;
    return CC_OK;
}

void qmatcher_free(qmatcher *m)
{
    if (!m)
        return;
    free(m->t.slots);
    free(m);
}

size_t qmatcher_bytes(const qmatcher *m)
{
    return sizeof *m + m->t.bytes;
}

/* ---- tokenizer ----------------------------------------------------------------------------- */

/* Writes the normalized text of the n <= QM_CAPTION_MAX bytes at p into norm, as qn_normalize
 * would (same words, same cuts of words past QN_WORD_MAX - 1 bytes), and the offset of each word
 * into start: word j is norm[start[j], start[j + 1] - 1). Returns the number of words. The plain
 * version, for any text; qm_tokenize_ascii is the fast one for ASCII text. */
static size_t qm_tokenize_plain(const qmatcher *m, const uint8_t *p, size_t n, char *norm,
                                uint16_t *start)
{
    size_t i = 0, o = 0, nw = 0, wl = 0; /* wl: bytes of the current word, 0 between words */
    while (i < n) {
        uint8_t c = p[i];
        if (c < 0x80) {
            i++;
            uint8_t f = m->ascii[c];
            if (!f) {
                wl = 0;
                continue;
            }
            if (wl == 0) {
                if (nw)
                    norm[o++] = ' ';
                start[nw++] = (uint16_t)o;
            }
            if (wl + 1 < QN_WORD_MAX) {
                norm[o++] = (char)f;
                wl++;
            }
            continue;
        }
        uint32_t cp;
        size_t k = cc_utf8_decode(p + i, n - i, &cp);
        if (k == 0 || !cc_utf8_is_word(cp)) {
            i += k ? k : 1; /* an invalid byte separates words too */
            wl = 0;
            continue;
        }
        i += k;
        uint8_t enc[4];
        cp = cc_utf8_fold(cp);
        size_t el = cp < 0x80 ? (enc[0] = (uint8_t)cp, 1) : cc_utf8_encode(cp, enc);
        if (wl == 0) {
            if (nw)
                norm[o++] = ' ';
            start[nw++] = (uint16_t)o;
        }
        /* as qn_words: a character that does not fit is left out, later shorter ones are not */
        if (wl + el < QN_WORD_MAX) {
            memcpy(norm + o, enc, el);
            o += el;
            wl += el;
        }
    }
    assert(nw <= QM_WORDS_MAX && o <= QM_NORM_MAX);
    start[nw] = (uint16_t)(o + 1);
    return nw;
}

#if QM_SIMD
/* Lower-cases the 16 ASCII bytes at src into low + off and marks their word characters in the
 * bitmap wm from bit off. 0, or -1 when a byte is not ASCII. */
static inline int qm_block(const uint8_t *src, size_t off, uint8_t *low, uint64_t *wm)
{
    const __m128i x20 = _mm_set1_epi8(0x20);
    __m128i v = _mm_loadu_si128((const __m128i *)src);
    if (_mm_movemask_epi8(v))
        return -1;
    /* all bytes < 0x80, so the signed compares order them as unsigned */
    __m128i lo = _mm_or_si128(v, x20);
    __m128i alpha = _mm_and_si128(_mm_cmpgt_epi8(lo, _mm_set1_epi8('a' - 1)),
                                  _mm_cmplt_epi8(lo, _mm_set1_epi8('z' + 1)));
    __m128i digit = _mm_and_si128(_mm_cmpgt_epi8(v, _mm_set1_epi8('0' - 1)),
                                  _mm_cmplt_epi8(v, _mm_set1_epi8('9' + 1)));
    _mm_storeu_si128((__m128i *)(low + off), _mm_or_si128(v, _mm_and_si128(alpha, x20)));
    uint64_t bits = (uint64_t)(unsigned)_mm_movemask_epi8(_mm_or_si128(alpha, digit));
    wm[off / 64] |= bits << (off % 64);
    if (off % 64 > 48)
        wm[off / 64 + 1] |= bits >> (64 - off % 64);
    return 0;
}

/* The same for ASCII text, 16 bytes at a time: each block is lower-cased into low and its word
 * characters marked in the bitmap wm (a last partial block is the caption's last 16 bytes, which
 * marks some bits twice, alike); then each run of marked bits (a word, of which the first
 * QN_WORD_MAX - 1 bytes count) is copied to norm in 16-byte moves. Returns SIZE_MAX, having
 * written nothing of use, when a byte is not ASCII. norm needs 16 bytes of slack. */
static size_t qm_tokenize_ascii(const uint8_t *p, size_t n, char *norm, uint16_t *start)
{
    uint8_t low[QM_CAPTION_MAX + 16];
    uint64_t wm[QM_CAPTION_MAX / 64 + 1]; /* + 1: a clear bit after the last word */
    size_t end = (n + 63) / 64; /* words of wm in use */
    memset(wm, 0, (end + 1) * sizeof *wm);
    for (size_t b = 0; b < n / 16; b++)
        if (qm_block(p + 16 * b, 16 * b, low, wm) != 0)
            return SIZE_MAX;
    if (n % 16 != 0 && n > 16) {
        if (qm_block(p + n - 16, n - 16, low, wm) != 0)
            return SIZE_MAX;
    } else if (n % 16 != 0) {
        uint8_t last[16] = {0}; /* NULs are separators */
        memcpy(last, p, n);
        if (qm_block(last, 0, low, wm) != 0)
            return SIZE_MAX;
    }
    size_t o = 0, nw = 0, w = 0; /* w: index into wm */
    uint64_t cur = wm[0];
    for (;;) {
        while (cur == 0 && ++w < end)
            cur = wm[w];
        if (cur == 0)
            break;
        size_t a = 64 * w + (size_t)__builtin_ctzll(cur); /* the word starts here */
        uint64_t rest = ~cur & (~0ull << (a % 64));
        while (rest == 0)
            rest = ~wm[++w];
        size_t e = 64 * w + (size_t)__builtin_ctzll(rest); /* and ends before here */
        cur = wm[w] & (~0ull << (e % 64));
        size_t len = e - a < QN_WORD_MAX - 1 ? e - a : QN_WORD_MAX - 1;
        if (nw)
            norm[o++] = ' ';
        start[nw++] = (uint16_t)o;
        for (size_t k = 0; k < len; k += 16)
            _mm_storeu_si128((__m128i *)(norm + o + k), _mm_loadu_si128((__m128i *)(low + a + k)));
        o += len;
    }
    start[nw] = (uint16_t)(o + 1);
    return nw;
}
#endif

static size_t qm_tokenize(const qmatcher *m, const uint8_t *p, size_t n, char *norm,
                          uint16_t *start)
{
#if QM_SIMD
    size_t nw = qm_tokenize_ascii(p, n, norm, start);
    if (nw != SIZE_MAX)
        return nw;
#endif
    return qm_tokenize_plain(m, p, n, norm, start);
}

/* ---- find ---------------------------------------------------------------------------------- */

/* Ids in [lo, hi] found so far; buf is sorted and deduplicated when full. */
typedef struct qm_found {
    uint32_t buf[QM_COLLECT];
    size_t k;
    uint32_t lo, hi;
    int cut; /* hi was lowered: some ids above it were dropped */
} qm_found;

/* Sorts v[0..n) ascending and removes repeats; returns the new n. Shell sort (Ciura's gaps): no
 * recursion, no allocation. */
static size_t qm_sort_unique_shell(uint32_t *v, size_t n)
{
    static const size_t gaps[] = {301, 132, 57, 23, 10, 4, 1};
    for (size_t g = 0; g < sizeof gaps / sizeof gaps[0]; g++) {
        size_t gap = gaps[g];
        for (size_t i = gap; i < n; i++) {
            uint32_t x = v[i];
            size_t j = i;
            for (; j >= gap && v[j - gap] > x; j -= gap)
                v[j] = v[j - gap];
            v[j] = x;
        }
    }
    size_t u = 0;
    for (size_t i = 0; i < n; i++)
        if (u == 0 || v[i] != v[u - 1])
            v[u++] = v[i];
    return u;
}

/* The same for the usual dozen ids or so (n <= QM_SMALL_SORT), without a branch that depends on
 * them (insertion sort mispredicts about once an id): each id goes to its rank, the number of
 * smaller ids, so that repeats land on one place; then the places taken are packed. */
static size_t qm_sort_unique(uint32_t *v, size_t n)
{
    if (n > QM_SMALL_SORT)
        return qm_sort_unique_shell(v, n);
    uint32_t pad[QM_SMALL_SORT], at[QM_SMALL_SORT];
    for (size_t i = 0; i < QM_SMALL_SORT; i++) {
        pad[i] = i < n ? v[i] : UINT32_MAX; /* never smaller than an id */
        at[i] = UINT32_MAX;
    }
#if QM_SIMD
    /* four ids to a vector; unsigned order through the signed compare, biased */
    const __m128i bias = _mm_set1_epi32(INT32_MIN);
    __m128i p[QM_SMALL_SORT / 4];
    for (size_t k = 0; k < QM_SMALL_SORT / 4; k++)
        p[k] = _mm_xor_si128(_mm_loadu_si128((const __m128i *)(pad + 4 * k)), bias);
    for (size_t i = 0; i < n; i++) {
        __m128i x = _mm_xor_si128(_mm_set1_epi32((int)v[i]), bias), c = _mm_setzero_si128();
        for (size_t k = 0; k < QM_SMALL_SORT / 4; k++)
            c = _mm_sub_epi32(c, _mm_cmpgt_epi32(x, p[k])); /* + 1 where pad < x */
        c = _mm_add_epi32(c, _mm_shuffle_epi32(c, 0x4E));
        c = _mm_add_epi32(c, _mm_shuffle_epi32(c, 0xB1));
        size_t r = (size_t)_mm_cvtsi128_si32(c);
        at[r] = v[i];
    }
#else
    for (size_t i = 0; i < n; i++) {
        size_t r = 0;
        for (size_t j = 0; j < n; j++)
            r += pad[j] < v[i];
        at[r] = v[i];
    }
#endif
    size_t u = 0;
    for (size_t r = 0; r < n; r++) {
        v[u] = at[r];
        u += at[r] != UINT32_MAX;
    }
    return u;
}

/* Adds the id of v (a qm_probe result) when v is a query and the id is in [lo, hi]. */
static inline void qm_found_add(qm_found *f, uint64_t v)
{
    uint32_t id = (uint32_t)(v >> 32);
    f->buf[f->k] = id; /* written always, kept when counted: no branch to mispredict */
    f->k += (v & QM_IS_QUERY) & (id >= f->lo) & (id <= f->hi);
    if (f->k < QM_COLLECT)
        return;
    f->k = qm_sort_unique(f->buf, f->k);
    if (f->k > QM_COLLECT / 2) {
        /* keep the smallest half; the ids above come in a later pass */
        f->k = QM_COLLECT / 2;
        f->hi = f->buf[f->k - 1];
        f->cut = 1;
    }
}

static inline uint64_t qm_span_key(const char *norm, const uint16_t *start, size_t s, size_t e)
{
    /* words s..e-1: from the first's start to the last's end */
    return qm_key(XXH3_64bits(norm + start[s], (size_t)start[e] - 1 - start[s]));
}

/* Every query among the n-grams of the nw words of norm, into f. A caption's probes mostly miss
 * the caches (the table is tens of MB), so they are issued together for a batch of start words:
 * first the hash of each word and of each pair of words, each home line prefetched, then the
 * probes, which find the lines on their way. The pairs are hashed before knowing whether their
 * first word is a prefix (in captions of vocabulary words, most are), so that most captions cost
 * about one memory latency rather than one for each length. Longer n-grams are rarer: each is
 * hashed and prefetched as soon as its prefix is known, and probed in a later round. */
static void qm_scan(const qm_table *t, const char *norm, const uint16_t *start, size_t nw,
                    qm_found *f)
{
    uint64_t k1[QM_BATCH], k2[QM_BATCH]; /* keys of word s and of words s, s + 1 */
    uint64_t pk[QM_BATCH]; /* pending: key of words ps..pe-1 */
    uint16_t ps[QM_BATCH], pe[QM_BATCH];
    for (size_t base = 0; base < nw; base += QM_BATCH) {
        size_t nb = nw - base < QM_BATCH ? nw - base : QM_BATCH, np = 0;
        for (size_t i = 0; i < nb; i++) {
            size_t s = base + i;
            k1[i] = qm_span_key(norm, start, s, s + 1);
            QM_PREFETCH(&t->slots[qm_home(k1[i], t->nslots)]);
            if (s + 1 < nw) {
                k2[i] = qm_span_key(norm, start, s, s + 2);
                QM_PREFETCH(&t->slots[qm_home(k2[i], t->nslots)]);
            }
        }
        for (size_t i = 0; i < nb; i++) {
            size_t s = base + i;
            uint64_t v1 = qm_probe(t, k1[i]);
            qm_found_add(f, v1);
            /* the pair's line is in the cache: probing it always is cheaper than a branch */
            uint64_t v2 = s + 1 < nw ? qm_probe(t, k2[i]) : 0;
            v2 &= 0 - (v1 >> 1 & 1); /* only when word s is a prefix */
            qm_found_add(f, v2);
            if (!(v2 & QM_IS_PREFIX) || s + 2 == nw || QN_MAX_WORDS == 2)
                continue;
            pk[np] = qm_span_key(norm, start, s, s + 3);
            QM_PREFETCH(&t->slots[qm_home(pk[np], t->nslots)]);
            ps[np] = (uint16_t)s;
            pe[np++] = (uint16_t)(s + 3);
        }
        /* one round per further length, over the start words still extending */
        while (np > 0) {
            size_t k = 0;
            for (size_t j = 0; j < np; j++) {
                uint64_t v = qm_probe(t, pk[j]);
                qm_found_add(f, v);
                size_t s = ps[j], e = pe[j];
                if (!(v & QM_IS_PREFIX) || e == nw || e - s == QN_MAX_WORDS)
                    continue;
                pk[k] = qm_span_key(norm, start, s, e + 1);
                QM_PREFETCH(&t->slots[qm_home(pk[k], t->nslots)]);
                ps[k] = (uint16_t)s;
                pe[k++] = (uint16_t)(e + 1);
            }
            np = k;
        }
    }
}

size_t qmatcher_find(const qmatcher *m, const char *caption, size_t n, uint32_t *ids, size_t cap)
{
    char norm[QM_NORM_MAX + 16];
    uint16_t start[QM_WORDS_MAX + 1];
    size_t nw = qm_tokenize(m, (const uint8_t *)caption, n < QM_CAPTION_MAX ? n : QM_CAPTION_MAX,
                            norm, start);
    size_t total = 0;
    uint32_t lo = 0;
    for (;;) {
        qm_found f;
        f.k = 0;
        f.lo = lo;
        f.hi = UINT32_MAX;
        f.cut = 0;
        qm_scan(&m->t, norm, start, nw, &f);
        f.k = qm_sort_unique(f.buf, f.k);
        for (size_t i = 0; i < f.k && total + i < cap; i++)
            ids[total + i] = f.buf[i];
        total += f.k;
        if (!f.cut)
            return total;
        lo = f.hi + 1; /* hi < QM_NO_ID: no query has that id */
    }
}
