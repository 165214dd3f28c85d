/* cli/eval.c — `clipcrawl eval`: evaluation of a trained model (trainer/eval.h). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "common/file.h"
#include "common/log.h"
#include "trainer/bpe.h"
#include "trainer/ckpt.h"
#include "trainer/eval.h"
#include "trainer/model.h"

static const char eval_usage[] =
    "usage: clipcrawl eval retrieval --data MANIFEST --tokenizer FILE --checkpoint FILE [options]\n"
    "\n"
    "Evaluates a model trained by clipcrawl train. docs/TRAINER.md describes the measures.\n"
    "\n"
    "  retrieval            image->text and text->image recall@1/5/10 on held-out pairs\n"
    "\n"
    "  --data PATH          a shard manifest or shard folder of held-out pairs\n"
    "  --tokenizer FILE     the run's tokenizer\n"
    "  --checkpoint FILE    the run's DIR/ckpt.bin\n"
    "  --max N              evaluate the first N pairs (default all)\n"
    "  --batch N            images per forward pass (default 256)\n"
    "  --json FILE          also write the results as JSON\n"
    "  -q, --quiet / -v, --verbose\n"
    "\n";

/* Loads the checkpoint's model for batches of up to batch. */
static cc_status load_model(const char *path, int batch, const bpe *tok, clip_model **out)
{
    ckpt_meta k;
    CC_TRY(ckpt_load_meta(path, &k));
    CC_CHECK(k.cfg.vocab == (int)bpe_vocab(tok) && k.cfg.context == (int)bpe_context(tok),
             CC_E_INVAL,
             "%s: trained with a vocabulary of %d and context %d, the tokenizer has %u and %u "
             "(pass the run's own tokenizer)",
             path, k.cfg.vocab, k.cfg.context, bpe_vocab(tok), bpe_context(tok));
    clip_model *m;
    CC_TRY(clip_model_new(&k.cfg, batch, &m));
    cc_status st = ckpt_load(path, &k, clip_model_params(m), NULL, NULL, clip_model_num_params(m));
    if (st != CC_OK) {
        clip_model_free(m);
        return st;
    }
    *out = m;
    return CC_OK;
}

static int eval_retrieval(int argc, char **argv)
{
    const char *cmd = "eval retrieval";
    const char *data = NULL, *tokp = NULL, *ckpt = NULL, *json = NULL;
    uint64_t max_n = 0, batch = 256;
    enum { O_DATA = 256, O_TOK, O_CKPT, O_MAX, O_BATCH, O_JSON };
    static const struct option longopts[] = {{"data", required_argument, 0, O_DATA},
                                             {"tokenizer", required_argument, 0, O_TOK},
                                             {"checkpoint", required_argument, 0, O_CKPT},
                                             {"max", required_argument, 0, O_MAX},
                                             {"batch", required_argument, 0, O_BATCH},
                                             {"json", required_argument, 0, O_JSON},
                                             CLI_COMMON_LONG,
                                             {0, 0, 0, 0}};
    optind = 1;
    int c;
    while ((c = cli_next_opt(argc, argv, "qvh", longopts)) != -1) {
        switch (c) {
        case 0:
            break;
        case 'h':
            fputs(eval_usage, stdout);
            return CLI_EXIT_OK;
        case O_DATA:
            data = optarg;
            break;
        case O_TOK:
            tokp = optarg;
            break;
        case O_CKPT:
            ckpt = optarg;
            break;
        case O_JSON:
            json = optarg;
            break;
        case O_MAX:
            if (cli_parse_size(optarg, &max_n))
                return cli_usage_error(cmd, eval_usage, "bad --max");
            break;
        case O_BATCH:
            if (cli_parse_size(optarg, &batch) || batch == 0 || batch > 65536)
                return cli_usage_error(cmd, eval_usage, "bad --batch");
            break;
        default:
            return cli_usage_error(cmd, eval_usage, NULL);
        }
    }
    if (optind < argc)
        return cli_usage_error(cmd, eval_usage, "unexpected argument");
    if (!data || !tokp || !ckpt)
        return cli_usage_error(cmd, eval_usage, "--data, --tokenizer and --checkpoint are needed");
    bpe *tok = NULL;
    clip_model *m = NULL;
    float *img = NULL, *txt = NULL;
    size_t n = 0;
    uint64_t skipped = 0;
    const int ks[3] = {1, 5, 10};
    double i2t[3], t2i[3];
    cc_status st = bpe_load(tokp, &tok);
    if (st == CC_OK)
        st = load_model(ckpt, (int)batch, tok, &m);
    if (st == CC_OK)
        st = eval_embed_manifest(m, tok, data, (size_t)max_n, &img, &txt, &n, &skipped);
    if (st == CC_OK)
        st = eval_recall(img, txt, n, clip_model_config(m)->embed_dim, ks, 3, i2t, t2i);
    if (st == CC_OK) {
        printf("retrieval on %zu held-out pairs (%" PRIu64 " skipped):\n", n, skipped);
        for (int k = 0; k < 3; k++)
            printf("  recall@%-2d  image->text %5.1f%%  text->image %5.1f%%  (chance %.1f%%)\n",
                   ks[k], 100 * i2t[k], 100 * t2i[k],
                   100.0 * (ks[k] < (int)n ? ks[k] : (int)n) / (double)n);
    }
    if (st == CC_OK && json) {
        cc_file_out fo;
        char s[1024];
        int len = snprintf(s, sizeof s,
                           "{\"pairs\": %zu, \"skipped\": %" PRIu64
                           ", \"image_to_text\": {\"r1\": %.6f, \"r5\": %.6f, \"r10\": %.6f}, "
                           "\"text_to_image\": {\"r1\": %.6f, \"r5\": %.6f, \"r10\": %.6f}}\n",
                           n, skipped, i2t[0], i2t[1], i2t[2], t2i[0], t2i[1], t2i[2]);
        st = cc_file_out_open(&fo, json);
        if (st == CC_OK) {
            st = cc_file_out_put(&fo, s, (size_t)len);
            if (st == CC_OK)
                st = cc_file_out_commit_plain(&fo);
            else
                cc_file_out_abort(&fo);
        }
    }
    free(img);
    free(txt);
    clip_model_free(m);
    bpe_free(tok);
    return st == CC_OK ? CLI_EXIT_OK : cli_fail(cmd, st);
}

int cli_eval(int argc, char **argv)
{
    if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
        fputs(eval_usage, argc < 2 ? stderr : stdout);
        return argc < 2 ? CLI_EXIT_USAGE : CLI_EXIT_OK;
    }
    if (!strcmp(argv[1], "retrieval"))
        return eval_retrieval(argc - 1, argv + 1);
    return cli_usage_error("eval", eval_usage, "unknown evaluation (retrieval)");
}
