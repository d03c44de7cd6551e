/* TRANSPOSE_CONV, bit-exact with TFLM's reference kernels.
 *
 * Inputs: 0 output_shape (ignored, as TFLM does: the output tensor's shape
 * is static), 1 filter [out_c, h, w, in_c], 2 input NHWC, 3 optional bias.
 * Padding: TFLM's SAME/VALID rule applied to the OUTPUT size (stride as
 * given, dilation 1): input pixel i, tap f writes output pixel
 * i * stride + f - pad.
 *
 * TFLM scatters every input pixel into an int32 (int16: int64; float: the
 * output itself) scratch image, then requantizes. This kernel gathers
 * instead: for each output pixel it visits the input pixels that reach it,
 * in increasing (row, column, channel) order, which is exactly the order in
 * which the scatter adds to that element, so float sums round identically,
 * and integer sums are the same modulo 2^32/2^64. No scratch memory at all.
 *   float32:      sum from 0.0f, plus bias if any, activation clamp;
 *   int8:         sum of (input - input_zero_point) * filter, optional int32
 *                 bias, per-channel requantization, activation clamp;
 *   int16 x int8: int64 sums, optional int64 (or int16, widened) bias, zero
 *                 points 0. */
#include <stddef.h>

#include "engine/interp.h"
#include "kernels/conv_common.h"
#include "engine/kernel.h"

enum { IN_OUTPUT_SHAPE = 0, IN_FILTER = 1, IN_INPUT = 2, IN_BIAS = 3 };

static const hil_conv_option_fields tconv_fields = {
    49u, "TransposeConvOptions", /* BuiltinOptions.TransposeConvOptions */
    0, 1, 2, 3, -1, -1, -1, /* padding, stride w/h, activation */
};

typedef struct {
    hil_conv_params p;
    int32_t w_row; /* filter elements from one reaching input row to the next (<= 0) */
    int32_t w_col; /* (above minus the filter's size) */
} tconv_data;

static uint32_t tconv_data_bytes(hil_model *m, const hil_model_op *op)
{
    return hil_conv_data_bytes(m, op, IN_FILTER, 0, (uint32_t)sizeof(tconv_data));
}

static hil_status get_tensors(hil_interp *ip, const hil_node *node, hil_conv_tensors *t,
                              hil_msg *msg)
{
    return hil_conv_get_tensors(ip, node, IN_INPUT, IN_FILTER, IN_BIAS, t, msg);
}

/* Output pixels, taps and padding all within int32 index math. */
static hil_status axis_fits(const hil_conv_axis *a, const char *what, hil_msg *msg)
{
    if ((int64_t)a->out + a->pad + a->filter + a->stride > INT32_MAX) {
        return hil_fail(msg, HIL_ERR_UNSUPPORTED, "%s: stride %d and size %d overflow index math",
                        what, a->stride, a->out);
    }
    return HIL_OK;
}

static hil_status check_shapes(const hil_conv_tensors *t, const hil_conv_options *o,
                               tconv_data *d, hil_msg *msg)
{
    const int32_t *in = t->in->dims;
    const int32_t *f = t->filter->dims;
    const int32_t *out = t->out->dims;
    if (in[0] != out[0]) {
        return hil_fail(msg, HIL_ERR_MODEL_INVALID, "input batch %d, output batch %d", in[0],
                        out[0]);
    }
    if (f[0] != out[3] || f[3] != in[3]) {
        return hil_fail(msg, HIL_ERR_MODEL_INVALID,
                        "filter [%d,_,_,%d] does not match input depth %d, output depth %d",
                        f[0], f[3], in[3], out[3]);
    }
    if (f[1] < 1 || f[2] < 1 || f[3] < 1) {
        return hil_fail(msg, HIL_ERR_MODEL_INVALID, "empty filter %dx%dx%d", f[1], f[2], f[3]);
    }
    hil_conv_params *p = &d->p;
    p->batches = (uint32_t)in[0];
    p->in_c = (uint32_t)in[3];
    p->out_c = (uint32_t)out[3];
    hil_conv_axis *h = &p->h;
    hil_conv_axis *w = &p->w;
    *h = (hil_conv_axis){in[1], out[1], f[1], o->stride_h, 1, 0};
    *w = (hil_conv_axis){in[2], out[2], f[2], o->stride_w, 1, 0};
    /* TFLM: padding from the output size, as if it were a conv's input. */
    hil_status st = hil_conv_padding(o->padding, h->out, h->filter, h->stride, 1, &h->pad, msg);
    if (st == HIL_OK) {
        st = hil_conv_padding(o->padding, w->out, w->filter, w->stride, 1, &w->pad, msg);
    }
    if (st == HIL_OK) {
        st = axis_fits(h, "height", msg);
    }
    if (st == HIL_OK) {
        st = axis_fits(w, "width", msg);
    }
    /* Two input pixels reach the same output pixel only when the stride is
     * smaller than the filter; then the filter step lies inside the filter. */
    d->w_col = w->stride < w->filter ? -w->stride * (int32_t)p->in_c : 0;
    d->w_row = h->stride < h->filter ? -h->stride * w->filter * (int32_t)p->in_c : 0;
    return st;
}

