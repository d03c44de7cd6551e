/* Utilities shared by the kernels; see kernel_util.h. */
#include "kernels/kernel_util.h"

#include <math.h>
#include <string.h>

#include "kernels/quant.h"

hil_status hil_ku_tensors(hil_interp *ip, const hil_node *node, uint32_t n_in, hil_tensor **in,
                          hil_tensor **out, hil_msg *msg)
{
    if (node->n_inputs != n_in || node->n_outputs != 1) {
        return hil_fail(msg, HIL_ERR_MODEL_INVALID, "expects %u input(s) and 1 output, has %u and %u",
                        n_in, (uint32_t)node->n_inputs, (uint32_t)node->n_outputs);
    }
    for (uint32_t i = 0; i < n_in; i++) {
        in[i] = hil_node_input(ip, node, i);
        if (in[i] == NULL) {
            return hil_fail(msg, HIL_ERR_MODEL_INVALID, "input %u is missing", i);
        }
    }
    *out = hil_node_output(ip, node, 0);
    if (*out == NULL) {
        return hil_fail(msg, HIL_ERR_MODEL_INVALID, "output is missing");
    }
    return HIL_OK;
}

uint8_t hil_ku_model_input_type(hil_model *m, const hil_model_op *op, uint32_t i)
{
    const int32_t index = i < op->inputs.len ? hil_model_op_tensor(m, op, 0, i) : -1;
    hil_model_tensor mt;
    if (index < 0 || hil_model_get_tensor(m, (uint32_t)index, &mt) != HIL_OK) {
        return 0xFF;
    }
    return mt.dtype;
}

const char *hil_ku_type_name(uint8_t dtype)
{
    switch (dtype) {
    case HIL_DT_FLOAT32:
        return "float32";
    case HIL_DT_FLOAT16:
        return "float16";
    case HIL_DT_INT32:
        return "int32";
    case HIL_DT_UINT8:
        return "uint8";
    case HIL_DT_INT64:
        return "int64";
    case HIL_DT_BOOL:
        return "bool";
    case HIL_DT_INT16:
        return "int16";
    case HIL_DT_INT8:
        return "int8";
    default:
        return "an unsupported type";
    }
}

hil_status hil_ku_check_quant(const hil_tensor *t, const char *what, hil_msg *msg)
{
    if (!t->quantized) {
        return hil_fail(msg, HIL_ERR_MODEL_INVALID, "%s %s tensor has no quantization parameters",
                        hil_ku_type_name(t->dtype), what);
    }
    if (!(t->scale > 0.0f) || !isfinite(t->scale)) {
        return hil_fail(msg, HIL_ERR_MODEL_INVALID, "%s scale is not positive and finite", what);
    }
    int32_t lo = INT32_MIN;
    int32_t hi = INT32_MAX;
    if (t->dtype == HIL_DT_INT8) {
        lo = INT8_MIN;
        hi = INT8_MAX;
    } else if (t->dtype == HIL_DT_INT16) {
        lo = INT16_MIN;
        hi = INT16_MAX;
    } else if (t->dtype == HIL_DT_UINT8) {
        lo = 0;
        hi = UINT8_MAX;
    }
    if (t->zero_point < lo || t->zero_point > hi) {
        return hil_fail(msg, HIL_ERR_MODEL_INVALID, "%s zero point %d is outside the %s range",
                        what, t->zero_point, hil_ku_type_name(t->dtype));
    }
    return HIL_OK;
}

hil_status hil_ku_same_elems(const hil_tensor *a, const hil_tensor *b, hil_msg *msg)
{
    if (hil_tensor_elems(a) != hil_tensor_elems(b)) {
        return hil_fail(msg, HIL_ERR_MODEL_INVALID,
                        "input has %u elements but output has %u", hil_tensor_elems(a),
                        hil_tensor_elems(b));
    }
    return HIL_OK;
}

hil_status hil_ku_options(hil_interp *ip, const hil_model_op *op, uint8_t type,
                          const char *type_name, int *present, hil_msg *msg)
{
    (void)ip;
    *present = 0;
    if (op->options_type == 0) {
        return HIL_OK;
    }
    if (op->options_type != type) {
        return hil_fail(msg, HIL_ERR_MODEL_INVALID, "builtin options type %u is not %s",
                        (uint32_t)op->options_type, type_name);
    }
    *present = 1;
    return HIL_OK;
}

