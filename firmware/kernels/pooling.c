/* AVERAGE_POOL_2D and MAX_POOL_2D on NHWC tensors, bit-exact with TFLM's
 * reference kernels:
 *   SAME / VALID padding as TFLM computes it (output size, then padding =
 *   max(0, (out - 1) * stride + filter - in) / 2); windows are clipped to the
 *   input and the average divides by the number of input elements inside;
 *   int8/int16: integer sum, division rounding half away from zero, fused
 *   activation clamp; input and output must share scale and zero point;
 *   float32: sum in window order, one division, activation clamp;
 *   max: running maximum from the type's lowest value, then the clamp. */
#include <float.h>
#include <math.h>
#include <stddef.h>

#include "kernels/kernel_util.h"
#include "kernels/quant.h"
#include "engine/kernel.h"

#define POOL_OPTIONS_TYPE 5u /* BuiltinOptions.Pool2DOptions */
enum {
    OPT_PADDING = 0,
    OPT_STRIDE_W = 1,
    OPT_STRIDE_H = 2,
    OPT_FILTER_W = 3,
    OPT_FILTER_H = 4,
    OPT_ACTIVATION = 5
};
enum { PADDING_SAME = 0, PADDING_VALID = 1 };

typedef struct {
    uint32_t batches;
    uint32_t in_h;
    uint32_t in_w;
    uint32_t depth;
    uint32_t out_h;
    uint32_t out_w;
    uint32_t stride_h;
    uint32_t stride_w;
    uint32_t filter_h;
    uint32_t filter_w;
    uint32_t pad_h;
    uint32_t pad_w;
    uint8_t dtype;
    uint8_t pad_[3];
    int32_t act_min;
    int32_t act_max;
    float f_min;
    float f_max;
} pool_data;

/* A window clipped to the input: rows [y0, y1), columns [x0, x1). */
typedef struct {
    uint32_t y0;
    uint32_t y1;
    uint32_t x0;
    uint32_t x1;
} window;

static uint32_t pool_data_bytes(hil_model *m, const hil_model_op *op)
{
    (void)m;
    (void)op;
    return (uint32_t)sizeof(pool_data);
}

/* TFLM's ComputeOutSize; -1 when the result is negative (VALID padding
 * with a filter larger than the input). */
static int64_t out_size(int32_t padding, int64_t in, int64_t filter, int64_t stride)
{
    const int64_t num = padding == PADDING_SAME ? in + stride - 1 : in + stride - filter;
    return num < 0 ? -1 : num / stride;
}

static uint32_t padding_of(int64_t out, int64_t in, int64_t filter, int64_t stride)
{
    const int64_t total = (out - 1) * stride + filter - in;
    return total > 0 ? (uint32_t)(total / 2) : 0u;
}

static hil_status read_options(hil_interp *ip, const hil_model_op *op, pool_data *d,
                               int32_t *padding, int32_t *act, hil_msg *msg)
{
    int present;
    hil_status st = hil_ku_options(ip, op, POOL_OPTIONS_TYPE, "Pool2DOptions", &present, msg);
    if (st == HIL_OK) {
        st = hil_ku_activation(ip, op, OPT_ACTIVATION, present, act, msg);
    }
    if (st != HIL_OK) {
        return st;
    }
    if (!present) {
        return hil_fail(msg, HIL_ERR_MODEL_INVALID, "Pool2DOptions are missing");
    }
    hil_fb *fb = &ip->model.fb;
    *padding = hil_fb_i8(fb, &op->options, OPT_PADDING, PADDING_SAME);
    const int32_t sw = hil_fb_i32(fb, &op->options, OPT_STRIDE_W, 0);
    const int32_t sh = hil_fb_i32(fb, &op->options, OPT_STRIDE_H, 0);
    const int32_t fw = hil_fb_i32(fb, &op->options, OPT_FILTER_W, 0);
    const int32_t fh = hil_fb_i32(fb, &op->options, OPT_FILTER_H, 0);
    if (fb->status != HIL_OK) {
        return fb->status;
    }
    if (*padding != PADDING_SAME && *padding != PADDING_VALID) {
        return hil_fail(msg, HIL_ERR_MODEL_INVALID, "padding %d is neither SAME nor VALID",
                        *padding);
    }
    if (sw < 1 || sh < 1) {
        return hil_fail(msg, HIL_ERR_MODEL_INVALID, "stride %d x %d must be at least 1", sh, sw);
    }
    if (fw < 1 || fh < 1) {
        return hil_fail(msg, HIL_ERR_MODEL_INVALID, "filter %d x %d must be at least 1", fh, fw);
    }
    d->stride_h = (uint32_t)sh;
    d->stride_w = (uint32_t)sw;
    d->filter_h = (uint32_t)fh;
    d->filter_w = (uint32_t)fw;
    return HIL_OK;
}

