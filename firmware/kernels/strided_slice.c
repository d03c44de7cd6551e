/* STRIDED_SLICE and TRANSPOSE: both read the input along a precomputed
 * strided walk (shape_common.h) and write the output sequentially.
 *
 * STRIDED_SLICE, TFLM rules (tflite-micro strided_slice_common.cc and its
 * reference kernel):
 *   - float32, int8, int16, int32 and bool; rank at most 4.
 *   - begin, end and strides: constant int32 tensors, one value per dim.
 *   - per dim: a negative begin/end counts from the end; begin is clamped to
 *     [0, size] (stride > 0) or [-1, size - 1] (stride < 0), and end the same
 *     way; begin_mask / end_mask bits replace them with the full range; a zero
 *     stride is refused. shrink_axis_mask takes one element at begin and
 *     drops the dim.
 *   - TFLM ignores ellipsis_mask, new_axis_mask and offset (it zeroes them)
 *     and so computes something other than the model means; hil refuses
 *     them. It also refuses a shrunk dim whose begin falls outside the dim or
 *     whose stride is negative: TFLM's prepare accepts those but its eval then
 *     writes nothing, leaving the output uninitialised.
 * TRANSPOSE, TFLM rules (transpose.cc / transpose_common.cc): float32, int8
 * and int16; rank at most 5; perm a constant 1-D int32 tensor, one value per
 * dim in [0, rank). hil also requires perm to be a permutation and the
 * output shape to be the permuted input shape (TFLM checks neither). */
#include "engine/interp.h"
#include "engine/kernel.h"
#include "kernels/shape_common.h"

#define STRIDED_SLICE_OPTIONS 32u /* BuiltinOptions.StridedSliceOptions */
#define TRANSPOSE_OPTIONS 26u     /* BuiltinOptions.TransposeOptions */
#define SLICE_MAX_RANK 4u
#define TRANSPOSE_MAX_RANK 5u
#define SLICE_DTYPES (HIL_DTYPES_F32_I8_I16_I32 | HIL_DTYPE_BIT(HIL_DT_BOOL))

enum { OPT_BEGIN_MASK, OPT_END_MASK, OPT_ELLIPSIS_MASK, OPT_NEW_AXIS_MASK, OPT_SHRINK_MASK, OPT_OFFSET };

typedef struct {
    int32_t begin_mask;
    int32_t end_mask;
    int32_t shrink_mask;
} slice_masks;

static uint32_t walk_data_bytes(hil_model *m, const hil_model_op *op)
{
    (void)m;
    (void)op;
    return sizeof(hil_walk);
}

static hil_status walk_eval(hil_interp *ip, const hil_node *node, hil_msg *msg)
{
    (void)msg;
    hil_walk_run(node->data, hil_shape_in(ip, node, 0)->data, hil_shape_out(ip, node, 0)->data);
    return HIL_OK;
}

/* Element strides of a non-empty tensor. */
static void elem_strides(const hil_tensor *t, int32_t *stride)
{
    for (uint32_t d = 0; d < t->rank; d++) {
        stride[d] = (int32_t)hil_shape_prod(t->dims, d + 1u, t->rank);
    }
}

/* ---- STRIDED_SLICE --------------------------------------------------------- */

static hil_status slice_options(hil_interp *ip, const hil_model_op *op, slice_masks *m,
                                hil_msg *msg)
{
    hil_fb *fb = &ip->model.fb;
    m->begin_mask = m->end_mask = m->shrink_mask = 0;
    hil_status st = hil_shape_options(op, STRIDED_SLICE_OPTIONS, "StridedSliceOptions", msg);
    if (st != HIL_OK || op->options_type == 0) {
        return st;
    }
    const hil_fb_table *t = &op->options;
    m->begin_mask = hil_fb_i32(fb, t, OPT_BEGIN_MASK, 0);
    m->end_mask = hil_fb_i32(fb, t, OPT_END_MASK, 0);
    m->shrink_mask = hil_fb_i32(fb, t, OPT_SHRINK_MASK, 0);
    int32_t ellipsis = hil_fb_i32(fb, t, OPT_ELLIPSIS_MASK, 0);
    int32_t new_axis = hil_fb_i32(fb, t, OPT_NEW_AXIS_MASK, 0);
    uint8_t offset = hil_fb_u8(fb, t, OPT_OFFSET, 0);
    if (fb->status != HIL_OK) {
        return fb->status;
    }
    if (ellipsis != 0 || new_axis != 0) {
        return hil_fail(msg, HIL_ERR_UNSUPPORTED,
                        "ellipsis_mask/new_axis_mask are not supported (TFLM ignores them)");
    }
    if (offset != 0) {
        return hil_fail(msg, HIL_ERR_UNSUPPORTED, "offset is not supported (TFLM ignores it)");
    }
    return HIL_OK;
}

