/* The interpreter: load (validate, size, plan, prepare), invoke, access.
 *
 * Load sizes all engine state from the model before taking any of it, so an
 * arena that is too small is refused with the exact number of bytes needed
 * (an upper bound only when the arena cannot even hold the tensor and node
 * tables, which the planner works on). */
#include "engine/interp.h"

#include <string.h>
#include "engine/op_names.h"
#include "engine/planner.h"
#include "kernels/registry.h"

/* Sizes gathered while validating, before anything is allocated. */
typedef struct {
    uint64_t tables;       /* tensor table + node table + io index lists */
    uint64_t op_data;      /* every kernel's prepared data */
    uint64_t activations;  /* upper bound: every non-constant tensor apart */
    uint32_t io_indices;   /* op inputs + outputs + graph inputs + outputs */
} load_sizes;

static uint64_t align_state(uint64_t v)
{
    return (v + HIL_STATE_ALIGN - 1u) & ~(uint64_t)(HIL_STATE_ALIGN - 1u);
}

static uint32_t clamp_u32(uint64_t v)
{
    return v > UINT32_MAX ? UINT32_MAX : (uint32_t)v;
}

void hil_interp_init(hil_interp *ip, uint8_t *arena, uint32_t arena_bytes)
{
    memset(ip, 0, sizeof *ip);
    uintptr_t skip = (HIL_PLAN_ALIGN - ((uintptr_t)arena & (HIL_PLAN_ALIGN - 1u))) &
                     (HIL_PLAN_ALIGN - 1u);
    if (arena == NULL || arena_bytes < skip + HIL_PLAN_ALIGN) {
        return; /* no usable arena: every load will say so */
    }
    ip->arena = arena + skip;
    ip->arena_bytes = (uint32_t)(arena_bytes - skip) & ~(HIL_PLAN_ALIGN - 1u);
}

void hil_interp_unload(hil_interp *ip)
{
    ip->loaded = 0;
    ip->tail_used = 0;
    ip->plan_bytes = 0;
    ip->tensors = NULL;
    ip->n_tensors = 0;
    ip->nodes = NULL;
    ip->n_nodes = 0;
    ip->io[0] = ip->io[1] = NULL;
    ip->n_io[0] = ip->n_io[1] = 0;
    memset(&ip->model, 0, sizeof ip->model);
}

int hil_interp_loaded(const hil_interp *ip)
{
    return ip->loaded;
}

/* Bytes of arena a load needs: the usable arena is a multiple of 16, so the
 * need is too (state blocks are 8-aligned, the plan 16-aligned). */
static uint64_t arena_need(uint64_t plan, uint64_t state)
{
    return (plan + state + HIL_PLAN_ALIGN - 1u) & ~(uint64_t)(HIL_PLAN_ALIGN - 1u);
}

static hil_status too_small(const hil_interp *ip, uint64_t need, hil_msg *msg)
{
    return hil_fail(msg, HIL_ERR_ARENA_TOO_SMALL, "arena too small: need %u bytes, have %u",
                    clamp_u32(need), ip->arena_bytes);
}

/* Parse every tensor once, so a bad one is reported before anything else. */
static hil_status check_tensors(hil_interp *ip, load_sizes *sz)
{
    hil_model *m = &ip->model;
    for (uint32_t i = 0; i < hil_model_tensor_count(m); i++) {
        hil_model_tensor mt;
        if (hil_model_get_tensor(m, i, &mt) != HIL_OK) {
            return m->fb.status;
        }
        if (mt.data == NULL) {
            sz->activations += hil_align_up(mt.bytes, HIL_PLAN_ALIGN);
        }
    }
    return HIL_OK;
}

/* Parse every op, find its kernel and its data size. The first op the
 * engine lacks is refused here, before the arena is looked at. */
static hil_status check_ops(hil_interp *ip, load_sizes *sz, hil_msg *msg)
{
    hil_model *m = &ip->model;
    for (uint32_t i = 0; i < hil_model_op_count(m); i++) {
        hil_model_op op;
        if (hil_model_get_op(m, i, &op) != HIL_OK) {
            return m->fb.status;
        }
        const hil_kernel *k = hil_kernel_find(op.code);
        if (k == NULL) {
            const char *name = hil_op_name(op.code);
            if (name == NULL) {
                return hil_fail(msg, HIL_ERR_UNSUPPORTED,
                                "unsupported operator code %d (op index %u)", op.code, i);
            }
            return hil_fail(msg, HIL_ERR_UNSUPPORTED, "unsupported operator %s (op index %u)",
                            name, i);
        }
        if (op.inputs.len > UINT16_MAX || op.outputs.len > UINT16_MAX) {
            return hil_fail(msg, HIL_ERR_UNSUPPORTED, "op %u has too many inputs or outputs", i);
        }
        sz->io_indices += op.inputs.len + op.outputs.len; /* bounded by the model size */
        sz->op_data += align_state(k->data_bytes(m, &op));
        if (m->fb.status != HIL_OK) {
            return m->fb.status;
        }
    }
    return HIL_OK;
}

