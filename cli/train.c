/* cli/train.c — `clipcrawl train`: the bundled CLIP trainer (trainer/train.h) from the command
 * line. */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "common/buf.h"
#include "common/file.h"
#include "common/log.h"
#include "trainer/bpe.h"
#include "trainer/ckpt.h"
#include "trainer/eval.h"
#include "trainer/evalset.h"
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
    "  --eval LABELS:COLUMN[:CLASSES]\n"
    "                       zero-shot task during training (repeatable, up to 8): the images\n"
    "                       of a labels TSV (paths in its 'file' column, relative to its folder),\n"
    "                       classes from COLUMN, in the order of the CLASSES file when given\n"
    "                       (e.g. web/eval/labels.tsv:shape:web/eval/shapes.txt)\n"
    "  --eval-every N       run the --eval tasks every N steps and after the last; rows in\n"
    "                       DIR/eval.csv (default 100)\n"
    "  --eval-templates F   prompt templates, one a line with {} for the class (default: CLIP's\n"
    "                       18)\n"
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

#define TRAIN_MAX_EVALS 8

/* Zero-shot tasks evaluated during training (--eval), and their log DIR/eval.csv. */
typedef struct train_evals {
    int n;
    const char *spec[TRAIN_MAX_EVALS];
    char name[TRAIN_MAX_EVALS][64];
    evalset *set[TRAIN_MAX_EVALS];
    const char *templates_path;
    char **templates;
    int nt;
    bpe *tok;
    FILE *csv;
} train_evals;

/* Loads every task's labels (so a bad --eval fails before training starts), the templates and
 * the tokenizer; opens DIR/eval.csv, cut back to the checkpoint's step on --resume. */
static cc_status evals_open(train_evals *ev, const train_opts *o)
{
    for (int i = 0; i < ev->n; i++) {
        char buf[4096], dir[4096];
        int len = snprintf(buf, sizeof buf, "%s", ev->spec[i]);
        CC_CHECK(len > 0 && (size_t)len < sizeof buf, CC_E_INVAL, "--eval: too long");
        char *col = strchr(buf, ':');
        CC_CHECK(col && col[1], CC_E_INVAL, "--eval %s: expected LABELS:COLUMN[:CLASSES]",
                 ev->spec[i]);
        *col++ = '\0';
        char *classes = strchr(col, ':');
        if (classes)
            *classes++ = '\0';
        snprintf(ev->name[i], sizeof ev->name[i], "%s", col);
        snprintf(dir, sizeof dir, "%s", buf);
        char *slash = strrchr(dir, '/');
        if (slash)
            *slash = '\0';
        else
            snprintf(dir, sizeof dir, ".");
        CC_TRY(
            evalset_load(dir, buf, "file", col, classes && *classes ? classes : NULL, &ev->set[i]));
    }
    if (ev->templates_path)
        CC_TRY(evalset_read_names(ev->templates_path, &ev->templates, &ev->nt));
    CC_TRY(bpe_load(o->tokenizer, &ev->tok));
    char path[4096];
    CC_TRY(cc_mkdir(o->out));
    CC_TRY(cc_path_join(path, sizeof path, o->out, "eval.csv"));
    char ckpt[4096];
    CC_TRY(cc_path_join(ckpt, sizeof ckpt, o->out, "ckpt.bin"));
    ckpt_meta k;
    if (o->resume && ckpt_load_meta(ckpt, &k) == CC_OK)
        CC_TRY(train_log_cut(path, k.step));
    else if (cc_exists(path) && !o->resume)
        CC_TRY(train_log_cut(path, 0));
    ev->csv = fopen(path, "a");
    CC_CHECK(ev->csv, CC_E_IO, "%s: %s", path, strerror(errno));
    if (ftell(ev->csv) == 0)
        fputs("step,task,top1,top5,chance,images\n", ev->csv);
    return CC_OK;
}

