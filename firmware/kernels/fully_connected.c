/* FULLY_CONNECTED, bit-exact with TFLM's reference kernels:
 *   int8:    per-tensor or per-channel filter scales, optional int32 bias;
 *   float32: same summation order as reference_ops::FullyConnected (build
 *            with -ffp-contract=off so no multiply-add is fused).
 * Output [batches, depth] = input [batches, accum] x filter[depth, accum]^T.
 *
 * int8 accumulation. TFLM sums (w + filter_offset) * (x + input_offset) in
 * int32, which wraps; hil computes in Z/2^32, where the sum regroups exactly:
 *   sum_k (w_k + fo)(x_k + io) = sum_k w_k (x_k + io) + fo * sum_k (x_k + io)
 * (distributivity holds modulo 2^32, and every term is an exact integer
 * product: |w + fo|, |x + io| <= 255). The second term is shared by all
 * output rows of a batch and is 0 for symmetric filters (fo = 0, always so
 * per-channel), so the inner loop is one int8 multiply-accumulate per
 * weight, two rows at a time, the input offset added to two input lanes at
 * once by SXTAB16 (kernels/dot_i8.h). Folding io into per-row constants
 * (io * sum_k w_k) would cost 4 bytes of arena per output row for nothing:
 * SXTAB16 adds it for free. */
#include <stddef.h>

#include "engine/interp.h"
#include "kernels/dot_i8.h"
#include "kernels/quant.h"
#include "engine/kernel.h"

#define FC_OPTIONS_TYPE 8u /* BuiltinOptions.FullyConnectedOptions */
enum { OPT_ACTIVATION = 0, OPT_WEIGHTS_FORMAT = 1 };
enum { IN_INPUT = 0, IN_FILTER = 1, IN_BIAS = 2 };

/* Kept small: it lives in the arena for the model's life. Per-channel
 * filters are followed by int32 multipliers[depth] then int8 shifts[depth]. */
typedef struct {
    const void *w;    /* filter, in the model */
    const void *bias; /* in the model, or NULL */
    uint32_t batches;
    uint32_t depth;
    uint32_t accum;
    int16_t input_offset;  /* -input zero point: [-127, 128] */
    int16_t filter_offset; /* -filter zero point (per-tensor only) */
    int16_t output_offset;
    int8_t act_min;
    int8_t act_max;
    uint8_t per_channel;
    union {
        hil_qmul mul; /* int8, per-tensor */
        struct {
            float min;
            float max;
        } f; /* float32 activation range */
    } u;
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
    if (index < 0 ||
        hil_model_get_tensor_part(m, (uint32_t)index, HIL_TENSOR_QUANT, &mt) != HIL_OK ||
        mt.channels < 2) {
        return 0;
    }
    return mt.channels;
}

static uint32_t fc_data_bytes(hil_model *m, const hil_model_op *op)
{
    uint32_t channels = filter_channels(m, op);
    if (channels > (UINT32_MAX - sizeof(fc_data)) / 5u) {
        return UINT32_MAX; /* cannot fit any arena; load will say so */
    }
    return (uint32_t)(sizeof(fc_data) + channels * 5u); /* int32 + int8 each */
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

static int int8_zero_point(const hil_tensor *t)
{
    return t->zero_point >= -128 && t->zero_point <= 127;
}

/* Per-channel: one multiplier per output row; TFLM ignores the filter zero
 * point here (weights are symmetric by the quantization spec). */
static hil_status prepare_per_channel(hil_interp *ip, const hil_model_tensor *mt,
                                      const fc_tensors *t, fc_data *d, hil_msg *msg)
{
    if (mt->quantized_dimension != 0) {
        return hil_fail(msg, HIL_ERR_UNSUPPORTED,
                        "per-channel filter quantized along dimension %d (expected 0)",
                        mt->quantized_dimension);
    }
    /* mt->channels = filter rows = depth (dimension 0 was checked by the
     * model reader against the scale count). */
    int32_t *mult = (int32_t *)(void *)(d + 1);
    int8_t *shift = (int8_t *)(mult + mt->channels);
    hil_qmul_ctx ctx; /* (double)in * (double)fs / (double)out, in integers */
    hil_qmul_ctx_init(&ctx, t->in->scale, t->out->scale, 0);
    for (uint32_t c = 0; c < mt->channels; c++) {
        const float fs = hil_model_tensor_scale(&ip->model, mt, c);
        hil_qmul q;
        if (!hil_qmul_ctx_apply(&ctx, fs, &q)) {
            return hil_fail(msg, HIL_ERR_UNSUPPORTED,
                            "channel %u: output multiplier is negative, not finite or too large",
                            c);
        }
        mult[c] = q.multiplier;
        shift[c] = (int8_t)q.shift; /* in [-31, 30] */
    }
    d->per_channel = 1;
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
    if (!hil_qmul_from_scales(t->in->scale, t->filter->scale, t->out->scale, 0, &d->u.mul)) {
        return hil_fail(msg, HIL_ERR_UNSUPPORTED,
                        "output multiplier is negative, not finite or too large");
    }
    return HIL_OK;
}

static hil_status prepare_int8(hil_interp *ip, const hil_node *node, const fc_tensors *t,
                               fc_data *d, int32_t act, hil_msg *msg)
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
    d->input_offset = (int16_t)-t->in->zero_point; /* zero points checked above */
    d->filter_offset = (int16_t)-t->filter->zero_point;
    d->output_offset = (int16_t)t->out->zero_point;
    hil_model_tensor mt;
    if (hil_model_get_tensor_part(&ip->model, (uint32_t)node->inputs[IN_FILTER], HIL_TENSOR_QUANT,
                                  &mt) != HIL_OK) {
        return ip->model.fb.status;
    }
    /* The same test as fc_data_bytes, so the channel table has its room. */
    hil_status st = mt.channels > 1 ? prepare_per_channel(ip, &mt, t, d, msg)
                                    : prepare_per_tensor(t, d, msg);
    if (st != HIL_OK) {
        return st;
    }
    int32_t lo;
    int32_t hi;
    st = hil_act_range_quantized(act, t->out->scale, t->out->zero_point, INT8_MIN, INT8_MAX, &lo,
                                 &hi, msg);
    d->act_min = (int8_t)lo; /* within [INT8_MIN, INT8_MAX] */
    d->act_max = (int8_t)hi;
    return st;
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
    d->w = t.filter->data;
    d->bias = t.bias != NULL ? t.bias->data : NULL;
    if (t.in->dtype == HIL_DT_FLOAT32) {
        hil_act_range_float(act, &d->u.f.min, &d->u.f.max);
        return HIL_OK;
    }
    return prepare_int8(ip, node, &t, d, act, msg);
}

