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
#include "filters/dedupe.h"
#include "filters/probe.h"
#include "shards/json.h"
#include "shards/shard.h"

#define LIST_LINE_MAX (SHARD_MAX_TEXT + 8192)

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

/* getopt_long with -q/-v/-h handled in one place. Returns the option, or 0 when it consumed a
 * common one, -1 at the end; prints usage and returns '?' on error or 'h' after --help. */
static int next_opt(int argc, char **argv, const char *shortopts, const struct option *longopts)
{
    int c = getopt_long(argc, argv, shortopts, longopts, NULL);
    if (c == 'q')
        cc_log_set_level(CC_LOG_QUIET);
    else if (c == 'v')
        cc_log_set_level(CC_LOG_DEBUG);
    else
        return c;
    return 0;
}

#define COMMON_LONG                                                                                \
    {"quiet", no_argument, 0, 'q'}, {"verbose", no_argument, 0, 'v'},                              \
    {                                                                                              \
        "help", no_argument, 0, 'h'                                                                \
    }

static int usage_error(const char *cmd, const char *usage, const char *what)
{
    if (what)
        cli_error(cmd, "%s", what);
    fputs(usage, stderr);
    return CLI_EXIT_USAGE;
}

/* Exactly one positional argument (the dataset) after options. */
static const char *one_dataset(int argc, char **argv, const char *cmd, const char *usage)
{
    if (optind + 1 != argc) {
        usage_error(cmd, usage, optind >= argc ? "missing DIR or MANIFEST" : "too many arguments");
        return NULL;
    }
    return argv[optind];
}

/* ---- pack -------------------------------------------------------------------------------- */

static const char pack_usage[] =
    "usage: clipcrawl shards pack --from LIST.tsv --out DIR [options]\n"
    "\n"
    "Packs existing images into sealed shards. Each line of LIST.tsv is PATH<TAB>CAPTION; a\n"
    "relative PATH is taken from the list's folder. Images are stored as they are (JPEG, PNG,\n"
    "WebP, identified by their bytes), with width and height read from their headers; files\n"
    "that are missing or not images are skipped and counted. Re-running the same command after\n"
    "an interruption resumes: the pairs already committed are not added again.\n"
    "\n"
    "  --max-pairs N     pairs per shard (default 10000)\n"
    "  --max-bytes SIZE  bytes per shard file, e.g. 512M (default 1G)\n"
    "  --batch N         pairs per durable commit (default 256)\n"
    "  --zstd-level N    metadata compression level (default 3)\n"
    "  --no-dict         do not train a per-shard metadata dictionary\n"
    "  -q, --quiet / -v, --verbose\n";

typedef struct pack_counts {
    uint64_t added, resumed, missing, not_image, too_large, duplicate, empty_caption;
} pack_counts;

/* Reads one list entry's image and fills rec. Returns 0 = ok, or the counter to bump. */
static uint64_t *pack_load(const char *listdir, const char *path, const char *caption, cc_buf *img,
                           shard_record *rec, pack_counts *pc)
{
    char full[4096];
    if (path[0] == '/')
        snprintf(full, sizeof full, "%s", path);
    else if (cc_path_join(full, sizeof full, listdir, path) != CC_OK)
        return &pc->missing;
    cc_buf_reset(img);
    cc_status st = cc_read_file(full, img);
    if (st == CC_E_LIMIT) {
        cc_log_warn("%s: larger than %u bytes, skipped", path, SHARD_MAX_IMAGE);
        return &pc->too_large;
    }
    if (st != CC_OK) {
        cc_log_warn("%s, skipped", cc_errmsg());
        return &pc->missing;
    }
    img_probe p;
    if (img_probe_bytes(img->data, img->len, &p) != CC_OK) {
        cc_log_warn("%s: not a JPEG, PNG or WebP image (%s), skipped", path, cc_errmsg());
        return &pc->not_image;
    }
    if (!caption[0]) {
        cc_log_warn("%s: empty caption, skipped", path);
        return &pc->empty_caption;
    }
    struct stat sb;
    memset(rec, 0, sizeof *rec);
    /* The uid names the pair: the same file with the same caption is the same pair. */
    cc_hasher *h;
    if (cc_hasher_new(&h) != CC_OK)
        return &pc->missing;
    cc_hasher_update(h, path, strlen(path) + 1);
    cc_hasher_update(h, caption, strlen(caption));
    cc_hash128_to_bytes(cc_hasher_digest(h), rec->uid);
    cc_hasher_free(h);
    cc_hash128_to_bytes(cc_hash128_of(img->data, img->len), rec->content_hash);
    rec->caption = caption;
    rec->url = path;
    rec->page_url = "";
    rec->license = "";
    rec->query_id = SHARD_NO_QUERY;
    rec->image = img->data;
    rec->image_len = img->len;
    rec->image_format = p.format;
    rec->width = rec->orig_width = p.width;
    rec->height = rec->orig_height = p.height;
    rec->fetch_time_ms =
        stat(full, &sb) == 0 ? (int64_t)sb.st_mtim.tv_sec * 1000 + sb.st_mtim.tv_nsec / 1000000 : 0;
    return NULL;
}

