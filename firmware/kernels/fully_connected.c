/* FULLY_CONNECTED, bit-exact with TFLM's reference kernels:
 *   int8:    per-tensor or per-channel filter scales, optional int32 bias;
 *   float32: same summation order as reference_ops::FullyConnected (build
 *            with -ffp-contract=off so no multiply-add is fused).
 * Output [batches, depth] = input [batches, accum] x filter[depth, accum]^T. */
#include <math.h>
#include <stddef.h>

#include "engine/interp.h"
#include "kernels/quant.h"
#include "kernels/registry.h"

#define FC_OPTIONS_TYPE 8u /* BuiltinOptions.FullyConnectedOptions */
enum { OPT_ACTIVATION = 0, OPT_WEIGHTS_FORMAT = 1 };
enum { IN_INPUT = 0, IN_FILTER = 1, IN_BIAS = 2 };

typedef struct {
    uint32_t batches;
    uint32_t depth;
    uint32_t accum;
    int32_t input_offset;
    int32_t filter_offset;
    int32_t output_offset;
    int32_t act_min;
    int32_t act_max;
    float f_min;
    float f_max;
    hil_qmul mul;
    const hil_qmul *channel_mul; /* per-channel multipliers, or NULL */
} fc_data;

typedef struct {
    hil_tensor *in;
    hil_tensor *filter;
    hil_tensor *bias; /* NULL when absent */
    hil_tensor *out;
} fc_tensors;

static uint32_t filter_channels(hil_model *m, const hil_model_op *op)
{
    if (op->inputs.len <= IN_FILTER) {
        return 0;
    }
    int32_t index = hil_model_op_tensor(m, op, 0, IN_FILTER);
    hil_model_tensor mt;
    if (index < 0 || hil_model_get_tensor(m, (uint32_t)index, &mt) != HIL_OK || mt.channels < 2) {
        return 0;
    }
    return mt.channels;
}

static uint32_t fc_data_bytes(hil_model *m, const hil_model_op *op)
{
    uint32_t channels = filter_channels(m, op);
    if (channels > (UINT32_MAX - sizeof(fc_data)) / sizeof(hil_qmul)) {
        return UINT32_MAX; /* cannot fit any arena; load will say so */
    }
    return (uint32_t)(sizeof(fc_data) + channels * sizeof(hil_qmul));
}

static hil_status get_tensors(hil_interp *ip, const hil_node *node, fc_tensors *t, hil_msg *msg)
{
    t->in = hil_node_input(ip, node, IN_INPUT);
    t->filter = hil_node_input(ip, node, IN_FILTER);
    t->bias = hil_node_input(ip, node, IN_BIAS);
    t->out = hil_node_output(ip, node, 0);
    if (t->in == NULL || t->filter == NULL || t->out == NULL) {
        return hil_fail(msg, HIL_ERR_MODEL_INVALID, "needs input, filter and output tensors");
    }
    return HIL_OK;
}

static hil_status check_types(const fc_tensors *t, hil_msg *msg)
{
    const uint8_t in = t->in->dtype;
    if (in != t->out->dtype) {
        return hil_fail(msg, HIL_ERR_UNSUPPORTED, "input type %d differs from output type %d",
                        (int32_t)in, (int32_t)t->out->dtype);
    }
    if (in == HIL_DT_INT16) {
        return hil_fail(msg, HIL_ERR_UNSUPPORTED, "int16 activations are not supported");
    }
    if (in != HIL_DT_INT8 && in != HIL_DT_FLOAT32) {
        return hil_fail(msg, HIL_ERR_UNSUPPORTED, "input type %d is not supported", (int32_t)in);
    }
    if (t->filter->dtype != in) {
        return hil_fail(msg, HIL_ERR_UNSUPPORTED,
                        "%s input with filter type %d is not supported (hybrid or packed)",
                        in == HIL_DT_INT8 ? "int8" : "float32", (int32_t)t->filter->dtype);
    }
    const uint8_t bias = in == HIL_DT_INT8 ? HIL_DT_INT32 : HIL_DT_FLOAT32;
    if (t->bias != NULL && t->bias->dtype != bias) {
        return hil_fail(msg, HIL_ERR_UNSUPPORTED, "bias type %d is not supported (expected %d)",
                        (int32_t)t->bias->dtype, (int32_t)bias);
    }
    return HIL_OK;
}

