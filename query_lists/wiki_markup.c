/* query_lists/wiki_markup.c — wiki_strip_markup (declared in wiki.h): wikitext to plain text.
 *
 * Output format: one paragraph per line. Inside a paragraph, runs of whitespace (and single line
 * breaks of the source) become one space; a blank line, a heading, a list item (* # : ;), a
 * horizontal rule (----) and a table end the paragraph with "\n". No leading or trailing
 * whitespace. The counters in wiki.c rely on this: '\n' is the only paragraph break.
 *
 * One forward pass, no recursion, no backtracking beyond bounded lookaheads:
 *   - {{templates}} are skipped with a depth counter; <!-- comments --> inside them too;
 *   - [[File:/Image:/Category:/interwiki: ..]] are skipped with a depth counter (captions may hold
 *     links); other [[links]] emit their target, or open a label that the main pass reads as
 *     ordinary text until its "]]" (a counter of open labels, so labels may hold markup);
 *   - <ref>, <math>, <gallery> are skipped to their closing tag; other tags are dropped and their
 *     text kept (<br> becomes a space);
 *   - tables {| .. |} (at line starts) are skipped with a depth counter;
 *   - a construct that is never closed runs to the end of the text.
 * Every construct is consumed once, and lookaheads are bounded (tags: the next '>' is found once
 * and remembered; link targets: 512 bytes), so the time is linear in the input. The output is
 * never longer than the input (each emitted byte replaces at least one consumed byte) and is valid
 * UTF-8 when the input is: cuts happen only at ASCII delimiters and entities emit valid code
 * points.
 */
#include <stdint.h>
#include <string.h>
#include <strings.h>

#include "common/utf8.h"
#include "query_lists/wiki.h"

#define NONE SIZE_MAX
#define MAX_TAG 1024 /* longest <tag ...> looked at */
#define MAX_TARGET 512 /* longest [[link target]] looked at */

typedef struct sx {
    const uint8_t *in;
    size_t n, i;
    uint8_t *o; /* output: o[base..w) is ours, cap is the write bound */
    size_t w, base, cap;
    int overflow;
    size_t link_depth; /* open [[target|label ..]] waiting for "]]" */
    int ext_open; /* inside [url label ..] waiting for "]" */
    size_t heading_end; /* start of the closing '=' run of the heading being read, or NONE */
    int line_breaks; /* the current line is a heading or list item: its end is a paragraph end */
    size_t next_gt; /* position of the next '>' at or after the last tag looked at, or NONE */
} sx;

/* bytes that stop the plain-text copy loop */
static const uint8_t special[256] = {
    ['<'] = 1,  ['{'] = 1, ['['] = 1,  [']'] = 1,  ['\''] = 1, ['&'] = 1,
    ['\n'] = 1, [' '] = 1, ['\t'] = 1, ['\r'] = 1, ['_'] = 1,
};

/* bytes that end a [[link target]] and an external link's URL */
static const uint8_t target_stop[256] = {
    ['|'] = 1, ['['] = 1, [']'] = 1, ['{'] = 1, ['}'] = 1, ['<'] = 1, ['>'] = 1, ['\n'] = 1,
};
static const uint8_t url_stop[256] = {
    [' '] = 1, ['\t'] = 1, ['\n'] = 1, ['['] = 1, [']'] = 1, ['<'] = 1, ['>'] = 1, ['"'] = 1,
};

static int is_list_marker(uint8_t c)
{
    return c == '*' || c == '#' || c == ':' || c == ';';
}

static int is_hspace(uint8_t c)
{
    return c == ' ' || c == '\t' || c == '\r';
}

static int is_alpha(uint8_t c)
{
    return (c | 0x20) >= 'a' && (c | 0x20) <= 'z';
}

static int is_alnum(uint8_t c)
{
    return is_alpha(c) || (c >= '0' && c <= '9');
}

