/* trainer/bpe.c — see bpe.h; docs/TOKENIZER.md describes the scheme and the file.
 *
 * One decision the header leaves open: a byte "ends a word" (ids 256..511) when the word is the
 * last of its whitespace-separated run, i.e. followed by a space or by the end of the text. CLIP
 * marks every pre-token as word-final and so decodes "a, b" as "a , b"; marking only the words a
 * space follows keeps decoding exact (bpe_decode(bpe_encode(x)) == bpe_clean(x)), which the
 * header promises, at no cost to the model.
 */
#include "trainer/bpe.h"

#include <assert.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "common/file.h"
#include "common/hash.h"
#include "common/log.h"
#include "common/utf8.h"

#define BPE_MAGIC "CCBPE\0\0\1"
#define BPE_VERSION 1u
#define BPE_HEADER_SIZE 32u
#define BPE_DEFAULT_MAX_WORDS 4000000u
/* Bytes all tokens of a loaded file may spell together: a guard against crafted merge chains
 * whose lengths double at every step. Real vocabularies spell a few MiB. */
#define BPE_SPELL_MAX (256u << 20)
/* Words up to this many bytes are encoded with stack scratch, longer ones with the heap. */
#define BPE_STACK_WORD 256

/* ---- cleanup ------------------------------------------------------------------------------- */

/* Writes cp's cleaned form at d (whitespace becomes a pending space); returns the new end. */
static uint8_t *emit_cp(uint8_t *d, const uint8_t *start, int *space, uint32_t cp)
{
    if (cp == ' ' || (cp >= '\t' && cp <= '\r') || cp == 0xA0) {
        *space = d > start; /* leading whitespace is trimmed */
        return d;
    }
    if (*space) {
        *d++ = ' ';
        *space = 0;
    }
    if (cp >= 'A' && cp <= 'Z') {
        cp += 'a' - 'A';
    } else if (cp >= 0xC0 && cp <= 0x17F) {
        /* Latin-1 and Latin Extended-A letters: stay in that range (U+017F long s folds to 's',
         * which is not lower-casing, so it is left alone). */
        uint32_t f = cc_utf8_fold(cp);
        if (f >= 0xC0 && f <= 0x17F)
            cp = f;
    }
    uint8_t enc[4];
    size_t n = cc_utf8_encode(cp, enc);
    memcpy(d, enc, n);
    return d + n;
}

/* Parses the entity at p[0] == '&' (n bytes available). Returns its length and sets *cp, or 0 when
 * p does not start one of the entities the scheme unescapes. */
static size_t parse_entity(const uint8_t *p, size_t n, uint32_t *cp)
{
    static const struct {
        const char *name;
        uint32_t cp;
    } named[] = {{"&amp;", '&'}, {"&lt;", '<'}, {"&gt;", '>'}, {"&quot;", '"'}, {"&#39;", '\''}};
    for (size_t i = 0; i < sizeof named / sizeof named[0]; i++) {
        size_t k = strlen(named[i].name);
        if (n >= k && memcmp(p, named[i].name, k) == 0) {
            *cp = named[i].cp;
            return k;
        }
    }
    if (n < 4 || p[1] != '#')
        return 0;
    size_t i = 2;
    int hex = p[2] == 'x' || p[2] == 'X';
    i += hex;
    uint32_t v = 0;
    size_t digits = 0;
    for (; i < n && digits < 8; i++, digits++) {
        uint8_t c = p[i];
        uint32_t d;
        if (c >= '0' && c <= '9')
            d = c - '0';
        else if (hex && (c | 0x20) >= 'a' && (c | 0x20) <= 'f')
            d = (uint32_t)(c | 0x20) - 'a' + 10;
        else
            break;
        v = v * (hex ? 16 : 10) + d;
    }
    if (digits == 0 || i >= n || p[i] != ';' || v == 0 || v > 0x10FFFF ||
        (v >= 0xD800 && v <= 0xDFFF))
        return 0;
    *cp = v;
    return i + 1;
}

/* Cleans src (n bytes) into dst, which has room for n bytes (the cleaned text is never longer:
 * every entity is at least as long as its UTF-8 and lower-casing keeps lengths). Returns the
 * cleaned length. */
static size_t clean_into(const uint8_t *src, size_t n, uint8_t *dst)
{
    uint8_t *d = dst;
    int space = 0;
    size_t i = 0;
    while (i < n) {
        uint32_t cp;
        size_t k;
        uint8_t c = src[i];
        if (c > ' ' && c < 0x7F && c != '&') {
            /* The common case, printable ASCII, without the UTF-8 round trip. */
            if (space) {
                *d++ = ' ';
                space = 0;
            }
            *d++ = c >= 'A' && c <= 'Z' ? (uint8_t)(c + 'a' - 'A') : c;
            i++;
        } else if (c < 0x80) {
            if (c == '&' && (k = parse_entity(src + i, n - i, &cp)) != 0) {
                d = emit_cp(d, dst, &space, cp);
                i += k;
                continue;
            }
            d = emit_cp(d, dst, &space, src[i++]);
        } else if ((k = cc_utf8_decode(src + i, n - i, &cp)) != 0) {
            d = emit_cp(d, dst, &space, cp);
            i += k;
        } else {
            /* An invalid byte is kept as it is (it counts as a letter for the splitter). */
            if (space) {
                *d++ = ' ';
                space = 0;
            }
            *d++ = src[i++];
        }
    }
    assert((size_t)(d - dst) <= n);
    return (size_t)(d - dst);
}

cc_status bpe_clean(const char *text, size_t len, cc_buf *out)
{
    cc_buf_reset(out);
    if (len == 0)
        return CC_OK;
    CC_TRY(cc_buf_reserve(out, len));
    out->len = clean_into((const uint8_t *)text, len, out->data);
    return CC_OK;
}

/* ---- pre-tokenization ---------------------------------------------------------------------- */

static int is_letter(uint8_t c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c >= 0x80;
}

static int is_digit(uint8_t c)
{
    return c >= '0' && c <= '9';
}

static int is_space(uint8_t c)
{
    return c == ' ' || (c >= '\t' && c <= '\r');
}

