/* trainer/ckpt.c — atomic training checkpoints (see ckpt.h). */
#include "trainer/ckpt.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <xxhash.h>

#include "common/buf.h"
#include "common/file.h"

#define CKPT_MAGIC "CCKP"
#define CKPT_VERSION 1
#define CKPT_CFG_INTS 11

static void put_f32(uint8_t *p, float f)
{
    uint32_t u;
    memcpy(&u, &f, 4);
    cc_store_u32(p, u);
}

static float get_f32(const uint8_t *p)
{
    uint32_t u = cc_load_u32(p);
    float f;
    memcpy(&f, &u, 4);
    return f;
}

static void cfg_ints(clip_config *c, int *v[CKPT_CFG_INTS])
{
    int *p[CKPT_CFG_INTS] = {&c->image_size,   &c->patch,      &c->vision_width, &c->vision_layers,
                             &c->vision_heads, &c->context,    &c->vocab,        &c->text_width,
                             &c->text_layers,  &c->text_heads, &c->embed_dim};
    memcpy(v, p, sizeof p);
}

/* Header layout: 8 bytes magic/version/size, then name[32], 11 × i32 config, 8 × u64
 * (step, seed, loader_epoch, loader_batch, adam_steps, total_steps, warmup, tokenizer_hash),
 * u64 n, u32 batch, 4 × f32 (lr, min_lr, weight_decay, clip_norm). */
static void encode_header(const ckpt_meta *m, uint8_t h[CKPT_HEADER_SIZE])
{
    memset(h, 0, CKPT_HEADER_SIZE);
    memcpy(h, CKPT_MAGIC, 4);
    cc_store_u16(h + 4, CKPT_VERSION);
    cc_store_u16(h + 6, CKPT_HEADER_SIZE);
    uint8_t *p = h + 8;
    memcpy(p, m->cfg.name, sizeof m->cfg.name);
    p[sizeof m->cfg.name - 1] = 0;
    p += 32;
    clip_config c = m->cfg;
    int *v[CKPT_CFG_INTS];
    cfg_ints(&c, v);
    for (int i = 0; i < CKPT_CFG_INTS; i++, p += 4)
        cc_store_u32(p, (uint32_t)*v[i]);
    const uint64_t u[8] = {m->step,       m->seed,        m->loader_epoch, m->loader_batch,
                           m->adam_steps, m->total_steps, m->warmup,       m->tokenizer_hash};
    for (int i = 0; i < 8; i++, p += 8)
        cc_store_u64(p, u[i]);
    cc_store_u64(p, m->n);
    p += 8;
    cc_store_u32(p, m->batch);
    p += 4;
    const float f[4] = {m->lr, m->min_lr, m->weight_decay, m->clip_norm};
    for (int i = 0; i < 4; i++, p += 4)
        put_f32(p, f[i]);
}

static void decode_header(const uint8_t h[CKPT_HEADER_SIZE], ckpt_meta *m)
{
    memset(m, 0, sizeof *m);
    const uint8_t *p = h + 8;
    memcpy(m->cfg.name, p, sizeof m->cfg.name);
    m->cfg.name[sizeof m->cfg.name - 1] = 0;
    p += 32;
    int *v[CKPT_CFG_INTS];
    cfg_ints(&m->cfg, v);
    for (int i = 0; i < CKPT_CFG_INTS; i++, p += 4)
        *v[i] = (int)cc_load_u32(p);
    uint64_t *u[8] = {&m->step,       &m->seed,        &m->loader_epoch, &m->loader_batch,
                      &m->adam_steps, &m->total_steps, &m->warmup,       &m->tokenizer_hash};
    for (int i = 0; i < 8; i++, p += 8)
        *u[i] = cc_load_u64(p);
    m->n = cc_load_u64(p);
    p += 8;
    m->batch = cc_load_u32(p);
    p += 4;
    float *f[4] = {&m->lr, &m->min_lr, &m->weight_decay, &m->clip_norm};
    for (int i = 0; i < 4; i++, p += 4)
        *f[i] = get_f32(p);
}

/* Floats go out little-endian; this build runs on little-endian hosts only (checked below). */
static cc_status put_floats(cc_file_out *fo, const float *a, size_t n)
{
    return cc_file_out_put(fo, a, n * sizeof(float));
}

cc_status ckpt_save(const char *path, const ckpt_meta *meta, const float *params, const float *m,
                    const float *v)
{
    _Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "checkpoints assume little-endian");
    uint8_t h[CKPT_HEADER_SIZE];
    encode_header(meta, h);
    cc_file_out fo;
    CC_TRY(cc_file_out_open(&fo, path));
    cc_status st = cc_file_out_put(&fo, h, sizeof h);
    if (st == CC_OK)
        st = put_floats(&fo, params, meta->n);
    if (st == CC_OK)
        st = put_floats(&fo, m, meta->n);
    if (st == CC_OK)
        st = put_floats(&fo, v, meta->n);
    if (st != CC_OK) {
        cc_file_out_abort(&fo);
        return st;
    }
    return cc_file_out_commit(&fo);
}

