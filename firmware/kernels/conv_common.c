/* Shared prepare-time logic and dot-product pixels of the convolution
 * kernels; see conv_common.h. */
#include "kernels/conv_common.h"

#include <math.h>
#include <stddef.h>
#include <string.h>

#include "kernels/dot_i8.h"

hil_status hil_conv_read_options(hil_interp *ip, const hil_model_op *op,
                                 const hil_conv_option_fields *f, hil_conv_options *o,
                                 hil_msg *msg)
{
    if (op->options_type != f->options_type) {
        if (op->options_type == 0) {
            return hil_fail(msg, HIL_ERR_MODEL_INVALID, "missing %s", f->options_name);
        }
        return hil_fail(msg, HIL_ERR_MODEL_INVALID, "builtin options type %u is not %s",
                        (uint32_t)op->options_type, f->options_name);
    }
    hil_fb *fb = &ip->model.fb;
    const hil_fb_table *t = &op->options;
    o->padding = hil_fb_i8(fb, t, (unsigned)f->padding, HIL_PAD_SAME);
    o->stride_w = hil_fb_i32(fb, t, (unsigned)f->stride_w, 0);
    o->stride_h = hil_fb_i32(fb, t, (unsigned)f->stride_h, 0);
    o->activation = hil_fb_i8(fb, t, (unsigned)f->activation, HIL_ACT_NONE);
    o->dilation_w = f->dilation_w >= 0 ? hil_fb_i32(fb, t, (unsigned)f->dilation_w, 1) : 1;
    o->dilation_h = f->dilation_h >= 0 ? hil_fb_i32(fb, t, (unsigned)f->dilation_h, 1) : 1;
    o->depth_multiplier =
        f->depth_multiplier >= 0 ? hil_fb_i32(fb, t, (unsigned)f->depth_multiplier, 0) : 1;
    if (fb->status != HIL_OK) {
        return fb->status;
    }
    if (o->padding != HIL_PAD_SAME && o->padding != HIL_PAD_VALID) {
        return hil_fail(msg, HIL_ERR_MODEL_INVALID, "padding %d is neither SAME nor VALID",
                        o->padding);
    }
    if (o->stride_h < 1 || o->stride_w < 1) {
        return hil_fail(msg, HIL_ERR_MODEL_INVALID, "stride %dx%d (h x w) must be positive",
                        o->stride_h, o->stride_w);
    }
    if (o->dilation_h < 1 || o->dilation_w < 1) {
        return hil_fail(msg, HIL_ERR_MODEL_INVALID, "dilation %dx%d (h x w) must be positive",
                        o->dilation_h, o->dilation_w);
    }
    if (o->depth_multiplier < 1) {
        return hil_fail(msg, HIL_ERR_MODEL_INVALID, "depth_multiplier %d must be positive",
                        o->depth_multiplier);
    }
    const int32_t act = o->activation;
    if (act != HIL_ACT_NONE && act != HIL_ACT_RELU && act != HIL_ACT_RELU6 &&
        act != HIL_ACT_RELU_N1_TO_1) {
        return hil_fail(msg, HIL_ERR_UNSUPPORTED, "fused activation %s is not supported",
                        hil_act_name(act));
    }
    return HIL_OK;
}

hil_status hil_conv_get_tensors(hil_interp *ip, const hil_node *node, uint32_t in_index,
                                uint32_t filter_index, uint32_t bias_index, hil_conv_tensors *t,
                                hil_msg *msg)
{
    /* Inputs past the bias, or outputs past the first, are not ours to
     * ignore: refuse them, as TFLM does. */
    if (node->n_inputs < bias_index || node->n_inputs > bias_index + 1u ||
        node->n_outputs != 1) {
        return hil_fail(msg, HIL_ERR_MODEL_INVALID,
                        "has %u inputs and %u outputs, expected %u-%u and 1",
                        (uint32_t)node->n_inputs, (uint32_t)node->n_outputs, bias_index,
                        bias_index + 1u);
    }
    t->in = hil_node_input(ip, node, in_index);
    t->filter = hil_node_input(ip, node, filter_index);
    t->bias = hil_node_input(ip, node, bias_index);
    t->out = hil_node_output(ip, node, 0);
    if (t->in == NULL || t->filter == NULL || t->out == NULL) {
        return hil_fail(msg, HIL_ERR_MODEL_INVALID, "needs input, filter and output tensors");
    }
    return HIL_OK;
}

