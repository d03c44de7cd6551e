/* ADD and SUB, bit-exact with TFLM's reference kernels, with numpy
 * broadcasting up to rank 6:
 *   int8, int16: each input is rescaled to a common scale (2 * the larger
 *     input scale, with 20 resp. 15 bits of headroom), added or subtracted,
 *     then rescaled to the output (all three multipliers worked out in double:
 *     the float formulas of older TFLM SUB kernels differ by one count);
 *   float32: a + b or a - b, then the fused activation clamp;
 *   int32: wrapping a + b / a - b; ADD ignores the fused activation (TFLM
 *     clamps int32 ADD to the full range), SUB applies it. */
#include <math.h>
#include <stddef.h>

#include "kernels/binary_row.h"
#include "kernels/kernel_util.h"
#include "kernels/fixedpoint.h"
#include "kernels/quant.h"
#include "engine/kernel.h"

#define ADD_OPTIONS_TYPE 11u /* BuiltinOptions.AddOptions */
#define SUB_OPTIONS_TYPE 28u /* BuiltinOptions.SubOptions */
enum { OPT_ACTIVATION = 0 };

typedef struct {
    int32_t off1; /* -zero point of input 1 */
    int32_t off2;
    int32_t out_off; /* output zero point */
    int32_t left_shift;
    hil_fx_mul m1;
    hil_fx_mul m2;
    hil_fx_mul mo;
    int32_t act_min;
    int32_t act_max;
} addsub_q;

typedef struct {
    hil_bcast plan;
    uint8_t dtype;
    uint8_t is_sub;
    uint8_t pad_[2];
    union {
        addsub_q q;
        struct {
            float f_min;
            float f_max;
        } f;
        struct {
            int32_t i_min;
            int32_t i_max;
        } i;
    } u;
} addsub_data;

static uint32_t addsub_data_bytes(hil_model *m, const hil_model_op *op)
{
    (void)m;
    (void)op;
    return (uint32_t)sizeof(addsub_data);
}

/* ---- per-element arithmetic ------------------------------------------------- */

static inline int32_t scale_input(int32_t v, const addsub_q *q, const hil_fx_mul *m)
{
    return hil_fx_apply_small(v * ((int32_t)1 << q->left_shift), m);
}

static inline int32_t finish(int32_t raw, const addsub_q *q)
{
    const int32_t out = hil_fx_apply_small(raw, &q->mo) + q->out_off;
    return hil_clamp_i32(out, q->act_min, q->act_max);
}

/* Rows for the quantized types: SUB is ADD of the negated second operand;
 * a repeated operand is rescaled once per row (binary_row.h). */
#define ADDSUB_A(v) scale_input((v) + p->off1, p, &p->m1)
#define ADD_B(v) scale_input((v) + p->off2, p, &p->m2)
#define SUB_B(v) (-ADD_B(v))
#define ADDSUB_Q(x, y) finish((x) + (y), p)

HIL_BINARY_ROW(add_row_i8, addsub_q, int8_t, int32_t, (void)0, ADDSUB_A, ADD_B, ADDSUB_Q)
HIL_BINARY_ROW(sub_row_i8, addsub_q, int8_t, int32_t, (void)0, ADDSUB_A, SUB_B, ADDSUB_Q)
HIL_BINARY_ROW(add_row_i16, addsub_q, int16_t, int32_t, (void)0, ADDSUB_A, ADD_B, ADDSUB_Q)
HIL_BINARY_ROW(sub_row_i16, addsub_q, int16_t, int32_t, (void)0, ADDSUB_A, SUB_B, ADDSUB_Q)

/* Rows for float32 and int32: combine, then clamp to the activation's range. */
#define F_RANGE const float lo = p->u.f.f_min; const float hi = p->u.f.f_max
#define I_RANGE const int32_t lo = p->u.i.i_min; const int32_t hi = p->u.i.i_max
#define F_ADD(x, y) hil_clamp_float((x) + (y), lo, hi)
#define F_SUB(x, y) hil_clamp_float((x) - (y), lo, hi)
#define I_ADD(x, y) hil_clamp_i32(hil_fx_add_wrap(x, y), lo, hi)
#define I_SUB(x, y) hil_clamp_i32(hil_fx_sub_wrap(x, y), lo, hi)

HIL_BINARY_ROW(add_row_f32, addsub_data, float, float, F_RANGE, HIL_ROW_AS_IS, HIL_ROW_AS_IS, F_ADD)
HIL_BINARY_ROW(sub_row_f32, addsub_data, float, float, F_RANGE, HIL_ROW_AS_IS, HIL_ROW_AS_IS, F_SUB)
HIL_BINARY_ROW(add_row_i32, addsub_data, int32_t, int32_t, I_RANGE, HIL_ROW_AS_IS, HIL_ROW_AS_IS,
               I_ADD)
HIL_BINARY_ROW(sub_row_i32, addsub_data, int32_t, int32_t, I_RANGE, HIL_ROW_AS_IS, HIL_ROW_AS_IS,
               I_SUB)

/* ---- prepare ---------------------------------------------------------------------- */

/* QuantizeMultiplierSmallerThanOneExp: TFLM aborts unless 0 < m < 1 and the
 * rounded multiplier keeps a shift <= 0; such models are refused here. */
