/* SVDF, bit-exact with TFLM's reference kernel:
 *   int8 input with int8 weights_feature and a matching pair of
 *     weights_time / activation state types: int16 (the original integer
 *     SVDF) or int8 (the variant the keyword benchmark model uses);
 *   float32 throughout.
 * Inputs: x [batches, input_size], weights_feature [filters, input_size],
 * weights_time [filters, memory], bias [units] (required: TFLM's prepare
 * dereferences it for every type and crashes without one), activation
 * state [batches, memory * filters] (a variable tensor that persists across
 * invokes); output [batches, units], units = filters / rank.
 *
 * Each invoke shifts the whole state buffer left by one element, writes the
 * feature projection of the new input into the last memory slot of every
 * filter, then sums weights_time x state per filter and the filters of each
 * unit (rank of them) onto the bias.
 *
 * Facts of TFLM's int8 arithmetic reproduced here:
 *   - both rescale factors are formed in double from the float scales:
 *     in_s * wf_s / state_s and state_s * wt_s / out_s (TFLM's older
 *     kernel formed them in float; the oracle measurably does not);
 *   - the feature projection is clamped to the state type's range BEFORE the
 *     state zero point is added, and the sum is narrowed with wrap-around;
 *   - the fused activation is ignored (only the int8 range clamps the output);
 *   - the bias scale must be within 1e-5 of state_s * wt_s;
 *   - weight zero points are ignored (weights are taken as symmetric).
 * TFLM keeps per-filter and per-unit int32 scratch rows; integer sums are
 * order-free modulo 2^32 and the float ones are accumulated here in TFLM's
 * exact order, so each output is computed in one pass without scratch. */
#include <math.h>
#include <stddef.h>
#include <string.h>

#include "engine/interp.h"
#include "kernels/kernel_util.h"
#include "kernels/fixedpoint.h"
#include "kernels/quant.h"
#include "engine/kernel.h"

#define SVDF_OPTIONS_TYPE 6u /* BuiltinOptions.SVDFOptions */
enum { OPT_RANK = 0, OPT_ACTIVATION = 1 };
enum { IN_X = 0, IN_FEATURE = 1, IN_TIME = 2, IN_BIAS = 3, IN_STATE = 4, SVDF_INPUTS = 5 };
enum { KIND_FLOAT = 0, KIND_INT8_S16 = 1, KIND_INT8_S8 = 2 };
enum { ACT_SIGN_BIT = 5 }; /* TFLite ActivationFunctionType; TANH is 4 */

/* Prepared data, kept small (it lives in the arena for the model's life):
 * the sizes are re-read from the tensors at eval. */
typedef struct {
    hil_qmul feature_mul; /* input x weights_feature -> state */
    hil_qmul output_mul;  /* state x weights_time -> output */
    uint16_t rank;
    int16_t state_zp;
    int8_t input_zp;
    int8_t output_zp;
    uint8_t kind;
    int8_t act; /* float32 only */
} svdf_data;

/* Everything one eval needs, unpacked on the stack. */
typedef struct {
    uint32_t batches;
    uint32_t input_size;
    uint32_t filters;
    uint32_t units;
    uint32_t rank;
    uint32_t memory;
    int32_t act;
    int32_t input_zp;
    int32_t state_zp;
    int32_t output_zp;
    hil_fx_mul feature_mul;
    hil_fx_mul output_mul;
} svdf_run;

typedef struct {
    hil_tensor *x;
    hil_tensor *feature;
    hil_tensor *time;
    hil_tensor *bias; /* NULL when absent */
    hil_tensor *state;
    hil_tensor *out;
} svdf_tensors;

static uint32_t svdf_data_bytes(hil_model *m, const hil_model_op *op)
{
    (void)m;
    (void)op;
    return (uint32_t)sizeof(svdf_data);
}

