/* LEAKY_RELU, bit-exact with TFLM's reference kernels:
 *   float32: x > 0 ? x : x * alpha;
 *   int8/int16: x - zp >= 0 is rescaled by in/out, else by in * alpha / out,
 *     both worked out in double (the float products of older TFLM versions
 *     differ by one count); a negative alpha rescales the magnitude and
 *     negates.
 *     int8 is a 256-entry table built in prepare. */
#include <math.h>
#include <stddef.h>

#include "kernels/kernel_util.h"
#include "kernels/fixedpoint.h"
#include "kernels/quant.h"
#include "engine/kernel.h"

#define LEAKY_RELU_OPTIONS_TYPE 75u /* BuiltinOptions.LeakyReluOptions */

typedef struct {
    uint32_t n;
    uint8_t dtype;
    uint8_t alpha_negative;
    uint8_t pad_[2];
    float alpha;
    int32_t in_zp;
    int32_t out_zp;
    hil_fx_mul identity;
    hil_fx_mul scaled; /* |alpha| */
    /* int8 only: the 256-entry table follows */
} leaky_data;

static uint32_t leaky_data_bytes(hil_model *m, const hil_model_op *op)
{
    const int int8 = hil_ku_model_input_type(m, op, 0) == HIL_DT_INT8;
    return (uint32_t)sizeof(leaky_data) + (int8 ? 256u : 0u);
}

static int8_t *lut_of(const leaky_data *d)
{
    return (int8_t *)(uintptr_t)(d + 1);
}

static inline int32_t leaky_q(const leaky_data *d, int32_t x, int32_t lo, int32_t hi)
{
    const int32_t v = x - d->in_zp;
    int32_t y;
    if (v >= 0) {
        y = hil_fx_apply(v, &d->identity);
    } else {
        y = hil_fx_apply(v, &d->scaled);
        y = d->alpha_negative ? -y : y;
    }
    return hil_clamp_i32(d->out_zp + y, lo, hi);
}

static hil_status multiplier(double real, const char *what, hil_fx_mul *m, hil_msg *msg)
{
    const hil_qmul q = hil_quantize_multiplier(fabs(real));
    if (!isfinite(real) || !hil_qmul_in_range(q)) {
        return hil_fail(msg, HIL_ERR_UNSUPPORTED, "%s multiplier is not finite or too large",
                        what);
    }
    *m = hil_fx_mul_make(q);
    return HIL_OK;
}

static hil_status leaky_prepare(hil_interp *ip, hil_node *node, const hil_model_op *op,
                                hil_msg *msg)
{
    leaky_data *d = node->data;
    hil_tensor *in;
    hil_tensor *out;
    int present;
    hil_status st = hil_ku_tensors(ip, node, 1, &in, &out, msg);
    if (st == HIL_OK) {
        st = hil_ku_same_elems(in, out, msg);
    }
    if (st == HIL_OK) {
        st = hil_ku_options(ip, op, LEAKY_RELU_OPTIONS_TYPE, "LeakyReluOptions", &present, msg);
    }
    if (st != HIL_OK) {
        return st;
    }
    d->alpha = present ? hil_ku_option_f32(ip, op, 0, 0.0f) : 0.0f;
    if (ip->model.fb.status != HIL_OK) {
        return ip->model.fb.status;
    }
    const uint8_t t = in->dtype;
    if (out->dtype != t || (t != HIL_DT_FLOAT32 && t != HIL_DT_INT8 && t != HIL_DT_INT16)) {
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
    const double alpha_real = (double)in->scale * (double)d->alpha / (double)out->scale;
    if (st == HIL_OK) {
        st = multiplier(alpha_real, "alpha", &d->scaled, msg);
    }
    if (st == HIL_OK) {
        st = multiplier((double)in->scale / (double)out->scale, "identity", &d->identity, msg);
    }
    if (st != HIL_OK) {
        return st;
    }
    d->alpha_negative = (uint8_t)(alpha_real < 0.0);
    d->in_zp = in->zero_point;
    d->out_zp = out->zero_point;
    if (t == HIL_DT_INT8) {
        for (int32_t v = INT8_MIN; v <= INT8_MAX; v++) {
            lut_of(d)[hil_lut8_index(v)] = (int8_t)leaky_q(d, v, INT8_MIN, INT8_MAX);
        }
    }
    return HIL_OK;
}

static hil_status leaky_eval(hil_interp *ip, const hil_node *node, hil_msg *msg)
{
    const leaky_data *d = node->data;
    const hil_tensor *in = hil_node_input(ip, node, 0);
    hil_tensor *out = hil_node_output(ip, node, 0);
    (void)msg;
    if (d->dtype == HIL_DT_INT8) {
        hil_lut8_run(lut_of(d), (const int8_t *)in->data, (int8_t *)out->data, d->n);
    } else if (d->dtype == HIL_DT_INT16) {
        const int16_t *x = (const int16_t *)(const void *)in->data;
        int16_t *y = (int16_t *)(void *)out->data;
        for (uint32_t i = 0; i < d->n; i++) {
            y[i] = (int16_t)leaky_q(d, x[i], INT16_MIN, INT16_MAX);
        }
    } else {
        const float *x = (const float *)(const void *)in->data;
        float *y = (float *)(void *)out->data;
        const float alpha = d->alpha;
        for (uint32_t i = 0; i < d->n; i++) {
            y[i] = x[i] > 0.0f ? x[i] : x[i] * alpha;
        }
    }
    return HIL_OK;
}

const hil_kernel hil_kernel_leaky_relu = {
    "LEAKY_RELU",
    leaky_data_bytes,
    leaky_prepare,
    leaky_eval,
};
