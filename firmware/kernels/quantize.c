/* QUANTIZE and DEQUANTIZE, bit-exact with TFLM's reference kernels.
 * QUANTIZE:
 *   float32 -> int8/int16: zp + roundf(x / scale) (float division, rounding
 *     half away from zero), clamped to the type; |x / scale| >= 2^31 and NaN
 *     saturate here (TFLM's float-to-int conversion is undefined there);
 *   int8/int16/int32 -> int8/int16/int32 requantization: (x - zp_in) times
 *     in_scale / out_scale (double) + zp_out, clamped; int8 -> int8 is a
 *     256-entry table built in prepare.
 * DEQUANTIZE: int8/int16 -> float32: scale * (x - zp); TFLM multiplies in
 *   double and rounds to float once, which a float multiply of these operands
 *   reproduces exactly (the product of a float and a 17-bit integer is exact
 *   in double).
 * Per-channel output quantization is refused. */
#include <math.h>
#include <stddef.h>

#include "kernels/kernel_util.h"
#include "kernels/fixedpoint.h"
#include "kernels/quant.h"
#include "engine/kernel.h"

typedef struct {
    uint32_t n;
    uint8_t in_type;
    uint8_t out_type;
    uint8_t pad_[2];
    float scale;
    int32_t in_zp;
    int32_t out_zp;
    int32_t lo;
    int32_t hi;
    hil_fx_mul m;
    /* QUANTIZE int8 -> int8 only: the 256-entry table follows */
} quant_data;

static int lut_case(hil_model *m, const hil_model_op *op)
{
    if (hil_ku_model_input_type(m, op, 0) != HIL_DT_INT8 || op->outputs.len < 1) {
        return 0;
    }
    const int32_t index = hil_model_op_tensor(m, op, 1, 0);
    hil_model_tensor mt;
    return index >= 0 && hil_model_get_tensor(m, (uint32_t)index, &mt) == HIL_OK &&
           mt.dtype == HIL_DT_INT8;
}

static uint32_t quantize_data_bytes(hil_model *m, const hil_model_op *op)
{
    return (uint32_t)sizeof(quant_data) + (lut_case(m, op) ? 256u : 0u);
}

static uint32_t dequantize_data_bytes(hil_model *m, const hil_model_op *op)
{
    (void)m;
    (void)op;
    return (uint32_t)sizeof(quant_data);
}

static int8_t *lut_of(const quant_data *d)
{
    return (int8_t *)(uintptr_t)(d + 1);
}

static int is_int_type(uint8_t t)
{
    return t == HIL_DT_INT8 || t == HIL_DT_INT16 || t == HIL_DT_INT32;
}

static void type_range(uint8_t t, int32_t *lo, int32_t *hi)
{
    *lo = t == HIL_DT_INT8 ? INT8_MIN : (t == HIL_DT_INT16 ? INT16_MIN : INT32_MIN);
    *hi = t == HIL_DT_INT8 ? INT8_MAX : (t == HIL_DT_INT16 ? INT16_MAX : INT32_MAX);
}

static hil_status per_tensor(hil_interp *ip, const hil_node *node, int is_output,
                             const char *what, hil_msg *msg)
{
    const int32_t index = is_output ? node->outputs[0] : node->inputs[0];
    hil_model_tensor mt;
    if (hil_model_get_tensor(&ip->model, (uint32_t)index, &mt) != HIL_OK) {
        return ip->model.fb.status;
    }
    if (mt.channels > 1) {
        return hil_fail(msg, HIL_ERR_UNSUPPORTED, "per-channel %s quantization is not supported",
                        what);
    }
    return HIL_OK;
}

static hil_status quantize_prepare(hil_interp *ip, hil_node *node, const hil_model_op *op,
                                   hil_msg *msg)
{
    quant_data *d = node->data;
    hil_tensor *in;
    hil_tensor *out;
    hil_status st = hil_ku_tensors(ip, node, 1, &in, &out, msg);
    if (st == HIL_OK) {
        st = hil_ku_same_elems(in, out, msg);
    }
    if (st != HIL_OK) {
        return st;
    }
    d->n = hil_tensor_elems(in);
    d->in_type = in->dtype;
    d->out_type = out->dtype;
    const int from_float = in->dtype == HIL_DT_FLOAT32;
    const int ok = from_float ? (out->dtype == HIL_DT_INT8 || out->dtype == HIL_DT_INT16)
                              : (is_int_type(in->dtype) && is_int_type(out->dtype) &&
                                 !(in->dtype == HIL_DT_INT32 && out->dtype == HIL_DT_INT32));
    if (!ok) {
        return hil_fail(msg, HIL_ERR_UNSUPPORTED, "%s input with %s output is not supported",
                        hil_ku_type_name(in->dtype), hil_ku_type_name(out->dtype));
    }
    st = hil_ku_check_quant(out, "output", msg);
    if (st == HIL_OK) {
        st = per_tensor(ip, node, 1, "output", msg);
    }
    if (st == HIL_OK && !from_float) {
        st = hil_ku_check_quant(in, "input", msg);
    }
    if (st != HIL_OK) {
        return st;
    }
    type_range(out->dtype, &d->lo, &d->hi);
    d->out_zp = out->zero_point;
    d->scale = out->scale;
    if (from_float) {
        return HIL_OK;
    }
    const double real = (double)in->scale / (double)out->scale;
    const hil_qmul q = hil_quantize_multiplier(real);
    if (!isfinite(real) || !hil_qmul_in_range(q)) {
        return hil_fail(msg, HIL_ERR_UNSUPPORTED, "rescale multiplier is not finite or too large");
    }
    d->m = hil_fx_mul_make(q);
    d->in_zp = in->zero_point;
    if (in->dtype == HIL_DT_INT8 && out->dtype == HIL_DT_INT8) {
        if (!lut_case(&ip->model, op)) {
            return hil_fail(msg, HIL_ERR_INTERNAL, "table space was not reserved");
        }
        for (int32_t v = INT8_MIN; v <= INT8_MAX; v++) {
            const int32_t y = hil_fx_apply(v - d->in_zp, &d->m) + d->out_zp;
            lut_of(d)[hil_lut8_index(v)] = (int8_t)hil_clamp_i32(y, d->lo, d->hi);
        }
    }
    return HIL_OK;
}