static hil_status get_tensors(hil_interp *ip, const hil_node *node, svdf_tensors *t,
                              hil_msg *msg)
{
    if (node->n_inputs != SVDF_INPUTS || node->n_outputs != 1) {
        return hil_fail(msg, HIL_ERR_MODEL_INVALID, "expects 5 inputs and 1 output, has %u and %u",
                        (uint32_t)node->n_inputs, (uint32_t)node->n_outputs);
    }
    t->x = hil_node_input(ip, node, IN_X);
    t->feature = hil_node_input(ip, node, IN_FEATURE);
    t->time = hil_node_input(ip, node, IN_TIME);
    t->bias = hil_node_input(ip, node, IN_BIAS);
    t->state = hil_node_input(ip, node, IN_STATE);
    t->out = hil_node_output(ip, node, 0);
    if (t->x == NULL || t->feature == NULL || t->time == NULL || t->state == NULL ||
        t->out == NULL) {
        return hil_fail(msg, HIL_ERR_MODEL_INVALID,
                        "needs input, weights_feature, weights_time, state and output tensors");
    }
    return HIL_OK;
}

/* The state is written in place: it must be a variable tensor of its own,
 * and the output must not be any of the inputs (it is written while the
 * state is still being read). */
static hil_status check_aliasing(const hil_node *node, const svdf_tensors *t, hil_msg *msg)
{
    if (t->state->kind != HIL_TENSOR_VARIABLE) {
        return hil_fail(msg, HIL_ERR_MODEL_INVALID, "activation state is not a variable tensor");
    }
    for (uint32_t i = 0; i < SVDF_INPUTS; i++) {
        if (node->inputs[i] == node->outputs[0]) {
            return hil_fail(msg, HIL_ERR_UNSUPPORTED, "output is also input %u", i);
        }
        if (i != IN_STATE && node->inputs[i] == node->inputs[IN_STATE]) {
            return hil_fail(msg, HIL_ERR_UNSUPPORTED, "activation state is also input %u", i);
        }
    }
    return HIL_OK;
}

static hil_status read_options(hil_interp *ip, const hil_model_op *op, int32_t *rank,
                               int32_t *act, hil_msg *msg)
{
    if (op->options_type != SVDF_OPTIONS_TYPE) {
        return hil_fail(msg, HIL_ERR_MODEL_INVALID, "builtin options type %u is not SVDFOptions",
                        (uint32_t)op->options_type);
    }
    hil_fb *fb = &ip->model.fb;
    *rank = hil_fb_i32(fb, &op->options, OPT_RANK, 0);
    *act = hil_fb_i8(fb, &op->options, OPT_ACTIVATION, HIL_ACT_NONE);
    if (fb->status != HIL_OK) {
        return fb->status;
    }
    if (*rank <= 0) {
        return hil_fail(msg, HIL_ERR_MODEL_INVALID, "rank %d must be positive", *rank);
    }
    if (*rank > UINT16_MAX) {
        return hil_fail(msg, HIL_ERR_UNSUPPORTED, "rank %d is above 65535", *rank);
    }
    if (*act < HIL_ACT_NONE || *act > ACT_SIGN_BIT) {
        return hil_fail(msg, HIL_ERR_UNSUPPORTED, "fused activation %s is not supported",
                        hil_act_name(*act));
    }
    return HIL_OK;
}

static hil_status check_dim(const hil_tensor *t, uint32_t dim, uint32_t want, const char *what,
                            hil_msg *msg)
{
    if ((uint32_t)t->dims[dim] != want) {
        return hil_fail(msg, HIL_ERR_MODEL_INVALID, "%s dimension %u is %d, expected %u", what, dim,
                        t->dims[dim], want);
    }
    return HIL_OK;
}

