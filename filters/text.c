/* filters/text.c — caption normalization, text rules and the blocklist (see text.h).
 *
 * Words. Two notions are used. The "words" counted for min_words are the space-separated tokens
 * of the normalized caption. The words that rules compare (boilerplate, repeated, blocklist,
 * file names) are maximal runs of word characters (cc_utf8_is_word), case-folded, with an
 * apostrophe (U+0027 or U+2019) kept — as ' — when it sits between two word characters: so
 * "Don’t," gives "don't", and "x-rated" gives "x", "rated". Blocklist entries are split the same
 * way: an entry matches where a regex \b...\b on the folded text would, apostrophes aside.
 *
 * Blocklist. An open-addressing hash set (linear probing, power-of-two capacity, load <= 1/2)
 * of 64-bit keys. A one-word key is the XXH3 of the folded word; an n-word key is the XXH3 of the
 * n word hashes. Each entry also inserts its proper prefixes marked BL_PREFIX, so a scan from a
 * caption word continues to the next word only while some entry still starts that way: one probe
 * per word in the common case, whatever the longest phrase. Keys are not verified against the
 * text: a false match needs a 64-bit collision (about 1e-13 per probe with a million entries).
 */
#include "filters/text.h"

#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/file.h"
#include "common/hash.h"
#include "common/utf8.h"

#define TEXT_WORD_MAX 128 /* folded bytes of a word that can take part in a comparison */
#define TEXT_PHRASE_MAX 8 /* words in one blocklist entry */
#define TEXT_BL_MAX_ENTRIES 1000000
#define TEXT_BL_MAX_BYTES ((size_t)64 << 20)
#define TEXT_BL_LINE_MAX 1024 /* bytes of one blocklist line */

static const char *const reason_names[TEXT_R_COUNT] = {
    "ok",       "empty",  "bad_utf8",    "too_short", "too_long",  "too_few_words", "url",
    "filename", "digits", "boilerplate", "repeated",  "blocklist", "not_english",
};

const char *text_reason_name(text_reason r)
{
    if ((int)r < 0 || r >= TEXT_R_COUNT)
        return "unknown";
    return reason_names[r];
}

void text_rules_default(text_rules *r)
{
    r->min_chars = 6;
    r->max_chars = 1000;
    r->min_words = 3;
    r->max_invalid_frac = 0.1;
    r->boilerplate = 1;
    r->english_only = 0;
    r->blocklist = NULL;
}

/* ---- characters and words ------------------------------------------------------------------ */

static int is_digit(uint32_t c)
{
    return c >= '0' && c <= '9';
}

static int is_alpha(uint32_t c)
{
    return (c | 0x20) >= 'a' && (c | 0x20) <= 'z';
}

/* cc_utf8_is_word for ASCII, inline: the word loops below spend most of their time here. */
static int ascii_is_word(uint8_t c)
{
    return is_digit(c) || is_alpha(c);
}

/* The code point at s[i] (i < n); invalid bytes read as U+FFFD of length 1. */
static size_t next_cp(const uint8_t *s, size_t n, size_t i, uint32_t *cp)
{
    if (s[i] < 0x80) {
        *cp = s[i];
        return 1;
    }
    size_t k = cc_utf8_decode(s + i, n - i, cp);
    if (k == 0) {
        *cp = CC_UTF8_REPLACEMENT;
        k = 1;
    }
    return k;
}

typedef struct word_it {
    const uint8_t *s;
    size_t n, pos;
} word_it;

typedef struct word {
    size_t start, end; /* byte span in the text */
    size_t len; /* folded bytes in buf */
    int too_long; /* folded form longer than TEXT_WORD_MAX: buf holds a prefix only */
    size_t digits, alphas; /* ASCII digits and ASCII letters among its characters */
    size_t chars;
    uint8_t buf[TEXT_WORD_MAX];
} word;

/* 1 when a word character starts at s[i]. */
static int word_at(const uint8_t *s, size_t n, size_t i)
{
    uint32_t cp;
    if (i >= n)
        return 0;
    if (s[i] < 0x80)
        return ascii_is_word(s[i]);
    next_cp(s, n, i, &cp);
    return cc_utf8_is_word(cp);
}

/* Reads the next word into *w; 0 at the end of the text. Counts are kept in locals and stored
 * once: this loop runs over every word of every caption. */