static const char *dtype_name(uint8_t dtype)
{
    switch (dtype) {
    case HIL_DT_FLOAT32:
        return "float32";
    case HIL_DT_INT8:
        return "int8";
    case HIL_DT_INT16:
        return "int16";
    case HIL_DT_INT32:
        return "int32";
    case HIL_DT_INT64:
        return "int64";
    case HIL_DT_UINT8:
        return "uint8";
    default:
        return "other";
    }
}

hil_status hil_conv_check_types(const hil_conv_tensors *t, uint32_t i16_bias,
                                hil_conv_params *p, hil_msg *msg)
{
    const uint8_t in = t->in->dtype;
    const uint8_t filter = t->filter->dtype;
    const uint8_t bias = t->bias != NULL ? t->bias->dtype : 0xffu;
    if (in != t->out->dtype) {
        return hil_fail(msg, HIL_ERR_UNSUPPORTED, "input type %s differs from output type %s",
                        dtype_name(in), dtype_name(t->out->dtype));
    }
    if (in != HIL_DT_FLOAT32 && in != HIL_DT_INT8 && in != HIL_DT_INT16) {
        return hil_fail(msg, HIL_ERR_UNSUPPORTED, "%s activations are not supported (type %d)",
                        dtype_name(in), (int32_t)in);
    }
    const uint8_t want_filter = in == HIL_DT_FLOAT32 ? HIL_DT_FLOAT32 : HIL_DT_INT8;
    if (filter != want_filter) {
        return hil_fail(msg, HIL_ERR_UNSUPPORTED,
                        "%s input with %s filter is not supported (hybrid or packed)",
                        dtype_name(in), dtype_name(filter));
    }
    int bias_ok = t->bias == NULL;
    if (in == HIL_DT_FLOAT32) {
        p->kind = HIL_CONV_F32;
        bias_ok = bias_ok || bias == HIL_DT_FLOAT32;
    } else if (in == HIL_DT_INT8) {
        p->kind = HIL_CONV_I8;
        bias_ok = bias_ok || bias == HIL_DT_INT32;
    } else if (t->bias != NULL && bias == HIL_DT_INT32) {
        p->kind = HIL_CONV_I16_32;
        bias_ok = (i16_bias & HIL_CONV_I16_BIAS32) != 0;
    } else {
        p->kind = HIL_CONV_I16_64;
        bias_ok = bias_ok || bias == HIL_DT_INT64 ||
                  (bias == HIL_DT_INT16 && (i16_bias & HIL_CONV_I16_BIAS16) != 0);
    }
    if (!bias_ok) {
        return hil_fail(msg, HIL_ERR_UNSUPPORTED, "%s input with %s bias is not supported",
                        dtype_name(in), dtype_name(bias));
    }
    p->bias_dtype = bias;
    return HIL_OK;
}

static hil_status rank4(const hil_tensor *t, const char *what, hil_msg *msg)
{
    if (t->rank != 4) {
        return hil_fail(msg, HIL_ERR_UNSUPPORTED, "%s has rank %u, expected 4", what,
                        (uint32_t)t->rank);
    }
    return HIL_OK;
}

hil_status hil_conv_check_ranks(const hil_conv_tensors *t, hil_msg *msg)
{
    hil_status st = rank4(t->in, "input", msg);
    if (st == HIL_OK) {
        st = rank4(t->filter, "filter", msg);
    }
    if (st == HIL_OK) {
        st = rank4(t->out, "output", msg);
    }
    if (st == HIL_OK && t->bias != NULL &&
        hil_tensor_elems(t->bias) != (uint32_t)t->out->dims[3]) {
        st = hil_fail(msg, HIL_ERR_MODEL_INVALID, "bias has %u elements, output depth is %d",
                      hil_tensor_elems(t->bias), t->out->dims[3]);
    }
    return st;
}

