/* SPLIT, SPLIT_V and UNPACK: each input repetition (the dims before the
 * axis) is cut into contiguous pieces, one per output, copied with memcpy.
 *
 * TFLM rules followed here (tflite-micro split.cc, split_v.cc, unpack.cc):
 *   - float32, int8, int16 and int32.
 *   - SPLIT (inputs: axis, input) and SPLIT_V (inputs: input, size_splits,
 *     axis) need a constant axis tensor; TFLM reads its first element as
 *     int32, negative counting from the input's rank. The piece sizes come
 *     from the output tensors' shapes: TFLM reads neither num_splits nor
 *     size_splits. hil additionally refuses models whose stated split does
 *     not match the outputs: SPLIT must cut the axis into num_splits equal
 *     parts; a constant size_splits (int32 or int64, one -1 allowed) must
 *     equal the outputs' sizes. A non-constant size_splits is ignored, as in
 *     TFLM.
 *   - UNPACK: `num` must equal the number of outputs (TFLM loops over num);
 *     each output is the input without the axis dim. */
#include "engine/interp.h"
#include "engine/kernel.h"
#include "kernels/shape_common.h"

#define SPLIT_OPTIONS 35u  /* BuiltinOptions.SplitOptions */
#define UNPACK_OPTIONS 64u /* BuiltinOptions.UnpackOptions */
#define SPLIT_V_OPTIONS 79u /* BuiltinOptions.SplitVOptions */

static uint32_t scatter_data_bytes(hil_model *m, const hil_model_op *op)
{
    (void)m;
    return hil_blocks_bytes(op->outputs.len);
}

/* SPLIT_V and UNPACK: the data is input 0. */
static hil_status scatter_eval(hil_interp *ip, const hil_node *node, hil_msg *msg)
{
    (void)msg;
    hil_blocks_scatter(node->data, ip, node, hil_shape_in(ip, node, 0)->data);
    return HIL_OK;
}

/* SPLIT: inputs are (axis, input). */
static hil_status split_eval(hil_interp *ip, const hil_node *node, hil_msg *msg)
{
    (void)msg;
    hil_blocks_scatter(node->data, ip, node, hil_shape_in(ip, node, 1)->data);
    return HIL_OK;
}

/* outer = input dims before the axis; piece i = output i's share of a row. */
static void scatter_plan(hil_interp *ip, const hil_node *node, const hil_tensor *in,
                         uint32_t axis, uint32_t unpack)
{
    hil_blocks *b = node->data;
    uint32_t *piece = hil_blocks_piece(b);
    b->n = node->n_outputs;
    if (hil_tensor_elems(in) == 0) {
        b->outer = 0; /* every output is empty too */
        return;
    }
    const uint32_t inner = hil_shape_prod(in->dims, axis + 1u, in->rank) * hil_shape_elem_bytes(in);
    b->outer = hil_shape_prod(in->dims, 0, axis);
    b->row = (uint32_t)in->dims[axis] * inner;
    for (uint32_t i = 0; i < b->n; i++) {
        piece[i] = unpack ? inner : (uint32_t)hil_shape_out(ip, node, i)->dims[axis] * inner;
    }
}

static hil_status check_dtypes(hil_interp *ip, const hil_node *node, const hil_tensor *in,
                               hil_msg *msg)
{
    hil_status st = hil_shape_dtype(in, HIL_DTYPES_F32_I8_I16_I32, "input", msg);
    for (uint32_t i = 0; st == HIL_OK && i < node->n_outputs; i++) {
        if (hil_shape_out(ip, node, i)->dtype != in->dtype) {
            st = hil_fail(msg, HIL_ERR_MODEL_INVALID, "output %u type %s differs from input type %s",
                          i, hil_dtype_name(hil_shape_out(ip, node, i)->dtype),
                          hil_dtype_name(in->dtype));
        }
    }
    return st;
}

/* Outputs match the input apart from the axis dim; those add up. */
static hil_status check_pieces(hil_interp *ip, const hil_node *node, const hil_tensor *in,
                               uint32_t axis, hil_msg *msg)
{
    int64_t total = 0;
    for (uint32_t i = 0; i < node->n_outputs; i++) {
        const hil_tensor *out = hil_shape_out(ip, node, i);
        if (out->rank != in->rank) {
            return hil_fail(msg, HIL_ERR_MODEL_INVALID, "output %u has rank %u, input has %u", i,
                            (uint32_t)out->rank, (uint32_t)in->rank);
        }
        for (uint32_t d = 0; d < in->rank; d++) {
            if (d != axis && out->dims[d] != in->dims[d]) {
                return hil_fail(msg, HIL_ERR_MODEL_INVALID,
                                "output %u dim %u is %d, input's is %d (axis %u)", i, d,
                                out->dims[d], in->dims[d], axis);
            }
        }
        total += out->dims[axis];
    }
    if (total != in->dims[axis]) {
        return hil_fail(msg, HIL_ERR_MODEL_INVALID,
                        "outputs add up to %d along axis %u, input has %d", (int32_t)total, axis,
                        in->dims[axis]);
    }
    return HIL_OK;
}