/* TFLM's PrepareSvdf shape rules. */
static hil_status check_shapes(const svdf_tensors *t, int32_t rank, svdf_run *d, hil_msg *msg)
{
    if (t->x->rank != 2 || t->feature->rank != 2 || t->time->rank != 2 || t->state->rank != 2 ||
        t->out->rank != 2) {
        return hil_fail(msg, HIL_ERR_MODEL_INVALID,
                        "input, weights, state and output must all have rank 2");
    }
    d->batches = (uint32_t)t->x->dims[0];
    d->input_size = (uint32_t)t->x->dims[1];
    d->filters = (uint32_t)t->feature->dims[0];
    d->rank = (uint32_t)rank;
    d->memory = (uint32_t)t->time->dims[1];
    if (d->filters % d->rank != 0) {
        return hil_fail(msg, HIL_ERR_MODEL_INVALID, "%u filters are not a multiple of rank %u",
                        d->filters, d->rank);
    }
    d->units = d->filters / d->rank;
    hil_status st = check_dim(t->out, 0, d->batches, "output", msg);
    if (st == HIL_OK) {
        st = check_dim(t->out, 1, d->units, "output", msg);
    }
    if (st == HIL_OK) {
        st = check_dim(t->feature, 1, d->input_size, "weights_feature", msg);
    }
    if (st == HIL_OK) {
        st = check_dim(t->time, 0, d->filters, "weights_time", msg);
    }
    if (st == HIL_OK) {
        st = check_dim(t->state, 0, d->batches, "state", msg);
    }
    if (st != HIL_OK) {
        return st;
    }
    const uint64_t state_row = (uint64_t)d->memory * d->filters;
    if ((uint64_t)(uint32_t)t->state->dims[1] != state_row) {
        return hil_fail(msg, HIL_ERR_MODEL_INVALID, "state dimension 1 is %d, expected %u x %u",
                        t->state->dims[1], d->memory, d->filters);
    }
    if (t->bias != NULL &&
        (t->bias->rank < 1 || (uint32_t)t->bias->dims[0] != d->units ||
         hil_tensor_elems(t->bias) != d->units)) {
        return hil_fail(msg, HIL_ERR_MODEL_INVALID, "bias has %u elements, expected %u units",
                        hil_tensor_elems(t->bias), d->units);
    }
    if (hil_tensor_elems(t->state) == 0) {
        /* TFLM's shift loop never ends on an empty state. */
        return hil_fail(msg, HIL_ERR_UNSUPPORTED, "empty activation state is not supported");
    }
    return HIL_OK;
}

static hil_status check_float(const svdf_tensors *t, hil_msg *msg)
{
    if (t->feature->dtype != HIL_DT_FLOAT32 || t->time->dtype != HIL_DT_FLOAT32 ||
        t->state->dtype != HIL_DT_FLOAT32 || t->out->dtype != HIL_DT_FLOAT32 ||
        t->bias->dtype != HIL_DT_FLOAT32) {
        return hil_fail(msg, HIL_ERR_UNSUPPORTED,
                        "float32 input needs float32 weights, bias, state and output");
    }
    return HIL_OK;
}

/* QuantizeMultiplier(a * b / c), formed in double as TFLM forms it. */
static hil_status make_mul(float a, float b, float c, const char *what, hil_qmul *out,
                           hil_msg *msg)
{
    if (!hil_qmul_from_scales(a, b, c, 0, out)) {
        return hil_fail(msg, HIL_ERR_UNSUPPORTED, "%s rescale factor is not finite or too large",
                        what);
    }
    return HIL_OK;
}