static void fill_tensor(hil_tensor *t, const hil_model_tensor *mt)
{
    memset(t, 0, sizeof *t);
    /* Constants are only ever read (load refuses ops that write them). */
    t->data = (uint8_t *)(uintptr_t)mt->data;
    t->bytes = mt->bytes;
    memcpy(t->dims, mt->dims, sizeof t->dims);
    t->dtype = mt->dtype;
    t->rank = mt->rank;
    t->quantized = mt->quantized;
    t->scale = mt->scale;
    t->zero_point = mt->zero_point;
    t->kind = mt->data != NULL  ? HIL_TENSOR_CONST
              : mt->is_variable ? HIL_TENSOR_VARIABLE
                                : HIL_TENSOR_UNUSED;
    t->first_use = 0;
    t->last_use = -1;
    t->arena_offset = HIL_UNPLACED;
}

static int32_t *copy_indices(hil_model *m, const hil_fb_vec *v, int32_t *dst)
{
    for (uint32_t i = 0; i < v->len; i++) {
        dst[i] = hil_fb_vec_i32(&m->fb, v, i);
    }
    return dst + v->len;
}

/* Tensor table, node table and index lists, at the top of the arena. */
static hil_status build_tables(hil_interp *ip, const load_sizes *sz)
{
    hil_model *m = &ip->model;
    ip->n_tensors = hil_model_tensor_count(m);
    ip->n_nodes = hil_model_op_count(m);
    ip->tensors = hil_arena_take_tail(ip, ip->n_tensors * (uint32_t)sizeof(hil_tensor));
    ip->nodes = hil_arena_take_tail(ip, ip->n_nodes * (uint32_t)sizeof(hil_node));
    int32_t *idx = hil_arena_take_tail(ip, sz->io_indices * (uint32_t)sizeof(int32_t));
    if ((ip->tensors == NULL && ip->n_tensors != 0) || (ip->nodes == NULL && ip->n_nodes != 0) ||
        (idx == NULL && sz->io_indices != 0)) {
        return HIL_ERR_INTERNAL; /* sizes were checked by the caller */
    }
    for (uint32_t i = 0; i < ip->n_tensors; i++) {
        hil_model_tensor mt;
        hil_model_get_tensor(m, i, &mt);
        fill_tensor(&ip->tensors[i], &mt);
    }
    for (int is_output = 0; is_output < 2; is_output++) {
        ip->io[is_output] = idx;
        ip->n_io[is_output] = hil_model_io_count(m, is_output);
        idx = copy_indices(m, is_output ? &m->outputs : &m->inputs, idx);
    }
    for (uint32_t i = 0; i < ip->n_nodes; i++) {
        hil_model_op op;
        hil_node *node = &ip->nodes[i];
        hil_model_get_op(m, i, &op);
        node->kernel = hil_kernel_find(op.code);
        node->index = i;
        node->n_inputs = (uint16_t)op.inputs.len;
        node->n_outputs = (uint16_t)op.outputs.len;
        node->inputs = idx;
        idx = copy_indices(m, &op.inputs, idx);
        node->outputs = idx;
        idx = copy_indices(m, &op.outputs, idx);
    }
    return m->fb.status;
}

/* Prefix a kernel's message with the op it concerns. */
static hil_status op_failure(const hil_node *node, hil_status st, hil_msg *msg)
{
    if (msg != NULL) {
        hil_msg inner = *msg;
        hil_fail(msg, st, "%s (op index %u): %s", node->kernel->name, node->index, inner.text);
    }
    return st;
}

static hil_status prepare_ops(hil_interp *ip, hil_msg *msg)
{
    hil_model *m = &ip->model;
    for (uint32_t i = 0; i < ip->n_nodes; i++) {
        hil_node *node = &ip->nodes[i];
        hil_model_op op;
        if (hil_model_get_op(m, i, &op) != HIL_OK) {
            return m->fb.status;
        }
        uint32_t bytes = node->kernel->data_bytes(m, &op);
        if (bytes != 0) {
            node->data = hil_arena_take_tail(ip, bytes);
            if (node->data == NULL) {
                return hil_fail(msg, HIL_ERR_INTERNAL, "op %u: state larger than planned", i);
            }
        }
        hil_status st = node->kernel->prepare(ip, node, &op, msg);
        if (st != HIL_OK) {
            return op_failure(node, st, msg);
        }
    }
    return m->fb.status;
}

