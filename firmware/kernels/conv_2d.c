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
    hil_conv_plan plan; /* first: hil_conv_prepare_plan fills it */
    uint32_t depth;     /* filter input depth */
    uint32_t groups;
    uint32_t per_group;
} conv_data;

/* Groups: the input depth a whole multiple of the filter's, the output's
 * of the group count. */
static hil_status check_groups(const int32_t *in, const int32_t *f, const int32_t *out,
                               const hil_conv_options *o, hil_conv_plan *plan, hil_msg *msg)
{
    (void)o;
    conv_data *d = (conv_data *)(void *)plan;
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
    return HIL_OK;
}

static const hil_conv_kind conv_kind = {&conv_fields, HIL_CONV_I16_BIAS32, IN_FILTER, 0,
                                        check_groups};

HIL_CONV_KERNEL_ENTRIES(conv, conv_data, conv_kind)

static hil_status conv_eval(hil_interp *ip, const hil_node *node, hil_msg *msg)
{
    const conv_data *d = node->data;
    const hil_conv_params *p = &d->plan.p;
    const hil_conv_axis *h = &p->h;
    const hil_conv_axis *w = &p->w;
    hil_conv_io io = {NULL, NULL, 0, 0};
    hil_status st = hil_conv_eval_io(ip, node, IN_INPUT, p, &io, msg);
    if (st != HIL_OK) {
        return st;
    }
    hil_conv_dot dot = {p,
                        hil_conv_requant_of(p, d + 1),
                        NULL,
                        d->plan.w,
                        d->plan.bias,
                        (ptrdiff_t)h->filter * w->filter * (ptrdiff_t)d->depth,
                        d->depth,
                        d->groups,
                        d->per_group};
    hil_conv_window win = {0, 0, 0, 0, d->plan.x_row, d->plan.x_col,
                           (ptrdiff_t)w->filter * d->depth, (ptrdiff_t)d->depth};
    uint8_t *y = io.y;
    for (uint32_t b = 0; b < p->batches; b++) {
        dot.x = io.x + (size_t)b * io.image_bytes;
        for (int32_t oy = 0; oy < h->out; oy++) {
            const hil_conv_span sy = hil_conv_span_of(h, oy);
            win.rows = sy.count;
            for (int32_t ox = 0; ox < w->out; ox++, y += io.out_pixel) {
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
