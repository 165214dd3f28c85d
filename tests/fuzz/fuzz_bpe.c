/* tests/fuzz/fuzz_bpe.c — libFuzzer target for the tokenizer file reader and the encoder
 * (trainer/bpe.h).
 *
 * The input is taken two ways:
 *   - as a tokenizer file (bpe_load_mem): it is refused with a status, or it loads, and then
 *     vocab = 514 + merges, SOT/EOT are the last two ids, and encoding fixed texts works;
 *   - as a caption, encoded with a tokenizer trained once at start: decoding its raw tokens gives
 *     back exactly its cleaned text (bpe_clean), and bpe_encode at context 16 starts with SOT,
 *     holds EOT at the used length - 1 (<= 16) and zeros after it.
 * With CLIPCRAWL_FUZZ_SEED_DIR set, LLVMFuzzerInitialize writes that trained tokenizer's file and
 * a few captions there as seeds.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/buf.h"
#include "tests/fuzz/fuzz_util.h"
#include "trainer/bpe.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond) FUZZ_CHECK("fuzz_bpe", cond)

static const char *const captions[] = {
    "a photo of a red star",
    "Two BLUE circles &amp; a heart!",
    ("don't   stop\xc2\xa0"
     "believing"),
    "caf\xc3\xa9 au lait 1234",
    "emoji \xf0\x9f\x98\x80 test",
    "x's y're z'll, 3.14; (ok)",
};

static bpe *trained;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    bpe_trainer *t = NULL;
    CHECK(bpe_trainer_new(0, &t) == CC_OK);
    for (int r = 0; r < 20; r++)
        for (size_t i = 0; i < sizeof captions / sizeof *captions; i++)
            CHECK(bpe_trainer_add(t, captions[i], strlen(captions[i])) == CC_OK);
    CHECK(bpe_trainer_finish(t, 700, 77, &trained) == CC_OK);
    bpe_trainer_free(t);
    const char *dir = getenv("CLIPCRAWL_FUZZ_SEED_DIR");
    if (dir && *dir) {
        char path[4096];
        snprintf(path, sizeof path, "%s/seed-bpe-file", dir);
        CHECK(bpe_save(trained, path) == CC_OK);
        fuzz_write_text_seeds("bpe", captions, NULL, sizeof captions / sizeof *captions);
    }
    return 0;
}

static void as_file(const uint8_t *data, size_t size)
{
    bpe *b = NULL;
    if (bpe_load_mem("fuzz", data, size, &b) != CC_OK) {
        CHECK(b == NULL);
        return;
    }
    CHECK(bpe_vocab(b) == 514 + bpe_merges(b));
    CHECK(bpe_eot(b) == (int32_t)bpe_vocab(b) - 1 && bpe_sot(b) == (int32_t)bpe_vocab(b) - 2);
    CHECK(bpe_context(b) >= 3);
    int32_t toks[77];
    uint32_t used = 0;
    for (size_t i = 0; i < sizeof captions / sizeof *captions; i++) {
        CHECK(bpe_encode(b, captions[i], strlen(captions[i]), toks, 77, &used) == CC_OK);
        CHECK(used >= 2 && used <= 77 && toks[0] == bpe_sot(b) && toks[used - 1] == bpe_eot(b));
    }
    bpe_free(b);
}

static void as_caption(const uint8_t *data, size_t size)
{
    const char *text = (const char *)data;
    cc_buf clean, dec;
    cc_buf_init(&clean, (size_t)1 << 20);
    cc_buf_init(&dec, (size_t)1 << 20);
    CHECK(bpe_clean(text, size, &clean) == CC_OK);
    int32_t *toks = NULL;
    size_t n = 0, cap = 0;
    CHECK(bpe_encode_raw(trained, text, size, &toks, &n, &cap) == CC_OK);
    for (size_t i = 0; i < n; i++)
        CHECK(toks[i] >= 0 && toks[i] < bpe_sot(trained));
    CHECK(bpe_decode(trained, toks, n, &dec) == CC_OK);
    CHECK(dec.len == clean.len && (clean.len == 0 || memcmp(dec.data, clean.data, clean.len) == 0));
    int32_t ctx[16];
    uint32_t used = 0;
    CHECK(bpe_encode(trained, text, size, ctx, 16, &used) == CC_OK);
    CHECK(used >= 2 && used <= 16 && ctx[0] == bpe_sot(trained) &&
          ctx[used - 1] == bpe_eot(trained));
    for (uint32_t i = used; i < 16; i++)
        CHECK(ctx[i] == 0);
    free(toks);
    cc_buf_free(&clean);
    cc_buf_free(&dec);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    as_file(data, size);
    if (size <= 4096)
        as_caption(data, size);
    return 0;
}
