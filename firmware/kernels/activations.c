/* RELU and RELU6, bit-exact with TFLM's reference kernels:
 *   RELU int8: TFLM requantizes every element (x - zp_in) * in/out + zp_out
 *     and clamps below at zp_out; here that map is a 256-entry table built
 *     in prepare. int16 (zero points 0) computes it per element;
 *   RELU6 int8/int16: TFLM clamps the raw input between the input's zero
 *     point and round(6 / input_scale) + zero point, the output's
 *     quantization unused; so does this;
 *   float32: x < 0 ? 0 : x, and x > 6 ? 6 : (x < 0 ? 0 : x). */
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
    int32_t lo; /* RELU int16: clamp; RELU6: bounds in input units */
    int32_t hi;
    hil_fx_mul m; /* RELU int16 */
    /* RELU int8 only: the 256-entry table follows */
} act_data;

static uint32_t relu_data_bytes(hil_model *m, const hil_model_op *op)
{
    const int int8 = hil_ku_model_input_type(m, op, 0) == HIL_DT_INT8;
    return (uint32_t)sizeof(act_data) + (int8 ? 256u : 0u);
}

static uint32_t relu6_data_bytes(hil_model *m, const hil_model_op *op)
{
    (void)m;
    (void)op;
    return (uint32_t)sizeof(act_data);
}

static int8_t *lut_of(const act_data *d)
{
    return (int8_t *)(uintptr_t)(d + 1);
}

static hil_status unary_types(hil_interp *ip, const hil_node *node, hil_tensor **in,
                              hil_tensor **out, act_data *d, hil_msg *msg)
{
    hil_status st = hil_ku_tensors(ip, node, 1, in, out, msg);
    if (st == HIL_OK) {
        st = hil_ku_same_elems(*in, *out, msg);
    }
    if (st != HIL_OK) {
        return st;
    }
    const uint8_t t = (*in)->dtype;
    if ((*out)->dtype != t ||
        (t != HIL_DT_FLOAT32 && t != HIL_DT_INT8 && t != HIL_DT_INT16)) {
        return hil_fail(msg, HIL_ERR_UNSUPPORTED, "%s input with %s output is not supported",
                        hil_ku_type_name(t), hil_ku_type_name((*out)->dtype));
    }
    d->n = hil_tensor_elems(*in);
    d->dtype = t;
    if (t == HIL_DT_FLOAT32) {
        return HIL_OK;
    }
    st = hil_ku_check_quant(*in, "input", msg);
    if (st == HIL_OK) {
        st = hil_ku_check_quant(*out, "output", msg);
    }
    return st;
}

static hil_status relu_prepare(hil_interp *ip, hil_node *node, const hil_model_op *op,
                               hil_msg *msg)
{
    act_data *d = node->data;
    hil_tensor *in;
    hil_tensor *out;
    (void)op;
    hil_status st = unary_types(ip, node, &in, &out, d, msg);
    if (st != HIL_OK || d->dtype == HIL_DT_FLOAT32) {
        return st;
    }
    if (d->dtype == HIL_DT_INT16 && (in->zero_point != 0 || out->zero_point != 0)) {
        return hil_fail(msg, HIL_ERR_UNSUPPORTED, "int16 zero points must be 0");
    }
    const double real = (double)in->scale / (double)out->scale;
    const hil_qmul q = hil_quantize_multiplier(real);
    if (!isfinite(real) || !hil_qmul_in_range(q)) {
        return hil_fail(msg, HIL_ERR_UNSUPPORTED, "output multiplier is not finite or too large");
    }
    d->m = hil_fx_mul_make(q);
    const int is8 = d->dtype == HIL_DT_INT8;
    /* TFLM: max(type min, zp_out + round(0 / scale)), type max */
    d->lo = out->zero_point > (is8 ? INT8_MIN : INT16_MIN) ? out->zero_point
                                                           : (is8 ? INT8_MIN : INT16_MIN);
    d->hi = is8 ? INT8_MAX : INT16_MAX;
    if (is8) {
        for (int32_t v = INT8_MIN; v <= INT8_MAX; v++) {
            const int32_t y = hil_fx_apply(v - in->zero_point, &d->m) + out->zero_point;
            lut_of(d)[hil_lut8_index(v)] = (int8_t)hil_clamp_i32(y, d->lo, d->hi);
        }
    }
    return HIL_OK;
}