hil_status hil_conv_padding(int32_t padding, int32_t in, int32_t filter, int32_t stride,
                            int32_t dilation, int32_t *pad, hil_msg *msg)
{
    /* int64 throughout: every operand is a non-negative int32. */
    const int64_t eff = (int64_t)(filter - 1) * dilation + 1;
    int64_t out;
    if (padding == HIL_PAD_SAME) {
        out = ((int64_t)in + stride - 1) / stride;
    } else {
        out = ((int64_t)in + stride - eff) / stride; /* truncates toward zero, as in C++ */
    }
    int64_t total = (out - 1) * stride + eff - in;
    if (total < 0) {
        total = 0;
    }
    if (total / 2 > INT32_MAX) {
        return hil_fail(msg, HIL_ERR_UNSUPPORTED,
                        "padding of %d-tap filter (dilation %d) too large", filter, dilation);
    }
    *pad = (int32_t)(total / 2);
    return HIL_OK;
}

hil_status hil_conv_axis_fits(const hil_conv_axis *a, const char *what, hil_msg *msg)
{
    const int64_t reach = (int64_t)(a->out > 0 ? a->out - 1 : 0) * a->stride +
                          (int64_t)(a->filter > 0 ? a->filter - 1 : 0) * a->dilation;
    const int64_t worst = reach + a->pad + a->in + a->dilation + a->filter;
    if (worst > INT32_MAX) {
        return hil_fail(msg, HIL_ERR_UNSUPPORTED,
                        "%s: stride %d, dilation %d and size %d overflow index math", what,
                        a->stride, a->dilation, a->in);
    }
    return HIL_OK;
}

uint32_t hil_conv_data_bytes(hil_model *m, const hil_model_op *op, uint32_t filter_index,
                             uint32_t channel_dim, uint32_t base)
{
    if (op->inputs.len <= filter_index) {
        return base;
    }
    int32_t index = hil_model_op_tensor(m, op, 0, filter_index);
    hil_model_tensor mt;
    if (index < 0 ||
        hil_model_get_tensor_part(m, (uint32_t)index, HIL_TENSOR_SHAPE, &mt) != HIL_OK ||
        mt.dtype == HIL_DT_FLOAT32 || mt.rank <= channel_dim) {
        return base; /* float needs no table; a bad filter is refused by prepare */
    }
    const uint32_t channels = (uint32_t)mt.dims[channel_dim];
    if (channels > (UINT32_MAX - base) / 5u) {
        return UINT32_MAX; /* cannot fit any arena; load will say so */
    }
    return base + channels * 5u;
}

/* int16 results go through the 64-bit MultiplyByQuantizedMultiplier, whose
 * total shift 15 - shift must stay in [1, 62]. */
static int multiplier_ok_i64(hil_qmul q)
{
    return q.shift <= 14 && q.shift >= -47;
}

static hil_status check_zero_points(const hil_conv_tensors *t, uint32_t kind, hil_msg *msg)
{
    if (kind == HIL_CONV_I8) {
        if (t->in->zero_point < INT8_MIN || t->in->zero_point > INT8_MAX ||
            t->out->zero_point < INT8_MIN || t->out->zero_point > INT8_MAX) {
            return hil_fail(msg, HIL_ERR_MODEL_INVALID, "int8 zero point outside [-128, 127]");
        }
        return HIL_OK;
    }
    /* TFLM's int16 kernels ignore the zero points; the spec requires 0. */
    if (t->in->zero_point != 0 || t->out->zero_point != 0) {
        return hil_fail(msg, HIL_ERR_UNSUPPORTED, "int16 input/output zero points must be 0");
    }
    return HIL_OK;
}

