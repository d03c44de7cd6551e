/* CONCATENATION and PACK: each output repetition (the dims before the axis)
 * is the inputs' pieces side by side, copied with memcpy.
 *
 * TFLM rules followed here (tflite-micro concatenation.cc, pack.cc):
 *   - CONCATENATION: float32, int8, int16, int32, int64 and bool; at most 10
 *     inputs; no fused activation; the axis may be negative (counted from the
 *     output's rank). int8 does NOT requantize: every input must have the
 *     output's scale and zero point, else TFLM refuses the model, and so does
 *     hil. int16 zero points must be 0.
 *   - PACK: float32, int8, int16, int32 and int64; values_count must equal
 *     the number of inputs (TFLM loops over values_count); the axis is counted
 *     in the output's rank. Quantization is not looked at (a plain copy).
 * Shapes are checked completely here; TFLM leaves most of that to debug
 * asserts. */
#include "engine/interp.h"
#include "kernels/quant.h"
#include "engine/kernel.h"
#include "kernels/shape_common.h"

#define CONCAT_OPTIONS 10u /* BuiltinOptions.ConcatenationOptions */
#define PACK_OPTIONS 59u   /* BuiltinOptions.PackOptions */
#define CONCAT_MAX_INPUTS 10u

#define CONCAT_DTYPES                                                                            \
    (HIL_DTYPES_F32_I8_I16_I32 | HIL_DTYPE_BIT(HIL_DT_INT64) | HIL_DTYPE_BIT(HIL_DT_BOOL))
#define PACK_DTYPES (HIL_DTYPES_F32_I8_I16_I32 | HIL_DTYPE_BIT(HIL_DT_INT64))

static uint32_t gather_data_bytes(hil_model *m, const hil_model_op *op)
{
    (void)m;
    return hil_blocks_bytes(op->inputs.len);
}

static hil_status gather_eval(hil_interp *ip, const hil_node *node, hil_msg *msg)
{
    (void)msg;
    hil_blocks_gather(node->data, ip, node, hil_shape_out(ip, node, 0)->data);
    return HIL_OK;
}

/* outer = dims before the axis, row = one repetition of the output. */
static void blocks_frame(hil_blocks *b, const hil_tensor *out, uint32_t axis)
{
    if (hil_tensor_elems(out) == 0) {
        b->outer = 0; /* nothing to copy; the dims need not be multiplied */
        return;
    }
    const uint32_t elem = hil_shape_elem_bytes(out);
    b->outer = hil_shape_prod(out->dims, 0, axis);
    b->row = hil_shape_prod(out->dims, axis, out->rank) * elem;
}

/* ---- CONCATENATION --------------------------------------------------------- */

static hil_status concat_options(hil_interp *ip, const hil_model_op *op, int32_t *axis,
                                 hil_msg *msg)
{
    hil_fb *fb = &ip->model.fb;
    *axis = 0;
    int32_t act = HIL_ACT_NONE;
    hil_status st = hil_shape_options(op, CONCAT_OPTIONS, "ConcatenationOptions", msg);
    if (st != HIL_OK || op->options_type == 0) {
        return st;
    }
    *axis = hil_fb_i32(fb, &op->options, 0, 0);
    act = hil_fb_i8(fb, &op->options, 1, HIL_ACT_NONE);
    if (fb->status != HIL_OK) {
        return fb->status;
    }
    if (act != HIL_ACT_NONE) {
        return hil_fail(msg, HIL_ERR_UNSUPPORTED, "fused activation %s is not supported",
                        hil_act_name(act));
    }
    return HIL_OK;
}

/* TFLM refuses int8 inputs that would need rescaling, and int16 zero points
 * other than 0. Scales are compared exactly, as TFLM does. */
static hil_status concat_quant(const hil_tensor *in, uint32_t i, const hil_tensor *out,
                               hil_msg *msg)
{
    if (in->dtype == HIL_DT_INT8 &&
        ((double)in->scale != (double)out->scale || in->zero_point != out->zero_point)) {
        return hil_fail(msg, HIL_ERR_UNSUPPORTED,
                        "input %u scale/zero point differ from the output's "
                        "(int8 requantization is not supported)",
                        i);
    }
    if (in->dtype == HIL_DT_INT16 && (in->zero_point != 0 || out->zero_point != 0)) {
        return hil_fail(msg, HIL_ERR_UNSUPPORTED, "int16 zero points must be 0");
    }
    return HIL_OK;
}

static hil_status concat_input(const hil_tensor *in, uint32_t i, const hil_tensor *out,
                               uint32_t axis, hil_msg *msg)
{
    if (in->dtype != out->dtype) {
        return hil_fail(msg, HIL_ERR_MODEL_INVALID, "input %u type %s differs from output type %s",
                        i, hil_dtype_name(in->dtype), hil_dtype_name(out->dtype));
    }
    if (in->rank != out->rank) {
        return hil_fail(msg, HIL_ERR_MODEL_INVALID, "input %u has rank %u, output has %u", i,
                        (uint32_t)in->rank, (uint32_t)out->rank);
    }
    for (uint32_t d = 0; d < out->rank; d++) {
        if (d != axis && in->dims[d] != out->dims[d]) {
            return hil_fail(msg, HIL_ERR_MODEL_INVALID,
                            "input %u dim %u is %d, output's is %d (axis %u)", i, d, in->dims[d],
                            out->dims[d], axis);
        }
    }
    return concat_quant(in, i, out, msg);
}

