/* SOFTMAX over the last dimension, bit-exact with TFLM's reference kernels:
 *   float32: expf((x - max) * beta), then each divided by the row's sum;
 *   int8 -> int8 / int16: TFLM's fixed-point softmax: the difference to the
 *     row maximum is scaled by beta * input_scale into Q5.26, exp in fixed
 *     point, the row sum in Q12.19, its reciprocal by Newton-Raphson, and the
 *     output rounded onto the 1/256 (1/65536) scale from the type's minimum;
 *     differences below diff_min give the minimum;
 *   int16 -> int16: TFLM's two 513-entry interpolated tables (exp on
 *     [-10, 0] and 1 / (1 + x) on [0, 1]), built in prepare with TFLM's
 *     table generator. On the host the tables equal TFLM's bit for bit; on a
 *     device they depend on its expf (newlib), as TFLM's own would.
 * Output quantization is checked as TFLM checks it. */
#include <math.h>
#include <stddef.h>

#include "kernels/kernel_util.h"
#include "kernels/fixedpoint.h"
#include "kernels/quant.h"
#include "engine/kernel.h"

#define SOFTMAX_OPTIONS_TYPE 9u /* BuiltinOptions.SoftmaxOptions */
#define LUT16_SIZE 513u

enum { KIND_FLOAT = 0, KIND_INT8_INT8 = 1, KIND_INT8_INT16 = 2, KIND_INT16 = 3 };

typedef struct {
    uint32_t rows;
    uint32_t depth;
    uint8_t kind;
    uint8_t pad_[3];
    float beta;
    int32_t diff_min;
    hil_fx_mul beta_mul; /* int8: left shift + multiplier; int16: general */
    /* int16 only: the exp and 1/(1+x) tables follow this struct */
} softmax_data;

static int is_int16_input(hil_model *m, const hil_model_op *op)
{
    return hil_ku_model_input_type(m, op, 0) == HIL_DT_INT16;
}

static uint32_t softmax_data_bytes(hil_model *m, const hil_model_op *op)
{
    uint32_t bytes = (uint32_t)sizeof(softmax_data);
    if (is_int16_input(m, op)) {
        bytes += 2u * LUT16_SIZE * (uint32_t)sizeof(int16_t);
    }
    return bytes;
}

static int16_t *exp_lut(const softmax_data *d)
{
    return (int16_t *)(void *)(uintptr_t)(d + 1);
}

static int16_t *recip_lut(const softmax_data *d)
{
    return exp_lut(d) + LUT16_SIZE;
}

/* ---- int16 tables (TFLM's LUTPopulate<int16_t> in float) ------------------------- */

static float exp_f(float x)
{
    return expf(x);
}

static float one_over_one_plus_f(float x)
{
    return 1.0f / (1.0f + x);
}

static void lut16_populate(float in_scale, int32_t in_zp, float out_scale, int32_t out_zp,
                           float (*f)(float), int16_t *lut)
{
    const float input_min = in_scale * (float)(INT16_MIN - in_zp);
    const float input_max = in_scale * (float)(INT16_MAX - in_zp);
    const float output_min = out_scale * (float)(INT16_MIN - out_zp);
    const float output_max = out_scale * (float)(INT16_MAX - out_zp);
    const int steps = 512;
    const float step = (input_max - input_min) / (float)steps;
    const float half_step = step / 2.0f;
    const float scaling_inv = 65536.0f / (output_max - output_min);
    for (int i = 0; i < steps; i++) {
        const float x = input_min + (float)i * step;
        const float val = f(x);
        const float val_mid = f(x + half_step);
        const float val_next = f(input_min + (float)(i + 1) * step);
        const float sample = roundf(val * scaling_inv);
        const float interp = roundf((val_next * scaling_inv + roundf(val * scaling_inv)) / 2.0f);
        const float mid = roundf(val_mid * scaling_inv);
        const float bias = roundf((interp - mid) / 2.0f);
        lut[i] = (int16_t)hil_clamp_float(sample - bias, -32768.0f, 32767.0f);
    }
    lut[steps] = (int16_t)hil_clamp_float(roundf(f(input_max) * scaling_inv), -32768.0f, 32767.0f);
}