static int word_next(word_it *it, word *w)
{
    const uint8_t *s = it->s;
    size_t n = it->n, i = it->pos;
    uint32_t cp = 0;
    while (i < n) {
        if (s[i] < 0x80) {
            if (ascii_is_word(s[i]))
                break;
            i++;
            continue;
        }
        size_t k = next_cp(s, n, i, &cp);
        if (cc_utf8_is_word(cp))
            break;
        i += k;
    }
    if (i >= n) {
        it->pos = n;
        return 0;
    }
    w->start = i;
    size_t len = 0, digits = 0, alphas = 0, chars = 0;
    int too_long = 0;
    while (i < n) {
        uint8_t b = s[i], enc[4];
        size_t k = 1, e = 1;
        if (b < 0x80) {
            if (is_alpha(b)) {
                enc[0] = b | 0x20;
                alphas++;
            } else if (is_digit(b)) {
                enc[0] = b;
                digits++;
            } else if (b == '\'' && word_at(s, n, i + 1)) {
                enc[0] = '\''; /* inside the word only when a word character follows */
            } else {
                break;
            }
        } else {
            k = next_cp(s, n, i, &cp);
            if (cc_utf8_is_word(cp)) {
                e = cc_utf8_encode(cc_utf8_fold(cp), enc);
            } else if (cp == 0x2019 && word_at(s, n, i + k)) { /* ’ as an apostrophe */
                enc[0] = '\'';
            } else {
                break;
            }
        }
        if (len + e > TEXT_WORD_MAX)
            too_long = 1; /* buf keeps a prefix; such a word never matches */
        else if (e == 1)
            w->buf[len++] = enc[0];
        else
            for (size_t j = 0; j < e; j++)
                w->buf[len++] = enc[j];
        chars++;
        i += k;
    }
    w->end = i;
    w->len = len;
    w->too_long = too_long;
    w->digits = digits;
    w->alphas = alphas;
    w->chars = chars;
    it->pos = i;
    return 1;
}

/* Compares a word with a NUL-terminated literal, as strcmp would (words hold no NUL). */
static int word_cmp(const word *w, const char *lit)
{
    for (size_t i = 0; i < w->len; i++) {
        uint8_t c = (uint8_t)lit[i];
        if (w->buf[i] != c) /* also where lit ends first: its NUL sorts before */
            return w->buf[i] < c ? -1 : 1;
    }
    return -(lit[w->len] != '\0'); /* a longer literal sorts after */
}

static int word_is(const word *w, const char *lit)
{
    return !w->too_long && word_cmp(w, lit) == 0;
}

/* ---- normalization ------------------------------------------------------------------------- */

typedef struct norm_counts {
    size_t invalid, chars, words;
} norm_counts;

/* Appends k bytes of one or more characters, after a pending space; keeps room for the NUL. */
static cc_status emit(cc_buf *out, int *pending, const uint8_t *p, size_t k, norm_counts *c)
{
    size_t need = k + (size_t)*pending + 1;
    if (out->cap - out->len < need)
        CC_TRY(cc_buf_reserve(out, need));
    if (*pending) {
        out->data[out->len++] = ' ';
        c->chars++;
        c->words++;
        *pending = 0;
    }
    memcpy(out->data + out->len, p, k);
    out->len += k;
    return CC_OK;
}

static cc_status normalize(const uint8_t *in, size_t n, cc_buf *out, norm_counts *c)
{
    cc_buf_reset(out);
    memset(c, 0, sizeof *c);
    /* Output is usually about as long as the input: reserve once, within the maximum. */
    size_t room = out->max - out->len;
    CC_TRY(cc_buf_reserve(out, n < room ? n + 1 : room));
    int pending = 0; /* a whitespace run seen since the last character written */
    size_t i = 0;
    while (i < n) {
        uint8_t b = in[i];
        if (b > 0x20 && b < 0x7F) {
            /* A run of printable ASCII, with the single spaces between its words, is copied as
             * it is: most captions are one such run. */
            size_t j = i + 1, spaces = 0;
            for (; j < n; j++) {
                if (in[j] == ' ' && j + 1 < n && in[j + 1] > 0x20 && in[j + 1] < 0x7F)
                    spaces++;
                else if (in[j] <= 0x20 || in[j] >= 0x7F)
                    break;
            }
            CC_TRY(emit(out, &pending, in + i, j - i, c));
            c->chars += j - i;
            c->words += spaces;
            i = j;
            continue;
        }
        uint32_t cp = b;
        size_t k = b < 0x80 ? 1 : cc_utf8_decode(in + i, n - i, &cp);
        if (k == 0) {
            static const uint8_t fffd[3] = {0xEF, 0xBF, 0xBD};
            CC_TRY(emit(out, &pending, fffd, 3, c));
            c->invalid++;
            c->chars++;
            i++;
            continue;
        }
        if (cc_utf8_is_space(cp)) {
            pending = out->len > 0; /* leading whitespace is dropped */
        } else if (!cc_utf8_is_control(cp)) {
            CC_TRY(emit(out, &pending, in + i, k, c));
            c->chars++;
        }
        i += k;
    }
    /* a trailing pending space is never written */
    if (out->cap - out->len < 1)
        CC_TRY(cc_buf_reserve(out, 1));
    out->data[out->len] = '\0';
    c->words += out->len > 0;
    return CC_OK;
}