static hil_status load_steps(hil_interp *ip, const uint8_t *model, uint32_t model_bytes,
                             hil_msg *msg)
{
    hil_model *m = &ip->model;
    load_sizes sz = {0, 0, 0, 0};
    if (ip->arena == NULL) {
        return hil_fail(msg, HIL_ERR_STATE, "engine has no arena");
    }
    hil_status st = hil_model_open(m, model, model_bytes, msg);
    if (st == HIL_OK) {
        st = check_tensors(ip, &sz);
    }
    if (st == HIL_OK) {
        st = check_ops(ip, &sz, msg);
    }
    if (st != HIL_OK) {
        return st;
    }
    sz.io_indices += hil_model_io_count(m, 0) + hil_model_io_count(m, 1);
    sz.tables = align_state((uint64_t)hil_model_tensor_count(m) * sizeof(hil_tensor)) +
                align_state((uint64_t)hil_model_op_count(m) * sizeof(hil_node)) +
                align_state((uint64_t)sz.io_indices * sizeof(int32_t));
    const uint64_t state = sz.tables + sz.op_data;
    if (sz.tables > ip->arena_bytes) {
        return too_small(ip, arena_need(sz.activations, state), msg);
    }
    st = build_tables(ip, &sz);
    if (st == HIL_OK) {
        st = hil_plan_lifetimes(ip, msg);
    }
    if (st != HIL_OK) {
        return st;
    }
    const uint32_t plan = hil_plan_place(ip->tensors, ip->n_tensors);
    if (arena_need(plan, state) > ip->arena_bytes) {
        return too_small(ip, arena_need(plan, state), msg);
    }
    ip->plan_bytes = plan;
    for (uint32_t i = 0; i < ip->n_tensors; i++) {
        hil_tensor *t = &ip->tensors[i];
        if (t->kind == HIL_TENSOR_ARENA || t->kind == HIL_TENSOR_VARIABLE) {
            t->data = ip->arena + t->arena_offset;
        }
    }
    hil_interp_reset_variables(ip);
    return prepare_ops(ip, msg);
}

hil_status hil_interp_load(hil_interp *ip, const uint8_t *model, uint32_t model_bytes,
                           hil_msg *msg)
{
    hil_interp_unload(ip);
    hil_status st = load_steps(ip, model, model_bytes, msg);
    ip->model.fb.msg = NULL; /* the caller's message does not outlive this call */
    if (st != HIL_OK) {
        hil_interp_unload(ip);
        return st;
    }
    ip->loaded = 1;
    return HIL_OK;
}

uint32_t hil_interp_io_count(const hil_interp *ip, int is_output)
{
    return ip->loaded ? ip->n_io[is_output != 0] : 0;
}

hil_tensor *hil_interp_io(hil_interp *ip, int is_output, uint32_t index)
{
    is_output = is_output != 0;
    if (!ip->loaded || index >= ip->n_io[is_output]) {
        return NULL;
    }
    return &ip->tensors[ip->io[is_output][index]];
}

void hil_interp_tensor_info(const hil_tensor *t, hil_tensor_info *info)
{
    memset(info, 0, sizeof *info);
    info->dtype = t->dtype;
    info->rank = t->rank;
    memcpy(info->dims, t->dims, sizeof info->dims);
    info->bytes = t->bytes;
    info->scale = t->quantized ? t->scale : 0.0f;
    info->zero_point = t->quantized ? t->zero_point : 0;
}

hil_status hil_interp_invoke(hil_interp *ip, hil_msg *msg)
{
    if (!ip->loaded) {
        return hil_fail(msg, HIL_ERR_STATE, "no model loaded");
    }
    for (uint32_t i = 0; i < ip->n_nodes; i++) {
        const hil_node *node = &ip->nodes[i];
        uint64_t start = 0;
        int timed = ip->clock != NULL && i < ip->op_ticks_capacity;
        if (timed) {
            start = ip->clock();
        }
        hil_status st = node->kernel->eval(ip, node, msg);
        if (timed) {
            ip->op_ticks[i] = ip->clock() - start;
        }
        if (st != HIL_OK) {
            return op_failure(node, st, msg);
        }
    }
    return HIL_OK;
}

void hil_interp_set_profiler(hil_interp *ip, hil_clock_fn clock, uint64_t *ticks,
                             uint32_t capacity)
{
    ip->clock = ticks != NULL ? clock : NULL;
    ip->op_ticks = ticks;
    ip->op_ticks_capacity = ticks != NULL ? capacity : 0;
}

void hil_interp_reset_variables(hil_interp *ip)
{
    for (uint32_t i = 0; i < ip->n_tensors; i++) {
        hil_tensor *t = &ip->tensors[i];
        if (t->kind == HIL_TENSOR_VARIABLE && t->data != NULL) {
            int fill = t->dtype == HIL_DT_INT8 ? (int)(uint8_t)t->zero_point : 0;
            memset(t->data, fill, t->bytes);
        }
    }
}

uint32_t hil_interp_arena_used(const hil_interp *ip)
{
    return ip->loaded ? clamp_u32(arena_need(ip->plan_bytes, ip->tail_used)) : 0;
}

hil_tensor *hil_interp_tensor(hil_interp *ip, int32_t index)
{
    if (index < 0 || (uint32_t)index >= ip->n_tensors) {
        return NULL;
    }
    return &ip->tensors[index];
}

uint32_t hil_tensor_elems(const hil_tensor *t)
{
    uint32_t n = 1;
    for (uint32_t d = 0; d < t->rank; d++) {
        n *= (uint32_t)t->dims[d]; /* cannot overflow: bytes <= 2 GiB was checked */
    }
    return n;
}
