/* DEPTHWISE_CONV_2D, bit-exact with TFLM's reference kernels:
 *   float32:      float filter and bias; per output element the products are
 *                 summed over taps (row-major) from 0.0f, then the bias (or
 *                 0.0f) is added and the activation clamps;
 *   int8:         int8 filter, per-channel (dimension 3) or per-tensor
 *                 scales, optional int32 bias;
 *   int16 x int8: int64 accumulator, optional int64 bias, zero points 0.
 * Output channel oc = ic * depth_multiplier + m reads input channel ic.
 * Layouts: input NHWC, filter [1, h, w, out_c], output NHWC. As in CONV_2D,
 * the taps inside the input are found per pixel, never tested per tap. With
 * depth multiplier 1, int8 channels go four at a time (one 32-bit load of
 * inputs and of weights a tap; SIMD multiply-accumulates on Arm DSP cores). */
#include <stddef.h>
#include <string.h>

#if defined(__ARM_FEATURE_SIMD32) && __ARM_FEATURE_SIMD32
#include <arm_acle.h>
#endif

#include "engine/interp.h"
#include "kernels/conv_common.h"
#include "engine/kernel.h"

enum { IN_INPUT = 0, IN_FILTER = 1, IN_BIAS = 2 };

static const hil_conv_option_fields dw_fields = {
    2u, "DepthwiseConv2DOptions", /* BuiltinOptions.DepthwiseConv2DOptions */
    0, 1, 2, 4, 5, 6, 3, /* padding, stride w/h, activation, dilation w/h, multiplier */
};

typedef struct {
    hil_conv_plan plan; /* first: hil_conv_prepare_plan fills it */
    uint32_t multiplier;
} dw_data;

/* The depth multiplier: output depth = input depth x multiplier. */
static hil_status check_multiplier(const int32_t *in, const int32_t *f, const int32_t *out,
                                   const hil_conv_options *o, hil_conv_plan *plan, hil_msg *msg)
{
    dw_data *d = (dw_data *)(void *)plan;
    if ((int64_t)in[3] * o->depth_multiplier != out[3]) {
        return hil_fail(msg, HIL_ERR_MODEL_INVALID,
                        "input depth %d x depth_multiplier %d != output depth %d", in[3],
                        o->depth_multiplier, out[3]);
    }
    if (f[0] < 1 || f[1] < 1 || f[2] < 1) {
        return hil_fail(msg, HIL_ERR_MODEL_INVALID, "empty filter %dx%dx%d", f[0], f[1], f[2]);
    }
    d->multiplier = (uint32_t)o->depth_multiplier;
    return HIL_OK;
}

static const hil_conv_kind dw_kind = {&dw_fields, 0, IN_FILTER, 3, check_multiplier};

HIL_CONV_KERNEL_ENTRIES(dw, dw_data, dw_kind)

/* One pixel's out_c outputs. `x` is the input element of the first tap
 * (channel 0) and `w` the filter element of the first tap (channel 0); both
 * NULL when no tap lies inside the input. */
typedef struct {
    const dw_data *d;
    hil_conv_requant rq;
    const hil_conv_window *win;
    const void *x;
    const void *w;
    const void *bias;
} dw_pixel;

#if defined(__ARM_FEATURE_SIMD32) && __ARM_FEATURE_SIMD32
static inline int32_t sxtb16_odd(uint32_t v)
{
    int32_t r;
    __asm__("sxtb16 %0, %1, ror #8" : "=r"(r) : "r"(v));
    return r;
}

static inline int32_t sxtab16_odd(int32_t a, uint32_t v)
{
    int32_t r;
    __asm__("sxtab16 %0, %1, %2, ror #8" : "=r"(r) : "r"(a), "r"(v));
    return r;
}
#endif

/* Four adjacent channels of a depth-multiplier-1 pixel: acc[k] = sum over the
 * window of w[k] * (x[k] + input_offset), modulo 2^32. With the Arm DSP
 * extension one tap of the four channels is two 32-bit loads, four
 * widenings (the offset added to two inputs at a time) and four 16x16
 * multiply-accumulates. */