static inline int32_t requantize(const quant_data *d, int32_t x)
{
    const int32_t y = hil_fx_add_wrap(hil_fx_apply(hil_fx_sub_wrap(x, d->in_zp), &d->m), d->out_zp);
    return hil_clamp_i32(y, d->lo, d->hi);
}

static int32_t load_int(const uint8_t *p, uint8_t t, uint32_t i)
{
    if (t == HIL_DT_INT8) {
        return ((const int8_t *)p)[i];
    }
    if (t == HIL_DT_INT16) {
        return ((const int16_t *)(const void *)p)[i];
    }
    return ((const int32_t *)(const void *)p)[i];
}

static void store_int(uint8_t *p, uint8_t t, uint32_t i, int32_t v)
{
    if (t == HIL_DT_INT8) {
        ((int8_t *)p)[i] = (int8_t)v;
    } else if (t == HIL_DT_INT16) {
        ((int16_t *)(void *)p)[i] = (int16_t)v;
    } else {
        ((int32_t *)(void *)p)[i] = v;
    }
}

/* zp + round(x / scale), saturated to the int32 range first. */
static inline int32_t quantize_value(const quant_data *d, float x)
{
    const float r = roundf(x / d->scale);
    int32_t q;
    if (r >= 2147483648.0f) {
        q = INT32_MAX;
    } else if (r >= -2147483648.0f) {
        q = (int32_t)r;
    } else {
        q = INT32_MIN; /* also NaN */
    }
    return hil_clamp_i32(hil_fx_add_wrap(q, d->out_zp), d->lo, d->hi);
}

static hil_status quantize_eval(hil_interp *ip, const hil_node *node, hil_msg *msg)
{
    const quant_data *d = node->data;
    const hil_tensor *in = hil_node_input(ip, node, 0);
    hil_tensor *out = hil_node_output(ip, node, 0);
    (void)msg;
    if (d->in_type == HIL_DT_FLOAT32) {
        const float *x = (const float *)(const void *)in->data;
        if (d->out_type == HIL_DT_INT8) {
            int8_t *y = (int8_t *)out->data;
            for (uint32_t i = 0; i < d->n; i++) {
                y[i] = (int8_t)quantize_value(d, x[i]);
            }
        } else {
            int16_t *y = (int16_t *)(void *)out->data;
            for (uint32_t i = 0; i < d->n; i++) {
                y[i] = (int16_t)quantize_value(d, x[i]);
            }
        }
        return HIL_OK;
    }
    if (d->in_type == HIL_DT_INT8 && d->out_type == HIL_DT_INT8) {
        hil_lut8_run(lut_of(d), (const int8_t *)in->data, (int8_t *)out->data, d->n);
        return HIL_OK;
    }
    for (uint32_t i = 0; i < d->n; i++) {
        store_int(out->data, d->out_type, i, requantize(d, load_int(in->data, d->in_type, i)));
    }
    return HIL_OK;
}

static hil_status dequantize_prepare(hil_interp *ip, hil_node *node, const hil_model_op *op,
                                     hil_msg *msg)
{
    quant_data *d = node->data;
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
    if ((in->dtype != HIL_DT_INT8 && in->dtype != HIL_DT_INT16) ||
        out->dtype != HIL_DT_FLOAT32) {
        return hil_fail(msg, HIL_ERR_UNSUPPORTED, "%s input with %s output is not supported",
                        hil_ku_type_name(in->dtype), hil_ku_type_name(out->dtype));
    }
    st = hil_ku_check_quant(in, "input", msg);
    if (st == HIL_OK) {
        st = per_tensor(ip, node, 0, "input", msg);
    }
    d->n = hil_tensor_elems(in);
    d->in_type = in->dtype;
    d->out_type = out->dtype;
    d->scale = in->scale;
    d->in_zp = in->zero_point;
    return st;
}

static hil_status dequantize_eval(hil_interp *ip, const hil_node *node, hil_msg *msg)
{
    const quant_data *d = node->data;
    const hil_tensor *in = hil_node_input(ip, node, 0);
    hil_tensor *out = hil_node_output(ip, node, 0);
    float *y = (float *)(void *)out->data;
    (void)msg;
    if (d->in_type == HIL_DT_INT8) {
        const int8_t *x = (const int8_t *)in->data;
        for (uint32_t i = 0; i < d->n; i++) {
            y[i] = d->scale * (float)(x[i] - d->in_zp);
        }
    } else {
        const int16_t *x = (const int16_t *)(const void *)in->data;
        for (uint32_t i = 0; i < d->n; i++) {
            y[i] = d->scale * (float)(x[i] - d->in_zp);
        }
    }
    return HIL_OK;
}

const hil_kernel hil_kernel_quantize = {
    "QUANTIZE",
    quantize_data_bytes,
    quantize_prepare,
    quantize_eval,
};

const hil_kernel hil_kernel_dequantize = {
    "DEQUANTIZE",
    dequantize_data_bytes,
    dequantize_prepare,
    dequantize_eval,
};