static void put(sx *x, const void *p, size_t k)
{
    if (x->w + k > x->cap) {
        x->overflow = 1;
        return;
    }
    memcpy(x->o + x->w, p, k);
    x->w += k;
}

static void put1(sx *x, uint8_t c)
{
    put(x, &c, 1);
}

static void emit_space(sx *x)
{
    if (x->w == x->base || x->o[x->w - 1] == ' ' || x->o[x->w - 1] == '\n')
        return;
    put1(x, ' ');
}

/* After a removed construct that renders as something (a template, a file, a footnote link):
 * a space, unless the next byte is ASCII punctuation or space ("fox{{sfn}}." -> "fox."). */
static void emit_gap(sx *x)
{
    if (x->i < x->n && x->in[x->i] < 0x80 && !is_alnum(x->in[x->i]))
        return;
    emit_space(x);
}

static void emit_break(sx *x)
{
    if (x->w == x->base || x->o[x->w - 1] == '\n')
        return;
    if (x->o[x->w - 1] == ' ')
        x->o[x->w - 1] = '\n';
    else
        put1(x, '\n');
}

static int starts(const sx *x, size_t at, const char *lit)
{
    size_t k = strlen(lit);
    return at <= x->n && x->n - at >= k && memcmp(x->in + at, lit, k) == 0;
}

static int starts_ci(const sx *x, size_t at, const char *lit)
{
    size_t k = strlen(lit);
    return at <= x->n && x->n - at >= k && strncasecmp((const char *)x->in + at, lit, k) == 0;
}

/* Position after the "-->" closing the comment opened at at, or n. */
static size_t comment_end(const sx *x, size_t at)
{
    const uint8_t *p = memmem(x->in + at + 4, x->n - at - 4, "-->", 3);
    return p ? (size_t)(p - x->in) + 3 : x->n;
}

/* Position after the "}}" closing the template opened at at (nesting counted), or n. */
static size_t template_end(const sx *x, size_t at)
{
    size_t depth = 0, k = at;
    while (k < x->n) {
        uint8_t c = x->in[k];
        if (c == '{' && k + 1 < x->n && x->in[k + 1] == '{') {
            depth++;
            k += 2;
        } else if (c == '}' && k + 1 < x->n && x->in[k + 1] == '}') {
            k += 2;
            if (--depth == 0)
                return k;
        } else if (c == '<' && starts(x, k, "<!--")) {
            k = comment_end(x, k);
        } else {
            k++;
        }
    }
    return x->n;
}

/* Position after the "]]" closing the [[ opened at at (nesting counted), or n. */
static size_t link_block_end(const sx *x, size_t at)
{
    size_t depth = 0, k = at;
    while (k + 1 < x->n) {
        if (x->in[k] == '[' && x->in[k + 1] == '[') {
            depth++;
            k += 2;
        } else if (x->in[k] == ']' && x->in[k + 1] == ']') {
            k += 2;
            if (--depth == 0)
                return k;
        } else {
            k++;
        }
    }
    return x->n;
}

/* A table starts at line start at: optional spaces or ':' (indentation), then "{|". Returns the
 * position of the '{' or NONE. */
static size_t table_at(const sx *x, size_t at)
{
    size_t j = at;
    while (j < x->n && (x->in[j] == ' ' || x->in[j] == '\t' || x->in[j] == ':'))
        j++;
    return starts(x, j, "{|") ? j : NONE;
}

/* Position after the line-start "|}" closing the table opened at at (nested tables counted), or
 * n. Walks line by line. */
static size_t table_end(const sx *x, size_t at)
{
    size_t depth = 1, line = at + 2;
    for (;;) {
        const uint8_t *nl = memchr(x->in + line, '\n', x->n - line);
        if (nl == NULL)
            return x->n;
        line = (size_t)(nl - x->in) + 1;
        size_t j = line;
        while (j < x->n && (x->in[j] == ' ' || x->in[j] == '\t' || x->in[j] == ':'))
            j++;
        if (starts(x, j, "{|")) {
            depth++;
        } else if (starts(x, j, "|}")) {
            if (--depth == 0)
                return j + 2;
        }
    }
}

