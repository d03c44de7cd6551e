/* hil/engine.h implemented over one static interpreter context. */
#include "engine/interp.h"
#include "hil/engine.h"

static hil_interp g_interp;

const char *hil_engine_name(void)
{
    return "hil";
}

const char *hil_engine_version(void)
{
    return "0.1.0";
}

void hil_engine_init(uint8_t *arena, uint32_t arena_bytes)
{
    hil_interp_init(&g_interp, arena, arena_bytes);
}

hil_status hil_engine_load(const uint8_t *model, uint32_t model_bytes, hil_msg *msg)
{
    return hil_interp_load(&g_interp, model, model_bytes, msg);
}

void hil_engine_unload(void)
{
    hil_interp_unload(&g_interp);
}

int hil_engine_loaded(void)
{
    return hil_interp_loaded(&g_interp);
}

uint32_t hil_engine_count(int is_output)
{
    return hil_interp_io_count(&g_interp, is_output);
}

hil_status hil_engine_tensor(int is_output, uint32_t index, hil_tensor_info *info, uint8_t **data,
                             hil_msg *msg)
{
    if (!hil_interp_loaded(&g_interp)) {
        return hil_fail(msg, HIL_ERR_STATE, "no model loaded");
    }
    hil_tensor *t = hil_interp_io(&g_interp, is_output, index);
    if (t == NULL) {
        return hil_fail(msg, HIL_ERR_BAD_REQUEST, "%s index %u out of range (%u)",
                        is_output ? "output" : "input", index,
                        hil_interp_io_count(&g_interp, is_output));
    }
    if (info != NULL) {
        hil_interp_tensor_info(t, info);
    }
    if (data != NULL) {
        *data = t->data;
    }
    return HIL_OK;
}

hil_status hil_engine_invoke(hil_msg *msg)
{
    return hil_interp_invoke(&g_interp, msg);
}

uint32_t hil_engine_arena_used(void)
{
    return hil_interp_arena_used(&g_interp);
}

void hil_engine_reset_state(void)
{
    if (hil_interp_loaded(&g_interp)) {
        hil_interp_reset_variables(&g_interp);
    }
}

/* The index-th variable tensor with storage, or NULL. */
static hil_tensor *variable(uint32_t index)
{
    uint32_t seen = 0;
    for (uint32_t i = 0; hil_interp_loaded(&g_interp) && i < g_interp.n_tensors; i++) {
        hil_tensor *t = &g_interp.tensors[i];
        if (t->kind == HIL_TENSOR_VARIABLE && t->data != NULL && seen++ == index) {
            return t;
        }
    }
    return NULL;
}

uint32_t hil_engine_state_count(void)
{
    uint32_t n = 0;
    while (variable(n) != NULL) {
        n++;
    }
    return n;
}

hil_status hil_engine_state_region(uint32_t index, uint8_t **data, uint32_t *bytes)
{
    hil_tensor *t = variable(index);
    if (t == NULL) {
        return HIL_ERR_BAD_REQUEST;
    }
    *data = t->data;
    *bytes = t->bytes;
    return HIL_OK;
}

uint32_t hil_engine_op_count(void)
{
    return hil_interp_loaded(&g_interp) ? g_interp.n_nodes : 0;
}

void hil_engine_set_profiler(hil_clock_fn clock, uint64_t *ticks, uint32_t capacity)
{
    hil_interp_set_profiler(&g_interp, clock, ticks, capacity);
}