static hil_status small_multiplier(double m, const char *what, hil_fx_mul *out, hil_msg *msg)
{
    if (!(m > 0.0 && m < 1.0) || !isfinite(m)) {
        return hil_fail(msg, HIL_ERR_UNSUPPORTED,
                        "%s rescale factor is not in (0, 1) (output scale too small for the "
                        "input scales)",
                        what);
    }
    const hil_qmul q = hil_quantize_multiplier(m);
    if (q.shift > 0 || !hil_qmul_in_range(q)) {
        return hil_fail(msg, HIL_ERR_UNSUPPORTED, "%s rescale factor rounds to 1 or above", what);
    }
    *out = hil_fx_mul_make(q);
    return HIL_OK;
}

static hil_status prepare_quantized(hil_tensor *const in[2], const hil_tensor *out, int32_t act,
                                    addsub_q *q, hil_msg *msg)
{
    hil_status st = hil_ku_check_binary_quant(in, out, msg);
    if (st != HIL_OK) {
        return st;
    }
    const int is_int16 = out->dtype == HIL_DT_INT16;
    q->off1 = -in[0]->zero_point;
    q->off2 = -in[1]->zero_point;
    q->out_off = out->zero_point;
    q->left_shift = is_int16 ? 15 : 20;
    const float s1 = in[0]->scale;
    const float s2 = in[1]->scale;
    const float so = out->scale;
    const double twice = 2.0 * (double)(s1 > s2 ? s1 : s2);
    const double r1 = (double)s1 / twice;
    const double r2 = (double)s2 / twice;
    const double ro = twice / ((double)(1 << q->left_shift) * (double)so);
    st = small_multiplier(r1, "input 1", &q->m1, msg);
    if (st == HIL_OK) {
        st = small_multiplier(r2, "input 2", &q->m2, msg);
    }
    if (st == HIL_OK) {
        st = small_multiplier(ro, "output", &q->mo, msg);
    }
    if (st != HIL_OK) {
        return st;
    }
    return hil_act_range_quantized(act, so, out->zero_point, is_int16 ? INT16_MIN : INT8_MIN,
                                   is_int16 ? INT16_MAX : INT8_MAX, &q->act_min, &q->act_max,
                                   msg);
}

static hil_status addsub_prepare(hil_interp *ip, hil_node *node, const hil_model_op *op,
                                 hil_msg *msg, int is_sub)
{
    addsub_data *d = node->data;
    hil_tensor *in[2];
    hil_tensor *out;
    int32_t act;
    hil_status st = hil_ku_binary_prepare(
        ip, node, op, is_sub ? SUB_OPTIONS_TYPE : ADD_OPTIONS_TYPE,
        is_sub ? "SubOptions" : "AddOptions", OPT_ACTIVATION, in, &out, &act, &d->plan, msg);
    if (st != HIL_OK) {
        return st;
    }
    const uint8_t t = out->dtype;
    d->dtype = t;
    d->is_sub = (uint8_t)is_sub;
    if (t == HIL_DT_FLOAT32) {
        hil_act_range_float(act, &d->u.f.f_min, &d->u.f.f_max);
        return HIL_OK;
    }
    if (t == HIL_DT_INT32) {
        if (in[0]->quantized || in[1]->quantized) {
            return hil_fail(msg, HIL_ERR_UNSUPPORTED, "quantized int32 inputs are not supported");
        }
        if (is_sub) {
            hil_act_range_i32(act, &d->u.i.i_min, &d->u.i.i_max);
        } else {
            d->u.i.i_min = INT32_MIN;
            d->u.i.i_max = INT32_MAX;
        }
        return HIL_OK;
    }
    return prepare_quantized(in, out, act, &d->u.q, msg);
}

static hil_status add_prepare(hil_interp *ip, hil_node *node, const hil_model_op *op,
                              hil_msg *msg)
{
    return addsub_prepare(ip, node, op, msg, 0);
}

static hil_status sub_prepare(hil_interp *ip, hil_node *node, const hil_model_op *op,
                              hil_msg *msg)
{
    return addsub_prepare(ip, node, op, msg, 1);
}

static hil_status addsub_eval(hil_interp *ip, const hil_node *node, hil_msg *msg)
{
    const addsub_data *d = node->data;
    const hil_tensor *a = hil_node_input(ip, node, 0);
    const hil_tensor *b = hil_node_input(ip, node, 1);
    hil_tensor *out = hil_node_output(ip, node, 0);
    (void)msg;
    hil_bcast_row row;
    const void *params = d;
    uint32_t size = 4;
    switch (d->dtype) {
    case HIL_DT_INT8:
        row = d->is_sub ? sub_row_i8 : add_row_i8;
        params = &d->u.q;
        size = 1;
        break;
    case HIL_DT_INT16:
        row = d->is_sub ? sub_row_i16 : add_row_i16;
        params = &d->u.q;
        size = 2;
        break;
    case HIL_DT_INT32:
        row = d->is_sub ? sub_row_i32 : add_row_i32;
        break;
    default:
        row = d->is_sub ? sub_row_f32 : add_row_f32;
        break;
    }
    hil_bcast_run(&d->plan, params, a->data, size, b->data, size, out->data, size, row);
    return HIL_OK;
}

const hil_kernel hil_kernel_add = {
    "ADD",
    addsub_data_bytes,
    add_prepare,
    addsub_eval,
};

const hil_kernel hil_kernel_sub = {
    "SUB",
    addsub_data_bytes,
    sub_prepare,
    addsub_eval,
};
