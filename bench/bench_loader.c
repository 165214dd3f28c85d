/* bench/bench_loader.c — the trainer's data loader: images/s delivered by trainer/loader.h.
 *
 * usage: bench_loader [--data DIR] [--work DIR] [--records N] [--side PX] [--batch B]
 *                     [--batches K] [--threads T] [--reps R] [--train-ips X] [--json FILE]
 *
 * --data DIR reads an existing shard folder (or manifest). Without it, a run of --records N
 * (default 2000) synthetic records is written under --work DIR (default: a fresh mkdtemp folder in
 * /tmp, removed afterwards; a --work folder is kept): --side x --side JPEGs (default 256, the
 * crawler's stored size, filters/imgfilter.h), quality 90, textured (gradients + noise) so that
 * decoding costs what a photo costs, and short captions.
 *
 * For S = 64 and S = 224 and for 1..T worker threads (default T = 2), with augmentation on
 * (random resized crop, scale 0.9..1.0) and a byte tokenizer (context 77), it times --batches K
 * (default 30) batches of --batch B (default 64) after 2 warm-up batches, consuming them at once,
 * in a fresh loader each of --reps R (default 3) times; the medians of: images/s delivered, and the
 * workers' own rate (samples per worker-second), and the share of the time loader_next waited
 * (near 100% here: the benchmark consumes nothing). As a reference it also times a plain full-size
 * img_decode of the same records (1 thread). With --train-ips X (the trainer's consumption in
 * images/s, e.g. from bench_train), it says how many loader threads keep up. Prints a table and,
 * with --json, the same figures as JSON. Exit 0, or 1 on error.
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
#include "common/log.h"
#include "common/rng.h"
#include "filters/image.h"
#include "shards/shard.h"
#include "trainer/loader.h"

#define TOOL "bench_loader"
#define MAX_THREADS 16

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static cc_status tok_bytes(void *ctx, const char *text, size_t len, int32_t *out, uint32_t n)
{
    (void)ctx;
    if (len == 0)
        return cc_fail(CC_E_FORMAT, "empty caption");
    memset(out, 0, n * sizeof *out);
    uint32_t k = 0;
    out[k++] = 49406;
    for (size_t i = 0; i < len && k < n - 1; i++)
        out[k++] = (unsigned char)text[i];
    out[k] = 49407;
    return CC_OK;
}

/* Writes n synthetic records of side x side JPEGs into dir. */
static cc_status make_run(const char *dir, uint64_t n, uint32_t side)
{
    shard_writer_opts wo;
    shard_writer_opts_default(&wo);
    shard_writer *w;
    CC_TRY(shard_writer_open(dir, &wo, &w));
    img_rgb im = {0};
    cc_buf jpg;
    cc_buf_init(&jpg, 64u << 20);
    cc_rng rng;
    cc_rng_seed(&rng, 7);
    cc_status st = img_rgb_alloc(&im, side, side, 0);
    for (uint64_t i = 0; i < n && st == CC_OK; i++) {
        /* Smooth colour gradients with a random phase plus noise: photo-like JPEG sizes. */
        double fx = 0.01 + 0.05 * cc_rng_float(&rng), fy = 0.01 + 0.05 * cc_rng_float(&rng);
        double ph = 6.28 * cc_rng_float(&rng);
        for (uint32_t y = 0; y < side; y++)
            for (uint32_t x = 0; x < side; x++) {
                uint8_t *p = im.px + ((size_t)y * side + x) * 3;
                double v = sin(x * fx + ph) * cos(y * fy - ph);
                for (int c = 0; c < 3; c++) {
                    double u = 128 +
                               90 * v *
                                   (c == 0   ? 1
                                    : c == 1 ? -0.5
                                             : 0.7) +
                               (double)(cc_rng_u64(&rng) % 41) - 20;
                    p[c] = (uint8_t)(u < 0 ? 0 : u > 255 ? 255 : u);
                }
            }
        cc_buf_reset(&jpg);
        st = img_encode_jpeg(&im, 90, &jpg);
        if (st != CC_OK)
            break;
        char cap[96], url[96];
        snprintf(cap, sizeof cap, "a synthetic photo number %" PRIu64 " of a textured pattern", i);
        snprintf(url, sizeof url, "https://bench.example/%" PRIu64 ".jpg", i);
        shard_record r;
        memset(&r, 0, sizeof r);
        st = shard_pair_uid(url, cap, r.uid);
        if (st != CC_OK)
            break;
        r.caption = cap;
        r.url = url;
        r.page_url = "https://bench.example/";
        r.license = "";
        r.query_id = SHARD_NO_QUERY;
        r.image = jpg.data;
        r.image_len = jpg.len;
        r.image_format = SHARD_IMG_JPEG;
        r.width = r.orig_width = side;
        r.height = r.orig_height = side;
        st = shard_writer_add(w, &r);
    }
    img_rgb_free(&im);
    cc_buf_free(&jpg);
    cc_status st2 = shard_writer_close(w, 1);
    return st != CC_OK ? st : st2;
}

