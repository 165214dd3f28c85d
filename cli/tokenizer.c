/* cli/tokenizer.c — `clipcrawl tokenizer train|encode|stat`: the trainer's byte-level BPE
 * tokenizer (trainer/bpe.h, docs/TOKENIZER.md). */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "common/buf.h"
#include "common/log.h"
#include "trainer/bpe.h"

static const char tokenizer_usage[] =
    "usage: clipcrawl tokenizer COMMAND [ARGS]\n"
    "\n"
    "  train --data DIR|MANIFEST --vocab N -o FILE   learn a byte-level BPE from the captions\n"
    "  encode --tokenizer FILE [TEXT...]             token ids of each text (stdin lines when\n"
    "                                                no text is given); --decode round-trips\n"
    "  stat FILE                                     vocab, merges, context, first merges\n"
    "\n"
    "Each command takes --help.\n";

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Parses a decimal number in [lo, hi]. */
static int parse_u32(const char *s, uint32_t lo, uint32_t hi, uint32_t *out)
{
    uint64_t v;
    if (cli_parse_size(s, &v) || v < lo || v > hi)
        return -1;
    *out = (uint32_t)v;
    return 0;
}

/* ---- train --------------------------------------------------------------------------------- */

static const char train_usage[] =
    "usage: clipcrawl tokenizer train --data DIR|MANIFEST --vocab N -o FILE [options]\n"
    "\n"
    "Learns a byte-level BPE (CLIP's scheme) from the captions of every record of a shard\n"
    "folder or manifest and writes it to FILE (atomically).\n"
    "\n"
    "  --data DIR|MANIFEST   the dataset (a shard folder or its manifest.tsv; required)\n"
    "  --vocab N             tokens wanted, 514 + merges (required; CLIP: 49408); fewer when\n"
    "                        no pair occurs twice any more\n"
    "  -o, --out FILE        where to write the tokenizer (required)\n"
    "  --context N           default context length saved with it (default 77, at least 3)\n"
    "  --max-words N         distinct words kept while counting (default 4000000; the rarest\n"
    "                        are dropped first when full)\n"
    "  -q, --quiet / -v, --verbose\n";

typedef struct {
    bpe_trainer *t;
    cc_status st;
} train_ctx;

static int train_rec(void *ctx, const shard_manifest_entry *e, uint64_t index,
                     const shard_record *r)
{
    (void)e;
    (void)index;
    train_ctx *c = ctx;
    c->st =
        bpe_trainer_add(c->t, r->caption ? r->caption : "", r->caption ? strlen(r->caption) : 0);
    return c->st != CC_OK;
}

static int cmd_train(int argc, char **argv)
{
    const char *cmd = "tokenizer train";
    static const struct option lo[] = {{"data", required_argument, 0, 'd'},
                                       {"vocab", required_argument, 0, 'V'},
                                       {"out", required_argument, 0, 'o'},
                                       {"context", required_argument, 0, 'c'},
                                       {"max-words", required_argument, 0, 'w'},
                                       CLI_COMMON_LONG,
                                       {0, 0, 0, 0}};
    const char *data = NULL, *out = NULL;
    uint32_t vocab = 0, context = BPE_CONTEXT_DEFAULT;
    uint64_t max_words = 0;
    int c;
    while ((c = cli_next_opt(argc, argv, "o:qvh", lo)) != -1) {
        switch (c) {
        case 0:
            break;
        case 'd':
            data = optarg;
            break;
        case 'V':
            if (parse_u32(optarg, BPE_BYTES + 2, BPE_MAX_VOCAB, &vocab))
                return cli_usage_error(cmd, train_usage, "--vocab needs a number in 514..1048576");
            break;
        case 'o':
            out = optarg;
            break;
        case 'c':
            if (parse_u32(optarg, 3, 1u << 20, &context))
                return cli_usage_error(cmd, train_usage, "--context needs a number >= 3");
            break;
        case 'w':
            if (cli_parse_size(optarg, &max_words) || max_words == 0)
                return cli_usage_error(cmd, train_usage, "--max-words needs a positive number");
            break;
        case 'h':
            fputs(train_usage, stdout);
            return CLI_EXIT_OK;
        default:
            return cli_usage_error(cmd, train_usage, NULL);
        }
    }
    if (!data)
        return cli_usage_error(cmd, train_usage, "--data DIR|MANIFEST is required");
    if (!vocab)
        return cli_usage_error(cmd, train_usage, "--vocab N is required");
    if (!out)
        return cli_usage_error(cmd, train_usage, "-o FILE is required");
    if (optind != argc)
        return cli_usage_error(cmd, train_usage, "unexpected argument");

    double t0 = now_s();
    shard_manifest *m = NULL;
    cc_status st = shard_manifest_load(data, &m);
    if (st != CC_OK)
        return cli_fail(cmd, st);
    train_ctx tc = {NULL, CC_OK};
    st = bpe_trainer_new(max_words, &tc.t);
    if (st != CC_OK) {
        shard_manifest_free(m);
        return cli_fail(cmd, st);
    }
    int rc = cli_walk_records(cmd, m, train_rec, &tc);
    shard_manifest_free(m);
    if (rc && tc.st != CC_OK)
        rc = cli_fail(cmd, tc.st);
    double t1 = now_s();
    bpe *b = NULL;
    if (rc == 0) {
        st = bpe_trainer_finish(tc.t, vocab, context, &b);
        if (st == CC_OK)
            st = bpe_save(b, out);
        if (st != CC_OK)
            rc = cli_fail(cmd, st);
    }
    double t2 = now_s();
    if (rc == 0) {
        printf("texts %" PRIu64 "\n", bpe_trainer_texts(tc.t));
        printf("distinct words %" PRIu64 "\n", bpe_trainer_words(tc.t));
        printf("vocab %" PRIu32 " (asked %" PRIu32 ")\n", bpe_vocab(b), vocab);
        printf("merges learned %" PRIu32 "\n", bpe_merges(b));
        printf("context %" PRIu32 "\n", bpe_context(b));
        printf("seconds %.2f (reading and counting %.2f, merging %.2f)\n", t2 - t0, t1 - t0,
               t2 - t1);
        printf("written %s\n", out);
        if (bpe_vocab(b) < vocab)
            cc_log_warn("tokenizer: stopped at vocab %" PRIu32 ": no pair occurs twice any more",
                        bpe_vocab(b));
    }
    bpe_free(b);
    bpe_trainer_free(tc.t);
    return rc;
}

