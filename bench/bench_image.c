/* bench/bench_image.c — the per-pair image path (img_filter_run) on real photos at web sizes:
 * pairs per second on one core, its per-stage split, the pixels it encodes, pHash robustness.
 *
 * usage: bench_image --list FILE [--reps R] [--quality Q] [--size N] [--mode M] [--dump DIR]
 *                    [--dump-full DIR] [--json FILE] [--phash-report] [--originals FILE]
 *
 * FILE names the images, one path a line (bench/mkphotos.py writes it); all are read into memory
 * first. One img_filter with the default options except size (256), mode (center_crop), quality
 * (90), min_size 0 and max_aspect 0 (so that no photo is rejected by a size check) runs in the
 * calling thread:
 *   check pass (untimed, also the warm-up): each image once; counts rejections by reason (the
 *             benchmark fails unless there are none), the output bytes, the JPEG DCT scale the
 *             decoder chose (decoded width * 8 / full width); rebuilds the pre-encode pixels
 *             from img_filter_decoded() with img_fit_size + img_resize + the floor-centred crop
 *             (as filters/imgfilter.c does), encodes them with img_encode_jpeg at the same
 *             quality and counts the outputs that are byte-identical (proof that the pixels are
 *             the ones the filter encoded); --dump DIR writes them as binary PPM (RGB), NNNN.ppm
 *             by the image's line in FILE from 0000, as bench/image_peer.py --dump does;
 *             --dump-full DIR the same pixels from a full-size decode (img_decode without a
 *             minimum size, so no DCT scaling), to tell the DCT scaling's part of the
 *             difference to OpenCV from the resize's.
 *   timed:    R repetitions (default 3) of every image through img_filter_run. pairs/s (per
 *             core) = images / CPU time of the process over a repetition (CLOCK_PROCESS_CPUTIME_ID:
 *             on a shared machine CPU time is far steadier than wall time, and the goal is per
 *             core); pairs_per_s_wall = images / wall time (CLOCK_MONOTONIC). Per-stage ms/image
 *             from the result's ns_* fields (thread CPU time: probe, decode, check = blank check
 *             with its 32 x 32 thumbnail, resize = scale + crop, encode, hash = XXH3-128 +
 *             pHash); "other" is the CPU time the stages do not cover. Each figure is the median
 *             over repetitions.
 *   --phash-report, on the original photos (--originals, default originals.txt next to FILE):
 *             each decoded with img_decode asking for >= 512 x 512 (a JPEG at the DCT scale the
 *             decoder picks for that); img_phash of it and of (a) it re-encoded at JPEG quality 60
 * and decoded, (b) resized to half, (c) cropped by 2.5% on each side; the Hamming distances to the
 * original's pHash, and (d) the pHash img_filter_run gave each corpus file against its photo's
 * (file names "NN-..." name the photo's line NN in originals); over all pairs of different
 * originals, their distance. Quantiles are nearest-rank. Prints a table and writes the same figures
 * as JSON (--json). Exit 0, or 1 on any error or rejection. Timings on a shared machine are noisy:
 * compare ratios and medians, not single runs.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench/bench_opts.h"
#include "common/buf.h"
#include "common/file.h"
#include "common/status.h"
#include "filters/image.h"
#include "filters/imgfilter.h"
#include "filters/phash.h"

#define PATH_CAP 4096
#define MAX_FILE (64u << 20) /* largest image or list file read */
#define PHASH_MIN_SIDE 512 /* originals decode to at least this on both sides */
#define N_FMT 4 /* enum img_format values */

enum { ST_PROBE, ST_DECODE, ST_CHECK, ST_RESIZE, ST_ENCODE, ST_HASH, ST_COUNT };
static const char *const stage_key[ST_COUNT] = {"probe",  "decode", "check",
                                                "resize", "encode", "hash"};
static const char *const stage_label[ST_COUNT] = {
    "probe (header)", "decode",        "blank check (32x32 thumb)",
    "resize + crop",  "encode (JPEG)", "hashes (XXH3-128, pHash)"};
static const char *const fmt_name[N_FMT] = {"unknown", "jpeg", "png", "webp"};

typedef struct opts {
    const char *list, *json, *dump, *dump_full, *originals;
    uint64_t reps, quality, size;
    img_resize_mode mode;
    int phash_report;
} opts;

