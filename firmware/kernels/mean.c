/* MEAN over constant axes, bit-exact with TFLM's reference kernels:
 *   float32: each output sums its inputs in memory order, then divides by
 *     the (float) element count (TFLM's 4-D axes {1, 2} special case gives
 *     the same bits: same order, same division);
 *   int8/int16: (sum - zp_in * count) times in_scale / out_scale with 1/count
 *     folded into the multiplier the way TFLM folds it (multiplier <<
 *     floor(log2 count), divided by count), then zp_out. The oracle takes this
 *     path for every axis set, also when input and output share their
 *     quantization (older TFLM had a truncating integer mean there, and a
 *     separate rounding for 4-D axes {1, 2}: both are gone).
 * Axes may be negative and repeat; keep_dims only shapes the output. No
 * scratch memory: each output element sums its own inputs. */
#include <math.h>
#include <stddef.h>

#include "kernels/kernel_util.h"
#include "kernels/fixedpoint.h"
#include "kernels/quant.h"
#include "engine/kernel.h"

#define REDUCER_OPTIONS_TYPE 27u /* BuiltinOptions.ReducerOptions */

enum { MODE_FLOAT = 0, MODE_RESCALE = 1 };

/* A walk over some dimensions: counts and element strides, innermost first.
 * Always at least one level (count 1 when there is nothing to walk). */
typedef struct {
    uint32_t levels;
    uint32_t count[HIL_MAX_RANK];
    uint32_t stride[HIL_MAX_RANK];
} walk;

typedef struct {
    walk kept;    /* one step per output element */
    walk reduced; /* the inputs of one output element */
    uint32_t outputs;
    uint32_t num; /* inputs per output */
    uint8_t dtype;
    uint8_t mode;
    uint8_t empty; /* no inputs at all: outputs are zero */
    uint8_t pad_;
    int32_t in_zp;
    int32_t out_zp;
    int32_t lo;
    int32_t hi;
    hil_fx_mul m;
} mean_data;

static uint32_t mean_data_bytes(hil_model *m, const hil_model_op *op)
{
    (void)m;
    (void)op;
    return (uint32_t)sizeof(mean_data);
}

/* ---- prepare ---------------------------------------------------------------------- */

static hil_status resolve_axes(const hil_tensor *in, const hil_tensor *axis, uint8_t *reduced,
                               hil_msg *msg)
{
    if (axis->dtype != HIL_DT_INT32) {
        return hil_fail(msg, HIL_ERR_UNSUPPORTED, "%s axis tensor is not supported (int32 only)",
                        hil_ku_type_name(axis->dtype));
    }
    const uint32_t n = hil_tensor_elems(axis);
    if (axis->kind != HIL_TENSOR_CONST && n != 0) {
        return hil_fail(msg, HIL_ERR_UNSUPPORTED, "the axis tensor must be constant");
    }
    const uint8_t *raw = axis->data;
    for (uint32_t i = 0; i < HIL_MAX_RANK; i++) {
        reduced[i] = 0;
    }
    for (uint32_t i = 0; i < n; i++) {
        const int32_t a = hil_fx_i32((uint32_t)raw[4 * i] | ((uint32_t)raw[4 * i + 1] << 8) |
                                     ((uint32_t)raw[4 * i + 2] << 16) |
                                     ((uint32_t)raw[4 * i + 3] << 24));
        const int32_t r = (int32_t)in->rank;
        if (in->rank == 0) {
            continue; /* TFLM ignores the axes of a scalar */
        }
        if (a < -r || a >= r) {
            return hil_fail(msg, HIL_ERR_MODEL_INVALID, "axis %d is out of range for rank %u", a,
                            (uint32_t)in->rank);
        }
        reduced[a < 0 ? a + r : a] = 1;
    }
    return HIL_OK;
}

/* Group the input's dimensions into the kept and the reduced walks, fusing
 * neighbours of the same kind; sizes of 1 need no step. */