static hil_status tconv_prepare(hil_interp *ip, hil_node *node, const hil_model_op *op,
                                hil_msg *msg)
{
    tconv_data *d = node->data;
    hil_conv_tensors t;
    hil_conv_options o;
    hil_status st = get_tensors(ip, node, &t, msg);
    if (st == HIL_OK) {
        st = hil_conv_read_options(ip, op, &tconv_fields, &o, msg);
    }
    if (st == HIL_OK) {
        st = hil_conv_check_types(&t, HIL_CONV_I16_BIAS16, &d->p, msg);
    }
    if (st == HIL_OK) {
        st = hil_conv_check_ranks(&t, msg);
    }
    if (st == HIL_OK) {
        st = check_shapes(&t, &o, d, msg);
    }
    if (st != HIL_OK) {
        return st;
    }
    return hil_conv_prepare_quant(ip, node, IN_FILTER, &t, 0, o.activation, &d->p,
                                  d + 1, msg);
}

/* Input pixels [*first, *first + *count) reach output pixel `o` (with its
 * tap *tap for the first one) along one axis. */
static void reach(const hil_conv_axis *a, int32_t o, int32_t *first, uint32_t *count,
                  int32_t *tap)
{
    const int32_t t = o + a->pad; /* i * stride + f = t, 0 <= f < filter */
    int32_t hi = t / a->stride;
    if (hi > a->in - 1) {
        hi = a->in - 1;
    }
    const int32_t low_tap = t - (a->filter - 1);
    const int32_t lo = low_tap <= 0 ? 0 : (low_tap + a->stride - 1) / a->stride;
    *first = lo;
    *count = hi >= lo ? (uint32_t)(hi - lo + 1) : 0u;
    *tap = t - lo * a->stride;
}

static hil_status tconv_eval(hil_interp *ip, const hil_node *node, hil_msg *msg)
{
    hil_conv_tensors t;
    hil_status st = get_tensors(ip, node, &t, msg);
    if (st != HIL_OK) {
        return st;
    }
    const tconv_data *d = node->data;
    const hil_conv_params *p = &d->p;
    const hil_conv_axis *h = &p->h;
    const hil_conv_axis *w = &p->w;
    const size_t elem = p->kind == HIL_CONV_F32 ? 4u : (p->kind == HIL_CONV_I8 ? 1u : 2u);
    const size_t in_image = (size_t)h->in * (size_t)w->in * p->in_c;
    const size_t out_pixel = (size_t)p->out_c * elem;
    hil_conv_dot dot = {p,
                        hil_conv_requant_of(p, d + 1),
                        NULL,
                        t.filter->data,
                        t.bias != NULL ? t.bias->data : NULL,
                        (ptrdiff_t)h->filter * w->filter * (ptrdiff_t)p->in_c,
                        p->in_c,
                        1,
                        p->out_c};
    hil_conv_window win = {0,      0,        0,        0, (ptrdiff_t)w->in * (ptrdiff_t)p->in_c,
                           (ptrdiff_t)p->in_c, d->w_row, d->w_col};
    uint8_t *y = t.out->data;
    for (uint32_t b = 0; b < p->batches; b++) {
        dot.x = t.in->data + (size_t)b * in_image * elem;
        for (int32_t oy = 0; oy < h->out; oy++) {
            int32_t iy;
            int32_t fy;
            reach(h, oy, &iy, &win.rows, &fy);
            for (int32_t ox = 0; ox < w->out; ox++, y += out_pixel) {
                int32_t ix;
                int32_t fx;
                reach(w, ox, &ix, &win.cols, &fx);
                if (win.rows != 0 && win.cols != 0) {
                    win.x0 = ((ptrdiff_t)iy * w->in + ix) * (ptrdiff_t)p->in_c;
                    win.w0 = ((ptrdiff_t)fy * w->filter + fx) * (ptrdiff_t)p->in_c;
                }
                hil_conv_dot_pixel(&dot, &win, y);
            }
        }
    }
    return HIL_OK;
}

const hil_kernel hil_kernel_transpose_conv = {
    "TRANSPOSE_CONV",
    tconv_data_bytes,
    tconv_prepare,
    tconv_eval,
};