static int32_t clamp_index(int32_t v, int32_t size, int32_t stride)
{
    const int32_t lo = stride > 0 ? 0 : -1;
    const int32_t hi = stride > 0 ? size : size - 1;
    return v < lo ? lo : v > hi ? hi : v;
}

/* First index read on a dim, exactly as TFLM's eval computes it. */
static int32_t slice_start(int32_t begin, int32_t size, int32_t stride, int masked)
{
    if (masked) {
        return stride > 0 ? 0 : size - 1;
    }
    return clamp_index(begin < 0 ? begin + size : begin, size, stride); /* size >= 0 */
}

static int32_t slice_stop(int32_t end, int32_t size, int32_t stride, int masked)
{
    if (masked) {
        return stride > 0 ? size : -1;
    }
    return clamp_index(end < 0 ? end + size : end, size, stride);
}

/* Elements the loop `for (i = start; stride > 0 ? i < stop : i > stop; i += stride)`
 * visits. */
static int32_t slice_count(int32_t start, int32_t stop, int32_t stride)
{
    const int64_t span = stride > 0 ? (int64_t)stop - start : (int64_t)start - stop;
    const int64_t step = stride > 0 ? (int64_t)stride : -(int64_t)stride;
    return span <= 0 ? 0 : (int32_t)((span + step - 1) / step);
}

typedef struct {
    const int32_t *begin;
    const int32_t *end;
    const int32_t *stride;
} slice_args;

static hil_status slice_plan(const hil_tensor *in, const hil_tensor *out, const slice_args *a,
                             const slice_masks *m, hil_walk *w, hil_msg *msg)
{
    int32_t count[SLICE_MAX_RANK];
    int32_t start[SLICE_MAX_RANK];
    uint32_t o = 0;
    for (uint32_t d = 0; d < in->rank; d++) {
        const int32_t size = in->dims[d];
        const int32_t stride = a->stride[d];
        const int bit = (int)(1u << d);
        if (stride == 0) {
            return hil_fail(msg, HIL_ERR_MODEL_INVALID, "stride of dim %u is 0", d);
        }
        start[d] = slice_start(a->begin[d], size, stride, (m->begin_mask & bit) != 0);
        if ((m->shrink_mask & bit) != 0) {
            if (stride < 0 || start[d] < 0 || start[d] >= size) {
                return hil_fail(msg, HIL_ERR_UNSUPPORTED,
                                "shrunk dim %u: begin %d (stride %d) is not an element of a dim "
                                "of size %d",
                                d, a->begin[d], stride, size);
            }
            count[d] = 1;
            continue;
        }
        const int32_t stop = slice_stop(a->end[d], size, stride, (m->end_mask & bit) != 0);
        count[d] = slice_count(start[d], stop, stride);
        if (o >= out->rank || out->dims[o] != count[d]) {
            return hil_fail(msg, HIL_ERR_MODEL_INVALID,
                            "dim %u slices to %d elements; the output shape differs", d,
                            count[d]);
        }
        o++;
    }
    if (o != out->rank) {
        return hil_fail(msg, HIL_ERR_MODEL_INVALID, "output rank %u, the slice has rank %u",
                        (uint32_t)out->rank, o);
    }
    if (hil_tensor_elems(out) == 0) {
        w->rank = 0; /* nothing to copy (a zero count: the input may be empty too) */
        return HIL_OK;
    }
    int32_t in_stride[SLICE_MAX_RANK];
    int32_t step[SLICE_MAX_RANK];
    int32_t base = 0;
    elem_strides(in, in_stride);
    for (uint32_t d = 0; d < in->rank; d++) {
        /* Every count is >= 1 here, so start is an index of the dim; with
         * count >= 2 the stride is shorter than the dim. Both products stay
         * inside the input. */
        step[d] = count[d] < 2 ? 0 : a->stride[d] * in_stride[d];
        base += start[d] * in_stride[d];
    }
    hil_walk_init(w, in->rank, count, step, base, hil_shape_elem_bytes(in));
    return HIL_OK;
}