typedef struct photo {
    char *path;
    cc_buf bytes;
    int group; /* line of its original in originals.txt ("NN-" file name prefix), -1 if none */
} photo;

/* A distribution of Hamming distances (nearest-rank quantiles). */
typedef struct dist {
    size_t n;
    int min, p10, median, p90, max;
    double le8, ge20; /* shares of distances <= 8 and >= 20 */
} dist;

enum { PH_Q60, PH_HALF, PH_CROP_AREA, PH_CROP, PH_WEB, PH_DIFFERENT, PH_COUNT };
static const char *const ph_key[PH_COUNT] = {"jpeg_q60",  "half_size",       "crop_5pct_area",
                                             "crop_5pct", "corpus_versions", "different_photos"};
static const char *const ph_label[PH_COUNT] = {
    "re-encoded JPEG quality 60",     "resized to half",
    "crop 5% of area (1.3%/side)",    "crop 5% of w and h (2.5%/side)",
    "corpus web versions (pipeline)", "different photos (all pairs)"};

typedef struct results {
    size_t n;
    uint64_t in_bytes, fmt_n[N_FMT];
    double secs[MAX_REPS], cpu_secs[MAX_REPS], stage_ns[ST_COUNT][MAX_REPS];
    double fmt_ns[N_FMT][ST_COUNT + 1][MAX_REPS]; /* per input format: stages, then their sum */
    uint64_t rejected[IMG_R_COUNT], n_rejected, out_bytes, reencoded, identical, scale[9];
    uint64_t *phash; /* img_filter_run's pHash of each image */
    uint8_t *accepted; /* 1 when the check pass accepted the image */
    size_t n_originals;
    dist ph[PH_COUNT];
} results;

/* ---- small helpers ------------------------------------------------------------------------- */

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static double cpu_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int cmp_int(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;
    return x < y ? -1 : x > y;
}

static int fail(const char *what)
{
    fprintf(stderr, "bench_image: %s: %s\n", what, cc_errmsg());
    return 1;
}

/* The nearest-rank q-quantile of the n >= 1 sorted values: v[ceil(q * n) - 1]. */
static int rank(const int *v, size_t n, double q)
{
    size_t k = (size_t)ceil(q * (double)n);
    return v[k > 0 ? (k <= n ? k - 1 : n - 1) : 0];
}

/* Sorts v and fills *d. */
static void dist_of(int *v, size_t n, dist *d)
{
    memset(d, 0, sizeof *d);
    d->n = n;
    if (n == 0)
        return;
    qsort(v, n, sizeof *v, cmp_int);
    size_t le8 = 0, ge20 = 0;
    for (size_t i = 0; i < n; i++) {
        le8 += v[i] <= 8;
        ge20 += v[i] >= 20;
    }
    d->min = v[0];
    d->p10 = rank(v, n, 0.10);
    d->median = rank(v, n, 0.50);
    d->p90 = rank(v, n, 0.90);
    d->max = v[n - 1];
    d->le8 = (double)le8 / (double)n;
    d->ge20 = (double)ge20 / (double)n;
}

/* Reads a list file: one path a line, blank lines skipped. *out holds n malloc'd strings. */
static int read_list(const char *path, char ***out, size_t *n_out)
{
    cc_buf b;
    cc_buf_init(&b, MAX_FILE);
    if (cc_read_file(path, &b) != CC_OK || cc_buf_append(&b, "", 1) != CC_OK) {
        cc_buf_free(&b);
        return fail(path);
    }
    size_t n = 0, cap = 0;
    char **v = NULL;
    int rc = 0;
    for (char *line = (char *)b.data; *line;) {
        char *nl = strchr(line, '\n');
        size_t len = nl ? (size_t)(nl - line) : strlen(line);
        if (len > 0 && line[len - 1] == '\r')
            len--;
        if (len > 0) {
            if (n == cap) {
                cap = cap ? cap * 2 : 256;
                char **nv = realloc(v, cap * sizeof *nv);
                if (!nv) {
                    rc = 1;
                    break;
                }
                v = nv;
            }
            v[n] = malloc(len + 1);
            if (!v[n]) {
                rc = 1;
                break;
            }
            memcpy(v[n], line, len);
            v[n++][len] = '\0';
        }
        if (!nl)
            break;
        line = nl + 1;
    }
    cc_buf_free(&b);
    if (rc == 0 && n == 0) {
        fprintf(stderr, "bench_image: %s names no files\n", path);
        rc = 1;
    }
    if (rc) {
        for (size_t i = 0; i < n; i++)
            free(v[i]);
        free(v);
        return 1;
    }
    *out = v;
    *n_out = n;
    return 0;
}

