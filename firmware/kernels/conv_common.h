/* Shared pieces of the convolution kernels (CONV_2D, DEPTHWISE_CONV_2D,
 * TRANSPOSE_CONV): option reading, the SAME/VALID padding rule, geometry
 * checks, per-channel requantization set-up and the small inline helpers
 * their inner loops use.
 *
 * Arithmetic follows TFLM's reference kernels:
 *   - padding: out = SAME ? ceil(in / stride) : (in + stride - eff) / stride
 *     (C division), eff = (filter - 1) * dilation + 1, and the leading pad is
 *     max(0, (out - 1) * stride + eff - in) / 2; the odd pixel (the offset)
 *     goes to the trailing edge, which a gather loop never needs;
 *   - per-channel multiplier for channel c:
 *     QuantizeMultiplier((double)in_scale * (double)filter_scale[c] /
 *     (double)out_scale), a single filter scale being broadcast;
 *   - the filter zero point is ignored (weights are symmetric);
 *   - int16 activations: zero points 0 (refused otherwise), no offsets; the
 *     accumulator is int32 only for CONV_2D with an int32 bias, else int64
 *     with TFLM's 64-bit MultiplyByQuantizedMultiplier (the oracle does so
 *     for a bias-less CONV_2D too, whatever its source suggests).
 * Integer accumulators are kept in unsigned types: TFLM's int32/int64 sums
 * wrap in practice, and unsigned arithmetic gives those bits without UB. */
#ifndef HIL_KERNELS_CONV_COMMON_H
#define HIL_KERNELS_CONV_COMMON_H

#include <stddef.h>
#include <stdint.h>

#include "engine/interp.h"
#include "engine/model.h"
#include "hil/status.h"
#include "kernels/quant.h"

enum { HIL_PAD_SAME = 0, HIL_PAD_VALID = 1 };

/* How the accumulation is done, chosen at prepare. */
enum {
    HIL_CONV_F32 = 0,   /* float32 everywhere */
    HIL_CONV_I8 = 1,    /* int8 x int8, int32 accumulator, int32 bias */
    HIL_CONV_I16_32 = 2, /* int16 x int8, int32 accumulator: CONV_2D with int32 bias */
    HIL_CONV_I16_64 = 3  /* int16 x int8, int64 accumulator: int64, int16 or no bias */
};

/* Where the fields of an op's options table are (-1: not in this table). */
typedef struct {
    uint8_t options_type; /* BuiltinOptions union member */
    const char *options_name;
    int8_t padding;
    int8_t stride_w;
    int8_t stride_h;
    int8_t activation;
    int8_t dilation_w;
    int8_t dilation_h;
    int8_t depth_multiplier;
} hil_conv_option_fields;

typedef struct {
    int32_t padding;
    int32_t stride_h;
    int32_t stride_w;
    int32_t dilation_h;
    int32_t dilation_w;
    int32_t activation;
    int32_t depth_multiplier;
} hil_conv_options;

/* One spatial axis of a convolution. */
typedef struct {
    int32_t in;
    int32_t out;
    int32_t filter;
    int32_t stride;
    int32_t dilation;
    int32_t pad; /* leading padding */
} hil_conv_axis;

/* What every kernel's prepared data starts with (kept small: it lives in the
 * arena for the model's life). The per-channel table follows the kernel's
 * data; see hil_conv_data_bytes. */
typedef struct {
    uint32_t batches;
    hil_conv_axis h;
    hil_conv_axis w;
    uint32_t in_c;
    uint32_t out_c;
    uint8_t kind;       /* HIL_CONV_* */
    uint8_t bias_dtype; /* TFLite type of the bias, when there is one */
    int32_t input_offset;
    int32_t output_offset;
    union { /* the activation range: quantized kinds, or float */
        struct {
            int32_t act_min;
            int32_t act_max;
        };
        struct {
            float f_min;
            float f_max;
        };
    };
} hil_conv_params;

/* The per-channel requantization table (quantized kinds only). */
typedef struct {
    const int32_t *mult;
    const int8_t *shift; /* in [-31, 30] */
} hil_conv_requant;

/* The table a kernel's data is followed by: `table` points just past it. */
static inline hil_conv_requant hil_conv_requant_of(const hil_conv_params *p, const void *table)
{
    hil_conv_requant r = {NULL, NULL};
    if (p->kind != HIL_CONV_F32) {
        r.mult = (const int32_t *)table;
        r.shift = (const int8_t *)(r.mult + p->out_c);
    }
    return r;
}