static void evals_close(train_evals *ev)
{
    for (int i = 0; i < ev->n; i++)
        evalset_free(ev->set[i]);
    evalset_free_names(ev->templates, ev->nt);
    bpe_free(ev->tok);
    if (ev->csv)
        fclose(ev->csv);
}

/* train_opts.on_eval: zero-shot accuracy of every task at this step. A task that fails is
 * logged and skipped; training goes on. */
static int evals_run(void *ctx, clip_model *m, uint64_t step)
{
    train_evals *ev = ctx;
    const int E = clip_model_config(m)->embed_dim;
    const char *const *tpl =
        ev->templates ? (const char *const *)ev->templates : eval_clip_templates;
    int nt = ev->templates ? ev->nt : eval_clip_template_count;
    for (int i = 0; i < ev->n; i++) {
        const evalset *s = ev->set[i];
        float *cls = malloc((size_t)s->C * (size_t)E * sizeof *cls), *feat = NULL;
        int *labels = NULL, *pred = NULL;
        size_t n = 0;
        uint64_t skipped = 0;
        cc_status st = cls ? eval_class_embeddings(m, ev->tok, (const char *const *)s->classes,
                                                   s->C, tpl, nt, cls)
                           : cc_fail(CC_E_NOMEM, "out of memory");
        if (st == CC_OK)
            st = evalset_embed(m, s, &feat, &labels, &n, &skipped);
        if (st == CC_OK && !(pred = malloc(n * sizeof *pred)))
            st = cc_fail(CC_E_NOMEM, "out of memory");
        if (st == CC_OK) {
            double top1 = 0, top5 = 0;
            eval_zeroshot(feat, n, cls, s->C, E, labels, pred, &top1, &top5, NULL);
            fprintf(ev->csv, "%" PRIu64 ",%s,%.4f,%.4f,%.4f,%zu\n", step, ev->name[i], top1, top5,
                    1.0 / s->C, n);
            fflush(ev->csv);
            cc_log_info("step %" PRIu64 "  zero-shot %s: %.1f%% (chance %.1f%%, %zu images)", step,
                        ev->name[i], 100 * top1, 100.0 / s->C, n);
        } else {
            cc_log_warn("step %" PRIu64 ": zero-shot %s failed: %s", step, ev->name[i],
                        cc_errmsg());
        }
        free(cls);
        free(feat);
        free(labels);
        free(pred);
    }
    return 0;
}

/* run/loss.png (loss per step, and ln(batch), the loss at chance) and, with --eval tasks,
 * run/zeroshot.png (top-1 per evaluation, one line a task, and chance). gnuplot reads the CSV logs
 * itself. A failure is a warning: the run's results are already written. */