/* The original's line from a corpus file name "NN-...", or -1. */
static int photo_group(const char *path)
{
    const char *base = cc_path_base(path);
    int g = 0, digits = 0;
    for (; *base >= '0' && *base <= '9' && digits < 6; base++, digits++)
        g = g * 10 + (*base - '0');
    return digits > 0 && *base == '-' ? g : -1;
}

/* Copies the window of src at (x0, y0) of w x h. */
static cc_status crop(const img_rgb *src, uint32_t x0, uint32_t y0, uint32_t w, uint32_t h,
                      img_rgb *dst)
{
    CC_TRY(img_rgb_alloc(dst, w, h, 0));
    for (uint32_t y = 0; y < h; y++)
        memcpy(dst->px + (size_t)y * w * 3, src->px + ((size_t)(y + y0) * src->w + x0) * 3,
               (size_t)w * 3);
    return CC_OK;
}

static int write_ppm(const char *dir, size_t i, const img_rgb *im)
{
    char name[32], path[PATH_CAP];
    snprintf(name, sizeof name, "%04zu.ppm", i);
    if (cc_path_join(path, sizeof path, dir, name) != CC_OK)
        return fail("dump path");
    FILE *f = fopen(path, "wb");
    if (!f) {
        fprintf(stderr, "bench_image: %s: %s\n", path, strerror(errno));
        return 1;
    }
    fprintf(f, "P6\n%u %u\n255\n", im->w, im->h);
    size_t len = (size_t)im->w * im->h * 3;
    int bad = fwrite(im->px, 1, len, f) != len;
    bad |= fclose(f) != 0;
    if (bad)
        fprintf(stderr, "bench_image: %s: write failed\n", path);
    return bad;
}

/* ---- the passes ---------------------------------------------------------------------------- */

/* The untimed pass: rejections, output sizes, DCT scales, the pre-encode pixels (checked by
 * re-encoding them; written to o->dump when set), each image's pHash. */
static int check_pass(const opts *o, img_filter *f, const photo *ph, results *r)
{
    img_rgb tmp = {0}, placed = {0}, full = {0};
    img_limits lim;
    img_limits_default(&lim);
    cc_buf enc;
    cc_buf_init(&enc, (size_t)o->size * o->size * 12 + 65536);
    int rc = 0;
    for (size_t i = 0; i < r->n && rc == 0; i++) {
        img_filter_result res;
        if (img_filter_run(f, ph[i].bytes.data, ph[i].bytes.len, &res) != CC_OK) {
            rc = fail(ph[i].path);
            break;
        }
        if (res.reason != IMG_OK) {
            fprintf(stderr, "bench_image: %s rejected: %s (%s)\n", ph[i].path,
                    img_reason_name(res.reason), res.message);
            r->rejected[res.reason]++;
            r->n_rejected++;
            continue;
        }
        r->accepted[i] = 1;
        r->phash[i] = res.phash;
        r->out_bytes += res.out_len;
        if (!res.reencoded)
            continue;
        r->reencoded++;
        const img_rgb *dec = img_filter_decoded(f);
        unsigned m = (unsigned)((dec->w * 8 + res.src_width / 2) / res.src_width);
        r->scale[m <= 8 ? m : 8]++;
        const img_rgb *fin = img_filter_pixels(f);
        cc_buf_reset(&enc);
        if (img_encode_jpeg(fin, (int)o->quality, &enc) != CC_OK) {
            rc = fail("rebuilding the pre-encode pixels");
            break;
        }
        r->identical += enc.len == res.out_len && memcmp(enc.data, res.out, enc.len) == 0;
        if (o->dump)
            rc = write_ppm(o->dump, i, fin);
        if (rc == 0 && o->dump_full) {
            img_reason why;
            if (img_decode(ph[i].bytes.data, ph[i].bytes.len, &lim, 0, 0, &full, NULL, &why) !=
                    CC_OK ||
                img_resize_mode_apply(&full, o->mode, (uint32_t)o->size, &tmp, &placed) != CC_OK) {
                rc = fail(ph[i].path);
                break;
            }
            rc = write_ppm(o->dump_full, i, &placed);
        }
    }
    img_rgb_free(&tmp);
    img_rgb_free(&placed);
    img_rgb_free(&full);
    cc_buf_free(&enc);
    return rc;
}