/* Interpolated lookup: 9 index bits, 7 fraction bits. */
static inline int16_t lut16_lookup(int16_t value, const int16_t *lut)
{
    const uint32_t index = (uint32_t)(256 + (value >> 7));
    const int32_t offset = value & 0x7f;
    const int32_t base = lut[index];
    const int32_t slope = lut[index + 1] - lut[index];
    const int32_t delta = (slope * offset + 64) >> 7;
    return hil_fx_i16(base + delta);
}

/* ---- prepare ------------------------------------------------------------------------ */

static hil_status check_output(const hil_tensor *in, const hil_tensor *out, softmax_data *d,
                               hil_msg *msg)
{
    if (in->dtype == HIL_DT_FLOAT32 && out->dtype == HIL_DT_FLOAT32) {
        d->kind = KIND_FLOAT;
        return HIL_OK;
    }
    hil_status st = HIL_OK;
    if (in->dtype == HIL_DT_INT8 && out->dtype == HIL_DT_INT8) {
        d->kind = KIND_INT8_INT8;
        st = hil_ku_check_quant(out, "output", msg);
        if (st == HIL_OK && (out->zero_point != -128 || out->scale != 1.0f / 256.0f)) {
            return hil_fail(msg, HIL_ERR_UNSUPPORTED,
                            "int8 output needs scale 1/256 and zero point -128");
        }
    } else if (in->dtype == HIL_DT_INT8 && out->dtype == HIL_DT_INT16) {
        d->kind = KIND_INT8_INT16;
        st = hil_ku_check_quant(out, "output", msg);
        if (st == HIL_OK &&
            (out->zero_point != -32768 ||
             !(fabsf(out->scale - 1.0f / 65536.0f) <= 0.001f * 1.0f / 65536.0f))) {
            return hil_fail(msg, HIL_ERR_UNSUPPORTED,
                            "int16 output needs scale 1/65536 and zero point -32768");
        }
    } else if (in->dtype == HIL_DT_INT16 && out->dtype == HIL_DT_INT16) {
        d->kind = KIND_INT16;
        st = hil_ku_check_quant(out, "output", msg);
        if (st == HIL_OK &&
            (out->zero_point != 0 ||
             !(fabsf(out->scale - 1.0f / 32768.0f) <= 0.001f * 1.0f / 32768.0f))) {
            return hil_fail(msg, HIL_ERR_UNSUPPORTED,
                            "int16 output needs scale 1/32768 and zero point 0");
        }
    } else {
        return hil_fail(msg, HIL_ERR_UNSUPPORTED, "%s input with %s output is not supported",
                        hil_ku_type_name(in->dtype), hil_ku_type_name(out->dtype));
    }
    if (st == HIL_OK) {
        st = hil_ku_check_quant(in, "input", msg);
    }
    return st;
}

static hil_status prepare_int8(const hil_tensor *in, softmax_data *d, hil_msg *msg)
{
    /* PreprocessSoftmaxScaling with 5 integer bits, capped at 2^31 - 1. */
    double real = (double)d->beta * (double)in->scale * (double)(1 << 26);
    if (real > 2147483647.0) {
        real = 2147483647.0;
    }
    if (!(real > 1.0)) {
        return hil_fail(msg, HIL_ERR_UNSUPPORTED,
                        "beta * input scale is too small (TFLM needs it above 2^-26)");
    }
    const hil_qmul q = hil_quantize_multiplier(real);
    d->beta_mul = hil_fx_mul_make(q);
    /* CalculateInputRadius(5, shift): floor(31 * 2^26 / 2^shift) */
    const double radius = floor(31.0 * 67108864.0 / ldexp(1.0, q.shift));
    d->diff_min = -(int32_t)radius;
    return HIL_OK;
}

static hil_status prepare_int16(const hil_tensor *in, softmax_data *d, hil_msg *msg)
{
    const double real = (double)in->scale * (double)d->beta / (10.0 / 65535.0);
    const hil_qmul q = hil_quantize_multiplier(real);
    if (!(real >= 0.0) || !isfinite(real) || !hil_qmul_in_range(q)) {
        return hil_fail(msg, HIL_ERR_UNSUPPORTED, "beta * input scale is out of range");
    }
    d->beta_mul = hil_fx_mul_make(q);
    const float range = 65535.0f;
    lut16_populate(10.0f / range, INT16_MAX, 2.0f / range, 0, exp_f, exp_lut(d));
    lut16_populate(1.0f / range, INT16_MIN, 2.0f / range, 0, one_over_one_plus_f, recip_lut(d));
    return HIL_OK;
}

