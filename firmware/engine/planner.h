/* Arena memory: the planner for activations (bottom of the arena) and the
 * allocator for engine state (top of the arena). */
#ifndef HIL_ENGINE_PLANNER_H
#define HIL_ENGINE_PLANNER_H

#include <stdint.h>
#include "engine/interp.h"

#define HIL_PLAN_ALIGN 16u  /* every planned tensor starts on this boundary */
#define HIL_STATE_ALIGN 8u  /* every state block is a multiple of this */
#define HIL_UNPLACED UINT32_MAX

/* Round up; saturates at the largest aligned uint32 instead of wrapping. */
uint32_t hil_align_up(uint32_t v, uint32_t align);
uint32_t hil_sat_add(uint32_t a, uint32_t b);

/* Take `bytes` (rounded up to HIL_STATE_ALIGN, zeroed) from the top of the
 * arena, below what is already taken and above the activation plan.
 * NULL when it does not fit. */
void *hil_arena_take_tail(hil_interp *ip, uint32_t bytes);

/* A tensor entry's planning record, kept only while loading (in the free
 * part of the arena): live from first_use to last_use (op indices; -1 means
 * before the first op, n_ops after the last), placed at offset. */
typedef struct {
    int16_t first_use; /* 16 bits: loads refuse more than HIL_MAX_OPS ops */
    int16_t last_use;
    uint16_t next_size;   /* placement order (planner's own lists) */
    uint16_t next_offset; /* placed entries by offset */
    uint32_t offset;
} hil_lifetime;

#define HIL_MAX_OPS 32766u /* n_ops must fit a lifetime */

/* Lifetimes from the graph (ip->map, ip->tensors, ip->nodes, ip->io must be
 * built; life has one record per entry): graph inputs live from before op
 * 0, graph outputs until after the last op, intermediates from their first
 * to their last use, variable tensors for ever. Entries nothing uses stay
 * HIL_TENSOR_UNUSED and get no memory. Fails if a graph input/output is
 * constant (ops writing constants are refused while the nodes are built). */
hil_status hil_plan_lifetimes(hil_interp *ip, hil_lifetime *life, hil_msg *msg);

/* Greedy placement, largest tensor first (ties: earlier first use, then
 * lower index), each at the lowest 16-byte aligned offset that overlaps no
 * placed tensor whose lifetime overlaps its own (variable tensors overlap
 * everything): first fit along the placed tensors sorted by offset. Sets
 * life[i].offset of every arena and variable entry; returns the bytes needed
 * (16-aligned, saturating). O(n^2), no memory beyond the records. */
uint32_t hil_plan_place(const hil_tensor *entries, hil_lifetime *life, uint32_t n);

#endif
