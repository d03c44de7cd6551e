/* The interface the agent uses to run a model. hil's own interpreter
 * (firmware/engine) implements it; so does the TFLM adapter (firmware/tflm).
 * Exactly one implementation is linked into a firmware image. */
#ifndef HIL_ENGINE_H
#define HIL_ENGINE_H

#include <stdint.h>
#include "hil/status.h"

#define HIL_MAX_RANK 6

/* TFLite TensorType codes; they travel on the wire unchanged. */
enum {
    HIL_DT_FLOAT32 = 0,
    HIL_DT_FLOAT16 = 1,
    HIL_DT_INT32 = 2,
    HIL_DT_UINT8 = 3,
    HIL_DT_INT64 = 4,
    HIL_DT_BOOL = 6,
    HIL_DT_INT16 = 7,
    HIL_DT_INT8 = 9
};

typedef struct {
    uint8_t dtype;
    uint8_t rank;
    int32_t dims[HIL_MAX_RANK];
    uint32_t bytes;
    float scale;       /* 0 when the tensor is not quantized */
    int32_t zero_point;
} hil_tensor_info;

/* Identity, for HELLO. */
const char *hil_engine_name(void);
const char *hil_engine_version(void);

/* Give the engine its working memory once at boot. */
void hil_engine_init(uint8_t *arena, uint32_t arena_bytes);

/* Parse, plan and prepare `model` (which must stay valid and unmoved until the
 * next load). On failure no model is loaded and `msg` says why. */
hil_status hil_engine_load(const uint8_t *model, uint32_t model_bytes, hil_msg *msg);
void hil_engine_unload(void);
int hil_engine_loaded(void);

uint32_t hil_engine_count(int is_output);
hil_status hil_engine_tensor(int is_output, uint32_t index, hil_tensor_info *info,
                             uint8_t **data, hil_msg *msg);

hil_status hil_engine_invoke(hil_msg *msg);

/* Bytes of the arena the loaded model needs (tensors plus engine state). */
uint32_t hil_engine_arena_used(void);

/* State that persists across invokes (variable tensors of recurrent models):
 * restore its initial values, or reach region i of it. */
void hil_engine_reset_state(void);
uint32_t hil_engine_state_count(void);
hil_status hil_engine_state_region(uint32_t index, uint8_t **data, uint32_t *bytes);

/* Operators in the loaded model, in execution order. */
uint32_t hil_engine_op_count(void);

/* Per-operator timing: while `ticks` is set, invoke stores each operator's
 * `clock` delta in ticks[op index] (the first `capacity` operators). NULL
 * turns it off, so unprofiled invokes pay nothing. */
typedef uint64_t (*hil_clock_fn)(void);
void hil_engine_set_profiler(hil_clock_fn clock, uint64_t *ticks, uint32_t capacity);

#endif
