/* cli/shards.c — `clipcrawl shards pack|stat|dump|verify|ls|export`. */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "cli/cli.h"
#include "common/file.h"
#include "common/log.h"
#include "filters/image.h"
#include "filters/probe.h"
#include "shards/json.h"
#include "shards/shard.h"

static const char shards_usage[] =
    "usage: clipcrawl shards COMMAND [ARGS]\n"
    "\n"
    "  pack --from LIST.tsv --out DIR   pack image files + captions into sealed shards\n"
    "  stat DIR|MANIFEST                counts, bytes and formats of a dataset\n"
    "  dump DIR|MANIFEST                records as JSON lines (--images DIR writes the images)\n"
    "  verify DIR|MANIFEST              check every checksum and record; exit 1 on any problem\n"
    "  ls DIR|MANIFEST                  list the sealed shards\n"
    "  export DIR|MANIFEST --format webdataset --out DIR\n"
    "                                   write tar shards (KEY.jpg, KEY.txt, KEY.json)\n"
    "\n"
    "DIR is a folder written by clipcrawl (it holds manifest.tsv); MANIFEST is that file.\n"
    "Each command takes --help.\n";

/* Exactly one positional argument (the dataset) after options. */
static const char *one_dataset(int argc, char **argv, const char *cmd, const char *usage)
{
    if (optind + 1 != argc) {
        cli_usage_error(cmd, usage,
                        optind >= argc ? "missing DIR or MANIFEST" : "too many arguments");
        return NULL;
    }
    return argv[optind];
}

static int load_manifest(const char *cmd, const char *arg, shard_manifest **m)
{
    cc_status st = shard_manifest_load(arg, m);
    return st == CC_OK ? 0 : cli_fail(cmd, st);
}

/* Parses a command that takes only the common options and one DIR|MANIFEST, and loads the
 * manifest into *m. *m stays NULL when the command is over: the return value is then its exit
 * status (0 after --help). */
static int dataset_only_args(int argc, char **argv, const char *cmd, const char *usage,
                             shard_manifest **m)
{
    static const struct option lo[] = {CLI_COMMON_LONG, {0, 0, 0, 0}};
    int c;
    while ((c = cli_next_opt(argc, argv, "qvh", lo)) != -1) {
        if (c == 'h') {
            fputs(usage, stdout);
            return CLI_EXIT_OK;
        }
        if (c != 0)
            return cli_usage_error(cmd, usage, NULL);
    }
    const char *ds = one_dataset(argc, argv, cmd, usage);
    return ds ? load_manifest(cmd, ds, m) : CLI_EXIT_USAGE;
}

/* ---- stat -------------------------------------------------------------------------------- */

static const char stat_usage[] =
    "usage: clipcrawl shards stat DIR|MANIFEST\n"
    "\n"
    "Reads every record (after checking each shard's checksum) and prints counts, sizes, image\n"
    "formats and caption lengths.\n";

typedef struct stat_acc {
    uint64_t n, image_bytes, caption_bytes, formats[4], with_query, with_license;
    uint64_t min_side, max_side;
    uint32_t cap_max;
} stat_acc;

static int stat_rec(void *ctx, const shard_manifest_entry *e, uint64_t index, const shard_record *r)
{
    (void)e;
    (void)index;
    stat_acc *a = ctx;
    size_t cl = strlen(r->caption);
    a->n++;
    a->image_bytes += r->image_len;
    a->caption_bytes += cl;
    a->cap_max = cl > a->cap_max ? (uint32_t)cl : a->cap_max;
    a->formats[r->image_format < 4 ? r->image_format : 0]++;
    a->with_query += r->query_id != SHARD_NO_QUERY;
    a->with_license += r->license[0] != '\0';
    uint64_t side = r->width < r->height ? r->width : r->height;
    if (a->n == 1 || side < a->min_side)
        a->min_side = side;
    if (side > a->max_side)
        a->max_side = side;
    return 0;
}