/* R timed repetitions over every image. */
static int timed_pass(const opts *o, img_filter *f, const photo *ph, results *r)
{
    for (uint64_t rep = 0; rep < o->reps; rep++) {
        uint64_t st[ST_COUNT] = {0}, fmt[N_FMT][ST_COUNT] = {{0}};
        double t0 = now_s(), c0 = cpu_s();
        for (size_t i = 0; i < r->n; i++) {
            img_filter_result res;
            if (img_filter_run(f, ph[i].bytes.data, ph[i].bytes.len, &res) != CC_OK)
                return fail(ph[i].path);
            uint64_t *fs = fmt[res.src_format < N_FMT ? res.src_format : 0];
            fs[ST_PROBE] += res.ns_probe;
            fs[ST_DECODE] += res.ns_decode;
            fs[ST_CHECK] += res.ns_check;
            fs[ST_RESIZE] += res.ns_resize;
            fs[ST_ENCODE] += res.ns_encode;
            fs[ST_HASH] += res.ns_hash;
        }
        r->cpu_secs[rep] = cpu_s() - c0;
        r->secs[rep] = now_s() - t0;
        for (int k = 0; k < N_FMT; k++) {
            r->fmt_ns[k][ST_COUNT][rep] = 0;
            for (int s = 0; s < ST_COUNT; s++) {
                st[s] += fmt[k][s];
                r->fmt_ns[k][s][rep] = (double)fmt[k][s];
                r->fmt_ns[k][ST_COUNT][rep] += (double)fmt[k][s];
            }
        }
        for (int s = 0; s < ST_COUNT; s++)
            r->stage_ns[s][rep] = (double)st[s];
        fprintf(stderr, "bench_image: repetition %" PRIu64 ": %.3f s CPU, %.3f s wall\n", rep + 1,
                r->cpu_secs[rep], r->secs[rep]);
    }
    return 0;
}

