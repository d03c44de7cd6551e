/* PAD and PADV2 (TFLM registers one kernel for both: either may have the
 * optional third input, the pad value).
 *
 * TFLM rules followed here (tflite-micro pad.cc, pad_common.cc):
 *   - float32, int8, int16 and int32; rank at most 5.
 *   - paddings: a constant int32 tensor of 2 x rank values (before, after
 *     per dim); each output dim = input dim + before + after. hil also
 *     refuses negative paddings, which TFLM does not check.
 *   - pad value: the third input when present (same type, one element, read
 *     at every invoke so it need not be constant; int8 needs the output's
 *     scale and zero point), else 0 (float +0.0) except int8, which pads with
 *     the output zero point (which must lie in [-128, 127]).
 * Eval writes each output row once: a row either lies in the padding (all
 * pad value) or is pad | one input row | pad. */
#include <string.h>

#include "engine/interp.h"
#include "engine/kernel.h"
#include "kernels/shape_common.h"

#define PAD_OPTIONS 22u   /* BuiltinOptions.PadOptions */
#define PADV2_OPTIONS 43u /* BuiltinOptions.PadV2Options */
#define PAD_MAX_RANK 5u

typedef struct {
    int32_t out_dims[PAD_MAX_RANK];
    int32_t in_dims[PAD_MAX_RANK];
    int32_t before[PAD_MAX_RANK];
    uint32_t rank; /* >= 1: a scalar is handled as [1] */
    uint32_t elem;
    uint32_t zero_bits; /* the pad value without a third input */
    uint8_t empty;      /* the output has no elements */
} pad_data;

static uint32_t pad_data_bytes(hil_model *m, const hil_model_op *op)
{
    (void)m;
    (void)op;
    return sizeof(pad_data);
}

static hil_status pad_value_input(const hil_tensor *in, const hil_tensor *value,
                                  const hil_tensor *out, hil_msg *msg)
{
    if (value->dtype != in->dtype) {
        return hil_fail(msg, HIL_ERR_MODEL_INVALID, "pad value type %s differs from input type %s",
                        hil_dtype_name(value->dtype), hil_dtype_name(in->dtype));
    }
    if (hil_tensor_elems(value) != 1) {
        return hil_fail(msg, HIL_ERR_MODEL_INVALID, "pad value has %u elements, expected 1",
                        hil_tensor_elems(value));
    }
    if (in->dtype == HIL_DT_INT8 && (value->zero_point != out->zero_point ||
                                     (double)value->scale != (double)out->scale)) {
        return hil_fail(msg, HIL_ERR_UNSUPPORTED,
                        "int8 pad value must have the output's scale and zero point");
    }
    return HIL_OK;
}

static hil_status pad_shapes(const hil_tensor *in, const hil_tensor *out, const int32_t *pads,
                             pad_data *d, hil_msg *msg)
{
    for (uint32_t k = 0; k < in->rank; k++) {
        const int32_t before = pads[2u * k];
        const int32_t after = pads[2u * k + 1u];
        if (before < 0 || after < 0) {
            return hil_fail(msg, HIL_ERR_MODEL_INVALID, "negative padding (%d, %d) for dim %u",
                            before, after, k);
        }
        if ((int64_t)in->dims[k] + before + after != (int64_t)out->dims[k]) {
            return hil_fail(msg, HIL_ERR_MODEL_INVALID,
                            "output dim %u is %d, input %d + padding %d + %d", k, out->dims[k],
                            in->dims[k], before, after);
        }
        d->in_dims[k] = in->dims[k];
        d->out_dims[k] = out->dims[k];
        d->before[k] = before;
    }
    d->rank = in->rank;
    if (in->rank == 0) {
        d->rank = 1;
        d->in_dims[0] = d->out_dims[0] = 1;
        d->before[0] = 0;
    }
    d->empty = hil_tensor_elems(out) == 0;
    return HIL_OK;
}

