/* TFLite schema reader; see model.h. Field ids follow the declaration order
 * in TFLite's schema.fbs (a vtable slot is 4 + 2 * id). */
#include "engine/model.h"

#include <string.h>

#define SCHEMA_VERSION 3u
#define MAX_TENSOR_BYTES 0x7FFFFFFFu

enum { MODEL_VERSION = 0, MODEL_OPERATOR_CODES = 1, MODEL_SUBGRAPHS = 2, MODEL_BUFFERS = 4 };
enum { OPCODE_DEPRECATED_BUILTIN = 0, OPCODE_VERSION = 2, OPCODE_BUILTIN = 3 };
enum { SUBGRAPH_TENSORS = 0, SUBGRAPH_INPUTS = 1, SUBGRAPH_OUTPUTS = 2, SUBGRAPH_OPERATORS = 3 };
enum {
    TENSOR_SHAPE = 0,
    TENSOR_TYPE = 1,
    TENSOR_BUFFER = 2,
    TENSOR_QUANTIZATION = 4,
    TENSOR_IS_VARIABLE = 5,
    TENSOR_SPARSITY = 6,
    TENSOR_EXTERNAL_BUFFER = 10
};
enum { QUANT_SCALE = 2, QUANT_ZERO_POINT = 3, QUANT_DETAILS_TYPE = 4, QUANT_DIMENSION = 6 };
enum {
    OP_OPCODE_INDEX = 0,
    OP_INPUTS = 1,
    OP_OUTPUTS = 2,
    OP_OPTIONS_TYPE = 3,
    OP_OPTIONS = 4
};
enum { BUFFER_DATA = 0, BUFFER_OFFSET = 1, BUFFER_SIZE = 2 };

uint32_t hil_dtype_bytes(int32_t dtype)
{
    switch (dtype) {
    case HIL_DT_UINT8:
    case HIL_DT_INT8:
    case HIL_DT_BOOL:
        return 1;
    case HIL_DT_INT16:
    case HIL_DT_FLOAT16:
    case 16: /* UINT16 */
        return 2;
    case HIL_DT_FLOAT32:
    case HIL_DT_INT32:
    case 15: /* UINT32 */
        return 4;
    case HIL_DT_INT64:
    case 10: /* FLOAT64 */
    case 12: /* UINT64 */
        return 8;
    default:
        return 0; /* strings, complex, sub-byte and resource types */
    }
}

/* Every index in an int32 vector lies in [lowest, limit). */
static hil_status check_indices(hil_model *m, const hil_fb_vec *v, int32_t lowest, uint32_t limit,
                                const char *what, uint32_t owner)
{
    for (uint32_t i = 0; i < v->len && m->fb.status == HIL_OK; i++) {
        int32_t t = hil_fb_vec_i32(&m->fb, v, i);
        if (t < lowest || (t >= 0 && (uint32_t)t >= limit)) {
            return hil_fb_fail(&m->fb, HIL_ERR_MODEL_INVALID,
                               "%s %u: tensor index %d out of range (%u tensors)", what, owner, t,
                               limit);
        }
    }
    return m->fb.status;
}

hil_status hil_model_open(hil_model *m, const uint8_t *data, uint32_t size, hil_msg *msg)
{
    memset(m, 0, sizeof *m);
    hil_fb_init(&m->fb, data, size, msg);
    hil_fb *fb = &m->fb;
    hil_fb_table root;
    if (!hil_fb_root(fb, &root)) {
        return fb->status;
    }
    uint32_t version = hil_fb_u32(fb, &root, MODEL_VERSION, 0);
    if (fb->status == HIL_OK && version != SCHEMA_VERSION) {
        return hil_fb_fail(fb, HIL_ERR_UNSUPPORTED, "model schema version %u, expected %u",
                           version, SCHEMA_VERSION);
    }
    hil_fb_vec subgraphs;
    hil_fb_vector(fb, &root, MODEL_OPERATOR_CODES, 4, &m->opcodes, "Model.operator_codes");
    hil_fb_vector(fb, &root, MODEL_BUFFERS, 4, &m->buffers, "Model.buffers");
    hil_fb_vector(fb, &root, MODEL_SUBGRAPHS, 4, &subgraphs, "Model.subgraphs");
    if (fb->status != HIL_OK) {
        return fb->status;
    }
    if (subgraphs.len == 0) {
        return hil_fb_fail(fb, HIL_ERR_MODEL_INVALID, "model has no subgraph");
    }
    if (subgraphs.len > 1) {
        return hil_fb_fail(fb, HIL_ERR_UNSUPPORTED,
                           "model has %u subgraphs; only single-subgraph models are supported",
                           subgraphs.len);
    }
    hil_fb_table sg;
    if (!hil_fb_vec_table(fb, &subgraphs, 0, &sg, "Model.subgraphs")) {
        return fb->status;
    }
    hil_fb_vector(fb, &sg, SUBGRAPH_TENSORS, 4, &m->tensors, "SubGraph.tensors");
    hil_fb_vector(fb, &sg, SUBGRAPH_OPERATORS, 4, &m->operators, "SubGraph.operators");
    hil_fb_vector(fb, &sg, SUBGRAPH_INPUTS, 4, &m->inputs, "SubGraph.inputs");
    hil_fb_vector(fb, &sg, SUBGRAPH_OUTPUTS, 4, &m->outputs, "SubGraph.outputs");
    check_indices(m, &m->inputs, 0, m->tensors.len, "graph input list", 0);
    check_indices(m, &m->outputs, 0, m->tensors.len, "graph output list", 0);
    return fb->status;
}

