/* common/buf.c — see buf.h. */
#include "common/buf.h"

#include <stdlib.h>
#include <string.h>

void cc_buf_init(cc_buf *b, size_t max)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    b->max = max;
}

cc_status cc_buf_reserve(cc_buf *b, size_t extra)
{
    if (extra > b->max || b->len > b->max - extra)
        return cc_fail(CC_E_LIMIT, "buffer limit of %zu bytes exceeded", b->max);
    size_t need = b->len + extra;
    if (need <= b->cap)
        return CC_OK;
    /* Grow geometrically, but never allocate past the maximum. */
    size_t cap = b->cap ? b->cap : 256;
    while (cap < need)
        cap = cap > SIZE_MAX / 2 ? need : cap * 2;
    if (cap > b->max)
        cap = b->max;
    uint8_t *p = realloc(b->data, cap);
    if (!p)
        return cc_fail(CC_E_NOMEM, "out of memory growing a buffer to %zu bytes", cap);
    b->data = p;
    b->cap = cap;
    return CC_OK;
}

cc_status cc_buf_append(cc_buf *b, const void *p, size_t n)
{
    if (n == 0)
        return CC_OK;
    CC_TRY(cc_buf_reserve(b, n));
    memcpy(b->data + b->len, p, n);
    b->len += n;
    return CC_OK;
}

cc_status cc_buf_put_u16(cc_buf *b, uint16_t v)
{
    uint8_t t[2];
    cc_store_u16(t, v);
    return cc_buf_append(b, t, sizeof t);
}

cc_status cc_buf_put_u32(cc_buf *b, uint32_t v)
{
    uint8_t t[4];
    cc_store_u32(t, v);
    return cc_buf_append(b, t, sizeof t);
}

cc_status cc_buf_put_u64(cc_buf *b, uint64_t v)
{
    uint8_t t[8];
    cc_store_u64(t, v);
    return cc_buf_append(b, t, sizeof t);
}

void cc_buf_reset(cc_buf *b)
{
    b->len = 0;
}

void cc_buf_free(cc_buf *b)
{
    if (!b)
        return;
    free(b->data);
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
}