static hil_status prepare_int8(const svdf_tensors *t, svdf_data *d, hil_msg *msg)
{
    if (t->feature->dtype != HIL_DT_INT8 || t->out->dtype != HIL_DT_INT8) {
        return hil_fail(msg, HIL_ERR_UNSUPPORTED,
                        "int8 input needs int8 weights_feature and output, has %s and %s",
                        hil_ku_type_name(t->feature->dtype), hil_ku_type_name(t->out->dtype));
    }
    const uint8_t wt = t->time->dtype;
    if ((wt != HIL_DT_INT16 && wt != HIL_DT_INT8) || t->state->dtype != wt) {
        return hil_fail(msg, HIL_ERR_UNSUPPORTED,
                        "%s weights_time with %s state is not supported (int16 or int8 pairs)",
                        hil_ku_type_name(wt), hil_ku_type_name(t->state->dtype));
    }
    d->kind = wt == HIL_DT_INT16 ? KIND_INT8_S16 : KIND_INT8_S8;
    if (t->bias->dtype != HIL_DT_INT32) {
        return hil_fail(msg, HIL_ERR_UNSUPPORTED, "%s bias is not supported (expected int32)",
                        hil_ku_type_name(t->bias->dtype));
    }
    hil_status st = hil_ku_check_quant(t->x, "input", msg);
    if (st == HIL_OK) {
        st = hil_ku_check_quant(t->state, "state", msg);
    }
    if (st == HIL_OK) {
        st = hil_ku_check_quant(t->out, "output", msg);
    }
    if (st != HIL_OK) {
        return st;
    }
    if (!t->feature->quantized || !t->time->quantized || !t->bias->quantized) {
        return hil_fail(msg, HIL_ERR_MODEL_INVALID, "weights or bias lack quantization parameters");
    }
    const double time_scale = (double)t->state->scale * (double)t->time->scale;
    if (!(fabs((double)t->bias->scale - time_scale) < 1e-5)) {
        return hil_fail(msg, HIL_ERR_MODEL_INVALID,
                        "bias scale does not match state scale x weights_time scale");
    }
    st = make_mul(t->x->scale, t->feature->scale, t->state->scale, "state", &d->feature_mul, msg);
    if (st == HIL_OK) {
        st = make_mul(t->state->scale, t->time->scale, t->out->scale, "output", &d->output_mul,
                      msg);
    }
    /* Zero points were checked to lie in their (at most int16) ranges. */
    d->input_zp = (int8_t)t->x->zero_point;
    d->state_zp = (int16_t)t->state->zero_point;
    d->output_zp = (int8_t)t->out->zero_point;
    return st;
}

static hil_status svdf_prepare(hil_interp *ip, hil_node *node, const hil_model_op *op,
                               hil_msg *msg)
{
    svdf_data *d = node->data;
    svdf_tensors t;
    svdf_run run;
    int32_t rank = 0;
    int32_t act = 0;
    hil_status st = get_tensors(ip, node, &t, msg);
    if (st == HIL_OK) {
        st = check_aliasing(node, &t, msg);
    }
    if (st == HIL_OK) {
        st = read_options(ip, op, &rank, &act, msg);
    }
    if (st == HIL_OK) {
        st = check_shapes(&t, rank, &run, msg);
    }
    if (st != HIL_OK) {
        return st;
    }
    d->rank = (uint16_t)rank;
    d->act = (int8_t)act;
    if (t.bias == NULL) {
        return hil_fail(msg, HIL_ERR_UNSUPPORTED, "a missing bias is not supported");
    }
    if (t.x->dtype == HIL_DT_FLOAT32) {
        d->kind = KIND_FLOAT;
        return check_float(&t, msg);
    }
    if (t.x->dtype != HIL_DT_INT8) {
        return hil_fail(msg, HIL_ERR_UNSUPPORTED, "%s input is not supported",
                        hil_ku_type_name(t.x->dtype));
    }
    return prepare_int8(&t, d, msg);
}

/* ---- eval ------------------------------------------------------------------ */

/* The low 8 or 16 bits of v as a signed value (TFLM's narrowing store). */
static inline int8_t wrap_i8(int32_t v)
{
    const int32_t u = v & 0xFF;
    return (int8_t)(u - ((u & 0x80) << 1));
}

static inline int16_t wrap_i16(int32_t v)
{
    const int32_t u = v & 0xFFFF;
    return (int16_t)(u - ((u & 0x8000) << 1));
}