/* Length of the contraction at p ('s 't 're 've 'm 'll 'd), or 0. */
static size_t contraction(const uint8_t *p, size_t n)
{
    if (n < 2 || p[0] != '\'')
        return 0;
    uint8_t a = p[1], b = n >= 3 ? p[2] : 0;
    if (a == 's' || a == 't' || a == 'm' || a == 'd')
        return 2;
    if ((a == 'r' && b == 'e') || (a == 'v' && b == 'e') || (a == 'l' && b == 'l'))
        return 3;
    return 0;
}

/* Finds the next word of the cleaned text s[*at..n): sets *start, *len and *final (a space or the
 * end follows it) and advances *at. Returns 0 when no word is left. CLIP's regex, in its order:
 * contractions, letter runs, one digit, runs of anything else but spaces. */
static int next_word(const uint8_t *s, size_t n, size_t *at, size_t *start, size_t *len, int *final)
{
    size_t i = *at;
    while (i < n && is_space(s[i]))
        i++;
    if (i >= n)
        return 0;
    size_t j = i, k;
    if ((k = contraction(s + i, n - i)) != 0) {
        j = i + k;
    } else if (is_letter(s[i])) {
        while (j < n && is_letter(s[j]))
            j++;
    } else if (is_digit(s[i])) {
        j = i + 1;
    } else {
        while (j < n && !is_space(s[j]) && !is_letter(s[j]) && !is_digit(s[j]))
            j++;
    }
    *start = i;
    *len = j - i;
    *final = j >= n || is_space(s[j]);
    *at = j;
    return 1;
}

/* ---- the tokenizer ------------------------------------------------------------------------- */

struct bpe {
    uint32_t vocab, merges, context;
    int32_t *pairs; /* merges × (left, right) */
    /* pair → rank, open addressing, one word a slot (one cache line holds 8): ids and ranks are
     * below 2^21 (BPE_MAX_VOCAB), so a slot is left << 42 | right << 21 | rank; UINT64_MAX =
     * empty. */
    uint64_t *rank;
    uint64_t rmask;
    /* Spelling of every token but SOT/EOT: tok_len[id] bytes at spell + tok_off[id]. */
    uint32_t *tok_off, *tok_len;
    uint8_t *spell;
    uint8_t *tok_final; /* 1 when the token ends a word (its last byte token is 256..511) */
    /* Whole words that encode to one token: (spelling, word-final) → token id + 1, 0 = empty.
     * Built once from the vocabulary by the real encoder and read-only afterwards, so a hit gives
     * the same result as encoding, without locks (most caption words are one token). */
    uint32_t *wtab;
    uint64_t wmask;
};

static uint64_t pair_key(int32_t a, int32_t b)
{
    return (uint64_t)(uint32_t)a << 32 | (uint32_t)b;
}

#define RANK_BITS 21
#define RANK_MASK ((1u << RANK_BITS) - 1)
_Static_assert(BPE_MAX_VOCAB <= (1u << RANK_BITS), "token ids must fit the rank table's slots");

/* The rank table's key of (a, b): the slot without its rank bits. */
static uint64_t rank_key(int32_t a, int32_t b)
{
    return ((uint64_t)(uint32_t)a << RANK_BITS | (uint32_t)b) << RANK_BITS;
}

static uint64_t mix64(uint64_t k)
{
    k ^= k >> 33;
    k *= 0xff51afd7ed558ccdULL;
    k ^= k >> 33;
    return k;
}

/* Rank of merge (a, b), or -1. */
static int64_t rank_of(const bpe *b, int32_t l, int32_t r)
{
    uint64_t key = rank_key(l, r);
    for (uint64_t h = mix64(key) & b->rmask;; h = (h + 1) & b->rmask) {
        uint64_t e = b->rank[h];
        if ((e & ~(uint64_t)RANK_MASK) == key)
            return (int64_t)(e & RANK_MASK);
        if (e == UINT64_MAX)
            return -1;
    }
}

void bpe_free(bpe *b)
{
    if (!b)
        return;
    free(b->pairs);
    free(b->rank);
    free(b->tok_off);
    free(b->tok_len);
    free(b->spell);
    free(b->tok_final);
    free(b->wtab);
    free(b);
}

static cc_status build_word_table(bpe *b);

/* Builds a tokenizer from checked merges (taking ownership of pairs). what names the source in
 * messages. CC_E_FORMAT for a duplicate merge or spellings past BPE_SPELL_MAX. */