/* pHash distances on the original photos (see the header). */
static int phash_pass(const opts *o, const photo *ph, results *r)
{
    char **paths = NULL;
    size_t n = 0;
    if (read_list(o->originals, &paths, &n) != 0)
        return 1;
    r->n_originals = n;
    uint64_t *h0 = calloc(n, sizeof *h0);
    int *d[PH_COUNT];
    size_t nd[PH_COUNT] = {0}, n_pairs = n * (n - 1) / 2;
    for (int k = 0; k < PH_COUNT; k++)
        d[k] = malloc((k == PH_DIFFERENT ? n_pairs + 1 : k == PH_WEB ? r->n : n) * sizeof(int));
    img_limits lim;
    img_limits_default(&lim);
    img_rgb orig = {0}, tmp = {0};
    cc_buf file, enc;
    cc_buf_init(&file, MAX_FILE);
    cc_buf_init(&enc, MAX_FILE);
    int rc = h0 ? 0 : 1;
    for (int k = 0; k < PH_COUNT; k++)
        rc |= d[k] == NULL;
    for (size_t i = 0; i < n && rc == 0; i++) {
        img_reason why;
        cc_buf_reset(&file);
        cc_buf_reset(&enc);
        if (cc_read_file(paths[i], &file) != CC_OK ||
            img_decode(file.data, file.len, &lim, PHASH_MIN_SIDE, PHASH_MIN_SIDE, &orig, NULL,
                       &why) != CC_OK) {
            rc = fail(paths[i]);
            break;
        }
        h0[i] = img_phash(&orig);
        /* (a) JPEG quality 60 */
        if (img_encode_jpeg(&orig, 60, &enc) != CC_OK ||
            img_decode(enc.data, enc.len, &lim, 0, 0, &tmp, NULL, &why) != CC_OK) {
            rc = fail("quality 60 round trip");
            break;
        }
        d[PH_Q60][nd[PH_Q60]++] = phash_distance(h0[i], img_phash(&tmp));
        /* (b) half size */
        if (img_resize(&orig, orig.w / 2 ? orig.w / 2 : 1, orig.h / 2 ? orig.h / 2 : 1, &tmp) !=
            CC_OK) {
            rc = fail("half size");
            break;
        }
        d[PH_HALF][nd[PH_HALF]++] = phash_distance(h0[i], img_phash(&tmp));
        /* (c) 5% of the area: 1 - sqrt(0.95) = 2.53% of each dimension, half a side */
        uint32_t x1 = (uint32_t)lround(orig.w * 0.01266), y1 = (uint32_t)lround(orig.h * 0.01266);
        if (crop(&orig, x1, y1, orig.w - 2 * x1, orig.h - 2 * y1, &tmp) != CC_OK) {
            rc = fail("crop");
            break;
        }
        d[PH_CROP_AREA][nd[PH_CROP_AREA]++] = phash_distance(h0[i], img_phash(&tmp));
        /* (d) 5% of each dimension: 2.5% off each side */
        uint32_t x0 = (uint32_t)lround(orig.w * 0.025), y0 = (uint32_t)lround(orig.h * 0.025);
        if (crop(&orig, x0, y0, orig.w - 2 * x0, orig.h - 2 * y0, &tmp) != CC_OK) {
            rc = fail("crop");
            break;
        }
        d[PH_CROP][nd[PH_CROP]++] = phash_distance(h0[i], img_phash(&tmp));
        if (d[PH_Q60][i] > 8 || d[PH_HALF][i] > 8 || d[PH_CROP][i] > 8)
            fprintf(stderr, "bench_image: pHash over 8 on %s (%ux%u): q60 %d, half %d, crop %d\n",
                    paths[i], orig.w, orig.h, d[PH_Q60][i], d[PH_HALF][i], d[PH_CROP][i]);
    }
    if (rc == 0) {
        /* (d) what the pipeline computed on each corpus file, against its original */
        for (size_t i = 0; i < r->n; i++)
            if (ph[i].group >= 0 && (size_t)ph[i].group < n && r->accepted[i])
                d[PH_WEB][nd[PH_WEB]++] = phash_distance(h0[ph[i].group], r->phash[i]);
        for (size_t i = 0; i < n; i++)
            for (size_t j = i + 1; j < n; j++)
                d[PH_DIFFERENT][nd[PH_DIFFERENT]++] = phash_distance(h0[i], h0[j]);
        for (int k = 0; k < PH_COUNT; k++)
            dist_of(d[k], nd[k], &r->ph[k]);
    }
    for (int k = 0; k < PH_COUNT; k++)
        free(d[k]);
    for (size_t i = 0; i < n; i++)
        free(paths[i]);
    free(paths);
    free(h0);
    img_rgb_free(&orig);
    img_rgb_free(&tmp);
    cc_buf_free(&file);
    cc_buf_free(&enc);
    return rc;
}

/* ---- output -------------------------------------------------------------------------------- */

static double mean_out(const results *r)
{
    uint64_t ok = r->n - r->n_rejected;
    return ok ? (double)r->out_bytes / (double)ok : 0;
}

static double stage_ms(const opts *o, const results *r, int s)
{
    return median(r->stage_ns[s], o->reps) / 1e6 / (double)r->n;
}

/* Median CPU ms per image of a format's stage s (ST_COUNT: all stages). */
static double fmt_ms(const opts *o, const results *r, int k, int s)
{
    return median(r->fmt_ns[k][s], o->reps) / 1e6 / (double)r->fmt_n[k];
}

static double wall_ms(const opts *o, const results *r)
{
    return median(r->secs, o->reps) * 1e3 / (double)r->n;
}

static double cpu_ms(const opts *o, const results *r)
{
    return median(r->cpu_secs, o->reps) * 1e3 / (double)r->n;
}

static double other_ms(const opts *o, const results *r)
{
    double sum = 0;
    for (int s = 0; s < ST_COUNT; s++)
        sum += stage_ms(o, r, s);
    return cpu_ms(o, r) - sum;
}