/* pack keeps the uids of the list's pairs so far in a key_set (filters/dedupe.h) and skips a
 * repeated line through it, so the skip does not depend on shard boundaries and a resumed run
 * counts exactly the lines the first run added. The uid is an XXH3-128 already: it goes in as the
 * digest itself. The bound only stops a runaway: memory follows use (32 to 64 bytes a pair). */
#define PACK_MAX_UIDS (1ull << 32)

/* Splits "PATH\tCAPTION\n" in place; returns 0 or -1 when malformed. */
static int split_line(char *line, char **path, char **caption)
{
    size_t n = strlen(line);
    while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
        line[--n] = '\0';
    char *tab = strchr(line, '\t');
    if (!tab || tab == line)
        return -1;
    *tab = '\0';
    *path = line;
    *caption = tab + 1;
    return 0;
}

static int cmd_pack(int argc, char **argv)
{
    const char *cmd = "shards pack";
    static const struct option lo[] = {{"from", required_argument, 0, 'f'},
                                       {"out", required_argument, 0, 'o'},
                                       {"max-pairs", required_argument, 0, 'P'},
                                       {"max-bytes", required_argument, 0, 'B'},
                                       {"batch", required_argument, 0, 'b'},
                                       {"zstd-level", required_argument, 0, 'z'},
                                       {"no-dict", no_argument, 0, 'D'},
                                       COMMON_LONG,
                                       {0, 0, 0, 0}};
    const char *from = NULL, *out = NULL;
    shard_writer_opts o;
    shard_writer_opts_default(&o);
    uint64_t v;
    int c;
    while ((c = next_opt(argc, argv, "qvh", lo)) != -1) {
        switch (c) {
        case 0:
            break;
        case 'f':
            from = optarg;
            break;
        case 'o':
            out = optarg;
            break;
        case 'P':
            if (cli_parse_size(optarg, &o.max_pairs) || o.max_pairs == 0)
                return usage_error(cmd, pack_usage, "--max-pairs needs a positive number");
            break;
        case 'B':
            if (cli_parse_size(optarg, &o.max_bytes) || o.max_bytes < (1u << 20))
                return usage_error(cmd, pack_usage, "--max-bytes needs a size of at least 1M");
            break;
        case 'b':
            if (cli_parse_size(optarg, &v) || v == 0 || v > 1000000)
                return usage_error(cmd, pack_usage, "--batch needs a number in 1..1000000");
            o.batch_pairs = (uint32_t)v;
            break;
        case 'z':
            if (cli_parse_size(optarg, &v) || v < 1 || v > 19)
                return usage_error(cmd, pack_usage, "--zstd-level needs a number in 1..19");
            o.zstd_level = (int)v;
            break;
        case 'D':
            o.dict_samples = 0;
            break;
        case 'h':
            fputs(pack_usage, stdout);
            return CLI_EXIT_OK;
        default:
            return usage_error(cmd, pack_usage, NULL);
        }
    }
    if (!from || !out)
        return usage_error(cmd, pack_usage, "--from and --out are required");
    if (optind != argc)
        return usage_error(cmd, pack_usage, "unexpected argument");

    FILE *list = fopen(from, "r");
    if (!list) {
        cli_error(cmd, "%s: %s", from, strerror(errno));
        return CLI_EXIT_FAIL;
    }
    char listdir[4096];
    snprintf(listdir, sizeof listdir, "%s", from);
    char *slash = strrchr(listdir, '/');
    if (!slash)
        snprintf(listdir, sizeof listdir, ".");
    else if (slash == listdir)
        listdir[1] = '\0'; /* the list is in "/" */
    else
        *slash = '\0';

    shard_writer *w = NULL;
    cc_status st = shard_writer_open(out, &o, &w);
    if (st != CC_OK) {
        fclose(list);
        return cli_fail(cmd, st);
    }
    /* Resume: the first `skip` accepted entries of the list are already in the dataset. */
    uint64_t skip = shard_writer_committed(w);
    uint8_t last_uid[16];
    if (skip && (st = shard_writer_last_uid(w, last_uid)) != CC_OK) {
        shard_writer_close(w, 0);
        fclose(list);
        return cli_fail(cmd, st);
    }
    pack_counts pc = {0};
    key_set *seen = NULL;
    if (key_set_new(PACK_MAX_UIDS, &seen) != CC_OK) {
        shard_writer_close(w, 0);
        fclose(list);
        return cli_fail(cmd, CC_E_NOMEM);
    }
    cc_buf img;
    cc_buf_init(&img, SHARD_MAX_IMAGE);
    char *line = malloc(LIST_LINE_MAX);
    int rc = CLI_EXIT_OK;
    uint64_t lineno = 0;
    while (line && fgets(line, LIST_LINE_MAX, list)) {
        lineno++;
        size_t n = strlen(line);
        if (n == LIST_LINE_MAX - 1 && line[n - 1] != '\n') {
            cli_error(cmd, "%s:%" PRIu64 ": line longer than %d bytes", from, lineno,
                      LIST_LINE_MAX);
            rc = CLI_EXIT_FAIL;
            break;
        }
        if (line[0] == '\n' || line[0] == '#')
            continue;
        char *path, *caption;
        if (split_line(line, &path, &caption) != 0) {
            cli_error(cmd, "%s:%" PRIu64 ": expected PATH<TAB>CAPTION", from, lineno);
            rc = CLI_EXIT_FAIL;
            break;
        }
        shard_record rec;
        uint64_t *skipped = pack_load(listdir, path, caption, &img, &rec, &pc);
        if (skipped) {
            ++*skipped;
            continue;
        }
        int dup = key_set_add_hash(seen, cc_hash128_from_bytes(rec.uid));
        if (dup < 0) {
            cli_error(cmd, "the uids of %s: %s", from, cc_errmsg());
            rc = CLI_EXIT_FAIL;
            break;
        }
        if (dup) {
            cc_log_warn("%s:%" PRIu64 ": the same path and caption again, skipped", from, lineno);
            pc.duplicate++;
            continue;
        }
        if (skip) {
            /* The last pair skipped must be the run's last pair, or this folder holds
             * something else than the start of this list. */
            if (--skip == 0 && memcmp(rec.uid, last_uid, 16) != 0) {
                cli_error(cmd,
                          "%s already holds %" PRIu64 " pairs that are not the first pairs of "
                          "%s (pair %" PRIu64 " differs): pack each list into its own folder",
                          out, pc.resumed + 1, from, pc.resumed + 1);
                rc = CLI_EXIT_FAIL;
                break;
            }
            pc.resumed++;
            continue;
        }
        st = shard_writer_add(w, &rec);
        if (st != CC_OK) {
            rc = cli_fail(cmd, st);
            break;
        }
        pc.added++;
        cc_progress("packed %" PRIu64 " pairs", pc.added);
    }
    if (!line) {
        cli_error(cmd, "out of memory");
        rc = CLI_EXIT_FAIL;
    } else if (ferror(list)) {
        cli_error(cmd, "%s: read error", from);
        rc = CLI_EXIT_FAIL;
    }
    if (rc == CLI_EXIT_OK && skip) {
        cli_error(cmd,
                  "%s holds %" PRIu64 " more pairs than %s has entries: pack each list "
                  "into its own folder",
                  out, skip, from);
        rc = CLI_EXIT_FAIL;
    }
    cc_progress_done();
    /* On failure, commit what was added and leave the shard unsealed for a resume. */
    st = shard_writer_close(w, rc == CLI_EXIT_OK);
    if (st != CC_OK && rc == CLI_EXIT_OK)
        rc = cli_fail(cmd, st);
    free(line);
    key_set_free(seen);
    cc_buf_free(&img);
    fclose(list);
    if (rc != CLI_EXIT_OK)
        return rc;

    shard_manifest *m = NULL;
    if (shard_manifest_load(out, &m) != CC_OK)
        return cli_fail(cmd, CC_E_IO);
    uint64_t bytes = 0;
    for (size_t i = 0; i < m->n; i++)
        bytes += m->entries[i].bytes;
    printf("packed %" PRIu64 " pairs (%" PRIu64 " already there) into %s: %zu shards, %" PRIu64
           " pairs, %.1f MiB\n",
           pc.added, pc.resumed, out, m->n, shard_manifest_total(m), (double)bytes / 1048576.0);
    uint64_t skipped = pc.missing + pc.not_image + pc.too_large + pc.duplicate + pc.empty_caption;
    if (skipped)
        printf("skipped %" PRIu64 ": %" PRIu64 " missing or unreadable, %" PRIu64
               " not an image, %" PRIu64 " too large, %" PRIu64 " duplicate, %" PRIu64
               " empty caption\n",
               skipped, pc.missing, pc.not_image, pc.too_large, pc.duplicate, pc.empty_caption);
    shard_manifest_free(m);
    return CLI_EXIT_OK;
}

