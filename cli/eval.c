/* cli/eval.c — `clipcrawl eval`: evaluation of a trained model (trainer/eval.h). */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "common/buf.h"
#include "common/file.h"
#include "common/hash.h"
#include "common/log.h"
#include "common/rng.h"
#include "trainer/bpe.h"
#include "trainer/ckpt.h"
#include "trainer/eval.h"
#include "trainer/evalset.h"
#include "trainer/linprobe.h"
#include "trainer/model.h"

static const char eval_usage[] =
    "usage: clipcrawl eval retrieval --data MANIFEST --tokenizer FILE --checkpoint FILE [options]\n"
    "       clipcrawl eval zeroshot INPUT --tokenizer FILE --checkpoint FILE [options]\n"
    "       clipcrawl eval linear-probe INPUT --tokenizer FILE --checkpoint FILE [options]\n"
    "\n"
    "Evaluates a model trained by clipcrawl train. docs/EVAL.md describes the measures.\n"
    "\n"
    "  retrieval            image->text and text->image recall@1/5/10 on held-out pairs\n"
    "  zeroshot             classification by prompt-ensembled class names: top-1/top-5, the\n"
    "                       same with the single prompt \"a photo of a {}.\", per-class accuracy\n"
    "                       and confusion matrix\n"
    "  linear-probe         logistic regression on frozen image features, k images per class\n"
    "                       (--shots) and all of them, next to zero-shot on the same test images\n"
    "\n"
    "  --data PATH          a shard manifest or shard folder (retrieval; for zeroshot and\n"
    "                       linear-probe with --labels-from-caption)\n"
    "  --tokenizer FILE     the run's tokenizer\n"
    "  --checkpoint FILE    the run's DIR/ckpt.bin\n"
    "  --max N              evaluate the first N pairs or records (default all)\n"
    "  --batch N            images per forward pass (default 256)\n"
    "  --json FILE          also write the results as JSON\n"
    "  -q, --quiet / -v, --verbose\n"
    "\n"
    "INPUT for zeroshot and linear-probe, either\n"
    "  --images DIR --label-column NAME [--labels FILE] [--file-column NAME] [--classes FILE]\n"
    "                       a folder of images and a TSV labels file (default DIR/labels.tsv)\n"
    "                       with a header; classes from FILE (one a line) or the sorted labels\n"
    "  --data MANIFEST --labels-from-caption FILE\n"
    "                       shard records labelled by the one class of FILE named in the caption\n"
    "                       (records naming none or several are skipped)\n"
    "\n"
    "  --templates FILE     prompt templates, one a line, \"{}\" for the class (default CLIP's "
    "18)\n"
    "  --cache FILE         keep the class embeddings there; reused while checkpoint,\n"
    "                       tokenizer, classes and templates are the same\n"
    "  --shots LIST         linear-probe: images per class, e.g. 1,2,4,8,16 (default)\n"
    "  --test-fraction F    linear-probe: share of each class held out for testing (default 0.5)\n"
    "  --seed N             linear-probe: the test split and the k-shot draws (default 0)\n"
    "  --png FILE           linear-probe: draw the few-shot curve against zero-shot (gnuplot)\n"
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

/* ---- zeroshot and linear-probe ----------------------------------------------------------------
 */

/* Options shared by zeroshot and linear-probe. */
typedef struct cls_opts {
    const char *images, *labels, *file_col, *label_col, *classes, *data, *caption_classes;
    const char *tok, *ckpt, *templates, *cache, *json, *shots, *png;
    uint64_t max_n, batch, seed;
    double test_frac;
} cls_opts;