/* Full-size decode of every record, one thread: the cost the DCT scaling avoids. */
static cc_status decode_rate(const char *data, double *ips)
{
    shard_manifest *m;
    CC_TRY(shard_manifest_load(data, &m));
    img_limits lim;
    img_limits_default(&lim);
    img_rgb im = {0};
    cc_status st = CC_OK;
    uint64_t done = 0;
    double t = 0;
    for (size_t s = 0; s < m->n && st == CC_OK; s++) {
        char path[4200];
        shard_reader *r = NULL;
        shard_view *v = NULL;
        st = shard_manifest_shard_path(m, s, path, sizeof path);
        if (st == CC_OK)
            st = shard_reader_open(path, &m->entries[s], &r);
        if (st == CC_OK)
            st = shard_view_open(r, &v);
        for (uint64_t i = 0; st == CC_OK && i < m->entries[s].count; i++) {
            shard_record rec;
            img_reason why;
            st = shard_view_get(v, i, &rec);
            double t0 = now_s();
            if (st == CC_OK)
                st = img_decode(rec.image, rec.image_len, &lim, 0, 0, &im, NULL, &why);
            t += now_s() - t0;
            done++;
        }
        shard_view_close(v);
        shard_reader_close(r);
    }
    img_rgb_free(&im);
    shard_manifest_free(m);
    *ips = t > 0 ? (double)done / t : 0;
    return st;
}

typedef struct result {
    uint32_t S;
    int threads;
    double ips, worker_ips, wait_frac;
} result;

static cc_status measure(const char *data, uint32_t S, int threads, uint64_t batch,
                         uint64_t batches, result *res)
{
    loader_opts o;
    loader_opts_default(&o);
    o.manifest = data;
    o.image_size = S;
    o.context = 77;
    o.batch = (uint32_t)batch;
    o.seed = 1;
    o.threads = threads;
    o.prefetch = 4;
    o.augment = 1;
    o.tokenize = tok_bytes;
    loader *l;
    CC_TRY(loader_new(&o, &l));
    const loader_batch *b;
    cc_status st = CC_OK;
    for (int i = 0; i < 2 && st == CC_OK; i++)
        st = loader_next(l, &b);
    loader_stats s0, s1;
    loader_get_stats(l, &s0);
    double t0 = now_s();
    for (uint64_t i = 0; i < batches && st == CC_OK; i++)
        st = loader_next(l, &b);
    double dt = now_s() - t0;
    loader_get_stats(l, &s1);
    loader_free(l);
    CC_TRY(st);
    res->S = S;
    res->threads = threads;
    res->ips = (double)(batches * batch) / dt;
    double work = s1.work_s - s0.work_s;
    res->worker_ips = work > 0 ? (double)(s1.samples - s0.samples) / work : 0;
    res->wait_frac = (s1.wait_s - s0.wait_s) / dt;
    return CC_OK;
}