static void print_json(FILE *f, const opts *o, const results *r)
{
    fprintf(f,
            "{\n  \"n\": %zu,\n  \"bytes\": %" PRIu64 ",\n  \"reps\": %" PRIu64
            ",\n  \"quality\": %" PRIu64 ",\n  \"size\": %" PRIu64 ",\n  \"mode\": \"%s\",\n",
            r->n, r->in_bytes, o->reps, o->quality, o->size, img_resize_mode_name(o->mode));
    fprintf(f,
            "  \"pairs_per_s\": %.2f,\n  \"ms_per_image\": %.4f,\n  \"pairs_per_s_wall\": %.2f,\n"
            "  \"ms_per_image_wall\": %.4f,\n  \"cpu_seconds\": [",
            1e3 / cpu_ms(o, r), cpu_ms(o, r), 1e3 / wall_ms(o, r), wall_ms(o, r));
    for (uint64_t i = 0; i < o->reps; i++)
        fprintf(f, "%s%.5f", i ? ", " : "", r->cpu_secs[i]);
    fprintf(f, "],\n  \"wall_seconds\": [");
    for (uint64_t i = 0; i < o->reps; i++)
        fprintf(f, "%s%.5f", i ? ", " : "", r->secs[i]);
    fprintf(f, "],\n  \"stages_ms\": {");
    for (int s = 0; s < ST_COUNT; s++)
        fprintf(f, "\"%s\": %.4f, ", stage_key[s], stage_ms(o, r, s));
    fprintf(f, "\"other\": %.4f},\n  \"by_format\": {", other_ms(o, r));
    for (int k = 0, first = 1; k < N_FMT; k++) {
        if (!r->fmt_n[k])
            continue;
        fprintf(f, "%s\n    \"%s\": {\"n\": %" PRIu64 ", \"ms\": %.4f", first ? "" : ",",
                fmt_name[k], r->fmt_n[k], fmt_ms(o, r, k, ST_COUNT));
        for (int s = 0; s < ST_COUNT; s++)
            fprintf(f, ", \"%s_ms\": %.4f", stage_key[s], fmt_ms(o, r, k, s));
        fprintf(f, "}");
        first = 0;
    }
    fprintf(f, "\n  },\n  \"rejected\": %" PRIu64 ",\n  \"rejected_by_reason\": {", r->n_rejected);
    for (int k = 1, first = 1; k < IMG_R_COUNT; k++) {
        if (!r->rejected[k])
            continue;
        fprintf(f, "%s\"%s\": %" PRIu64, first ? "" : ", ", img_reason_name((img_reason)k),
                r->rejected[k]);
        first = 0;
    }
    fprintf(f,
            "},\n  \"mean_out_bytes\": %.1f,\n  \"reencoded\": %" PRIu64
            ",\n  \"pixels_identical\": %" PRIu64 ",\n  \"dct_scale\": {",
            mean_out(r), r->reencoded, r->identical);
    for (int m = 8, first = 1; m >= 1; m--) {
        if (!r->scale[m])
            continue;
        fprintf(f, "%s\"%d/8\": %" PRIu64, first ? "" : ", ", m, r->scale[m]);
        first = 0;
    }
    fprintf(f, "}");
    if (o->phash_report) {
        fprintf(f, ",\n  \"phash\": {\"originals\": %zu", r->n_originals);
        for (int k = 0; k < PH_COUNT; k++) {
            const dist *d = &r->ph[k];
            fprintf(f,
                    ",\n    \"%s\": {\"n\": %zu, \"min\": %d, \"p10\": %d, \"median\": %d, "
                    "\"p90\": %d, \"max\": %d, \"share_le8\": %.4f, \"share_ge20\": %.4f}",
                    ph_key[k], d->n, d->min, d->p10, d->median, d->p90, d->max, d->le8, d->ge20);
        }
        fprintf(f, "\n  }");
    }
    fprintf(f, "\n}\n");
}