int32_t hil_model_io_tensor(hil_model *m, int is_output, uint32_t i)
{
    return hil_fb_vec_i32(&m->fb, is_output ? &m->outputs : &m->inputs, i);
}

/* Locate a buffer's bytes: the inline data vector, or for models over 2 GB
 * the offset/size pair (relative to the model start; offset 1 is a
 * placeholder meaning "not set"). */
static hil_status buffer_data(hil_model *m, uint32_t index, uint32_t tensor, const uint8_t **data,
                              uint32_t *bytes)
{
    hil_fb *fb = &m->fb;
    hil_fb_table buf;
    *data = NULL;
    *bytes = 0;
    if (!hil_fb_vec_table(fb, &m->buffers, index, &buf, "Model.buffers")) {
        return fb->status;
    }
    uint64_t offset = hil_fb_u64(fb, &buf, BUFFER_OFFSET, 0);
    uint64_t size = hil_fb_u64(fb, &buf, BUFFER_SIZE, 0);
    if (offset > 1) {
        if (offset > fb->size || size > fb->size - offset) {
            return hil_fb_fail(fb, HIL_ERR_MODEL_INVALID,
                               "buffer %u (tensor %u): offset/size lie outside the %u-byte model",
                               index, tensor, fb->size);
        }
        *data = size != 0 ? fb->buf + offset : NULL;
        *bytes = (uint32_t)size;
        return fb->status;
    }
    hil_fb_vec v;
    if (hil_fb_vector(fb, &buf, BUFFER_DATA, 1, &v, "Buffer.data")) {
        *data = hil_fb_vec_data(fb, &v);
        *bytes = v.len;
    }
    return fb->status;
}

static hil_status read_quantization(hil_model *m, const hil_fb_table *tt, uint32_t index,
                                    hil_model_tensor *t)
{
    hil_fb *fb = &m->fb;
    hil_fb_table q;
    if (!hil_fb_table_field(fb, tt, TENSOR_QUANTIZATION, &q, "Tensor.quantization")) {
        return fb->status;
    }
    if (hil_fb_u8(fb, &q, QUANT_DETAILS_TYPE, 0) != 0) {
        return hil_fb_fail(fb, HIL_ERR_UNSUPPORTED,
                           "tensor %u: custom quantization details are not supported", index);
    }
    hil_fb_vector(fb, &q, QUANT_SCALE, 4, &t->scales, "QuantizationParameters.scale");
    hil_fb_vector(fb, &q, QUANT_ZERO_POINT, 8, &t->zero_points,
                  "QuantizationParameters.zero_point");
    t->quantized_dimension = hil_fb_i32(fb, &q, QUANT_DIMENSION, 0);
    if (fb->status != HIL_OK || t->scales.len == 0 || t->zero_points.len == 0) {
        return fb->status; /* TFLM treats a tensor without both as not quantized */
    }
    if (t->zero_points.len != t->scales.len) {
        return hil_fb_fail(fb, HIL_ERR_MODEL_INVALID, "tensor %u: %u scales but %u zero points",
                           index, t->scales.len, t->zero_points.len);
    }
    int64_t zp = hil_fb_vec_i64(fb, &t->zero_points, 0);
    if (zp < INT32_MIN || zp > INT32_MAX) {
        return hil_fb_fail(fb, HIL_ERR_MODEL_INVALID, "tensor %u: zero point out of int32 range",
                           index);
    }
    t->quantized = 1;
    t->scale = hil_fb_vec_f32(fb, &t->scales, 0);
    t->zero_point = (int32_t)zp;
    t->channels = t->scales.len;
    if (t->channels > 1) {
        /* An out-of-range dimension is let through as TFLM lets it through
         * (person_detect's int32 biases say 3 on rank-1 tensors): no kernel
         * reads those scales, and the kernels that read per-channel scales
         * check the dimension they need. An in-range one must fit. */
        int32_t qd = t->quantized_dimension;
        if (qd >= 0 && qd < (int32_t)t->rank && (uint32_t)t->dims[qd] != t->channels) {
            return hil_fb_fail(fb, HIL_ERR_MODEL_INVALID,
                               "tensor %u: %u per-channel scales do not match dimension %d",
                               index, t->channels, qd);
        }
    }
    return fb->status;
}

