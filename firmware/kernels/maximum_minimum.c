/* MAXIMUM and MINIMUM as TFLM's reference kernels compute them, with numpy
 * broadcasting up to rank 6: for every type (float32, int8, int16, int32,
 * int64) the raw values are compared, `a > b ? a : b` resp. `a < b ? a : b`,
 * so a NaN in the first input loses and a NaN in the second wins, and
 * quantization parameters are not looked at (TFLM ignores them too). */
#include <stddef.h>

#include "kernels/kernel_util.h"
#include "engine/kernel.h"

typedef struct {
    hil_bcast plan;
    uint8_t dtype;
    uint8_t size;
    uint8_t pad_[2];
} maxmin_data;

static uint32_t maxmin_data_bytes(hil_model *m, const hil_model_op *op)
{
    (void)m;
    (void)op;
    return (uint32_t)sizeof(maxmin_data);
}

#define PICK_MAX(x, y) ((x) > (y) ? (x) : (y))
#define PICK_MIN(x, y) ((x) < (y) ? (x) : (y))

#define ROW(NAME, T, PICK)                                                                    \
    static void NAME(const void *params, const void *pa, uint32_t sa, const void *pb,       \
                     uint32_t sb, void *po, uint32_t n)                                     \
    {                                                                                       \
        const T *a = pa;                                                                    \
        const T *b = pb;                                                                    \
        T *o = po;                                                                          \
        (void)params;                                                                       \
        if (sa && sb) {                                                                     \
            for (uint32_t i = 0; i < n; i++) {                                              \
                o[i] = PICK(a[i], b[i]);                                                    \
            }                                                                               \
        } else if (sa) {                                                                    \
            const T y = b[0];                                                               \
            for (uint32_t i = 0; i < n; i++) {                                              \
                o[i] = PICK(a[i], y);                                                       \
            }                                                                               \
        } else {                                                                            \
            const T x = a[0];                                                               \
            for (uint32_t i = 0; i < n; i++) {                                              \
                o[i] = PICK(x, b[i]);                                                       \
            }                                                                               \
        }                                                                                   \
    }

ROW(max_f32, float, PICK_MAX)
ROW(min_f32, float, PICK_MIN)
ROW(max_i8, int8_t, PICK_MAX)
ROW(min_i8, int8_t, PICK_MIN)
ROW(max_i16, int16_t, PICK_MAX)
ROW(min_i16, int16_t, PICK_MIN)
ROW(max_i32, int32_t, PICK_MAX)
ROW(min_i32, int32_t, PICK_MIN)
ROW(max_i64, int64_t, PICK_MAX)
ROW(min_i64, int64_t, PICK_MIN)

static hil_status maxmin_prepare(hil_interp *ip, hil_node *node, const hil_model_op *op,
                                 hil_msg *msg)
{
    maxmin_data *d = node->data;
    hil_tensor *in[2];
    hil_tensor *out;
    (void)op; /* MaximumMinimumOptions has no fields */
    hil_status st = hil_ku_tensors(ip, node, 2, in, &out, msg);
    if (st != HIL_OK) {
        return st;
    }
    const uint8_t t = out->dtype;
    if (in[0]->dtype != t || in[1]->dtype != t) {
        return hil_fail(msg, HIL_ERR_UNSUPPORTED,
                        "%s and %s inputs with %s output are not supported (types must match)",
                        hil_ku_type_name(in[0]->dtype), hil_ku_type_name(in[1]->dtype),
                        hil_ku_type_name(t));
    }
    switch (t) {
    case HIL_DT_FLOAT32:
    case HIL_DT_INT32:
        d->size = 4;
        break;
    case HIL_DT_INT8:
        d->size = 1;
        break;
    case HIL_DT_INT16:
        d->size = 2;
        break;
    case HIL_DT_INT64:
        d->size = 8;
        break;
    default:
        return hil_fail(msg, HIL_ERR_UNSUPPORTED, "%s tensors are not supported",
                        hil_ku_type_name(t));
    }
    d->dtype = t;
    return hil_bcast_plan(in[0], in[1], out, HIL_MAX_RANK, &d->plan, msg);
}

static hil_status maxmin_eval(hil_interp *ip, const hil_node *node, int is_max)
{
    const maxmin_data *d = node->data;
    const hil_tensor *a = hil_node_input(ip, node, 0);
    const hil_tensor *b = hil_node_input(ip, node, 1);
    hil_tensor *out = hil_node_output(ip, node, 0);
    hil_bcast_row row;
    switch (d->dtype) {
    case HIL_DT_INT8:
        row = is_max ? max_i8 : min_i8;
        break;
    case HIL_DT_INT16:
        row = is_max ? max_i16 : min_i16;
        break;
    case HIL_DT_INT32:
        row = is_max ? max_i32 : min_i32;
        break;
    case HIL_DT_INT64:
        row = is_max ? max_i64 : min_i64;
        break;
    default:
        row = is_max ? max_f32 : min_f32;
        break;
    }
    hil_bcast_run(&d->plan, NULL, a->data, d->size, b->data, d->size, out->data, d->size, row);
    return HIL_OK;
}

static hil_status maximum_eval(hil_interp *ip, const hil_node *node, hil_msg *msg)
{
    (void)msg;
    return maxmin_eval(ip, node, 1);
}

static hil_status minimum_eval(hil_interp *ip, const hil_node *node, hil_msg *msg)
{
    (void)msg;
    return maxmin_eval(ip, node, 0);
}

const hil_kernel hil_kernel_maximum = {
    "MAXIMUM",
    maxmin_data_bytes,
    maxmin_prepare,
    maximum_eval,
};

const hil_kernel hil_kernel_minimum = {
    "MINIMUM",
    maxmin_data_bytes,
    maxmin_prepare,
    minimum_eval,
};