/* ---- encode -------------------------------------------------------------------------------- */

static const char encode_usage[] =
    "usage: clipcrawl tokenizer encode --tokenizer FILE [--context N] [--decode] [TEXT...]\n"
    "\n"
    "Encodes each TEXT as the text encoder sees it (start-of-text, tokens, end-of-text;\n"
    "truncated to the context with end-of-text last) and prints the ids space-separated, one\n"
    "line per text, without the padding zeros. With no TEXT, encodes each line of stdin.\n"
    "\n"
    "  --tokenizer FILE   a tokenizer from `clipcrawl tokenizer train` (required)\n"
    "  --context N        context length (default: the tokenizer's own, at least 3)\n"
    "  --decode           print the decoded text instead of the ids (the cleaned text, cut\n"
    "                     at the context): a round-trip check\n"
    "  -q, --quiet / -v, --verbose\n";

/* Encodes one text and prints its line. */
static cc_status encode_one(const bpe *b, const char *text, size_t len, uint32_t ctx, int decode,
                            int32_t *ids, cc_buf *line)
{
    uint32_t n;
    CC_TRY(bpe_encode(b, text, len, ids, ctx, &n));
    cc_buf_reset(line);
    if (decode) {
        CC_TRY(bpe_decode(b, ids, n, line));
    } else {
        for (uint32_t i = 0; i < n; i++) {
            char num[16];
            int k = snprintf(num, sizeof num, "%s%" PRId32, i ? " " : "", ids[i]);
            CC_TRY(cc_buf_append(line, num, (size_t)k));
        }
    }
    CC_TRY(cc_buf_append(line, "\n", 1));
    if (fwrite(line->data, 1, line->len, stdout) != line->len)
        return cc_fail(CC_E_IO, "stdout: %s", strerror(errno));
    return CC_OK;
}

