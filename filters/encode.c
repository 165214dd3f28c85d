/* filters/encode.c — img_encode_jpeg(): baseline 4:2:0 JPEG through libjpeg into a cc_buf.
 *
 * libjpeg writes straight into the cc_buf's free space (a destination manager over the buffer's
 * [len, cap) bytes), growing it within its maximum; a full buffer at the maximum stops the
 * encoder with CC_E_LIMIT. Errors longjmp back; on any failure out->len is restored, so the
 * buffer holds what it held before the call.
 */
#include <inttypes.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>

#include <jpeglib.h>
#include <jerror.h>

#include "filters/image.h"

/* Smallest first reservation of output space, bytes. */
#define ENC_MIN_CHUNK ((size_t)16 << 10)

typedef struct jenc {
    struct jpeg_error_mgr err; /* first: cinfo->err points here */
    struct jpeg_destination_mgr dest;
    jmp_buf jmp;
    cc_buf *out;
    size_t first; /* the buffer's growth hint, bytes */
    cc_status st; /* the failure that longjmp'd */
    char msg[JMSG_LENGTH_MAX + 64];
} jenc;

static void jenc_fail(jenc *e, cc_status st)
{
    e->st = st;
    longjmp(e->jmp, 1);
}

/* Makes the buffer's free space [len, cap) nonempty and hands it to libjpeg. */
static void jenc_room(j_compress_ptr ci)
{
    jenc *e = (jenc *)ci->err;
    cc_buf *b = e->out;
    size_t room = b->max - b->len;
    if (room == 0) {
        snprintf(e->msg, sizeof e->msg, "JPEG output exceeds the buffer maximum of %zu bytes",
                 b->max);
        jenc_fail(e, CC_E_LIMIT);
    }
    size_t want = b->len > e->first ? b->len : e->first; /* doubles the buffer each time */
    if (want > room)
        want = room;
    if (b->cap - b->len < want) {
        cc_status st = cc_buf_reserve(b, want);
        if (st != CC_OK) {
            snprintf(e->msg, sizeof e->msg, "%s", cc_errmsg());
            jenc_fail(e, st);
        }
    }
    e->dest.next_output_byte = b->data + b->len;
    e->dest.free_in_buffer = b->cap - b->len;
}

static void jenc_init_destination(j_compress_ptr ci)
{
    jenc_room(ci);
}

/* Called when [len, cap) is full: all of it is JPEG data now. */
static boolean jenc_empty_output_buffer(j_compress_ptr ci)
{
    jenc *e = (jenc *)ci->err;
    e->out->len = e->out->cap;
    jenc_room(ci);
    return TRUE;
}

static void jenc_term_destination(j_compress_ptr ci)
{
    jenc *e = (jenc *)ci->err;
    e->out->len = e->out->cap - e->dest.free_in_buffer;
}

static void jenc_error_exit(j_common_ptr ci)
{
    jenc *e = (jenc *)ci->err;
    char text[JMSG_LENGTH_MAX];
    e->err.format_message(ci, text);
    snprintf(e->msg, sizeof e->msg, "JPEG encoder: %s", text);
    jenc_fail(e, ci->err->msg_code == JERR_OUT_OF_MEMORY ? CC_E_NOMEM : CC_E_INVAL);
}

static void jenc_output_message(j_common_ptr ci)
{
    (void)ci; /* library code never prints */
}

/* The whole compression; every libjpeg error and a full buffer longjmp to jenc_guarded. */
static void jenc_run(jenc *e, struct jpeg_compress_struct *ci, const img_rgb *im, int quality)
{
    jpeg_create_compress(ci);
    e->dest.init_destination = jenc_init_destination;
    e->dest.empty_output_buffer = jenc_empty_output_buffer;
    e->dest.term_destination = jenc_term_destination;
    ci->dest = &e->dest;
    ci->image_width = im->w;
    ci->image_height = im->h;
    ci->input_components = 3;
    ci->in_color_space = JCS_RGB;
    jpeg_set_defaults(ci); /* YCbCr with luma sampled 2x2: 4:2:0 */
    jpeg_set_quality(ci, quality, TRUE); /* TRUE: quantizers clamped to baseline's 8 bits */
    /* optimized Huffman tables cost a second pass over the coefficients for ~5% size */
    ci->optimize_coding = FALSE;
    ci->dct_method = JDCT_ISLOW;
    jpeg_start_compress(ci, TRUE);
    size_t stride = (size_t)im->w * 3;
    while (ci->next_scanline < ci->image_height) {
        /* 16 rows a call: one iMCU row of 4:2:0 */
        JSAMPROW rows[16];
        JDIMENSION y = ci->next_scanline, k = ci->image_height - y < 16 ? ci->image_height - y : 16;
        for (JDIMENSION i = 0; i < k; i++)
            rows[i] = im->px + (y + i) * stride;
        jpeg_write_scanlines(ci, rows, k);
    }
    jpeg_finish_compress(ci);
}

/* e and ci belong to the caller's frame, so their state is defined after a longjmp. */
static cc_status jenc_guarded(jenc *e, struct jpeg_compress_struct *ci, const img_rgb *im,
                              int quality)
{
    if (setjmp(e->jmp) != 0)
        return cc_fail(e->st, "%s", e->msg);
    jenc_run(e, ci, im, quality);
    return CC_OK;
}

cc_status img_encode_jpeg(const img_rgb *im, int quality, cc_buf *out)
{
    if (quality < 1 || quality > 100)
        return cc_fail(CC_E_INVAL, "JPEG quality %d is not in 1..100", quality);
    if (im == NULL || out == NULL || im->px == NULL || im->w == 0 || im->h == 0)
        return cc_fail(CC_E_INVAL, "JPEG encode of an empty image");
    if (im->w > JPEG_MAX_DIMENSION || im->h > JPEG_MAX_DIMENSION)
        return cc_fail(CC_E_INVAL, "%" PRIu32 "x%" PRIu32 " is too large for JPEG (max %ld)", im->w,
                       im->h, (long)JPEG_MAX_DIMENSION);
    jenc e;
    struct jpeg_compress_struct ci;
    memset(&e, 0, sizeof e);
    memset(&ci, 0, sizeof ci);
    e.out = out;
    /* A quarter of the raw pixels: a quality 90 photo (10-15% of raw) fits without regrowing. */
    size_t guess = (size_t)im->w * im->h * 3 / 4;
    e.first = guess > ENC_MIN_CHUNK ? guess : ENC_MIN_CHUNK;
    size_t start_len = out->len;
    ci.err = jpeg_std_error(&e.err);
    e.err.error_exit = jenc_error_exit;
    e.err.output_message = jenc_output_message;
    cc_status st = jenc_guarded(&e, &ci, im, quality);
    jpeg_destroy_compress(&ci); /* frees libjpeg's pools after success or longjmp alike */
    if (st != CC_OK)
        out->len = start_len;
    return st;
}
