/* HARD_SWISH, bit-exact with TFLM's reference kernels:
 *   float32: x * min(6, max(0, x + 3)) / 6 in that order;
 *   int8: TFLM's int16 fixed-point evaluation (input on a 1/128 finer scale,
 *     a "relu-ish" factor in [0, 1] from the input rescaled so that 3.0 is
 *     32768, int16 multipliers rounded from int32 ones, saturating shifts),
 *     run on all 256 input values in prepare; eval is one table load. */
#include <math.h>
#include <stddef.h>

#include "kernels/kernel_util.h"
#include "kernels/fixedpoint.h"
#include "kernels/quant.h"
#include "engine/kernel.h"

typedef struct {
    uint32_t n;
    uint8_t dtype;
    uint8_t pad_[3];
    /* int8 only: the 256-entry table follows */
} hswish_data;

static uint32_t hswish_data_bytes(hil_model *m, const hil_model_op *op)
{
    const int int8 = hil_ku_model_input_type(m, op, 0) == HIL_DT_INT8;
    return (uint32_t)sizeof(hswish_data) + (int8 ? 256u : 0u);
}

static int8_t *lut_of(const hswish_data *d)
{
    return (int8_t *)(uintptr_t)(d + 1);
}

/* An int32 multiplier rounded to its top 16 bits, saturating. */
static int16_t down_to_int16(int32_t m)
{
    if (m >= INT32_MAX - (1 << 15)) {
        return INT16_MAX;
    }
    return (int16_t)((m + (1 << 15)) >> 16);
}

static int16_t sat_shl16(int16_t v, int amount)
{
    const int64_t r = (int64_t)v * ((int64_t)1 << amount);
    return (int16_t)(r > INT16_MAX ? INT16_MAX : (r < INT16_MIN ? INT16_MIN : r));
}

/* Doubling high multiply rounding toward zero (ARM SQDMULH). */
static int16_t sat_doubling_high_mul16(int16_t a, int16_t b)
{
    if (a == INT16_MIN && b == INT16_MIN) {
        return INT16_MAX;
    }
    return hil_fx_i16(((int32_t)a * (int32_t)b) / (1 << 15));
}

typedef struct {
    int32_t in_zp;
    int32_t out_zp;
    int16_t out_mul;
    int16_t relu_mul;
    int32_t out_exp;
    int32_t relu_exp;
} hswish_params;

static int8_t hswish_q(const hswish_params *p, int32_t x)
{
    const int16_t v = hil_fx_i16(x - p->in_zp);
    const int16_t hires = hil_fx_i16(v * 128);
    const int16_t preshift = hil_fx_srdhm16(hires, p->out_mul);
    int16_t reluish = hires;
    if (p->relu_exp > 0) {
        reluish = sat_shl16(reluish, p->relu_exp - 1);
    }
    reluish = hil_fx_srdhm16(reluish, p->relu_mul);
    if (p->relu_exp > 0) {
        reluish = sat_shl16(reluish, 1);
    }
    if (p->relu_exp < 0) {
        reluish = hil_fx_rdbpot16(reluish, (unsigned)-p->relu_exp);
    }
    reluish = hil_fx_i16((reluish + (1 << 15)) >> 1);
    const int16_t prod = sat_doubling_high_mul16(reluish, preshift);
    int16_t y = hil_fx_rdbpot16(prod, (unsigned)-p->out_exp);
    y = hil_fx_i16(y + p->out_zp);
    return (int8_t)hil_clamp_i32(y, INT8_MIN, INT8_MAX);
}

static hil_status hswish_prepare(hil_interp *ip, hil_node *node, const hil_model_op *op,
                                 hil_msg *msg)
{
    hswish_data *d = node->data;
    hil_tensor *in;
    hil_tensor *out;
    (void)op;
    hil_status st = hil_ku_tensors(ip, node, 1, &in, &out, msg);
    if (st == HIL_OK) {
        st = hil_ku_same_elems(in, out, msg);
    }
    if (st != HIL_OK) {
        return st;
    }
    const uint8_t t = in->dtype;
    if (out->dtype != t || (t != HIL_DT_FLOAT32 && t != HIL_DT_INT8)) {
        return hil_fail(msg, HIL_ERR_UNSUPPORTED, "%s input with %s output is not supported",
                        hil_ku_type_name(t), hil_ku_type_name(out->dtype));
    }
    d->n = hil_tensor_elems(in);
    d->dtype = t;
    if (t == HIL_DT_FLOAT32) {
        return HIL_OK;
    }
    st = hil_ku_check_quant(in, "input", msg);
    if (st == HIL_OK) {
        st = hil_ku_check_quant(out, "output", msg);
    }
    if (st != HIL_OK) {
        return st;
    }
    /* TFLM's multipliers, from float quotients */
    const float hires_scale = (1.0f / 128.0f) * in->scale;
    const float reluish_scale = 3.0f / 32768.0f;
    const double out_real = (double)(hires_scale / out->scale);
    const double relu_real = (double)(hires_scale / reluish_scale);
    if (!isfinite(out_real) || !isfinite(relu_real)) {
        return hil_fail(msg, HIL_ERR_UNSUPPORTED, "multipliers are not finite");
    }
    const hil_qmul qo = hil_quantize_multiplier(out_real);
    const hil_qmul qr = hil_quantize_multiplier(relu_real);
    if (qo.shift > 0) {
        return hil_fail(msg, HIL_ERR_UNSUPPORTED,
                        "output scale below input scale / 128 (TFLM needs a shift <= 0)");
    }
    if (qo.shift < -31 || qr.shift < -31 || qr.shift > 31) {
        return hil_fail(msg, HIL_ERR_UNSUPPORTED, "multiplier shift out of range");
    }
    hswish_params p;
    p.in_zp = in->zero_point;
    p.out_zp = out->zero_point;
    p.out_mul = down_to_int16(qo.multiplier);
    p.relu_mul = down_to_int16(qr.multiplier);
    p.out_exp = qo.shift;
    p.relu_exp = qr.shift;
    for (int32_t v = INT8_MIN; v <= INT8_MAX; v++) {
        lut_of(d)[hil_lut8_index(v)] = hswish_q(&p, v);
    }
    return HIL_OK;
}

static hil_status hswish_eval(hil_interp *ip, const hil_node *node, hil_msg *msg)
{
    const hswish_data *d = node->data;
    const hil_tensor *in = hil_node_input(ip, node, 0);
    hil_tensor *out = hil_node_output(ip, node, 0);
    (void)msg;
    if (d->dtype == HIL_DT_INT8) {
        hil_lut8_run(lut_of(d), (const int8_t *)in->data, (int8_t *)out->data, d->n);
        return HIL_OK;
    }
    const float *x = (const float *)(const void *)in->data;
    float *y = (float *)(void *)out->data;
    for (uint32_t i = 0; i < d->n; i++) {
        const float v = x[i];
        const float r = 0.0f < v + 3.0f ? v + 3.0f : 0.0f; /* std::max(0, v + 3) */
        const float c = r < 6.0f ? r : 6.0f;               /* std::min(6, r) */
        y[i] = v * c / 6.0f;
    }
    return HIL_OK;
}

const hil_kernel hil_kernel_hard_swish = {
    "HARD_SWISH",
    hswish_data_bytes,
    hswish_prepare,
    hswish_eval,
};