/* Feature projection of one batch row: x . weights_feature[f], rescaled. */
static inline int32_t feature_dot(const svdf_run *d, const int8_t *x, const int8_t *w)
{
    uint32_t acc = 0;
    for (uint32_t c = 0; c < d->input_size; c++) {
        acc += (uint32_t)((int32_t)w[c] * ((int32_t)x[c] - d->input_zp));
    }
    return hil_fx_apply(hil_fx_i32(acc), &d->feature_mul);
}

static int32_t finish_int8(const svdf_run *d, uint32_t acc)
{
    const int32_t v = hil_fx_add_wrap(hil_fx_apply(hil_fx_i32(acc), &d->output_mul), d->output_zp);
    return hil_clamp_i32(v, INT8_MIN, INT8_MAX);
}

static void eval_s16(const svdf_run *d, const svdf_tensors *t)
{
    const uint32_t row = d->memory * d->filters;
    const size_t total = (size_t)d->batches * row;
    int16_t *state = (int16_t *)(void *)t->state->data;
    memmove(state, state + 1, (total - 1u) * sizeof *state);
    const int8_t *x = (const int8_t *)t->x->data;
    const int8_t *wf = (const int8_t *)t->feature->data;
    const int16_t *wt = (const int16_t *)(const void *)t->time->data;
    const int32_t *bias = (const int32_t *)(const void *)t->bias->data;
    int8_t *out = (int8_t *)t->out->data;
    for (uint32_t b = 0; b < d->batches; b++) {
        const int8_t *xb = x + (size_t)b * d->input_size;
        int16_t *sb = state + (size_t)b * row;
        for (uint32_t f = 0; f < d->filters; f++) {
            const int32_t v = hil_clamp_i32(feature_dot(d, xb, wf + (size_t)f * d->input_size),
                                            INT16_MIN, INT16_MAX);
            sb[(size_t)f * d->memory + d->memory - 1u] = wrap_i16(v + d->state_zp);
        }
        for (uint32_t u = 0; u < d->units; u++) {
            uint32_t acc = (uint32_t)bias[u];
            for (uint32_t r = 0; r < d->rank; r++) {
                const size_t f = (size_t)u * d->rank + r;
                const int16_t *w = wt + f * d->memory;
                const int16_t *s = sb + f * d->memory;
                for (uint32_t j = 0; j < d->memory; j++) {
                    /* TFLM's int32 product may overflow here; it wraps. */
                    acc += (uint32_t)(int32_t)w[j] * (uint32_t)((int32_t)s[j] - d->state_zp);
                }
            }
            out[(size_t)b * d->units + u] = (int8_t)finish_int8(d, acc);
        }
    }
}

static void eval_s8(const svdf_run *d, const svdf_tensors *t)
{
    const uint32_t row = d->memory * d->filters;
    const size_t total = (size_t)d->batches * row;
    int8_t *state = (int8_t *)t->state->data;
    memmove(state, state + 1, total - 1u);
    const int8_t *x = (const int8_t *)t->x->data;
    const int8_t *wf = (const int8_t *)t->feature->data;
    const int8_t *wt = (const int8_t *)t->time->data;
    const int32_t *bias = (const int32_t *)(const void *)t->bias->data;
    int8_t *out = (int8_t *)t->out->data;
    for (uint32_t b = 0; b < d->batches; b++) {
        const int8_t *xb = x + (size_t)b * d->input_size;
        int8_t *sb = state + (size_t)b * row;
        for (uint32_t f = 0; f < d->filters; f++) {
            const int32_t v = hil_clamp_i32(feature_dot(d, xb, wf + (size_t)f * d->input_size),
                                            INT8_MIN, INT8_MAX);
            sb[(size_t)f * d->memory + d->memory - 1u] = wrap_i8(v + d->state_zp);
        }
        for (uint32_t u = 0; u < d->units; u++) {
            uint32_t acc = (uint32_t)bias[u];
            for (uint32_t r = 0; r < d->rank; r++) {
                const size_t f = (size_t)u * d->rank + r;
                const int8_t *w = wt + f * d->memory;
                const int8_t *s = sb + f * d->memory;
                for (uint32_t j = 0; j < d->memory; j++) {
                    acc += (uint32_t)((int32_t)w[j] * ((int32_t)s[j] - d->state_zp));
                }
            }
            out[(size_t)b * d->units + u] = (int8_t)finish_int8(d, acc);
        }
    }
}

