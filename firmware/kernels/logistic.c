/* LOGISTIC and TANH, bit-exact with TFLM's reference kernels:
 *   float32: logistic as TFLM writes it (1 above 16.619047, expf(x) below -9,
 *     else 1 / (1 + expf(-x))); tanh is tanhf;
 *   int8: a 256-entry table filled in prepare by running TFLM's fixed-point
 *     arithmetic on every input value: x - zp rescaled to Q4.27 by
 *     input_scale * 2^27 (frexp multiplier, no renormalisation), saturation
 *     outside the input radius, gemmlowp-style logistic/tanh, then a rounding
 *     shift to 1/256 (logistic, minus 128) or 1/128 (tanh). TFLM requires the
 *     logistic output zero point -128 and ignores the output scales; so does
 *     this. Eval is one table load per element.
 * int16 is refused: TFLM's int16 kernels interpolate a built-in sigmoid
 * table that this engine does not reproduce. */
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
} sigmoid_data;

static uint32_t sigmoid_data_bytes(hil_model *m, const hil_model_op *op)
{
    const int int8 = hil_ku_model_input_type(m, op, 0) == HIL_DT_INT8;
    return (uint32_t)sizeof(sigmoid_data) + (int8 ? 256u : 0u);
}

static int8_t *lut_of(const sigmoid_data *d)
{
    return (int8_t *)(uintptr_t)(d + 1);
}

/* TFLM's int8 input scaling for both functions: Q4.27 multiplier and radius. */
static hil_status q4_scaling(const hil_tensor *in, hil_fx_mul *m, int32_t *radius, hil_msg *msg)
{
    int shift = 0;
    const double q = frexp((double)in->scale * (double)(1 << 27), &shift);
    if (shift < 0 || shift > 62) {
        return hil_fail(msg, HIL_ERR_UNSUPPORTED, "input scale %s is out of range",
                        shift < 0 ? "below 2^-28" : "too large");
    }
    /* floor(15 * 2^27 / 2^shift): 0 makes every input saturate */
    const double r = floor(15.0 * 134217728.0 / ldexp(1.0, shift));
    *radius = (int32_t)r;
    hil_qmul qm;
    qm.multiplier = (int32_t)round(q * 2147483648.0); /* < 2^31: float scales */
    qm.shift = shift > 30 ? 30 : shift; /* only used while |x| < radius, i.e. shift <= 30 */
    *m = hil_fx_mul_make(qm);
    return HIL_OK;
}

static hil_status sigmoid_prepare(hil_interp *ip, hil_node *node, int is_tanh, hil_msg *msg)
{
    sigmoid_data *d = node->data;
    hil_tensor *in;
    hil_tensor *out;
    hil_status st = hil_ku_tensors(ip, node, 1, &in, &out, msg);
    if (st == HIL_OK) {
        st = hil_ku_same_elems(in, out, msg);
    }
    if (st != HIL_OK) {
        return st;
    }
    if (in->dtype != out->dtype ||
        (in->dtype != HIL_DT_FLOAT32 && in->dtype != HIL_DT_INT8)) {
        return hil_fail(msg, HIL_ERR_UNSUPPORTED, "%s input with %s output is not supported",
                        hil_ku_type_name(in->dtype), hil_ku_type_name(out->dtype));
    }
    d->n = hil_tensor_elems(in);
    d->dtype = in->dtype;
    if (in->dtype == HIL_DT_FLOAT32) {
        return HIL_OK;
    }
    st = hil_ku_check_quant(in, "input", msg);
    if (st == HIL_OK) {
        st = hil_ku_check_quant(out, "output", msg);
    }
    if (st != HIL_OK) {
        return st;
    }
    if (!is_tanh && out->zero_point != -128) {
        return hil_fail(msg, HIL_ERR_UNSUPPORTED, "int8 output zero point must be -128");
    }
    hil_fx_mul m = hil_fx_mul_make((hil_qmul){0, 0});
    int32_t radius = 0;
    st = q4_scaling(in, &m, &radius, msg);
    if (st != HIL_OK) {
        return st;
    }
    for (int32_t v = INT8_MIN; v <= INT8_MAX; v++) {
        const int32_t x = v - in->zero_point;
        int32_t y;
        if (x <= -radius) {
            y = INT8_MIN;
        } else if (x >= radius) {
            y = INT8_MAX;
        } else if (is_tanh) {
            y = hil_fx_rdbpot(hil_fx_tanh_q4(hil_fx_apply(x, &m)), 24);
        } else {
            y = hil_fx_rdbpot(hil_fx_logistic_q4(hil_fx_apply(x, &m)), 23) - 128;
        }
        lut_of(d)[hil_lut8_index(v)] = (int8_t)hil_clamp_i32(y, INT8_MIN, INT8_MAX);
    }
    return HIL_OK;
}

static hil_status logistic_prepare(hil_interp *ip, hil_node *node, const hil_model_op *op,
                                   hil_msg *msg)
{
    (void)op;
    return sigmoid_prepare(ip, node, 0, msg);
}

static hil_status tanh_prepare(hil_interp *ip, hil_node *node, const hil_model_op *op,
                               hil_msg *msg)
{
    (void)op;
    return sigmoid_prepare(ip, node, 1, msg);
}

static hil_status logistic_eval(hil_interp *ip, const hil_node *node, hil_msg *msg)
{
    const sigmoid_data *d = node->data;
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
        if (v > 16.619047164916992188f) {
            y[i] = 1.0f;
        } else if (v < -9.0f) {
            y[i] = expf(v);
        } else {
            y[i] = 1.0f / (1.0f + expf(-v));
        }
    }
    return HIL_OK;
}

static hil_status tanh_eval(hil_interp *ip, const hil_node *node, hil_msg *msg)
{
    const sigmoid_data *d = node->data;
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
        y[i] = tanhf(x[i]);
    }
    return HIL_OK;
}

const hil_kernel hil_kernel_logistic = {
    "LOGISTIC",
    sigmoid_data_bytes,
    logistic_prepare,
    logistic_eval,
};

const hil_kernel hil_kernel_tanh = {
    "TANH",
    sigmoid_data_bytes,
    tanh_prepare,
    tanh_eval,
};