cc_status text_normalize(const char *in, size_t n, cc_buf *out, size_t *invalid)
{
    norm_counts c;
    cc_status st = normalize((const uint8_t *)in, n, out, &c);
    if (invalid)
        *invalid = st == CC_OK ? c.invalid : 0;
    return st;
}

/* ---- boilerplate rules --------------------------------------------------------------------- */

static int lower_ascii(uint8_t c)
{
    return c >= 'A' && c <= 'Z' ? c + 0x20 : c;
}

static int starts_with_ci(const uint8_t *s, size_t n, const char *lit)
{
    size_t k = strlen(lit);
    if (n < k)
        return 0;
    for (size_t i = 0; i < k; i++)
        if (lower_ascii(s[i]) != (uint8_t)lit[i])
            return 0;
    return 1;
}

static int eq_ci(const uint8_t *s, size_t n, const char *lit)
{
    return strlen(lit) == n && starts_with_ci(s, n, lit);
}

/* Image and document extensions (lowercase). None is a top-level domain. */
static const char *const file_exts[] = {"avif", "bmp", "gif",  "heic", "heif", "ico",
                                        "jfif", "jpe", "jpeg", "jpg",  "pdf",  "png",
                                        "psd",  "svg", "tif",  "tiff", "webp", NULL};

static int is_file_ext(const uint8_t *s, size_t n)
{
    for (size_t i = 0; file_exts[i]; i++)
        if (eq_ci(s, n, file_exts[i]))
            return 1;
    return 0;
}

/* host[:port][/path|?query|#fragment], host = two or more dot-separated labels of letters,
 * digits, '-' or non-ASCII, the last one (the TLD) letters only, in one case, and not a file
 * extension ("logo.png" is a file name). Without a path the TLD must have 2..24 letters. An
 * "user@" before the host is allowed (e-mail addresses). */
static int domain_shape(const uint8_t *s, size_t n)
{
    /* the host is s[hs..he): it ends at the path, query, fragment or port */
    size_t he = 0;
    while (he < n && s[he] != '/' && s[he] != '?' && s[he] != '#' && s[he] != ':')
        he++;
    size_t hs = 0;
    for (size_t k = 0; k < he; k++)
        if (s[k] == '@')
            hs = k + 1;
    if (hs == 1)
        return 0;
    /* k == he closes the last label; ls is the start of the label being read */
    size_t labels = 0, ls = hs;
    for (size_t k = hs; k <= he; k++) {
        if (k < he && s[k] != '.') {
            if (!(s[k] >= 0x80 || s[k] == '-' || is_digit(s[k]) || is_alpha(s[k])))
                return 0;
            continue;
        }
        if (k == ls || s[ls] == '-' || s[k - 1] == '-' || k - ls > 63)
            return 0; /* empty label, or '-' at an end */
        labels++;
        if (k < he)
            ls = k + 1;
    }
    if (labels < 2)
        return 0;
    /* the TLD is s[ls..he) */
    const uint8_t *tld = s + ls;
    size_t tn = he - ls, lower = 0, upper = 0;
    if (!starts_with_ci(tld, tn, "xn--")) {
        for (size_t k = 0; k < tn; k++) {
            if (tld[k] >= 0x80)
                continue;
            if (!is_alpha(tld[k]))
                return 0;
            lower += tld[k] >= 'a';
            upper += tld[k] < 'a';
        }
        if (lower && upper)
            return 0; /* "St.Louis" */
        if (is_file_ext(tld, tn))
            return 0;
    }
    /* "a.b/c" is a URL, "a.b" alone is too weak a sign (one-letter TLDs do not exist) */
    if (he == n)
        return tn >= 2 && tn <= 24;
    if (s[he] == ':') { /* a port, then the end or a path */
        size_t k = he + 1;
        while (k < n && is_digit(s[k]) && k - he <= 5)
            k++;
        if (k == he + 1 || (k < n && s[k] != '/' && s[k] != '?' && s[k] != '#'))
            return 0;
    }
    return 1;
}

/* The whole caption is one URL-like token: scheme://…, //host…, www.…, mailto:… or a domain. */
static int is_url(const uint8_t *s, size_t n)
{
    if (n < 3 || memchr(s, ' ', n))
        return 0;
    if (is_alpha(s[0])) {
        size_t i = 1;
        while (i < n && i < 32 &&
               (is_alpha(s[i]) || is_digit(s[i]) || s[i] == '+' || s[i] == '-' || s[i] == '.'))
            i++;
        if (n - i > 3 && memcmp(s + i, "://", 3) == 0)
            return 1;
    }
    if (n > 4 && starts_with_ci(s, n, "www.") && s[4] != '.')
        return 1;
    if (n > 7 && starts_with_ci(s, n, "mailto:"))
        return 1;
    if (s[0] == '/' && s[1] == '/')
        return domain_shape(s + 2, n - 2);
    return domain_shape(s, n);
}