static hil_status relu6_prepare(hil_interp *ip, hil_node *node, const hil_model_op *op,
                                hil_msg *msg)
{
    act_data *d = node->data;
    hil_tensor *in;
    hil_tensor *out;
    (void)op;
    hil_status st = unary_types(ip, node, &in, &out, d, msg);
    if (st != HIL_OK || d->dtype == HIL_DT_FLOAT32) {
        return st;
    }
    /* FloatToQuantizedType(6.0f, scale, zp), clamped to the type */
    const float six = roundf(6.0f / in->scale);
    if (!(six < 2147483520.0f)) {
        return hil_fail(msg, HIL_ERR_UNSUPPORTED,
                        "input scale is too small: round(6 / scale) overflows int32");
    }
    const int is8 = d->dtype == HIL_DT_INT8;
    d->lo = in->zero_point;
    d->hi = hil_clamp_i32((int32_t)six + in->zero_point, is8 ? INT8_MIN : INT16_MIN,
                          is8 ? INT8_MAX : INT16_MAX);
    return HIL_OK;
}

static hil_status relu_eval(hil_interp *ip, const hil_node *node, hil_msg *msg)
{
    const act_data *d = node->data;
    const hil_tensor *in = hil_node_input(ip, node, 0);
    hil_tensor *out = hil_node_output(ip, node, 0);
    (void)msg;
    if (d->dtype == HIL_DT_INT8) {
        hil_lut8_run(lut_of(d), (const int8_t *)in->data, (int8_t *)out->data, d->n);
    } else if (d->dtype == HIL_DT_INT16) {
        const int16_t *x = (const int16_t *)(const void *)in->data;
        int16_t *y = (int16_t *)(void *)out->data;
        for (uint32_t i = 0; i < d->n; i++) {
            y[i] = (int16_t)hil_clamp_i32(hil_fx_apply(x[i], &d->m), d->lo, d->hi);
        }
    } else {
        const float *x = (const float *)(const void *)in->data;
        float *y = (float *)(void *)out->data;
        for (uint32_t i = 0; i < d->n; i++) {
            y[i] = x[i] < 0.0f ? 0.0f : x[i];
        }
    }
    return HIL_OK;
}

static hil_status relu6_eval(hil_interp *ip, const hil_node *node, hil_msg *msg)
{
    const act_data *d = node->data;
    const hil_tensor *in = hil_node_input(ip, node, 0);
    hil_tensor *out = hil_node_output(ip, node, 0);
    (void)msg;
    if (d->dtype == HIL_DT_INT8) {
        const int8_t *x = (const int8_t *)in->data;
        int8_t *y = (int8_t *)out->data;
        const int8_t lo = (int8_t)d->lo;
        const int8_t hi = (int8_t)d->hi;
        for (uint32_t i = 0; i < d->n; i++) {
            y[i] = x[i] > hi ? hi : (x[i] < lo ? lo : x[i]);
        }
    } else if (d->dtype == HIL_DT_INT16) {
        const int16_t *x = (const int16_t *)(const void *)in->data;
        int16_t *y = (int16_t *)(void *)out->data;
        const int16_t lo = (int16_t)d->lo;
        const int16_t hi = (int16_t)d->hi;
        for (uint32_t i = 0; i < d->n; i++) {
            y[i] = x[i] > hi ? hi : (x[i] < lo ? lo : x[i]);
        }
    } else {
        const float *x = (const float *)(const void *)in->data;
        float *y = (float *)(void *)out->data;
        for (uint32_t i = 0; i < d->n; i++) {
            y[i] = x[i] > 6.0f ? 6.0f : (x[i] < 0.0f ? 0.0f : x[i]);
        }
    }
    return HIL_OK;
}

const hil_kernel hil_kernel_relu = {
    "RELU",
    relu_data_bytes,
    relu_prepare,
    relu_eval,
};

const hil_kernel hil_kernel_relu6 = {
    "RELU6",
    relu6_data_bytes,
    relu6_prepare,
    relu6_eval,
};
