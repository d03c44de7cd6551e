/* libFuzzer harness for the model reader, planner and kernels: load any bytes
 * as a model and, if they load, check the arena figure the engine reports
 * (the device tells hil how much arena a model needs from it) and run the
 * model once in an arena of exactly that size.
 *
 * Oracles besides ASan/UBSan's own: a load in exactly the reported arena
 * must succeed and a load in 16 bytes less must be refused as too small;
 * while loading and invoking in the exact arena, every byte of the buffer
 * outside it is poisoned, and during invoke so is the free gap between
 * the activation plan and the engine state, so any access the engine has
 * not accounted for faults. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sanitizer/asan_interface.h>

#include "engine/interp.h"

#define MODEL_MAX (1024u * 1024u)
#define ARENA_BYTES (512u * 1024u)

static uint8_t model[MODEL_MAX] __attribute__((aligned(16)));
static uint8_t arena[ARENA_BYTES] __attribute__((aligned(16)));

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Load into the last `bytes` of the buffer (the rest poisoned); the status. */
static hil_status load_at_end(hil_interp *ip, uint32_t bytes, uint32_t size, hil_msg *msg)
{
    uint8_t *base = arena + ARENA_BYTES - bytes; /* 16-aligned: bytes is a multiple of 16 */
    ASAN_UNPOISON_MEMORY_REGION(arena, ARENA_BYTES);
    ASAN_POISON_MEMORY_REGION(arena, ARENA_BYTES - bytes);
    hil_interp_init(ip, base, bytes);
    return hil_interp_load(ip, model, size, msg);
}

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
    if (hil_interp_load(&ip, model, (uint32_t)size, &msg) != HIL_OK) {
        return 0;
    }
    uint32_t used = hil_interp_arena_used(&ip);
    hil_interp_unload(&ip);
    if (used < 16u) {
        used = 16u; /* the smallest usable arena */
    }
    if (used > 16u &&
        load_at_end(&ip, used - 16u, (uint32_t)size, &msg) != HIL_ERR_ARENA_TOO_SMALL) {
        abort(); /* the figure is not the least the load needs */
    }
    if (load_at_end(&ip, used, (uint32_t)size, &msg) != HIL_OK) {
        abort(); /* the figure is not enough */
    }
    uint8_t *gap = ip.arena + ip.plan_bytes;
    const size_t gap_bytes = ip.arena_bytes - ip.plan_bytes - ip.tail_used;
    ASAN_POISON_MEMORY_REGION(gap, gap_bytes);
    (void)hil_interp_invoke(&ip, &msg);
    hil_interp_unload(&ip);
    ASAN_UNPOISON_MEMORY_REGION(arena, ARENA_BYTES);
    return 0;
}
