/* libFuzzer harness for the model reader, planner and kernels: load any bytes
 * as a model and, if they load, run them once. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "engine/interp.h"

#define MODEL_MAX (1024u * 1024u)
#define ARENA_BYTES (512u * 1024u)

static uint8_t model[MODEL_MAX] __attribute__((aligned(16)));
static uint8_t arena[ARENA_BYTES] __attribute__((aligned(16)));

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > MODEL_MAX) {
        return 0;
    }
    /* The device holds a model at an aligned address; so does the harness. */
    memcpy(model, data, size);
    hil_interp ip;
    hil_msg msg;
    hil_interp_init(&ip, arena, ARENA_BYTES);
    if (hil_interp_load(&ip, model, (uint32_t)size, &msg) == HIL_OK) {
        (void)hil_interp_invoke(&ip, &msg);
        hil_interp_unload(&ip);
    }
    return 0;
}