static hil_status softmax_prepare(hil_interp *ip, hil_node *node, const hil_model_op *op,
                                  hil_msg *msg)
{
    softmax_data *d = node->data;
    hil_tensor *in;
    hil_tensor *out;
    int present;
    hil_status st = hil_ku_tensors(ip, node, 1, &in, &out, msg);
    if (st == HIL_OK) {
        st = hil_ku_options(ip, op, SOFTMAX_OPTIONS_TYPE, "SoftmaxOptions", &present, msg);
    }
    if (st != HIL_OK) {
        return st;
    }
    d->beta = present ? hil_ku_option_f32(ip, op, 0, 0.0f) : 0.0f;
    if (ip->model.fb.status != HIL_OK) {
        return ip->model.fb.status;
    }
    if (in->rank < 1) {
        return hil_fail(msg, HIL_ERR_MODEL_INVALID, "input is a scalar");
    }
    if (in->rank != out->rank || hil_tensor_elems(in) != hil_tensor_elems(out) ||
        in->dims[in->rank - 1] != out->dims[out->rank - 1]) {
        return hil_fail(msg, HIL_ERR_MODEL_INVALID, "input and output shapes differ");
    }
    for (uint32_t i = 0; i < in->rank; i++) {
        if (in->dims[i] != out->dims[i]) {
            return hil_fail(msg, HIL_ERR_MODEL_INVALID, "input and output shapes differ");
        }
    }
    d->depth = (uint32_t)in->dims[in->rank - 1];
    d->rows = d->depth == 0 ? 0 : hil_tensor_elems(in) / d->depth;
    st = check_output(in, out, d, msg);
    if (st != HIL_OK || d->kind == KIND_FLOAT) {
        return st;
    }
    if (d->kind == KIND_INT16) {
        if (!is_int16_input(&ip->model, op)) {
            return hil_fail(msg, HIL_ERR_INTERNAL, "table space was not reserved");
        }
        return prepare_int16(in, d, msg);
    }
    return prepare_int8(in, d, msg);
}

/* ---- eval --------------------------------------------------------------------------- */

static void eval_float(const softmax_data *d, const float *in, float *out)
{
    for (uint32_t r = 0; r < d->rows; r++, in += d->depth, out += d->depth) {
        float max = -3.40282347e38f;
        for (uint32_t c = 0; c < d->depth; c++) {
            max = max < in[c] ? in[c] : max;
        }
        float sum = 0.0f;
        for (uint32_t c = 0; c < d->depth; c++) {
            const float e = expf((in[c] - max) * d->beta);
            out[c] = e;
            sum += e;
        }
        for (uint32_t c = 0; c < d->depth; c++) {
            out[c] = out[c] / sum;
        }
    }
}

/* exp(beta * scale * diff) in Q0.31 for a difference to the row maximum;
 * 0 below diff_min, where TFLM outputs the minimum (as 0 gives here). */
static inline int32_t exp_of_diff(const softmax_data *d, int32_t diff)
{
    if (diff < d->diff_min) {
        return 0;
    }
    const int32_t scaled =
        hil_fx_srdhm(hil_fx_shl_wrap(diff, d->beta_mul.left), d->beta_mul.multiplier);
    return hil_fx_exp_on_negative_values_q5(scaled);
}

