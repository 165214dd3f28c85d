/* filters/imgfilter.c — the per-pair image path (see imgfilter.h for the steps and reasons).
 *
 * Scratch images live in the handle and keep their allocations across calls, so a worker thread
 * running millions of images allocates only when it meets a larger picture than before.
 */
#include "filters/imgfilter.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "filters/phash.h"

/* Side of the thumbnail used for the blank check and the pHash (the pHash's own input size). */
#define THUMB 32
/* Re-encoded output is bounded like any other buffer, by the pixels being encoded: a baseline
 * 4:2:0 JPEG even of noise at quality 100 stays well under 6 bytes a pixel, plus headers and
 * tables. (The image's own limits bound the pixels.) */
#define ENC_BYTES_PER_PIXEL 6
#define ENC_SLACK 65536

struct img_filter {
    img_filter_opts o;
    img_rgb dec; /* decoded picture, oriented */
    img_rgb scaled; /* dec resized to the mode's scaled size */
    img_rgb out; /* after crop / border */
    img_rgb thumb; /* THUMB x THUMB area average of dec */
    cc_buf enc; /* re-encoded JPEG */
    const img_rgb *final; /* the pixels of the last accepted run (one of the above) */
};

static uint64_t cpu_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void img_filter_opts_default(img_filter_opts *o)
{
    memset(o, 0, sizeof *o);
    img_limits_default(&o->limits);
    o->min_size = 200;
    o->max_aspect = 3.0;
    o->mode = IMG_RESIZE_CENTER_CROP;
    o->size = 256;
    o->quality = 90;
    o->keep_jpeg = 1;
    o->blank_stddev = 2.0;
}

cc_status img_filter_new(const img_filter_opts *opts, img_filter **out)
{
    if (!opts || !out)
        return cc_fail(CC_E_INVAL, "img_filter_new: NULL argument");
    *out = NULL;
    if (opts->quality < 1 || opts->quality > 100)
        return cc_fail(CC_E_INVAL, "JPEG quality %d is not in 1..100", opts->quality);
    if (opts->max_aspect != 0 && !(opts->max_aspect >= 1.0))
        return cc_fail(CC_E_INVAL, "max aspect ratio %g must be >= 1 (or 0 for no limit)",
                       opts->max_aspect);
    if (opts->blank_stddev < 0 || opts->blank_stddev != opts->blank_stddev)
        return cc_fail(CC_E_INVAL, "blank threshold %g must be >= 0", opts->blank_stddev);
    if ((int)opts->mode < IMG_RESIZE_NO || (int)opts->mode > IMG_RESIZE_KEEP_RATIO_LARGEST)
        return cc_fail(CC_E_INVAL, "unknown resize mode %d", (int)opts->mode);
    if (opts->size > 16384)
        return cc_fail(CC_E_INVAL, "resize target %u is larger than 16384", opts->size);
    if (opts->limits.max_bytes == 0 || opts->limits.max_pixels == 0 || opts->limits.max_side == 0)
        return cc_fail(CC_E_INVAL, "image limits must be nonzero (max bytes, pixels, side)");
    img_filter *f = calloc(1, sizeof *f);
    if (!f)
        return cc_fail(CC_E_NOMEM, "out of memory for an image filter");
    f->o = *opts;
    /* The maximum is set per image from the pixels being encoded (see img_filter_run). */
    cc_buf_init(&f->enc, ENC_SLACK);
    *out = f;
    return CC_OK;
}

void img_filter_free(img_filter *f)
{
    if (!f)
        return;
    img_rgb_free(&f->dec);
    img_rgb_free(&f->scaled);
    img_rgb_free(&f->out);
    img_rgb_free(&f->thumb);
    cc_buf_free(&f->enc);
    free(f);
}

const img_rgb *img_filter_decoded(const img_filter *f)
{
    return &f->dec;
}

const img_rgb *img_filter_pixels(const img_filter *f)
{
    return f->final ? f->final : &f->dec;
}

