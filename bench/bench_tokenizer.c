/* bench/bench_tokenizer.c — the trainer's BPE tokenizer (trainer/bpe.h): training time and
 * encode throughput on synthetic captions.
 *
 * usage: bench_tokenizer [--captions N] [--vocab V] [--reps R] [--seed S] [--json FILE]
 *
 * The captions (default 100,000) are generated from a fixed seed: 5 to 20 words drawn from a
 * Zipf-distributed lexicon of 50,000 pseudo-words built from syllables, some capitalized, with
 * digits, punctuation, contractions, HTML entities and a little non-ASCII text, about 80 bytes
 * each, like alt-text captions.
 *
 * Measured, each figure the median of R repetitions (default 3):
 *   train    bpe_trainer_new + bpe_trainer_add of every caption (cleanup, pre-tokenization,
 *            word counting) and bpe_trainer_finish to V tokens (default 8000): seconds of each
 *            part;
 *   encode   bpe_encode of every caption at context 77 (CLIP's), on 1 thread and on 2 (OpenMP,
 *            the captions split in halves): captions per second and MB of caption text per
 *            second, by wall time.
 * Also the distinct words, the merges learned, tokens per caption, the captions truncated, and a
 * checksum of every id, which must be the same for each repetition and thread count. Prints a
 * table and writes the same figures as JSON (--json). Exit 0, or 1 on any error.
 * Timings on a shared machine are noisy: compare medians, and run nothing else meanwhile.
 */
#include <inttypes.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench/bench_opts.h"
#include "common/rng.h"
#include "common/status.h"
#include "trainer/bpe.h"

#define LEXICON 50000
#define CTX 77
/* Each thread's ids start on their own cache lines. */
#define STRIDE 128

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

typedef struct {
    char *text; /* all captions, each NUL-terminated */
    size_t *off, *len;
    size_t n, bytes;
} corpus;

/* A pseudo-word of 1 to 4 syllables. */
static size_t make_word(cc_rng *r, char *out)
{
    static const char *const syl[] = {
        "ka",  "lo",  "mi",   "ne", "ra",  "to",  "su",  "pe",  "li",  "an",  "ter", "ing",
        "ed",  "er",  "st",   "ch", "ous", "ly",  "pho", "to",  "gra", "phy", "re",  "de",
        "con", "ble", "tion", "wa", "ter", "sun", "set", "dog", "cat", "car", "red", "blu"};
    size_t n = 0, k = 1 + cc_rng_below(r, 4);
    for (size_t i = 0; i < k; i++) {
        const char *s = syl[cc_rng_below(r, sizeof syl / sizeof syl[0])];
        size_t l = strlen(s);
        memcpy(out + n, s, l);
        n += l;
    }
    out[n] = '\0';
    return n;
}

static int corpus_make(corpus *c, size_t n, uint64_t seed)
{
    cc_rng r;
    cc_rng_seed(&r, seed);
    char(*lex)[24] = malloc(LEXICON * sizeof *lex);
    double *cdf = malloc(LEXICON * sizeof *cdf);
    c->text = malloc(n * 256);
    c->off = malloc(n * sizeof *c->off);
    c->len = malloc(n * sizeof *c->len);
    if (!lex || !cdf || !c->text || !c->off || !c->len) {
        free(lex);
        free(cdf);
        return -1;
    }
    double sum = 0;
    for (size_t i = 0; i < LEXICON; i++) {
        make_word(&r, lex[i]);
        sum += 1.0 / (double)(i + 1); /* Zipf, s = 1 */
        cdf[i] = sum;
    }
    static const char *const extra[] = {"it's", "don't",   "&amp;", "2024", "4K",
                                        "HD",   "(photo)", "café",  "東京", "🙂",
                                        "—",    "!",       ",",     "...",  "#1"};
    size_t at = 0;
    for (size_t k = 0; k < n; k++) {
        c->off[k] = at;
        size_t words = 5 + cc_rng_below(&r, 16), l = 0;
        char *d = c->text + at;
        for (size_t w = 0; w < words && l < 200; w++) {
            const char *s;
            if (cc_rng_below(&r, 12) == 0) {
                s = extra[cc_rng_below(&r, sizeof extra / sizeof extra[0])];
            } else {
                double u = cc_rng_float(&r) * sum;
                size_t lo = 0, hi = LEXICON - 1;
                while (lo < hi) {
                    size_t mid = (lo + hi) / 2;
                    if (cdf[mid] < u)
                        lo = mid + 1;
                    else
                        hi = mid;
                }
                s = lex[lo];
            }
            if (w)
                d[l++] = ' ';
            size_t sl = strlen(s);
            memcpy(d + l, s, sl);
            if (cc_rng_below(&r, 10) == 0 && d[l] >= 'a' && d[l] <= 'z')
                d[l] -= 'a' - 'A';
            l += sl;
        }
        d[l] = '\0';
        c->len[k] = l;
        at += l + 1;
    }
    c->n = n;
    c->bytes = at - n;
    free(lex);
    free(cdf);
    return 0;
}