static void eval_int8(const softmax_data *d, const int8_t *in, void *out, int out16)
{
    int8_t *o8 = out;
    int16_t *o16 = out;
    const int32_t out_min = out16 ? INT16_MIN : INT8_MIN;
    const int32_t out_max = out16 ? INT16_MAX : INT8_MAX;
    for (uint32_t r = 0; r < d->rows; r++, in += d->depth) {
        int32_t max = INT8_MIN;
        for (uint32_t c = 0; c < d->depth; c++) {
            max = in[c] > max ? in[c] : max;
        }
        int32_t sum = 0; /* Q12.19 */
        for (uint32_t c = 0; c < d->depth; c++) {
            const int32_t e = exp_of_diff(d, in[c] - max);
            sum = hil_fx_add_wrap(sum, hil_fx_rdbpot(e, 12));
        }
        int bits_over_unit;
        const int32_t scale = hil_fx_reciprocal(sum, 12, &bits_over_unit);
        int exponent = bits_over_unit + 31 - (out16 ? 16 : 8);
        /* TFLM aborts outside [0, 31] (int8 rows of 512+ near-equal maxima) */
        exponent = exponent < 0 ? 0 : (exponent > 31 ? 31 : exponent);
        for (uint32_t c = 0; c < d->depth; c++) {
            const int32_t e = exp_of_diff(d, in[c] - max);
            int32_t v = out_min;
            if (in[c] - max >= d->diff_min) {
                v = hil_fx_rdbpot(hil_fx_srdhm(scale, e), (unsigned)exponent) + out_min;
                v = hil_clamp_i32(v, out_min, out_max);
            }
            if (out16) {
                o16[(size_t)r * d->depth + c] = (int16_t)v;
            } else {
                o8[(size_t)r * d->depth + c] = (int8_t)v;
            }
        }
    }
}

static void eval_int16(const softmax_data *d, const int16_t *in, int16_t *out)
{
    const int16_t *el = exp_lut(d);
    const int16_t *rl = recip_lut(d);
    for (uint32_t r = 0; r < d->rows; r++, in += d->depth, out += d->depth) {
        int32_t max = INT16_MIN;
        for (uint32_t c = 0; c < d->depth; c++) {
            max = in[c] > max ? in[c] : max;
        }
        int32_t sum = 0; /* Q16.15 */
        for (uint32_t c = 0; c < d->depth; c++) {
            const int32_t scaled = hil_fx_apply(in[c] - max, &d->beta_mul);
            const int32_t sym = hil_clamp_i32(hil_fx_add_wrap(scaled, 32767), -32768, 32767);
            out[c] = lut16_lookup((int16_t)sym, el);
            sum = hil_fx_add_wrap(sum, out[c]);
        }
        const int headroom_plus_one = hil_fx_clz32((uint32_t)sum);
        if (headroom_plus_one < 1 || headroom_plus_one > 17) {
            continue; /* impossible: the maximum alone contributes ~1.0 */
        }
        const int32_t shifted =
            (int32_t)((((int64_t)sum << (headroom_plus_one - 1)) + (1 << 13)) >> 14);
        const int32_t sym = hil_clamp_i32(shifted - ((1 << 15) + (1 << 16)), -32768, 32767);
        const int32_t recip = lut16_lookup((int16_t)sym, rl);
        const int right_shift = 31 - headroom_plus_one;
        const int64_t round = (int64_t)1 << (right_shift - 1);
        for (uint32_t c = 0; c < d->depth; c++) {
            const int64_t v = ((int64_t)out[c] * recip + round) >> right_shift;
            out[c] = (int16_t)(v < 0 ? 0 : (v > 32767 ? 32767 : v));
        }
    }
}

static hil_status softmax_eval(hil_interp *ip, const hil_node *node, hil_msg *msg)
{
    const softmax_data *d = node->data;
    const hil_tensor *in = hil_node_input(ip, node, 0);
    hil_tensor *out = hil_node_output(ip, node, 0);
    (void)msg;
    switch (d->kind) {
    case KIND_INT8_INT8:
        eval_int8(d, (const int8_t *)in->data, out->data, 0);
        break;
    case KIND_INT8_INT16:
        eval_int8(d, (const int8_t *)in->data, out->data, 1);
        break;
    case KIND_INT16:
        eval_int16(d, (const int16_t *)(const void *)in->data, (int16_t *)(void *)out->data);
        break;
    default:
        eval_float(d, (const float *)(const void *)in->data, (float *)(void *)out->data);
        break;
    }
    return HIL_OK;
}

const hil_kernel hil_kernel_softmax = {
    "SOFTMAX",
    softmax_data_bytes,
    softmax_prepare,
    softmax_eval,
};