/* Separators that join the parts of a file name. */
static int is_name_sep(uint8_t c, int space_ok)
{
    return c == '_' || c == '-' || c == '.' || c == '(' || c == ')' || c == '[' || c == ']' ||
           c == ',' || c == ':' || c == '~' || c == '+' || c == '#' || (space_ok && c == ' ');
}

static int gap_is_sep(const uint8_t *s, size_t a, size_t b, int space_ok)
{
    for (size_t i = a; i < b; i++)
        if (!is_name_sep(s[i], space_ok))
            return 0;
    return 1;
}

/* Prefixes of camera, phone and app file names, glued to digits ("DSC01234") or followed by
 * '_' or '-' ("IMG_1234", "PXL_20210101_123456", "photo_2"). Sorted, for bsearch. */
static const char *const camera_prefixes[] = {
    "cimg",  "dcim",       "dji",   "dsc",      "dscf", "dsci",    "dscn", "fb",       "gh",
    "gopr",  "gp",         "gx",    "hpim",     "imag", "image",   "img",  "imgp",     "mg",
    "mvimg", "pano",       "photo", "pic",      "pict", "picture", "pxl",  "received", "sam",
    "scan",  "screenshot", "sdc",   "snapshot", "vid",  "wp",
};

/* App names that contain spaces: "Screen Shot 2019-05-01 at 10.00.00 AM". */
static const char *const screenshot_prefixes[][3] = {
    {"screenshot", NULL, NULL},          {"screen", "shot", NULL},
    {"whatsapp", "image", NULL},         {"whatsapp", "video", NULL},
    {"bildschirmfoto", NULL, NULL},      {"captura", "de", "pantalla"},
    {"capture", "d'\303\251cran", NULL}, /* d'écran, in octal: a hex escape would take the c */
    {"schermafbeelding", NULL, NULL},    {"schermata", NULL, NULL},
    {"sk\303\244rmavbild", NULL, NULL},
};

/* Words that may follow the number in such names. Sorted. */
static const char *const name_fillers[] = {
    "a",   "alle", "am",  "at", "burst", "copy", "cover",    "de", "edited",   "final",
    "hdr", "img",  "las", "mp", "om",    "pm",   "portrait", "um", "\303\240",
};

static int cmp_word_str(const void *key, const void *elem)
{
    return word_cmp(key, *(const char *const *)elem);
}

static int word_in(const word *w, const char *const *list, size_t count)
{
    if (w->too_long)
        return 0;
    return bsearch(w, list, count, sizeof *list, cmp_word_str) != NULL;
}

#define COUNT_OF(a) (sizeof(a) / sizeof((a)[0]))

/* A word that may follow the name's prefix: a number, a short code with digits ("WA0001",
 * "1024x768", "10am"), or a filler. */
static int name_tail_word(const word *w)
{
    if (w->too_long)
        return 0;
    if (w->digits > 0 && w->digits + w->alphas == w->chars && w->alphas <= 3)
        return 1;
    return word_in(w, name_fillers, COUNT_OF(name_fillers));
}

