/* tests/unit/test_ckpt.c — trainer/ckpt.h: round trip, atomic replacement, and refusal of every
 * kind of damage with a clear message. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/status.h"
#include "trainer/ckpt.h"
#include "trainer/model.h"

static char dir[256];

static clip_config micro(void)
{
    clip_config c = {.image_size = 16,
                     .patch = 8,
                     .vision_width = 16,
                     .vision_layers = 1,
                     .vision_heads = 2,
                     .context = 6,
                     .vocab = 20,
                     .text_width = 16,
                     .text_layers = 1,
                     .text_heads = 2,
                     .embed_dim = 8};
    snprintf(c.name, sizeof c.name, "micro");
    return c;
}

typedef struct state {
    ckpt_meta meta;
    float *p, *m, *v;
} state;

static void make_state(state *s)
{
    memset(&s->meta, 0, sizeof s->meta);
    s->meta.cfg = micro();
    s->meta.n = clip_config_num_params(&s->meta.cfg);
    s->meta.step = 17;
    s->meta.seed = 99;
    s->meta.loader_epoch = 2;
    s->meta.loader_batch = 5;
    s->meta.adam_steps = 17;
    s->meta.total_steps = 100;
    s->meta.warmup = 10;
    s->meta.batch = 4;
    s->meta.lr = 1e-3f;
    s->meta.min_lr = 1e-5f;
    s->meta.weight_decay = 0.2f;
    s->meta.clip_norm = 1.0f;
    s->meta.tokenizer_hash = 0x0123456789abcdefull;
    size_t n = s->meta.n;
    s->p = malloc(n * sizeof(float));
    s->m = malloc(n * sizeof(float));
    s->v = malloc(n * sizeof(float));
    assert_non_null(s->p);
    assert_non_null(s->m);
    assert_non_null(s->v);
    for (size_t i = 0; i < n; i++) {
        s->p[i] = (float)i * 0.5f - 3.0f;
        s->m[i] = (float)i * -0.25f;
        s->v[i] = (float)(i % 7) + 0.125f;
    }
}

static void free_state(state *s)
{
    free(s->p);
    free(s->m);
    free(s->v);
}

static void path_of(char *out, size_t cap, const char *name)
{
    snprintf(out, cap, "%s/%s", dir, name);
}

static void test_round_trip(void **st)
{
    (void)st;
    state s;
    make_state(&s);
    char path[512];
    path_of(path, sizeof path, "a.bin");
    assert_int_equal(ckpt_save(path, &s.meta, s.p, s.m, s.v), CC_OK);
    ckpt_meta k;
    assert_int_equal(ckpt_load_meta(path, &k), CC_OK);
    assert_string_equal(k.cfg.name, "micro");
    assert_int_equal(k.cfg.vocab, 20);
    assert_int_equal(k.step, 17);
    assert_int_equal(k.loader_epoch, 2);
    assert_int_equal(k.loader_batch, 5);
    assert_int_equal(k.batch, 4);
    assert_true(k.lr == 1e-3f && k.min_lr == 1e-5f && k.weight_decay == 0.2f &&
                k.clip_norm == 1.0f);
    assert_true(k.tokenizer_hash == 0x0123456789abcdefull);
    size_t n = s.meta.n;
    float *p = calloc(n, sizeof(float)), *m = calloc(n, sizeof(float)),
          *v = calloc(n, sizeof(float));
    assert_int_equal(ckpt_load(path, &k, p, m, v, n), CC_OK);
    assert_memory_equal(p, s.p, n * sizeof(float));
    assert_memory_equal(m, s.m, n * sizeof(float));
    assert_memory_equal(v, s.v, n * sizeof(float));
    /* m and v may be skipped (evaluation) */
    memset(p, 0, n * sizeof(float));
    assert_int_equal(ckpt_load(path, &k, p, NULL, NULL, n), CC_OK);
    assert_memory_equal(p, s.p, n * sizeof(float));
    /* a wrong parameter count is refused */
    assert_int_equal(ckpt_load(path, &k, p, NULL, NULL, n - 1), CC_E_INVAL);
    /* saving again replaces the file whole; no temporary file is left */
    s.meta.step = 18;
    assert_int_equal(ckpt_save(path, &s.meta, s.p, s.m, s.v), CC_OK);
    assert_int_equal(ckpt_load_meta(path, &k), CC_OK);
    assert_int_equal(k.step, 18);
    char tmp[600];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    assert_int_equal(access(tmp, F_OK), -1);
    free(p), free(m), free(v);
    free_state(&s);
}