static hil_status check_shapes(const hil_tensor *in, const hil_tensor *out, int32_t padding,
                               pool_data *d, hil_msg *msg)
{
    if (in->rank != 4 || out->rank != 4) {
        return hil_fail(msg, HIL_ERR_UNSUPPORTED, "input rank %u and output rank %u, expected 4",
                        (uint32_t)in->rank, (uint32_t)out->rank);
    }
    d->batches = (uint32_t)in->dims[0];
    d->in_h = (uint32_t)in->dims[1];
    d->in_w = (uint32_t)in->dims[2];
    d->depth = (uint32_t)in->dims[3];
    d->out_h = (uint32_t)out->dims[1];
    d->out_w = (uint32_t)out->dims[2];
    const int64_t oh = out_size(padding, d->in_h, d->filter_h, d->stride_h);
    const int64_t ow = out_size(padding, d->in_w, d->filter_w, d->stride_w);
    if ((uint32_t)out->dims[0] != d->batches || (uint32_t)out->dims[3] != d->depth ||
        oh != (int64_t)d->out_h || ow != (int64_t)d->out_w) {
        return hil_fail(msg, HIL_ERR_MODEL_INVALID,
                        "output shape [%d, %d, %d, %d] does not match the pooled input "
                        "[%u, %d, %d, %u]",
                        out->dims[0], out->dims[1], out->dims[2], out->dims[3], d->batches,
                        (int32_t)oh, (int32_t)ow, d->depth);
    }
    d->pad_h = padding_of(oh, d->in_h, d->filter_h, d->stride_h);
    d->pad_w = padding_of(ow, d->in_w, d->filter_w, d->stride_w);
    return HIL_OK;
}

static hil_status prepare_types(const hil_tensor *in, const hil_tensor *out, int32_t act,
                                pool_data *d, hil_msg *msg)
{
    const uint8_t t = in->dtype;
    if (out->dtype != t) {
        return hil_fail(msg, HIL_ERR_UNSUPPORTED, "%s input with %s output is not supported",
                        hil_ku_type_name(t), hil_ku_type_name(out->dtype));
    }
    d->dtype = t;
    if (t == HIL_DT_FLOAT32) {
        hil_act_range_float(act, &d->f_min, &d->f_max);
        return HIL_OK;
    }
    if (t != HIL_DT_INT8 && t != HIL_DT_INT16) {
        return hil_fail(msg, HIL_ERR_UNSUPPORTED, "%s tensors are not supported",
                        hil_ku_type_name(t));
    }
    hil_status st = hil_ku_check_quant(in, "input", msg);
    if (st == HIL_OK) {
        st = hil_ku_check_quant(out, "output", msg);
    }
    if (st != HIL_OK) {
        return st;
    }
    if (fabs((double)in->scale - (double)out->scale) > 1.0e-6 ||
        in->zero_point != out->zero_point) {
        return hil_fail(msg, HIL_ERR_UNSUPPORTED,
                        "input and output quantization differ (scale and zero point must match)");
    }
    const int is16 = t == HIL_DT_INT16;
    /* The int32 window sum of TFLM must not overflow. */
    if ((uint64_t)d->filter_h * d->filter_w > (is16 ? (1u << 15) : (1u << 23))) {
        return hil_fail(msg, HIL_ERR_UNSUPPORTED,
                        "filter %u x %u is too large for an int32 window sum", d->filter_h,
                        d->filter_w);
    }
    return hil_act_range_quantized(act, out->scale, out->zero_point, is16 ? INT16_MIN : INT8_MIN,
                                   is16 ? INT16_MAX : INT8_MAX, &d->act_min, &d->act_max, msg);
}