/* The constant axis tensor of SPLIT / SPLIT_V, normalised. */
static hil_status split_axis(const hil_tensor *axis_t, const hil_tensor *in, uint32_t *axis,
                             hil_msg *msg)
{
    const int32_t *v;
    hil_status st = hil_shape_const_i32(axis_t, 1, "axis", &v, msg);
    return st == HIL_OK ? hil_shape_axis(v[0], in->rank, "axis", axis, msg) : st;
}

/* ---- SPLIT ----------------------------------------------------------------- */

static hil_status split_prepare(hil_interp *ip, hil_node *node, const hil_model_op *op,
                                hil_msg *msg)
{
    hil_fb *fb = &ip->model.fb;
    hil_status st = hil_shape_options(op, SPLIT_OPTIONS, "SplitOptions", msg);
    if (st == HIL_OK) {
        st = hil_shape_arity(node, 2, 2, 1, UINT16_MAX, msg);
    }
    if (st != HIL_OK) {
        return st;
    }
    const hil_tensor *in = hil_shape_in(ip, node, 1);
    uint32_t axis;
    st = check_dtypes(ip, node, in, msg);
    if (st == HIL_OK) {
        st = split_axis(hil_shape_in(ip, node, 0), in, &axis, msg);
    }
    if (st == HIL_OK) {
        st = check_pieces(ip, node, in, axis, msg);
    }
    if (st != HIL_OK) {
        return st;
    }
    int32_t num = op->options_type != 0 ? hil_fb_i32(fb, &op->options, 0, 0)
                                        : (int32_t)node->n_outputs;
    if (fb->status != HIL_OK) {
        return fb->status;
    }
    if (num != (int32_t)node->n_outputs) {
        return hil_fail(msg, HIL_ERR_MODEL_INVALID, "num_splits %d, but %u outputs", num,
                        (uint32_t)node->n_outputs);
    }
    if (in->dims[axis] % num != 0) {
        return hil_fail(msg, HIL_ERR_MODEL_INVALID, "axis dim %d does not split into %d parts",
                        in->dims[axis], num);
    }
    for (uint32_t i = 0; i < node->n_outputs; i++) {
        if (hil_shape_out(ip, node, i)->dims[axis] != in->dims[axis] / num) {
            return hil_fail(msg, HIL_ERR_MODEL_INVALID, "output %u is not 1/%d of the axis", i,
                            num);
        }
    }
    scatter_plan(ip, node, in, axis, 0);
    return HIL_OK;
}

const hil_kernel hil_kernel_split = {"SPLIT", scatter_data_bytes, split_prepare, split_eval};

/* ---- SPLIT_V --------------------------------------------------------------- */

static int64_t size_split(const hil_tensor *t, uint32_t i)
{
    if (t->dtype == HIL_DT_INT64) {
        return ((const int64_t *)(const void *)t->data)[i];
    }
    return ((const int32_t *)(const void *)t->data)[i];
}

/* A constant size_splits must describe the outputs (one -1 stands for the
 * rest); TFLM does not read it, so a non-constant one is ignored. */