/* Camera, phone, screenshot and hash names, without an extension. */
static int is_camera_name(const uint8_t *s, size_t n)
{
    word_it it = {s, n, 0};
    word w;
    if (!word_next(&it, &w) || w.too_long || !gap_is_sep(s, 0, w.start, 0))
        return 0;
    int space_ok = 0; /* may the tail be separated by spaces? */
    size_t digits = 0;
    /* multi-word app prefixes */
    int matched = 0;
    for (size_t p = 0; p < COUNT_OF(screenshot_prefixes) && !matched; p++) {
        const char *const *pw = screenshot_prefixes[p];
        if (!word_is(&w, pw[0]))
            continue;
        word_it t = it;
        word x;
        size_t k = 1;
        while (k < 3 && pw[k] && word_next(&t, &x) && word_is(&x, pw[k]))
            k++;
        if (k == 3 || !pw[k]) {
            matched = 1;
            space_ok = 1;
            it = t;
        }
    }
    if (!matched) {
        /* "img1234" splits into letters "img" and digits "1234" */
        size_t a = 0;
        while (a < w.len && is_alpha(w.buf[a]))
            a++;
        word pre = w;
        pre.len = a;
        int glued = a < w.len;
        if (glued && w.digits != w.len - a)
            return 0;
        if (a == 1 && w.buf[0] == 'p') { /* Panasonic/Olympus P1010001 */
            if (w.len - a != 7)
                return 0;
        } else if (!word_in(&pre, camera_prefixes, COUNT_OF(camera_prefixes))) {
            if (a != 0 || !memchr(s, '_', n))
                return 0;
            /* only numbers joined by '_', maybe a one-letter end: 20190501_123456,
             * 10151234_1015123456789_123456_n (Facebook) */
            digits = w.len;
            size_t words = 1;
            size_t prev = w.end;
            while (word_next(&it, &w)) {
                int last_letter = w.len == 1 && w.alphas == 1 && it.pos == n;
                if (!gap_is_sep(s, prev, w.start, 0) || (w.digits != w.chars && !last_letter))
                    return 0;
                prev = w.end;
                words++;
            }
            return words >= 2 && gap_is_sep(s, prev, n, 0);
        }
        digits = w.len - a;
        /* "IMG_1234", not "IMG 1234" (that one is boilerplate); after that, spaces may come
         * ("IMG_1234 (1)", "IMG_1234 copy") */
        if (!glued && (w.end >= n || s[w.end] == ' '))
            return 0;
        space_ok = 1;
    }
    size_t prev = w.end;
    if (matched) /* the iterator stands after the last prefix word */
        prev = it.pos;
    word x;
    while (word_next(&it, &x)) {
        if (!gap_is_sep(s, prev, x.start, space_ok) || !name_tail_word(&x))
            return 0;
        digits += x.digits;
        prev = x.end;
    }
    return digits > 0 && gap_is_sep(s, prev, n, space_ok);
}

/* A hash or UUID as a name: one token of >= 16 hex digits and dashes, with a digit and a
 * letter. */
static int is_hex_name(const uint8_t *s, size_t n)
{
    size_t hex = 0, dig = 0;
    for (size_t i = 0; i < n; i++) {
        uint8_t c = s[i];
        if (is_digit(c))
            dig++;
        else if (!((c | 0x20) >= 'a' && (c | 0x20) <= 'f') && c != '-')
            return 0;
        hex += c != '-';
    }
    return hex >= 16 && dig > 0 && dig < hex;
}

static int is_filename(const uint8_t *s, size_t n)
{
    /* "<stem>.<ext>" with the last dot: the stem may contain spaces and dots ("Screen Shot
     * 2019-05-01 at 10.00.00.png"), but ".png" alone or "the .pdf" is not a name */
    const uint8_t *dot = NULL;
    for (size_t i = n; i > 0; i--)
        if (s[i - 1] == '.') {
            dot = s + i - 1;
            break;
        }
    if (dot && dot > s && dot[-1] != ' ' && is_file_ext(dot + 1, (size_t)(s + n - dot - 1)))
        return 1;
    return is_camera_name(s, n) || is_hex_name(s, n);
}

/* Only digits, punctuation and symbols: no letter of any script. */
static int is_digits(const uint8_t *s, size_t n)
{
    for (size_t i = 0; i < n;) {
        uint32_t cp;
        i += next_cp(s, n, i, &cp);
        if (cc_utf8_is_word(cp) && !is_digit(cp))
            return 0;
    }
    return 1;
}

/* Generic words of image alt texts and UI labels. Sorted, for bsearch. */
static const char *const generic_words[] = {
    "a",          "alt",         "an",        "and",     "arrow",       "available",  "avatar",
    "background", "banner",      "blank",     "btn",     "bullet",      "button",     "click",
    "cover",      "default",     "download",  "empty",   "enlarge",     "featured",   "file",
    "for",        "found",       "full",      "gallery", "gif",         "graphic",    "header",
    "here",       "hero",        "icon",      "icons",   "image",       "images",     "img",
    "in",         "jpeg",        "jpg",       "large",   "larger",      "loader",     "loading",
    "logo",       "main",        "more",      "no",      "none",        "not",        "null",
    "of",         "on",          "open",      "photo",   "photograph",  "photos",     "pic",
    "pics",       "picture",     "pictures",  "pixel",   "placeholder", "png",        "preview",
    "product",    "px",          "see",       "size",    "slide",       "spacer",     "svg",
    "text",       "the",         "this",      "thumb",   "thumbnail",   "thumbnails", "thumbs",
    "to",         "transparent", "undefined", "unnamed", "untitled",    "view",       "webp",
    "x",          "zoom",
};

static int is_generic_word(const word *w)
{
    if (w->too_long)
        return 0;
    if (w->digits == w->chars) /* a number */
        return 1;
    /* a size such as 1024x768 */
    if (w->alphas == 1 && w->digits + 1 == w->chars) {
        const uint8_t *x = memchr(w->buf, 'x', w->len);
        if (x && x != w->buf && x != w->buf + w->len - 1)
            return 1;
    }
    return word_in(w, generic_words, COUNT_OF(generic_words));
}