static cc_status bpe_build(int32_t *pairs, uint32_t merges, uint32_t context, const char *what,
                           bpe **out)
{
    bpe *b = calloc(1, sizeof *b);
    if (!b) {
        free(pairs);
        return cc_fail(CC_E_NOMEM, "out of memory");
    }
    b->pairs = pairs;
    b->merges = merges;
    b->vocab = BPE_BYTES + 2 + merges;
    b->context = context;
    uint64_t slots = 16;
    while (slots < 2 * (uint64_t)merges)
        slots <<= 1;
    b->rmask = slots - 1;
    uint32_t ntok = BPE_BYTES + merges;
    b->rank = malloc(slots * sizeof *b->rank);
    b->tok_off = malloc((size_t)ntok * sizeof *b->tok_off);
    b->tok_len = malloc((size_t)ntok * sizeof *b->tok_len);
    b->tok_final = malloc(ntok);
    cc_status st = CC_OK;
    if (!b->rank || !b->tok_off || !b->tok_len || !b->tok_final) {
        st = cc_fail(CC_E_NOMEM, "out of memory");
        goto fail;
    }
    memset(b->rank, 0xFF, slots * sizeof *b->rank);
    uint64_t total = 0;
    for (uint32_t id = 0; id < ntok; id++) {
        uint64_t n = id < BPE_BYTES ? 1
                                    : (uint64_t)b->tok_len[pairs[2 * (id - BPE_BYTES)]] +
                                          b->tok_len[pairs[2 * (id - BPE_BYTES) + 1]];
        if (n + total > BPE_SPELL_MAX) {
            st = cc_fail(CC_E_FORMAT,
                         "%s: the merges spell more than %u MiB of text (damaged or crafted "
                         "file; retrain the tokenizer)",
                         what, BPE_SPELL_MAX >> 20);
            goto fail;
        }
        b->tok_off[id] = (uint32_t)total;
        b->tok_len[id] = (uint32_t)n;
        total += n;
    }
    b->spell = malloc(total ? total : 1);
    if (!b->spell) {
        st = cc_fail(CC_E_NOMEM, "out of memory");
        goto fail;
    }
    for (uint32_t id = 0; id < ntok; id++) {
        uint8_t *d = b->spell + b->tok_off[id];
        if (id < BPE_BYTES) {
            d[0] = (uint8_t)(id & 0xFF);
            b->tok_final[id] = id >= 256;
            continue;
        }
        int32_t l = pairs[2 * (id - BPE_BYTES)], r = pairs[2 * (id - BPE_BYTES) + 1];
        b->tok_final[id] = b->tok_final[r];
        memcpy(d, b->spell + b->tok_off[l], b->tok_len[l]);
        memcpy(d + b->tok_len[l], b->spell + b->tok_off[r], b->tok_len[r]);
    }
    for (uint32_t m = 0; m < merges; m++) {
        uint64_t key = rank_key(pairs[2 * m], pairs[2 * m + 1]);
        uint64_t h = mix64(key) & b->rmask;
        while (b->rank[h] != UINT64_MAX && (b->rank[h] & ~(uint64_t)RANK_MASK) != key)
            h = (h + 1) & b->rmask;
        if (b->rank[h] != UINT64_MAX) {
            st = cc_fail(CC_E_FORMAT,
                         "%s: merge %" PRIu32 " repeats merge %" PRIu32 " (%" PRId32 ", %" PRId32
                         "); damaged file, retrain the tokenizer",
                         what, m, (uint32_t)(b->rank[h] & RANK_MASK), pairs[2 * m],
                         pairs[2 * m + 1]);
            goto fail;
        }
        b->rank[h] = key | m;
    }
    st = build_word_table(b);
    if (st != CC_OK)
        goto fail;
    *out = b;
    return CC_OK;
fail:
    bpe_free(b);
    return st;
}

uint32_t bpe_vocab(const bpe *b)
{
    return b->vocab;
}

uint32_t bpe_merges(const bpe *b)
{
    return b->merges;
}

uint32_t bpe_context(const bpe *b)
{
    return b->context;
}

int32_t bpe_sot(const bpe *b)
{
    return (int32_t)b->vocab - 2;
}

int32_t bpe_eot(const bpe *b)
{
    return (int32_t)b->vocab - 1;
}

/* ---- encoding ------------------------------------------------------------------------------ */

/* A candidate merge inside one word: the pair starting at symbol pos, with its ids at push time
 * (an entry whose symbols changed since is stale and skipped). Ordered by rank, then position,
 * which is CLIP's order: every merge that uses a token comes after the merge that made it, so a
 * pair formed by a merge never outranks the one being applied. */
typedef struct {
    uint32_t rank, pos;
    int32_t l, r;
} cand;

static int cand_less(const cand *a, const cand *b)
{
    return a->rank != b->rank ? a->rank < b->rank : a->pos < b->pos;
}

static void cand_push(cand *h, size_t *n, cand c)
{
    size_t i = (*n)++;
    while (i > 0 && cand_less(&c, &h[(i - 1) / 2])) {
        h[i] = h[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    h[i] = c;
}

static cand cand_pop(cand *h, size_t *n)
{
    cand top = h[0], last = h[--*n];
    size_t i = 0;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= *n)
            break;
        if (c + 1 < *n && cand_less(&h[c + 1], &h[c]))
            c++;
        if (!cand_less(&h[c], &last))
            break;
        h[i] = h[c];
        i = c;
    }
    if (*n)
        h[i] = last;
    return top;
}

/* Scratch of one word's encoding: symbol ids, linked list, candidate heap (a word of n bytes
 * pushes at most n - 1 + 2 per merge <= 3n candidates). */
typedef struct {
    int32_t *id, *prev, *next;
    cand *heap;
} word_scratch;

static void try_push(const bpe *b, const word_scratch *w, cand *heap, size_t *nh, int32_t p)
{
    if (p < 0 || w->next[p] < 0)
        return;
    int32_t l = w->id[p], r = w->id[w->next[p]];
    int64_t rk = rank_of(b, l, r);
    if (rk >= 0)
        cand_push(heap, nh, (cand){(uint32_t)rk, (uint32_t)p, l, r});
}

/* Encodes one word (n >= 1 bytes, final: a space or the end follows) into toks (room for n). */
static size_t encode_word(const bpe *b, const uint8_t *s, size_t n, int final, word_scratch *w,
                          int32_t *toks)
{
    if (n == 1) {
        toks[0] = s[0] + (final ? 256 : 0);
        return 1;
    }
    for (size_t i = 0; i < n; i++) {
        w->id[i] = s[i];
        w->prev[i] = (int32_t)i - 1;
        w->next[i] = i + 1 < n ? (int32_t)i + 1 : -1;
    }
    if (final)
        w->id[n - 1] += 256;
    size_t nh = 0;
    for (size_t i = 0; i + 1 < n; i++)
        try_push(b, w, w->heap, &nh, (int32_t)i);
    while (nh) {
        cand c = cand_pop(w->heap, &nh);
        int32_t p = (int32_t)c.pos, q = w->next[p];
        if (w->id[p] != c.l || q < 0 || w->id[q] != c.r)
            continue; /* stale */
        w->id[p] = BPE_BYTES + (int32_t)c.rank;
        w->id[q] = -1;
        w->next[p] = w->next[q];
        if (w->next[q] >= 0)
            w->prev[w->next[q]] = p;
        try_push(b, w, w->heap, &nh, w->prev[p]);
        try_push(b, w, w->heap, &nh, p);
    }
    size_t k = 0;
    for (int32_t p = 0; p >= 0; p = w->next[p])
        toks[k++] = w->id[p];
    return k;
}

/* Words up to this many bytes are looked up in the word table first. */
#define BPE_TABLE_WORD 64

static uint64_t wtab_hash(const uint8_t *s, size_t n, int final)
{
    return cc_hash64(s, n) ^ (final ? 0x9e3779b97f4a7c15ULL : 0);
}