float hil_ku_option_f32(hil_interp *ip, const hil_model_op *op, unsigned field, float def)
{
    uint32_t bits;
    memcpy(&bits, &def, sizeof bits);
    bits = hil_fb_u32(&ip->model.fb, &op->options, field, bits);
    float f;
    memcpy(&f, &bits, sizeof f);
    return f;
}

hil_status hil_ku_activation(hil_interp *ip, const hil_model_op *op, unsigned field,
                             int present, int32_t *act, hil_msg *msg)
{
    *act = HIL_ACT_NONE;
    if (!present) {
        return HIL_OK;
    }
    *act = hil_fb_i8(&ip->model.fb, &op->options, field, HIL_ACT_NONE);
    if (ip->model.fb.status != HIL_OK) {
        return ip->model.fb.status;
    }
    if (*act != HIL_ACT_NONE && *act != HIL_ACT_RELU && *act != HIL_ACT_RELU6 &&
        *act != HIL_ACT_RELU_N1_TO_1) {
        return hil_fail(msg, HIL_ERR_UNSUPPORTED, "fused activation %s is not supported",
                        hil_act_name(*act));
    }
    return HIL_OK;
}

/* ---- broadcasting ------------------------------------------------------------ */

enum { A_REPEATS = 1, B_REPEATS = 2 };

static uint32_t dim_of(const hil_tensor *t, uint32_t rank, uint32_t i)
{
    /* i counts dimensions of the rank-`rank` output, right aligned */
    const uint32_t skip = rank - t->rank;
    return i < skip ? 1u : (uint32_t)t->dims[i - skip];
}

hil_status hil_bcast_plan(const hil_tensor *a, const hil_tensor *b, const hil_tensor *out,
                          uint32_t max_rank, hil_bcast *plan, hil_msg *msg)
{
    memset(plan, 0, sizeof *plan);
    const uint32_t rank = a->rank > b->rank ? a->rank : b->rank;
    if (rank > max_rank || out->rank > max_rank) {
        return hil_fail(msg, HIL_ERR_UNSUPPORTED, "rank %u is above the supported %u",
                        rank > out->rank ? rank : (uint32_t)out->rank, max_rank);
    }
    if (out->rank != rank) {
        return hil_fail(msg, HIL_ERR_MODEL_INVALID, "output rank %u, expected %u",
                        (uint32_t)out->rank, rank);
    }
    /* Groups of fused dimensions, innermost first: extent, pattern, strides. */
    uint32_t extent[HIL_MAX_RANK];
    uint32_t sa[HIL_MAX_RANK];
    uint32_t sb[HIL_MAX_RANK];
    uint8_t pattern[HIL_MAX_RANK];
    uint32_t groups = 0;
    uint32_t acc_a = 1;
    uint32_t acc_b = 1;
    plan->total = hil_tensor_elems(out);
    for (uint32_t k = rank; k-- > 0;) {
        const uint32_t da = dim_of(a, rank, k);
        const uint32_t db = dim_of(b, rank, k);
        const uint32_t dout = (uint32_t)out->dims[k];
        const uint32_t want = da == 1 ? db : da;
        if ((da != db && da != 1 && db != 1) || dout != want) {
            return hil_fail(msg, HIL_ERR_MODEL_INVALID,
                            "shapes do not broadcast: dimension %u is %u and %u, output %u", k,
                            da, db, dout);
        }
        if (dout <= 1) {
            continue; /* size 1 adds nothing; size 0 empties the output */
        }
        const uint8_t p = (uint8_t)((da == 1 ? A_REPEATS : 0) | (db == 1 ? B_REPEATS : 0));
        if (groups > 0 && pattern[groups - 1] == p) {
            extent[groups - 1] *= dout;
        } else {
            pattern[groups] = p;
            extent[groups] = dout;
            sa[groups] = (p & A_REPEATS) ? 0 : acc_a;
            sb[groups] = (p & B_REPEATS) ? 0 : acc_b;
            groups++;
        }
        acc_a *= da;
        acc_b *= db;
    }
    if (plan->total == 0) {
        return HIL_OK;
    }
    if (groups == 0) { /* one element */
        plan->inner = 1;
        plan->a_step = 1;
        plan->b_step = 1;
        return HIL_OK;
    }
    plan->inner = extent[0];
    plan->a_step = (pattern[0] & A_REPEATS) ? 0 : 1;
    plan->b_step = (pattern[0] & B_REPEATS) ? 0 : 1;
    plan->n_outer = (uint8_t)(groups - 1);
    for (uint32_t g = 1; g < groups; g++) {
        plan->count[g - 1] = extent[g];
        plan->a_stride[g - 1] = sa[g];
        plan->b_stride[g - 1] = sb[g];
    }
    return HIL_OK;
}