/* Every word generic. Real captions fail on their first or second word, so this is cheap. */
static int is_boilerplate(const uint8_t *s, size_t n)
{
    word_it it = {s, n, 0};
    word w;
    size_t words = 0;
    while (word_next(&it, &w)) {
        if (!is_generic_word(&w))
            return 0;
        words++;
    }
    return words > 0;
}

/* Every word the same (>= 2 words); *first receives it. */
static int is_repeated(const uint8_t *s, size_t n, word *first)
{
    word_it it = {s, n, 0};
    word w;
    if (!word_next(&it, first) || first->too_long)
        return 0;
    size_t words = 1;
    while (word_next(&it, &w)) {
        if (w.too_long || w.len != first->len || memcmp(w.buf, first->buf, w.len) != 0)
            return 0;
        words++;
    }
    return words >= 2;
}

/* ---- blocklist ----------------------------------------------------------------------------- */

enum { BL_FULL = 1, BL_PREFIX = 2 };

typedef struct bl_slot {
    uint64_t key; /* 0 = empty */
    uint32_t entry; /* offset + 1 of the entry's text in names; 0 for a prefix only */
    uint32_t flags; /* BL_FULL | BL_PREFIX */
} bl_slot;

struct text_blocklist {
    bl_slot *slots;
    size_t cap; /* a power of two, or 0 */
    size_t used; /* occupied slots, <= cap / 2 */
    size_t count; /* distinct entries */
    cc_buf names; /* entries' folded text, words joined by one space, each NUL-terminated */
};

/* hw (n): the XXH3 of each folded word. Hashing the word hashes, not the text, lets a scan
 * extend a phrase by one word without re-reading the words before it. 0 marks an empty slot,
 * so a key of 0 moves to 1. */
static uint64_t phrase_key(const uint64_t *hw, size_t n)
{
    uint64_t k = n == 1 ? hw[0] : cc_hash64(hw, n * sizeof *hw);
    return k ? k : 1;
}

/* The slot holding key, or NULL. Load <= 1/2 keeps probe runs short and an empty slot always
 * ends them. */
static const bl_slot *bl_find(const text_blocklist *bl, uint64_t key)
{
    if (bl->cap == 0)
        return NULL;
    size_t mask = bl->cap - 1;
    for (size_t i = key & mask;; i = (i + 1) & mask) {
        if (bl->slots[i].key == key)
            return &bl->slots[i];
        if (bl->slots[i].key == 0)
            return NULL;
    }
}

/* The slot for key, claimed if new. The table has room (bl_grow). */
static bl_slot *bl_claim(text_blocklist *bl, uint64_t key)
{
    size_t mask = bl->cap - 1;
    size_t i = key & mask;
    while (bl->slots[i].key != 0 && bl->slots[i].key != key)
        i = (i + 1) & mask;
    if (bl->slots[i].key == 0) {
        bl->slots[i].key = key;
        bl->used++;
    }
    return &bl->slots[i];
}

/* Makes room for extra more keys at load <= 1/2. */
static cc_status bl_grow(text_blocklist *bl, size_t extra)
{
    size_t need = (bl->used + extra) * 2;
    if (need <= bl->cap)
        return CC_OK;
    size_t cap = bl->cap ? bl->cap : 1024;
    while (cap < need)
        cap *= 2;
    bl_slot *slots = calloc(cap, sizeof *slots);
    if (!slots)
        return cc_fail(CC_E_NOMEM, "blocklist: out of memory for %zu slots", cap);
    bl_slot *old = bl->slots;
    size_t old_cap = bl->cap;
    bl->slots = slots;
    bl->cap = cap;
    bl->used = 0;
    for (size_t i = 0; i < old_cap; i++)
        if (old[i].key)
            *bl_claim(bl, old[i].key) = old[i];
    free(old);
    return CC_OK;
}

cc_status text_blocklist_new(text_blocklist **out)
{
    text_blocklist *bl = calloc(1, sizeof *bl);
    if (!bl)
        return cc_fail(CC_E_NOMEM, "blocklist: out of memory");
    cc_buf_init(&bl->names, TEXT_BL_MAX_BYTES);
    *out = bl;
    return CC_OK;
}

void text_blocklist_free(text_blocklist *bl)
{
    if (!bl)
        return;
    free(bl->slots);
    cc_buf_free(&bl->names);
    free(bl);
}

size_t text_blocklist_count(const text_blocklist *bl)
{
    return bl ? bl->count : 0;
}

