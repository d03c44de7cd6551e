/* CONV_2D, bit-exact with TFLM's reference kernels:
 *   float32:      float filter and bias; per output element the products are
 *                 summed over taps (row-major) then input channels, from
 *                 0.0f, then the bias (or 0.0f) is added and the activation
 *                 clamps (build with -ffp-contract=off);
 *   int8:         int8 filter, per-channel or per-tensor scales, optional
 *                 int32 bias; sum of filter * (input - input_zero_point);
 *   int16 x int8: int32 accumulator with an int32 bias, int64 with an int64
 *                 bias or none (as the oracle does); zero points must be 0.
 * Grouped convolution (input depth a multiple of the filter depth) follows
 * the reference too. Layouts: input NHWC, filter [out_c, h, w, in_c / groups],
 * output NHWC. Padding taps are skipped by computing, per output row and
 * pixel, the range of taps inside the input: the inner loops never test.
 * Output channels go in pairs through the dot products (conv_common.c), so
 * each input element is loaded once for two filters. */
#include <stddef.h>

#include "engine/interp.h"
#include "kernels/conv_common.h"
#include "engine/kernel.h"

enum { IN_INPUT = 0, IN_FILTER = 1, IN_BIAS = 2 };

static const hil_conv_option_fields conv_fields = {
    1u, "Conv2DOptions", /* BuiltinOptions.Conv2DOptions */
    0, 1, 2, 3, 4, 5, -1, /* padding, stride w/h, activation, dilation w/h */
};

typedef struct {
    hil_conv_params p;
    /* Kept at prepare so eval looks up only the activations: a constant's
     * tensor is parsed from the model on every lookup. */
    const uint8_t *w;
    const void *bias; /* NULL when absent */
    uint32_t depth;   /* filter input depth */
    uint32_t groups;
    uint32_t per_group;
    int32_t x_row; /* input elements between two tap rows (0: one row at most) */
    int32_t x_col; /* ... between two tap columns (below the input's size) */
} conv_data;

static uint32_t conv_data_bytes(hil_model *m, const hil_model_op *op)
{
    return hil_conv_data_bytes(m, op, IN_FILTER, 0, (uint32_t)sizeof(conv_data));
}

static hil_status check_shapes(const hil_conv_tensors *t, const hil_conv_options *o,
                               conv_data *d, hil_msg *msg)
{
    const int32_t *in = t->in->dims;
    const int32_t *f = t->filter->dims;
    const int32_t *out = t->out->dims;
    if (in[0] != out[0]) {
        return hil_fail(msg, HIL_ERR_MODEL_INVALID, "input batch %d, output batch %d", in[0],
                        out[0]);
    }
    if (f[0] != out[3]) {
        return hil_fail(msg, HIL_ERR_MODEL_INVALID, "filter has %d output channels, output %d",
                        f[0], out[3]);
    }
    if (f[1] < 1 || f[2] < 1 || f[3] < 1) {
        return hil_fail(msg, HIL_ERR_MODEL_INVALID, "empty filter %dx%dx%d", f[1], f[2], f[3]);
    }
    if (in[3] % f[3] != 0 || in[3] == 0 || out[3] % (in[3] / f[3]) != 0) {
        return hil_fail(msg, HIL_ERR_MODEL_INVALID,
                        "input depth %d, filter depth %d, output depth %d: not whole groups",
                        in[3], f[3], out[3]);
    }
    d->depth = (uint32_t)f[3];
    d->groups = (uint32_t)in[3] / d->depth;
    d->per_group = (uint32_t)out[3] / d->groups;
    return hil_conv_plan_window(t, o, &d->p, &d->x_col, &d->x_row, msg);
}

static hil_status conv_prepare(hil_interp *ip, hil_node *node, const hil_model_op *op,
                               hil_msg *msg)
{
    conv_data *d = node->data;
    hil_conv_tensors t;
    hil_conv_options o;
    hil_status st =
        hil_conv_prepare_common(ip, node, op, &conv_fields, HIL_CONV_I16_BIAS32, &t, &o, &d->p, msg);
    if (st == HIL_OK) {
        st = check_shapes(&t, &o, d, msg);
    }
    if (st != HIL_OK) {
        return st;
    }
    d->w = t.filter->data;
    d->bias = t.bias != NULL ? t.bias->data : NULL;
    return hil_conv_prepare_quant(ip, node, IN_FILTER, &t, 0, o.activation, &d->p,
                                  d + 1, msg);
}

static hil_status conv_eval(hil_interp *ip, const hil_node *node, hil_msg *msg)
{
    const hil_tensor *in = hil_node_input(ip, node, IN_INPUT);
    const hil_tensor *out = hil_node_output(ip, node, 0);
    if (in == NULL || out == NULL) {
        return hil_fail(msg, HIL_ERR_MODEL_INVALID, "needs input and output tensors");
    }
    const conv_data *d = node->data;
    const hil_conv_params *p = &d->p;
    const hil_conv_axis *h = &p->h;
    const hil_conv_axis *w = &p->w;
    const size_t elem = p->kind == HIL_CONV_F32 ? 4u : (p->kind == HIL_CONV_I8 ? 1u : 2u);
    const size_t in_image = (size_t)h->in * (size_t)w->in * p->in_c;
    const size_t out_pixel = (size_t)p->out_c * elem;
    hil_conv_dot dot = {p,
                        hil_conv_requant_of(p, d + 1),
                        NULL,
                        d->w,
                        d->bias,
                        (ptrdiff_t)h->filter * w->filter * (ptrdiff_t)d->depth,
                        d->depth,
                        d->groups,
                        d->per_group};
    hil_conv_window win = {0, 0, 0, 0, d->x_row, d->x_col, (ptrdiff_t)w->filter * d->depth,
                           (ptrdiff_t)d->depth};
    uint8_t *y = out->data;
    for (uint32_t b = 0; b < p->batches; b++) {
        dot.x = in->data + (size_t)b * in_image * elem;
        for (int32_t oy = 0; oy < h->out; oy++) {
            const hil_conv_span sy = hil_conv_span_of(h, oy);
            win.rows = sy.count;
            for (int32_t ox = 0; ox < w->out; ox++, y += out_pixel) {
                const hil_conv_span sx = hil_conv_span_of(w, ox);
                win.cols = sx.count;
                if (win.rows != 0 && win.cols != 0) {
                    win.x0 = ((ptrdiff_t)sy.at * w->in + sx.at) * (ptrdiff_t)p->in_c;
                    win.w0 = ((ptrdiff_t)sy.first * w->filter + sx.first) * (ptrdiff_t)d->depth;
                }
                hil_conv_dot_pixel(&dot, &win, y);
            }
        }
    }
    return HIL_OK;
}

const hil_kernel hil_kernel_conv_2d = {
    "CONV_2D",
    conv_data_bytes,
    conv_prepare,
    conv_eval,
};