static hil_status concat_prepare(hil_interp *ip, hil_node *node, const hil_model_op *op,
                                 hil_msg *msg)
{
    int32_t axis_opt;
    uint32_t axis;
    hil_status st = concat_options(ip, op, &axis_opt, msg);
    if (st == HIL_OK) {
        st = hil_shape_arity(node, 1, UINT32_MAX, 1, 1, msg);
    }
    if (st == HIL_OK && node->n_inputs > CONCAT_MAX_INPUTS) {
        st = hil_fail(msg, HIL_ERR_UNSUPPORTED, "%u inputs (at most %u)",
                      (uint32_t)node->n_inputs, CONCAT_MAX_INPUTS);
    }
    if (st != HIL_OK) {
        return st;
    }
    const hil_tensor *out = hil_shape_out(ip, node, 0);
    st = hil_shape_dtype(out, CONCAT_DTYPES, "output", msg);
    if (st == HIL_OK) {
        st = hil_shape_axis(axis_opt, out->rank, "axis", &axis, msg);
    }
    if (st != HIL_OK) {
        return st;
    }
    hil_blocks *b = node->data;
    uint32_t *piece = hil_blocks_piece(b);
    const uint32_t empty = hil_tensor_elems(out) == 0;
    const uint32_t inner =
        empty ? 0 : hil_shape_prod(out->dims, axis + 1u, out->rank) * hil_shape_elem_bytes(out);
    int64_t total = 0;
    for (uint32_t i = 0; i < node->n_inputs; i++) {
        const hil_tensor *in = hil_shape_in(ip, node, i);
        st = concat_input(in, i, out, axis, msg);
        if (st != HIL_OK) {
            return st;
        }
        total += in->dims[axis];
        piece[i] = (uint32_t)in->dims[axis] * inner;
    }
    if (total != out->dims[axis]) {
        return hil_fail(msg, HIL_ERR_MODEL_INVALID,
                        "inputs add up to %d along axis %u, output has %d", (int32_t)total, axis,
                        out->dims[axis]);
    }
    b->n = node->n_inputs;
    blocks_frame(b, out, axis);
    return HIL_OK;
}

const hil_kernel hil_kernel_concatenation = {"CONCATENATION", gather_data_bytes,
                                             concat_prepare, gather_eval};

/* ---- PACK ------------------------------------------------------------------ */

static hil_status pack_prepare(hil_interp *ip, hil_node *node, const hil_model_op *op,
                               hil_msg *msg)
{
    hil_fb *fb = &ip->model.fb;
    hil_status st = hil_shape_options(op, PACK_OPTIONS, "PackOptions", msg);
    if (st == HIL_OK) {
        st = hil_shape_arity(node, 1, UINT32_MAX, 1, 1, msg);
    }
    if (st != HIL_OK) {
        return st;
    }
    int32_t count = op->options_type != 0 ? hil_fb_i32(fb, &op->options, 0, 0) : 0;
    int32_t axis_opt = op->options_type != 0 ? hil_fb_i32(fb, &op->options, 1, 0) : 0;
    if (fb->status != HIL_OK) {
        return fb->status;
    }
    if (count != (int32_t)node->n_inputs) {
        return hil_fail(msg, HIL_ERR_MODEL_INVALID, "values_count %d, but %u inputs", count,
                        (uint32_t)node->n_inputs);
    }
    const hil_tensor *in0 = hil_shape_in(ip, node, 0);
    const hil_tensor *out = hil_shape_out(ip, node, 0);
    uint32_t axis;
    st = hil_shape_dtype(in0, PACK_DTYPES, "input", msg);
    if (st == HIL_OK) {
        st = hil_shape_same_dtype(out, in0, "output", msg);
    }
    if (st == HIL_OK && (uint32_t)out->rank != (uint32_t)in0->rank + 1u) {
        st = hil_fail(msg, HIL_ERR_MODEL_INVALID, "output rank %u, expected %u",
                      (uint32_t)out->rank, (uint32_t)in0->rank + 1u);
    }
    if (st == HIL_OK) {
        st = hil_shape_axis(axis_opt, out->rank, "axis", &axis, msg);
    }
    if (st != HIL_OK) {
        return st;
    }
    for (uint32_t i = 1; i < node->n_inputs; i++) {
        const hil_tensor *in = hil_shape_in(ip, node, i);
        if (in->dtype != in0->dtype || !hil_shape_same_dims(in, in0)) {
            return hil_fail(msg, HIL_ERR_MODEL_INVALID,
                            "input %u differs from input 0 in type or shape", i);
        }
    }
    for (uint32_t d = 0; d < out->rank; d++) {
        int32_t want = d < axis ? in0->dims[d] : d == axis ? count : in0->dims[d - 1];
        if (out->dims[d] != want) {
            return hil_fail(msg, HIL_ERR_MODEL_INVALID, "output dim %u is %d, expected %d", d,
                            out->dims[d], want);
        }
    }
    hil_blocks *b = node->data;
    uint32_t *piece = hil_blocks_piece(b);
    b->n = node->n_inputs;
    blocks_frame(b, out, axis);
    for (uint32_t i = 0; i < b->n; i++) {
        piece[i] = b->outer == 0 ? 0 : in0->bytes / b->outer;
    }
    return HIL_OK;
}

const hil_kernel hil_kernel_pack = {"PACK", gather_data_bytes, pack_prepare, gather_eval};
