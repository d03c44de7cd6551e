/* Shared pieces of the data-movement kernels: RESHAPE, SQUEEZE, EXPAND_DIMS,
 * SHAPE, CONCATENATION, PACK, UNPACK, SPLIT, SPLIT_V, PAD, PADV2,
 * STRIDED_SLICE, TRANSPOSE and RESIZE_NEAREST_NEIGHBOR.
 *
 * None of these kernels does arithmetic on element values; they move bytes.
 * Prepare validates every index, axis and shape against the tensors (so a
 * hostile model is refused, never followed out of bounds) and reduces the
 * work to one of two precomputed plans that eval runs without any checks:
 *   - hil_blocks: `outer` repetitions of n contiguous pieces (concatenation,
 *     pack, split, unpack);
 *   - hil_walk: an N-dimensional strided read of the input written
 *     sequentially to the output (transpose, strided slice), with adjacent
 *     dimensions merged and unit dimensions dropped so the innermost loop is
 *     as long as possible (a memcpy when it is contiguous). */
#ifndef HIL_KERNELS_SHAPE_COMMON_H
#define HIL_KERNELS_SHAPE_COMMON_H

#include <stdint.h>

#include "engine/interp.h"
#include "engine/model.h"
#include "hil/status.h"

/* Sets of element types, one bit per TFLite TensorType code. */
#define HIL_DTYPE_BIT(dt) (1u << (uint32_t)(dt))
#define HIL_DTYPES_F32_I8_I16                                                                    \
    (HIL_DTYPE_BIT(HIL_DT_FLOAT32) | HIL_DTYPE_BIT(HIL_DT_INT8) | HIL_DTYPE_BIT(HIL_DT_INT16))
#define HIL_DTYPES_F32_I8_I16_I32 (HIL_DTYPES_F32_I8_I16 | HIL_DTYPE_BIT(HIL_DT_INT32))
#define HIL_DTYPES_ANY 0xFFFFFFFFu

/* TFLite's name of a tensor type ("INT8"), or "UNKNOWN". */
const char *hil_dtype_name(uint8_t dtype);

/* Options of an operator: absent (type 0, meaning all defaults, as in TFLM)
 * or the expected BuiltinOptions table; anything else is MODEL_INVALID. */
hil_status hil_shape_options(const hil_model_op *op, uint8_t expected, const char *name,
                             hil_msg *msg);

/* Exactly / between counts of inputs and outputs, each one present. */
hil_status hil_shape_arity(const hil_node *node, uint32_t min_in, uint32_t max_in,
                           uint32_t min_out, uint32_t max_out, hil_msg *msg);

/* Input/output i, which hil_shape_arity has shown to be present. */
hil_tensor *hil_shape_in(hil_interp *ip, const hil_node *node, uint32_t i);
hil_tensor *hil_shape_out(hil_interp *ip, const hil_node *node, uint32_t i);

/* `t` has a type in `allowed` ("<what> type UINT8 is not supported"). */
hil_status hil_shape_dtype(const hil_tensor *t, uint32_t allowed, const char *what,
                           hil_msg *msg);
/* `t` has the type of `ref` ("<what> type X differs from input type Y"). */
hil_status hil_shape_same_dtype(const hil_tensor *t, const hil_tensor *ref, const char *what,
                                hil_msg *msg);
/* `t` has at most `max_rank` dimensions ("rank R is not supported"). */
hil_status hil_shape_max_rank(const hil_tensor *t, uint32_t max_rank, hil_msg *msg);

/* A constant int32 tensor with `count` elements (any shape), for index
 * operands TFLM reads at prepare: begin/end/strides, perm, paddings, axis,
 * size. `what` names it in messages. */
hil_status hil_shape_const_i32(const hil_tensor *t, uint32_t count, const char *what,
                               const int32_t **values, hil_msg *msg);

/* A possibly negative axis into `rank` dimensions: [-rank, rank). */
hil_status hil_shape_axis(int32_t axis, uint32_t rank, const char *what, uint32_t *out,
                          hil_msg *msg);

/* Same rank and dimensions. */
int hil_shape_same_dims(const hil_tensor *a, const hil_tensor *b);

/* Product of dims[from..to) (1 when empty); only called on dims whose
 * product is bounded by a non-empty tensor's size, so it fits in 32 bits. */
uint32_t hil_shape_prod(const int32_t *dims, uint32_t from, uint32_t to);

/* Bytes of one element of `t` (1, 2, 4 or 8). */
uint32_t hil_shape_elem_bytes(const hil_tensor *t);

/* ---- blocks: outer x (piece 0 | piece 1 | ... | piece n-1) ---------------- */

/* Followed in memory by n uint32_t piece sizes in bytes. */
typedef struct {
    uint32_t outer; /* 0: nothing to copy */
    uint32_t row;   /* bytes of one repetition: the sum of the pieces */
    uint32_t n;
} hil_blocks;

static inline uint32_t hil_blocks_bytes(uint32_t n)
{
    return (uint32_t)sizeof(hil_blocks) + n * (uint32_t)sizeof(uint32_t);
}
static inline uint32_t *hil_blocks_piece(hil_blocks *b)
{
    return (uint32_t *)(void *)(b + 1);
}

/* Gather: piece i of every repetition comes from node input i
 * (CONCATENATION, PACK) ... */
void hil_blocks_gather(const hil_blocks *b, hil_interp *ip, const hil_node *node, uint8_t *dst);
/* ... or scatter: piece i goes to node output i (SPLIT, SPLIT_V, UNPACK). */
void hil_blocks_scatter(const hil_blocks *b, hil_interp *ip, const hil_node *node,
                        const uint8_t *src);

/* ---- walk: output[i0..in] = input[base + sum(ik * step[k])] ------------- */

typedef struct {
    int32_t base;                /* byte offset of the first element read */
    int32_t count[HIL_MAX_RANK]; /* iterations per dimension, outermost first */
    int32_t step[HIL_MAX_RANK];  /* signed byte step of the input per dimension */
    int32_t back[HIL_MAX_RANK];  /* (count - 1) * step: undoes one full pass */
    uint8_t rank;                /* 0: nothing to copy */
    uint8_t elem;                /* element size: 1, 2, 4 or 8 */
} hil_walk;

/* Build a walk from per-dimension counts and steps in elements; merges
 * dimensions that nest contiguously and drops those of count 1. A count of
 * 0 anywhere makes an empty walk. Every offset the walk reaches must have
 * been checked by the caller to lie inside the input. */
void hil_walk_init(hil_walk *w, uint32_t rank, const int32_t *count, const int32_t *step,
                   int32_t base, uint32_t elem);
void hil_walk_run(const hil_walk *w, const uint8_t *src, uint8_t *dst);

/* Copy the input to the output when they are distinct buffers. */
void hil_shape_copy(hil_interp *ip, const hil_node *node);

#endif