static hil_status read_shape(hil_model *m, const hil_fb_table *tt, uint32_t index,
                             hil_model_tensor *t)
{
    hil_fb *fb = &m->fb;
    hil_fb_vec shape;
    hil_fb_vector(fb, tt, TENSOR_SHAPE, 4, &shape, "Tensor.shape");
    if (fb->status != HIL_OK) {
        return fb->status;
    }
    t->shape = shape;
    if (shape.len > HIL_MAX_RANK) {
        return hil_fb_fail(fb, HIL_ERR_UNSUPPORTED, "tensor %u has rank %u (at most %u supported)",
                           index, shape.len, (uint32_t)HIL_MAX_RANK);
    }
    t->rank = (uint8_t)shape.len;
    uint64_t elems = 1;
    for (uint32_t d = 0; d < shape.len; d++) {
        int32_t dim = hil_fb_vec_i32(fb, &shape, d);
        if (dim < 0) {
            return hil_fb_fail(fb, HIL_ERR_UNSUPPORTED,
                               "tensor %u has a dynamic dimension (%d); shapes must be static",
                               index, dim);
        }
        t->dims[d] = dim;
        elems *= (uint64_t)dim;
        if (elems > MAX_TENSOR_BYTES) {
            break; /* caught below; also keeps the product from overflowing */
        }
    }
    int32_t dtype = hil_fb_i8(fb, tt, TENSOR_TYPE, 0);
    t->elem_bytes = hil_dtype_bytes(dtype);
    if (t->elem_bytes == 0) {
        return hil_fb_fail(fb, HIL_ERR_UNSUPPORTED, "tensor %u has unsupported type %d", index,
                           dtype);
    }
    t->dtype = (uint8_t)dtype;
    if (elems > MAX_TENSOR_BYTES / t->elem_bytes) {
        return hil_fb_fail(fb, HIL_ERR_UNSUPPORTED, "tensor %u is larger than 2 GiB", index);
    }
    t->bytes = (uint32_t)elems * t->elem_bytes;
    return fb->status;
}

/* Constant data must cover the tensor exactly and be aligned for its type,
 * because kernels read it in place as int32/float/... arrays. */
static hil_status read_data(hil_model *m, const hil_fb_table *tt, uint32_t index,
                            hil_model_tensor *t)
{
    hil_fb *fb = &m->fb;
    t->buffer = hil_fb_u32(fb, tt, TENSOR_BUFFER, 0);
    if (fb->status != HIL_OK) {
        return fb->status;
    }
    if (t->buffer >= m->buffers.len) {
        if (t->buffer == 0) {
            return fb->status; /* no buffers at all: nothing is constant */
        }
        return hil_fb_fail(fb, HIL_ERR_MODEL_INVALID, "tensor %u: buffer %u out of range (%u)",
                           index, t->buffer, m->buffers.len);
    }
    if (t->is_variable) {
        /* TFLM gives variable tensors arena memory and fills it with zeros
         * (int8: the zero point) at allocation and reset: buffer contents
         * are never read. */
        return fb->status;
    }
    const uint8_t *data;
    uint32_t bytes;
    if (buffer_data(m, t->buffer, index, &data, &bytes) != HIL_OK || data == NULL) {
        return fb->status;
    }
    if (bytes != t->bytes) {
        return hil_fb_fail(fb, HIL_ERR_MODEL_INVALID,
                           "tensor %u: buffer %u holds %u bytes, its shape and type need %u",
                           index, t->buffer, bytes, t->bytes);
    }
    uint32_t align = t->elem_bytes < 8u ? t->elem_bytes : 8u;
    if (((uintptr_t)data & (uintptr_t)(align - 1u)) != 0) {
        return hil_fb_fail(fb, HIL_ERR_MODEL_INVALID,
                           "buffer %u (tensor %u) data at model offset %u is not %u-byte aligned",
                           t->buffer, index, (uint32_t)(data - fb->buf), align);
    }
    t->data = data;
    return fb->status;
}