/* TFLM's shape rules: depth = last output dim = filter rows, batches = the
 * other output dims, accum = filter columns; everything must agree in size,
 * since the loops index the buffers with these numbers. */
static hil_status check_shapes(const fc_tensors *t, fc_data *d, hil_msg *msg)
{
    if (t->filter->rank != 2) {
        return hil_fail(msg, HIL_ERR_UNSUPPORTED, "filter rank %u, expected 2",
                        (uint32_t)t->filter->rank);
    }
    if (t->out->rank < 1) {
        return hil_fail(msg, HIL_ERR_MODEL_INVALID, "output is a scalar");
    }
    d->depth = (uint32_t)t->out->dims[t->out->rank - 1];
    d->accum = (uint32_t)t->filter->dims[1];
    uint64_t batches = 1;
    for (uint32_t i = 0; i + 1u < t->out->rank; i++) {
        batches *= (uint32_t)t->out->dims[i];
        if (batches > UINT32_MAX) { /* only an empty output gets here */
            return hil_fail(msg, HIL_ERR_UNSUPPORTED, "output has too many batches");
        }
    }
    d->batches = (uint32_t)batches;
    if ((uint32_t)t->filter->dims[0] != d->depth) {
        return hil_fail(msg, HIL_ERR_MODEL_INVALID, "filter has %d rows, output depth is %u",
                        t->filter->dims[0], d->depth);
    }
    if ((uint64_t)hil_tensor_elems(t->in) != (uint64_t)d->batches * d->accum) {
        return hil_fail(msg, HIL_ERR_MODEL_INVALID,
                        "input has %u elements, expected %u batches x %u", hil_tensor_elems(t->in),
                        d->batches, d->accum);
    }
    if (t->bias != NULL && hil_tensor_elems(t->bias) != d->depth) {
        return hil_fail(msg, HIL_ERR_MODEL_INVALID, "bias has %u elements, output depth is %u",
                        hil_tensor_elems(t->bias), d->depth);
    }
    return HIL_OK;
}

static int multiplier_ok(double m)
{
    return m >= 0.0 && isfinite(m) && hil_qmul_in_range(hil_quantize_multiplier(m));
}

static int int8_zero_point(const hil_tensor *t)
{
    return t->zero_point >= -128 && t->zero_point <= 127;
}

/* Per-channel: one multiplier per output row; TFLM ignores the filter zero
 * point here (weights are symmetric by the quantization spec). */
static hil_status prepare_per_channel(hil_interp *ip, const hil_node *node, const fc_tensors *t,
                                      fc_data *d, hil_msg *msg)
{
    hil_model_tensor mt;
    if (hil_model_get_tensor(&ip->model, (uint32_t)node->inputs[IN_FILTER], &mt) != HIL_OK) {
        return ip->model.fb.status;
    }
    if (mt.quantized_dimension != 0) {
        return hil_fail(msg, HIL_ERR_UNSUPPORTED,
                        "per-channel filter quantized along dimension %d (expected 0)",
                        mt.quantized_dimension);
    }
    hil_qmul *mul = (hil_qmul *)(d + 1);
    for (uint32_t c = 0; c < mt.channels; c++) {
        float fs = hil_model_tensor_scale(&ip->model, &mt, c);
        double m = hil_effective_scale(t->in->scale, fs, t->out->scale);
        if (!multiplier_ok(m)) {
            return hil_fail(msg, HIL_ERR_UNSUPPORTED,
                            "channel %u: output multiplier is negative, not finite or too large",
                            c);
        }
        mul[c] = hil_quantize_multiplier(m);
    }
    d->channel_mul = mul;
    d->filter_offset = 0;
    return HIL_OK;
}