static size_t file_size(const char *path)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    size_t n = (size_t)ftell(f);
    fclose(f);
    return n;
}

static void poke(const char *path, size_t off, uint8_t x)
{
    FILE *f = fopen(path, "r+b");
    assert_non_null(f);
    fseek(f, (long)off, SEEK_SET);
    int c = fgetc(f);
    fseek(f, (long)off, SEEK_SET);
    fputc(c ^ x, f);
    fclose(f);
}

static void test_damage(void **st)
{
    (void)st;
    state s;
    make_state(&s);
    char path[512];
    path_of(path, sizeof path, "b.bin");
    size_t n = s.meta.n;
    float *p = calloc(n, sizeof(float));
    ckpt_meta k;

    assert_int_equal(ckpt_load_meta("/nonexistent/ckpt.bin", &k), CC_E_NOTFOUND);

    /* a flipped bit in the parameters: the checksum catches it */
    assert_int_equal(ckpt_save(path, &s.meta, s.p, s.m, s.v), CC_OK);
    size_t size = file_size(path);
    poke(path, CKPT_HEADER_SIZE + 40, 0x10);
    assert_int_equal(ckpt_load_meta(path, &k), CC_OK); /* the header is fine */
    assert_int_equal(ckpt_load(path, &k, p, NULL, NULL, n), CC_E_CHECKSUM);
    assert_non_null(strstr(cc_errmsg(), "damaged"));

    /* truncated */
    assert_int_equal(ckpt_save(path, &s.meta, s.p, s.m, s.v), CC_OK);
    assert_int_equal(truncate(path, (off_t)(size - 100)), 0);
    assert_int_equal(ckpt_load_meta(path, &k), CC_E_FORMAT);
    assert_non_null(strstr(cc_errmsg(), "truncated"));
    assert_int_equal(truncate(path, 5), 0);
    assert_int_equal(ckpt_load_meta(path, &k), CC_E_FORMAT);

    /* another magic, a newer version */
    assert_int_equal(ckpt_save(path, &s.meta, s.p, s.m, s.v), CC_OK);
    poke(path, 0, 0x01);
    assert_int_equal(ckpt_load_meta(path, &k), CC_E_FORMAT);
    assert_int_equal(ckpt_save(path, &s.meta, s.p, s.m, s.v), CC_OK);
    poke(path, 4, 0x02);
    assert_int_equal(ckpt_load_meta(path, &k), CC_E_VERSION);

    /* a header whose configuration is invalid (vision width 0) */
    assert_int_equal(ckpt_save(path, &s.meta, s.p, s.m, s.v), CC_OK);
    poke(path, 8 + 32 + 8, 0x10); /* vision_width's low byte: 16 -> 0 */
    assert_int_equal(ckpt_load_meta(path, &k), CC_E_FORMAT);
    assert_non_null(strstr(cc_errmsg(), "configuration"));
    free(p);
    free_state(&s);
}

int main(void)
{
    snprintf(dir, sizeof dir, "/tmp/cc-test-ckpt-XXXXXX");
    if (!mkdtemp(dir))
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_damage),
    };
    int r = cmocka_run_group_tests(tests, NULL, NULL);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        return 1;
    return r;
}