hil_status hil_model_get_tensor(hil_model *m, uint32_t index, hil_model_tensor *t)
{
    hil_fb *fb = &m->fb;
    hil_fb_table tt;
    memset(t, 0, sizeof *t);
    t->scales.elem_bytes = 4;
    t->zero_points.elem_bytes = 8;
    if (!hil_fb_vec_table(fb, &m->tensors, index, &tt, "SubGraph.tensors")) {
        return fb->status;
    }
    if (hil_fb_has(fb, &tt, TENSOR_SPARSITY)) {
        return hil_fb_fail(fb, HIL_ERR_UNSUPPORTED,
                           "tensor %u is sparse; sparse tensors are not supported", index);
    }
    if (hil_fb_u32(fb, &tt, TENSOR_EXTERNAL_BUFFER, 0) != 0) {
        return hil_fb_fail(fb, HIL_ERR_UNSUPPORTED,
                           "tensor %u uses an external buffer; not supported", index);
    }
    t->is_variable = hil_fb_u8(fb, &tt, TENSOR_IS_VARIABLE, 0) != 0;
    if (read_shape(m, &tt, index, t) != HIL_OK || read_data(m, &tt, index, t) != HIL_OK) {
        return fb->status;
    }
    return read_quantization(m, &tt, index, t);
}

hil_status hil_model_get_tensor_part(hil_model *m, uint32_t index, unsigned parts,
                                     hil_model_tensor *t)
{
    hil_fb *fb = &m->fb;
    hil_fb_table tt;
    memset(t, 0, sizeof *t);
    t->scales.elem_bytes = 4;
    t->zero_points.elem_bytes = 8;
    if (!hil_fb_vec_table(fb, &m->tensors, index, &tt, "SubGraph.tensors")) {
        return fb->status;
    }
    if ((parts & HIL_TENSOR_SHAPE) != 0 && read_shape(m, &tt, index, t) != HIL_OK) {
        return fb->status;
    }
    /* Without the shape, read_quantization skips its dimension check (the
     * full read made it). */
    return (parts & HIL_TENSOR_QUANT) != 0 ? read_quantization(m, &tt, index, t) : fb->status;
}

float hil_model_tensor_scale(hil_model *m, const hil_model_tensor *t, uint32_t channel)
{
    if (t->quantized && channel < t->scales.len && m->fb.status == HIL_OK) {
        /* In place: the vector was bounds-checked when the tensor was read
         * (kernels read every channel's scale, so this is the hot path). */
        const uint8_t *p = m->fb.buf + t->scales.pos + 4u * channel;
        const uint32_t bits = (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) |
                              ((uint32_t)p[3] << 24);
        float f;
        memcpy(&f, &bits, sizeof f);
        return f;
    }
    return t->quantized ? hil_fb_vec_f32(&m->fb, &t->scales, channel) : 0.0f;
}

int64_t hil_model_tensor_zero_point(hil_model *m, const hil_model_tensor *t, uint32_t channel)
{
    return t->quantized ? hil_fb_vec_i64(&m->fb, &t->zero_points, channel) : 0;
}

hil_status hil_model_get_op(hil_model *m, uint32_t index, hil_model_op *op)
{
    hil_fb *fb = &m->fb;
    hil_fb_table ot;
    hil_fb_table ct;
    memset(op, 0, sizeof *op);
    op->inputs.elem_bytes = 4;
    op->outputs.elem_bytes = 4;
    if (!hil_fb_vec_table(fb, &m->operators, index, &ot, "SubGraph.operators")) {
        return fb->status;
    }
    op->opcode_index = hil_fb_u32(fb, &ot, OP_OPCODE_INDEX, 0);
    if (fb->status == HIL_OK && op->opcode_index >= m->opcodes.len) {
        return hil_fb_fail(fb, HIL_ERR_MODEL_INVALID,
                           "op %u: opcode index %u out of range (%u operator codes)", index,
                           op->opcode_index, m->opcodes.len);
    }
    if (!hil_fb_vec_table(fb, &m->opcodes, op->opcode_index, &ct, "Model.operator_codes")) {
        return fb->status;
    }
    /* Codes above 127 live only in builtin_code; older files set only the
     * deprecated byte (builtin_code then reads 0): the larger one is right. */
    int32_t deprecated = hil_fb_i8(fb, &ct, OPCODE_DEPRECATED_BUILTIN, 0);
    int32_t builtin = hil_fb_i32(fb, &ct, OPCODE_BUILTIN, 0);
    op->code = deprecated > builtin ? deprecated : builtin;
    op->version = hil_fb_i32(fb, &ct, OPCODE_VERSION, 1);
    hil_fb_vector(fb, &ot, OP_INPUTS, 4, &op->inputs, "Operator.inputs");
    hil_fb_vector(fb, &ot, OP_OUTPUTS, 4, &op->outputs, "Operator.outputs");
    hil_fb_union(fb, &ot, OP_OPTIONS_TYPE, OP_OPTIONS, &op->options_type, &op->options,
                 "Operator.builtin_options");
    check_indices(m, &op->inputs, -1, m->tensors.len, "op", index);
    check_indices(m, &op->outputs, 0, m->tensors.len, "op", index);
    return fb->status;
}

int32_t hil_model_op_tensor(hil_model *m, const hil_model_op *op, int is_output, uint32_t i)
{
    return hil_fb_vec_i32(&m->fb, is_output ? &op->outputs : &op->inputs, i);
}