static void print_table(const opts *o, const results *r)
{
    printf("\nclipcrawl image benchmark: %zu files (%" PRIu64 " JPEG, %" PRIu64 " PNG, %" PRIu64
           " WebP; %.1f MB), one thread\n",
           r->n, r->fmt_n[1], r->fmt_n[2], r->fmt_n[3], (double)r->in_bytes / 1e6);
    printf("img_filter_run: %s %" PRIu64 ", JPEG quality %" PRIu64 "; median of %" PRIu64
           " repetitions\n",
           img_resize_mode_name(o->mode), o->size, o->quality, o->reps);
    double cpu = cpu_ms(o, r), wall = wall_ms(o, r);
    printf("  %.1f pairs/s per core (CPU time; %.1f by wall time), %.3f CPU ms per image,\n"
           "  mean output %.0f bytes, rejected %" PRIu64 "\n",
           1e3 / cpu, 1e3 / wall, cpu, mean_out(r), r->n_rejected);
    printf("  %-30s %9s %7s\n", "stage (CPU time)", "ms/image", "share");
    for (int s = 0; s < ST_COUNT; s++)
        printf("  %-30s %9.3f %6.1f%%\n", stage_label[s], stage_ms(o, r, s),
               100 * stage_ms(o, r, s) / cpu);
    printf("  %-30s %9.3f %6.1f%%\n", "other (CPU minus stages)", other_ms(o, r),
           100 * other_ms(o, r) / cpu);
    printf("  by input format, CPU ms/image:\n  %-6s %5s %8s", "", "files", "all");
    for (int s = 0; s < ST_COUNT; s++)
        printf(" %8s", stage_key[s]);
    printf("\n");
    for (int k = 1; k < N_FMT; k++) {
        if (!r->fmt_n[k])
            continue;
        printf("  %-6s %5" PRIu64 " %8.3f", fmt_name[k], r->fmt_n[k], fmt_ms(o, r, k, ST_COUNT));
        for (int s = 0; s < ST_COUNT; s++)
            printf(" %8.3f", fmt_ms(o, r, k, s));
        printf("\n");
    }
    printf("  decode scale (decoded / full width, JPEG DCT scaling):");
    for (int m = 8; m >= 1; m--)
        if (r->scale[m])
            printf(" %d/8: %" PRIu64, m, r->scale[m]);
    printf("\n  pre-encode pixels rebuilt: %" PRIu64 " of %" PRIu64
           " re-encode to the filter's exact output bytes\n",
           r->identical, r->reencoded);
    for (int k = 1; k < IMG_R_COUNT; k++)
        if (r->rejected[k])
            printf("  rejected %s: %" PRIu64 "\n", img_reason_name((img_reason)k), r->rejected[k]);
    if (!o->phash_report) {
        printf("\n");
        return;
    }
    printf("\npHash Hamming distance to the original photo (%zu photos, decoded at >= %d px;\n"
           "nearest-rank quantiles)\n",
           r->n_originals, PHASH_MIN_SIDE);
    printf("  %-32s %5s %4s %4s %6s %4s %4s %8s %8s\n", "", "n", "min", "p10", "median", "p90",
           "max", "<= 8", ">= 20");
    for (int k = 0; k < PH_COUNT; k++) {
        const dist *d = &r->ph[k];
        printf("  %-32s %5zu %4d %4d %6d %4d %4d %7.1f%% %7.1f%%\n", ph_label[k], d->n, d->min,
               d->p10, d->median, d->p90, d->max, 100 * d->le8, 100 * d->ge20);
    }
    printf("  goals: transformed <= 8, different photos typically >= 20\n\n");
}

/* ---- main ---------------------------------------------------------------------------------- */

static void usage(void)
{
    fprintf(stderr,
            "usage: bench_image --list FILE [--reps R] [--quality Q] [--size N] [--mode M]\n"
            "                   [--dump DIR] [--dump-full DIR] [--json FILE]\n"
            "                   [--phash-report] [--originals FILE]\n");
}

static int parse_args(int argc, char **argv, opts *o, char *orig_buf, size_t orig_cap)
{
    memset(o, 0, sizeof *o);
    o->reps = 3;
    o->quality = 90;
    o->size = 256;
    o->mode = IMG_RESIZE_CENTER_CROP;
    const bench_num nums[] = {
        {"--reps", 1, MAX_REPS, &o->reps},
        {"--quality", 1, 100, &o->quality},
        {"--size", 1, 16384, &o->size},
    };
    for (int i = 1; i < argc; i += 2) {
        const char *k = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(k, "--phash-report") == 0) {
            o->phash_report = 1;
            i--;
            continue;
        }
        if (!v) {
            fprintf(stderr, "bench_image: %s needs a value\n", k);
            return -1;
        }
        const char **str = strcmp(k, "--list") == 0        ? &o->list
                           : strcmp(k, "--json") == 0      ? &o->json
                           : strcmp(k, "--dump") == 0      ? &o->dump
                           : strcmp(k, "--dump-full") == 0 ? &o->dump_full
                           : strcmp(k, "--originals") == 0 ? &o->originals
                                                           : NULL;
        if (str) {
            *str = v;
            continue;
        }
        if (strcmp(k, "--mode") == 0) {
            if (img_resize_mode_parse(v, &o->mode) != CC_OK) {
                fail("--mode");
                return -1;
            }
            continue;
        }
        int r = bench_set_num("bench_image", nums, sizeof nums / sizeof nums[0], k, v);
        if (r == 1)
            fprintf(stderr, "bench_image: unknown option %s\n", k);
        if (r != 0)
            return -1;
    }
    if (!o->list) {
        fprintf(stderr, "bench_image: --list is required\n");
        return -1;
    }
    if (o->phash_report && !o->originals) {
        /* originals.txt next to the list */
        const char *base = cc_path_base(o->list);
        int len = (int)(base - o->list);
        if (snprintf(orig_buf, orig_cap, "%.*soriginals.txt", len, o->list) >= (int)orig_cap)
            return -1;
        o->originals = orig_buf;
    }
    return 0;
}

