/* RESHAPE, SQUEEZE, EXPAND_DIMS and SHAPE: the output's shape is stated by
 * the model, so the first three are byte copies once prepare has checked the
 * shapes the way TFLM does; SHAPE writes the input's dimensions.
 *
 * TFLM rules followed here (tflite-micro reshape_common.cc, squeeze.cc,
 * expand_dims.cc, shape.cc):
 *   - RESHAPE takes its shape from the output tensor alone: the optional shape
 *     tensor and ReshapeOptions.new_shape are not read (so a dynamic shape
 *     tensor is fine). Element counts must match. Any element type.
 *   - SQUEEZE: listed dims (negative counts from the end, repeats allowed, at
 *     most 8) must have size 1; none listed squeezes every size-1 dim. Each
 *     kept dim must fit in the output dim it lands on and the byte sizes must
 *     match. Any element type.
 *   - EXPAND_DIMS: a constant int32 axis tensor with one element, in
 *     [-(rank + 1), rank]; the output is the input with a 1 inserted there.
 *     float32, int8 and int16 only.
 *   - SHAPE: int32 output only (ShapeOptions.out_type is not read). */
#include <string.h>

#include "engine/interp.h"
#include "engine/kernel.h"
#include "kernels/shape_common.h"

#define RESHAPE_OPTIONS 17u      /* BuiltinOptions.ReshapeOptions */
#define SQUEEZE_OPTIONS 30u      /* BuiltinOptions.SqueezeOptions */
#define EXPAND_DIMS_OPTIONS 52u  /* BuiltinOptions.ExpandDimsOptions */
#define SHAPE_OPTIONS 55u        /* BuiltinOptions.ShapeOptions */
#define SQUEEZE_MAX_DIMS 8u      /* TfLiteSqueezeParams holds at most 8 */

static uint32_t no_data(hil_model *m, const hil_model_op *op)
{
    (void)m;
    (void)op;
    return 0;
}

static hil_status copy_eval(hil_interp *ip, const hil_node *node, hil_msg *msg)
{
    (void)msg;
    hil_shape_copy(ip, node);
    return HIL_OK;
}

static hil_status same_count(const hil_tensor *in, const hil_tensor *out, hil_msg *msg)
{
    if (hil_tensor_elems(in) != hil_tensor_elems(out)) {
        return hil_fail(msg, HIL_ERR_MODEL_INVALID, "input has %u elements, output has %u",
                        hil_tensor_elems(in), hil_tensor_elems(out));
    }
    return HIL_OK;
}

/* ---- RESHAPE --------------------------------------------------------------- */

static hil_status reshape_prepare(hil_interp *ip, hil_node *node, const hil_model_op *op,
                                  hil_msg *msg)
{
    hil_status st = hil_shape_options(op, RESHAPE_OPTIONS, "ReshapeOptions", msg);
    if (st != HIL_OK) {
        return st;
    }
    /* The shape tensor is optional: absent, or listed as -1. */
    const int shape_absent = node->n_inputs == 2 && node->inputs[1] < 0;
    hil_node view = *node;
    view.n_inputs = (uint16_t)(node->n_inputs - (shape_absent ? 1u : 0u));
    st = hil_shape_arity(&view, 1, 2, 1, 1, msg);
    if (st != HIL_OK) {
        return st;
    }
    const hil_tensor *in = hil_shape_in(ip, node, 0);
    const hil_tensor *out = hil_shape_out(ip, node, 0);
    st = hil_shape_same_dtype(out, in, "output", msg);
    return st == HIL_OK ? same_count(in, out, msg) : st;
}

const hil_kernel hil_kernel_reshape = {"RESHAPE", no_data, reshape_prepare, copy_eval};

/* ---- SQUEEZE --------------------------------------------------------------- */

static hil_status squeeze_dims(hil_interp *ip, const hil_model_op *op, const hil_tensor *in,
                               uint8_t squeeze[HIL_MAX_RANK], hil_msg *msg)
{
    hil_fb *fb = &ip->model.fb;
    hil_fb_vec dims = {0, 0, 4};
    if (op->options_type != 0) {
        hil_fb_vector(fb, &op->options, 0, 4, &dims, "SqueezeOptions.squeeze_dims");
        if (fb->status != HIL_OK) {
            return fb->status;
        }
    }
    if (dims.len > SQUEEZE_MAX_DIMS) {
        return hil_fail(msg, HIL_ERR_UNSUPPORTED, "%u squeeze dims (at most %u)", dims.len,
                        SQUEEZE_MAX_DIMS);
    }
    for (uint32_t d = 0; d < in->rank; d++) {
        squeeze[d] = dims.len == 0 && in->dims[d] == 1;
    }
    for (uint32_t i = 0; i < dims.len; i++) {
        int32_t dim = hil_fb_vec_i32(fb, &dims, i);
        uint32_t d;
        hil_status st = hil_shape_axis(dim, in->rank, "squeeze dim", &d, msg);
        if (st != HIL_OK) {
            return st;
        }
        if (in->dims[d] != 1) {
            return hil_fail(msg, HIL_ERR_MODEL_INVALID, "squeeze dim %d has size %d, not 1", dim,
                            in->dims[d]);
        }
        squeeze[d] = 1;
    }
    return fb->status;
}