void hil_bcast_run(const hil_bcast *plan, const void *params, const void *a, uint32_t a_size,
                   const void *b, uint32_t b_size, void *out, uint32_t out_size,
                   hil_bcast_row row)
{
    if (plan->total == 0) {
        return;
    }
    const uint8_t *pa = a;
    const uint8_t *pb = b;
    uint8_t *po = out;
    uint32_t idx[HIL_BCAST_OUTER] = {0};
    const uint32_t row_bytes = plan->inner * out_size;
    for (;;) {
        row(params, pa, plan->a_step, pb, plan->b_step, po, plan->inner);
        po += row_bytes;
        uint32_t d = 0;
        for (; d < plan->n_outer; d++) {
            if (++idx[d] < plan->count[d]) {
                pa += (size_t)plan->a_stride[d] * a_size;
                pb += (size_t)plan->b_stride[d] * b_size;
                break;
            }
            idx[d] = 0;
            pa -= (size_t)plan->a_stride[d] * (plan->count[d] - 1u) * a_size;
            pb -= (size_t)plan->b_stride[d] * (plan->count[d] - 1u) * b_size;
        }
        if (d == plan->n_outer) {
            return;
        }
    }
}

void hil_lut8_run(const int8_t *lut, const int8_t *in, int8_t *out, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++) {
        out[i] = lut[(uint8_t)in[i]];
    }
}

hil_status hil_ku_binary_prepare(hil_interp *ip, const hil_node *node, const hil_model_op *op,
                                 uint8_t options_type, const char *options_name,
                                 unsigned act_field, hil_tensor **in, hil_tensor **out,
                                 int32_t *act, hil_bcast *plan, hil_msg *msg)
{
    int present;
    hil_status st = hil_ku_tensors(ip, node, 2, in, out, msg);
    if (st == HIL_OK) {
        st = hil_ku_options(ip, op, options_type, options_name, &present, msg);
    }
    if (st == HIL_OK) {
        st = hil_ku_activation(ip, op, act_field, present, act, msg);
    }
    if (st != HIL_OK) {
        return st;
    }
    const uint8_t t = (*out)->dtype;
    if (in[0]->dtype != t || in[1]->dtype != t) {
        return hil_fail(msg, HIL_ERR_UNSUPPORTED,
                        "%s and %s inputs with %s output are not supported (types must match)",
                        hil_ku_type_name(in[0]->dtype), hil_ku_type_name(in[1]->dtype),
                        hil_ku_type_name(t));
    }
    if (t != HIL_DT_INT8 && t != HIL_DT_INT16 && t != HIL_DT_FLOAT32 && t != HIL_DT_INT32) {
        return hil_fail(msg, HIL_ERR_UNSUPPORTED, "%s tensors are not supported",
                        hil_ku_type_name(t));
    }
    return hil_bcast_plan(in[0], in[1], *out, HIL_MAX_RANK, plan, msg);
}

hil_status hil_ku_check_binary_quant(hil_tensor *const in[2], const hil_tensor *out,
                                     hil_msg *msg)
{
    hil_status st = hil_ku_check_quant(in[0], "input 1", msg);
    if (st == HIL_OK) {
        st = hil_ku_check_quant(in[1], "input 2", msg);
    }
    if (st == HIL_OK) {
        st = hil_ku_check_quant(out, "output", msg);
    }
    return st;
}
