/* hil's interpreter: loads a TFLite flatbuffer into a caller-owned context,
 * plans one arena, prepares each kernel and runs the graph.
 *
 * Arena layout (one block, given at init):
 *   [ activations, planned, 16-byte aligned | free | engine state ]
 *   ^ base                                             top ^
 * Engine state grows down from the top: the tensor map (uint16 per model
 * tensor), one hil_tensor entry per non-constant tensor, the node table, the
 * constant slots and each op's data. So arena_used = activations + state
 * (rounded up to 16, the granularity of the usable arena). During load, the
 * entries are parsed into the free area before they move to the top, and
 * the planner's lifetime records use the op data blocks before prepare
 * fills them (or the free area, which arena_used then covers, if they are
 * larger).
 *
 * Nothing is copied that the model already holds: node and graph tensor
 * index lists point into the model (its int32 vectors, little-endian and
 * 4-byte aligned), and constant tensors have no entry. A constant is parsed
 * from the model into one of a few slots when a kernel asks for it; the
 * slots are reused for the next node, so a hil_tensor pointer to a
 * constant is valid only until the current prepare or eval returns (keep
 * t->data, which points into the model, not t). */
#ifndef HIL_ENGINE_INTERP_H
#define HIL_ENGINE_INTERP_H

#include <stdint.h>
#include "engine/model.h"
#include "hil/engine.h"

struct hil_kernel;

/* Where a tensor's bytes live. */
enum {
    HIL_TENSOR_UNUSED = 0, /* not read or written by anything: no storage */
    HIL_TENSOR_CONST = 1,  /* in the model */
    HIL_TENSOR_ARENA = 2,  /* planned in the arena */
    HIL_TENSOR_VARIABLE = 3 /* in the arena for the model's whole life */
};

typedef struct hil_tensor {
    uint8_t *data; /* NULL when unused; points into the model when constant
                    * (never written: constants cannot be op outputs) */
    uint32_t bytes;
    int32_t dims[HIL_MAX_RANK];
    uint8_t dtype;
    uint8_t rank;
    uint8_t kind;
    uint8_t quantized;
    float scale;
    int32_t zero_point;
} hil_tensor;

typedef struct hil_node {
    const struct hil_kernel *kernel;
    const int32_t *inputs; /* tensor indices, in the model; -1 = optional input absent */
    const int32_t *outputs;
    void *data; /* the kernel's prepared data, in the arena */
    uint16_t n_inputs;
    uint16_t n_outputs;
} hil_node;

/* Tensor map values: below n_tensors, the tensor's entry; otherwise it is
 * constant number HIL_MAP_CONST_TOP - value (in model order). */
#define HIL_MAP_CONST_TOP 0xFFFEu

typedef struct hil_interp {
    uint8_t *arena; /* 16-byte aligned */
    uint32_t arena_bytes;
    uint32_t tail_used; /* state bytes at the top of the arena */
    uint32_t plan_bytes;
    hil_model model;
    uint16_t *map; /* model tensor index -> entry or constant (HIL_MAP_CONST_TOP) */
    uint32_t n_model_tensors;
    hil_tensor *tensors; /* entries of the non-constant tensors */
    uint32_t n_tensors;
    hil_node *nodes;
    uint32_t n_nodes;
    const int32_t *io[2]; /* graph inputs, outputs (tensor indices, in the model) */
    uint32_t n_io[2];
    hil_tensor *slots; /* constants of the current node, parsed on demand */
    int32_t *slot_tensor; /* which tensor each used slot holds */
    uint32_t n_slots;     /* the most constant inputs of any node */
    uint32_t slots_used;
    const void *staged; /* while loading: the constants as first read */
    int loaded;
    /* Optional per-operator timing (hil_interp_set_profiler). */
    hil_clock_fn clock;
    uint64_t *op_ticks;
    uint32_t op_ticks_capacity;
} hil_interp;

/* Give the context its arena (aligned up to 16 bytes internally). */
void hil_interp_init(hil_interp *ip, uint8_t *arena, uint32_t arena_bytes);

/* Parse, validate, plan and prepare. `model` must stay valid and unmoved
 * while loaded. On failure nothing is loaded and `msg` says why. */
hil_status hil_interp_load(hil_interp *ip, const uint8_t *model, uint32_t model_bytes,
                           hil_msg *msg);
void hil_interp_unload(hil_interp *ip);
int hil_interp_loaded(const hil_interp *ip);

/* Graph inputs (is_output = 0) and outputs (is_output = 1). */
uint32_t hil_interp_io_count(const hil_interp *ip, int is_output);
hil_tensor *hil_interp_io(hil_interp *ip, int is_output, uint32_t index);
void hil_interp_tensor_info(const hil_tensor *t, hil_tensor_info *info);

/* Run every operator once, in order. */
hil_status hil_interp_invoke(hil_interp *ip, hil_msg *msg);

/* Time each operator of later invokes with `clock` into ticks[op index];
 * clock NULL stops it. The setting survives loads and unloads. */
void hil_interp_set_profiler(hil_interp *ip, hil_clock_fn clock, uint64_t *ticks,
                             uint32_t capacity);

/* Zero the variable tensors (int8 ones to their zero point, as TFLM does). */
void hil_interp_reset_variables(hil_interp *ip);

uint32_t hil_interp_arena_used(const hil_interp *ip);

/* For kernels: a tensor by model index, or NULL for -1 / out of range (a
 * constant: valid until the current prepare/eval returns; see the top). */
hil_tensor *hil_interp_tensor(hil_interp *ip, int32_t index);
static inline hil_tensor *hil_node_input(hil_interp *ip, const hil_node *node, uint32_t i)
{
    return i < node->n_inputs ? hil_interp_tensor(ip, node->inputs[i]) : NULL;
}
static inline hil_tensor *hil_node_output(hil_interp *ip, const hil_node *node, uint32_t i)
{
    return i < node->n_outputs ? hil_interp_tensor(ip, node->outputs[i]) : NULL;
}

/* Elements in a tensor (product of dims; 1 for a scalar). */
uint32_t hil_tensor_elems(const hil_tensor *t);

#endif