/* Requantize one accumulator and store it. */
static inline int8_t out_i8(const fc_data *d, uint32_t acc, uint32_t o, const int32_t *mult,
                            const int8_t *shift)
{
    if (d->bias != NULL) {
        acc += (uint32_t)((const int32_t *)d->bias)[o];
    }
    const hil_qmul m = mult != NULL ? (hil_qmul){mult[o], shift[o]} : d->u.mul;
    const int32_t v = hil_wrap_add(hil_mul_by_qmul_inline(hil_u32_bits_i32(acc), m),
                                   d->output_offset);
    return (int8_t)hil_clamp_i32(v, d->act_min, d->act_max);
}

static void eval_int8(const fc_data *d, const int8_t *x, int8_t *y)
{
    const int8_t *w = d->w;
    const uint32_t n = d->accum;
    const int32_t io = d->input_offset;
    const int32_t *mult = d->per_channel ? (const int32_t *)(const void *)(d + 1) : NULL;
    const int8_t *shift = mult != NULL ? (const int8_t *)(mult + d->depth) : NULL;
    for (uint32_t b = 0; b < d->batches; b++, x += n, y += d->depth) {
        /* fo * sum_k (x_k + io), shared by every row (see the top). */
        uint32_t shared = 0;
        if (d->filter_offset != 0) {
            for (uint32_t k = 0; k < n; k++) {
                shared += (uint32_t)((int32_t)x[k] + io);
            }
            shared *= (uint32_t)(int32_t)d->filter_offset;
        }
        uint32_t o = 0;
        for (; o + 1u < d->depth; o += 2u) {
            const int8_t *w0 = w + (size_t)o * n;
            uint32_t acc0 = shared;
            uint32_t acc1 = shared;
            hil_dot2_i8(x, w0, w0 + n, n, io, &acc0, &acc1);
            y[o] = out_i8(d, acc0, o, mult, shift);
            y[o + 1u] = out_i8(d, acc1, o + 1u, mult, shift);
        }
        if (o < d->depth) {
            const uint32_t acc = shared + hil_dot_i8(x, w + (size_t)o * n, n, io);
            y[o] = out_i8(d, acc, o, mult, shift);
        }
    }
}

static void eval_float(const fc_data *d, const float *x, float *y)
{
    const float *w = d->w;
    const float *bias = d->bias;
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
            y[(size_t)b * d->depth + o] =
                hil_clamp_float(total + bias_value, d->u.f.min, d->u.f.max);
        }
    }
}

/* Only the input and output are looked up: the filter and bias pointers
 * were kept at prepare. */
static hil_status fc_eval(hil_interp *ip, const hil_node *node, hil_msg *msg)
{
    const hil_tensor *in = hil_node_input(ip, node, IN_INPUT);
    const hil_tensor *out = hil_node_output(ip, node, 0);
    if (in == NULL || out == NULL) {
        return hil_fail(msg, HIL_ERR_MODEL_INVALID, "needs input and output tensors");
    }
    const fc_data *d = node->data;
    if (d->depth == 0) {
        return HIL_OK; /* empty output: nothing to compute */
    }
    if (in->dtype == HIL_DT_FLOAT32) {
        eval_float(d, (const float *)(const void *)in->data, (float *)(void *)out->data);
    } else {
        eval_int8(d, (const int8_t *)in->data, (int8_t *)out->data);
    }
    return HIL_OK;
}

const hil_kernel hil_kernel_fully_connected = {
    "FULLY_CONNECTED",
    fc_data_bytes,
    fc_prepare,
    fc_eval,
};