hil_status hil_conv_prepare_quant(hil_interp *ip, const hil_node *node, uint32_t filter_index,
                                  const hil_conv_tensors *t, int32_t quantized_dim,
                                  int32_t activation, hil_conv_params *p, void *table,
                                  hil_msg *msg)
{
    if (p->kind == HIL_CONV_F32) {
        hil_act_range_float(activation, &p->f_min, &p->f_max);
        return HIL_OK;
    }
    if (!t->in->quantized || !t->filter->quantized || !t->out->quantized) {
        return hil_fail(msg, HIL_ERR_MODEL_INVALID, "quantized tensors lack scale/zero point");
    }
    if (!(t->in->scale > 0.0f) || !(t->out->scale > 0.0f) || !isfinite(t->in->scale) ||
        !isfinite(t->out->scale)) {
        return hil_fail(msg, HIL_ERR_MODEL_INVALID, "input and output scales must be positive");
    }
    hil_status st = check_zero_points(t, p->kind, msg);
    if (st != HIL_OK) {
        return st;
    }
    hil_model_tensor mt;
    if (hil_model_get_tensor_part(&ip->model, (uint32_t)node->inputs[filter_index],
                                  HIL_TENSOR_QUANT, &mt) != HIL_OK) {
        return ip->model.fb.status;
    }
    if (mt.channels > 1) {
        if (mt.quantized_dimension != quantized_dim) {
            return hil_fail(msg, HIL_ERR_UNSUPPORTED,
                            "per-channel filter quantized along dimension %d (expected %d)",
                            mt.quantized_dimension, quantized_dim);
        }
        if (mt.channels != p->out_c) { /* e.g. a depthwise filter [1,h,w,c] */
            return hil_fail(msg, HIL_ERR_MODEL_INVALID, "%u filter scales for %u output channels",
                            mt.channels, p->out_c);
        }
    }
    int32_t *mult = table;
    int8_t *shift = (int8_t *)(mult + p->out_c);
    /* QuantizeMultiplier((double)in * (double)fs / (double)out) in integers
     * (bit-exact, see quant.h); shift in [-31, 30]: fits int8. */
    hil_qmul_ctx ctx;
    hil_qmul_ctx_init(&ctx, t->in->scale, t->out->scale, 0);
    hil_qmul q = {0, 0};
    for (uint32_t c = 0; c < p->out_c; c++) {
        if (c > 0 && mt.channels <= 1) { /* one filter scale: the same multiplier */
            mult[c] = q.multiplier;
            shift[c] = (int8_t)q.shift;
            continue;
        }
        const float fs = hil_model_tensor_scale(&ip->model, &mt, mt.channels > 1 ? c : 0);
        if (!hil_qmul_ctx_apply(&ctx, fs, &q)) {
            return hil_fail(msg, HIL_ERR_UNSUPPORTED,
                            "channel %u: output multiplier is negative, not finite or too large",
                            c);
        }
        if (p->kind == HIL_CONV_I16_64 && !multiplier_ok_i64(q)) {
            return hil_fail(msg, HIL_ERR_UNSUPPORTED,
                            "channel %u: output multiplier too large for int16", c);
        }
        mult[c] = q.multiplier;
        shift[c] = (int8_t)q.shift;
    }
    p->input_offset = p->kind == HIL_CONV_I8 ? -t->in->zero_point : 0;
    p->output_offset = p->kind == HIL_CONV_I8 ? t->out->zero_point : 0;
    const int32_t qmin = p->kind == HIL_CONV_I8 ? INT8_MIN : INT16_MIN;
    const int32_t qmax = p->kind == HIL_CONV_I8 ? INT8_MAX : INT16_MAX;
    return hil_act_range_quantized(activation, t->out->scale, t->out->zero_point, qmin, qmax,
                                   &p->act_min, &p->act_max, msg);
}

/* -- dot-product pixels (CONV_2D, TRANSPOSE_CONV) -------------------------- */

/* The window's taps as runs of `n` contiguous input and filter elements,
 * `cols` runs a row. */
typedef struct {
    uint32_t rows;
    uint32_t cols;
    uint32_t n;
    ptrdiff_t x_row;
    ptrdiff_t x_col;
    ptrdiff_t w_row;
    ptrdiff_t w_col;
} runs;

/* When the taps of a row follow each other in both the input and the filter
 * (dilation 1 across, one group), a whole row is one run of cols * depth. */
static runs window_runs(const hil_conv_window *win, uint32_t depth)
{
    runs r = {win->rows, win->cols, depth, win->x_row, win->x_col, win->w_row, win->w_col};
    if (win->x_col == (ptrdiff_t)depth && win->w_col == (ptrdiff_t)depth) {
        r.n = depth * win->cols;
        r.cols = 1;
    }
    return r;
}

