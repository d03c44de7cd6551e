/* Arena planning; see planner.h. Placement is O(n^2) per tensor with no
 * scratch memory: fine for the tens to hundreds of tensors of MCU models. */
#include "engine/planner.h"

#include <string.h>

uint32_t hil_align_up(uint32_t v, uint32_t align)
{
    uint32_t limit = UINT32_MAX - (align - 1u);
    if (v > limit) {
        return limit & ~(align - 1u);
    }
    return (v + align - 1u) & ~(align - 1u);
}

uint32_t hil_sat_add(uint32_t a, uint32_t b)
{
    return a > UINT32_MAX - b ? UINT32_MAX : a + b;
}

void *hil_arena_take_tail(hil_interp *ip, uint32_t bytes)
{
    uint32_t need = hil_align_up(bytes, HIL_STATE_ALIGN);
    uint32_t used = ip->plan_bytes + ip->tail_used;
    if (used > ip->arena_bytes || need > ip->arena_bytes - used) {
        return NULL;
    }
    ip->tail_used += need;
    uint8_t *p = ip->arena + ip->arena_bytes - ip->tail_used;
    memset(p, 0, need);
    return p;
}

static int needs_arena(const hil_tensor *t)
{
    return t->kind == HIL_TENSOR_ARENA || t->kind == HIL_TENSOR_VARIABLE;
}

/* Extend a tensor's lifetime to include `time`; a first use makes a
 * non-constant tensor an arena tensor. */
static void touch(hil_tensor *t, int32_t time)
{
    if (t->kind == HIL_TENSOR_CONST) {
        return;
    }
    if (t->kind == HIL_TENSOR_UNUSED) {
        t->kind = HIL_TENSOR_ARENA;
        t->first_use = time;
        t->last_use = time;
    }
    if (time < t->first_use) {
        t->first_use = time;
    }
    if (time > t->last_use) {
        t->last_use = time;
    }
}

static hil_status touch_graph_io(hil_interp *ip, int is_output, int32_t time, hil_msg *msg)
{
    for (uint32_t i = 0; i < ip->n_io[is_output]; i++) {
        int32_t idx = ip->io[is_output][i];
        hil_tensor *t = &ip->tensors[idx];
        if (t->kind == HIL_TENSOR_CONST) {
            return hil_fail(msg, HIL_ERR_MODEL_INVALID, "graph %s %u (tensor %d) is a constant",
                            is_output ? "output" : "input", i, idx);
        }
        touch(t, time);
    }
    return HIL_OK;
}

hil_status hil_plan_lifetimes(hil_interp *ip, hil_msg *msg)
{
    const int32_t n_ops = (int32_t)ip->n_nodes;
    hil_status st = touch_graph_io(ip, 0, -1, msg);
    if (st != HIL_OK) {
        return st;
    }
    for (uint32_t i = 0; i < ip->n_nodes; i++) {
        const hil_node *node = &ip->nodes[i];
        for (uint32_t k = 0; k < node->n_inputs; k++) {
            if (node->inputs[k] >= 0) {
                touch(&ip->tensors[node->inputs[k]], (int32_t)i);
            }
        }
        for (uint32_t k = 0; k < node->n_outputs; k++) {
            hil_tensor *t = &ip->tensors[node->outputs[k]];
            if (t->kind == HIL_TENSOR_CONST) {
                return hil_fail(msg, HIL_ERR_MODEL_INVALID, "op %u writes constant tensor %d", i,
                                node->outputs[k]);
            }
            touch(t, (int32_t)i);
        }
    }
    st = touch_graph_io(ip, 1, n_ops, msg);
    if (st != HIL_OK) {
        return st;
    }
    for (uint32_t i = 0; i < ip->n_tensors; i++) {
        hil_tensor *t = &ip->tensors[i];
        if (t->kind == HIL_TENSOR_VARIABLE) { /* state that outlives every invoke */
            t->first_use = -1;
            t->last_use = n_ops;
        }
    }
    return HIL_OK;
}

static int lifetimes_overlap(const hil_tensor *a, const hil_tensor *b)
{
    if (a->kind == HIL_TENSOR_VARIABLE || b->kind == HIL_TENSOR_VARIABLE) {
        return 1;
    }
    return a->first_use <= b->last_use && b->first_use <= a->last_use;
}

/* The next tensor to place: largest first; ties go to the earlier first use,
 * then the lower index, so the plan is deterministic. */
static hil_tensor *next_unplaced(hil_tensor *tensors, uint32_t n)
{
    hil_tensor *best = NULL;
    for (uint32_t i = 0; i < n; i++) {
        hil_tensor *t = &tensors[i];
        if (!needs_arena(t) || t->arena_offset != HIL_UNPLACED) {
            continue;
        }
        if (best == NULL || t->bytes > best->bytes ||
            (t->bytes == best->bytes && t->first_use < best->first_use)) {
            best = t;
        }
    }
    return best;
}

/* Lowest aligned offset for `t` clear of every placed, time-overlapping
 * tensor. Moving past each collision in turn never skips a free slot: a
 * collision with [o, e) rules out every start below e that is >= offset. */
static uint64_t lowest_offset(const hil_tensor *tensors, uint32_t n, const hil_tensor *t)
{
    uint64_t offset = 0;
    int moved = 1;
    while (moved) {
        moved = 0;
        for (uint32_t i = 0; i < n; i++) {
            const hil_tensor *p = &tensors[i];
            if (p == t || !needs_arena(p) || p->arena_offset == HIL_UNPLACED ||
                !lifetimes_overlap(p, t)) {
                continue;
            }
            uint64_t p_end = (uint64_t)p->arena_offset + p->bytes;
            if (p->bytes != 0 && t->bytes != 0 && p->arena_offset < offset + t->bytes &&
                offset < p_end) {
                offset = (p_end + HIL_PLAN_ALIGN - 1u) & ~(uint64_t)(HIL_PLAN_ALIGN - 1u);
                moved = 1;
            }
        }
    }
    return offset;
}

uint32_t hil_plan_place(hil_tensor *tensors, uint32_t n)
{
    uint64_t total = 0;
    for (uint32_t i = 0; i < n; i++) {
        tensors[i].arena_offset = HIL_UNPLACED;
    }
    for (hil_tensor *t = next_unplaced(tensors, n); t != NULL; t = next_unplaced(tensors, n)) {
        uint64_t offset = lowest_offset(tensors, n, t);
        if (offset + t->bytes > UINT32_MAX - HIL_PLAN_ALIGN) {
            /* Cannot fit any 32-bit arena: park it and report the maximum. */
            t->arena_offset = 0;
            total = UINT32_MAX;
            continue;
        }
        t->arena_offset = (uint32_t)offset;
        if (offset + t->bytes > total) {
            total = offset + t->bytes;
        }
    }
    return total >= UINT32_MAX ? UINT32_MAX : hil_align_up((uint32_t)total, HIL_PLAN_ALIGN);
}
