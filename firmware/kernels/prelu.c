/* PRELU, bit-exact with TFLM's reference kernels: out = x for x >= 0, else
 * alpha * x, with alpha broadcast against the input:
 *   int8 (int8 alpha) and int16 (int8 alpha), ranks up to 6: (x - zp) >= 0
 *     is rescaled by in/out, otherwise (x - zp) * (alpha - zp_alpha) by
 *     in * alpha / out (both multipliers in double);
 *   float32, ranks up to 4 (TFLM's float kernel is 4-D). */
#include <math.h>
#include <stddef.h>

#include "kernels/kernel_util.h"
#include "kernels/fixedpoint.h"
#include "kernels/quant.h"
#include "engine/kernel.h"

typedef struct {
    int32_t in_off;
    int32_t alpha_off;
    int32_t out_off;
    int32_t lo;
    int32_t hi;
    hil_fx_mul identity;
    hil_fx_mul scaled;
} prelu_q;

typedef struct {
    hil_bcast plan;
    uint8_t dtype;
    uint8_t pad_[3];
    prelu_q q;
} prelu_data;

static uint32_t prelu_data_bytes(hil_model *m, const hil_model_op *op)
{
    (void)m;
    (void)op;
    return (uint32_t)sizeof(prelu_data);
}

static inline int32_t prelu_elem(int32_t x, int32_t alpha, const prelu_q *q)
{
    const int32_t v = x + q->in_off;
    const int32_t r = v >= 0 ? hil_fx_apply(v, &q->identity)
                             : hil_fx_apply(v * (alpha + q->alpha_off), &q->scaled);
    return hil_clamp_i32(r + q->out_off, q->lo, q->hi);
}

#define QUANT_ROW(NAME, T)                                                                    \
    static void NAME(const void *params, const void *pa, uint32_t sa, const void *pb,       \
                     uint32_t sb, void *po, uint32_t n)                                     \
    {                                                                                       \
        const prelu_q *q = params;                                                          \
        const T *x = pa;                                                                    \
        const int8_t *alpha = pb;                                                           \
        T *o = po;                                                                          \
        if (sa && sb) {                                                                     \
            for (uint32_t i = 0; i < n; i++) {                                              \
                o[i] = (T)prelu_elem(x[i], alpha[i], q);                                    \
            }                                                                               \
        } else if (sa) {                                                                    \
            const int32_t al = alpha[0];                                                    \
            for (uint32_t i = 0; i < n; i++) {                                              \
                o[i] = (T)prelu_elem(x[i], al, q);                                          \
            }                                                                               \
        } else {                                                                            \
            const T v = (T)prelu_elem(x[0], alpha[0], q);                                   \
            const int positive = x[0] + q->in_off >= 0;                                     \
            for (uint32_t i = 0; i < n; i++) {                                              \
                o[i] = positive ? v : (T)prelu_elem(x[0], alpha[i], q);                     \
            }                                                                               \
        }                                                                                   \
    }

QUANT_ROW(prelu_row_i8, int8_t)
QUANT_ROW(prelu_row_i16, int16_t)

static void prelu_row_f32(const void *params, const void *pa, uint32_t sa, const void *pb,
                          uint32_t sb, void *po, uint32_t n)
{
    const float *x = pa;
    const float *alpha = pb;
    float *o = po;
    (void)params;
    for (uint32_t i = 0; i < n; i++) {
        const float v = x[i * sa];
        o[i] = v >= 0.0f ? v : v * alpha[i * sb];
    }
}

static hil_status multiplier(double real, const char *what, hil_fx_mul *m, hil_msg *msg)
{
    const hil_qmul q = hil_quantize_multiplier(real);
    if (!isfinite(real) || !hil_qmul_in_range(q)) {
        return hil_fail(msg, HIL_ERR_UNSUPPORTED, "%s multiplier is not finite or too large",
                        what);
    }
    *m = hil_fx_mul_make(q);
    return HIL_OK;
}

static hil_status prepare_quantized(const hil_tensor *in, const hil_tensor *alpha,
                                    const hil_tensor *out, prelu_q *q, hil_msg *msg)
{
    hil_status st = hil_ku_check_quant(in, "input", msg);
    if (st == HIL_OK) {
        st = hil_ku_check_quant(alpha, "alpha", msg);
    }
    if (st == HIL_OK) {
        st = hil_ku_check_quant(out, "output", msg);
    }
    if (st != HIL_OK) {
        return st;
    }
    st = multiplier((double)in->scale / (double)out->scale, "identity", &q->identity, msg);
    if (st == HIL_OK) {
        st = multiplier((double)in->scale * (double)alpha->scale / (double)out->scale, "alpha",
                        &q->scaled, msg);
    }
    q->in_off = -in->zero_point;
    q->alpha_off = -alpha->zero_point;
    q->out_off = out->zero_point;
    q->lo = out->dtype == HIL_DT_INT16 ? INT16_MIN : INT8_MIN;
    q->hi = out->dtype == HIL_DT_INT16 ? INT16_MAX : INT8_MAX;
    return st;
}

static hil_status prelu_prepare(hil_interp *ip, hil_node *node, const hil_model_op *op,
                                hil_msg *msg)
{
    prelu_data *d = node->data;
    hil_tensor *in[2];
    hil_tensor *out;
    (void)op;
    hil_status st = hil_ku_tensors(ip, node, 2, in, &out, msg);
    if (st != HIL_OK) {
        return st;
    }
    const uint8_t t = out->dtype;
    const uint8_t alpha_type = t == HIL_DT_FLOAT32 ? HIL_DT_FLOAT32 : HIL_DT_INT8;
    if ((t != HIL_DT_INT8 && t != HIL_DT_INT16 && t != HIL_DT_FLOAT32) || in[0]->dtype != t ||
        in[1]->dtype != alpha_type) {
        return hil_fail(msg, HIL_ERR_UNSUPPORTED,
                        "%s input with %s alpha and %s output is not supported",
                        hil_ku_type_name(in[0]->dtype), hil_ku_type_name(in[1]->dtype),
                        hil_ku_type_name(t));
    }
    d->dtype = t;
    st = hil_bcast_plan(in[0], in[1], out, t == HIL_DT_FLOAT32 ? 4u : HIL_MAX_RANK, &d->plan, msg);
    if (st != HIL_OK || t == HIL_DT_FLOAT32) {
        return st;
    }
    return prepare_quantized(in[0], in[1], out, &d->q, msg);
}

static hil_status prelu_eval(hil_interp *ip, const hil_node *node, hil_msg *msg)
{
    const prelu_data *d = node->data;
    const hil_tensor *x = hil_node_input(ip, node, 0);
    const hil_tensor *alpha = hil_node_input(ip, node, 1);
    hil_tensor *out = hil_node_output(ip, node, 0);
    (void)msg;
    if (d->dtype == HIL_DT_INT8) {
        hil_bcast_run(&d->plan, &d->q, x->data, 1, alpha->data, 1, out->data, 1, prelu_row_i8);
    } else if (d->dtype == HIL_DT_INT16) {
        hil_bcast_run(&d->plan, &d->q, x->data, 2, alpha->data, 1, out->data, 2, prelu_row_i16);
    } else {
        hil_bcast_run(&d->plan, NULL, x->data, 4, alpha->data, 4, out->data, 4, prelu_row_f32);
    }
    return HIL_OK;
}

const hil_kernel hil_kernel_prelu = {
    "PRELU",
    prelu_data_bytes,
    prelu_prepare,
    prelu_eval,
};