static uint32_t window_i8(const int8_t *x, const int8_t *w, const runs *r, int32_t input_offset)
{
    uint32_t acc = 0;
    for (uint32_t i = 0; i < r->rows; i++) {
        const int8_t *xr = x + (ptrdiff_t)i * r->x_row;
        const int8_t *wr = w + (ptrdiff_t)i * r->w_row;
        for (uint32_t c = 0; c < r->cols; c++) {
            acc += hil_dot_i8(xr + (ptrdiff_t)c * r->x_col, wr + (ptrdiff_t)c * r->w_col, r->n,
                          input_offset);
        }
    }
    return acc;
}

__attribute__((noinline)) static void window2_i8(const int8_t *x, const int8_t *w0,
                                                 const int8_t *w1, const runs *r,
                       int32_t input_offset, uint32_t acc[2])
{
    uint32_t a0 = 0;
    uint32_t a1 = 0;
    for (uint32_t i = 0; i < r->rows; i++) {
        const ptrdiff_t xr = (ptrdiff_t)i * r->x_row;
        const ptrdiff_t wr = (ptrdiff_t)i * r->w_row;
        for (uint32_t c = 0; c < r->cols; c++) {
            const ptrdiff_t xo = xr + (ptrdiff_t)c * r->x_col;
            const ptrdiff_t wo = wr + (ptrdiff_t)c * r->w_col;
            hil_dot2_i8(x + xo, w0 + wo, w1 + wo, r->n, input_offset, &a0, &a1);
        }
    }
    acc[0] = a0;
    acc[1] = a1;
}

/* int16 x int8 products summed modulo 2^32 (TFLM's int32 accumulator). */
static uint32_t window_i16_32(const int16_t *x, const int8_t *w, const runs *r)
{
    uint32_t acc = 0;
    for (uint32_t i = 0; i < r->rows; i++) {
        for (uint32_t c = 0; c < r->cols; c++) {
            const int16_t *xc = x + (ptrdiff_t)i * r->x_row + (ptrdiff_t)c * r->x_col;
            const int8_t *wc = w + (ptrdiff_t)i * r->w_row + (ptrdiff_t)c * r->w_col;
            for (uint32_t k = 0; k < r->n; k++) {
                acc += (uint32_t)((int32_t)wc[k] * (int32_t)xc[k]);
            }
        }
    }
    return acc;
}

/* The same products summed in int64 (TFLM's int64 accumulator). Each is
 * below 2^22 in magnitude and a filter has fewer than 2^31 taps, so the sum
 * cannot overflow. */
static int64_t window_i16_64(const int16_t *x, const int8_t *w, const runs *r)
{
    int64_t acc = 0;
    for (uint32_t i = 0; i < r->rows; i++) {
        for (uint32_t c = 0; c < r->cols; c++) {
            const int16_t *xc = x + (ptrdiff_t)i * r->x_row + (ptrdiff_t)c * r->x_col;
            const int8_t *wc = w + (ptrdiff_t)i * r->w_row + (ptrdiff_t)c * r->w_col;
            for (uint32_t k = 0; k < r->n; k++) {
                acc += (int64_t)wc[k] * (int64_t)xc[k];
            }
        }
    }
    return acc;
}

/* Float: one running sum, in TFLM's order (no reassociation). */
static float window_f32(const float *x, const float *w, const runs *r)
{
    float total = 0.0f;
    for (uint32_t i = 0; i < r->rows; i++) {
        for (uint32_t c = 0; c < r->cols; c++) {
            const float *xc = x + (ptrdiff_t)i * r->x_row + (ptrdiff_t)c * r->x_col;
            const float *wc = w + (ptrdiff_t)i * r->w_row + (ptrdiff_t)c * r->w_col;
            for (uint32_t k = 0; k < r->n; k++) {
                total += xc[k] * wc[k];
            }
        }
    }
    return total;
}

