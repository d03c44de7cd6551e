/* Arena planning; see planner.h. */
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

/* Extend an entry's lifetime to include `time`; a first use makes it an
 * arena tensor. */
static void touch(hil_tensor *t, hil_lifetime *l, int16_t time)
{
    if (t->kind == HIL_TENSOR_UNUSED) {
        t->kind = HIL_TENSOR_ARENA;
        l->first_use = time;
        l->last_use = time;
    }
    if (time < l->first_use) {
        l->first_use = time;
    }
    if (time > l->last_use) {
        l->last_use = time;
    }
}

/* Touch model tensor `index` unless it is constant (or absent, -1). */
static void touch_index(hil_interp *ip, hil_lifetime *life, int32_t index, int16_t time)
{
    if (index < 0) {
        return;
    }
    const uint16_t e = ip->map[index];
    if (e < ip->n_tensors) {
        touch(&ip->tensors[e], &life[e], time);
    }
}

static hil_status touch_graph_io(hil_interp *ip, hil_lifetime *life, int is_output, int16_t time,
                                 hil_msg *msg)
{
    for (uint32_t i = 0; i < ip->n_io[is_output]; i++) {
        int32_t idx = ip->io[is_output][i];
        if (ip->map[idx] >= ip->n_tensors) {
            return hil_fail(msg, HIL_ERR_MODEL_INVALID, "graph %s %u (tensor %d) is a constant",
                            is_output ? "output" : "input", i, idx);
        }
        touch_index(ip, life, idx, time);
    }
    return HIL_OK;
}

hil_status hil_plan_lifetimes(hil_interp *ip, hil_lifetime *life, hil_msg *msg)
{
    const int16_t n_ops = (int16_t)ip->n_nodes; /* <= HIL_MAX_OPS */
    for (uint32_t i = 0; i < ip->n_tensors; i++) {
        life[i].first_use = 0;
        life[i].last_use = -1;
        life[i].offset = HIL_UNPLACED;
    }
    hil_status st = touch_graph_io(ip, life, 0, -1, msg);
    if (st != HIL_OK) {
        return st;
    }
    for (uint32_t i = 0; i < ip->n_nodes; i++) {
        const hil_node *node = &ip->nodes[i];
        for (uint32_t k = 0; k < node->n_inputs; k++) {
            touch_index(ip, life, node->inputs[k], (int16_t)i);
        }
        for (uint32_t k = 0; k < node->n_outputs; k++) {
            touch_index(ip, life, node->outputs[k], (int16_t)i);
        }
    }
    st = touch_graph_io(ip, life, 1, n_ops, msg);
    if (st != HIL_OK) {
        return st;
    }
    for (uint32_t i = 0; i < ip->n_tensors; i++) {
        if (ip->tensors[i].kind == HIL_TENSOR_VARIABLE) { /* state that outlives every invoke */
            life[i].first_use = -1;
            life[i].last_use = n_ops;
        }
    }
    return HIL_OK;
}

static int lifetimes_overlap(const hil_tensor *ta, const hil_lifetime *a, const hil_tensor *tb,
                             const hil_lifetime *b)
{
    if (ta->kind == HIL_TENSOR_VARIABLE || tb->kind == HIL_TENSOR_VARIABLE) {
        return 1;
    }
    return a->first_use <= b->last_use && b->first_use <= a->last_use;
}

#define NONE 0xFFFFu /* end of a list: n_tensors <= 0xFFFF, so no index */

/* i goes before j in placement order. */
static int placed_before(const hil_tensor *t, const hil_lifetime *life, uint32_t i, uint32_t j)
{
    return t[i].bytes > t[j].bytes ||
           (t[i].bytes == t[j].bytes && life[i].first_use < life[j].first_use);
}

/* Lowest aligned offset for entry j clear of every placed, time-overlapping
 * entry: walk them by offset; each one that starts before the candidate's
 * end and ends after its start pushes the candidate past it; the first one
 * that starts at or after the candidate's end leaves a gap, and so does
 * every later one (sorted). */
static uint64_t lowest_offset(const hil_tensor *t, const hil_lifetime *life, uint32_t by_offset,
                              uint32_t j)
{
    uint64_t cand = 0;
    if (t[j].bytes == 0) {
        return 0;
    }
    for (uint32_t p = by_offset; p != NONE; p = life[p].next_offset) {
        if (t[p].bytes == 0 || !lifetimes_overlap(&t[p], &life[p], &t[j], &life[j])) {
            continue;
        }
        if (life[p].offset >= cand + t[j].bytes) {
            break;
        }
        const uint64_t end = ((uint64_t)life[p].offset + t[p].bytes + HIL_PLAN_ALIGN - 1u) &
                             ~(uint64_t)(HIL_PLAN_ALIGN - 1u);
        if (end > cand) {
            cand = end;
        }
    }
    return cand;
}

uint32_t hil_plan_place(const hil_tensor *t, hil_lifetime *life, uint32_t n)
{
    uint32_t by_size = NONE;
    for (uint32_t i = 0; i < n; i++) { /* insertion into placement order */
        life[i].offset = HIL_UNPLACED;
        life[i].next_size = NONE;
        life[i].next_offset = NONE;
        if (!needs_arena(&t[i])) {
            continue;
        }
        uint32_t prev = NONE;
        uint32_t at = by_size;
        while (at != NONE && !placed_before(t, life, i, at)) {
            prev = at;
            at = life[at].next_size;
        }
        life[i].next_size = (uint16_t)at;
        if (prev == NONE) {
            by_size = i;
        } else {
            life[prev].next_size = (uint16_t)i;
        }
    }
    uint64_t total = 0;
    uint32_t by_offset = NONE;
    for (uint32_t j = by_size; j != NONE; j = life[j].next_size) {
        uint64_t offset = lowest_offset(t, life, by_offset, j);
        if (offset + t[j].bytes > UINT32_MAX - HIL_PLAN_ALIGN) {
            /* Cannot fit any 32-bit arena: park it and report the maximum. */
            offset = 0;
            total = UINT32_MAX;
        } else if (offset + t[j].bytes > total) {
            total = offset + t[j].bytes;
        }
        life[j].offset = (uint32_t)offset;
        uint32_t prev = NONE; /* into the offset list */
        uint32_t at = by_offset;
        while (at != NONE && life[at].offset <= offset) {
            prev = at;
            at = life[at].next_offset;
        }
        life[j].next_offset = (uint16_t)at;
        if (prev == NONE) {
            by_offset = j;
        } else {
            life[prev].next_offset = (uint16_t)j;
        }
    }
    return total >= UINT32_MAX ? UINT32_MAX : hil_align_up((uint32_t)total, HIL_PLAN_ALIGN);
}