static void draw_plots(const train_opts *o, const train_evals *ev)
{
    char csv[4096], png[4096];
    if (cc_path_join(csv, sizeof csv, o->out, "log.csv") != CC_OK ||
        cc_path_join(png, sizeof png, o->out, "loss.png") != CC_OK)
        return;
    cc_status st = cli_plot(png,
                            "set datafile separator ','\nset key autotitle columnhead\n"
                            "set title 'training loss (%s, batch %u)'\nset xlabel 'step'\n"
                            "set ylabel 'contrastive loss'\n"
                            "plot '%s' using 1:3 with lines title 'loss', %f with lines dt 2 "
                            "title 'ln(batch): chance'\n",
                            o->model, o->batch, csv, log((double)o->batch));
    if (st == CC_OK && ev->n && cc_path_join(csv, sizeof csv, o->out, "eval.csv") == CC_OK &&
        cc_path_join(png, sizeof png, o->out, "zeroshot.png") == CC_OK) {
        /* One inline data block per task (its rows of eval.csv), then its chance level. */
        cc_buf plot, text;
        cc_buf_init(&plot, (size_t)64 << 20);
        cc_buf_init(&text, (size_t)64 << 20);
        st = cc_read_file(csv, &text);
        if (st == CC_OK)
            st = cc_buf_append(&text, "", 1);
        char line[256];
        int n = snprintf(line, sizeof line, "plot ");
        if (st == CC_OK)
            st = cc_buf_append(&plot, line, (size_t)n);
        for (int i = 0; st == CC_OK && i < ev->n; i++) {
            n = snprintf(line, sizeof line,
                         "%s'-' using 1:2 with linespoints title '%s', %f with lines dt 2 "
                         "title '%s chance'",
                         i ? ", " : "", ev->name[i], 1.0 / ev->set[i]->C, ev->name[i]);
            st = cc_buf_append(&plot, line, (size_t)n);
        }
        if (st == CC_OK)
            st = cc_buf_append(&plot, "\n", 1);
        for (int i = 0; st == CC_OK && i < ev->n; i++) {
            for (char *p = (char *)text.data, *nl; st == CC_OK && (nl = strchr(p, '\n'));
                 p = nl + 1) {
                char task[64];
                double top1;
                unsigned long long step;
                if (sscanf(p, "%llu,%63[^,],%lf", &step, task, &top1) == 3 &&
                    !strcmp(task, ev->name[i])) {
                    n = snprintf(line, sizeof line, "%llu %f\n", step, top1);
                    st = cc_buf_append(&plot, line, (size_t)n);
                }
            }
            if (st == CC_OK)
                st = cc_buf_append(&plot, "e\n", 2);
        }
        if (st == CC_OK)
            st = cc_buf_append(&plot, "", 1);
        if (st == CC_OK)
            st = cli_plot(png,
                          "set title 'zero-shot top-1 during training'\nset xlabel 'step'\n"
                          "set ylabel 'top-1 accuracy'\nset yrange [0:1]\nset key left top\n%s",
                          (const char *)plot.data);
        cc_buf_free(&plot);
        cc_buf_free(&text);
    }
    if (st != CC_OK)
        cc_log_warn("no plots: %s", cc_errmsg());
}

int cli_train(int argc, char **argv)
{
    const char *cmd = "train";
    train_opts o;
    train_opts_default(&o);
    train_evals ev;
    memset(&ev, 0, sizeof ev);
    uint64_t eval_every = 100;
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
        O_STOP,
        O_EVAL,
        O_EVAL_EVERY,
        O_EVAL_TPL
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
                                             {"eval", required_argument, 0, O_EVAL},
                                             {"eval-every", required_argument, 0, O_EVAL_EVERY},
                                             {"eval-templates", required_argument, 0, O_EVAL_TPL},
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
        case O_EVAL:
            bad = ev.n == TRAIN_MAX_EVALS;
            if (!bad)
                ev.spec[ev.n++] = optarg;
            break;
        case O_EVAL_EVERY:
            bad = parse_u64(optarg, &eval_every) || eval_every == 0;
            break;
        case O_EVAL_TPL:
            ev.templates_path = optarg;
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
    cc_status st = CC_OK;
    if (ev.n) {
        st = evals_open(&ev, &o);
        o.eval_every = eval_every;
        o.on_eval = evals_run;
        o.eval_ctx = &ev;
    }
    train_result r;
    if (st == CC_OK)
        st = train_run(&o, &r);
    if (st == CC_OK)
        draw_plots(&o, &ev);
    evals_close(&ev);
    if (st != CC_OK)
        return cli_fail(cmd, st);
    printf("trained %s for %" PRIu64
           " steps (batch %u) in %s: loss %.4f -> %.4f (ln batch = %.3f), "
           "%.1f samples/s, data wait %.1f s, %" PRIu64 " corrupt records skipped\n",
           o.model, r.steps, o.batch, o.out, (double)r.first_loss, (double)r.last_loss,
           log((double)o.batch), r.samples_per_s, r.data_wait_s, r.corrupt);
    return CLI_EXIT_OK;
}
