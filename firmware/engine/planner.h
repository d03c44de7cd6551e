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

/* Lifetimes from the graph (ip->tensors, ip->nodes, ip->io must be built):
 * graph inputs live from before op 0, graph outputs until after the last op,
 * intermediates from their first to their last use, variable tensors for
 * ever. Tensors nothing uses stay HIL_TENSOR_UNUSED and get no memory.
 * Fails if an op writes a constant or a graph input/output is constant. */
hil_status hil_plan_lifetimes(hil_interp *ip, hil_msg *msg);

/* Greedy placement, largest tensor first, each at the lowest 16-byte aligned
 * offset that overlaps no placed tensor whose lifetime overlaps its own
 * (variable tensors overlap everything). Sets arena_offset of every arena
 * and variable tensor; returns the bytes needed (16-aligned, saturating). */
uint32_t hil_plan_place(hil_tensor *tensors, uint32_t n);

#endif
