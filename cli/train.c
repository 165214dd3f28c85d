/* cli/train.c — `clipcrawl train`: the bundled CLIP trainer (trainer/train.h) from the command
 * line. */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "common/log.h"
#include "trainer/model.h"
#include "trainer/train.h"

static const char train_usage[] =
    "usage: clipcrawl train --data MANIFEST --tokenizer FILE --out DIR [options]\n"
    "\n"
    "Trains a CLIP model (ViT image encoder + text Transformer, contrastive loss) on the pairs of\n"
    "sealed shards, on the CPU (OpenMP + OpenBLAS). Writes DIR/log.csv (a row per step),\n"
    "DIR/ckpt.bin (atomic checkpoints) and DIR/run.json. docs/TRAINER.md describes it.\n"
    "\n"
    "  --data PATH          a shard manifest or shard folder (clipcrawl crawl / shards pack)\n"
    "  --tokenizer FILE     a BPE tokenizer (clipcrawl tokenizer train)\n"
    "  --model NAME         tiny | small | base32 (default tiny)\n"
    "  --batch N            pairs per step (default 128)\n"
    "  --steps N            optimizer steps (default 1000)\n"
    "  --lr X               peak learning rate (default 5e-4)\n"
    "  --min-lr X           learning rate at the end of the cosine (default 0)\n"
    "  --warmup N           linear warm-up steps (default steps/10)\n"
    "  --wd X               AdamW weight decay (default 0.2)\n"
    "  --clip-grad X        clip the global gradient norm at X (default off)\n"
    "  --seed N             initialisation and data order (default 1)\n"
    "  --threads N          model threads (default: all cores)\n"
    "  --loader-threads N   decode threads (default: cores/2, at least 1)\n"
    "  --out DIR            the run folder\n"
    "  --resume             continue the run in DIR from DIR/ckpt.bin\n"
    "  --ckpt-every N       also checkpoint every N steps (default: at the end only)\n"
    "  --log-every N        print a line every N steps (default 10)\n"
    "  --stop-after N       stop after step N with a checkpoint (resume tests)\n"
    "  -q, --quiet / -v, --verbose\n"
    "\n";

static int parse_u64(const char *s, uint64_t *out)
{
    if (!s || *s < '0' || *s > '9')
        return -1;
    char *e;
    unsigned long long v = strtoull(s, &e, 10);
    if (*e)
        return -1;
    *out = v;
    return 0;
}

static int parse_float(const char *s, float *out)
{
    char *e;
    double v = strtod(s, &e);
    if (e == s || *e || !isfinite(v) || v < 0)
        return -1;
    *out = (float)v;
    return 0;
}

int cli_train(int argc, char **argv)
{
    const char *cmd = "train";
    train_opts o;
    train_opts_default(&o);
    enum {
        O_DATA = 256,
        O_TOK,
        O_MODEL,
        O_BATCH,
        O_STEPS,
        O_LR,
        O_MINLR,
        O_WARMUP,
        O_WD,
        O_CLIP,
        O_SEED,
        O_THREADS,
        O_LTHREADS,
        O_OUT,
        O_RESUME,
        O_CKPT,
        O_LOG,
        O_STOP
    };
    static const struct option longopts[] = {{"data", required_argument, 0, O_DATA},
                                             {"tokenizer", required_argument, 0, O_TOK},
                                             {"model", required_argument, 0, O_MODEL},
                                             {"batch", required_argument, 0, O_BATCH},
                                             {"steps", required_argument, 0, O_STEPS},
                                             {"lr", required_argument, 0, O_LR},
                                             {"min-lr", required_argument, 0, O_MINLR},
                                             {"warmup", required_argument, 0, O_WARMUP},
                                             {"wd", required_argument, 0, O_WD},
                                             {"clip-grad", required_argument, 0, O_CLIP},
                                             {"seed", required_argument, 0, O_SEED},
                                             {"threads", required_argument, 0, O_THREADS},
                                             {"loader-threads", required_argument, 0, O_LTHREADS},
                                             {"out", required_argument, 0, O_OUT},
                                             {"resume", no_argument, 0, O_RESUME},
                                             {"ckpt-every", required_argument, 0, O_CKPT},
                                             {"log-every", required_argument, 0, O_LOG},
                                             {"stop-after", required_argument, 0, O_STOP},
                                             CLI_COMMON_LONG,
                                             {0, 0, 0, 0}};
    optind = 1;
    int c;
    uint64_t u = 0;
    while ((c = cli_next_opt(argc, argv, "qvh", longopts)) != -1) {
        int bad = 0;
        switch (c) {
        case 0:
            break;
        case 'h':
            fputs(train_usage, stdout);
            return CLI_EXIT_OK;
        case O_DATA:
            o.data = optarg;
            break;
        case O_TOK:
            o.tokenizer = optarg;
            break;
        case O_MODEL:
            o.model = optarg;
            break;
        case O_OUT:
            o.out = optarg;
            break;
        case O_BATCH:
            bad = parse_u64(optarg, &u) || u < 2 || u > 65536;
            o.batch = (uint32_t)u;
            break;
        case O_STEPS:
            bad = parse_u64(optarg, &o.steps) || o.steps == 0;
            break;
        case O_LR:
            bad = parse_float(optarg, &o.lr) || o.lr == 0;
            break;
        case O_MINLR:
            bad = parse_float(optarg, &o.min_lr);
            break;
        case O_WARMUP:
            bad = parse_u64(optarg, &o.warmup);
            break;
        case O_WD:
            bad = parse_float(optarg, &o.weight_decay);
            break;
        case O_CLIP:
            bad = parse_float(optarg, &o.clip_norm);
            break;
        case O_SEED:
            bad = parse_u64(optarg, &o.seed);
            break;
        case O_THREADS:
            bad = parse_u64(optarg, &u) || u == 0 || u > 1024;
            o.threads = (int)u;
            break;
        case O_LTHREADS:
            bad = parse_u64(optarg, &u) || u == 0 || u > 256;
            o.loader_threads = (int)u;
            break;
        case O_RESUME:
            o.resume = 1;
            break;
        case O_CKPT:
            bad = parse_u64(optarg, &o.ckpt_every);
            break;
        case O_LOG:
            bad = parse_u64(optarg, &o.log_every);
            break;
        case O_STOP:
            bad = parse_u64(optarg, &o.stop_after) || o.stop_after == 0;
            break;
        default:
            return cli_usage_error(cmd, train_usage, NULL);
        }
        if (bad)
            return cli_usage_error(cmd, train_usage, "bad value for an option (see the list)");
    }
    if (optind < argc)
        return cli_usage_error(cmd, train_usage, "unexpected argument");
    if (!o.data || !o.tokenizer || !o.out)
        return cli_usage_error(cmd, train_usage, "--data, --tokenizer and --out are needed");
    if (o.warmup != UINT64_MAX && o.warmup > o.steps)
        return cli_usage_error(cmd, train_usage, "--warmup is larger than --steps");
    train_result r;
    cc_status st = train_run(&o, &r);
    if (st != CC_OK)
        return cli_fail(cmd, st);
    printf("trained %s for %" PRIu64
           " steps (batch %u) in %s: loss %.4f -> %.4f (ln batch = %.3f), "
           "%.1f samples/s, data wait %.1f s, %" PRIu64 " corrupt records skipped\n",
           o.model, r.steps, o.batch, o.out, (double)r.first_loss, (double)r.last_loss,
           log((double)o.batch), r.samples_per_s, r.data_wait_s, r.corrupt);
    return CLI_EXIT_OK;
}