/* Line-start constructs at x->i: tables, headings, list items, horizontal rules. Returns 1 when
 * one was consumed. */
static int line_start(sx *x)
{
    size_t i = x->i, n = x->n;
    const uint8_t *in = x->in;
    size_t t = table_at(x, i);
    if (t != NONE) {
        x->i = table_end(x, t);
        emit_break(x);
        return 1;
    }
    uint8_t c = in[i];
    if (c == '=') {
        const uint8_t *nl = memchr(in + i, '\n', n - i);
        size_t e = nl ? (size_t)(nl - in) : n;
        while (e > i && is_hspace(in[e - 1]))
            e--;
        size_t lead = 0, ts = e;
        while (i + lead < e && in[i + lead] == '=')
            lead++;
        while (ts > i && in[ts - 1] == '=')
            ts--;
        if (ts == i || ts < i + lead || e == ts)
            return 0; /* no closing '=' run after the opening one: ordinary text */
        emit_break(x);
        x->i = i + lead;
        x->heading_end = ts;
        x->line_breaks = 1;
        return 1;
    }
    if (is_list_marker(c)) {
        while (x->i < n && is_list_marker(in[x->i]))
            x->i++;
        emit_break(x);
        x->line_breaks = 1;
        return 1;
    }
    if (starts(x, i, "----")) {
        while (x->i < n && in[x->i] == '-')
            x->i++;
        emit_break(x);
        x->line_breaks = 1;
        return 1;
    }
    return 0;
}

/* The closing '=' run of a heading reached: skip it and the spaces after it. */
static void end_heading(sx *x)
{
    if (x->i == x->heading_end) {
        while (x->i < x->n && x->in[x->i] == '=')
            x->i++;
        while (x->i < x->n && is_hspace(x->in[x->i]))
            x->i++;
    }
    x->heading_end = NONE;
}

static void newline(sx *x)
{
    size_t i = x->i, n = x->n, j = i + 1;
    while (j < n && is_hspace(x->in[j]))
        j++;
    int brk = x->line_breaks || j >= n || x->in[j] == '\n';
    if (!brk && i + 1 < n) {
        uint8_t c = x->in[i + 1];
        brk =
            c == '=' || is_list_marker(c) || starts(x, i + 1, "----") || table_at(x, i + 1) != NONE;
    }
    x->line_breaks = 0;
    x->ext_open = 0;
    x->heading_end = NONE;
    if (brk)
        emit_break(x);
    else
        emit_space(x);
    x->i = i + 1;
}

/* Finds "</name" (any case, not followed by a letter or digit) from at; returns the position
 * after its '>', or n. */
static size_t closing_tag_end(const sx *x, size_t at, const uint8_t *name, size_t len)
{
    size_t k = at;
    while (k < x->n) {
        const uint8_t *lt = memchr(x->in + k, '<', x->n - k);
        if (lt == NULL)
            return x->n;
        k = (size_t)(lt - x->in);
        if (k + 2 + len <= x->n && x->in[k + 1] == '/' &&
            strncasecmp((const char *)x->in + k + 2, (const char *)name, len) == 0 &&
            (k + 2 + len == x->n || !is_alnum(x->in[k + 2 + len]))) {
            const uint8_t *gt = memchr(x->in + k, '>', x->n - k);
            return gt ? (size_t)(gt - x->in) + 1 : x->n;
        }
        k++;
    }
    return x->n;
}

static int name_is(const uint8_t *p, size_t len, const char *lit)
{
    return strlen(lit) == len && strncasecmp((const char *)p, lit, len) == 0;
}