static hil_status pad_prepare_as(hil_interp *ip, hil_node *node, const hil_model_op *op,
                                 uint8_t options, const char *options_name, hil_msg *msg)
{
    pad_data *d = node->data;
    hil_status st = hil_shape_options(op, options, options_name, msg);
    if (st == HIL_OK) {
        st = hil_shape_arity(node, 2, 3, 1, 1, msg);
    }
    if (st != HIL_OK) {
        return st;
    }
    const hil_tensor *in = hil_shape_in(ip, node, 0);
    const hil_tensor *out = hil_shape_out(ip, node, 0);
    const int32_t *pads = NULL;
    st = hil_shape_dtype(in, HIL_DTYPES_F32_I8_I16_I32, "input", msg);
    if (st == HIL_OK) {
        st = hil_shape_same_dtype(out, in, "output", msg);
    }
    if (st == HIL_OK) {
        st = hil_shape_max_rank(in, PAD_MAX_RANK, msg);
    }
    if (st == HIL_OK && out->rank != in->rank) {
        st = hil_fail(msg, HIL_ERR_MODEL_INVALID, "output rank %u differs from input rank %u",
                      (uint32_t)out->rank, (uint32_t)in->rank);
    }
    if (st == HIL_OK) {
        st = hil_shape_const_i32(hil_shape_in(ip, node, 1), 2u * in->rank, "paddings", &pads,
                                 msg);
    }
    if (st == HIL_OK) {
        st = pad_shapes(in, out, pads, d, msg);
    }
    if (st == HIL_OK && node->n_inputs == 3) {
        st = pad_value_input(in, hil_shape_in(ip, node, 2), out, msg);
    }
    if (st != HIL_OK) {
        return st;
    }
    d->elem = hil_shape_elem_bytes(in);
    d->zero_bits = 0; /* +0.0f, 0 */
    if (in->dtype == HIL_DT_INT8 && node->n_inputs == 2) {
        if (out->zero_point < INT8_MIN || out->zero_point > INT8_MAX) {
            return hil_fail(msg, HIL_ERR_MODEL_INVALID, "int8 zero point %d out of range",
                            out->zero_point);
        }
        d->zero_bits = (uint8_t)(int8_t)out->zero_point;
    }
    return HIL_OK;
}

static void fill(uint8_t *dst, uint32_t n, uint32_t bits, uint32_t elem)
{
    if (elem == 1) {
        memset(dst, (int)(bits & 0xFFu), n);
    } else if (elem == 2) {
        uint16_t *p = (uint16_t *)(void *)dst;
        for (uint32_t i = 0; i < n; i++) {
            p[i] = (uint16_t)bits;
        }
    } else {
        uint32_t *p = (uint32_t *)(void *)dst;
        for (uint32_t i = 0; i < n; i++) {
            p[i] = bits;
        }
    }
}

static hil_status pad_eval(hil_interp *ip, const hil_node *node, hil_msg *msg)
{
    (void)msg;
    const pad_data *d = node->data;
    if (d->empty) {
        return HIL_OK;
    }
    uint32_t bits = d->zero_bits;
    if (node->n_inputs == 3) { /* read now: the value may be a graph input */
        const uint8_t *v = hil_shape_in(ip, node, 2)->data;
        bits = d->elem == 1   ? v[0]
               : d->elem == 2 ? *(const uint16_t *)(const void *)v
                              : *(const uint32_t *)(const void *)v;
    }
    const uint8_t *src = hil_shape_in(ip, node, 0)->data;
    uint8_t *dst = hil_shape_out(ip, node, 0)->data;
    const uint32_t last = d->rank - 1u;
    const uint32_t out_n = (uint32_t)d->out_dims[last];
    const uint32_t in_n = (uint32_t)d->in_dims[last];
    const uint32_t before = (uint32_t)d->before[last];
    const size_t in_row = (size_t)in_n * d->elem;
    int32_t idx[PAD_MAX_RANK] = {0};
    for (;;) {
        int interior = 1;
        for (uint32_t k = 0; k < last; k++) {
            if ((uint32_t)(idx[k] - d->before[k]) >= (uint32_t)d->in_dims[k]) {
                interior = 0;
            }
        }
        if (interior) {
            fill(dst, before, bits, d->elem);
            if (in_row != 0) {
                memcpy(dst + (size_t)before * d->elem, src, in_row);
            }
            src += in_row;
            fill(dst + (size_t)(before + in_n) * d->elem, out_n - before - in_n, bits, d->elem);
        } else {
            fill(dst, out_n, bits, d->elem);
        }
        dst += (size_t)out_n * d->elem;
        uint32_t k = last;
        for (;;) {
            if (k == 0) {
                return HIL_OK;
            }
            k--;
            if (++idx[k] < d->out_dims[k]) {
                break;
            }
            idx[k] = 0;
        }
    }
}

static hil_status pad_prepare(hil_interp *ip, hil_node *node, const hil_model_op *op,
                              hil_msg *msg)
{
    return pad_prepare_as(ip, node, op, PAD_OPTIONS, "PadOptions", msg);
}

static hil_status padv2_prepare(hil_interp *ip, hil_node *node, const hil_model_op *op,
                                hil_msg *msg)
{
    return pad_prepare_as(ip, node, op, PADV2_OPTIONS, "PadV2Options", msg);
}

const hil_kernel hil_kernel_pad = {"PAD", pad_data_bytes, pad_prepare, pad_eval};
const hil_kernel hil_kernel_padv2 = {"PADV2", pad_data_bytes, padv2_prepare, pad_eval};
