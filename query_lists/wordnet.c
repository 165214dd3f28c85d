/* query_lists/wordnet.c — see wordnet.h.
 *
 * A synset line of a WordNet 3.0 data file (wndb(5WN)), fields separated by single spaces:
 *   offset(8 digits) lex_filenum(2 digits) ss_type(n v a s r) w_cnt(2 hex)
 *   { word lex_id(1 hex) } x w_cnt  p_cnt(3 digits)
 *   { pointer_symbol offset(8 digits) pos(n v a s r) source/target(4 hex) } x p_cnt
 *   [ f_cnt(2 digits) { + f_num(2 digits) w_num(2 hex) } x f_cnt ]   (data.verb only)
 *   | gloss
 * The whole line up to the '|' is checked before any of its words is added, so a damaged file
 * is refused at its first bad line (after the lines before it were added).
 */
#include "query_lists/wordnet.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "common/buf.h"
#include "common/file.h"

#define WN_FILE_MAX ((size_t)64 << 20)
#define WN_WORDS_MAX 255 /* w_cnt is two hex digits */

static const struct {
    const char *name;
    const char *ss_types; /* the synset types the file may hold */
    int verb; /* lines carry verb frames */
} wn_files[] = {
    {"data.noun", "n", 0},
    {"data.verb", "v", 1},
    {"data.adj", "as", 0},
    {"data.adv", "r", 0},
};

/* A cursor over one line: [p, end), fields separated by single spaces. */
typedef struct wn_line {
    char *p, *end;
} wn_line;

/* The next field (*len bytes at the returned pointer), or NULL at the end of the line. */
static char *next_field(wn_line *l, size_t *len)
{
    while (l->p < l->end && *l->p == ' ')
        l->p++;
    if (l->p == l->end)
        return NULL;
    char *f = l->p;
    while (l->p < l->end && *l->p != ' ')
        l->p++;
    *len = (size_t)(l->p - f);
    return f;
}

enum { DEC = 10, HEX = 16 };

/* Field f (n bytes) is exactly width digits of base (DEC or HEX). */
static int is_num(const char *f, size_t n, size_t width, int base)
{
    if (!f || n != width)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = f[i];
        int lower = c | 0x20;
        if (!(c >= '0' && c <= '9') && !(base == HEX && lower >= 'a' && lower <= 'f'))
            return 0;
    }
    return 1;
}

static unsigned hex_val(const char *f, size_t n)
{
    unsigned v = 0;
    for (size_t i = 0; i < n; i++) {
        char c = f[i];
        v = v * 16 + (unsigned)(c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10);
    }
    return v;
}

static unsigned dec_val(const char *f, size_t n)
{
    unsigned v = 0;
    for (size_t i = 0; i < n; i++)
        v = v * 10 + (unsigned)(f[i] - '0');
    return v;
}

/* Drops an adjective's syntactic marker: "galore(ip)" -> "galore". */
static size_t strip_marker(const char *w, size_t n)
{
    static const char *const markers[] = {"(a)", "(p)", "(ip)"};
    for (size_t i = 0; i < sizeof markers / sizeof markers[0]; i++) {
        size_t m = strlen(markers[i]);
        if (n > m && memcmp(w + n - m, markers[i], m) == 0)
            return n - m;
    }
    return n;
}

/* A field that is not what wndb(5WN) says: "data.noun:12: w_cnt '0g' (expected 2 hex digits)". */
#define BAD(what, expected, f, n)                                                                  \
    cc_fail(CC_E_FORMAT, "%s:%zu: %s '%.*s' (expected %s)", path, lineno, what,                    \
            (f) ? (int)((n) < 40 ? (n) : 40) : 0, (f) ? (f) : "", expected)