/* At '<' (not a comment): a tag is dropped, a literal '<' is copied. */
static void tag(sx *x)
{
    size_t i = x->i, n = x->n, j = i + 1;
    int closing = j < n && x->in[j] == '/';
    j += (size_t)closing;
    size_t ns = j;
    while (j < n && j - ns < 32 && is_alnum(x->in[j]))
        j++;
    size_t nlen = j - ns;
    int ok = nlen > 0 && is_alpha(x->in[ns]) && j < n &&
             (x->in[j] == '>' || x->in[j] == '/' || x->in[j] == ' ' || x->in[j] == '\t' ||
              x->in[j] == '\n');
    if (ok) {
        if (x->next_gt == NONE || x->next_gt < j) {
            const uint8_t *gt = memchr(x->in + j, '>', n - j);
            x->next_gt = gt ? (size_t)(gt - x->in) : n;
        }
        ok = x->next_gt < n && x->next_gt - i <= MAX_TAG;
    }
    if (!ok) {
        put1(x, '<');
        x->i = i + 1;
        return;
    }
    size_t gt = x->next_gt;
    int self_closing = x->in[gt - 1] == '/';
    const uint8_t *name = x->in + ns;
    x->i = gt + 1;
    if (name_is(name, nlen, "ref") || name_is(name, nlen, "math") ||
        name_is(name, nlen, "gallery")) {
        if (!closing && !self_closing)
            x->i = closing_tag_end(x, gt + 1, name, nlen);
        if (!name_is(name, nlen, "ref"))
            emit_gap(x);
    } else if (name_is(name, nlen, "br")) {
        emit_space(x);
    }
}

/* Interwiki and interlanguage prefixes are lower case ("de", "zh-yue", "wikt", "simple");
 * namespaces are capitalised ("Help", "Wikipedia"). */
static int is_interwiki(const uint8_t *p, size_t len)
{
    if (len == 0 || len > 12 || !(p[0] >= 'a' && p[0] <= 'z'))
        return 0;
    for (size_t k = 0; k < len; k++)
        if (!((p[k] >= 'a' && p[k] <= 'z') || p[k] == '-'))
            return 0;
    return 1;
}

/* At "[[". */
static void link(sx *x)
{
    size_t i = x->i, n = x->n, j = i + 2;
    while (j < n && x->in[j] == ' ')
        j++;
    int lead_colon = j < n && x->in[j] == ':';
    j += (size_t)lead_colon;
    size_t ts = j, lim = n - j > MAX_TARGET ? j + MAX_TARGET : n;
    while (j < lim && !target_stop[x->in[j]])
        j++;
    int piped = j < n && x->in[j] == '|';
    if (!piped && !(j + 1 < n && x->in[j] == ']' && x->in[j + 1] == ']')) {
        put(x, "[[", 2); /* not a link: MediaWiki shows the brackets */
        x->i = i + 2;
        return;
    }
    const uint8_t *colon = memchr(x->in + ts, ':', j - ts);
    if (!lead_colon && colon != NULL) {
        const uint8_t *p = x->in + ts;
        size_t plen = (size_t)(colon - p);
        while (plen > 0 && p[plen - 1] == ' ')
            plen--;
        if (name_is(p, plen, "file") || name_is(p, plen, "image") || name_is(p, plen, "category") ||
            is_interwiki(p, plen)) {
            x->i = link_block_end(x, i);
            emit_gap(x);
            return;
        }
    }
    if (piped) {
        x->link_depth++;
        x->i = j + 1;
        return;
    }
    for (size_t k = ts; k < j; k++) { /* spaces collapse as in running text */
        if (is_hspace(x->in[k]))
            emit_space(x);
        else
            put1(x, x->in[k]);
    }
    x->i = j + 2;
}

static const char *const schemes[] = {
    "http://", "https://", "ftp://", "ftps://", "mailto:", "irc://", "ircs://", "news:", "//"};