/* The one token word s (n bytes, final) encodes to, or -1 when it is not in the table. */
static int32_t wtab_find(const bpe *b, const uint8_t *s, size_t n, int final)
{
    for (uint64_t h = wtab_hash(s, n, final) & b->wmask;; h = (h + 1) & b->wmask) {
        uint32_t e = b->wtab[h];
        if (e == 0)
            return -1;
        int32_t t = (int32_t)e - 1;
        if (b->tok_len[t] == n && b->tok_final[t] == final &&
            memcmp(b->spell + b->tok_off[t], s, n) == 0)
            return t;
    }
}

/* Lists every merged token whose spelling, as a word, encodes to that token alone. */
static cc_status build_word_table(bpe *b)
{
    uint64_t slots = 16;
    while (slots < 2 * (uint64_t)b->merges)
        slots <<= 1;
    b->wtab = calloc(slots, sizeof *b->wtab);
    CC_CHECK(b->wtab, CC_E_NOMEM, "out of memory");
    b->wmask = slots - 1;
    int32_t id[BPE_TABLE_WORD], prev[BPE_TABLE_WORD], next[BPE_TABLE_WORD];
    int32_t toks[BPE_TABLE_WORD];
    cand heap[3 * BPE_TABLE_WORD];
    word_scratch w = {id, prev, next, heap};
    for (uint32_t t = BPE_BYTES; t < BPE_BYTES + b->merges; t++) {
        const uint8_t *sp = b->spell + b->tok_off[t];
        size_t n = b->tok_len[t];
        int final = b->tok_final[t];
        if (n > BPE_TABLE_WORD || encode_word(b, sp, n, final, &w, toks) != 1 ||
            toks[0] != (int32_t)t)
            continue;
        uint64_t h = wtab_hash(sp, n, final) & b->wmask;
        while (b->wtab[h])
            h = (h + 1) & b->wmask;
        b->wtab[h] = t + 1;
    }
    return CC_OK;
}

/* Calls emit for the tokens of cleaned text s (n bytes) word by word until it returns nonzero.
 * toks: room for the longest word's tokens is made here. */
typedef int (*emit_fn)(void *ctx, const int32_t *toks, size_t n);

static cc_status encode_clean(const bpe *b, const uint8_t *s, size_t n, emit_fn emit, void *ctx)
{
    int32_t sid[BPE_STACK_WORD], sprev[BPE_STACK_WORD], snext[BPE_STACK_WORD];
    int32_t stoks[BPE_STACK_WORD];
    cand sheap[3 * BPE_STACK_WORD];
    word_scratch w = {sid, sprev, snext, sheap};
    int32_t *toks = stoks;
    void *heapmem = NULL;
    size_t at = 0, ws, wl;
    int final;
    cc_status st = CC_OK;
    while (next_word(s, n, &at, &ws, &wl, &final)) {
        if (wl > BPE_STACK_WORD && !heapmem) {
            /* One allocation for the rest of the text: sized for the whole text. */
            heapmem = malloc(n * (4 * sizeof(int32_t) + 3 * sizeof(cand)));
            if (!heapmem) {
                st = cc_fail(CC_E_NOMEM, "out of memory");
                break;
            }
            w.heap = heapmem;
            w.id = (int32_t *)(w.heap + 3 * n);
            w.prev = w.id + n;
            w.next = w.prev + n;
            toks = w.next + n;
        }
        int32_t one = wl <= BPE_TABLE_WORD ? wtab_find(b, s + ws, wl, final) : -1;
        size_t k = one >= 0 ? (toks[0] = one, 1) : encode_word(b, s + ws, wl, final, &w, toks);
        if (emit(ctx, toks, k))
            break;
    }
    free(heapmem);
    return st;
}

/* Text of at most this many bytes is cleaned on the stack. */
#define BPE_STACK_TEXT 4096

typedef struct {
    int32_t *out;
    size_t n, cap; /* tokens written to out[1..], room */
} fixed_sink;

static int emit_fixed(void *ctx, const int32_t *toks, size_t n)
{
    fixed_sink *f = ctx;
    size_t k = n < f->cap - f->n ? n : f->cap - f->n;
    memcpy(f->out + 1 + f->n, toks, k * sizeof *toks);
    f->n += k;
    return f->n == f->cap;
}

cc_status bpe_encode(const bpe *b, const char *text, size_t len, int32_t *out, uint32_t ctx,
                     uint32_t *n_out)
{
    CC_CHECK(ctx >= 3, CC_E_INVAL, "context length %" PRIu32 " is below 3", ctx);
    uint8_t stack[BPE_STACK_TEXT];
    uint8_t *clean = len <= sizeof stack ? stack : malloc(len);
    CC_CHECK(clean, CC_E_NOMEM, "out of memory");
    size_t cn = clean_into((const uint8_t *)text, len, clean);
    fixed_sink f = {out, 0, ctx - 2};
    cc_status st = encode_clean(b, clean, cn, emit_fixed, &f);
    if (clean != stack)
        free(clean);
    if (st != CC_OK)
        return st;
    out[0] = bpe_sot(b);
    out[1 + f.n] = bpe_eot(b);
    for (size_t i = f.n + 2; i < ctx; i++)
        out[i] = 0;
    if (n_out)
        *n_out = (uint32_t)f.n + 2;
    return CC_OK;
}

typedef struct {
    int32_t **toks;
    size_t *n, *cap;
    cc_status st;
} grow_sink;

static int emit_grow(void *ctx, const int32_t *toks, size_t n)
{
    grow_sink *g = ctx;
    if (*g->n + n > *g->cap) {
        size_t cap = *g->cap ? *g->cap : 64;
        while (cap < *g->n + n)
            cap *= 2;
        int32_t *p = realloc(*g->toks, cap * sizeof *p);
        if (!p) {
            g->st = cc_fail(CC_E_NOMEM, "out of memory");
            return 1;
        }
        *g->toks = p;
        *g->cap = cap;
    }
    memcpy(*g->toks + *g->n, toks, n * sizeof *toks);
    *g->n += n;
    return 0;
}

