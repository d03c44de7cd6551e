/* RESIZE_NEAREST_NEIGHBOR, bit-exact with TFLM's reference kernel:
 * float32, int8 and int16; input [N, H, W, C]; a constant int32 size tensor
 * of shape [2] giving the output height and width.
 *
 * The source pixel of output coordinate x (per axis, in single precision,
 * as TFLM computes it; build with -ffp-contract=off):
 *   scale  = align_corners && out > 1 ? (in - 1) / (float)(out - 1)
 *                                     : in / (float)out
 *   offset = half_pixel_centers ? 0.5f : 0.0f
 *   v      = ((float)x + offset) * scale
 *   src    = min(align_corners ? roundf(v) : floorf(v), in - 1)
 *            (roundf: halves away from zero), then max(src, 0) when
 *            half_pixel_centers.
 * Each output pixel copies C contiguous elements. TFLM does not check the
 * output tensor against the size tensor; hil requires [N, h, w, C]. */
#include <math.h>
#include <string.h>

#include "engine/interp.h"
#include "engine/kernel.h"
#include "kernels/shape_common.h"

#define RESIZE_NN_OPTIONS 74u /* BuiltinOptions.ResizeNearestNeighborOptions */

typedef struct {
    float scale_h;
    float scale_w;
    float offset;
    uint32_t batches;
    uint32_t in_h;
    uint32_t in_w;
    uint32_t out_h;
    uint32_t out_w;
    uint32_t pixel; /* bytes of one pixel: C elements */
    uint8_t align_corners;
    uint8_t half_pixel;
} resize_data;

static uint32_t resize_data_bytes(hil_model *m, const hil_model_op *op)
{
    (void)m;
    (void)op;
    return sizeof(resize_data);
}

static float axis_scale(uint32_t in, uint32_t out, int align_corners)
{
    return align_corners && out > 1u ? (float)(in - 1u) / (float)(out - 1u)
                                     : (float)in / (float)out;
}

static hil_status resize_options(hil_interp *ip, const hil_model_op *op, resize_data *d,
                                 hil_msg *msg)
{
    hil_fb *fb = &ip->model.fb;
    hil_status st = hil_shape_options(op, RESIZE_NN_OPTIONS, "ResizeNearestNeighborOptions", msg);
    if (st != HIL_OK || op->options_type == 0) {
        return st;
    }
    d->align_corners = hil_fb_u8(fb, &op->options, 0, 0) != 0;
    d->half_pixel = hil_fb_u8(fb, &op->options, 1, 0) != 0;
    return fb->status;
}

static hil_status resize_prepare(hil_interp *ip, hil_node *node, const hil_model_op *op,
                                 hil_msg *msg)
{
    resize_data *d = node->data;
    hil_status st = resize_options(ip, op, d, msg);
    if (st == HIL_OK) {
        st = hil_shape_arity(node, 2, 2, 1, 1, msg);
    }
    if (st != HIL_OK) {
        return st;
    }
    const hil_tensor *in = hil_shape_in(ip, node, 0);
    const hil_tensor *size_t_ = hil_shape_in(ip, node, 1);
    const hil_tensor *out = hil_shape_out(ip, node, 0);
    const int32_t *size = NULL;
    st = hil_shape_dtype(in, HIL_DTYPES_F32_I8_I16, "input", msg);
    if (st == HIL_OK) {
        st = hil_shape_same_dtype(out, in, "output", msg);
    }
    if (st == HIL_OK && in->rank != 4) {
        st = hil_fail(msg, HIL_ERR_UNSUPPORTED, "input rank %u is not supported (4 only)",
                      (uint32_t)in->rank);
    }
    if (st == HIL_OK && size_t_->rank != 1) {
        st = hil_fail(msg, HIL_ERR_MODEL_INVALID, "size has rank %u, expected 1",
                      (uint32_t)size_t_->rank);
    }
    if (st == HIL_OK) {
        st = hil_shape_const_i32(size_t_, 2, "size", &size, msg);
    }
    if (st != HIL_OK) {
        return st;
    }
    if (out->rank != 4 || out->dims[0] != in->dims[0] || out->dims[1] != size[0] ||
        out->dims[2] != size[1] || out->dims[3] != in->dims[3]) {
        return hil_fail(msg, HIL_ERR_MODEL_INVALID, "output shape must be [%d, %d, %d, %d]",
                        in->dims[0], size[0], size[1], in->dims[3]);
    }
    if (hil_tensor_elems(out) == 0) {
        d->batches = 0; /* nothing to write */
        return HIL_OK;
    }
    if (hil_tensor_elems(in) == 0) {
        return hil_fail(msg, HIL_ERR_MODEL_INVALID, "input is empty but the output is not");
    }
    d->batches = (uint32_t)in->dims[0];
    d->in_h = (uint32_t)in->dims[1];
    d->in_w = (uint32_t)in->dims[2];
    d->out_h = (uint32_t)size[0];
    d->out_w = (uint32_t)size[1];
    d->pixel = (uint32_t)in->dims[3] * hil_shape_elem_bytes(in);
    d->scale_h = axis_scale(d->in_h, d->out_h, d->align_corners);
    d->scale_w = axis_scale(d->in_w, d->out_w, d->align_corners);
    d->offset = d->half_pixel ? 0.5f : 0.0f;
    return HIL_OK;
}

static uint32_t nearest(uint32_t x, uint32_t in, float scale, const resize_data *d)
{
    const float v = ((float)x + d->offset) * scale;
    int32_t src = (int32_t)(d->align_corners ? roundf(v) : floorf(v));
    if (src > (int32_t)in - 1) {
        src = (int32_t)in - 1;
    }
    if (d->half_pixel && src < 0) {
        src = 0;
    }
    return (uint32_t)src; /* v >= 0 when not half_pixel: src >= 0 either way */
}

static hil_status resize_eval(hil_interp *ip, const hil_node *node, hil_msg *msg)
{
    (void)msg;
    const resize_data *d = node->data;
    const uint8_t *src = hil_shape_in(ip, node, 0)->data;
    uint8_t *dst = hil_shape_out(ip, node, 0)->data;
    const size_t row = (size_t)d->in_w * d->pixel;
    for (uint32_t b = 0; b < d->batches; b++) {
        for (uint32_t y = 0; y < d->out_h; y++) {
            const uint8_t *in_row = src + nearest(y, d->in_h, d->scale_h, d) * row;
            for (uint32_t x = 0; x < d->out_w; x++) {
                memcpy(dst, in_row + (size_t)nearest(x, d->in_w, d->scale_w, d) * d->pixel,
                       d->pixel);
                dst += d->pixel;
            }
        }
        src += (size_t)d->in_h * row;
    }
    return HIL_OK;
}

const hil_kernel hil_kernel_resize_nearest_neighbor = {
    "RESIZE_NEAREST_NEIGHBOR",
    resize_data_bytes,
    resize_prepare,
    resize_eval,
};