/* Per-tensor: one multiplier, plus TFLM's bias-scale sanity check. */
static hil_status prepare_per_tensor(const fc_tensors *t, fc_data *d, hil_msg *msg)
{
    if (t->bias != NULL &&
        !hil_bias_scale_ok(t->in->scale, t->filter->scale, t->bias->scale, t->out->scale)) {
        return hil_fail(msg, HIL_ERR_MODEL_INVALID,
                        "bias scale does not match input scale x filter scale");
    }
    double m = hil_effective_scale(t->in->scale, t->filter->scale, t->out->scale);
    if (!multiplier_ok(m)) {
        return hil_fail(msg, HIL_ERR_UNSUPPORTED,
                        "output multiplier is negative, not finite or too large");
    }
    d->mul = hil_quantize_multiplier(m);
    return HIL_OK;
}

static hil_status prepare_int8(hil_interp *ip, const hil_node *node, const hil_model_op *op,
                               const fc_tensors *t, fc_data *d, int32_t act, hil_msg *msg)
{
    if (!t->in->quantized || !t->filter->quantized || !t->out->quantized) {
        return hil_fail(msg, HIL_ERR_MODEL_INVALID, "int8 tensors lack quantization parameters");
    }
    if (!(t->in->scale > 0.0f) || !(t->out->scale > 0.0f)) {
        return hil_fail(msg, HIL_ERR_MODEL_INVALID, "input and output scales must be positive");
    }
    if (!int8_zero_point(t->in) || !int8_zero_point(t->out) || !int8_zero_point(t->filter)) {
        return hil_fail(msg, HIL_ERR_MODEL_INVALID, "int8 zero point outside [-128, 127]");
    }
    d->input_offset = -t->in->zero_point;
    d->filter_offset = -t->filter->zero_point;
    d->output_offset = t->out->zero_point;
    /* Same test as fc_data_bytes, so the channel table has its room. */
    hil_status st = filter_channels(&ip->model, op) > 1 ? prepare_per_channel(ip, node, t, d, msg)
                                                        : prepare_per_tensor(t, d, msg);
    if (st != HIL_OK) {
        return st;
    }
    return hil_act_range_quantized(act, t->out->scale, t->out->zero_point, INT8_MIN, INT8_MAX,
                                   &d->act_min, &d->act_max, msg);
}

/* Options: fused activation and weights format. keep_num_dims only shapes
 * the output tensor, which the model already states. */
static hil_status read_options(hil_interp *ip, const hil_model_op *op, int32_t *act,
                               hil_msg *msg)
{
    *act = HIL_ACT_NONE;
    if (op->options_type == 0) {
        return HIL_OK; /* absent options mean the defaults, as in TFLM */
    }
    if (op->options_type != FC_OPTIONS_TYPE) {
        return hil_fail(msg, HIL_ERR_MODEL_INVALID,
                        "builtin options type %u is not FullyConnectedOptions",
                        (uint32_t)op->options_type);
    }
    hil_fb *fb = &ip->model.fb;
    *act = hil_fb_i8(fb, &op->options, OPT_ACTIVATION, HIL_ACT_NONE);
    int32_t format = hil_fb_i8(fb, &op->options, OPT_WEIGHTS_FORMAT, 0);
    if (fb->status != HIL_OK) {
        return fb->status;
    }
    if (format != 0) {
        return hil_fail(msg, HIL_ERR_UNSUPPORTED, "shuffled weights (format %d) are not supported",
                        format);
    }
    if (*act != HIL_ACT_NONE && *act != HIL_ACT_RELU && *act != HIL_ACT_RELU6 &&
        *act != HIL_ACT_RELU_N1_TO_1) {
        return hil_fail(msg, HIL_ERR_UNSUPPORTED, "fused activation %s is not supported",
                        hil_act_name(*act));
    }
    return HIL_OK;
}