/* ---- iteration helper -------------------------------------------------------------------- */

typedef int (*record_fn)(void *ctx, const shard_manifest_entry *e, uint64_t index,
                         const shard_record *r);

/* Calls fn for every record of every shard in m (in manifest and index order). fn returning
 * nonzero stops the walk (that value is returned). Shard errors are reported and returned. */
static int walk(const char *cmd, const shard_manifest *m, record_fn fn, void *ctx)
{
    for (size_t i = 0; i < m->n; i++) {
        char path[4096];
        shard_reader *r = NULL;
        shard_view *v = NULL;
        cc_status st = shard_manifest_shard_path(m, i, path, sizeof path);
        if (st == CC_OK)
            st = shard_reader_open(path, &m->entries[i], &r);
        if (st == CC_OK)
            st = shard_view_open(r, &v);
        int rc = 0;
        for (uint64_t k = 0; st == CC_OK && rc == 0 && k < shard_reader_count(r); k++) {
            shard_record rec;
            uint64_t at;
            st = shard_view_next(v, &at, &rec);
            if (st == CC_OK && at != k)
                st = cc_fail(CC_E_FORMAT, "%s: record %" PRIu64 " is missing", m->entries[i].name,
                             k);
            if (st == CC_OK)
                rc = fn(ctx, &m->entries[i], k, &rec);
        }
        shard_view_close(v);
        shard_reader_close(r);
        if (st != CC_OK)
            return cli_fail(cmd, st);
        if (rc)
            return rc;
    }
    return 0;
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
    static const struct option lo[] = {COMMON_LONG, {0, 0, 0, 0}};
    int c;
    while ((c = next_opt(argc, argv, "qvh", lo)) != -1) {
        if (c == 'h') {
            fputs(usage, stdout);
            return CLI_EXIT_OK;
        }
        if (c != 0)
            return usage_error(cmd, usage, NULL);
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
    rc = walk(cmd, m, stat_rec, &a);
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
                                       COMMON_LONG,
                                       {0, 0, 0, 0}};
    dump_ctx d = {.images = NULL};
    const char *sel = NULL;
    int c;
    while ((c = next_opt(argc, argv, "qvh", lo)) != -1) {
        switch (c) {
        case 0:
            break;
        case 's':
            sel = optarg;
            break;
        case 'n':
            if (cli_parse_size(optarg, &d.limit) || d.limit == 0)
                return usage_error(cmd, dump_usage, "--limit needs a positive number");
            break;
        case 'i':
            d.images = optarg;
            break;
        case 'h':
            fputs(dump_usage, stdout);
            return CLI_EXIT_OK;
        default:
            return usage_error(cmd, dump_usage, NULL);
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
    rc = walk(cmd, m, dump_rec, &d);
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

static int verify_image(void *ctx, const shard_record *r, char *msg, size_t cap)
{
    (void)ctx;
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
    cc_status st = shard_verify(m, verify_image, verify_problem, NULL, &rep);
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
                                       COMMON_LONG,
                                       {0, 0, 0, 0}};
    const char *format = NULL, *out = NULL;
    int c;
    while ((c = next_opt(argc, argv, "qvh", lo)) != -1) {
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
            return usage_error(cmd, export_usage, NULL);
        }
    }
    if (!format || !out)
        return usage_error(cmd, export_usage, "--format and --out are required");
    if (strcmp(format, "webdataset") != 0)
        return usage_error(cmd, export_usage, "the only --format is webdataset");
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
    static const struct {
        const char *name;
        int (*fn)(int, char **);
    } cmds[] = {{"pack", cmd_pack},     {"stat", cmd_stat}, {"dump", cmd_dump},
                {"verify", cmd_verify}, {"ls", cmd_ls},     {"export", cmd_export}};
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        fputs(shards_usage, argc < 2 ? stderr : stdout);
        return argc < 2 ? CLI_EXIT_USAGE : CLI_EXIT_OK;
    }
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++) {
        if (!strcmp(argv[1], cmds[i].name)) {
            optind = 1;
            return cmds[i].fn(argc - 1, argv + 1);
        }
    }
    fprintf(stderr, "clipcrawl: shards: unknown command '%s'\n%s", argv[1], shards_usage);
    return CLI_EXIT_USAGE;
}