cc_status bpe_encode_raw(const bpe *b, const char *text, size_t len, int32_t **toks, size_t *n,
                         size_t *cap)
{
    uint8_t stack[BPE_STACK_TEXT];
    uint8_t *clean = len <= sizeof stack ? stack : malloc(len);
    CC_CHECK(clean, CC_E_NOMEM, "out of memory");
    size_t cn = clean_into((const uint8_t *)text, len, clean);
    grow_sink g = {toks, n, cap, CC_OK};
    cc_status st = encode_clean(b, clean, cn, emit_grow, &g);
    if (clean != stack)
        free(clean);
    return st != CC_OK ? st : g.st;
}

cc_status bpe_decode(const bpe *b, const int32_t *toks, size_t n, cc_buf *out)
{
    int32_t sot = bpe_sot(b), eot = bpe_eot(b);
    int space = 0, after_eot = 0;
    for (size_t i = 0; i < n; i++) {
        int32_t t = toks[i];
        CC_CHECK(t >= 0 && (uint32_t)t < b->vocab, CC_E_INVAL,
                 "token %zu is %" PRId32 ", outside the vocabulary of %" PRIu32, i, t, b->vocab);
        if (t == sot)
            continue;
        if (t == eot) {
            after_eot = 1;
            continue;
        }
        if (t == 0 && after_eot)
            continue;
        if (space)
            CC_TRY(cc_buf_append(out, " ", 1));
        CC_TRY(cc_buf_append(out, b->spell + b->tok_off[t], b->tok_len[t]));
        space = b->tok_final[t];
    }
    return CC_OK;
}

/* ---- files --------------------------------------------------------------------------------- */

cc_status bpe_save(const bpe *b, const char *path)
{
    cc_file_out *fo = malloc(sizeof *fo);
    CC_CHECK(fo, CC_E_NOMEM, "out of memory");
    cc_status st = cc_file_out_open(fo, path);
    if (st != CC_OK) {
        free(fo);
        return st;
    }
    uint8_t h[BPE_HEADER_SIZE];
    memcpy(h, BPE_MAGIC, 8);
    cc_store_u32(h + 8, BPE_VERSION);
    cc_store_u32(h + 12, BPE_HEADER_SIZE);
    cc_store_u32(h + 16, b->vocab);
    cc_store_u32(h + 20, b->merges);
    cc_store_u32(h + 24, b->context);
    cc_store_u32(h + 28, 0);
    st = cc_file_out_put(fo, h, sizeof h);
    for (uint32_t m = 0; st == CC_OK && m < b->merges; m++) {
        uint8_t e[8];
        cc_store_u32(e, (uint32_t)b->pairs[2 * m]);
        cc_store_u32(e + 4, (uint32_t)b->pairs[2 * m + 1]);
        st = cc_file_out_put(fo, e, sizeof e);
    }
    if (st == CC_OK)
        st = cc_file_out_commit(fo);
    else
        cc_file_out_abort(fo);
    free(fo);
    return st;
}

cc_status bpe_load_mem(const char *path, const void *data, size_t n, bpe **out)
{
    const uint8_t *d = data;
    cc_status st = CC_OK;
    int32_t *pairs = NULL;
    uint32_t version = 0, hs = 0, vocab = 0, merges = 0, context = 0;
    if (n < 8 || memcmp(d, BPE_MAGIC, 8) != 0) {
        st = cc_fail(CC_E_FORMAT,
                     "%s: not a clipcrawl tokenizer file (no CCBPE magic); train one with "
                     "`clipcrawl tokenizer train`",
                     path);
        goto done;
    }
    if (n < 16) {
        st = cc_fail(CC_E_FORMAT, "%s: truncated tokenizer file (%zu bytes)", path, n);
        goto done;
    }
    version = cc_load_u32(d + 8);
    if (version != BPE_VERSION) {
        st = cc_fail(CC_E_VERSION,
                     "%s: tokenizer file version %" PRIu32 "; this build reads version %u (%s)",
                     path, version, BPE_VERSION,
                     version > BPE_VERSION ? "written by a newer clipcrawl: upgrade"
                                           : "damaged file: retrain the tokenizer");
        goto done;
    }
    hs = cc_load_u32(d + 12);
    if (hs < BPE_HEADER_SIZE || hs > n) {
        st = cc_fail(CC_E_FORMAT,
                     "%s: header size %" PRIu32 " (version 1 needs %u, file has %zu bytes); "
                     "damaged file, retrain the tokenizer",
                     path, hs, BPE_HEADER_SIZE, n);
        goto done;
    }
    vocab = cc_load_u32(d + 16);
    merges = cc_load_u32(d + 20);
    context = cc_load_u32(d + 24);
    if ((uint64_t)hs + (uint64_t)merges * 8 + 8 != n) {
        st = cc_fail(CC_E_FORMAT,
                     "%s: %zu bytes, but the header promises %" PRIu32 " merges (%" PRIu64
                     " bytes); truncated or damaged file, retrain or copy it again",
                     path, n, merges, (uint64_t)hs + (uint64_t)merges * 8 + 8);
        goto done;
    }
    st = cc_file_check_sum(path, d, n);
    if (st != CC_OK)
        goto done;
    if ((uint64_t)vocab != (uint64_t)BPE_BYTES + 2 + merges || vocab > BPE_MAX_VOCAB ||
        context < 3) {
        st = cc_fail(CC_E_FORMAT,
                     "%s: vocab %" PRIu32 ", merges %" PRIu32 ", context %" PRIu32
                     " (needs vocab = 514 + merges <= %u and context >= 3); retrain the tokenizer",
                     path, vocab, merges, context, BPE_MAX_VOCAB);
        goto done;
    }
    pairs = malloc(((size_t)merges * 2 + 1) * sizeof *pairs);
    if (!pairs) {
        st = cc_fail(CC_E_NOMEM, "out of memory");
        goto done;
    }
    for (uint32_t m = 0; m < merges; m++) {
        uint32_t l = cc_load_u32(d + hs + 8 * (size_t)m),
                 r = cc_load_u32(d + hs + 8 * (size_t)m + 4);
        uint32_t own = BPE_BYTES + m;
        if (l >= own || r >= own) {
            st = cc_fail(CC_E_FORMAT,
                         "%s: merge %" PRIu32 " (token %" PRIu32 ") joins %" PRIu32 " and %" PRIu32
                         ", not both below its own id; damaged file, retrain the tokenizer",
                         path, m, own, l, r);
            goto done;
        }
        pairs[2 * m] = (int32_t)l;
        pairs[2 * m + 1] = (int32_t)r;
    }
    st = bpe_build(pairs, merges, context, path, out);
    pairs = NULL; /* owned by bpe_build now */
done:
    free(pairs);
    return st;
}