static hil_status pool_prepare(hil_interp *ip, hil_node *node, const hil_model_op *op,
                               hil_msg *msg)
{
    pool_data *d = node->data;
    hil_tensor *in;
    hil_tensor *out;
    int32_t padding = PADDING_SAME;
    int32_t act = HIL_ACT_NONE;
    hil_status st = hil_ku_tensors(ip, node, 1, &in, &out, msg);
    if (st == HIL_OK) {
        st = read_options(ip, op, d, &padding, &act, msg);
    }
    if (st == HIL_OK) {
        st = check_shapes(in, out, padding, d, msg);
    }
    if (st == HIL_OK) {
        st = prepare_types(in, out, act, d, msg);
    }
    return st;
}

/* ---- eval ------------------------------------------------------------------------ */

static window window_at(const pool_data *d, uint32_t oy, uint32_t ox)
{
    /* origin = out * stride - pad; clip [origin, origin + filter) to the input */
    const int64_t y = (int64_t)oy * d->stride_h - d->pad_h;
    const int64_t x = (int64_t)ox * d->stride_w - d->pad_w;
    const int64_t y1 = y + d->filter_h;
    const int64_t x1 = x + d->filter_w;
    window w;
    w.y0 = y < 0 ? 0u : (uint32_t)y;
    w.x0 = x < 0 ? 0u : (uint32_t)x;
    w.y1 = y1 > d->in_h ? d->in_h : (uint32_t)y1;
    w.x1 = x1 > d->in_w ? d->in_w : (uint32_t)x1;
    return w;
}

/* Integer mean of `count` values summing to acc: round half away from zero. */
static inline int32_t rounded_mean(int32_t acc, int32_t count)
{
    return acc > 0 ? (acc + count / 2) / count : (acc - count / 2) / count;
}

#define AVG_QUANT(NAME, T)                                                                    \
    static void NAME(const pool_data *d, const T *in, T *out, const window *w, size_t base)  \
    {                                                                                       \
        const size_t row = (size_t)d->in_w * d->depth;                                      \
        const int32_t count = (int32_t)((w->y1 - w->y0) * (w->x1 - w->x0));                 \
        for (uint32_t c = 0; c < d->depth; c++) {                                           \
            int32_t acc = 0;                                                                \
            for (uint32_t y = w->y0; y < w->y1; y++) {                                      \
                const T *p = in + base + y * row + (size_t)w->x0 * d->depth + c;            \
                for (uint32_t x = w->x0; x < w->x1; x++, p += d->depth) {                   \
                    acc += *p;                                                              \
                }                                                                           \
            }                                                                               \
            out[c] = (T)hil_clamp_i32(rounded_mean(acc, count), d->act_min, d->act_max);    \
        }                                                                                   \
    }

AVG_QUANT(avg_i8, int8_t)
AVG_QUANT(avg_i16, int16_t)

static void avg_f32(const pool_data *d, const float *in, float *out, const window *w,
                    size_t base)
{
    const size_t row = (size_t)d->in_w * d->depth;
    const float count = (float)((w->y1 - w->y0) * (w->x1 - w->x0));
    for (uint32_t c = 0; c < d->depth; c++) {
        float total = 0.0f;
        for (uint32_t y = w->y0; y < w->y1; y++) {
            const float *p = in + base + y * row + (size_t)w->x0 * d->depth + c;
            for (uint32_t x = w->x0; x < w->x1; x++, p += d->depth) {
                total += *p;
            }
        }
        out[c] = hil_clamp_float(total / count, d->f_min, d->f_max);
    }
}

/* Max pooling keeps the running maximum in the output row itself, walking
 * the window pixel by pixel with all channels contiguous. */