static hil_status check_size_splits(hil_interp *ip, const hil_node *node, const hil_tensor *t,
                                    const hil_tensor *in, uint32_t axis, hil_msg *msg)
{
    if (t->kind != HIL_TENSOR_CONST) {
        return HIL_OK;
    }
    if (t->dtype != HIL_DT_INT32 && t->dtype != HIL_DT_INT64) {
        return hil_fail(msg, HIL_ERR_MODEL_INVALID, "size_splits type %s is not an integer",
                        hil_dtype_name(t->dtype));
    }
    if (hil_tensor_elems(t) != node->n_outputs) {
        return hil_fail(msg, HIL_ERR_MODEL_INVALID, "size_splits has %u elements, %u outputs",
                        hil_tensor_elems(t), (uint32_t)node->n_outputs);
    }
    int64_t known = 0;
    uint32_t stretch = UINT32_MAX;
    for (uint32_t i = 0; i < node->n_outputs; i++) {
        int64_t s = size_split(t, i);
        if (s == -1 && stretch == UINT32_MAX) {
            stretch = i;
        } else if (s < 0) {
            return hil_fail(msg, HIL_ERR_MODEL_INVALID, "size_splits[%u] is negative", i);
        } else {
            known += s;
        }
    }
    for (uint32_t i = 0; i < node->n_outputs; i++) {
        int64_t want = i == stretch ? (int64_t)in->dims[axis] - known : size_split(t, i);
        if (want != hil_shape_out(ip, node, i)->dims[axis]) {
            return hil_fail(msg, HIL_ERR_MODEL_INVALID,
                            "size_splits does not match output %u (axis dim %d)", i,
                            hil_shape_out(ip, node, i)->dims[axis]);
        }
    }
    return HIL_OK;
}

static hil_status split_v_prepare(hil_interp *ip, hil_node *node, const hil_model_op *op,
                                  hil_msg *msg)
{
    hil_status st = hil_shape_options(op, SPLIT_V_OPTIONS, "SplitVOptions", msg);
    if (st == HIL_OK) {
        st = hil_shape_arity(node, 3, 3, 1, UINT16_MAX, msg);
    }
    if (st != HIL_OK) {
        return st;
    }
    const hil_tensor *in = hil_shape_in(ip, node, 0);
    uint32_t axis;
    st = check_dtypes(ip, node, in, msg);
    if (st == HIL_OK) {
        st = split_axis(hil_shape_in(ip, node, 2), in, &axis, msg);
    }
    if (st == HIL_OK) {
        st = check_pieces(ip, node, in, axis, msg);
    }
    if (st == HIL_OK) {
        st = check_size_splits(ip, node, hil_shape_in(ip, node, 1), in, axis, msg);
    }
    if (st == HIL_OK) {
        scatter_plan(ip, node, in, axis, 0);
    }
    return st;
}

const hil_kernel hil_kernel_split_v = {"SPLIT_V", scatter_data_bytes, split_v_prepare,
                                       scatter_eval};

/* ---- UNPACK ---------------------------------------------------------------- */

static hil_status unpack_prepare(hil_interp *ip, hil_node *node, const hil_model_op *op,
                                 hil_msg *msg)
{
    hil_fb *fb = &ip->model.fb;
    hil_status st = hil_shape_options(op, UNPACK_OPTIONS, "UnpackOptions", msg);
    if (st == HIL_OK) {
        st = hil_shape_arity(node, 1, 1, 1, UINT16_MAX, msg);
    }
    if (st != HIL_OK) {
        return st;
    }
    int32_t num = op->options_type != 0 ? hil_fb_i32(fb, &op->options, 0, 0) : 0;
    int32_t axis_opt = op->options_type != 0 ? hil_fb_i32(fb, &op->options, 1, 0) : 0;
    if (fb->status != HIL_OK) {
        return fb->status;
    }
    if (num != (int32_t)node->n_outputs) {
        return hil_fail(msg, HIL_ERR_MODEL_INVALID, "num %d, but %u outputs", num,
                        (uint32_t)node->n_outputs);
    }
    const hil_tensor *in = hil_shape_in(ip, node, 0);
    uint32_t axis;
    st = check_dtypes(ip, node, in, msg);
    if (st == HIL_OK) {
        st = hil_shape_axis(axis_opt, in->rank, "axis", &axis, msg);
    }
    if (st != HIL_OK) {
        return st;
    }
    if (in->dims[axis] != num) {
        return hil_fail(msg, HIL_ERR_MODEL_INVALID, "axis dim %d, but num %d", in->dims[axis],
                        num);
    }
    for (uint32_t i = 0; i < node->n_outputs; i++) {
        const hil_tensor *out = hil_shape_out(ip, node, i);
        int ok = (uint32_t)out->rank + 1u == in->rank;
        for (uint32_t d = 0; ok && d < out->rank; d++) {
            ok = out->dims[d] == in->dims[d < axis ? d : d + 1u];
        }
        if (!ok) {
            return hil_fail(msg, HIL_ERR_MODEL_INVALID,
                            "output %u shape is not the input's without dim %u", i, axis);
        }
    }
    scatter_plan(ip, node, in, axis, 1);
    return HIL_OK;
}

const hil_kernel hil_kernel_unpack = {"UNPACK", scatter_data_bytes, unpack_prepare,
                                      scatter_eval};
