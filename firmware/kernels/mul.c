/* MUL, bit-exact with TFLM's reference kernels, with numpy broadcasting up
 * to rank 6:
 *   int8, int16: (x1 - zp1) * (x2 - zp2) rescaled by in1 * in2 / out (double,
 *     one multiplier, left shift allowed); int16 needs zero points of 0;
 *   float32: a * b then the fused activation clamp;
 *   int32: wrapping a * b then the clamp of the fused activation. */
#include <math.h>
#include <stddef.h>

#include "kernels/binary_row.h"
#include "kernels/kernel_util.h"
#include "kernels/fixedpoint.h"
#include "kernels/quant.h"
#include "engine/kernel.h"

#define MUL_OPTIONS_TYPE 21u /* BuiltinOptions.MulOptions */
enum { OPT_ACTIVATION = 0 };

typedef struct {
    int32_t off1;
    int32_t off2;
    int32_t out_off;
    int32_t act_min;
    int32_t act_max;
    hil_fx_mul m;
} mul_q;

typedef struct {
    hil_bcast plan;
    uint8_t dtype;
    uint8_t pad_[3];
    union {
        mul_q q;
        struct {
            float lo;
            float hi;
        } f;
        struct {
            int32_t lo;
            int32_t hi;
        } i;
    } u;
} mul_data;

static uint32_t mul_data_bytes(hil_model *m, const hil_model_op *op)
{
    (void)m;
    (void)op;
    return (uint32_t)sizeof(mul_data);
}

static inline int32_t mul_q_elem(int32_t x, int32_t y, const mul_q *q)
{
    const int32_t out = hil_fx_apply((x + q->off1) * (y + q->off2), &q->m) + q->out_off;
    return hil_clamp_i32(out, q->act_min, q->act_max);
}

/* One row each (binary_row.h); the quantized product takes its operands as they are. */
#define MUL_Q(x, y) mul_q_elem(x, y, p)
#define F_RANGE const float lo = p->u.f.lo; const float hi = p->u.f.hi
#define I_RANGE const int32_t lo = p->u.i.lo; const int32_t hi = p->u.i.hi
#define F_MUL(x, y) hil_clamp_float((x) * (y), lo, hi)
#define I_MUL(x, y) hil_clamp_i32(hil_fx_mul_wrap(x, y), lo, hi)

HIL_BINARY_ROW(mul_row_i8, mul_q, int8_t, int32_t, (void)0, HIL_ROW_AS_IS, HIL_ROW_AS_IS, MUL_Q)
HIL_BINARY_ROW(mul_row_i16, mul_q, int16_t, int32_t, (void)0, HIL_ROW_AS_IS, HIL_ROW_AS_IS, MUL_Q)
HIL_BINARY_ROW(mul_row_f32, mul_data, float, float, F_RANGE, HIL_ROW_AS_IS, HIL_ROW_AS_IS, F_MUL)
HIL_BINARY_ROW(mul_row_i32, mul_data, int32_t, int32_t, I_RANGE, HIL_ROW_AS_IS, HIL_ROW_AS_IS,
               I_MUL)

static hil_status prepare_quantized(hil_tensor *const in[2], const hil_tensor *out, int32_t act,
                                    mul_q *q, hil_msg *msg)
{
    hil_status st = hil_ku_check_binary_quant(in, out, msg);
    if (st != HIL_OK) {
        return st;
    }
    const int is_int16 = out->dtype == HIL_DT_INT16;
    if (is_int16 && (in[0]->zero_point != 0 || in[1]->zero_point != 0 || out->zero_point != 0)) {
        return hil_fail(msg, HIL_ERR_UNSUPPORTED, "int16 zero points must be 0");
    }
    const double real =
        (double)in[0]->scale * (double)in[1]->scale / (double)out->scale;
    const hil_qmul qm = hil_quantize_multiplier(real);
    if (!isfinite(real) || !hil_qmul_in_range(qm)) {
        return hil_fail(msg, HIL_ERR_UNSUPPORTED, "output multiplier is not finite or too large");
    }
    q->m = hil_fx_mul_make(qm);
    q->off1 = -in[0]->zero_point;
    q->off2 = -in[1]->zero_point;
    q->out_off = out->zero_point;
    return hil_act_range_quantized(act, out->scale, out->zero_point,
                                   is_int16 ? INT16_MIN : INT8_MIN,
                                   is_int16 ? INT16_MAX : INT8_MAX, &q->act_min, &q->act_max,
                                   msg);
}

static hil_status mul_prepare(hil_interp *ip, hil_node *node, const hil_model_op *op,
                              hil_msg *msg)
{
    mul_data *d = node->data;
    hil_tensor *in[2];
    hil_tensor *out;
    int32_t act;
    hil_status st = hil_ku_binary_prepare(ip, node, op, MUL_OPTIONS_TYPE, "MulOptions",
                                          OPT_ACTIVATION, in, &out, &act, &d->plan, msg);
    if (st != HIL_OK) {
        return st;
    }
    const uint8_t t = out->dtype;
    d->dtype = t;
    if (t == HIL_DT_FLOAT32) {
        hil_act_range_float(act, &d->u.f.lo, &d->u.f.hi);
        return HIL_OK;
    }
    if (t == HIL_DT_INT32) {
        hil_act_range_i32(act, &d->u.i.lo, &d->u.i.hi);
        return HIL_OK;
    }
    return prepare_quantized(in, out, act, &d->u.q, msg);
}

static hil_status mul_eval(hil_interp *ip, const hil_node *node, hil_msg *msg)
{
    const mul_data *d = node->data;
    const hil_tensor *a = hil_node_input(ip, node, 0);
    const hil_tensor *b = hil_node_input(ip, node, 1);
    hil_tensor *out = hil_node_output(ip, node, 0);
    (void)msg;
    hil_bcast_row row = mul_row_f32;
    const void *params = d;
    uint32_t size = 4;
    if (d->dtype == HIL_DT_INT8) {
        row = mul_row_i8;
        params = &d->u.q;
        size = 1;
    } else if (d->dtype == HIL_DT_INT16) {
        row = mul_row_i16;
        params = &d->u.q;
        size = 2;
    } else if (d->dtype == HIL_DT_INT32) {
        row = mul_row_i32;
    }
    hil_bcast_run(&d->plan, params, a->data, size, b->data, size, out->data, size, row);
    return HIL_OK;
}

const hil_kernel hil_kernel_mul = {
    "MUL",
    mul_data_bytes,
    mul_prepare,
    mul_eval,
};