/* The requantization of output channel `oc`. */
static inline hil_qmul hil_conv_qmul(const hil_conv_requant *r, uint32_t oc)
{
    hil_qmul q = {r->mult[oc], r->shift[oc]};
    return q;
}

/* The tensors of one node. */
typedef struct {
    hil_tensor *in;
    hil_tensor *filter;
    hil_tensor *bias; /* NULL when absent */
    hil_tensor *out;
} hil_conv_tensors;

/* Read and check the options: padding SAME/VALID, strides and dilations >= 1,
 * depth multiplier >= 1 where the table has one, a supported activation. */
hil_status hil_conv_read_options(hil_interp *ip, const hil_model_op *op,
                                 const hil_conv_option_fields *fields, hil_conv_options *o,
                                 hil_msg *msg);

/* Fetch the node's tensors: `bias_index` or `bias_index + 1` inputs (the
 * bias being optional), exactly one output. */
hil_status hil_conv_get_tensors(hil_interp *ip, const hil_node *node, uint32_t in_index,
                                uint32_t filter_index, uint32_t bias_index, hil_conv_tensors *t,
                                hil_msg *msg);

/* Extra bias types an op accepts with int16 activations (int64 always). */
enum {
    HIL_CONV_I16_BIAS32 = 1, /* int32 bias: int32 accumulator (CONV_2D) */
    HIL_CONV_I16_BIAS16 = 2  /* int16 bias, widened to int64 (TRANSPOSE_CONV) */
};

/* Types: float32 x float32 (+ float32 bias), int8 x int8 (+ int32 bias),
 * int16 x int8 (+ int64 bias, or one `i16_bias` allows). Sets p->kind and
 * p->bias_dtype. Without a bias, int16 accumulates in int64 (as the oracle
 * does for all three ops). */
hil_status hil_conv_check_types(const hil_conv_tensors *t, uint32_t i16_bias,
                                hil_conv_params *p, hil_msg *msg);

/* Input, filter and output of rank 4; bias (if any) of out_c elements. */
hil_status hil_conv_check_ranks(const hil_conv_tensors *t, hil_msg *msg);

/* The sliding window of CONV_2D and DEPTHWISE_CONV_2D (NHWC input and output,
 * filter dims 1 and 2 its height and width), once their shapes are checked:
 * batches and channels, both axes with their padding, and the input steps
 * between taps (*x_col, *x_row; 0 where two taps cannot both be inside). */
hil_status hil_conv_plan_window(const hil_conv_tensors *t, const hil_conv_options *o,
                                hil_conv_params *p, int32_t *x_col, int32_t *x_row,
                                hil_msg *msg);

/* What CONV_2D and DEPTHWISE_CONV_2D check first at prepare, alike: the
 * tensors (inputs 0 input, 1 filter, 2 optional bias), the options, the
 * types (`i16_bias` as for hil_conv_check_types) and the ranks. */
hil_status hil_conv_prepare_common(hil_interp *ip, const hil_node *node, const hil_model_op *op,
                                   const hil_conv_option_fields *fields, uint32_t i16_bias,
                                   hil_conv_tensors *t, hil_conv_options *o, hil_conv_params *p,
                                   hil_msg *msg);

/* Leading padding by TFLM's rule (see the top of this file), for an axis of
 * `in` pixels; the result is in [0, INT32_MAX]. */
hil_status hil_conv_padding(int32_t padding, int32_t in, int32_t filter, int32_t stride,
                            int32_t dilation, int32_t *pad, hil_msg *msg);

/* Check that the loops over this axis stay in int32 (they do index math in
 * int32): every input coordinate a tap can reach, and its negation, fit. */
hil_status hil_conv_axis_fits(const hil_conv_axis *a, const char *what, hil_msg *msg);

/* Bytes of prepared data: `base` plus, for a quantized op, an int32
 * multiplier and an int8 shift per output channel (channels = dimension
 * `channel_dim` of the filter, input `filter_index`): 5 bytes a channel where
 * TFLM keeps 8. `base` must keep the table 4-byte aligned. Never fails: bad
 * models are refused by prepare. */
uint32_t hil_conv_data_bytes(hil_model *m, const hil_model_op *op, uint32_t filter_index,
                             uint32_t channel_dim, uint32_t base);