/* Encodes every caption with nt threads; returns wall seconds, or -1 on an error. */
static double encode_all(const bpe *b, const corpus *c, int nt, int32_t *ids, uint64_t *sum,
                         uint64_t *tokens, uint64_t *truncated)
{
    int failed = 0;
    uint64_t s = 0, t = 0, tr = 0;
    double t0 = now_s();
#pragma omp parallel for num_threads(nt) schedule(static) reduction(+ : s, t, tr, failed)
    for (size_t i = 0; i < c->n; i++) {
        int32_t *out = ids + (size_t)omp_get_thread_num() * STRIDE;
        uint32_t used;
        if (bpe_encode(b, c->text + c->off[i], c->len[i], out, CTX, &used) != CC_OK) {
            failed++;
            continue;
        }
        uint64_t h = i;
        for (uint32_t k = 0; k < used; k++)
            h = h * 1000003u + (uint32_t)out[k];
        s += h;
        t += used - 2;
        tr += out[CTX - 1] == bpe_eot(b);
    }
    double dt = now_s() - t0;
    *sum = s;
    *tokens = t;
    *truncated = tr;
    return failed ? -1 : dt;
}

int main(int argc, char **argv)
{
    const char *tool = "bench_tokenizer", *json = NULL;
    uint64_t ncap = 100000, vocab = 8000, reps = 3, seed = 1;
    bench_num nums[] = {{"--captions", 100, 100000000, &ncap},
                        {"--vocab", 514, BPE_MAX_VOCAB, &vocab},
                        {"--reps", 1, MAX_REPS, &reps},
                        {"--seed", 0, UINT64_MAX, &seed}};
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--json") && i + 1 < argc) {
            json = argv[++i];
            continue;
        }
        int k = i + 1 < argc
                    ? bench_set_num(tool, nums, sizeof nums / sizeof nums[0], argv[i], argv[i + 1])
                    : 1;
        if (k < 0)
            return 1;
        if (k > 0) {
            fprintf(stderr,
                    "usage: %s [--captions N] [--vocab V] [--reps R] [--seed S] [--json FILE]\n",
                    tool);
            return 1;
        }
        i++;
    }
    corpus c = {0};
    if (corpus_make(&c, ncap, seed)) {
        fprintf(stderr, "%s: out of memory\n", tool);
        return 1;
    }
    double t_count[MAX_REPS], t_merge[MAX_REPS], t_enc1[MAX_REPS], t_enc2[MAX_REPS];
    uint64_t words = 0, merges = 0, tokens = 0, truncated = 0, sum1 = 0;
    bpe *b = NULL;
    int32_t *ids = malloc(2 * STRIDE * sizeof *ids);
    int rc = ids ? 0 : 1;
    for (uint64_t r = 0; rc == 0 && r < reps; r++) {
        bpe_trainer *t = NULL;
        double t0 = now_s();
        cc_status st = bpe_trainer_new(0, &t);
        for (size_t i = 0; st == CC_OK && i < c.n; i++)
            st = bpe_trainer_add(t, c.text + c.off[i], c.len[i]);
        double t1 = now_s();
        bpe_free(b);
        b = NULL;
        if (st == CC_OK)
            st = bpe_trainer_finish(t, (uint32_t)vocab, CTX, &b);
        double t2 = now_s();
        if (st != CC_OK) {
            fprintf(stderr, "%s: training: %s\n", tool, cc_errmsg());
            bpe_trainer_free(t);
            rc = 1;
            break;
        }
        words = bpe_trainer_words(t);
        merges = bpe_merges(b);
        bpe_trainer_free(t);
        t_count[r] = t1 - t0;
        t_merge[r] = t2 - t1;
        uint64_t s1, s2, tk, tr;
        t_enc1[r] = encode_all(b, &c, 1, ids, &s1, &tokens, &truncated);
        t_enc2[r] = encode_all(b, &c, 2, ids, &s2, &tk, &tr);
        if (t_enc1[r] < 0 || t_enc2[r] < 0 || s1 != s2 || (r > 0 && s1 != sum1)) {
            fprintf(stderr, "%s: encodings differ between runs or threads (or failed)\n", tool);
            rc = 1;
            break;
        }
        sum1 = s1;
    }
    if (rc == 0) {
        double cnt = median(t_count, reps), mrg = median(t_merge, reps);
        double e1 = median(t_enc1, reps), e2 = median(t_enc2, reps);
        double mb = (double)c.bytes / 1e6;
        printf("tokenizer benchmark: %zu synthetic captions (%.1f MB, %.0f bytes each), "
               "vocab %" PRIu64 ", context %d, median of %" PRIu64 "\n",
               c.n, mb, (double)c.bytes / (double)c.n, vocab, CTX, reps);
        printf("  train     %.3f s (counting %.3f s, merging %.3f s); %" PRIu64
               " distinct words, %" PRIu64 " merges\n",
               cnt + mrg, cnt, mrg, words, merges);
        printf("  encode 1  %.0f captions/s  %.2f MB/s\n", (double)c.n / e1, mb / e1);
        printf("  encode 2  %.0f captions/s  %.2f MB/s  (speed-up %.2fx)\n", (double)c.n / e2,
               mb / e2, e1 / e2);
        printf("  tokens    %.1f per caption, %" PRIu64 " captions truncated to %d; checksum "
               "%016" PRIx64 "\n",
               (double)tokens / (double)c.n, truncated, CTX, sum1);
        if (json) {
            FILE *f = fopen(json, "w");
            if (!f) {
                fprintf(stderr, "%s: %s: cannot write\n", tool, json);
                rc = 1;
            } else {
                fprintf(f,
                        "{\"captions\": %zu, \"bytes\": %zu, \"vocab\": %" PRIu64
                        ", \"merges\": %" PRIu64 ", \"distinct_words\": %" PRIu64
                        ", \"reps\": %" PRIu64 ",\n \"train_s\": %.4f, \"count_s\": %.4f, "
                        "\"merge_s\": %.4f,\n \"encode_captions_per_s_1\": %.0f, "
                        "\"encode_mb_per_s_1\": %.3f,\n \"encode_captions_per_s_2\": %.0f, "
                        "\"encode_mb_per_s_2\": %.3f,\n \"tokens_per_caption\": %.2f, "
                        "\"truncated\": %" PRIu64 ", \"checksum\": \"%016" PRIx64 "\"}\n",
                        c.n, c.bytes, vocab, merges, words, reps, cnt + mrg, cnt, mrg,
                        (double)c.n / e1, mb / e1, (double)c.n / e2, mb / e2,
                        (double)tokens / (double)c.n, truncated, sum1);
                if (fclose(f) != 0)
                    rc = 1;
            }
        }
    }
    bpe_free(b);
    free(ids);
    free(c.text);
    free(c.off);
    free(c.len);
    return rc;
}