#define MAX_QUANT(NAME, T, LOWEST)                                                            \
    static void NAME(const pool_data *d, const T *in, T *out, const window *w, size_t base)  \
    {                                                                                       \
        const size_t row = (size_t)d->in_w * d->depth;                                      \
        for (uint32_t c = 0; c < d->depth; c++) {                                           \
            out[c] = LOWEST;                                                                \
        }                                                                                   \
        for (uint32_t y = w->y0; y < w->y1; y++) {                                          \
            for (uint32_t x = w->x0; x < w->x1; x++) {                                      \
                const T *p = in + base + y * row + (size_t)x * d->depth;                    \
                for (uint32_t c = 0; c < d->depth; c++) {                                   \
                    out[c] = p[c] > out[c] ? p[c] : out[c];                                 \
                }                                                                           \
            }                                                                               \
        }                                                                                   \
        for (uint32_t c = 0; c < d->depth; c++) {                                           \
            out[c] = (T)hil_clamp_i32(out[c], d->act_min, d->act_max);                      \
        }                                                                                   \
    }

MAX_QUANT(max_i8, int8_t, INT8_MIN)
MAX_QUANT(max_i16, int16_t, INT16_MIN)

static void max_f32(const pool_data *d, const float *in, float *out, const window *w,
                    size_t base)
{
    const size_t row = (size_t)d->in_w * d->depth;
    for (uint32_t c = 0; c < d->depth; c++) {
        out[c] = -FLT_MAX;
    }
    for (uint32_t y = w->y0; y < w->y1; y++) {
        for (uint32_t x = w->x0; x < w->x1; x++) {
            const float *p = in + base + y * row + (size_t)x * d->depth;
            for (uint32_t c = 0; c < d->depth; c++) {
                out[c] = out[c] < p[c] ? p[c] : out[c]; /* std::max(out, p) */
            }
        }
    }
    for (uint32_t c = 0; c < d->depth; c++) {
        out[c] = hil_clamp_float(out[c], d->f_min, d->f_max);
    }
}

static hil_status pool_eval(hil_interp *ip, const hil_node *node, int is_max)
{
    const pool_data *d = node->data;
    const hil_tensor *in = hil_node_input(ip, node, 0);
    hil_tensor *out = hil_node_output(ip, node, 0);
    const size_t image = (size_t)d->in_h * d->in_w * d->depth;
    size_t o = 0;
    for (uint32_t b = 0; b < d->batches; b++) {
        const size_t base = b * image;
        for (uint32_t oy = 0; oy < d->out_h; oy++) {
            for (uint32_t ox = 0; ox < d->out_w; ox++, o += d->depth) {
                const window w = window_at(d, oy, ox);
                switch (d->dtype) {
                case HIL_DT_INT8:
                    if (is_max) {
                        max_i8(d, (const int8_t *)in->data, (int8_t *)out->data + o, &w, base);
                    } else {
                        avg_i8(d, (const int8_t *)in->data, (int8_t *)out->data + o, &w, base);
                    }
                    break;
                case HIL_DT_INT16:
                    if (is_max) {
                        max_i16(d, (const int16_t *)(const void *)in->data,
                                (int16_t *)(void *)out->data + o, &w, base);
                    } else {
                        avg_i16(d, (const int16_t *)(const void *)in->data,
                                (int16_t *)(void *)out->data + o, &w, base);
                    }
                    break;
                default:
                    if (is_max) {
                        max_f32(d, (const float *)(const void *)in->data,
                                (float *)(void *)out->data + o, &w, base);
                    } else {
                        avg_f32(d, (const float *)(const void *)in->data,
                                (float *)(void *)out->data + o, &w, base);
                    }
                    break;
                }
            }
        }
    }
    return HIL_OK;
}

static hil_status avg_pool_eval(hil_interp *ip, const hil_node *node, hil_msg *msg)
{
    (void)msg;
    return pool_eval(ip, node, 0);
}

static hil_status max_pool_eval(hil_interp *ip, const hil_node *node, hil_msg *msg)
{
    (void)msg;
    return pool_eval(ip, node, 1);
}

const hil_kernel hil_kernel_average_pool_2d = {
    "AVERAGE_POOL_2D",
    pool_data_bytes,
    pool_prepare,
    avg_pool_eval,
};

const hil_kernel hil_kernel_max_pool_2d = {
    "MAX_POOL_2D",
    pool_data_bytes,
    pool_prepare,
    max_pool_eval,
};