cc_status bpe_load(const char *path, bpe **out)
{
    cc_buf f;
    cc_buf_init(&f, BPE_HEADER_SIZE + (size_t)BPE_MAX_VOCAB * 8 + 8 + 4096);
    cc_status st = cc_read_file(path, &f);
    if (st == CC_E_NOTFOUND)
        st = CC_E_IO; /* the header's contract; the message says "No such file" */
    if (st == CC_E_LIMIT)
        st = cc_fail(CC_E_FORMAT, "%s: too large for a tokenizer file (vocab at most %u)", path,
                     BPE_MAX_VOCAB);
    if (st != CC_OK) {
        cc_buf_free(&f);
        return st;
    }
    st = bpe_load_mem(path, f.data, f.len, out);
    cc_buf_free(&f);
    return st;
}

/* ---- training: word counting --------------------------------------------------------------- */

typedef struct {
    uint64_t off; /* bytes at t->arena + off */
    uint32_t len;
    uint32_t final;
    uint64_t hash;
    uint64_t count;
} tword;

struct bpe_trainer {
    uint64_t max_words, texts;
    tword *words;
    size_t nwords, capwords;
    uint32_t *slots; /* word index + 1, 0 = empty */
    size_t mask;
    uint8_t *arena;
    size_t arena_len, arena_cap;
    cc_buf clean;
};

static uint64_t word_hash(const uint8_t *s, size_t n, int final)
{
    return cc_hash64(s, n) ^ (final ? 0x9e3779b97f4a7c15ULL : 0);
}

static cc_status trainer_rehash(bpe_trainer *t, size_t nslots)
{
    uint32_t *s = calloc(nslots, sizeof *s);
    CC_CHECK(s, CC_E_NOMEM, "out of memory");
    free(t->slots);
    t->slots = s;
    t->mask = nslots - 1;
    for (size_t i = 0; i < t->nwords; i++) {
        size_t h = t->words[i].hash & t->mask;
        while (s[h])
            h = (h + 1) & t->mask;
        s[h] = (uint32_t)i + 1;
    }
    return CC_OK;
}

cc_status bpe_trainer_new(uint64_t max_words, bpe_trainer **out)
{
    bpe_trainer *t = calloc(1, sizeof *t);
    CC_CHECK(t, CC_E_NOMEM, "out of memory");
    t->max_words = max_words ? max_words : BPE_DEFAULT_MAX_WORDS;
    if (t->max_words > UINT32_MAX / 4)
        t->max_words = UINT32_MAX / 4;
    cc_buf_init(&t->clean, SIZE_MAX);
    cc_status st = trainer_rehash(t, 1024);
    if (st != CC_OK) {
        bpe_trainer_free(t);
        return st;
    }
    *out = t;
    return CC_OK;
}

void bpe_trainer_free(bpe_trainer *t)
{
    if (!t)
        return;
    free(t->words);
    free(t->slots);
    free(t->arena);
    cc_buf_free(&t->clean);
    free(t);
}

uint64_t bpe_trainer_texts(const bpe_trainer *t)
{
    return t->texts;
}

uint64_t bpe_trainer_words(const bpe_trainer *t)
{
    return t->nwords;
}

/* Drops the rarest words until at most 3/4 of max_words remain (all words of the lowest counts
 * go together, so the result does not depend on their order), and compacts the arena. */
static cc_status trainer_prune(bpe_trainer *t)
{
    uint64_t keep = t->max_words - (t->max_words >= 4 ? t->max_words / 4 : 1), floor = 0;
    size_t left = t->nwords;
    while (left > keep) {
        uint64_t next = UINT64_MAX; /* the smallest count above floor */
        for (size_t i = 0; i < t->nwords; i++)
            if (t->words[i].count > floor && t->words[i].count < next)
                next = t->words[i].count;
        floor = next;
        left = 0;
        for (size_t i = 0; i < t->nwords; i++)
            left += t->words[i].count > floor;
    }
    size_t k = 0, a = 0;
    for (size_t i = 0; i < t->nwords; i++) {
        tword w = t->words[i];
        if (w.count <= floor)
            continue;
        memmove(t->arena + a, t->arena + w.off, w.len);
        w.off = a;
        a += w.len;
        t->words[k++] = w;
    }
    cc_log_debug("tokenizer: word table full (%zu words): dropped %zu words seen at most %" PRIu64
                 " times",
                 t->nwords, t->nwords - k, floor);
    t->nwords = k;
    t->arena_len = a;
    return trainer_rehash(t, t->mask + 1);
}

static cc_status trainer_count(bpe_trainer *t, const uint8_t *s, size_t n, int final)
{
    uint64_t h = word_hash(s, n, final);
    size_t i = h & t->mask;
    for (uint32_t e; (e = t->slots[i]) != 0; i = (i + 1) & t->mask) {
        tword *w = &t->words[e - 1];
        if (w->hash == h && w->len == n && w->final == (uint32_t) final &&
            memcmp(t->arena + w->off, s, n) == 0) {
            w->count++;
            return CC_OK;
        }
    }
    if (t->nwords >= t->max_words) {
        CC_TRY(trainer_prune(t));
        return trainer_count(t, s, n, final);
    }
    CC_CHECK(n <= UINT32_MAX, CC_E_LIMIT, "a word of %zu bytes", n);
    if (t->nwords == t->capwords) {
        size_t cap = t->capwords ? 2 * t->capwords : 1024;
        tword *p = realloc(t->words, cap * sizeof *p);
        CC_CHECK(p, CC_E_NOMEM, "out of memory");
        t->words = p;
        t->capwords = cap;
    }
    if (t->arena_len + n > t->arena_cap) {
        size_t cap = t->arena_cap ? t->arena_cap : 65536;
        while (cap < t->arena_len + n)
            cap *= 2;
        uint8_t *p = realloc(t->arena, cap);
        CC_CHECK(p, CC_E_NOMEM, "out of memory");
        t->arena = p;
        t->arena_cap = cap;
    }
    memcpy(t->arena + t->arena_len, s, n);
    t->words[t->nwords] = (tword){t->arena_len, (uint32_t)n, (uint32_t) final, h, 1};
    t->arena_len += n;
    t->slots[i] = (uint32_t)++t->nwords;
    if (2 * t->nwords > t->mask + 1)
        CC_TRY(trainer_rehash(t, 2 * (t->mask + 1)));
    return CC_OK;
}