/* At '[': an external link [url] or [url label], else a literal '['. */
static void ext_link(sx *x)
{
    size_t i = x->i, n = x->n, j = NONE;
    for (size_t s = 0; s < sizeof schemes / sizeof schemes[0]; s++)
        if (starts_ci(x, i + 1, schemes[s])) {
            j = i + 1 + strlen(schemes[s]);
            break;
        }
    if (j == NONE) {
        put1(x, '[');
        x->i = i + 1;
        return;
    }
    while (j < n && !url_stop[x->in[j]])
        j++;
    if (j < n && (x->in[j] == ' ' || x->in[j] == '\t')) {
        x->ext_open = 1;
        x->i = j + 1;
        return;
    }
    /* [url] shows as a footnote number; a '[' before a bare URL: both dropped */
    x->i = j < n && x->in[j] == ']' ? j + 1 : j;
    emit_gap(x);
}

typedef struct entity {
    const char *name, *text;
} entity;

static const entity entities[] = {
    {"amp", "&"},        {"lt", "<"},          {"gt", ">"},         {"quot", "\""},
    {"apos", "'"},       {"nbsp", " "},        {"ensp", " "},       {"emsp", " "},
    {"thinsp", " "},     {"ndash", "\u2013"},  {"mdash", "\u2014"}, {"minus", "\u2212"},
    {"times", "\u00d7"}, {"hellip", "\u2026"}, {"deg", "\u00b0"},   {"middot", "\u00b7"},
    {"shy", ""},         {"lsquo", "\u2018"},  {"rsquo", "\u2019"}, {"ldquo", "\u201c"},
    {"rdquo", "\u201d"}, {"laquo", "\u00ab"},  {"raquo", "\u00bb"}, {"copy", "\u00a9"},
};

/* Emits one decoded code point: spaces and controls become a space or nothing. */
static void emit_cp(sx *x, uint32_t cp)
{
    uint8_t enc[4];
    if (cp == ' ' || cp == '\t' || cp == '\n' || cp == '\r' || cp == 0xA0) {
        emit_space(x);
        return;
    }
    if (cp < 0x20 || (cp >= 0x7F && cp < 0xA0))
        return;
    size_t k = cc_utf8_encode(cp, enc);
    if (k > 0)
        put(x, enc, k);
}

/* At '&': a character reference of the wikitext (the XML layer decoded its own already). */
static void entity_ref(sx *x)
{
    size_t i = x->i, n = x->n, j = i + 1;
    if (j < n && x->in[j] == '#') {
        j++;
        int hex = j < n && (x->in[j] == 'x' || x->in[j] == 'X');
        j += (size_t)hex;
        size_t ds = j;
        uint32_t cp = 0;
        while (j < n && j - ds < (hex ? 6u : 7u)) {
            uint8_t c = x->in[j];
            int d = c >= '0' && c <= '9'                            ? c - '0'
                    : hex && (c | 0x20) >= 'a' && (c | 0x20) <= 'f' ? (c | 0x20) - 'a' + 10
                                                                    : -1;
            if (d < 0)
                break;
            cp = cp * (hex ? 16u : 10u) + (uint32_t)d;
            j++;
        }
        if (j > ds && j < n && x->in[j] == ';') {
            emit_cp(x, cp); /* invalid code points (surrogates, > U+10FFFF) emit nothing */
            x->i = j + 1;
            return;
        }
    } else {
        while (j < n && j - i <= 8 && is_alnum(x->in[j]))
            j++;
        if (j < n && x->in[j] == ';' && j > i + 1) {
            for (size_t e = 0; e < sizeof entities / sizeof entities[0]; e++) {
                const char *name = entities[e].name;
                if (strlen(name) == j - i - 1 && memcmp(x->in + i + 1, name, j - i - 1) == 0) {
                    if (entities[e].text[0] == ' ')
                        emit_space(x);
                    else
                        put(x, entities[e].text, strlen(entities[e].text));
                    x->i = j + 1;
                    return;
                }
            }
        }
    }
    put1(x, '&');
    x->i = i + 1;
}