static void pixel_i8(const hil_conv_dot *a, const hil_conv_window *win, int empty, int8_t *y)
{
    const hil_conv_params *p = a->p;
    const runs r = window_runs(win, a->depth);
    const int32_t *bias = (const int32_t *)a->bias;
    uint32_t oc = 0;
    for (uint32_t g = 0; g < a->groups; g++) {
        const int8_t *x = empty ? NULL : (const int8_t *)a->x + win->x0 + (ptrdiff_t)g * a->depth;
        const uint32_t end = oc + a->per_group;
        while (oc < end) {
            uint32_t acc[2] = {0, 0};
            const uint32_t count = end - oc >= 2u ? 2u : 1u; /* channels in pairs */
            if (!empty) {
                const int8_t *w = (const int8_t *)a->w + (ptrdiff_t)oc * a->w_oc + win->w0;
                if (count == 2u) {
                    window2_i8(x, w, w + a->w_oc, &r, p->input_offset, acc);
                } else {
                    acc[0] = window_i8(x, w, &r, p->input_offset);
                }
            }
            for (uint32_t k = 0; k < count; k++, oc++) {
                const uint32_t sum = bias != NULL ? acc[k] + (uint32_t)bias[oc] : acc[k];
                y[oc] = hil_conv_out_i8(sum, hil_conv_qmul(&a->rq, oc), p->output_offset,
                                        p->act_min, p->act_max);
            }
        }
    }
}

static void pixel_i16(const hil_conv_dot *a, const hil_conv_window *win, int empty, int16_t *y)
{
    const hil_conv_params *p = a->p;
    const runs r = window_runs(win, a->depth);
    uint32_t oc = 0;
    for (uint32_t g = 0; g < a->groups; g++) {
        const int16_t *x =
            empty ? NULL : (const int16_t *)a->x + win->x0 + (ptrdiff_t)g * a->depth;
        for (uint32_t k = 0; k < a->per_group; k++, oc++) {
            const int8_t *w =
                empty ? NULL : (const int8_t *)a->w + (ptrdiff_t)oc * a->w_oc + win->w0;
            int32_t v;
            if (p->kind == HIL_CONV_I16_32) {
                uint32_t acc = empty ? 0u : window_i16_32(x, w, &r);
                if (a->bias != NULL) {
                    acc += (uint32_t)((const int32_t *)a->bias)[oc];
                }
                v = hil_mul_by_qmul(hil_u32_as_i32(acc), hil_conv_qmul(&a->rq, oc));
            } else {
                uint64_t acc = empty ? 0u : (uint64_t)window_i16_64(x, w, &r);
                if (a->bias != NULL) {
                    acc += p->bias_dtype == HIL_DT_INT16
                               ? (uint64_t)(int64_t)((const int16_t *)a->bias)[oc]
                               : (uint64_t)((const int64_t *)a->bias)[oc];
                }
                v = hil_mul_by_qmul_i64(hil_u64_as_i64(acc), hil_conv_qmul(&a->rq, oc));
            }
            y[oc] = (int16_t)hil_clamp_i32(v, p->act_min, p->act_max);
        }
    }
}

static void pixel_f32(const hil_conv_dot *a, const hil_conv_window *win, int empty, float *y)
{
    const hil_conv_params *p = a->p;
    const runs r = window_runs(win, a->depth);
    const float *bias = (const float *)a->bias;
    uint32_t oc = 0;
    for (uint32_t g = 0; g < a->groups; g++) {
        const float *x = empty ? NULL : (const float *)a->x + win->x0 + (ptrdiff_t)g * a->depth;
        for (uint32_t k = 0; k < a->per_group; k++, oc++) {
            float total = 0.0f;
            if (!empty) {
                const float *w = (const float *)a->w + (ptrdiff_t)oc * a->w_oc + win->w0;
                total = window_f32(x, w, &r);
            }
            /* CONV_2D adds 0.0f without a bias; TRANSPOSE_CONV adds nothing.
             * The same bits: a sum started at +0.0f is never -0.0f. */
            const float b = bias != NULL ? bias[oc] : 0.0f;
            y[oc] = hil_clamp_float(total + b, p->f_min, p->f_max);
        }
    }
}

void hil_conv_dot_pixel(const hil_conv_dot *a, const hil_conv_window *win, void *y)
{
    const int empty = win->rows == 0 || win->cols == 0;
    switch (a->p->kind) {
    case HIL_CONV_I8:
        pixel_i8(a, win, empty, (int8_t *)y);
        break;
    case HIL_CONV_F32:
        pixel_f32(a, win, empty, (float *)y);
        break;
    default:
        pixel_i16(a, win, empty, (int16_t *)y);
        break;
    }
}

