/* The dispatch table. One line per operator: X(BUILTIN_NAME, kernel_symbol). */
#include "engine/kernel.h"

#include <stddef.h>
#include "engine/op_names.h"

#define HIL_KERNELS(X) \
    X(RESHAPE, reshape) \
    X(SQUEEZE, squeeze) \
    X(EXPAND_DIMS, expand_dims) \
    X(SHAPE, shape) \
    X(CONCATENATION, concatenation) \
    X(PACK, pack) \
    X(UNPACK, unpack) \
    X(SPLIT, split) \
    X(SPLIT_V, split_v) \
    X(PAD, pad) \
    X(PADV2, padv2) \
    X(STRIDED_SLICE, strided_slice) \
    X(TRANSPOSE, transpose) \
    X(RESIZE_NEAREST_NEIGHBOR, resize_nearest_neighbor) \
    X(ADD, add) \
    X(SUB, sub) \
    X(MUL, mul) \
    X(MAXIMUM, maximum) \
    X(MINIMUM, minimum) \
    X(PRELU, prelu) \
    X(AVERAGE_POOL_2D, average_pool_2d) \
    X(MAX_POOL_2D, max_pool_2d) \
    X(MEAN, mean) \
    X(SOFTMAX, softmax) \
    X(LOGISTIC, logistic) \
    X(TANH, tanh) \
    X(RELU, relu) \
    X(RELU6, relu6) \
    X(LEAKY_RELU, leaky_relu) \
    X(HARD_SWISH, hard_swish) \
    X(QUANTIZE, quantize) \
    X(DEQUANTIZE, dequantize) \
    X(CONV_2D, conv_2d) \
    X(DEPTHWISE_CONV_2D, depthwise_conv_2d) \
    X(TRANSPOSE_CONV, transpose_conv) \
    X(FULLY_CONNECTED, fully_connected) \
    X(SVDF, svdf) \
    X(UNIDIRECTIONAL_SEQUENCE_LSTM, unidirectional_sequence_lstm)

#define HIL_DECLARE(op, sym) extern const hil_kernel hil_kernel_##sym;
HIL_KERNELS(HIL_DECLARE)
#undef HIL_DECLARE

/* A switch, so the compiler can make a jump table of it (a linear search
 * over the list cost about 200 instructions per op at load). */
#define HIL_CASE(op, sym)                                                                          \
    case HIL_OP_##op:                                                                              \
        return &hil_kernel_##sym;

const hil_kernel *hil_kernel_find(int32_t builtin_code)
{
    switch (builtin_code) {
        HIL_KERNELS(HIL_CASE)
    default:
        return NULL;
    }
}
#undef HIL_CASE