/* Appends formatted text to a JSON/text buffer. */
static cc_status jput(cc_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static cc_status jput(cc_buf *b, const char *fmt, ...)
{
    char tmp[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    CC_CHECK(n >= 0 && (size_t)n < sizeof tmp, CC_E_LIMIT, "JSON item too long");
    return cc_buf_append(b, tmp, (size_t)n);
}

/* Appends s as a JSON string. */
static cc_status jstr(cc_buf *b, const char *s)
{
    CC_TRY(cc_buf_append(b, "\"", 1));
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\')
            CC_TRY(jput(b, "\\%c", ch));
        else if (ch < 0x20)
            CC_TRY(jput(b, "\\u%04x", ch));
        else
            CC_TRY(cc_buf_append(b, s, 1));
    }
    return cc_buf_append(b, "\"", 1);
}

static cc_status write_json(const char *path, const cc_buf *b)
{
    cc_file_out fo;
    CC_TRY(cc_file_out_open(&fo, path));
    cc_status st = cc_file_out_put(&fo, b->data, b->len);
    if (st != CC_OK) {
        cc_file_out_abort(&fo);
        return st;
    }
    return cc_file_out_commit_plain(&fo);
}

/* Class-embedding cache: magic "CCZS", u16 version, u16 header size (40), the 16-byte key (XXH3-
 * 128 of the checkpoint's and tokenizer's hashes, the class names and the templates, each
 * NUL-terminated), u32 C, u32 E, u32 template count, u32 zero; then the ensembled (C,E) and the
 * single-template (C,E) embeddings as little-endian float32; then the XXH3-64 trailer. */
#define ZS_CACHE_MAGIC "CCZS"
#define ZS_CACHE_VERSION 1
#define ZS_CACHE_HS 40

static cc_status cache_key(const char *ckpt, const char *tokp, char *const *names, int C,
                           const char *const *tpl, int nt, cc_hash128 *key)
{
    cc_hash128 h[2];
    uint64_t size;
    CC_TRY(cc_hash_file(ckpt, &h[0], &size));
    CC_TRY(cc_hash_file(tokp, &h[1], &size));
    cc_hasher *hs;
    CC_TRY(cc_hasher_new(&hs));
    uint8_t raw[32];
    cc_hash128_to_bytes(h[0], raw);
    cc_hash128_to_bytes(h[1], raw + 16);
    cc_hasher_update(hs, raw, sizeof raw);
    for (int c = 0; c < C; c++)
        cc_hasher_update(hs, names[c], strlen(names[c]) + 1);
    cc_hasher_update(hs, "\n", 1); /* between the lists */
    for (int t = 0; t < nt; t++)
        cc_hasher_update(hs, tpl[t], strlen(tpl[t]) + 1);
    *key = cc_hasher_digest(hs);
    cc_hasher_free(hs);
    return CC_OK;
}

/* Reads the cache into ens/one (C,E each) when it holds this key: *hit 1. A missing file, an
 * older version, a bad checksum or another key give *hit 0 (it is rebuilt); a file that is not
 * a cache is an error, so that it is not overwritten. */
static cc_status cache_read(const char *path, cc_hash128 key, int C, int E, int nt, float *ens,
                            float *one, int *hit)
{
    *hit = 0;
    if (!cc_exists(path))
        return CC_OK;
    cc_buf b;
    cc_buf_init(&b, (size_t)1 << 32);
    CC_TRY(cc_read_file(path, &b));
    size_t hs, want = ZS_CACHE_HS + 2 * (size_t)C * (size_t)E * 4 + 8;
    cc_status st =
        cc_file_check_header(path, b.data, b.len, ZS_CACHE_MAGIC, "zero-shot class-embedding cache",
                             ZS_CACHE_VERSION, ZS_CACHE_HS, &hs);
    if (st == CC_E_VERSION || (st == CC_OK && cc_file_check_sum(path, b.data, b.len) != CC_OK)) {
        cc_log_warn("%s: %s; rebuilding it", path, cc_errmsg());
        st = CC_OK;
    } else if (st == CC_OK) {
        const uint8_t *p = b.data;
        if (cc_hash128_eq(cc_hash128_from_bytes(p + 8), key) &&
            cc_load_u32(p + 24) == (uint32_t)C && cc_load_u32(p + 28) == (uint32_t)E &&
            cc_load_u32(p + 32) == (uint32_t)nt && hs == ZS_CACHE_HS && b.len == want) {
            p += ZS_CACHE_HS;
            for (size_t i = 0; i < 2 * (size_t)C * (size_t)E; i++) {
                uint32_t u = cc_load_u32(p + 4 * i);
                memcpy(i < (size_t)C * (size_t)E ? ens + i : one + (i - (size_t)C * (size_t)E), &u,
                       4);
            }
            *hit = 1;
        } else {
            cc_log_info("%s: made for another checkpoint, tokenizer, classes or templates; "
                        "rebuilding it",
                        path);
        }
    }
    cc_buf_free(&b);
    return st;
}

static cc_status cache_write(const char *path, cc_hash128 key, int C, int E, int nt,
                             const float *ens, const float *one)
{
    uint8_t h[ZS_CACHE_HS] = {0};
    memcpy(h, ZS_CACHE_MAGIC, 4);
    cc_store_u16(h + 4, ZS_CACHE_VERSION);
    cc_store_u16(h + 6, ZS_CACHE_HS);
    cc_hash128_to_bytes(key, h + 8);
    cc_store_u32(h + 24, (uint32_t)C);
    cc_store_u32(h + 28, (uint32_t)E);
    cc_store_u32(h + 32, (uint32_t)nt);
    cc_file_out fo;
    CC_TRY(cc_file_out_open(&fo, path));
    cc_status st = cc_file_out_put(&fo, h, sizeof h);
    for (int k = 0; k < 2 && st == CC_OK; k++) {
        const float *v = k ? one : ens;
        for (size_t i = 0; st == CC_OK && i < (size_t)C * (size_t)E; i++) {
            uint32_t u;
            uint8_t le[4];
            memcpy(&u, v + i, 4);
            cc_store_u32(le, u);
            st = cc_file_out_put(&fo, le, 4);
        }
    }
    if (st != CC_OK) {
        cc_file_out_abort(&fo);
        return st;
    }
    return cc_file_out_commit(&fo);
}

/* The single template the ensemble is compared with. */
static const char *const zs_single_template[] = {"a photo of a {}."};

/* Ensembled and single-template class embeddings (C,E each), from the cache when it matches. */
static cc_status class_embeddings(clip_model *m, const bpe *tok, const cls_opts *o,
                                  char *const *names, int C, const char *const *tpl, int nt,
                                  float *ens, float *one, int *reused)
{
    const int E = clip_model_config(m)->embed_dim;
    cc_hash128 key = {0, 0};
    *reused = 0;
    if (o->cache) {
        CC_TRY(cache_key(o->ckpt, o->tok, names, C, tpl, nt, &key));
        CC_TRY(cache_read(o->cache, key, C, E, nt, ens, one, reused));
        if (*reused)
            return CC_OK;
    }
    CC_TRY(eval_class_embeddings(m, tok, (const char *const *)names, C, tpl, nt, ens));
    CC_TRY(
        eval_class_embeddings(m, tok, (const char *const *)names, C, zs_single_template, 1, one));
    return o->cache ? cache_write(o->cache, key, C, E, nt, ens, one) : CC_OK;
}

/* Everything a classification evaluation needs: model, classes, labelled features. */
typedef struct cls_run {
    bpe *tok;
    clip_model *m;
    char **names;
    int C, E;
    float *feat; /* (n,E) */
    int *lab; /* (n) */
    size_t n;
    uint64_t skipped, unlabelled;
    char **tpl_own; /* templates read from --templates */
    const char *const *tpl;
    int nt;
} cls_run;

static void cls_run_free(cls_run *r)
{
    free(r->feat);
    free(r->lab);
    evalset_free_names(r->names, r->C);
    evalset_free_names(r->tpl_own, r->nt);
    clip_model_free(r->m);
    bpe_free(r->tok);
}

static cc_status cls_run_load(const cls_opts *o, cls_run *r)
{
    CC_TRY(bpe_load(o->tok, &r->tok));
    CC_TRY(load_model(o->ckpt, (int)o->batch, r->tok, &r->m));
    r->E = clip_model_config(r->m)->embed_dim;
    if (o->templates) {
        CC_TRY(evalset_read_names(o->templates, &r->tpl_own, &r->nt));
        r->tpl = (const char *const *)r->tpl_own;
    } else {
        r->tpl = eval_clip_templates;
        r->nt = eval_clip_template_count;
    }
    if (o->images) {
        char lp[8192];
        const char *labels = o->labels;
        if (!labels) {
            CC_TRY(cc_path_join(lp, sizeof lp, o->images, "labels.tsv"));
            labels = lp;
        }
        evalset *s;
        CC_TRY(evalset_load(o->images, labels, o->file_col, o->label_col, o->classes, &s));
        /* The class names move to the run; the set keeps its files until it is freed. */
        r->names = s->classes;
        r->C = s->C;
        r->unlabelled = s->unlabelled;
        s->classes = NULL;
        s->C = 0;
        cc_status st = evalset_embed(r->m, s, &r->feat, &r->lab, &r->n, &r->skipped);
        evalset_free(s);
        return st;
    }
    CC_TRY(evalset_read_names(o->caption_classes, &r->names, &r->C));
    return evalset_embed_manifest(r->m, o->data, (const char *const *)r->names, r->C,
                                  (size_t)o->max_n, &r->feat, &r->lab, &r->n, &r->unlabelled,
                                  &r->skipped);
}

static const char eval_cls_short[] = "qvh";

/* Parses the options of zeroshot (probe 0) or linear-probe (probe 1); a CLI exit status, or -1
 * to go on. */
static int cls_parse(const char *cmd, int probe, int argc, char **argv, cls_opts *o)
{
    *o = (cls_opts){.file_col = "file", .batch = 256, .shots = "1,2,4,8,16", .test_frac = 0.5};
    enum {
        O_IMAGES = 256,
        O_LABELS,
        O_FILECOL,
        O_LABELCOL,
        O_CLASSES,
        O_DATA,
        O_CAPTION,
        O_TOK,
        O_CKPT,
        O_TPL,
        O_CACHE,
        O_JSON,
        O_SHOTS,
        O_MAX,
        O_BATCH,
        O_SEED,
        O_TESTF,
        O_PNG
    };
    static const struct option longopts[] = {
        {"images", required_argument, 0, O_IMAGES},
        {"labels", required_argument, 0, O_LABELS},
        {"file-column", required_argument, 0, O_FILECOL},
        {"label-column", required_argument, 0, O_LABELCOL},
        {"classes", required_argument, 0, O_CLASSES},
        {"data", required_argument, 0, O_DATA},
        {"labels-from-caption", required_argument, 0, O_CAPTION},
        {"tokenizer", required_argument, 0, O_TOK},
        {"checkpoint", required_argument, 0, O_CKPT},
        {"templates", required_argument, 0, O_TPL},
        {"cache", required_argument, 0, O_CACHE},
        {"json", required_argument, 0, O_JSON},
        {"shots", required_argument, 0, O_SHOTS},
        {"max", required_argument, 0, O_MAX},
        {"batch", required_argument, 0, O_BATCH},
        {"seed", required_argument, 0, O_SEED},
        {"test-fraction", required_argument, 0, O_TESTF},
        {"png", required_argument, 0, O_PNG},
        CLI_COMMON_LONG,
        {0, 0, 0, 0}};
    optind = 1;
    int c;
    while ((c = cli_next_opt(argc, argv, eval_cls_short, longopts)) != -1) {
        char *end;
        switch (c) {
        case 0:
            break;
        case 'h':
            fputs(eval_usage, stdout);
            return CLI_EXIT_OK;
        case O_IMAGES:
            o->images = optarg;
            break;
        case O_LABELS:
            o->labels = optarg;
            break;
        case O_FILECOL:
            o->file_col = optarg;
            break;
        case O_LABELCOL:
            o->label_col = optarg;
            break;
        case O_CLASSES:
            o->classes = optarg;
            break;
        case O_DATA:
            o->data = optarg;
            break;
        case O_CAPTION:
            o->caption_classes = optarg;
            break;
        case O_TOK:
            o->tok = optarg;
            break;
        case O_CKPT:
            o->ckpt = optarg;
            break;
        case O_TPL:
            o->templates = optarg;
            break;
        case O_CACHE:
            o->cache = optarg;
            break;
        case O_JSON:
            o->json = optarg;
            break;
        case O_PNG:
            if (!probe)
                return cli_usage_error(cmd, eval_usage, "--png is for linear-probe");
            o->png = optarg;
            break;
        case O_SHOTS:
            if (!probe)
                return cli_usage_error(cmd, eval_usage, "--shots is for linear-probe");
            o->shots = optarg;
            break;
        case O_MAX:
            if (cli_parse_size(optarg, &o->max_n))
                return cli_usage_error(cmd, eval_usage, "bad --max");
            break;
        case O_BATCH:
            if (cli_parse_size(optarg, &o->batch) || o->batch == 0 || o->batch > 65536)
                return cli_usage_error(cmd, eval_usage, "bad --batch");
            break;
        case O_SEED:
            if (cli_parse_size(optarg, &o->seed))
                return cli_usage_error(cmd, eval_usage, "bad --seed");
            break;
        case O_TESTF:
            o->test_frac = strtod(optarg, &end);
            if (!probe || end == optarg || *end || !(o->test_frac > 0 && o->test_frac < 1))
                return cli_usage_error(cmd, eval_usage,
                                       "--test-fraction takes a number in (0,1) (linear-probe)");
            break;
        default:
            return cli_usage_error(cmd, eval_usage, NULL);
        }
    }
    if (optind < argc)
        return cli_usage_error(cmd, eval_usage, "unexpected argument");
    if (!o->tok || !o->ckpt)
        return cli_usage_error(cmd, eval_usage, "--tokenizer and --checkpoint are needed");
    if (!o->images == !o->data)
        return cli_usage_error(cmd, eval_usage, "give either --images DIR or --data MANIFEST");
    if (o->images && !o->label_col)
        return cli_usage_error(cmd, eval_usage, "--images needs --label-column");
    if (o->data && !o->caption_classes)
        return cli_usage_error(cmd, eval_usage, "--data needs --labels-from-caption FILE");
    if (o->images && o->caption_classes)
        return cli_usage_error(cmd, eval_usage, "--labels-from-caption goes with --data");
    if (o->data && (o->labels || o->label_col || o->classes))
        return cli_usage_error(cmd, eval_usage,
                               "--labels, --label-column and --classes go with --images");
    return -1;
}

static void print_counts(const cls_run *r)
{
    printf("%zu images, %d classes (%" PRIu64 " unreadable, %" PRIu64 " without a class)\n", r->n,
           r->C, r->skipped, r->unlabelled);
}

static int eval_zeroshot_cmd(int argc, char **argv)
{
    const char *cmd = "eval zeroshot";
    cls_opts o;
    int rc = cls_parse(cmd, 0, argc, argv, &o);
    if (rc >= 0)
        return rc;
    cls_run r = {0};
    float *ens = NULL, *one = NULL;
    int *pred = NULL;
    uint64_t *conf = NULL;
    cc_buf j;
    cc_buf_init(&j, (size_t)1 << 30);
    int reused = 0;
    double top1 = 0, top5 = 0, s1 = 0, s5 = 0;
    cc_status st = cls_run_load(&o, &r);
    if (st == CC_OK) {
        ens = malloc((size_t)r.C * (size_t)r.E * sizeof *ens);
        one = malloc((size_t)r.C * (size_t)r.E * sizeof *one);
        pred = malloc(r.n * sizeof *pred);
        conf = malloc((size_t)r.C * (size_t)r.C * sizeof *conf);
        if (!ens || !one || !pred || !conf)
            st = cc_fail(CC_E_NOMEM, "out of memory");
    }
    if (st == CC_OK)
        st = class_embeddings(r.m, r.tok, &o, r.names, r.C, r.tpl, r.nt, ens, one, &reused);
    if (st == CC_OK) {
        eval_zeroshot(r.feat, r.n, one, r.C, r.E, r.lab, pred, &s1, &s5, NULL);
        eval_zeroshot(r.feat, r.n, ens, r.C, r.E, r.lab, pred, &top1, &top5, conf);
        double ch1 = 1.0 / r.C, ch5 = (r.C < 5 ? r.C : 5) / (double)r.C;
        printf("zero-shot: ");
        print_counts(&r);
        char ens_label[32];
        snprintf(ens_label, sizeof ens_label, "%d templates", r.nt);
        printf("  %-20s top-1 %5.1f%%  top-5 %5.1f%%%s\n", ens_label, 100 * top1, 100 * top5,
               reused ? "  (class embeddings from the cache)" : "");
        printf("  %-20s top-1 %5.1f%%  top-5 %5.1f%%\n", "\"a photo of a {}.\"", 100 * s1,
               100 * s5);
        printf("  %-20s top-1 %5.1f%%  top-5 %5.1f%%\n", "chance", 100 * ch1, 100 * ch5);
        printf("  per class (%d templates):\n", r.nt);
        st = jput(&j,
                  "{\"images\": %zu, \"classes\": %d, \"skipped\": %" PRIu64
                  ", \"unlabelled\": %" PRIu64 ", \"templates\": %d, \"cache_reused\": %s, "
                  "\"top1\": %.6f, \"top5\": %.6f, \"single_template\": {\"template\": \"a photo "
                  "of a {}.\", \"top1\": %.6f, \"top5\": %.6f}, \"chance\": {\"top1\": %.6f, "
                  "\"top5\": %.6f}, \"class_names\": [",
                  r.n, r.C, r.skipped, r.unlabelled, r.nt, reused ? "true" : "false", top1, top5,
                  s1, s5, ch1, ch5);
        for (int c = 0; st == CC_OK && c < r.C; c++) {
            st = c ? jput(&j, ", ") : CC_OK;
            if (st == CC_OK)
                st = jstr(&j, r.names[c]);
        }
        if (st == CC_OK)
            st = jput(&j, "], \"per_class\": [");
        for (int c = 0; st == CC_OK && c < r.C; c++) {
            uint64_t tot = 0;
            for (int k = 0; k < r.C; k++)
                tot += conf[(size_t)c * (size_t)r.C + (size_t)k];
            double acc = tot ? (double)conf[(size_t)c * (size_t)r.C + (size_t)c] / (double)tot : 0;
            printf("    %-24s %5.1f%%  (%" PRIu64 " images)\n", r.names[c], 100 * acc, tot);
            st = jput(&j, "%s{\"class\": ", c ? ", " : "");
            if (st == CC_OK)
                st = jstr(&j, r.names[c]);
            if (st == CC_OK)
                st = jput(&j, ", \"images\": %" PRIu64 ", \"accuracy\": %.6f}", tot, acc);
        }
        if (st == CC_OK)
            st = jput(&j, "], \"confusion\": [");
        for (int c = 0; st == CC_OK && c < r.C; c++) {
            st = jput(&j, "%s[", c ? ", " : "");
            for (int k = 0; st == CC_OK && k < r.C; k++)
                st = jput(&j, "%s%" PRIu64, k ? ", " : "",
                          conf[(size_t)c * (size_t)r.C + (size_t)k]);
            if (st == CC_OK)
                st = jput(&j, "]");
        }
        if (st == CC_OK)
            st = jput(&j, "]}\n");
    }
    if (st == CC_OK && o.json)
        st = write_json(o.json, &j);
    cc_buf_free(&j);
    free(ens);
    free(one);
    free(pred);
    free(conf);
    cls_run_free(&r);
    return st == CC_OK ? CLI_EXIT_OK : cli_fail(cmd, st);
}

/* Parses "1,2,4" into shots (at most max values, each 1..1e6). -1 when malformed. */
static int parse_shots(const char *s, int *shots, int max)
{
    int n = 0;
    while (*s) {
        char *end;
        long v = strtol(s, &end, 10);
        if (end == s || v < 1 || v > 1000000 || n == max || (*end && *end != ','))
            return -1;
        shots[n++] = (int)v;
        s = *end ? end + 1 : end;
        if (*end && !*s)
            return -1;
    }
    return n ? n : -1;
}

/* Copies rows idx[0..k) of feat/lab into x/y. */
static void gather(const float *feat, const int *lab, int E, const size_t *idx, size_t k, float *x,
                   int *y)
{
    for (size_t i = 0; i < k; i++) {
        memcpy(x + i * (size_t)E, feat + idx[i] * (size_t)E, (size_t)E * sizeof *x);
        y[i] = lab[idx[i]];
    }
}

#define PROBE_MAX_SHOTS 32

static int eval_probe_cmd(int argc, char **argv)
{
    const char *cmd = "eval linear-probe";
    cls_opts o;
    int rc = cls_parse(cmd, 1, argc, argv, &o);
    if (rc >= 0)
        return rc;
    int shots[PROBE_MAX_SHOTS], ns = parse_shots(o.shots, shots, PROBE_MAX_SHOTS);
    if (ns < 0)
        return cli_usage_error(cmd, eval_usage, "bad --shots (positive counts, comma-separated)");
    cls_run r = {0};
    unsigned char *is_test = NULL;
    size_t *pool = NULL, *test = NULL, *pick = NULL, npool = 0, ntest = 0;
    float *x = NULL, *xt = NULL, *ens = NULL, *one = NULL;
    int *y = NULL, *yt = NULL, *pred = NULL, reused = 0;
    cc_buf j;
    cc_buf_init(&j, (size_t)1 << 30);
    cc_status st = cls_run_load(&o, &r);
    if (st == CC_OK) {
        const size_t n = r.n, E = (size_t)r.E, C = (size_t)r.C;
        is_test = malloc(n);
        pool = malloc(n * sizeof *pool);
        test = malloc(n * sizeof *test);
        pick = malloc(n * sizeof *pick);
        x = malloc(n * E * sizeof *x);
        xt = malloc(n * E * sizeof *xt);
        y = malloc(n * sizeof *y);
        yt = malloc(n * sizeof *yt);
        pred = malloc(n * sizeof *pred);
        ens = malloc(C * E * sizeof *ens);
        one = malloc(C * E * sizeof *one);
        if (!is_test || !pool || !test || !pick || !x || !xt || !y || !yt || !pred || !ens || !one)
            st = cc_fail(CC_E_NOMEM, "out of memory");
    }
    if (st == CC_OK) {
        /* A fixed test split (per class, from the seed) shared by every probe and zero-shot. */
        linprobe_split(r.lab, r.n, r.C, o.test_frac, o.seed ^ 0x7e57u, is_test);
        for (size_t i = 0; i < r.n; i++) {
            if (is_test[i])
                test[ntest++] = i;
            else
                pool[npool++] = i;
        }
        if (!ntest)
            st =
                cc_fail(CC_E_INVAL, "no class has 2 images, so nothing is left to test a probe on");
    }
    double zs1 = 0, zs5 = 0, all_acc = 0;
    char curve[PROBE_MAX_SHOTS * 40] = "";
    size_t curve_len = 0;
    if (st == CC_OK) {
        gather(r.feat, r.lab, r.E, test, ntest, xt, yt);
        st = class_embeddings(r.m, r.tok, &o, r.names, r.C, r.tpl, r.nt, ens, one, &reused);
    }
    if (st == CC_OK) {
        eval_zeroshot(xt, ntest, ens, r.C, r.E, yt, pred, &zs1, &zs5, NULL);
        printf("linear probe: ");
        print_counts(&r);
        printf("  %zu test images (%.0f%% of each class, seed %" PRIu64 "), %zu to train from\n",
               ntest, 100 * o.test_frac, o.seed, npool);
        printf("  zero-shot (%d templates)   top-1 %5.1f%%\n", r.nt, 100 * zs1);
        st = jput(&j,
                  "{\"images\": %zu, \"classes\": %d, \"skipped\": %" PRIu64
                  ", \"unlabelled\": %" PRIu64 ", \"test_images\": %zu, \"seed\": %" PRIu64
                  ", \"chance\": %.6f, \"zeroshot\": {\"templates\": %d, \"top1\": %.6f, "
                  "\"top5\": %.6f}, \"probes\": [",
                  r.n, r.C, r.skipped, r.unlabelled, ntest, o.seed, 1.0 / r.C, r.nt, zs1, zs5);
    }
    /* k-shot probes, then the probe on the whole pool (k = 0 below). */
    for (int si = 0; st == CC_OK && si <= ns; si++) {
        int k = si < ns ? shots[si] : 0;
        size_t nk = 0;
        if (k) {
            /* k images of each class, the first k of a seeded shuffle of its pool images. */
            for (int c = 0; c < r.C; c++) {
                size_t m = 0, *cls = pick + nk;
                for (size_t i = 0; i < npool; i++)
                    if (r.lab[pool[i]] == c)
                        cls[m++] = pool[i];
                cc_rng g;
                cc_rng_stream(&g, o.seed, (uint64_t)k, (uint64_t)c);
                for (size_t i = m; i > 1; i--) {
                    size_t jx = (size_t)cc_rng_below(&g, i), t = cls[i - 1];
                    cls[i - 1] = cls[jx];
                    cls[jx] = t;
                }
                nk += m < (size_t)k ? m : (size_t)k;
            }
        } else {
            memcpy(pick, pool, npool * sizeof *pick);
            nk = npool;
        }
        if (!nk) {
            st = cc_fail(CC_E_INVAL, "no training image left for the probe");
            break;
        }
        gather(r.feat, r.lab, r.E, pick, nk, x, y);
        double va[16];
        linprobe *p = NULL;
        st = linprobe_select(x, y, nk, r.E, r.C, NULL, 0, 0.2, o.seed, 0, va, &p);
        if (st != CC_OK)
            break;
        double acc = linprobe_accuracy(p, xt, yt, ntest);
        char label[32], kstr[16] = "\"all\"";
        if (k)
            snprintf(kstr, sizeof kstr, "%d", k);
        if (k)
            snprintf(label, sizeof label, "%d-shot", k);
        else
            snprintf(label, sizeof label, "all (%zu)", nk);
        printf("  probe %-18s   top-1 %5.1f%%  (lambda %g, %zu training images)\n", label,
               100 * acc, p->lambda, nk);
        if (k) {
            int n = snprintf(curve + curve_len, sizeof curve - curve_len, "%d %f\n", k, acc);
            curve_len += n > 0 ? (size_t)n : 0;
        } else {
            all_acc = acc;
        }
        st = jput(&j,
                  "%s{\"shots\": %s, \"train_images\": %zu, \"lambda\": %g, \"iterations\": "
                  "%d, \"top1\": %.6f, \"validation_top1\": [",
                  si ? ", " : "", kstr, nk, p->lambda, p->iterations, acc);
        for (int g = 0; st == CC_OK && g < linprobe_default_grid_count; g++)
            st = jput(&j, "%s%.6f", g ? ", " : "", va[g]);
        if (st == CC_OK)
            st = jput(&j, "]}");
        linprobe_free(p);
    }
    if (st == CC_OK)
        st = jput(&j, "], \"lambda_grid\": [");
    for (int g = 0; st == CC_OK && g < linprobe_default_grid_count; g++)
        st = jput(&j, "%s%g", g ? ", " : "", linprobe_default_grid[g]);
    if (st == CC_OK)
        st = jput(&j, "]}\n");
    if (st == CC_OK && o.json)
        st = write_json(o.json, &j);
    if (st == CC_OK && o.png && curve_len)
        st = cli_plot(o.png,
                      "set title 'linear probe with k images per class vs zero-shot (%d classes)'\n"
                      "set xlabel 'images per class (k)'\nset ylabel 'top-1 on the test images'\n"
                      "set logscale x 2\nset yrange [0:1]\nset key left top\n"
                      "plot '-' using 1:2 with linespoints title 'k-shot linear probe', "
                      "%f with lines dt 2 title 'zero-shot (%d templates)', "
                      "%f with lines dt 3 title 'probe on all training images', "
                      "%f with lines dt 4 title 'chance'\n%se\n",
                      r.C, zs1, r.nt, all_acc, 1.0 / r.C, curve);
    cc_buf_free(&j);
    free(is_test);
    free(pool);
    free(test);
    free(pick);
    free(x);
    free(xt);
    free(y);
    free(yt);
    free(pred);
    free(ens);
    free(one);
    cls_run_free(&r);
    return st == CC_OK ? CLI_EXIT_OK : cli_fail(cmd, st);
}

int cli_eval(int argc, char **argv)
{
    static const cli_subcommand cmds[] = {{"retrieval", eval_retrieval},
                                          {"zeroshot", eval_zeroshot_cmd},
                                          {"linear-probe", eval_probe_cmd}};
    return cli_dispatch("eval", eval_usage, cmds, sizeof cmds / sizeof cmds[0], argc, argv);
}