cc_status bpe_trainer_add(bpe_trainer *t, const char *text, size_t len)
{
    CC_TRY(bpe_clean(text, len, &t->clean));
    const uint8_t *s = t->clean.data;
    size_t at = 0, ws, wl;
    int final;
    while (next_word(s, t->clean.len, &at, &ws, &wl, &final))
        CC_TRY(trainer_count(t, s + ws, wl, final));
    t->texts++;
    return CC_OK;
}

/* ---- training: merges ---------------------------------------------------------------------- */

/* A pair of adjacent symbols: its weighted count and the words it may occur in (a superset: a
 * word stays listed after its occurrences merged away). */
typedef struct {
    int32_t l, r;
    int64_t count;
    uint32_t *words;
    uint32_t nw, capw;
} tpair;

typedef struct {
    int64_t count;
    uint32_t pair;
} hentry;

typedef struct {
    tpair *pairs;
    size_t npairs, cappairs;
    uint64_t *keys; /* pair table: key → index in vals, UINT64_MAX = empty */
    uint32_t *vals;
    size_t mask;
    hentry *heap;
    size_t nheap, capheap;
    /* Words: symbols at sym + woff[w], wlen[w] of them; wcount[w] occurrences. */
    int32_t *sym;
    uint64_t *woff;
    uint32_t *wlen;
    int64_t *wcount;
    size_t nwords;
} tstate;

static void tstate_free(tstate *s)
{
    for (size_t i = 0; i < s->npairs; i++)
        free(s->pairs[i].words);
    free(s->pairs);
    free(s->keys);
    free(s->vals);
    free(s->heap);
    free(s->sym);
    free(s->woff);
    free(s->wlen);
    free(s->wcount);
}

static cc_status pairs_rehash(tstate *s, size_t nslots)
{
    uint64_t *k = malloc(nslots * sizeof *k);
    uint32_t *v = malloc(nslots * sizeof *v);
    if (!k || !v) {
        free(k);
        free(v);
        return cc_fail(CC_E_NOMEM, "out of memory");
    }
    memset(k, 0xFF, nslots * sizeof *k);
    size_t mask = nslots - 1;
    for (size_t i = 0; i < s->npairs; i++) {
        uint64_t key = pair_key(s->pairs[i].l, s->pairs[i].r);
        size_t h = mix64(key) & mask;
        while (k[h] != UINT64_MAX)
            h = (h + 1) & mask;
        k[h] = key;
        v[h] = (uint32_t)i;
    }
    free(s->keys);
    free(s->vals);
    s->keys = k;
    s->vals = v;
    s->mask = mask;
    return CC_OK;
}

/* The index of pair (l, r), created with count 0 when new. */
static cc_status pair_get(tstate *s, int32_t l, int32_t r, uint32_t *idx)
{
    uint64_t key = pair_key(l, r);
    size_t h = mix64(key) & s->mask;
    for (; s->keys[h] != UINT64_MAX; h = (h + 1) & s->mask) {
        if (s->keys[h] == key) {
            *idx = s->vals[h];
            return CC_OK;
        }
    }
    if (s->npairs == s->cappairs) {
        size_t cap = s->cappairs ? 2 * s->cappairs : 4096;
        tpair *p = realloc(s->pairs, cap * sizeof *p);
        CC_CHECK(p, CC_E_NOMEM, "out of memory");
        s->pairs = p;
        s->cappairs = cap;
    }
    s->pairs[s->npairs] = (tpair){l, r, 0, NULL, 0, 0};
    s->keys[h] = key;
    s->vals[h] = (uint32_t)s->npairs;
    *idx = (uint32_t)s->npairs++;
    if (2 * s->npairs > s->mask + 1)
        CC_TRY(pairs_rehash(s, 2 * (s->mask + 1)));
    return CC_OK;
}

/* Adds delta occurrences of (l, r), listing word w for it when delta > 0. */
static cc_status pair_add(tstate *s, int32_t l, int32_t r, int64_t delta, uint32_t w)
{
    uint32_t i = 0;
    CC_TRY(pair_get(s, l, r, &i));
    tpair *p = &s->pairs[i];
    p->count += delta;
    if (delta > 0 && (p->nw == 0 || p->words[p->nw - 1] != w)) {
        if (p->nw == p->capw) {
            uint32_t cap = p->capw ? 2 * p->capw : 4;
            uint32_t *q = realloc(p->words, (size_t)cap * sizeof *q);
            CC_CHECK(q, CC_E_NOMEM, "out of memory");
            p->words = q;
            p->capw = cap;
        }
        p->words[p->nw++] = w;
    }
    return CC_OK;
}

/* Max-heap on count, ties to the smaller (left, right): the merge order of the header. */
static int hentry_before(const tstate *s, hentry a, hentry b)
{
    if (a.count != b.count)
        return a.count > b.count;
    const tpair *p = &s->pairs[a.pair], *q = &s->pairs[b.pair];
    return p->l != q->l ? p->l < q->l : p->r < q->r;
}

static cc_status heap_push(tstate *s, hentry e)
{
    if (s->nheap == s->capheap) {
        size_t cap = s->capheap ? 2 * s->capheap : 4096;
        hentry *p = realloc(s->heap, cap * sizeof *p);
        CC_CHECK(p, CC_E_NOMEM, "out of memory");
        s->heap = p;
        s->capheap = cap;
    }
    size_t i = s->nheap++;
    while (i > 0 && hentry_before(s, e, s->heap[(i - 1) / 2])) {
        s->heap[i] = s->heap[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    s->heap[i] = e;
    return CC_OK;
}

static hentry heap_pop(tstate *s)
{
    hentry top = s->heap[0], last = s->heap[--s->nheap];
    size_t i = 0, n = s->nheap;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= n)
            break;
        if (c + 1 < n && hentry_before(s, s->heap[c + 1], s->heap[c]))
            c++;
        if (!hentry_before(s, s->heap[c], last))
            break;
        s->heap[i] = s->heap[c];
        i = c;
    }
    if (n)
        s->heap[i] = last;
    return top;
}