static int cmd_stat(int argc, char **argv)
{
    const char *cmd = "shards stat";
    shard_manifest *m = NULL;
    int rc = dataset_only_args(argc, argv, cmd, stat_usage, &m);
    if (!m)
        return rc;
    stat_acc a = {0};
    rc = cli_walk_records(cmd, m, stat_rec, &a);
    if (rc == 0) {
        uint64_t bytes = 0;
        for (size_t i = 0; i < m->n; i++)
            bytes += m->entries[i].bytes;
        double n = a.n ? (double)a.n : 1.0;
        printf("shards:             %zu\n", m->n);
        printf("pairs:              %" PRIu64 "\n", a.n);
        printf("shard bytes:        %" PRIu64 " (%.1f MiB, %.0f per pair)\n", bytes,
               (double)bytes / 1048576.0, (double)bytes / n);
        printf("image bytes:        %" PRIu64 " (%.0f per pair, %.1f%% of shard bytes)\n",
               a.image_bytes, (double)a.image_bytes / n,
               bytes ? 100.0 * (double)a.image_bytes / (double)bytes : 0.0);
        printf("formats:            jpg %" PRIu64 ", png %" PRIu64 ", webp %" PRIu64
               ", other %" PRIu64 "\n",
               a.formats[1], a.formats[2], a.formats[3], a.formats[0]);
        printf("shorter side:       %" PRIu64 "..%" PRIu64 " px\n", a.min_side, a.max_side);
        printf("caption bytes:      mean %.1f, max %u\n", (double)a.caption_bytes / n, a.cap_max);
        printf("with a query:       %" PRIu64 "\n", a.with_query);
        printf("with a license:     %" PRIu64 "\n", a.with_license);
    }
    shard_manifest_free(m);
    return rc;
}

/* ---- dump -------------------------------------------------------------------------------- */

static const char dump_usage[] =
    "usage: clipcrawl shards dump DIR|MANIFEST [--shard NAME] [--limit N] [--images DIR]\n"
    "\n"
    "Prints records as JSON lines (keys: key, caption, url, page_url, license, query_id,\n"
    "query_ids, format, image_bytes, width, height, orig_width, orig_height, content_hash,\n"
    "phash, fetch_time_ms; see docs/FORMAT.md).\n"
    "\n"
    "  --shard NAME   only this shard (e.g. shard-000003.lmdb or 3)\n"
    "  --limit N      stop after N records\n"
    "  --images DIR   also write each image as DIR/KEY.jpg|png|webp\n";

typedef struct dump_ctx {
    cc_buf json;
    const char *images;
    uint64_t limit, n;
} dump_ctx;

static int dump_rec(void *ctx, const shard_manifest_entry *e, uint64_t index, const shard_record *r)
{
    (void)e;
    (void)index;
    dump_ctx *d = ctx;
    if (d->limit && d->n >= d->limit)
        return -1;
    cc_buf_reset(&d->json);
    cc_status st = shard_record_to_json(r, &d->json);
    if (st != CC_OK)
        return cli_fail("shards dump", st);
    fwrite(d->json.data, 1, d->json.len, stdout);
    fputc('\n', stdout);
    if (d->images) {
        char name[64], path[4096];
        cc_hash128_hex(cc_hash128_from_bytes(r->uid), name);
        snprintf(name + 32, sizeof name - 32, ".%s", shard_image_ext(r->image_format));
        FILE *f = NULL;
        if (cc_path_join(path, sizeof path, d->images, name) != CC_OK || !(f = fopen(path, "wb")) ||
            fwrite(r->image, 1, r->image_len, f) != r->image_len) {
            cli_error("shards dump", "%s: %s", path, strerror(errno));
            if (f)
                fclose(f);
            return CLI_EXIT_FAIL;
        }
        if (fclose(f) != 0) {
            cli_error("shards dump", "%s: %s", path, strerror(errno));
            return CLI_EXIT_FAIL;
        }
    }
    d->n++;
    return 0;
}

/* Keeps only the entry named by sel ("shard-000003.lmdb" or "3"). */
static int select_shard(shard_manifest *m, const char *sel)
{
    char name[SHARD_NAME_MAX];
    char *end;
    unsigned long no = strtoul(sel, &end, 10);
    if (*sel && !*end)
        snprintf(name, sizeof name, "shard-%06lu.lmdb", no);
    else
        snprintf(name, sizeof name, "%s", sel);
    for (size_t i = 0; i < m->n; i++) {
        if (strcmp(m->entries[i].name, name) == 0) {
            m->entries[0] = m->entries[i];
            m->n = 1;
            return 0;
        }
    }
    return -1;
}