static cc_status open_checked(const char *path, ckpt_meta *meta, FILE **out)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return cc_fail(errno == ENOENT ? CC_E_NOTFOUND : CC_E_IO, "%s: %s", path, strerror(errno));
    uint8_t h[CKPT_HEADER_SIZE];
    size_t got = fread(h, 1, sizeof h, f);
    size_t hs;
    cc_status st = cc_file_check_header(path, h, got, CKPT_MAGIC, "checkpoint", CKPT_VERSION,
                                        CKPT_HEADER_SIZE, &hs);
    if (st == CC_OK && hs != CKPT_HEADER_SIZE)
        st = cc_fail(CC_E_FORMAT, "%s: header size %zu, expected %d", path, hs, CKPT_HEADER_SIZE);
    if (st == CC_OK) {
        decode_header(h, meta);
        st = clip_config_check(&meta->cfg);
        if (st != CC_OK)
            st = cc_fail(CC_E_FORMAT, "%s: bad model configuration: %s", path, cc_errmsg());
    }
    if (st == CC_OK) {
        size_t want = clip_config_num_params(&meta->cfg);
        if (meta->n != want)
            st = cc_fail(CC_E_FORMAT, "%s: %" PRIu64 " parameters, its configuration has %zu", path,
                         meta->n, want);
    }
    if (st == CC_OK) {
        /* header + 3 arrays + trailer */
        uint64_t size = CKPT_HEADER_SIZE + 12 * meta->n + 8;
        if (fseeko(f, 0, SEEK_END) != 0)
            st = cc_fail(CC_E_IO, "%s: %s", path, strerror(errno));
        else if ((uint64_t)ftello(f) != size)
            st = cc_fail(CC_E_FORMAT,
                         "%s: %lld bytes, a checkpoint of %" PRIu64 " parameters has %" PRIu64
                         " (truncated or damaged; use an older one)",
                         path, (long long)ftello(f), meta->n, size);
        else if (fseeko(f, CKPT_HEADER_SIZE, SEEK_SET) != 0)
            st = cc_fail(CC_E_IO, "%s: %s", path, strerror(errno));
    }
    if (st != CC_OK) {
        fclose(f);
        return st;
    }
    *out = f;
    return CC_OK;
}

cc_status ckpt_load_meta(const char *path, ckpt_meta *meta)
{
    FILE *f;
    CC_TRY(open_checked(path, meta, &f));
    fclose(f);
    return CC_OK;
}

/* Reads n floats into dst (or skips them when dst is NULL), hashing them. */
static cc_status read_floats(FILE *f, const char *path, float *dst, size_t n, XXH3_state_t *xs)
{
    float chunk[16384];
    for (size_t done = 0; done < n;) {
        size_t k = n - done < 16384 ? n - done : 16384;
        float *p = dst ? dst + done : chunk;
        if (fread(p, sizeof(float), k, f) != k)
            return cc_fail(CC_E_IO, "%s: short read", path);
        XXH3_64bits_update(xs, p, k * sizeof(float));
        done += k;
    }
    return CC_OK;
}

cc_status ckpt_load(const char *path, ckpt_meta *meta, float *params, float *m, float *v, size_t n)
{
    FILE *f;
    CC_TRY(open_checked(path, meta, &f));
    cc_status st = CC_OK;
    XXH3_state_t *xs = XXH3_createState();
    if (!xs)
        st = cc_fail(CC_E_NOMEM, "out of memory");
    if (st == CC_OK && meta->n != n)
        st = cc_fail(CC_E_INVAL, "%s: %" PRIu64 " parameters, the model has %zu", path, meta->n, n);
    if (st == CC_OK) {
        uint8_t h[CKPT_HEADER_SIZE];
        XXH3_64bits_reset(xs);
        if (fseeko(f, 0, SEEK_SET) != 0 || fread(h, 1, sizeof h, f) != sizeof h)
            st = cc_fail(CC_E_IO, "%s: short read", path);
        else
            XXH3_64bits_update(xs, h, sizeof h);
    }
    if (st == CC_OK)
        st = read_floats(f, path, params, n, xs);
    if (st == CC_OK)
        st = read_floats(f, path, m, n, xs);
    if (st == CC_OK)
        st = read_floats(f, path, v, n, xs);
    if (st == CC_OK) {
        uint8_t t[8];
        if (fread(t, 1, 8, f) != 8)
            st = cc_fail(CC_E_IO, "%s: short read", path);
        else if (cc_load_u64(t) != XXH3_64bits_digest(xs))
            st = cc_fail(CC_E_CHECKSUM,
                         "%s: checksum mismatch: the checkpoint is damaged (use an older one)",
                         path);
    }
    XXH3_freeState(xs);
    fclose(f);
    return st;
}