static hil_status squeeze_prepare(hil_interp *ip, hil_node *node, const hil_model_op *op,
                                  hil_msg *msg)
{
    hil_status st = hil_shape_options(op, SQUEEZE_OPTIONS, "SqueezeOptions", msg);
    if (st == HIL_OK) {
        st = hil_shape_arity(node, 1, 1, 1, 1, msg);
    }
    if (st != HIL_OK) {
        return st;
    }
    const hil_tensor *in = hil_shape_in(ip, node, 0);
    const hil_tensor *out = hil_shape_out(ip, node, 0);
    uint8_t squeeze[HIL_MAX_RANK];
    st = hil_shape_same_dtype(out, in, "output", msg);
    if (st == HIL_OK) {
        st = squeeze_dims(ip, op, in, squeeze, msg);
    }
    if (st != HIL_OK) {
        return st;
    }
    /* TFLM's check: every kept dim fits in the output dim it lands on. */
    uint32_t o = 0;
    for (uint32_t d = 0; d < in->rank; d++) {
        if (squeeze[d]) {
            continue;
        }
        if (o >= out->rank || out->dims[o] < in->dims[d]) {
            return hil_fail(msg, HIL_ERR_MODEL_INVALID,
                            "output shape does not hold input dim %u (size %d)", d, in->dims[d]);
        }
        o++;
    }
    return same_count(in, out, msg);
}

const hil_kernel hil_kernel_squeeze = {"SQUEEZE", no_data, squeeze_prepare, copy_eval};

/* ---- EXPAND_DIMS ----------------------------------------------------------- */

static hil_status expand_dims_prepare(hil_interp *ip, hil_node *node, const hil_model_op *op,
                                      hil_msg *msg)
{
    hil_status st = hil_shape_options(op, EXPAND_DIMS_OPTIONS, "ExpandDimsOptions", msg);
    if (st == HIL_OK) {
        st = hil_shape_arity(node, 2, 2, 1, 1, msg);
    }
    if (st != HIL_OK) {
        return st;
    }
    const hil_tensor *in = hil_shape_in(ip, node, 0);
    const hil_tensor *axis_t = hil_shape_in(ip, node, 1);
    const hil_tensor *out = hil_shape_out(ip, node, 0);
    const int32_t *axis_v = NULL;
    st = hil_shape_dtype(in, HIL_DTYPES_F32_I8_I16, "input", msg);
    if (st == HIL_OK) {
        st = hil_shape_same_dtype(out, in, "output", msg);
    }
    if (st == HIL_OK && axis_t->rank > 1) {
        st = hil_fail(msg, HIL_ERR_MODEL_INVALID, "axis tensor has rank %u, expected 0 or 1",
                      (uint32_t)axis_t->rank);
    }
    if (st == HIL_OK) {
        st = hil_shape_const_i32(axis_t, 1, "axis", &axis_v, msg);
    }
    if (st != HIL_OK) {
        return st;
    }
    uint32_t axis;
    st = hil_shape_axis(axis_v[0], (uint32_t)in->rank + 1u, "axis", &axis, msg);
    if (st != HIL_OK) {
        return st;
    }
    if ((uint32_t)out->rank != (uint32_t)in->rank + 1u) {
        return hil_fail(msg, HIL_ERR_MODEL_INVALID, "output rank %u, expected %u",
                        (uint32_t)out->rank, (uint32_t)in->rank + 1u);
    }
    for (uint32_t d = 0; d < out->rank; d++) {
        int32_t want = d < axis ? in->dims[d] : d == axis ? 1 : in->dims[d - 1];
        if (out->dims[d] != want) {
            return hil_fail(msg, HIL_ERR_MODEL_INVALID, "output dim %u is %d, expected %d", d,
                            out->dims[d], want);
        }
    }
    return HIL_OK;
}

const hil_kernel hil_kernel_expand_dims = {"EXPAND_DIMS", no_data, expand_dims_prepare,
                                           copy_eval};

/* ---- SHAPE ----------------------------------------------------------------- */

static hil_status shape_prepare(hil_interp *ip, hil_node *node, const hil_model_op *op,
                                hil_msg *msg)
{
    hil_status st = hil_shape_options(op, SHAPE_OPTIONS, "ShapeOptions", msg);
    if (st == HIL_OK) {
        st = hil_shape_arity(node, 1, 1, 1, 1, msg);
    }
    if (st != HIL_OK) {
        return st;
    }
    const hil_tensor *in = hil_shape_in(ip, node, 0);
    const hil_tensor *out = hil_shape_out(ip, node, 0);
    if (out->dtype != HIL_DT_INT32) {
        return hil_fail(msg, HIL_ERR_UNSUPPORTED, "output type %s is not supported (int32 only)",
                        hil_dtype_name(out->dtype));
    }
    if (out->rank != 1 || out->dims[0] != (int32_t)in->rank) {
        return hil_fail(msg, HIL_ERR_MODEL_INVALID, "output must have shape [%u]",
                        (uint32_t)in->rank);
    }
    return HIL_OK;
}

static hil_status shape_eval(hil_interp *ip, const hil_node *node, hil_msg *msg)
{
    (void)msg;
    const hil_tensor *in = hil_shape_in(ip, node, 0);
    hil_tensor *out = hil_shape_out(ip, node, 0);
    if (in->rank != 0) {
        memcpy(out->data, in->dims, (size_t)in->rank * sizeof(int32_t));
    }
    return HIL_OK;
}

const hil_kernel hil_kernel_shape = {"SHAPE", no_data, shape_prepare, shape_eval};
