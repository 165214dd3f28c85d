/* trainer/evalset.c — labelled evaluation sets (see evalset.h). */
#include "trainer/evalset.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/file.h"
#include "common/log.h"
#include "shards/shard.h"
#include "trainer/loader.h"

#define EVALSET_MAX_FILE (256u << 20) /* labels and class files */
#define EVALSET_MAX_IMAGE (64u << 20)

void evalset_free_names(char **names, int C)
{
    if (!names)
        return;
    for (int c = 0; c < C; c++)
        free(names[c]);
    free(names);
}

void evalset_free(evalset *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->n; i++)
        free(s->files[i]);
    free(s->files);
    free(s->labels);
    evalset_free_names(s->classes, s->C);
    free(s);
}

/* Reads path whole, NUL-terminated, into b. */
static cc_status read_text(const char *path, cc_buf *b)
{
    cc_buf_init(b, EVALSET_MAX_FILE);
    cc_status st = cc_read_file(path, b);
    if (st == CC_OK)
        st = cc_buf_append(b, "", 1);
    if (st != CC_OK)
        cc_buf_free(b);
    return st;
}

/* Appends s to a growing string array. */
static cc_status push_name(char ***v, int *n, int *cap, const char *s, size_t len)
{
    CC_CHECK(*n < EVALSET_MAX_CLASSES, CC_E_LIMIT, "more than %d classes", EVALSET_MAX_CLASSES);
    if (*n == *cap) {
        int nc = *cap ? 2 * *cap : 64;
        char **nv = realloc(*v, (size_t)nc * sizeof *nv);
        CC_CHECK(nv, CC_E_NOMEM, "out of memory");
        *v = nv;
        *cap = nc;
    }
    char *d = strndup(s, len);
    CC_CHECK(d, CC_E_NOMEM, "out of memory");
    (*v)[(*n)++] = d;
    return CC_OK;
}

static int find_name(char *const *names, int C, const char *s, size_t len)
{
    for (int c = 0; c < C; c++)
        if (strlen(names[c]) == len && !memcmp(names[c], s, len))
            return c;
    return -1;
}

cc_status evalset_read_names(const char *path, char ***names, int *C)
{
    cc_buf b;
    CC_TRY(read_text(path, &b));
    char **v = NULL;
    int n = 0, cap = 0, line = 0;
    cc_status st = CC_OK;
    for (char *p = (char *)b.data; st == CC_OK && *p;) {
        char *e = strchr(p, '\n');
        if (!e)
            e = p + strlen(p);
        line++;
        char *s = p, *t = e;
        p = *e ? e + 1 : e;
        while (s < t && isspace((unsigned char)*s))
            s++;
        while (t > s && isspace((unsigned char)t[-1]))
            t--;
        if (s == t || *s == '#')
            continue;
        if (memchr(s, '\t', (size_t)(t - s)))
            st = cc_fail(CC_E_FORMAT, "%s:%d: a class name may not hold a tab", path, line);
        else if (find_name(v, n, s, (size_t)(t - s)) >= 0)
            st = cc_fail(CC_E_FORMAT, "%s:%d: class '%.*s' given twice", path, line, (int)(t - s),
                         s);
        else
            st = push_name(&v, &n, &cap, s, (size_t)(t - s));
    }
    if (st == CC_OK && n == 0)
        st = cc_fail(CC_E_FORMAT, "%s: no class name in it", path);
    cc_buf_free(&b);
    if (st != CC_OK) {
        evalset_free_names(v, n);
        return st;
    }
    *names = v;
    *C = n;
    return CC_OK;
}