/* Adds the n bytes at s as one entry. CC_E_INVAL for bad entries, with a message. */
static cc_status bl_add(text_blocklist *bl, const uint8_t *s, size_t n)
{
    if (!cc_utf8_valid(s, n))
        return cc_fail(CC_E_INVAL, "not valid UTF-8");
    /* split and fold exactly as captions are; text is the canonical "w1 w2 ..." for messages */
    uint64_t hw[TEXT_PHRASE_MAX];
    uint8_t text[TEXT_PHRASE_MAX * (TEXT_WORD_MAX + 1)];
    size_t words = 0, tlen = 0;
    word_it it = {s, n, 0};
    word w;
    while (word_next(&it, &w)) {
        if (words == TEXT_PHRASE_MAX)
            return cc_fail(CC_E_INVAL, "more than %d words", TEXT_PHRASE_MAX);
        if (w.too_long)
            return cc_fail(CC_E_INVAL, "a word longer than %d bytes", TEXT_WORD_MAX);
        hw[words++] = cc_hash64(w.buf, w.len);
        if (tlen)
            text[tlen++] = ' ';
        memcpy(text + tlen, w.buf, w.len);
        tlen += w.len;
    }
    if (words == 0)
        return cc_fail(CC_E_INVAL, "empty entry (no letters or digits)");
    uint64_t key = phrase_key(hw, words);
    const bl_slot *dup = bl_find(bl, key);
    if (dup && (dup->flags & BL_FULL))
        return CC_OK; /* already listed */
    if (bl->count >= TEXT_BL_MAX_ENTRIES)
        return cc_fail(CC_E_LIMIT, "more than %d entries", TEXT_BL_MAX_ENTRIES);
    /* everything that can fail comes before the first key is inserted */
    CC_TRY(bl_grow(bl, words));
    size_t off = bl->names.len;
    text[tlen] = '\0';
    CC_TRY(cc_buf_append(&bl->names, text, tlen + 1));
    /* "bad phrase here" also marks "bad" and "bad phrase" as prefixes, for bl_match */
    for (size_t k = 1; k < words; k++)
        bl_claim(bl, phrase_key(hw, k))->flags |= BL_PREFIX;
    bl_slot *sl = bl_claim(bl, key);
    sl->flags |= BL_FULL;
    sl->entry = (uint32_t)off + 1;
    bl->count++;
    return CC_OK;
}

cc_status text_blocklist_add(text_blocklist *bl, const char *entry)
{
    if (!bl || !entry)
        return cc_fail(CC_E_INVAL, "blocklist: no list or no entry");
    cc_status st = bl_add(bl, (const uint8_t *)entry, strlen(entry));
    return st == CC_OK ? st : cc_wrap(st, "blocklist entry '%.60s'", entry);
}

cc_status text_blocklist_load(const char *path, text_blocklist **out)
{
    cc_buf file;
    cc_buf_init(&file, TEXT_BL_MAX_BYTES);
    text_blocklist *bl = NULL;
    cc_status st = cc_read_file(path, &file);
    if (st != CC_OK)
        goto done;
    CC_TRY_GOTO(st, text_blocklist_new(&bl), done);
    const uint8_t *p = file.data;
    size_t n = file.len, pos = 0, line = 0;
    if (n >= 3 && memcmp(p, "\xEF\xBB\xBF", 3) == 0)
        pos = 3; /* a BOM */
    while (pos < n) {
        line++;
        const uint8_t *nl = memchr(p + pos, '\n', n - pos);
        size_t end = nl ? (size_t)(nl - p) : n;
        size_t a = pos, b = end;
        pos = nl ? end + 1 : n;
        if (b - a > TEXT_BL_LINE_MAX) {
            st = cc_fail(CC_E_LIMIT, "%s:%zu: line longer than %d bytes", path, line,
                         TEXT_BL_LINE_MAX);
            goto done;
        }
        /* blanks around an entry and the CR of Windows line ends are not part of it */
        while (a < b && (p[a] == ' ' || p[a] == '\t'))
            a++;
        while (b > a && (p[b - 1] == ' ' || p[b - 1] == '\t' || p[b - 1] == '\r'))
            b--;
        if (a == b || p[a] == '#')
            continue;
        st = bl_add(bl, p + a, b - a);
        if (st == CC_E_INVAL) /* a bad entry in a file is a bad file */
            st = CC_E_FORMAT;
        if (st != CC_OK) {
            st = cc_wrap(st, "%s:%zu", path, line);
            goto done;
        }
    }
done:
    cc_buf_free(&file);
    if (st != CC_OK) {
        text_blocklist_free(bl);
        bl = NULL;
    }
    *out = bl;
    return st;
}

