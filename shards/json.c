/* shards/json.c — see json.h.
 *
 * Escaping follows Python's json module with ensure_ascii=False, and ill-formed UTF-8 is
 * replaced the way Python's "replace" error handler does it (Unicode's "maximal subpart"
 * practice, Unicode 15 §3.9 U+FFFD substitution), so the C and Python readers print identical
 * bytes for identical records.
 */
#include "shards/json.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const char hex_digits[] = "0123456789abcdef";

/* Length of the well-formed UTF-8 sequence at s (1..4), or 0 when it is ill-formed; then *skip
 * is the length of its maximal ill-formed subpart (≥ 1), which becomes one U+FFFD. */
static size_t utf8_seq(const uint8_t *s, size_t n, size_t *skip)
{
    uint8_t b = s[0];
    size_t need;
    uint8_t lo = 0x80, hi = 0xBF; /* allowed range of the second byte */
    if (b < 0x80)
        return 1;
    if (b >= 0xC2 && b <= 0xDF) {
        need = 2;
    } else if (b >= 0xE0 && b <= 0xEF) {
        need = 3;
        if (b == 0xE0)
            lo = 0xA0; /* overlong below U+0800 */
        else if (b == 0xED)
            hi = 0x9F; /* surrogates U+D800..U+DFFF */
    } else if (b >= 0xF0 && b <= 0xF4) {
        need = 4;
        if (b == 0xF0)
            lo = 0x90; /* overlong below U+10000 */
        else if (b == 0xF4)
            hi = 0x8F; /* past U+10FFFF */
    } else {
        *skip = 1; /* continuation byte, C0/C1 (always overlong) or F5..FF */
        return 0;
    }
    size_t i = 1;
    for (; i < need && i < n; i++) {
        uint8_t c = s[i];
        if (i == 1 ? c < lo || c > hi : c < 0x80 || c > 0xBF)
            break;
    }
    if (i == need)
        return need;
    *skip = i;
    return 0;
}

/* Appends s as a JSON string literal. Runs of bytes that need no escaping go in one append. */
static cc_status put_string(cc_buf *out, const char *str)
{
    static const uint8_t fffd[3] = {0xEF, 0xBF, 0xBD};
    const uint8_t *s = (const uint8_t *)(str ? str : "");
    size_t n = strlen((const char *)s);
    size_t run = 0; /* start of the pending run of bytes copied as they are */
    size_t i = 0;
    CC_TRY(cc_buf_append(out, "\"", 1));
    while (i < n) {
        uint8_t b = s[i];
        char esc[8];
        size_t esc_len = 0, skip = 0;
        if (b >= 0x80) {
            size_t len = utf8_seq(s + i, n - i, &skip);
            if (len) {
                i += len;
                continue;
            }
        } else if (b == '"' || b == '\\') {
            esc[0] = '\\';
            esc[1] = (char)b;
            esc_len = 2;
        } else if (b < 0x20) {
            static const char short_form[] = {
                ['\b'] = 'b', ['\f'] = 'f', ['\n'] = 'n', ['\r'] = 'r', ['\t'] = 't'};
            esc[0] = '\\';
            if (b < sizeof short_form && short_form[b]) {
                esc[1] = short_form[b];
                esc_len = 2;
            } else {
                memcpy(esc + 1, "u00", 3);
                esc[4] = hex_digits[b >> 4];
                esc[5] = hex_digits[b & 15];
                esc_len = 6;
            }
        } else {
            i++; /* printable ASCII, DEL included */
            continue;
        }
        CC_TRY(cc_buf_append(out, s + run, i - run));
        if (skip) {
            CC_TRY(cc_buf_append(out, fffd, sizeof fffd));
            i += skip;
        } else {
            CC_TRY(cc_buf_append(out, esc, esc_len));
            i++;
        }
        run = i;
    }
    CC_TRY(cc_buf_append(out, s + run, i - run));
    return cc_buf_append(out, "\"", 1);
}

static cc_status put_hex(cc_buf *out, const uint8_t *p, size_t n)
{
    char h[2];
    CC_TRY(cc_buf_append(out, "\"", 1));
    for (size_t i = 0; i < n; i++) {
        h[0] = hex_digits[p[i] >> 4];
        h[1] = hex_digits[p[i] & 15];
        CC_TRY(cc_buf_append(out, h, 2));
    }
    return cc_buf_append(out, "\"", 1);
}

/* Appends printf-formatted text that fits a small buffer (numbers, keys). */
static cc_status put_fmt(cc_buf *out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static cc_status put_fmt(cc_buf *out, const char *fmt, ...)
{
    char t[64];
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(t, sizeof t, fmt, ap);
    va_end(ap);
    if (k < 0 || (size_t)k >= sizeof t)
        return cc_fail(CC_E_INVAL, "json: formatted field does not fit");
    return cc_buf_append(out, t, (size_t)k);
}

static cc_status put_record(const shard_record *r, cc_buf *out)
{
    CC_TRY(cc_buf_append(out, "{\"key\":", 7));
    CC_TRY(put_hex(out, r->uid, sizeof r->uid));
    CC_TRY(cc_buf_append(out, ",\"caption\":", 11));
    CC_TRY(put_string(out, r->caption));
    CC_TRY(cc_buf_append(out, ",\"url\":", 7));
    CC_TRY(put_string(out, r->url));
    CC_TRY(cc_buf_append(out, ",\"page_url\":", 12));
    CC_TRY(put_string(out, r->page_url));
    CC_TRY(cc_buf_append(out, ",\"license\":", 11));
    CC_TRY(put_string(out, r->license));
    if (r->query_id == SHARD_NO_QUERY)
        CC_TRY(put_fmt(out, ",\"query_id\":null"));
    else
        CC_TRY(put_fmt(out, ",\"query_id\":%" PRIu32, r->query_id));
    CC_TRY(cc_buf_append(out, ",\"query_ids\":[", 14));
    for (uint32_t i = 0; i < r->n_query_ids; i++)
        CC_TRY(put_fmt(out, i ? ",%" PRIu32 : "%" PRIu32, r->query_ids[i]));
    CC_TRY(put_fmt(out, "],\"format\":\"%s\"", shard_image_ext(r->image_format)));
    CC_TRY(put_fmt(out, ",\"image_bytes\":%zu", r->image_len));
    CC_TRY(put_fmt(out, ",\"width\":%" PRIu32 ",\"height\":%" PRIu32, r->width, r->height));
    CC_TRY(put_fmt(out, ",\"orig_width\":%" PRIu32 ",\"orig_height\":%" PRIu32, r->orig_width,
                   r->orig_height));
    CC_TRY(cc_buf_append(out, ",\"content_hash\":", 16));
    CC_TRY(put_hex(out, r->content_hash, sizeof r->content_hash));
    CC_TRY(put_fmt(out, ",\"phash\":\"%016" PRIx64 "\"", r->phash));
    return put_fmt(out, ",\"fetch_time_ms\":%" PRId64 "}", r->fetch_time_ms);
}

cc_status shard_record_to_json(const shard_record *r, cc_buf *out)
{
    size_t start = out->len;
    cc_status st = put_record(r, out);
    if (st != CC_OK)
        out->len = start;
    return st;
}