/* Quantized set-up: zero points, per-channel multipliers and shifts into
 * `table` (the out_c entries data_bytes reserved after `base`), activation
 * range. For float kinds, only the float activation range. */
hil_status hil_conv_prepare_quant(hil_interp *ip, const hil_node *node, uint32_t filter_index,
                                  const hil_conv_tensors *t, int32_t quantized_dim,
                                  int32_t activation, hil_conv_params *p, void *table,
                                  hil_msg *msg);

/* What CONV_2D's and DEPTHWISE_CONV_2D's prepared data start with: the
 * parameters, the constants eval reads (kept at prepare so eval looks up only
 * the activations: a constant's tensor is parsed from the model on every
 * lookup) and the input's steps between taps. */
typedef struct {
    hil_conv_params p;
    const uint8_t *w;
    const void *bias; /* NULL when absent */
    int32_t x_row;    /* input elements between two tap rows (0: one row at most) */
    int32_t x_col;    /* ... between two tap columns (below the input's size) */
} hil_conv_plan;

/* The kernel's own shape checks on the input, filter and output dimensions,
 * run after the common ones; `plan` is the start of the kernel's data, whose
 * own fields it may fill. */
typedef hil_status (*hil_conv_check_fn)(const int32_t *in, const int32_t *f, const int32_t *out,
                                        const hil_conv_options *o, hil_conv_plan *plan,
                                        hil_msg *msg);

/* How CONV_2D or DEPTHWISE_CONV_2D prepares. */
typedef struct {
    const hil_conv_option_fields *fields;
    uint32_t i16_bias;     /* HIL_CONV_I16_BIAS32 where int16 takes an int32 bias, else 0 */
    uint32_t filter_index; /* the node input that is the filter */
    int32_t out_dim;       /* the filter's output-channel (and quantized) dimension */
    hil_conv_check_fn check;
} hil_conv_kind;

/* Prepare a node whose data starts with `plan` and is followed by the
 * requantization `table`: the common preparation, batch and output-channel
 * checks, the kernel's checks, the window plan and the quantization. */
hil_status hil_conv_prepare_plan(hil_interp *ip, const hil_node *node, const hil_model_op *op,
                                 const hil_conv_kind *kind, hil_conv_plan *plan, void *table,
                                 hil_msg *msg);

/* A convolution kernel's two table entries, PREFIX_data_bytes and
 * PREFIX_prepare, for node data of type DATA_TYPE (a hil_conv_plan first, then the
 * requantization table) prepared as KIND says: the kernels differ only in
 * these names, so they are written once. */
#define HIL_CONV_KERNEL_ENTRIES(prefix, data_type, kind)                                      \
    static uint32_t prefix##_data_bytes(hil_model *m, const hil_model_op *op)                 \
    {                                                                                          \
        return hil_conv_data_bytes(m, op, (kind).filter_index, (uint32_t)(kind).out_dim,       \
                                   (uint32_t)sizeof(data_type));                               \
    }                                                                                          \
    static hil_status prefix##_prepare(hil_interp *ip, hil_node *node, const hil_model_op *op, \
                                       hil_msg *msg)                                           \
    {                                                                                          \
        data_type *d = node->data;                                                             \
        return hil_conv_prepare_plan(ip, node, op, &(kind), &d->plan, d + 1, msg);             \
    }

/* Taps [*first, *end) of a filter of `filter` taps, `dilation` apart, that
 * land inside [0, in) when tap 0 sits at `origin`. Prepare guarantees that
 * none of the int32 arithmetic here overflows. */
static inline void hil_conv_taps(int32_t origin, int32_t dilation, int32_t filter, int32_t in,
                                 int32_t *first, int32_t *end)
{
    int32_t lo = 0;
    int32_t hi = filter;
    if (origin < 0) {
        lo = dilation == 1 ? -origin : (dilation - 1 - origin) / dilation;
    }
    const int32_t room = in - 1 - origin; /* last reachable offset from origin */
    if (room < 0) {
        hi = 0;
    } else {
        const int32_t last = dilation == 1 ? room : room / dilation;
        if (last < filter - 1) {
            hi = last + 1;
        }
    }
    *first = lo;
    *end = hi > lo ? hi : lo;
}

/* Along one axis, the taps of output position `o` that land in the input:
 * the first tap, how many there are, and the input position the first reads. */