/* The first blocklisted word or phrase of the n bytes at s, or NULL. */
static const char *bl_match(const text_blocklist *bl, const uint8_t *s, size_t n)
{
    if (bl->count == 0)
        return NULL;
    /* A scan starts at every word: "new new york" fails "new york" at its second word and
     * matches from the next one. */
    word_it it = {s, n, 0};
    word w;
    uint64_t hw[TEXT_PHRASE_MAX];
    while (word_next(&it, &w)) {
        if (w.too_long)
            continue;
        hw[0] = cc_hash64(w.buf, w.len);
        const bl_slot *sl = bl_find(bl, phrase_key(hw, 1));
        word_it ahead = it; /* a phrase continues after this word */
        size_t k = 1;
        while (sl) {
            if (sl->flags & BL_FULL)
                return (const char *)bl->names.data + sl->entry - 1;
            /* prefix keys exist only for k < TEXT_PHRASE_MAX; the bound guards a collision */
            if (!(sl->flags & BL_PREFIX) || k == TEXT_PHRASE_MAX)
                break;
            word x;
            if (!word_next(&ahead, &x) || x.too_long)
                break;
            hw[k++] = cc_hash64(x.buf, x.len);
            sl = bl_find(bl, phrase_key(hw, k));
        }
    }
    return NULL;
}

/* ---- text_check ---------------------------------------------------------------------------- */

static cc_status reject(text_result *res, text_reason r, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static cc_status reject(text_result *res, text_reason r, const char *fmt, ...)
{
    res->reason = r;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(res->message, sizeof res->message, fmt, ap);
    va_end(ap);
    return CC_OK;
}

/* The length of the n bytes of UTF-8 at s cut to at most max bytes on a character boundary. */
static int cut_utf8(const char *s, size_t n, size_t max)
{
    if (n > max) {
        n = max;
        while (n > 0 && ((uint8_t)s[n] & 0xC0) == 0x80)
            n--; /* s[n] continues the character before it */
    }
    return (int)n;
}

cc_status text_check(const text_rules *r, const char *in, size_t n, cc_buf *norm, text_result *res)
{
    assert(r && norm && res);
    res->reason = TEXT_OK;
    res->message[0] = '\0'; /* not a memset of the whole message: this runs per caption */
    res->text = NULL;
    res->len = res->chars = res->words = res->invalid = 0;
    norm_counts c;
    CC_TRY(normalize((const uint8_t *)in, n, norm, &c));
    const uint8_t *s = norm->data;
    size_t len = norm->len;
    res->text = (const char *)s;
    res->len = len;
    res->chars = c.chars;
    res->words = c.words;
    res->invalid = c.invalid;
    /* the rules in the header's order; the first that fails decides */
    if (len == 0)
        return reject(res, TEXT_R_EMPTY, "nothing left after normalization");
    if ((double)c.invalid > r->max_invalid_frac * (double)c.chars)
        return reject(res, TEXT_R_BAD_UTF8, "%zu of %zu characters were invalid bytes", c.invalid,
                      c.chars);
    if (c.chars < r->min_chars)
        return reject(res, TEXT_R_TOO_SHORT, "%zu characters, fewer than %zu", c.chars,
                      r->min_chars);
    if (c.chars > r->max_chars)
        return reject(res, TEXT_R_TOO_LONG, "%zu characters, more than %zu", c.chars, r->max_chars);
    if (c.words < r->min_words)
        return reject(res, TEXT_R_TOO_FEW_WORDS, "%zu words, fewer than %zu", c.words,
                      r->min_words);
    if (r->boilerplate) { /* shapes of the whole caption, cheapest and most specific first */
        word first;
        if (is_url(s, len))
            return reject(res, TEXT_R_URL, "a bare URL or domain");
        if (is_filename(s, len))
            return reject(res, TEXT_R_FILENAME, "a file name");
        if (is_digits(s, len))
            return reject(res, TEXT_R_DIGITS, "only digits and punctuation");
        if (is_boilerplate(s, len))
            return reject(res, TEXT_R_BOILERPLATE, "only generic words");
        if (is_repeated(s, len, &first))
            return reject(res, TEXT_R_REPEATED, "one word repeated: '%.*s'",
                          cut_utf8((const char *)first.buf, first.len, 60),
                          (const char *)first.buf);
    }
    if (r->blocklist) {
        const char *e = bl_match(r->blocklist, s, len);
        if (e) {
            size_t el = strlen(e);
            return reject(res, TEXT_R_BLOCKLIST, "blocked %s '%.*s%s'",
                          strchr(e, ' ') ? "phrase" : "word", cut_utf8(e, el, 80), e,
                          el > 80 ? "..." : "");
        }
    }
    if (r->english_only) {
        const char *lang = NULL;
        /* -1 (short or unclear text) keeps the caption: only a reliable other language rejects */
        if (text_lang_is_english((const char *)s, len, &lang) == 0)
            return reject(res, TEXT_R_NOT_ENGLISH, "language '%s'", lang ? lang : "?");
    }
    return CC_OK;
}
