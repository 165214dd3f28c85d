/* query_lists/normalize.c — see normalize.h. */
#include "query_lists/normalize.h"

#include <string.h>

#include "common/utf8.h"

size_t qn_words(const char *s, size_t n, char scratch[QN_WORD_MAX], qn_word_fn fn, void *ctx)
{
    const uint8_t *p = (const uint8_t *)s;
    size_t i = 0, words = 0, len = 0;
    int in_word = 0;
    while (i <= n) {
        uint32_t cp = 0;
        size_t k = 0;
        int word_char = 0;
        if (i < n) {
            if (p[i] < 0x80) {
                /* ASCII fast path: the common case for captions */
                uint8_t c = p[i];
                k = 1;
                if ((c | 0x20) >= 'a' && (c | 0x20) <= 'z') {
                    cp = c | 0x20;
                    word_char = 1;
                } else if (c >= '0' && c <= '9') {
                    cp = c;
                    word_char = 1;
                }
            } else {
                k = cc_utf8_decode(p + i, n - i, &cp);
                if (k == 0)
                    k = 1; /* an invalid byte separates words */
                else if (cc_utf8_is_word(cp))
                    word_char = 1, cp = cc_utf8_fold(cp);
            }
        }
        if (word_char) {
            uint8_t enc[4];
            size_t el = cp < 0x80 ? (enc[0] = (uint8_t)cp, 1) : cc_utf8_encode(cp, enc);
            /* cut over-long words on a character boundary, keeping room for the NUL */
            if (len + el < QN_WORD_MAX) {
                memcpy(scratch + len, enc, el);
                len += el;
            }
            in_word = 1;
        } else if (in_word) {
            scratch[len] = '\0';
            fn(ctx, scratch, len);
            words++;
            len = 0;
            in_word = 0;
        }
        if (i == n)
            break;
        i += k;
    }
    return words;
}

typedef struct norm_ctx {
    cc_buf *out;
    cc_status st;
} norm_ctx;

static void append_word(void *ctx, const char *word, size_t len)
{
    norm_ctx *c = ctx;
    if (c->st != CC_OK)
        return;
    if (c->out->len)
        c->st = cc_buf_append(c->out, " ", 1);
    if (c->st == CC_OK)
        c->st = cc_buf_append(c->out, word, len);
}

cc_status qn_normalize(const char *s, size_t n, cc_buf *out, size_t *words)
{
    char scratch[QN_WORD_MAX];
    norm_ctx c = {out, CC_OK};
    cc_buf_reset(out);
    size_t w = qn_words(s, n, scratch, append_word, &c);
    if (c.st == CC_OK)
        c.st = cc_buf_append(out, "", 1);
    if (c.st != CC_OK)
        return c.st;
    out->len--; /* the NUL is there but not counted */
    if (words)
        *words = w;
    return CC_OK;
}
