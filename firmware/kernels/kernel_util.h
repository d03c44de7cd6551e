/* Utilities every kind of kernel uses: tensor access and checks, option
 * reading, broadcast plans for binary operators, and 256-entry lookup tables
 * for int8 unary operators. */
#ifndef HIL_KERNELS_KERNEL_UTIL_H
#define HIL_KERNELS_KERNEL_UTIL_H

#include <stdint.h>

#include "engine/interp.h"
#include "engine/model.h"
#include "hil/status.h"

/* ---- tensors and options -------------------------------------------------- */

/* Inputs `n_in` (all required) and output 0 of a node; MODEL_INVALID when a
 * tensor is missing. `in` has room for n_in pointers. */
hil_status hil_ku_tensors(hil_interp *ip, const hil_node *node, uint32_t n_in, hil_tensor **in,
                          hil_tensor **out, hil_msg *msg);

/* Type of input `i` of an operator, read from the model (for data_bytes,
 * which sees only the model); 0xFF when it cannot be read. */
uint8_t hil_ku_model_input_type(hil_model *m, const hil_model_op *op, uint32_t i);

/* Name of a tensor type for messages ("int8", "float32", ... or "type N"). */
const char *hil_ku_type_name(uint8_t dtype);

/* Check that a quantized tensor has its parameters: a positive finite scale
 * and a zero point inside the type's range. `what` names it ("input"). */
hil_status hil_ku_check_quant(const hil_tensor *t, const char *what, hil_msg *msg);

/* hil_ku_check_quant of a binary operator's "input 1", "input 2" and "output". */
hil_status hil_ku_check_binary_quant(hil_tensor *const in[2], const hil_tensor *out,
                                     hil_msg *msg);

/* Same number of elements (unary operators: shapes need not be equal, as in
 * TFLM's MatchingFlatSize only the element counts must agree). */
hil_status hil_ku_same_elems(const hil_tensor *a, const hil_tensor *b, hil_msg *msg);

/* Options table of `op` when it is of union type `type`; *present = 0 when the
 * operator has no options (TFLM then uses the defaults). */
hil_status hil_ku_options(hil_interp *ip, const hil_model_op *op, uint8_t type,
                          const char *type_name, int *present, hil_msg *msg);
/* A float32 field of an options table (def when absent). */
float hil_ku_option_f32(hil_interp *ip, const hil_model_op *op, unsigned field, float def);

/* The fused activation of ADD/SUB/MUL/pooling options, refused when unknown. */
hil_status hil_ku_activation(hil_interp *ip, const hil_model_op *op, unsigned field,
                             int present, int32_t *act, hil_msg *msg);

/* ---- broadcasting ------------------------------------------------------------ */

#define HIL_BCAST_OUTER (HIL_MAX_RANK - 1)

/* How to walk two inputs and an output of a broadcast binary operator: the
 * output is a set of contiguous rows of `inner` elements; within a row an
 * input either advances (step 1) or repeats one element (step 0). Outer
 * dimensions are fused wherever both inputs broadcast alike. */
typedef struct {
    uint32_t total; /* output elements; 0 = nothing to do */
    uint32_t inner;
    uint8_t a_step;
    uint8_t b_step;
    uint8_t n_outer;
    uint8_t pad_;
    uint32_t count[HIL_BCAST_OUTER]; /* outer extents, innermost first */
    uint32_t a_stride[HIL_BCAST_OUTER]; /* elements; 0 where a is broadcast */
    uint32_t b_stride[HIL_BCAST_OUTER];
} hil_bcast;

/* Plan `out` = f(a, b) with numpy broadcasting: ranks up to max_rank, the
 * output rank is the larger input rank and each output dimension is the
 * broadcast of the inputs' (equal, or one of them 1). */
hil_status hil_bcast_plan(const hil_tensor *a, const hil_tensor *b, const hil_tensor *out,
                          uint32_t max_rank, hil_bcast *plan, hil_msg *msg);

/* One row: out[i] = f(a[i * a_step], b[i * b_step]) for i < n. */
typedef void (*hil_bcast_row)(const void *params, const void *a, uint32_t a_step, const void *b,
                              uint32_t b_step, void *out, uint32_t n);

/* Run a plan; a, b and out are the tensors' data, *_size their element sizes. */
void hil_bcast_run(const hil_bcast *plan, const void *params, const void *a, uint32_t a_size,
                   const void *b, uint32_t b_size, void *out, uint32_t out_size,
                   hil_bcast_row row);

/* What ADD, SUB and MUL check first at prepare, alike: two inputs and an
 * output of one type (int8, int16, float32 or int32), the options table of
 * union type `options_type` with its fused activation at `act_field`, and the
 * broadcast plan. */
hil_status hil_ku_binary_prepare(hil_interp *ip, const hil_node *node, const hil_model_op *op,
                                 uint8_t options_type, const char *options_name,
                                 unsigned act_field, hil_tensor **in, hil_tensor **out,
                                 int32_t *act, hil_bcast *plan, hil_msg *msg);

/* ---- int8 lookup tables ------------------------------------------------------- */

/* out[i] = lut[(uint8_t)in[i]]: 256-entry table indexed by the input's bits. */
void hil_lut8_run(const int8_t *lut, const int8_t *in, int8_t *out, uint32_t n);

/* Index of an int8 value in such a table. */
static inline uint32_t hil_lut8_index(int32_t v)
{
    return (uint32_t)v & 0xFFu;
}

#endif