/* Checks one synset line and adds its words. */
static cc_status wn_synset(char *line, size_t len, int file, const char *path, size_t lineno,
                           query_list *ql, wordnet_stats *s)
{
    wn_line l = {line, line + len};
    size_t n = 0, n2 = 0;
    char *off = next_field(&l, &n);
    if (!is_num(off, n, 8, DEC))
        return BAD("synset offset", "8 digits", off, n);
    char *f = next_field(&l, &n);
    if (!is_num(f, n, 2, DEC))
        return BAD("lex_filenum", "2 digits", f, n);
    char *type = next_field(&l, &n);
    if (!type || n != 1 || !*type || !strchr(wn_files[file].ss_types, *type))
        return cc_fail(CC_E_FORMAT, "%s:%zu: ss_type '%.*s' where %s expects '%s'", path, lineno,
                       type ? (int)(n < 8 ? n : 8) : 0, type ? type : "", wn_files[file].name,
                       wn_files[file].ss_types);
    f = next_field(&l, &n);
    if (!is_num(f, n, 2, HEX) || hex_val(f, n) == 0)
        return BAD("w_cnt", "2 hex digits, not 00", f, n);
    unsigned w_cnt = hex_val(f, n);
    char *words[WN_WORDS_MAX];
    size_t wlen[WN_WORDS_MAX];
    for (unsigned i = 0; i < w_cnt; i++) {
        words[i] = next_field(&l, &wlen[i]);
        f = next_field(&l, &n);
        if (!words[i] || !f)
            return cc_fail(CC_E_FORMAT, "%s:%zu: line ends within its %u words", path, lineno,
                           w_cnt);
        if (!is_num(f, n, 1, HEX))
            return BAD("lex_id", "1 hex digit", f, n);
    }
    f = next_field(&l, &n);
    if (!is_num(f, n, 3, DEC))
        return BAD("p_cnt", "3 digits", f, n);
    unsigned p_cnt = dec_val(f, n);
    for (unsigned i = 0; i < p_cnt; i++) {
        char *sym = next_field(&l, &n), *poff = next_field(&l, &n2);
        if (!sym || n > 2 || !is_num(poff, n2, 8, DEC))
            return cc_fail(CC_E_FORMAT, "%s:%zu: pointer %u of %u is malformed or missing", path,
                           lineno, i + 1, p_cnt);
        char *pos = next_field(&l, &n), *st = next_field(&l, &n2);
        if (!pos || n != 1 || !*pos || !strchr("nvasr", *pos) || !is_num(st, n2, 4, HEX))
            return cc_fail(CC_E_FORMAT, "%s:%zu: pointer %u of %u is malformed or missing", path,
                           lineno, i + 1, p_cnt);
    }
    if (wn_files[file].verb) {
        f = next_field(&l, &n);
        if (!is_num(f, n, 2, DEC))
            return BAD("f_cnt", "2 digits", f, n);
        unsigned f_cnt = dec_val(f, n);
        for (unsigned i = 0; i < f_cnt; i++) {
            char *plus = next_field(&l, &n);
            int ok = plus && n == 1 && *plus == '+';
            f = next_field(&l, &n);
            ok = ok && is_num(f, n, 2, DEC);
            f = next_field(&l, &n);
            if (!ok || !is_num(f, n, 2, HEX))
                return cc_fail(CC_E_FORMAT, "%s:%zu: verb frame %u of %u is malformed or missing",
                               path, lineno, i + 1, f_cnt);
        }
    }
    f = next_field(&l, &n);
    if (!f || n != 1 || *f != '|')
        return cc_fail(CC_E_FORMAT, "%s:%zu: no '|' before the gloss (line cut short?)", path,
                       lineno);

    char prov[16];
    snprintf(prov, sizeof prov, "%c%.8s", *type, off);
    s->synsets++;
    for (unsigned i = 0; i < w_cnt; i++) {
        char *w = words[i];
        size_t wl = *type == 'a' || *type == 's' ? strip_marker(w, wlen[i]) : wlen[i];
        for (size_t k = 0; k < wl; k++)
            if (w[k] == '_')
                w[k] = ' '; /* "hot_dog" -> "hot dog" */
        int added = 0;
        cc_status st = query_list_add(ql, w, wl, QSRC_WORDNET, 0, NAN, prov, &added);
        if (st != CC_OK)
            return cc_wrap(st, "%s:%zu", path, lineno);
        s->lemmas++;
        s->added += added == 1;
        s->merged += added == 2;
        s->skipped += added == 0;
    }
    return CC_OK;
}

static cc_status wn_file(const char *dir, int file, cc_buf *text, query_list *ql, wordnet_stats *s)
{
    char path[4096];
    CC_TRY(cc_path_join(path, sizeof path, dir, wn_files[file].name));
    cc_buf_reset(text);
    cc_status st = cc_read_file(path, text);
    if (st == CC_E_NOTFOUND)
        return cc_fail(st,
                       "%s: not found (install wordnet-base (ops/deps.sh), or give the folder "
                       "of WordNet 3.0's data.noun, data.verb, data.adj and data.adv)",
                       path);
    CC_TRY(st);
    char *p = (char *)text->data, *end = p + text->len;
    for (size_t lineno = 1; p < end; lineno++) {
        char *nl = memchr(p, '\n', (size_t)(end - p));
        char *le = nl ? nl : end;
        size_t len = (size_t)(le - p);
        if (len > 0 && le[-1] == '\r')
            len--; /* CRLF */
        /* license lines start with two spaces; blank lines carry nothing */
        if (len > 0 && !(len >= 2 && p[0] == ' ' && p[1] == ' '))
            CC_TRY(wn_synset(p, len, file, path, lineno, ql, s));
        p = nl ? nl + 1 : end;
    }
    return CC_OK;
}

cc_status wordnet_load(const char *dir, query_list *ql, wordnet_stats *stats)
{
    wordnet_stats s = {0};
    cc_buf text;
    cc_buf_init(&text, WN_FILE_MAX);
    cc_status st = CC_OK;
    for (int i = 0; i < (int)(sizeof wn_files / sizeof wn_files[0]) && st == CC_OK; i++)
        st = wn_file(dir, i, &text, ql, &s);
    cc_buf_free(&text);
    if (stats)
        *stats = s;
    return st;
}