int main(int argc, char **argv)
{
    const char *data = NULL, *work = NULL, *json = NULL;
    uint64_t records = 2000, side = 256, batch = 64, batches = 30, threads = 2, train_ips = 0;
    uint64_t reps = 3;
    const bench_num nums[] = {
        {"--records", 64, 10000000, &records},
        {"--side", 16, 4096, &side},
        {"--batch", 1, 4096, &batch},
        {"--batches", 1, 100000, &batches},
        {"--threads", 1, MAX_THREADS, &threads},
        {"--train-ips", 0, 10000000, &train_ips},
        {"--reps", 1, MAX_REPS, &reps},
    };
    for (int i = 1; i < argc; i++) {
        if (i + 1 >= argc) {
            fprintf(stderr, "%s: %s needs a value\n", TOOL, argv[i]);
            return 1;
        }
        const char *k = argv[i], *v = argv[++i];
        int r = bench_set_num(TOOL, nums, sizeof nums / sizeof *nums, k, v);
        if (r < 0)
            return 1;
        if (r == 0)
            continue;
        if (!strcmp(k, "--data"))
            data = v;
        else if (!strcmp(k, "--work"))
            work = v;
        else if (!strcmp(k, "--json"))
            json = v;
        else {
            fprintf(stderr,
                    "usage: %s [--data DIR] [--work DIR] [--records N] [--side PX] [--batch B] "
                    "[--batches K] [--threads T] [--reps R] [--train-ips X] [--json FILE]\n",
                    TOOL);
            return 1;
        }
    }
    cc_log_set_level(CC_LOG_WARN);
    char tmp[] = "/tmp/bench-loader-XXXXXX";
    char made[4200] = "";
    if (!data) {
        if (work) {
            snprintf(made, sizeof made, "%s", work);
        } else {
            if (!mkdtemp(tmp)) {
                fprintf(stderr, "%s: mkdtemp: %s\n", TOOL, strerror(errno));
                return 1;
            }
            snprintf(made, sizeof made, "%s", tmp);
        }
        fprintf(stderr, "%s: writing %" PRIu64 " records of %" PRIu64 "x%" PRIu64 " JPEG in %s\n",
                TOOL, records, side, side, made);
        if (make_run(made, records, (uint32_t)side) != CC_OK) {
            fprintf(stderr, "%s: %s\n", TOOL, cc_errmsg());
            return 1;
        }
        data = made;
    }
    int rc = 0;
    double dec_ips = 0;
    result res[2 * MAX_THREADS];
    size_t nres = 0;
    if (decode_rate(data, &dec_ips) != CC_OK) {
        fprintf(stderr, "%s: decode: %s\n", TOOL, cc_errmsg());
        rc = 1;
    }
    const uint32_t sizes[2] = {64, 224};
    for (int si = 0; si < 2 && rc == 0; si++)
        for (int t = 1; t <= (int)threads && rc == 0; t++) {
            double ips[MAX_REPS], wips[MAX_REPS], wait[MAX_REPS];
            for (uint64_t r = 0; r < reps && rc == 0; r++) {
                if (measure(data, sizes[si], t, batch, batches, &res[nres]) != CC_OK) {
                    fprintf(stderr, "%s: loader: %s\n", TOOL, cc_errmsg());
                    rc = 1;
                }
                ips[r] = res[nres].ips;
                wips[r] = res[nres].worker_ips;
                wait[r] = res[nres].wait_frac;
            }
            if (rc == 0) {
                res[nres].ips = median(ips, reps);
                res[nres].worker_ips = median(wips, reps);
                res[nres].wait_frac = median(wait, reps);
                nres++;
            }
        }
    if (rc == 0) {
        printf("loader (augment on, batch %" PRIu64 ", %" PRIu64
               " batches, byte tokenizer, median of %" PRIu64 ")\n",
               batch, batches, reps);
        printf("full-size JPEG decode alone, 1 thread: %.0f images/s\n", dec_ips);
        printf("%6s %8s %12s %18s %10s\n", "S", "threads", "images/s", "per worker-s", "wait");
        for (size_t i = 0; i < nres; i++)
            printf("%6u %8d %12.0f %18.0f %9.0f%%\n", res[i].S, res[i].threads, res[i].ips,
                   res[i].worker_ips, 100 * res[i].wait_frac);
        if (train_ips)
            for (size_t i = 0; i < nres; i++)
                if (res[i].threads == 1)
                    printf("S=%u: the trainer's %" PRIu64 " images/s needs %.0f loader thread(s)\n",
                           res[i].S, train_ips, ceil((double)train_ips / res[i].worker_ips));
    }
    if (rc == 0 && json) {
        FILE *f = fopen(json, "w");
        if (!f) {
            fprintf(stderr, "%s: %s: %s\n", TOOL, json, strerror(errno));
            rc = 1;
        } else {
            fprintf(f,
                    "{\"batch\": %" PRIu64 ", \"batches\": %" PRIu64 ", \"decode_full_ips\": %.1f",
                    batch, batches, dec_ips);
            fprintf(f, ", \"train_ips\": %" PRIu64 ", \"loader\": [", train_ips);
            for (size_t i = 0; i < nres; i++)
                fprintf(f,
                        "%s{\"S\": %u, \"threads\": %d, \"ips\": %.1f, \"worker_ips\": %.1f, "
                        "\"wait_frac\": %.3f}",
                        i ? ", " : "", res[i].S, res[i].threads, res[i].ips, res[i].worker_ips,
                        res[i].wait_frac);
            fprintf(f, "]}\n");
            if (fclose(f) != 0)
                rc = 1;
        }
    }
    if (made[0] && !work) {
        char cmd[4300];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", made);
        if (system(cmd) != 0)
            rc = 1;
    }
    return rc;
}
