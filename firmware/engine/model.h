/* TFLite schema reader over flatbuf.h: model, subgraph 0, tensors, buffers,
 * operator codes and operators. Nothing is copied or allocated; each call
 * parses and validates what it returns, straight from the model bytes, so the
 * model itself is the only storage (it must stay valid while in use).
 * Errors are reported through the reader's sticky status and message. */
#ifndef HIL_ENGINE_MODEL_H
#define HIL_ENGINE_MODEL_H

#include <stdint.h>
#include "engine/flatbuf.h"
#include "hil/engine.h"

typedef struct {
    hil_fb fb;
    hil_fb_vec opcodes;   /* OperatorCode tables */
    hil_fb_vec buffers;   /* Buffer tables */
    hil_fb_vec tensors;   /* Tensor tables of subgraph 0 */
    hil_fb_vec operators; /* Operator tables of subgraph 0, in execution order */
    hil_fb_vec inputs;    /* int32 tensor indices, all valid */
    hil_fb_vec outputs;   /* int32 tensor indices, all valid */
} hil_model;

typedef struct {
    uint8_t dtype; /* TFLite TensorType; only types with a fixed element size */
    uint8_t rank;
    uint8_t is_variable;
    uint8_t quantized; /* has scale and zero_point (the TFLM rule) */
    int32_t dims[HIL_MAX_RANK];
    uint32_t elem_bytes;
    uint32_t bytes;
    const uint8_t *data; /* constant contents, or NULL; exactly `bytes` long, aligned */
    uint32_t buffer;
    float scale;       /* scale[0]; 0 when not quantized */
    int32_t zero_point; /* zero_point[0]; 0 when not quantized */
    uint32_t channels;  /* number of scales (> 1: per-channel) */
    int32_t quantized_dimension;
    hil_fb_vec scales;      /* float */
    hil_fb_vec zero_points; /* int64 */
    hil_fb_vec shape;       /* int32, rank long (the dims above) */
} hil_model_tensor;

typedef struct {
    int32_t code; /* effective builtin code: max(deprecated_builtin_code, builtin_code) */
    int32_t version;
    uint32_t opcode_index;
    hil_fb_vec inputs;  /* int32, each -1 (absent) or a valid tensor index */
    hil_fb_vec outputs; /* int32, each a valid tensor index */
    uint8_t options_type; /* BuiltinOptions union type; 0 = none */
    hil_fb_table options;
} hil_model_op;

/* Open a model: root, version 3, exactly one subgraph, graph inputs/outputs. */
hil_status hil_model_open(hil_model *m, const uint8_t *data, uint32_t size, hil_msg *msg);

static inline uint32_t hil_model_tensor_count(const hil_model *m)
{
    return m->tensors.len;
}
static inline uint32_t hil_model_op_count(const hil_model *m)
{
    return m->operators.len;
}
static inline uint32_t hil_model_io_count(const hil_model *m, int is_output)
{
    return is_output ? m->outputs.len : m->inputs.len;
}
/* Tensor index of graph input/output i (i < hil_model_io_count). */
int32_t hil_model_io_tensor(hil_model *m, int is_output, uint32_t i);

/* Parse and validate tensor `index`: shape, type, size, buffer bounds and
 * alignment, quantization; sparse and externally stored tensors are refused. */
hil_status hil_model_get_tensor(hil_model *m, uint32_t index, hil_model_tensor *out);
float hil_model_tensor_scale(hil_model *m, const hil_model_tensor *t, uint32_t channel);
/* Part of hil_model_get_tensor, for a tensor the loader has already read in
 * full (so validated): HIL_TENSOR_SHAPE fills dtype, rank, dims, elem_bytes
 * and bytes; HIL_TENSOR_QUANT the quantization fields (quantized, scale,
 * zero_point, channels, quantized_dimension, scales, zero_points). Other
 * fields are zero. A fraction of the cost of the full read, for kernels
 * sizing or preparing from one aspect of a filter. */
enum { HIL_TENSOR_SHAPE = 1, HIL_TENSOR_QUANT = 2 };
hil_status hil_model_get_tensor_part(hil_model *m, uint32_t index, unsigned parts,
                                     hil_model_tensor *out);
int64_t hil_model_tensor_zero_point(hil_model *m, const hil_model_tensor *t, uint32_t channel);

/* Parse and validate operator `index` (opcode, tensor indices, options). */
hil_status hil_model_get_op(hil_model *m, uint32_t index, hil_model_op *out);
int32_t hil_model_op_tensor(hil_model *m, const hil_model_op *op, int is_output, uint32_t i);

/* Bytes of one element of a TFLite type; 0 for types the engine cannot hold. */
uint32_t hil_dtype_bytes(int32_t dtype);

#endif