static int cmd_encode(int argc, char **argv)
{
    const char *cmd = "tokenizer encode";
    static const struct option lo[] = {{"tokenizer", required_argument, 0, 't'},
                                       {"context", required_argument, 0, 'c'},
                                       {"decode", no_argument, 0, 'D'},
                                       CLI_COMMON_LONG,
                                       {0, 0, 0, 0}};
    const char *path = NULL;
    uint32_t ctx = 0;
    int decode = 0, c;
    while ((c = cli_next_opt(argc, argv, "qvh", lo)) != -1) {
        switch (c) {
        case 0:
            break;
        case 't':
            path = optarg;
            break;
        case 'c':
            if (parse_u32(optarg, 3, 1u << 20, &ctx))
                return cli_usage_error(cmd, encode_usage, "--context needs a number >= 3");
            break;
        case 'D':
            decode = 1;
            break;
        case 'h':
            fputs(encode_usage, stdout);
            return CLI_EXIT_OK;
        default:
            return cli_usage_error(cmd, encode_usage, NULL);
        }
    }
    if (!path)
        return cli_usage_error(cmd, encode_usage, "--tokenizer FILE is required");
    bpe *b = NULL;
    cc_status st = bpe_load(path, &b);
    if (st != CC_OK)
        return cli_fail(cmd, st);
    if (!ctx)
        ctx = bpe_context(b);
    int32_t *ids = malloc((size_t)ctx * sizeof *ids);
    cc_buf line;
    cc_buf_init(&line, SIZE_MAX);
    st = ids ? CC_OK : cc_fail(CC_E_NOMEM, "out of memory");
    if (optind < argc) {
        for (int i = optind; st == CC_OK && i < argc; i++)
            st = encode_one(b, argv[i], strlen(argv[i]), ctx, decode, ids, &line);
    } else {
        char *in = NULL;
        size_t cap = 0;
        ssize_t n;
        while (st == CC_OK && (n = getline(&in, &cap, stdin)) >= 0) {
            size_t len = (size_t)n;
            if (len && in[len - 1] == '\n')
                len--;
            st = encode_one(b, in, len, ctx, decode, ids, &line);
        }
        if (st == CC_OK && ferror(stdin))
            st = cc_fail(CC_E_IO, "stdin: read error");
        free(in);
    }
    if (st == CC_OK && fflush(stdout) != 0)
        st = cc_fail(CC_E_IO, "stdout: %s", strerror(errno));
    cc_buf_free(&line);
    free(ids);
    bpe_free(b);
    return st == CC_OK ? CLI_EXIT_OK : cli_fail(cmd, st);
}

/* ---- stat ---------------------------------------------------------------------------------- */

static const char stat_usage[] = "usage: clipcrawl tokenizer stat FILE\n"
                                 "\n"
                                 "Prints a tokenizer's vocab, merges, context length, special ids\n"
                                 "and its first 20 merges as text (\"</w>\": the token ends a "
                                 "word).\n";

/* Appends token t's text to out, with "</w>" when it ends a word. */
static cc_status token_text(const bpe *b, int32_t t, cc_buf *out)
{
    int32_t two[2] = {t, t};
    size_t at = out->len;
    CC_TRY(bpe_decode(b, two, 1, out));
    size_t one = out->len - at;
    CC_TRY(bpe_decode(b, two, 2, out));
    int final = out->len - at - one == one + 1; /* a space after a word-final token */
    out->len = at + one;
    if (final)
        CC_TRY(cc_buf_append(out, "</w>", 4));
    return CC_OK;
}

static int cmd_stat(int argc, char **argv)
{
    const char *cmd = "tokenizer stat";
    static const struct option lo[] = {CLI_COMMON_LONG, {0, 0, 0, 0}};
    int c;
    while ((c = cli_next_opt(argc, argv, "qvh", lo)) != -1) {
        switch (c) {
        case 0:
            break;
        case 'h':
            fputs(stat_usage, stdout);
            return CLI_EXIT_OK;
        default:
            return cli_usage_error(cmd, stat_usage, NULL);
        }
    }
    if (optind + 1 != argc)
        return cli_usage_error(cmd, stat_usage,
                               optind >= argc ? "missing FILE" : "too many arguments");
    bpe *b = NULL;
    cc_status st = bpe_load(argv[optind], &b);
    if (st != CC_OK)
        return cli_fail(cmd, st);
    printf("file %s\n", argv[optind]);
    printf("vocab %" PRIu32 "\n", bpe_vocab(b));
    printf("merges %" PRIu32 "\n", bpe_merges(b));
    printf("context %" PRIu32 "\n", bpe_context(b));
    printf("start_of_text %" PRId32 "\n", bpe_sot(b));
    printf("end_of_text %" PRId32 "\n", bpe_eot(b));
    cc_buf text;
    cc_buf_init(&text, 1 << 20);
    uint32_t show = bpe_merges(b) < 20 ? bpe_merges(b) : 20;
    if (show)
        printf("first merges (rank id text):\n");
    for (uint32_t i = 0; st == CC_OK && i < show; i++) {
        cc_buf_reset(&text);
        st = token_text(b, BPE_BYTES + (int32_t)i, &text);
        if (st == CC_OK)
            printf("  %" PRIu32 " %" PRIu32 " %.*s\n", i, BPE_BYTES + i, (int)text.len,
                   (const char *)text.data);
    }
    cc_buf_free(&text);
    bpe_free(b);
    return st == CC_OK ? CLI_EXIT_OK : cli_fail(cmd, st);
}

int cli_tokenizer(int argc, char **argv)
{
    static const cli_subcommand cmds[] = {
        {"train", cmd_train}, {"encode", cmd_encode}, {"stat", cmd_stat}};
    return cli_dispatch("tokenizer", tokenizer_usage, cmds, sizeof cmds / sizeof cmds[0], argc,
                        argv);
}