static int cmd_dump(int argc, char **argv)
{
    const char *cmd = "shards dump";
    static const struct option lo[] = {{"shard", required_argument, 0, 's'},
                                       {"limit", required_argument, 0, 'n'},
                                       {"images", required_argument, 0, 'i'},
                                       CLI_COMMON_LONG,
                                       {0, 0, 0, 0}};
    dump_ctx d = {.images = NULL};
    const char *sel = NULL;
    int c;
    while ((c = cli_next_opt(argc, argv, "qvh", lo)) != -1) {
        switch (c) {
        case 0:
            break;
        case 's':
            sel = optarg;
            break;
        case 'n':
            if (cli_parse_size(optarg, &d.limit) || d.limit == 0)
                return cli_usage_error(cmd, dump_usage, "--limit needs a positive number");
            break;
        case 'i':
            d.images = optarg;
            break;
        case 'h':
            fputs(dump_usage, stdout);
            return CLI_EXIT_OK;
        default:
            return cli_usage_error(cmd, dump_usage, NULL);
        }
    }
    const char *ds = one_dataset(argc, argv, cmd, dump_usage);
    if (!ds)
        return CLI_EXIT_USAGE;
    shard_manifest *m;
    int rc = load_manifest(cmd, ds, &m);
    if (rc)
        return rc;
    if (sel && select_shard(m, sel) != 0) {
        cli_error(cmd, "%s: no shard '%s' in the manifest", ds, sel);
        shard_manifest_free(m);
        return CLI_EXIT_FAIL;
    }
    if (d.images && cc_mkdir(d.images) != CC_OK) {
        shard_manifest_free(m);
        return cli_fail(cmd, CC_E_IO);
    }
    cc_buf_init(&d.json, 8 * SHARD_MAX_META);
    rc = cli_walk_records(cmd, m, dump_rec, &d);
    if (rc == -1)
        rc = 0; /* --limit reached */
    if (fflush(stdout) != 0 && rc == 0) {
        cli_error(cmd, "writing the output: %s", strerror(errno));
        rc = CLI_EXIT_FAIL;
    }
    cc_buf_free(&d.json);
    shard_manifest_free(m);
    return rc;
}

/* ---- verify ------------------------------------------------------------------------------ */

static const char verify_usage[] =
    "usage: clipcrawl shards verify DIR|MANIFEST\n"
    "\n"
    "Checks every shard's size and XXH3-128 checksum against the manifest, then decodes every\n"
    "record (record checksums, lengths, zstd frames, uid table) and parses every image header\n"
    "(format and size must match the record). Prints each problem with its shard and record;\n"
    "exits 0 when all is well, 1 otherwise.\n";

/* verify decodes every image fully with the default limits (filters/image.h): a record whose
 * header parses but whose data is damaged is bad too. */
static int verify_image(void *ctx, const shard_record *r, char *msg, size_t cap)
{
    img_rgb *pixels = ctx;
    img_probe p;
    if (img_probe_bytes(r->image, r->image_len, &p) != CC_OK) {
        snprintf(msg, cap, "image does not parse: %s", cc_errmsg());
        return 1;
    }
    if (p.format != r->image_format) {
        snprintf(msg, cap, "image is %s but the record says %s", shard_image_ext(p.format),
                 shard_image_ext(r->image_format));
        return 1;
    }
    if (p.width != r->width || p.height != r->height) {
        snprintf(msg, cap, "image is %ux%u but the record says %ux%u", p.width, p.height, r->width,
                 r->height);
        return 1;
    }
    img_limits lim;
    img_limits_default(&lim);
    img_reason why;
    if (img_decode(r->image, r->image_len, &lim, 0, 0, pixels, NULL, &why) != CC_OK) {
        snprintf(msg, cap, "image does not decode (%s): %s", img_reason_name(why), cc_errmsg());
        return 1;
    }
    return 0;
}

static void verify_problem(void *ctx, const char *shard, uint64_t index, const char *what)
{
    (void)ctx;
    /* Messages from the reader already start with the shard's name. */
    size_t n = strlen(shard);
    if (strncmp(what, shard, n) == 0 && what[n] == ':')
        what += n + 2;
    if (index == UINT64_MAX)
        cli_error("shards verify", "%s: %s", shard, what);
    else
        cli_error("shards verify", "%s: record %" PRIu64 ": %s", shard, index, what);
}

static int cmd_verify(int argc, char **argv)
{
    const char *cmd = "shards verify";
    shard_manifest *m = NULL;
    int rc = dataset_only_args(argc, argv, cmd, verify_usage, &m);
    if (!m)
        return rc;
    shard_verify_report rep;
    img_rgb pixels = {0};
    cc_status st = shard_verify(m, verify_image, verify_problem, &pixels, &rep);
    img_rgb_free(&pixels);
    if (st != CC_OK) {
        shard_manifest_free(m);
        return cli_fail(cmd, st);
    }
    /* Unsealed shards are not part of the dataset: say so, they are not errors. */
    DIR *dir = opendir(m->dir);
    struct dirent *de;
    while (dir && (de = readdir(dir)) != NULL) {
        size_t n = strlen(de->d_name);
        if (n > 5 && strcmp(de->d_name + n - 5, ".open") == 0)
            cc_log_info("note: %s is unsealed (a writer stopped before sealing it; it is not "
                        "part of the dataset until a writer resumes and seals it)",
                        de->d_name);
    }
    if (dir)
        closedir(dir);
    printf("verified %" PRIu64 " shards, %" PRIu64 " records: ", rep.shards, rep.records);
    if (rep.bad_shards == 0)
        printf("all good\n");
    else
        printf("%" PRIu64 " bad shards, %" PRIu64 " bad records\n", rep.bad_shards,
               rep.bad_records);
    shard_manifest_free(m);
    return rep.bad_shards ? CLI_EXIT_FAIL : CLI_EXIT_OK;
}