static void plan_walks(const hil_tensor *in, const uint8_t *reduced, mean_data *d)
{
    walk *w[2] = {&d->kept, &d->reduced};
    int last[2] = {0, 0}; /* the innermost dimension seen was of this kind */
    uint32_t stride = 1;
    d->kept.levels = 0;
    d->reduced.levels = 0;
    d->outputs = 1;
    d->num = 1;
    int prev_kind = -1;
    for (uint32_t k = in->rank; k-- > 0;) {
        const uint32_t size = (uint32_t)in->dims[k];
        const int kind = reduced[k] ? 1 : 0;
        if (kind) {
            d->num *= size;
        } else {
            d->outputs *= size;
        }
        if (size == 1) {
            continue;
        }
        walk *g = w[kind];
        if (prev_kind == kind && last[kind]) {
            g->count[g->levels - 1] *= size;
        } else {
            g->count[g->levels] = size;
            g->stride[g->levels] = stride;
            g->levels++;
        }
        last[kind] = 1;
        last[1 - kind] = 0;
        prev_kind = kind;
        stride *= size;
    }
    for (int i = 0; i < 2; i++) {
        if (w[i]->levels == 0) {
            w[i]->count[0] = 1;
            w[i]->stride[0] = 1;
            w[i]->levels = 1;
        }
    }
}

static hil_status prepare_rescale(const hil_tensor *in, const hil_tensor *out, mean_data *d,
                                  hil_msg *msg)
{
    const double real = (double)in->scale / (double)out->scale;
    const hil_qmul q = hil_quantize_multiplier(real);
    if (!isfinite(real) || !hil_qmul_in_range(q)) {
        return hil_fail(msg, HIL_ERR_UNSUPPORTED, "output multiplier is not finite or too large");
    }
    /* Fold 1/num into the multiplier: shift = floor(log2 num), capped. */
    const uint64_t num = d->num;
    int shift = 63;
    while (shift > 0 && ((num >> shift) & 1u) == 0) {
        shift--;
    }
    if (shift > 32) {
        shift = 32;
    }
    if (shift > 31 + q.shift) {
        shift = 31 + q.shift;
    }
    hil_qmul folded;
    folded.multiplier = (int32_t)((((int64_t)q.multiplier) << shift) / (int64_t)num);
    folded.shift = q.shift - shift;
    if (!hil_qmul_in_range(folded)) {
        return hil_fail(msg, HIL_ERR_UNSUPPORTED, "output multiplier is out of range");
    }
    d->m = hil_fx_mul_make(folded);
    return HIL_OK;
}

static hil_status mean_prepare(hil_interp *ip, hil_node *node, const hil_model_op *op,
                               hil_msg *msg)
{
    mean_data *d = node->data;
    hil_tensor *in[2];
    hil_tensor *out;
    int present;
    uint8_t reduced[HIL_MAX_RANK];
    hil_status st = hil_ku_tensors(ip, node, 2, in, &out, msg);
    if (st == HIL_OK) {
        /* keep_dims changes only the output's shape, which the model states */
        st = hil_ku_options(ip, op, REDUCER_OPTIONS_TYPE, "ReducerOptions", &present, msg);
    }
    if (st != HIL_OK) {
        return st;
    }
    const uint8_t t = in[0]->dtype;
    if (t != HIL_DT_FLOAT32 && t != HIL_DT_INT8 && t != HIL_DT_INT16) {
        return hil_fail(msg, HIL_ERR_UNSUPPORTED, "%s input is not supported",
                        hil_ku_type_name(t));
    }
    if (out->dtype != t) {
        return hil_fail(msg, HIL_ERR_UNSUPPORTED, "%s input with %s output is not supported",
                        hil_ku_type_name(t), hil_ku_type_name(out->dtype));
    }
    st = resolve_axes(in[0], in[1], reduced, msg);
    if (st != HIL_OK) {
        return st;
    }
    plan_walks(in[0], reduced, d);
    if (hil_tensor_elems(out) != d->outputs) {
        return hil_fail(msg, HIL_ERR_MODEL_INVALID, "output has %u elements, the mean gives %u",
                        hil_tensor_elems(out), d->outputs);
    }
    d->dtype = t;
    d->empty = (uint8_t)(hil_tensor_elems(in[0]) == 0);
    d->mode = MODE_FLOAT;
    if (t == HIL_DT_FLOAT32) {
        return HIL_OK;
    }
    st = hil_ku_check_quant(in[0], "input", msg);
    if (st == HIL_OK) {
        st = hil_ku_check_quant(out, "output", msg);
    }
    if (st != HIL_OK) {
        return st;
    }
    d->in_zp = in[0]->zero_point;
    d->out_zp = out->zero_point;
    d->lo = t == HIL_DT_INT8 ? INT8_MIN : INT16_MIN;
    d->hi = t == HIL_DT_INT8 ? INT8_MAX : INT16_MAX;
    d->mode = MODE_RESCALE;
    return d->empty ? HIL_OK : prepare_rescale(in[0], out, d, msg);
}