static void taps4_i8(const int8_t *x, const int8_t *w, const hil_conv_window *win,
                     int32_t input_offset, uint32_t acc[4])
{
#if defined(__ARM_FEATURE_SIMD32) && __ARM_FEATURE_SIMD32
    const uint32_t off = (uint32_t)input_offset & 0xffffu;
    const int16x2_t off2 = (int16x2_t)(off | (off << 16));
    int32_t s0 = 0;
    int32_t s1 = 0;
    int32_t s2 = 0;
    int32_t s3 = 0;
    for (uint32_t r = 0; r < win->rows; r++) {
        ptrdiff_t xo = (ptrdiff_t)r * win->x_row;
        ptrdiff_t wo = (ptrdiff_t)r * win->w_row;
        for (uint32_t c = 0; c < win->cols; c++, xo += win->x_col, wo += win->w_col) {
            uint32_t xv;
            uint32_t wv;
            memcpy(&xv, x + xo, 4);
            memcpy(&wv, w + wo, 4);
            const int16x2_t xe = __sxtab16(off2, (int8x4_t)xv); /* channels 0 and 2 */
            const int16x2_t we = __sxtb16((int8x4_t)wv);
            const int16x2_t xodd = sxtab16_odd(off2, xv); /* channels 1 and 3 */
            const int16x2_t wodd = sxtb16_odd(wv);
            s0 = __smlabb(xe, we, s0);
            s2 = __smlatt(xe, we, s2);
            s1 = __smlabb(xodd, wodd, s1);
            s3 = __smlatt(xodd, wodd, s3);
        }
    }
    acc[0] = (uint32_t)s0;
    acc[1] = (uint32_t)s1;
    acc[2] = (uint32_t)s2;
    acc[3] = (uint32_t)s3;
#else
    uint32_t a0 = 0;
    uint32_t a1 = 0;
    uint32_t a2 = 0;
    uint32_t a3 = 0;
    for (uint32_t r = 0; r < win->rows; r++) {
        ptrdiff_t xo = (ptrdiff_t)r * win->x_row;
        ptrdiff_t wo = (ptrdiff_t)r * win->w_row;
        for (uint32_t c = 0; c < win->cols; c++, xo += win->x_col, wo += win->w_col) {
            const int8_t *xt = x + xo;
            const int8_t *wt = w + wo;
            a0 += (uint32_t)((int32_t)wt[0] * ((int32_t)xt[0] + input_offset));
            a1 += (uint32_t)((int32_t)wt[1] * ((int32_t)xt[1] + input_offset));
            a2 += (uint32_t)((int32_t)wt[2] * ((int32_t)xt[2] + input_offset));
            a3 += (uint32_t)((int32_t)wt[3] * ((int32_t)xt[3] + input_offset));
        }
    }
    acc[0] = a0;
    acc[1] = a1;
    acc[2] = a2;
    acc[3] = a3;
#endif
}

/* One channel (any depth multiplier): sum over the window. */
static uint32_t taps1_i8(const int8_t *x, const int8_t *w, const hil_conv_window *win,
                         int32_t input_offset)
{
    uint32_t acc = 0;
    for (uint32_t r = 0; r < win->rows; r++) {
        ptrdiff_t xo = (ptrdiff_t)r * win->x_row;
        ptrdiff_t wo = (ptrdiff_t)r * win->w_row;
        for (uint32_t c = 0; c < win->cols; c++, xo += win->x_col, wo += win->w_col) {
            acc += (uint32_t)((int32_t)w[wo] * ((int32_t)x[xo] + input_offset));
        }
    }
    return acc;
}

static void pixel_i8(const dw_pixel *px, int8_t *y)
{
    const dw_data *d = px->d;
    const hil_conv_params *p = &d->plan.p;
    const int32_t *bias = (const int32_t *)px->bias;
    const int8_t *x = (const int8_t *)px->x;
    const int8_t *w = (const int8_t *)px->w;
    uint32_t acc[4] = {0, 0, 0, 0};
    uint32_t oc = 0;
    if (d->multiplier == 1) { /* channel c reads input channel c: four at a time */
        for (; oc + 4u <= p->out_c; oc += 4u) {
            if (x != NULL) {
                taps4_i8(x + oc, w + oc, px->win, p->input_offset, acc);
            }
            for (uint32_t k = 0; k < 4u; k++) {
                const uint32_t sum = bias != NULL ? acc[k] + (uint32_t)bias[oc + k] : acc[k];
                y[oc + k] = hil_conv_out_i8(sum, hil_conv_qmul(&px->rq, oc + k), p->output_offset,
                                            p->act_min, p->act_max);
            }
        }
    }
    for (; oc < p->out_c; oc++) {
        const uint32_t ic = oc / d->multiplier;
        uint32_t sum = x != NULL ? taps1_i8(x + ic, w + oc, px->win, p->input_offset) : 0u;
        if (bias != NULL) {
            sum += (uint32_t)bias[oc];
        }
        y[oc] = hil_conv_out_i8(sum, hil_conv_qmul(&px->rq, oc), p->output_offset, p->act_min,
                                p->act_max);
    }
}