static cc_status reject(img_filter_result *res, img_reason why, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static cc_status reject(img_filter_result *res, img_reason why, const char *fmt, ...)
{
    res->reason = why;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(res->message, sizeof res->message, fmt, ap);
    va_end(ap);
    return CC_OK;
}

/* Largest per-channel standard deviation of a small image. */
static double max_channel_stddev(const img_rgb *im)
{
    size_t n = (size_t)im->w * im->h;
    double best = 0;
    for (int c = 0; c < 3; c++) {
        double s = 0, s2 = 0;
        for (size_t i = 0; i < n; i++) {
            double v = im->px[i * 3 + (size_t)c];
            s += v;
            s2 += v * v;
        }
        double mean = s / (double)n, var = s2 / (double)n - mean * mean;
        double sd = var > 0 ? sqrt(var) : 0;
        if (sd > best)
            best = sd;
    }
    return best;
}

/* Copies the w x h window of src at (x0, y0) into dst, or, when the window is larger than src,
 * centres src on white (as img2dataset pads): the crop of center_crop and the padding of border in
 * one routine. */
static cc_status place(const img_rgb *src, uint32_t w, uint32_t h, img_rgb *dst)
{
    CC_TRY(img_rgb_alloc(dst, w, h, 0));
    if (src->w < w || src->h < h)
        memset(dst->px, 255, (size_t)w * h * 3);
    /* Source window (crop) and destination offset (pad), floor-centred as img2dataset does. */
    uint32_t sx = src->w > w ? (src->w - w) / 2 : 0, sy = src->h > h ? (src->h - h) / 2 : 0;
    uint32_t dx = w > src->w ? (w - src->w) / 2 : 0, dy = h > src->h ? (h - src->h) / 2 : 0;
    uint32_t cw = src->w < w ? src->w : w, ch = src->h < h ? src->h : h;
    for (uint32_t y = 0; y < ch; y++)
        memcpy(dst->px + ((size_t)(y + dy) * w + dx) * 3,
               src->px + ((size_t)(y + sy) * src->w + sx) * 3, (size_t)cw * 3);
    return CC_OK;
}

cc_status img_filter_run(img_filter *f, const void *p, size_t n, img_filter_result *res)
{
    const img_filter_opts *o = &f->o;
    memset(res, 0, sizeof *res);
    f->final = NULL;
    uint64_t t = cpu_ns(), t1;

    /* 1. bytes */
    if (n == 0 || !p)
        return reject(res, IMG_R_EMPTY, "empty image");
    if (n > o->limits.max_bytes)
        return reject(res, IMG_R_TOO_LARGE, "%zu bytes is more than the limit of %zu", n,
                      o->limits.max_bytes);
    res->content_hash = cc_hash128_of(p, n);
    t1 = cpu_ns();
    res->ns_hash += t1 - t;
    t = t1;

    /* 2. probe */
    img_probe pr;
    cc_status st = img_probe_bytes(p, n, &pr);
    res->src_format = pr.format;
    if (st != CC_OK)
        return reject(res, st == CC_E_UNSUPPORTED ? IMG_R_UNSUPPORTED : IMG_R_UNDECODABLE, "%s",
                      cc_errmsg());
    res->src_width = pr.width;
    res->src_height = pr.height;

    /* 3. header checks: nothing decoded yet. Sides are symmetric under EXIF rotation. */
    uint32_t lo = pr.width < pr.height ? pr.width : pr.height;
    uint32_t hi = pr.width < pr.height ? pr.height : pr.width;
    t1 = cpu_ns();
    res->ns_probe += t1 - t;
    t = t1;
    if (pr.animated)
        return reject(res, IMG_R_ANIMATED, "animated WebP");
    if (hi > o->limits.max_side)
        return reject(res, IMG_R_TOO_WIDE, "%ux%u: a side is larger than %u", pr.width, pr.height,
                      o->limits.max_side);
    if ((uint64_t)pr.width * pr.height > o->limits.max_pixels)
        return reject(res, IMG_R_TOO_MANY_PIXELS, "%ux%u is more than %llu pixels", pr.width,
                      pr.height, (unsigned long long)o->limits.max_pixels);
    if (o->min_size && lo < o->min_size)
        return reject(res, IMG_R_TOO_SMALL, "%ux%u: shorter side below %u", pr.width, pr.height,
                      o->min_size);
    if (o->max_aspect > 0 && (double)hi > o->max_aspect * (double)lo)
        return reject(res, IMG_R_ASPECT, "%ux%u: aspect ratio %.2f is above %.2f", pr.width,
                      pr.height, (double)hi / lo, o->max_aspect);

    /* 4. decode, as small as the resize and the thumbnail allow. The decoder wants its minimum
     * in the oriented frame, unknown before decoding; every mode keeps the aspect ratio, so
     * asking for the shorter scaled side on both axes is the same request in either frame
     * (covering the shorter side covers the longer one, to a pixel of rounding). */
    uint32_t sw = pr.width, sh = pr.height, ow = pr.width, oh = pr.height;
    int resizing = o->mode != IMG_RESIZE_NO && o->size > 0;
    uint32_t need = 0;
    if (resizing) {
        img_fit_size(pr.width, pr.height, o->mode, o->size, &sw, &sh, &ow, &oh);
        need = sw < sh ? sw : sh;
        if (need < THUMB)
            need = THUMB;
    }
    img_decode_info info;
    img_reason why = IMG_OK;
    st = img_decode(p, n, &o->limits, need, need, &f->dec, &info, &why);
    t1 = cpu_ns();
    res->ns_decode += t1 - t;
    t = t1;
    if (st == CC_E_NOMEM && why == IMG_OK)
        return st;
    if (st != CC_OK)
        return reject(res, why != IMG_OK ? why : IMG_R_UNDECODABLE, "%s", cc_errmsg());
    res->src_width = info.width;
    res->src_height = info.height;
    if (resizing) /* the fit in the oriented frame */
        img_fit_size(info.width, info.height, o->mode, o->size, &sw, &sh, &ow, &oh);

    /* 5. scale to the mode's size (the whole picture, before crop or border) */
    const img_rgb *whole = &f->dec;
    if (resizing && (f->dec.w != sw || f->dec.h != sh)) {
        CC_TRY(img_resize(&f->dec, sw, sh, &f->scaled));
        whole = &f->scaled;
    }
    t1 = cpu_ns();
    res->ns_resize += t1 - t;
    t = t1;

    /* 6. blank check and pHash on one 32 x 32 thumbnail of the whole picture, made from the
     * smallest copy at hand (the scaled one when resizing) */
    CC_TRY(img_resize(whole, THUMB, THUMB, &f->thumb));
    if (o->blank_stddev > 0) {
        double sd = max_channel_stddev(&f->thumb);
        if (sd < o->blank_stddev) {
            res->ns_check += cpu_ns() - t;
            return reject(res, IMG_R_BLANK, "near-uniform picture (stddev %.2f < %.2f)", sd,
                          o->blank_stddev);
        }
    }
    t1 = cpu_ns();
    res->ns_check += t1 - t;
    t = t1;
    res->phash = img_phash(&f->thumb);
    t1 = cpu_ns();
    res->ns_hash += t1 - t;
    t = t1;

    /* 7. output: the original bytes when asked or when nothing would change, else crop or
     * pad and re-encode. A kept original is described in its stored (unrotated) frame. */
    if (o->keep_original) {
        res->out = p;
        res->out_len = n;
        res->out_format = pr.format;
        res->out_width = pr.width;
        res->out_height = pr.height;
        f->final = &f->dec;
        return CC_OK;
    }
    int same_size = !resizing || (ow == info.width && oh == info.height && sw == info.width &&
                                  sh == info.height);
    if (o->keep_jpeg && pr.format == IMG_FMT_JPEG && info.orientation == 1 && same_size &&
        info.scale_num == 8) {
        res->out = p;
        res->out_len = n;
        res->out_format = IMG_FMT_JPEG;
        res->out_width = info.width;
        res->out_height = info.height;
        f->final = &f->dec;
        return CC_OK;
    }
    const img_rgb *final = whole;
    if (resizing && (ow != final->w || oh != final->h)) {
        CC_TRY(place(final, ow, oh, &f->out));
        final = &f->out;
    }
    t1 = cpu_ns();
    res->ns_resize += t1 - t;
    t = t1;
    cc_buf_reset(&f->enc);
    f->enc.max = (size_t) final->w * final->h * ENC_BYTES_PER_PIXEL + ENC_SLACK;
    st = img_encode_jpeg(final, o->quality, &f->enc);
    res->ns_encode += cpu_ns() - t;
    if (st != CC_OK)
        return reject(res, IMG_R_ENCODE, "%s", cc_errmsg());
    res->out = f->enc.data;
    res->out_len = f->enc.len;
    res->out_format = IMG_FMT_JPEG;
    res->out_width = final->w;
    res->out_height = final->h;
    res->reencoded = 1;
    f->final = final;
    return CC_OK;
}