int main(int argc, char **argv)
{
    opts o;
    char orig_buf[PATH_CAP];
    if (parse_args(argc, argv, &o, orig_buf, sizeof orig_buf) != 0) {
        usage();
        return 2;
    }
    results *r = calloc(1, sizeof *r);
    char **paths = NULL;
    photo *ph = NULL;
    img_filter *f = NULL;
    int rc = 1;
    if (!r || read_list(o.list, &paths, &r->n) != 0)
        goto out;
    ph = calloc(r->n, sizeof *ph);
    r->phash = calloc(r->n, sizeof *r->phash);
    r->accepted = calloc(r->n, 1);
    if (!ph || !r->phash || !r->accepted)
        goto out;
    for (size_t i = 0; i < r->n; i++) {
        ph[i].path = paths[i];
        ph[i].group = photo_group(paths[i]);
        cc_buf_init(&ph[i].bytes, MAX_FILE);
        if (cc_read_file(paths[i], &ph[i].bytes) != CC_OK) {
            fail(paths[i]);
            goto out;
        }
        r->in_bytes += ph[i].bytes.len;
        uint8_t fmt = img_sniff(ph[i].bytes.data, ph[i].bytes.len);
        r->fmt_n[fmt < N_FMT ? fmt : 0]++;
    }
    if ((o.dump && cc_mkdir(o.dump) != CC_OK) || (o.dump_full && cc_mkdir(o.dump_full) != CC_OK)) {
        fail("dump folder");
        goto out;
    }

    img_filter_opts fo;
    img_filter_opts_default(&fo);
    fo.size = (uint32_t)o.size;
    fo.mode = o.mode;
    fo.quality = (int)o.quality;
    fo.min_size = 0;
    fo.max_aspect = 0;
    if (img_filter_new(&fo, &f) != CC_OK) {
        fail("img_filter_new");
        goto out;
    }
    fprintf(stderr, "bench_image: %zu files, %.1f MB\n", r->n, (double)r->in_bytes / 1e6);
    if (check_pass(&o, f, ph, r) != 0 || timed_pass(&o, f, ph, r) != 0)
        goto out;
    if (o.phash_report && phash_pass(&o, ph, r) != 0)
        goto out;

    print_table(&o, r);
    if (o.json) {
        FILE *jf = fopen(o.json, "w");
        if (!jf) {
            fprintf(stderr, "bench_image: %s: %s\n", o.json, strerror(errno));
            goto out;
        }
        print_json(jf, &o, r);
        if (fclose(jf) != 0) {
            fprintf(stderr, "bench_image: %s: write failed\n", o.json);
            goto out;
        }
        printf("figures written to %s\n", o.json);
    }
    if (r->n_rejected) {
        fprintf(stderr,
                "bench_image: %" PRIu64 " images were rejected; the figures do not cover"
                " the whole corpus\n",
                r->n_rejected);
        goto out;
    }
    rc = 0;
out:
    img_filter_free(f);
    for (size_t i = 0; ph && i < r->n; i++)
        cc_buf_free(&ph[i].bytes);
    for (size_t i = 0; paths && i < r->n; i++)
        free(paths[i]);
    free(paths);
    free(ph);
    if (r) {
        free(r->phash);
        free(r->accepted);
    }
    free(r);
    return rc;
}