/* At '_': a behaviour switch __NAME__ is dropped. */
static void underscore(sx *x)
{
    size_t i = x->i, n = x->n, j = i + 2;
    if (i + 1 < n && x->in[i + 1] == '_') {
        while (j < n && j - i < 40 && x->in[j] >= 'A' && x->in[j] <= 'Z')
            j++;
        if (j > i + 2 && j + 1 < n && x->in[j] == '_' && x->in[j + 1] == '_') {
            x->i = j + 2;
            return;
        }
    }
    put1(x, '_');
    x->i = i + 1;
}

static void run(sx *x)
{
    const uint8_t *in = x->in;
    size_t n = x->n;
    while (x->i < n && !x->overflow) {
        size_t i = x->i;
        if (x->heading_end != NONE && i >= x->heading_end) {
            end_heading(x);
            continue;
        }
        if ((i == 0 || in[i - 1] == '\n') && line_start(x))
            continue;
        uint8_t c = in[i];
        if (!special[c]) {
            size_t lim = x->heading_end < n ? x->heading_end : n, j = i + 1;
            while (j < lim && !special[in[j]])
                j++;
            put(x, in + i, j - i);
            x->i = j;
            continue;
        }
        switch (c) {
        case ' ':
        case '\t':
        case '\r':
            while (x->i < n && is_hspace(in[x->i]))
                x->i++;
            emit_space(x);
            break;
        case '\n':
            newline(x);
            break;
        case '<':
            if (starts(x, i, "<!--"))
                x->i = comment_end(x, i);
            else
                tag(x);
            break;
        case '{':
            if (i + 1 < n && in[i + 1] == '{') {
                x->i = template_end(x, i);
                emit_gap(x);
            } else {
                put1(x, '{');
                x->i = i + 1;
            }
            break;
        case '[':
            if (i + 1 < n && in[i + 1] == '[')
                link(x);
            else
                ext_link(x);
            break;
        case ']':
            if (x->link_depth > 0 && i + 1 < n && in[i + 1] == ']') {
                x->link_depth--;
                x->i = i + 2;
            } else if (x->ext_open) {
                x->ext_open = 0;
                x->i = i + 1;
            } else {
                put1(x, ']');
                x->i = i + 1;
            }
            break;
        case '\'': {
            size_t j = i;
            while (j < n && in[j] == '\'')
                j++;
            if (j - i == 1)
                put1(x, '\'');
            x->i = j; /* '' italic, ''' bold, ''''' both: dropped */
            break;
        }
        case '&':
            entity_ref(x);
            break;
        default: /* '_' */
            underscore(x);
            break;
        }
    }
}

cc_status wiki_strip_markup(const char *in, size_t n, cc_buf *out)
{
    if (n == 0)
        return CC_OK;
    if (in == NULL || out == NULL)
        return cc_fail(CC_E_INVAL, "wiki_strip_markup: NULL argument");
    /* the output is never longer than the input: reserve once, write without reallocating */
    size_t room = out->max > out->len ? out->max - out->len : 0;
    CC_TRY(cc_buf_reserve(out, n < room ? n : room));
    sx x = {.in = (const uint8_t *)in,
            .n = n,
            .o = out->data,
            .w = out->len,
            .base = out->len,
            .cap = out->len + (n < room ? n : room),
            .heading_end = NONE,
            .next_gt = NONE};
    run(&x);
    if (x.overflow)
        return cc_fail(CC_E_LIMIT,
                       "plain text of a %zu-byte wikitext exceeds its buffer of %zu bytes", n,
                       out->max);
    while (x.w > x.base && (x.o[x.w - 1] == ' ' || x.o[x.w - 1] == '\n'))
        x.w--;
    out->len = x.w;
    return CC_OK;
}