static void pixel_i16(const dw_pixel *px, int16_t *y)
{
    const dw_data *d = px->d;
    const hil_conv_params *p = &d->plan.p;
    const hil_conv_window *win = px->win;
    const int64_t *bias = (const int64_t *)px->bias;
    uint32_t oc = 0;
    for (uint32_t ic = 0; ic < p->in_c; ic++) {
        for (uint32_t m = 0; m < d->multiplier; m++, oc++) {
            int64_t sum = 0; /* products < 2^22, fewer than 2^31 taps: exact */
            if (px->x != NULL) {
                const int16_t *x = (const int16_t *)px->x + ic;
                const int8_t *w = (const int8_t *)px->w + oc;
                for (uint32_t r = 0; r < win->rows; r++) {
                    const int16_t *xr = x + (ptrdiff_t)r * win->x_row;
                    const int8_t *wr = w + (ptrdiff_t)r * win->w_row;
                    for (uint32_t c = 0; c < win->cols; c++) {
                        sum += (int64_t)wr[(ptrdiff_t)c * win->w_col] *
                               (int64_t)xr[(ptrdiff_t)c * win->x_col];
                    }
                }
            }
            uint64_t acc = (uint64_t)sum;
            if (bias != NULL) {
                acc += (uint64_t)bias[oc];
            }
            const int32_t v = hil_mul_by_qmul_i64(hil_u64_as_i64(acc), hil_conv_qmul(&px->rq, oc));
            y[oc] = (int16_t)hil_clamp_i32(v, p->act_min, p->act_max);
        }
    }
}

static void pixel_f32(const dw_pixel *px, float *y)
{
    const dw_data *d = px->d;
    const hil_conv_params *p = &d->plan.p;
    const hil_conv_window *win = px->win;
    const float *bias = (const float *)px->bias;
    uint32_t oc = 0;
    for (uint32_t ic = 0; ic < p->in_c; ic++) {
        for (uint32_t m = 0; m < d->multiplier; m++, oc++) {
            float total = 0.0f;
            if (px->x != NULL) {
                const float *x = (const float *)px->x + ic;
                const float *w = (const float *)px->w + oc;
                for (uint32_t r = 0; r < win->rows; r++) {
                    const float *xr = x + (ptrdiff_t)r * win->x_row;
                    const float *wr = w + (ptrdiff_t)r * win->w_row;
                    for (uint32_t c = 0; c < win->cols; c++) {
                        total += xr[(ptrdiff_t)c * win->x_col] * wr[(ptrdiff_t)c * win->w_col];
                    }
                }
            }
            const float b = bias != NULL ? bias[oc] : 0.0f;
            y[oc] = hil_clamp_float(total + b, p->f_min, p->f_max);
        }
    }
}

static hil_status dw_eval(hil_interp *ip, const hil_node *node, hil_msg *msg)
{
    const dw_data *d = node->data;
    const hil_conv_params *p = &d->plan.p;
    hil_conv_io io = {NULL, NULL, 0, 0};
    hil_status st = hil_conv_eval_io(ip, node, IN_INPUT, p, &io, msg);
    if (st != HIL_OK) {
        return st;
    }
    const size_t elem = hil_conv_elem_bytes(p);
    const size_t w_elem = p->kind == HIL_CONV_F32 ? 4u : 1u;
    hil_conv_window win = {0, 0, 0, 0, d->plan.x_row, d->plan.x_col,
                           (ptrdiff_t)p->w.filter * (ptrdiff_t)p->out_c, (ptrdiff_t)p->out_c};
    dw_pixel px = {d, hil_conv_requant_of(p, d + 1), &win, NULL, NULL, d->plan.bias};
    uint8_t *y = io.y;
    for (uint32_t b = 0; b < p->batches; b++) {
        const uint8_t *xb = io.x + (size_t)b * io.image_bytes;
        for (int32_t oy = 0; oy < p->h.out; oy++) {
            const hil_conv_span sy = hil_conv_span_of(&p->h, oy);
            win.rows = sy.count;
            for (int32_t ox = 0; ox < p->w.out; ox++, y += io.out_pixel) {
                const hil_conv_span sx = hil_conv_span_of(&p->w, ox);
                win.cols = sx.count;
                px.x = NULL;
                px.w = NULL;
                if (win.rows != 0 && win.cols != 0) {
                    const size_t x0 = ((size_t)sy.at * (size_t)p->w.in + (size_t)sx.at) * p->in_c;
                    const size_t w0 =
                        ((size_t)sy.first * (size_t)p->w.filter + (size_t)sx.first) * p->out_c;
                    px.x = xb + x0 * elem;
                    px.w = d->plan.w + w0 * w_elem;
                }
                if (p->kind == HIL_CONV_I8) {
                    pixel_i8(&px, (int8_t *)(void *)y);
                } else if (p->kind == HIL_CONV_F32) {
                    pixel_f32(&px, (float *)(void *)y);
                } else {
                    pixel_i16(&px, (int16_t *)(void *)y);
                }
            }
        }
    }
    return HIL_OK;
}

const hil_kernel hil_kernel_depthwise_conv_2d = {
    "DEPTHWISE_CONV_2D",
    dw_data_bytes,
    dw_prepare,
    dw_eval,
};