static hil_status slice_prepare(hil_interp *ip, hil_node *node, const hil_model_op *op,
                                hil_msg *msg)
{
    slice_masks m;
    slice_args a = {NULL, NULL, NULL};
    hil_status st = slice_options(ip, op, &m, msg);
    if (st == HIL_OK) {
        st = hil_shape_arity(node, 4, 4, 1, 1, msg);
    }
    if (st != HIL_OK) {
        return st;
    }
    const hil_tensor *in = hil_shape_in(ip, node, 0);
    const hil_tensor *out = hil_shape_out(ip, node, 0);
    st = hil_shape_dtype(in, SLICE_DTYPES, "input", msg);
    if (st == HIL_OK) {
        st = hil_shape_same_dtype(out, in, "output", msg);
    }
    if (st == HIL_OK) {
        st = hil_shape_max_rank(in, SLICE_MAX_RANK, msg);
    }
    if (st == HIL_OK) {
        st = hil_shape_const_i32(hil_shape_in(ip, node, 1), in->rank, "begin", &a.begin, msg);
    }
    if (st == HIL_OK) {
        st = hil_shape_const_i32(hil_shape_in(ip, node, 2), in->rank, "end", &a.end, msg);
    }
    if (st == HIL_OK) {
        st = hil_shape_const_i32(hil_shape_in(ip, node, 3), in->rank, "strides", &a.stride, msg);
    }
    return st == HIL_OK ? slice_plan(in, out, &a, &m, node->data, msg) : st;
}

const hil_kernel hil_kernel_strided_slice = {"STRIDED_SLICE", walk_data_bytes, slice_prepare,
                                             walk_eval};

/* ---- TRANSPOSE ------------------------------------------------------------- */

static hil_status transpose_prepare(hil_interp *ip, hil_node *node, const hil_model_op *op,
                                    hil_msg *msg)
{
    hil_status st = hil_shape_options(op, TRANSPOSE_OPTIONS, "TransposeOptions", msg);
    if (st == HIL_OK) {
        st = hil_shape_arity(node, 2, 2, 1, 1, msg);
    }
    if (st != HIL_OK) {
        return st;
    }
    const hil_tensor *in = hil_shape_in(ip, node, 0);
    const hil_tensor *perm_t = hil_shape_in(ip, node, 1);
    const hil_tensor *out = hil_shape_out(ip, node, 0);
    const int32_t *perm = NULL;
    st = hil_shape_dtype(in, HIL_DTYPES_F32_I8_I16, "input", msg);
    if (st == HIL_OK) {
        st = hil_shape_same_dtype(out, in, "output", msg);
    }
    if (st == HIL_OK) {
        st = hil_shape_max_rank(in, TRANSPOSE_MAX_RANK, msg);
    }
    if (st == HIL_OK && perm_t->rank != 1) {
        st = hil_fail(msg, HIL_ERR_MODEL_INVALID, "perm has rank %u, expected 1",
                      (uint32_t)perm_t->rank);
    }
    if (st == HIL_OK) {
        st = hil_shape_const_i32(perm_t, in->rank, "perm", &perm, msg);
    }
    if (st != HIL_OK) {
        return st;
    }
    uint32_t seen = 0;
    for (uint32_t k = 0; k < in->rank; k++) {
        if (perm[k] < 0 || perm[k] >= (int32_t)in->rank || (seen & (1u << perm[k])) != 0) {
            return hil_fail(msg, HIL_ERR_MODEL_INVALID, "perm is not a permutation of 0..%u",
                            (uint32_t)in->rank - 1u);
        }
        seen |= 1u << perm[k];
    }
    if (out->rank != in->rank) {
        return hil_fail(msg, HIL_ERR_MODEL_INVALID, "output rank %u differs from input rank %u",
                        (uint32_t)out->rank, (uint32_t)in->rank);
    }
    for (uint32_t k = 0; k < in->rank; k++) {
        if (out->dims[k] != in->dims[perm[k]]) {
            return hil_fail(msg, HIL_ERR_MODEL_INVALID,
                            "output dim %u is %d, input dim %d is %d", k, out->dims[k], perm[k],
                            in->dims[perm[k]]);
        }
    }
    hil_walk *w = node->data;
    if (hil_tensor_elems(in) == 0) {
        w->rank = 0;
        return HIL_OK;
    }
    int32_t in_stride[HIL_MAX_RANK];
    int32_t count[HIL_MAX_RANK];
    int32_t step[HIL_MAX_RANK];
    elem_strides(in, in_stride);
    for (uint32_t k = 0; k < in->rank; k++) {
        count[k] = out->dims[k];
        step[k] = in_stride[perm[k]];
    }
    hil_walk_init(w, in->rank, count, step, 0, hil_shape_elem_bytes(in));
    return HIL_OK;
}

const hil_kernel hil_kernel_transpose = {"TRANSPOSE", walk_data_bytes, transpose_prepare,
                                         walk_eval};