/* TFLM's ActivationValFloat (TfLiteMax/Min are fmaxf/fminf). */
static inline float activate(int32_t act, float a)
{
    switch (act) {
    case HIL_ACT_RELU:
        return fmaxf(0.0f, a);
    case HIL_ACT_RELU_N1_TO_1:
        return fmaxf(-1.0f, fminf(a, 1.0f));
    case HIL_ACT_RELU6:
        return fmaxf(0.0f, fminf(a, 6.0f));
    case 4: /* TANH */
        return tanhf(a);
    case ACT_SIGN_BIT:
        return signbit(a) ? 1.0f : 0.0f;
    default:
        return a;
    }
}

static void eval_float(const svdf_run *d, const svdf_tensors *t)
{
    const uint32_t row = d->memory * d->filters;
    const size_t total = (size_t)d->batches * row;
    float *state = (float *)(void *)t->state->data;
    memmove(state, state + 1, (total - 1u) * sizeof *state);
    const float *x = (const float *)(const void *)t->x->data;
    const float *wf = (const float *)(const void *)t->feature->data;
    const float *wt = (const float *)(const void *)t->time->data;
    const float *bias = (const float *)(const void *)t->bias->data;
    float *out = (float *)(void *)t->out->data;
    for (uint32_t b = 0; b < d->batches; b++) {
        const float *xb = x + (size_t)b * d->input_size;
        float *sb = state + (size_t)b * row;
        for (uint32_t f = 0; f < d->filters; f++) {
            const float *w = wf + (size_t)f * d->input_size;
            float dot = 0.0f;
            for (uint32_t c = 0; c < d->input_size; c++) {
                dot += w[c] * xb[c];
            }
            sb[(size_t)f * d->memory + d->memory - 1u] = dot;
        }
        for (uint32_t u = 0; u < d->units; u++) {
            float acc = bias[u];
            for (uint32_t r = 0; r < d->rank; r++) {
                const size_t f = (size_t)u * d->rank + r;
                const float *w = wt + f * d->memory;
                const float *s = sb + f * d->memory;
                float dot = 0.0f;
                for (uint32_t j = 0; j < d->memory; j++) {
                    dot += w[j] * s[j];
                }
                acc += dot;
            }
            out[(size_t)b * d->units + u] = activate(d->act, acc);
        }
    }
}

static hil_status svdf_eval(hil_interp *ip, const hil_node *node, hil_msg *msg)
{
    svdf_tensors t;
    hil_status st = get_tensors(ip, node, &t, msg);
    if (st != HIL_OK) {
        return st;
    }
    const svdf_data *d = node->data;
    svdf_run run;
    run.batches = (uint32_t)t.x->dims[0];
    run.input_size = (uint32_t)t.x->dims[1];
    run.filters = (uint32_t)t.feature->dims[0];
    run.memory = (uint32_t)t.time->dims[1];
    run.rank = (uint32_t)d->rank;
    run.units = run.filters / run.rank;
    run.act = d->act;
    run.input_zp = d->input_zp;
    run.state_zp = d->state_zp;
    run.output_zp = d->output_zp;
    run.feature_mul = hil_fx_mul_make(d->feature_mul);
    run.output_mul = hil_fx_mul_make(d->output_mul);
    switch (d->kind) {
    case KIND_INT8_S16:
        eval_s16(&run, &t);
        break;
    case KIND_INT8_S8:
        eval_s8(&run, &t);
        break;
    default:
        eval_float(&run, &t);
        break;
    }
    return HIL_OK;
}

const hil_kernel hil_kernel_svdf = {
    "SVDF",
    svdf_data_bytes,
    svdf_prepare,
    svdf_eval,
};