/* Copies the trainer's words into symbol arrays and counts every adjacent pair. */
static cc_status tstate_init(tstate *s, const bpe_trainer *t)
{
    s->nwords = t->nwords;
    size_t n = t->nwords ? t->nwords : 1;
    s->woff = malloc(n * sizeof *s->woff);
    s->wlen = malloc(n * sizeof *s->wlen);
    s->wcount = malloc(n * sizeof *s->wcount);
    s->sym = malloc((t->arena_len ? t->arena_len : 1) * sizeof *s->sym);
    CC_CHECK(s->woff && s->wlen && s->wcount && s->sym, CC_E_NOMEM, "out of memory");
    CC_TRY(pairs_rehash(s, 1 << 16));
    uint64_t off = 0;
    for (size_t w = 0; w < t->nwords; w++) {
        const tword *tw = &t->words[w];
        s->woff[w] = off;
        s->wlen[w] = tw->len;
        s->wcount[w] = (int64_t)tw->count;
        int32_t *y = s->sym + off;
        for (uint32_t i = 0; i < tw->len; i++)
            y[i] = t->arena[tw->off + i];
        if (tw->final)
            y[tw->len - 1] += 256;
        for (uint32_t i = 0; i + 1 < tw->len; i++)
            CC_TRY(pair_add(s, y[i], y[i + 1], s->wcount[w], (uint32_t)w));
        off += tw->len;
    }
    for (size_t i = 0; i < s->npairs; i++)
        if (s->pairs[i].count >= 2)
            CC_TRY(heap_push(s, (hentry){s->pairs[i].count, (uint32_t)i}));
    return CC_OK;
}

/* Replaces every occurrence of pair pi (left to right, not overlapping) by token x in each word
 * listed for it, updating the counts of the neighbouring pairs, and queues the new pairs. */
static cc_status apply_merge(tstate *s, uint32_t pi, int32_t x, uint32_t *stamp)
{
    int32_t a = s->pairs[pi].l, b = s->pairs[pi].r;
    uint32_t nw = s->pairs[pi].nw;
    uint32_t *list = s->pairs[pi].words;
    s->pairs[pi].words = NULL; /* the pair is gone: its list is consumed here */
    s->pairs[pi].nw = s->pairs[pi].capw = 0;
    size_t first_new = s->npairs;
    cc_status st = CC_OK;
    for (uint32_t k = 0; k < nw && st == CC_OK; k++) {
        uint32_t w = list[k];
        if (stamp[w] == (uint32_t)x)
            continue; /* listed twice */
        stamp[w] = (uint32_t)x;
        int32_t *y = s->sym + s->woff[w];
        uint32_t n = s->wlen[w], j = 0;
        int64_t c = s->wcount[w];
        for (uint32_t i = 0; i < n && st == CC_OK;) {
            if (i + 1 < n && y[i] == a && y[i + 1] == b) {
                if (j > 0) {
                    st = pair_add(s, y[j - 1], a, -c, w);
                    if (st == CC_OK)
                        st = pair_add(s, y[j - 1], x, c, w);
                }
                if (st == CC_OK && i + 2 < n) {
                    st = pair_add(s, b, y[i + 2], -c, w);
                    if (st == CC_OK)
                        st = pair_add(s, x, y[i + 2], c, w);
                }
                s->pairs[pi].count -= c;
                y[j++] = x;
                i += 2;
            } else {
                y[j++] = y[i++];
            }
        }
        s->wlen[w] = j;
    }
    free(list);
    /* Pairs with x are all new (x did not exist before); older pairs only lost counts, which the
     * heap notices lazily. */
    for (size_t i = first_new; i < s->npairs && st == CC_OK; i++)
        if (s->pairs[i].count >= 2)
            st = heap_push(s, (hentry){s->pairs[i].count, (uint32_t)i});
    return st;
}

cc_status bpe_trainer_finish(bpe_trainer *t, uint32_t vocab, uint32_t context, bpe **out)
{
    CC_CHECK(vocab >= BPE_BYTES + 2 && vocab <= BPE_MAX_VOCAB, CC_E_INVAL,
             "vocab %" PRIu32 " is outside %d..%d", vocab, BPE_BYTES + 2, BPE_MAX_VOCAB);
    CC_CHECK(context >= 3, CC_E_INVAL, "context length %" PRIu32 " is below 3", context);
    uint32_t want = vocab - BPE_BYTES - 2, merges = 0;
    tstate s;
    memset(&s, 0, sizeof s);
    int32_t *pairs = malloc(((size_t)want * 2 + 1) * sizeof *pairs);
    uint32_t *stamp = calloc(t->nwords ? t->nwords : 1, sizeof *stamp);
    cc_status st = pairs && stamp ? CC_OK : cc_fail(CC_E_NOMEM, "out of memory");
    if (st == CC_OK)
        st = tstate_init(&s, t);
    while (st == CC_OK && merges < want && s.nheap) {
        hentry e = heap_pop(&s);
        int64_t now = s.pairs[e.pair].count;
        if (now != e.count) {
            /* Stale: the pair lost occurrences since it was queued. */
            if (now >= 2)
                st = heap_push(&s, (hentry){now, e.pair});
            continue;
        }
        pairs[2 * merges] = s.pairs[e.pair].l;
        pairs[2 * merges + 1] = s.pairs[e.pair].r;
        st = apply_merge(&s, e.pair, BPE_BYTES + (int32_t)merges, stamp);
        merges++;
    }
    tstate_free(&s);
    free(stamp);
    if (st != CC_OK) {
        free(pairs);
        return st;
    }
    cc_log_debug("tokenizer: %" PRIu32 " merges from %zu distinct words", merges, t->nwords);
    return bpe_build(pairs, merges, context, "trained tokenizer", out);
}