typedef struct {
    int32_t first;
    uint32_t count;
    int32_t at;
} hil_conv_span;

static inline hil_conv_span hil_conv_span_of(const hil_conv_axis *a, int32_t o)
{
    const int32_t origin = o * a->stride - a->pad;
    int32_t first;
    int32_t end;
    hil_conv_taps(origin, a->dilation, a->filter, a->in, &first, &end);
    return (hil_conv_span){first, (uint32_t)(end - first), origin + first * a->dilation};
}

/* Bytes of one activation element of kind p->kind. */
static inline size_t hil_conv_elem_bytes(const hil_conv_params *p)
{
    return p->kind == HIL_CONV_F32 ? 4u : (p->kind == HIL_CONV_I8 ? 1u : 2u);
}

/* What CONV_2D's and DEPTHWISE_CONV_2D's eval walks: the node's input and
 * output data, the bytes of one input image (a batch) and of one output
 * pixel (its out_c channels). */
typedef struct {
    const uint8_t *x;
    uint8_t *y;
    size_t image_bytes;
    size_t out_pixel;
} hil_conv_io;

/* The opening of their eval: the node's input (`in_index`) and output. */
static inline hil_status hil_conv_eval_io(hil_interp *ip, const hil_node *node,
                                          uint32_t in_index, const hil_conv_params *p,
                                          hil_conv_io *io, hil_msg *msg)
{
    const hil_tensor *in = hil_node_input(ip, node, in_index);
    const hil_tensor *out = hil_node_output(ip, node, 0);
    if (in == NULL || out == NULL) {
        return hil_fail(msg, HIL_ERR_MODEL_INVALID, "needs input and output tensors");
    }
    const size_t elem = hil_conv_elem_bytes(p);
    io->x = in->data;
    io->y = out->data;
    io->image_bytes = (size_t)p->h.in * (size_t)p->w.in * p->in_c * elem;
    io->out_pixel = (size_t)p->out_c * elem;
    return HIL_OK;
}

/* The taps of one output pixel that fall inside the input: `rows` x `cols`
 * taps; the first one reads input element `x0` and filter element `w0` (of
 * output channel 0, input channel 0); the steps move one tap down/right in
 * the input and in the filter (negative for TRANSPOSE_CONV's filter). */
typedef struct {
    uint32_t rows;
    uint32_t cols;
    ptrdiff_t x0;
    ptrdiff_t w0;
    ptrdiff_t x_row;
    ptrdiff_t x_col;
    ptrdiff_t w_row;
    ptrdiff_t w_col;
} hil_conv_window;

/* Everything a dot-product pixel (CONV_2D, TRANSPOSE_CONV) reads besides the
 * window: output channels are in `groups` groups of `per_group`; group g
 * reads input channels [g * depth, (g + 1) * depth). */
typedef struct {
    const hil_conv_params *p;
    hil_conv_requant rq;
    const void *x;    /* input, batch already applied */
    const void *w;    /* filter */
    const void *bias; /* or NULL */
    ptrdiff_t w_oc;   /* filter elements per output channel */
    uint32_t depth;   /* filter input depth */
    uint32_t groups;
    uint32_t per_group;
} hil_conv_dot;

/* Compute the out_c outputs of one pixel (into `y`, elements of the output
 * type) as sum over the window and the depth of input x filter, in TFLM's
 * order (taps row-major, then input channels), plus bias, then requantize or
 * clamp. An empty window gives bias only. */
void hil_conv_dot_pixel(const hil_conv_dot *a, const hil_conv_window *win, void *y);

/* Int32 bits of an unsigned accumulator (two's complement, no UB). */
static inline int32_t hil_u32_as_i32(uint32_t u)
{
    return u <= (uint32_t)INT32_MAX ? (int32_t)u : -(int32_t)(~u) - 1;
}

static inline int64_t hil_u64_as_i64(uint64_t u)
{
    return u <= (uint64_t)INT64_MAX ? (int64_t)u : -(int64_t)(~u) - 1;
}

/* int8 output: requantize, add the output zero point, clamp. */
static inline int8_t hil_conv_out_i8(uint32_t acc, hil_qmul m, int32_t out_offset, int32_t lo,
                                     int32_t hi)
{
    int32_t v = hil_wrap_add(hil_mul_by_qmul_inline(hil_u32_as_i32(acc), m), out_offset);
    return (int8_t)hil_clamp_i32(v, lo, hi);
}

#endif