/* Splits line (NUL-terminated, no newline) at tabs into at most max fields. */
static int split_tabs(char *line, char **f, int max)
{
    int n = 0;
    for (char *p = line;; p++) {
        if (n < max)
            f[n] = p;
        n++;
        p = strchr(p, '\t');
        if (!p)
            break;
        *p = 0;
    }
    return n;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

#define EVALSET_MAX_COLS 256

cc_status evalset_load(const char *dir, const char *labels_path, const char *file_column,
                       const char *label_column, const char *classes_path, evalset **out)
{
    evalset *s = calloc(1, sizeof *s);
    CC_CHECK(s, CC_E_NOMEM, "out of memory");
    cc_buf b;
    cc_status st = read_text(labels_path, &b);
    if (st != CC_OK) {
        free(s);
        return st;
    }
    int fcol = -1, lcol = -1, ncol = 0, line = 0, ccap = 0;
    size_t cap = 0;
    char **rowlab = NULL; /* label text per image until classes are known */
    if (classes_path)
        st = evalset_read_names(classes_path, &s->classes, &s->C);
    for (char *p = (char *)b.data; st == CC_OK && *p;) {
        char *e = strchr(p, '\n');
        if (!e)
            e = p + strlen(p);
        line++;
        char *next = *e ? e + 1 : e;
        *e = 0;
        if (e > p && e[-1] == '\r')
            e[-1] = 0;
        char *l = p;
        p = next;
        if (*l == '#' || (*l == 0 && ncol == 0))
            continue;
        char *f[EVALSET_MAX_COLS];
        int nf = split_tabs(l, f, EVALSET_MAX_COLS);
        if (ncol == 0) { /* the header */
            ncol = nf;
            for (int i = 0; i < nf && i < EVALSET_MAX_COLS; i++) {
                if (!strcmp(f[i], file_column))
                    fcol = i;
                if (!strcmp(f[i], label_column))
                    lcol = i;
            }
            if (fcol < 0 || lcol < 0)
                st =
                    cc_fail(CC_E_FORMAT, "%s:%d: no column '%s' in the header (columns: %s%s%s...)",
                            labels_path, line, fcol < 0 ? file_column : label_column, f[0],
                            nf > 1 ? ", " : "", nf > 1 ? f[1] : "");
            continue;
        }
        if (*l == 0)
            continue;
        if (nf <= fcol || nf <= lcol) {
            st = cc_fail(CC_E_FORMAT, "%s:%d: %d fields, the header has %d", labels_path, line, nf,
                         ncol);
            break;
        }
        if (s->n == cap) {
            size_t nc = cap ? 2 * cap : 256;
            char **nfl = realloc(s->files, nc * sizeof *nfl);
            if (nfl)
                s->files = nfl;
            char **nrl = realloc(rowlab, nc * sizeof *nrl);
            if (nrl)
                rowlab = nrl;
            if (!nfl || !nrl) {
                st = cc_fail(CC_E_NOMEM, "out of memory");
                break;
            }
            cap = nc;
        }
        if (s->n >= EVALSET_MAX_IMAGES) {
            st = cc_fail(CC_E_LIMIT, "%s: more than %d images", labels_path, EVALSET_MAX_IMAGES);
            break;
        }
        char path[8192];
        if (f[fcol][0] == '/')
            st = snprintf(path, sizeof path, "%s", f[fcol]) < (int)sizeof path
                     ? CC_OK
                     : cc_fail(CC_E_LIMIT, "%s:%d: path too long", labels_path, line);
        else
            st = cc_path_join(path, sizeof path, dir, f[fcol]);
        if (st != CC_OK)
            break;
        s->files[s->n] = strdup(path);
        rowlab[s->n] = f[lcol]; /* points into b */
        if (!s->files[s->n]) {
            st = cc_fail(CC_E_NOMEM, "out of memory");
            break;
        }
        s->n++;
    }
    if (st == CC_OK && ncol == 0)
        st = cc_fail(CC_E_FORMAT, "%s: no header line", labels_path);
    if (st == CC_OK && !classes_path) { /* the sorted distinct labels */
        for (size_t i = 0; st == CC_OK && i < s->n; i++)
            if (find_name(s->classes, s->C, rowlab[i], strlen(rowlab[i])) < 0)
                st = push_name(&s->classes, &s->C, &ccap, rowlab[i], strlen(rowlab[i]));
        if (st == CC_OK && s->C)
            qsort(s->classes, (size_t)s->C, sizeof *s->classes, cmp_str);
    }
    if (st == CC_OK && s->n && !(s->labels = malloc(s->n * sizeof *s->labels)))
        st = cc_fail(CC_E_NOMEM, "out of memory");
    size_t kept = 0;
    for (size_t i = 0; st == CC_OK && i < s->n; i++) {
        int c = find_name(s->classes, s->C, rowlab[i], strlen(rowlab[i]));
        if (c < 0) {
            s->unlabelled++;
            free(s->files[i]);
            continue;
        }
        s->files[kept] = s->files[i];
        s->labels[kept++] = c;
    }
    if (st == CC_OK) {
        s->n = kept;
        if (!kept)
            st = cc_fail(CC_E_INVAL, "%s: no image with a label among the classes", labels_path);
    }
    free(rowlab);
    cc_buf_free(&b);
    if (st != CC_OK) {
        evalset_free(s);
        return st;
    }
    *out = s;
    return CC_OK;
}

/* Images gathered into batches for the model; features and labels grow as batches run. */
typedef struct img_batch {
    clip_model *m;
    int B, S, E, n;
    float *images; /* (B,3,S,S) */
    int lab[1024]; /* labels of the batch being filled; B <= 1024 is checked */
    float *feat; /* (len,E) */
    int *labels; /* (len) */
    size_t len, cap;
    uint64_t bad;
} img_batch;

static cc_status batch_init(img_batch *b, clip_model *m)
{
    const clip_config *cfg = clip_model_config(m);
    *b = (img_batch){.m = m, .S = cfg->image_size, .E = cfg->embed_dim};
    b->B = clip_model_max_batch(m) < 1024 ? clip_model_max_batch(m) : 1024;
    b->images = malloc((size_t)b->B * 3 * (size_t)b->S * (size_t)b->S * sizeof(float));
    CC_CHECK(b->images, CC_E_NOMEM, "out of memory");
    return CC_OK;
}

static void batch_done(img_batch *b)
{
    free(b->images);
    free(b->feat);
    free(b->labels);
}

static cc_status batch_run(img_batch *b)
{
    if (!b->n)
        return CC_OK;
    if (b->len + (size_t)b->n > b->cap) {
        size_t nc = b->cap ? 2 * b->cap : 1024;
        float *nf = realloc(b->feat, nc * (size_t)b->E * sizeof *nf);
        if (nf)
            b->feat = nf;
        int *nl = realloc(b->labels, nc * sizeof *nl);
        if (nl)
            b->labels = nl;
        CC_CHECK(nf && nl, CC_E_NOMEM, "out of memory");
        b->cap = nc;
    }
    clip_model_encode_images(b->m, b->images, b->n, b->feat + b->len * (size_t)b->E);
    memcpy(b->labels + b->len, b->lab, (size_t)b->n * sizeof *b->lab);
    b->len += (size_t)b->n;
    b->n = 0;
    return CC_OK;
}

/* Adds one image (encoded bytes) with its label; a failed decode is counted, not an error. */
static cc_status batch_add(img_batch *b, const void *bytes, size_t len, int label, const char *what)
{
    float *im = b->images + (size_t)b->n * 3 * (size_t)b->S * (size_t)b->S;
    if (loader_image(bytes, len, (uint32_t)b->S, 0, 1, 1, 0, 0, 0, im) != CC_OK) {
        if (b->bad++ < 5)
            cc_log_warn("%s skipped: %s", what, cc_errmsg());
        return CC_OK;
    }
    b->lab[b->n] = label;
    return ++b->n == b->B ? batch_run(b) : CC_OK;
}

/* Hands the batch's results to the caller (success) or frees them. */
static cc_status batch_finish(img_batch *b, cc_status st, const char *src, float **feat,
                              int **labels, size_t *n, uint64_t *skipped)
{
    if (st == CC_OK)
        st = batch_run(b);
    if (st == CC_OK && b->len == 0)
        st = cc_fail(CC_E_INVAL, "%s: no image could be evaluated (%llu skipped)", src,
                     (unsigned long long)b->bad);
    if (st == CC_OK) {
        *feat = b->feat;
        *labels = b->labels;
        *n = b->len;
        if (skipped)
            *skipped = b->bad;
        b->feat = NULL;
        b->labels = NULL;
    }
    batch_done(b);
    return st;
}

cc_status evalset_embed(clip_model *m, const evalset *s, float **feat, int **labels, size_t *n,
                        uint64_t *skipped)
{
    img_batch b;
    CC_TRY(batch_init(&b, m));
    cc_buf img;
    cc_buf_init(&img, EVALSET_MAX_IMAGE);
    cc_status st = CC_OK;
    for (size_t i = 0; st == CC_OK && i < s->n; i++) {
        cc_buf_reset(&img);
        if (cc_read_file(s->files[i], &img) != CC_OK) {
            if (b.bad++ < 5)
                cc_log_warn("%s skipped: %s", s->files[i], cc_errmsg());
            continue;
        }
        st = batch_add(&b, img.data, img.len, s->labels[i], s->files[i]);
    }
    cc_buf_free(&img);
    return batch_finish(&b, st, "evaluation set", feat, labels, n, skipped);
}

/* 1 if name occurs in text as a whole word or phrase (ASCII case-insensitive). */
static int has_phrase(const char *text, const char *name)
{
    size_t k = strlen(name);
    if (!k)
        return 0;
    for (const char *p = text; (p = strcasestr(p, name)) != NULL; p++) {
        int before = p > text && isalnum((unsigned char)p[-1]);
        int after = isalnum((unsigned char)p[k]);
        if (!before && !after)
            return 1;
    }
    return 0;
}

int evalset_caption_class(const char *caption, const char *const *names, int C)
{
    int found = -1;
    for (int c = 0; c < C; c++)
        if (has_phrase(caption, names[c])) {
            if (found >= 0)
                return -2;
            found = c;
        }
    return found;
}

/* The walk of evalset_embed_manifest: one record, labelled by its caption, into the batch. */
typedef struct caption_walk {
    img_batch *b;
    const char *const *names;
    int C;
    size_t max_n;
    uint64_t nolab;
    cc_status st;
} caption_walk;

static int caption_record(void *ctx, const shard_manifest_entry *e, uint64_t idx,
                          const shard_record *rec)
{
    caption_walk *w = ctx;
    int c = evalset_caption_class(rec->caption, w->names, w->C);
    if (c < 0) {
        w->nolab++;
        return 0;
    }
    char what[300];
    snprintf(what, sizeof what, "%s record %llu", e->name, (unsigned long long)idx);
    if ((w->st = batch_add(w->b, rec->image, rec->image_len, c, what)) != CC_OK)
        return 1;
    return w->max_n && w->b->len + (size_t)w->b->n >= w->max_n;
}

cc_status evalset_embed_manifest(clip_model *m, const char *manifest, const char *const *names,
                                 int C, size_t max_n, float **feat, int **labels, size_t *n,
                                 uint64_t *unlabelled, uint64_t *skipped)
{
    shard_manifest *man = NULL;
    CC_TRY(shard_manifest_load(manifest, &man));
    img_batch b;
    cc_status st = batch_init(&b, m);
    caption_walk w = {.b = &b, .names = names, .C = C, .max_n = max_n, .st = CC_OK};
    if (st == CC_OK)
        st = shard_manifest_walk(man, caption_record, &w, NULL);
    if (st == CC_OK)
        st = w.st;
    shard_manifest_free(man);
    if (unlabelled)
        *unlabelled = w.nolab;
    return batch_finish(&b, st, manifest, feat, labels, n, skipped);
}