hil_status hil_conv_prepare_common(hil_interp *ip, const hil_node *node, const hil_model_op *op,
                                   const hil_conv_option_fields *fields, uint32_t i16_bias,
                                   hil_conv_tensors *t, hil_conv_options *o, hil_conv_params *p,
                                   hil_msg *msg)
{
    hil_status st = hil_conv_get_tensors(ip, node, 0, 1, 2, t, msg);
    if (st == HIL_OK) {
        st = hil_conv_read_options(ip, op, fields, o, msg);
    }
    if (st == HIL_OK) {
        st = hil_conv_check_types(t, i16_bias, p, msg);
    }
    if (st == HIL_OK) {
        st = hil_conv_check_ranks(t, msg);
    }
    return st;
}

hil_status hil_conv_plan_window(const hil_conv_tensors *t, const hil_conv_options *o,
                                hil_conv_params *p, int32_t *x_col, int32_t *x_row,
                                hil_msg *msg)
{
    const int32_t *in = t->in->dims;
    const int32_t *f = t->filter->dims;
    const int32_t *out = t->out->dims;
    p->batches = (uint32_t)in[0];
    p->in_c = (uint32_t)in[3];
    p->out_c = (uint32_t)out[3];
    hil_conv_axis *h = &p->h;
    hil_conv_axis *w = &p->w;
    *h = (hil_conv_axis){in[1], out[1], f[1], o->stride_h, o->dilation_h, 0};
    *w = (hil_conv_axis){in[2], out[2], f[2], o->stride_w, o->dilation_w, 0};
    hil_status st = hil_conv_padding(o->padding, h->in, h->filter, h->stride, h->dilation,
                                     &h->pad, msg);
    if (st == HIL_OK) {
        st = hil_conv_padding(o->padding, w->in, w->filter, w->stride, w->dilation, &w->pad, msg);
    }
    if (st == HIL_OK) {
        st = hil_conv_axis_fits(h, "height", msg);
    }
    if (st == HIL_OK) {
        st = hil_conv_axis_fits(w, "width", msg);
    }
    /* Two taps of a row (column) both inside the input only when the
     * dilation is smaller than the input: then the step is inside it too. */
    *x_col = w->dilation < w->in ? w->dilation * (int32_t)p->in_c : 0;
    *x_row = h->dilation < h->in ? h->dilation * w->in * (int32_t)p->in_c : 0;
    return st;
}

hil_status hil_conv_prepare_plan(hil_interp *ip, const hil_node *node, const hil_model_op *op,
                                 const hil_conv_kind *kind, hil_conv_plan *plan, void *table,
                                 hil_msg *msg)
{
    hil_conv_tensors t;
    hil_conv_options o;
    hil_status st = hil_conv_prepare_common(ip, node, op, kind->fields, kind->i16_bias, &t, &o,
                                            &plan->p, msg);
    if (st != HIL_OK) {
        return st;
    }
    const int32_t *in = t.in->dims;
    const int32_t *out = t.out->dims;
    const int32_t channels = t.filter->dims[kind->out_dim];
    if (in[0] != out[0]) {
        return hil_fail(msg, HIL_ERR_MODEL_INVALID, "input batch %d, output batch %d", in[0],
                        out[0]);
    }
    if (channels != out[3]) {
        return hil_fail(msg, HIL_ERR_MODEL_INVALID, "filter has %d output channels, output %d",
                        channels, out[3]);
    }
    st = kind->check(in, t.filter->dims, out, &o, plan, msg);
    if (st == HIL_OK) {
        st = hil_conv_plan_window(&t, &o, &plan->p, &plan->x_col, &plan->x_row, msg);
    }
    if (st != HIL_OK) {
        return st;
    }
    plan->w = t.filter->data;
    plan->bias = t.bias != NULL ? t.bias->data : NULL;
    return hil_conv_prepare_quant(ip, node, kind->filter_index, &t, kind->out_dim, o.activation,
                                  &plan->p, table, msg);
}