/* ---- ls ---------------------------------------------------------------------------------- */

static const char ls_usage[] = "usage: clipcrawl shards ls DIR|MANIFEST\n"
                               "\n"
                               "Lists the sealed shards of a manifest: name, pairs, bytes, "
                               "checksum and sealing time.\n";

static int cmd_ls(int argc, char **argv)
{
    const char *cmd = "shards ls";
    shard_manifest *m = NULL;
    int rc = dataset_only_args(argc, argv, cmd, ls_usage, &m);
    if (!m)
        return rc;
    uint64_t bytes = 0;
    printf("%-20s %10s %14s  %-32s  %s\n", "shard", "pairs", "bytes", "xxh3_128", "sealed (UTC)");
    for (size_t i = 0; i < m->n; i++) {
        const shard_manifest_entry *e = &m->entries[i];
        char hex[33], when[32];
        time_t t = (time_t)e->sealed_at;
        struct tm tm;
        cc_hash128_hex(e->checksum, hex);
        if (!gmtime_r(&t, &tm) || !strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S", &tm))
            snprintf(when, sizeof when, "%" PRId64, e->sealed_at);
        printf("%-20s %10" PRIu64 " %14" PRIu64 "  %s  %s\n", e->name, e->count, e->bytes, hex,
               when);
        bytes += e->bytes;
    }
    printf("%-20s %10" PRIu64 " %14" PRIu64 "\n", "total", shard_manifest_total(m), bytes);
    shard_manifest_free(m);
    return CLI_EXIT_OK;
}

/* ---- export ------------------------------------------------------------------------------ */

static const char export_usage[] =
    "usage: clipcrawl shards export DIR|MANIFEST --format webdataset --out DIR\n"
    "\n"
    "Writes one tar per shard (OUT/shard-NNNNNN.tar) in the webdataset layout that open_clip\n"
    "and img2dataset use: KEY.jpg (or .png/.webp) with the image bytes, KEY.txt with the\n"
    "caption, KEY.json with the other fields; KEY is the pair's uid in hex.\n";

static int cmd_export(int argc, char **argv)
{
    const char *cmd = "shards export";
    static const struct option lo[] = {{"format", required_argument, 0, 'F'},
                                       {"out", required_argument, 0, 'o'},
                                       CLI_COMMON_LONG,
                                       {0, 0, 0, 0}};
    const char *format = NULL, *out = NULL;
    int c;
    while ((c = cli_next_opt(argc, argv, "qvh", lo)) != -1) {
        switch (c) {
        case 0:
            break;
        case 'F':
            format = optarg;
            break;
        case 'o':
            out = optarg;
            break;
        case 'h':
            fputs(export_usage, stdout);
            return CLI_EXIT_OK;
        default:
            return cli_usage_error(cmd, export_usage, NULL);
        }
    }
    if (!format || !out)
        return cli_usage_error(cmd, export_usage, "--format and --out are required");
    if (strcmp(format, "webdataset") != 0)
        return cli_usage_error(cmd, export_usage, "the only --format is webdataset");
    const char *ds = one_dataset(argc, argv, cmd, export_usage);
    if (!ds)
        return CLI_EXIT_USAGE;
    shard_manifest *m;
    int rc = load_manifest(cmd, ds, &m);
    if (rc)
        return rc;
    shard_export_stats es;
    cc_status st = shard_export_webdataset(m, out, &es);
    shard_manifest_free(m);
    if (st != CC_OK)
        return cli_fail(cmd, st);
    printf("exported %" PRIu64 " pairs from %" PRIu64 " shards to %s (%.1f MiB of tar)\n",
           es.records, es.shards, out, (double)es.bytes / 1048576.0);
    return CLI_EXIT_OK;
}

/* ---- dispatch ---------------------------------------------------------------------------- */

int cli_shards(int argc, char **argv)
{
    static const cli_subcommand cmds[] = {
        {"pack", cli_shards_pack}, {"stat", cmd_stat}, {"dump", cmd_dump},
        {"verify", cmd_verify},    {"ls", cmd_ls},     {"export", cmd_export}};
    return cli_dispatch("shards", shards_usage, cmds, sizeof cmds / sizeof cmds[0], argc, argv);
}