/* ---- eval ------------------------------------------------------------------------- */

/* Sum of the inputs of one output element, in memory order. */
#define INT_SUM(NAME, T)                                                                      \
    static int32_t NAME(const walk *w, const T *p)                                           \
    {                                                                                       \
        uint32_t idx[HIL_MAX_RANK] = {0};                                                   \
        uint32_t acc = 0;                                                                   \
        const uint32_t n0 = w->count[0];                                                    \
        const uint32_t s0 = w->stride[0];                                                   \
        for (;;) {                                                                          \
            const T *q = p;                                                                 \
            for (uint32_t i = 0; i < n0; i++, q += s0) {                                    \
                acc += (uint32_t)(int32_t)*q;                                               \
            }                                                                               \
            uint32_t l = 1;                                                                 \
            for (; l < w->levels; l++) {                                                    \
                if (++idx[l] < w->count[l]) {                                               \
                    p += w->stride[l];                                                      \
                    break;                                                                  \
                }                                                                           \
                idx[l] = 0;                                                                 \
                p -= (size_t)w->stride[l] * (w->count[l] - 1u);                             \
            }                                                                               \
            if (l == w->levels) {                                                           \
                return hil_fx_i32(acc);                                                     \
            }                                                                               \
        }                                                                                   \
    }

INT_SUM(sum_i8, int8_t)
INT_SUM(sum_i16, int16_t)

static float sum_f32(const walk *w, const float *p)
{
    uint32_t idx[HIL_MAX_RANK] = {0};
    float acc = 0.0f;
    const uint32_t n0 = w->count[0];
    const uint32_t s0 = w->stride[0];
    for (;;) {
        const float *q = p;
        for (uint32_t i = 0; i < n0; i++, q += s0) {
            acc += *q;
        }
        uint32_t l = 1;
        for (; l < w->levels; l++) {
            if (++idx[l] < w->count[l]) {
                p += w->stride[l];
                break;
            }
            idx[l] = 0;
            p -= (size_t)w->stride[l] * (w->count[l] - 1u);
        }
        if (l == w->levels) {
            return acc;
        }
    }
}

static int32_t finish(const mean_data *d, int32_t sum)
{
    const int32_t shifted =
        hil_fx_i32((uint32_t)sum - (uint32_t)d->in_zp * d->num); /* int32 wrap, as TFLM */
    return hil_clamp_i32(hil_fx_apply(shifted, &d->m) + d->out_zp, d->lo, d->hi);
}

static hil_status mean_eval(hil_interp *ip, const hil_node *node, hil_msg *msg)
{
    const mean_data *d = node->data;
    const hil_tensor *in = hil_node_input(ip, node, 0);
    hil_tensor *out = hil_node_output(ip, node, 0);
    (void)msg;
    if (d->outputs == 0) {
        return HIL_OK;
    }
    if (d->empty) { /* TFLM leaves its zero-initialised outputs */
        for (uint32_t i = 0; i < out->bytes; i++) {
            out->data[i] = 0;
        }
        return HIL_OK;
    }
    const walk *k = &d->kept;
    uint32_t idx[HIL_MAX_RANK] = {0};
    size_t base = 0;
    const float fnum = (float)d->num;
    for (uint32_t o = 0; o < d->outputs; o++) {
        switch (d->dtype) {
        case HIL_DT_INT8:
            ((int8_t *)out->data)[o] =
                (int8_t)finish(d, sum_i8(&d->reduced, (const int8_t *)in->data + base));
            break;
        case HIL_DT_INT16:
            ((int16_t *)(void *)out->data)[o] = (int16_t)finish(
                d, sum_i16(&d->reduced, (const int16_t *)(const void *)in->data + base));
            break;
        default:
            ((float *)(void *)out->data)[o] =
                sum_f32(&d->reduced, (const float *)(const void *)in->data + base) / fnum;
            break;
        }
        for (uint32_t l = 0; l < k->levels; l++) {
            if (++idx[l] < k->count[l]) {
                base += k->stride[l];
                break;
            }
            idx[l] = 0;
            base -= (size_t)k->stride[l] * (k->count[l] - 1u);
        }
    }
    return HIL_OK;
}

const hil_kernel hil_kernel_mean = {
    "MEAN",
    mean_data_bytes,
    mean_prepare,
    mean_eval,
};