static hil_status fc_prepare(hil_interp *ip, hil_node *node, const hil_model_op *op,
                             hil_msg *msg)
{
    fc_data *d = node->data;
    fc_tensors t;
    int32_t act;
    hil_status st = get_tensors(ip, node, &t, msg);
    if (st == HIL_OK) {
        st = read_options(ip, op, &act, msg);
    }
    if (st == HIL_OK) {
        st = check_types(&t, msg);
    }
    if (st == HIL_OK) {
        st = check_shapes(&t, d, msg);
    }
    if (st != HIL_OK) {
        return st;
    }
    if (t.in->dtype == HIL_DT_FLOAT32) {
        hil_act_range_float(act, &d->f_min, &d->f_max);
        return HIL_OK;
    }
    return prepare_int8(ip, node, op, &t, d, act, msg);
}

static void eval_int8(const fc_data *d, const fc_tensors *t)
{
    const int8_t *x = (const int8_t *)t->in->data;
    const int8_t *w = (const int8_t *)t->filter->data;
    const int32_t *bias = t->bias != NULL ? (const int32_t *)(const void *)t->bias->data : NULL;
    int8_t *y = (int8_t *)t->out->data;
    for (uint32_t b = 0; b < d->batches; b++) {
        const int8_t *xb = x + (size_t)b * d->accum;
        for (uint32_t o = 0; o < d->depth; o++) {
            const int8_t *wo = w + (size_t)o * d->accum;
            int32_t acc = 0;
            for (uint32_t k = 0; k < d->accum; k++) {
                acc = hil_wrap_add(acc, (wo[k] + d->filter_offset) * (xb[k] + d->input_offset));
            }
            if (bias != NULL) {
                acc = hil_wrap_add(acc, bias[o]);
            }
            acc = hil_mul_by_qmul(acc, d->channel_mul != NULL ? d->channel_mul[o] : d->mul);
            acc = hil_wrap_add(acc, d->output_offset);
            y[(size_t)b * d->depth + o] = (int8_t)hil_clamp_i32(acc, d->act_min, d->act_max);
        }
    }
}

static void eval_float(const fc_data *d, const fc_tensors *t)
{
    const float *x = (const float *)(const void *)t->in->data;
    const float *w = (const float *)(const void *)t->filter->data;
    const float *bias = t->bias != NULL ? (const float *)(const void *)t->bias->data : NULL;
    float *y = (float *)(void *)t->out->data;
    for (uint32_t b = 0; b < d->batches; b++) {
        const float *xb = x + (size_t)b * d->accum;
        for (uint32_t o = 0; o < d->depth; o++) {
            const float *wo = w + (size_t)o * d->accum;
            float total = 0.0f;
            for (uint32_t k = 0; k < d->accum; k++) {
                total += xb[k] * wo[k];
            }
            /* TFLM adds 0.0f when there is no bias; so does this. */
            const float bias_value = bias != NULL ? bias[o] : 0.0f;
            y[(size_t)b * d->depth + o] = hil_clamp_float(total + bias_value, d->f_min, d->f_max);
        }
    }
}

static hil_status fc_eval(hil_interp *ip, const hil_node *node, hil_msg *msg)
{
    fc_tensors t;
    hil_status st = get_tensors(ip, node, &t, msg);
    if (st != HIL_OK) {
        return st;
    }
    const fc_data *d = node->data;
    if (d->depth == 0) {
        return HIL_OK; /* empty output: nothing to compute */
    }
    if (t.in->dtype == HIL_DT_FLOAT32) {
        eval_float(node->data, &t);
    } else {
        eval_int8(node->data, &t);
    }
    return HIL_OK;
}

const hil_kernel hil_kernel_fully_connected = {
    "FULLY_CONNECTED",
    fc_data_bytes,
    fc_prepare,
    fc_eval,
};
