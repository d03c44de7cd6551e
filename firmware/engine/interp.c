/* The interpreter: load (validate, size, plan, prepare), invoke, access.
 *
 * Load takes engine state from the top of the arena as it goes and keeps
 * counting when something no longer fits, so an arena that is too small is
 * refused with the exact number of bytes needed (an upper bound only when
 * even the tensor entries do not fit, without which nothing can be
 * planned). Each tensor and each op is parsed (and validated) once while
 * sizing, and if the arena allows, only then: a compact record of each
 * constant and each op waits at the bottom of the arena (free until the
 * first invoke) for prepare. The records are a cache that never raises the
 * need: they are dropped (and prepare parses again) whenever they would
 * take room the load needs, or outgrow the activation plan; op records
 * first, as they lie above the constants'. After load, kernels asking for
 * a constant get it parsed from the model. */
#include "engine/interp.h"

#include <string.h>
#include "engine/op_names.h"
#include "engine/planner.h"
#include "engine/kernel.h"

/* Node and graph tensor lists are read in place from the model. */
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "hil reads the model's int32 index vectors in place: little-endian targets only"
#endif

/* The most tensors a model may have: map values are uint16. */
#define MAX_TENSORS 0xFFFFu

/* A constant as the loader read it, for prepare (see the top). */
typedef struct {
    uint32_t data; /* model offset of its contents */
    uint32_t bytes;
    uint32_t shape; /* model offset of its dims (int32 x rank), in bounds */
    float scale;
    int32_t zero_point;
    uint8_t dtype;
    uint8_t rank;
    uint8_t quantized;
} const_rec;

/* What prepare needs of an op besides its node, for the cache. */
typedef struct {
    int32_t code;
    int32_t version;
    uint32_t opcode_index;
    hil_fb_table options;
    uint8_t options_type;
} op_rec;

/* What a load needs, gathered before and while taking it. */
typedef struct {
    uint64_t state;       /* every block taken (or that would be) from the top */
    uint64_t activations; /* upper bound: every non-constant tensor apart */
    uint32_t consts;      /* bytes of constant records at the bottom (if cached) */
    uint8_t *op_data;     /* the op data blocks: one run, unused until prepare */
    uint32_t op_data_bytes;
    int entries;          /* the tensor entries and map were all taken */
    int cache;            /* the constant records are kept */
    uint32_t ops;         /* bytes of op records above them (0: none kept) */
    op_rec *op_recs;
    int full;             /* something did not fit: only counting from now on */
} load_sizes;

static uint64_t align_state(uint64_t v)
{
    return (v + HIL_STATE_ALIGN - 1u) & ~(uint64_t)(HIL_STATE_ALIGN - 1u);
}

static uint64_t align_plan(uint64_t v)
{
    return (v + HIL_PLAN_ALIGN - 1u) & ~(uint64_t)(HIL_PLAN_ALIGN - 1u);
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
    ip->map = NULL;
    ip->n_model_tensors = 0;
    ip->tensors = NULL;
    ip->n_tensors = 0;
    ip->nodes = NULL;
    ip->n_nodes = 0;
    ip->io[0] = ip->io[1] = NULL;
    ip->n_io[0] = ip->n_io[1] = 0;
    ip->slots = NULL;
    ip->slot_tensor = NULL;
    ip->n_slots = 0;
    ip->slots_used = 0;
    ip->staged = NULL;
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

/* Free bytes between the bottom reservation and the state. */
static uint32_t free_bytes(const hil_interp *ip)
{
    return ip->arena_bytes - ip->plan_bytes - ip->tail_used;
}

/* Give up the op records (prepare will parse ops again). */
static void drop_ops(hil_interp *ip, load_sizes *sz)
{
    ip->plan_bytes -= sz->ops; /* their reservation at the bottom */
    sz->ops = 0;
    sz->op_recs = NULL;
}

/* Give up every record (prepare will parse constants and ops again). */
static void drop_cache(hil_interp *ip, load_sizes *sz)
{
    drop_ops(ip, sz);
    sz->cache = 0;
    sz->consts = 0;
    ip->staged = NULL;
    ip->plan_bytes = 0;
}

/* Room for `bytes` more at the top, at the cost of the records if need be. */
static int room(hil_interp *ip, load_sizes *sz, uint32_t bytes)
{
    if (bytes > free_bytes(ip) && sz->op_recs != NULL) {
        drop_ops(ip, sz);
    }
    if (bytes > free_bytes(ip) && sz->cache) {
        drop_cache(ip, sz);
    }
    return bytes <= free_bytes(ip);
}

/* A block from the top of the arena, counted whether or not it fits;
 * NULL (and only counting from then on) when it does not. */
static void *take(hil_interp *ip, load_sizes *sz, uint64_t bytes)
{
    sz->state += align_state(bytes);
    if (sz->full || bytes > UINT32_MAX ||
        !room(ip, sz, hil_align_up((uint32_t)bytes, HIL_STATE_ALIGN))) {
        sz->full = 1;
        return NULL;
    }
    void *p = hil_arena_take_tail(ip, (uint32_t)bytes);
    if (p == NULL) {
        sz->full = 1;
    }
    return p;
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
}

/* Parse every tensor once, so a bad one is reported before anything else.
 * A non-constant one gets its entry, taken from the top one after the
 * other (so in reverse order, fixed up in the map at the end); a constant
 * gets a record at the bottom (the cache). */
static hil_status scan_tensors(hil_interp *ip, load_sizes *sz)
{
    hil_model *m = &ip->model;
    const_rec *recs = (const_rec *)(void *)ip->arena;
    uint32_t n = 0; /* non-constant */
    uint32_t k = 0; /* constant */
    sz->cache = 1;
    ip->staged = recs;
    for (uint32_t i = 0; i < ip->n_model_tensors; i++) {
        hil_model_tensor mt;
        if (hil_model_get_tensor(m, i, &mt) != HIL_OK) {
            return m->fb.status;
        }
        if (mt.data != NULL) {
            if (ip->map != NULL) {
                ip->map[i] = (uint16_t)(HIL_MAP_CONST_TOP - k);
            }
            if (sz->cache && sizeof(const_rec) > free_bytes(ip)) {
                drop_cache(ip, sz);
            }
            if (sz->cache) {
                const_rec *r = &recs[k];
                r->data = (uint32_t)(mt.data - m->fb.buf);
                r->bytes = mt.bytes;
                r->shape = mt.shape.pos;
                r->scale = mt.scale;
                r->zero_point = mt.zero_point;
                r->dtype = mt.dtype;
                r->rank = mt.rank;
                r->quantized = mt.quantized;
                ip->plan_bytes += (uint32_t)sizeof(const_rec);
                sz->consts += (uint32_t)sizeof(const_rec);
            }
            k++;
            continue;
        }
        sz->activations += align_plan(mt.bytes);
        sz->state += sizeof(hil_tensor);
        if (!sz->full && room(ip, sz, (uint32_t)sizeof(hil_tensor))) {
            ip->tail_used += (uint32_t)sizeof(hil_tensor);
            fill_tensor((hil_tensor *)(void *)(ip->arena + ip->arena_bytes - ip->tail_used), &mt);
            ip->map[i] = (uint16_t)n;
        } else {
            sz->full = 1;
        }
        n++;
    }
    ip->n_tensors = n;
    /* Align the top for the blocks that follow. */
    const uint32_t pad = (uint32_t)(align_state(sz->state) - sz->state);
    sz->state += pad;
    if (sz->full || !room(ip, sz, pad)) {
        sz->full = 1;
        return HIL_OK;
    }
    ip->tensors = (hil_tensor *)(void *)(ip->arena + ip->arena_bytes - ip->tail_used);
    ip->tail_used += pad;
    for (uint32_t i = 0; i < ip->n_model_tensors; i++) {
        if (ip->map[i] < n) {
            ip->map[i] = (uint16_t)(n - 1u - ip->map[i]); /* entry 0 was taken first: highest */
        }
    }
    sz->entries = 1;
    return HIL_OK;
}

/* Index vectors are used in place, so they must be int32-aligned in memory
 * (flatbuffer builders align them; only a crafted file is refused). */
static int aligned(const hil_interp *ip, const hil_fb_vec *v)
{
    return v->len == 0 || ((uintptr_t)(ip->model.fb.buf + v->pos) & 3u) == 0;
}

static hil_status unsupported_op(int32_t code, uint32_t i, hil_msg *msg)
{
    const char *name = hil_op_name(code);
    if (name == NULL) {
        return hil_fail(msg, HIL_ERR_UNSUPPORTED, "unsupported operator code %d (op index %u)",
                        code, i);
    }
    return hil_fail(msg, HIL_ERR_UNSUPPORTED, "unsupported operator %s (op index %u)", name, i);
}

/* Constant inputs of an op (the slots it needs); refuses outputs that are
 * constants. Needs the map. */
static hil_status count_constants(const hil_interp *ip, const hil_node *node, uint32_t i,
                                  uint32_t *constants, hil_msg *msg)
{
    *constants = 0;
    for (uint32_t k = 0; k < node->n_inputs; k++) {
        if (node->inputs[k] >= 0 && ip->map[node->inputs[k]] >= ip->n_tensors) {
            (*constants)++;
        }
    }
    for (uint32_t k = 0; k < node->n_outputs; k++) {
        if (ip->map[node->outputs[k]] >= ip->n_tensors) {
            return hil_fail(msg, HIL_ERR_MODEL_INVALID, "op %u writes constant tensor %d", i,
                            node->outputs[k]);
        }
    }
    return HIL_OK;
}

/* Parse every op once: its kernel (the first op the engine lacks is refused
 * here, before the arena is looked at), its node and its data block. */
static hil_status scan_ops(hil_interp *ip, load_sizes *sz, hil_msg *msg)
{
    hil_model *m = &ip->model;
    const uint32_t tail_before = ip->tail_used;
    if (sz->cache) { /* op records go right above the constant records */
        ip->plan_bytes = (uint32_t)align_state(sz->consts);
        sz->op_recs = (op_rec *)(void *)(ip->arena + ip->plan_bytes);
    }
    for (uint32_t i = 0; i < ip->n_nodes; i++) {
        hil_model_op op;
        if (hil_model_get_op(m, i, &op) != HIL_OK) {
            return m->fb.status;
        }
        const hil_kernel *k = hil_kernel_find(op.code);
        if (k == NULL) {
            return unsupported_op(op.code, i, msg);
        }
        if (op.inputs.len > UINT16_MAX || op.outputs.len > UINT16_MAX) {
            return hil_fail(msg, HIL_ERR_UNSUPPORTED, "op %u has too many inputs or outputs", i);
        }
        if (!aligned(ip, &op.inputs) || !aligned(ip, &op.outputs)) {
            return hil_fail(msg, HIL_ERR_MODEL_INVALID,
                            "op %u: tensor index list is not 4-byte aligned", i);
        }
        const uint32_t bytes = k->data_bytes(m, &op);
        if (m->fb.status != HIL_OK) {
            return m->fb.status;
        }
        if (sz->op_recs != NULL && sizeof(op_rec) > free_bytes(ip)) {
            drop_ops(ip, sz);
        }
        if (sz->op_recs != NULL) {
            op_rec *r = &sz->op_recs[i];
            r->code = op.code;
            r->version = op.version;
            r->opcode_index = op.opcode_index;
            r->options = op.options;
            r->options_type = op.options_type;
            ip->plan_bytes += (uint32_t)sizeof(op_rec);
            sz->ops += (uint32_t)sizeof(op_rec);
        }
        void *data = bytes != 0 ? take(ip, sz, bytes) : NULL;
        if (!sz->entries) {
            if (op.inputs.len > ip->n_slots) {
                ip->n_slots = op.inputs.len; /* upper bound: constness unknown */
            }
            continue;
        }
        hil_node *node = &ip->nodes[i];
        node->kernel = k;
        node->inputs = (const int32_t *)(const void *)hil_fb_vec_data(&m->fb, &op.inputs);
        node->outputs = (const int32_t *)(const void *)hil_fb_vec_data(&m->fb, &op.outputs);
        node->n_inputs = (uint16_t)op.inputs.len;
        node->n_outputs = (uint16_t)op.outputs.len;
        node->data = data;
        uint32_t constants;
        hil_status st = count_constants(ip, node, i, &constants, msg);
        if (st != HIL_OK) {
            return st;
        }
        if (constants > ip->n_slots) {
            ip->n_slots = constants;
        }
    }
    if (!sz->full) { /* blocks taken in a row from the top are contiguous */
        sz->op_data_bytes = ip->tail_used - tail_before;
        sz->op_data = ip->arena + ip->arena_bytes - ip->tail_used;
    }
    return HIL_OK;
}

/* Slots and the graph io lists. */
static void take_tables(hil_interp *ip, load_sizes *sz)
{
    hil_model *m = &ip->model;
    ip->slots = take(ip, sz, (uint64_t)ip->n_slots * sizeof(hil_tensor));
    ip->slot_tensor = take(ip, sz, (uint64_t)ip->n_slots * sizeof(int32_t));
    for (int is_output = 0; is_output < 2; is_output++) {
        const hil_fb_vec *v = is_output ? &m->outputs : &m->inputs;
        ip->n_io[is_output] = v->len;
        ip->io[is_output] = (const int32_t *)(const void *)hil_fb_vec_data(&m->fb, v);
    }
}

/* Prefix a kernel's message with the op it concerns. */
static hil_status op_failure(const hil_interp *ip, const hil_node *node, hil_status st,
                             hil_msg *msg)
{
    if (msg != NULL) {
        hil_msg inner = *msg;
        hil_fail(msg, st, "%s (op index %u): %s", node->kernel->name,
                 (uint32_t)(node - ip->nodes), inner.text);
    }
    return st;
}

/* An op vector rebuilt from its node's in-place list. */
static hil_fb_vec node_vec(const hil_interp *ip, const int32_t *list, uint32_t len)
{
    hil_fb_vec v = {0, 0, 4u};
    if (list != NULL) {
        v.pos = (uint32_t)((const uint8_t *)list - ip->model.fb.buf);
        v.len = len;
    }
    return v;
}

static hil_status prepare_ops(hil_interp *ip, const op_rec *recs, hil_msg *msg)
{
    hil_model *m = &ip->model;
    for (uint32_t i = 0; i < ip->n_nodes; i++) {
        hil_node *node = &ip->nodes[i];
        hil_model_op op;
        if (recs != NULL) { /* as scan_ops read it */
            memset(&op, 0, sizeof op);
            op.code = recs[i].code;
            op.version = recs[i].version;
            op.opcode_index = recs[i].opcode_index;
            op.inputs = node_vec(ip, node->inputs, node->n_inputs);
            op.outputs = node_vec(ip, node->outputs, node->n_outputs);
            op.options_type = recs[i].options_type;
            op.options = recs[i].options;
        } else if (hil_model_get_op(m, i, &op) != HIL_OK) {
            return m->fb.status;
        }
        ip->slots_used = 0;
        hil_status st = node->kernel->prepare(ip, node, &op, msg);
        if (st != HIL_OK) {
            return op_failure(ip, node, st, msg);
        }
    }
    return m->fb.status;
}

/* Lifetimes and placement, then the need, exact even when some block did
 * not fit (everything is counted; planning needs only the entries). The
 * lifetime records go where the op data will be (prepare has not run yet;
 * the blocks are zeroed again after), or else at the bottom, which the load
 * then needs as well (the constant cache gives way). */
static hil_status plan(hil_interp *ip, load_sizes *sz, hil_msg *msg)
{
    const uint32_t records = ip->n_tensors * (uint32_t)sizeof(hil_lifetime);
    uint32_t kept = 0; /* bytes the load itself needs at the bottom */
    hil_lifetime *life = (hil_lifetime *)(void *)sz->op_data;
    if (records > sz->op_data_bytes) {
        drop_cache(ip, sz);
        kept = records;
        if (records > free_bytes(ip)) {
            const uint64_t bottom = sz->activations > records ? sz->activations : records;
            return too_small(ip, arena_need(bottom, sz->state), msg);
        }
        life = (hil_lifetime *)(void *)ip->arena;
    }
    hil_status st = hil_plan_lifetimes(ip, life, msg);
    if (st != HIL_OK) {
        return st;
    }
    const uint32_t placed = hil_plan_place(ip->tensors, life, ip->n_tensors);
    uint64_t bottom = placed > kept ? placed : align_plan(kept);
    /* The cache may not raise the need. */
    if (sz->op_recs != NULL && align_state(sz->consts) + sz->ops > bottom) {
        drop_ops(ip, sz);
    }
    if (sz->cache && sz->consts > bottom) {
        drop_cache(ip, sz);
    }
    if (sz->full || arena_need(bottom, sz->state) > ip->arena_bytes) {
        return too_small(ip, arena_need(bottom, sz->state), msg);
    }
    for (uint32_t i = 0; i < ip->n_tensors; i++) {
        hil_tensor *t = &ip->tensors[i];
        if (t->kind == HIL_TENSOR_ARENA || t->kind == HIL_TENSOR_VARIABLE) {
            t->data = ip->arena + life[i].offset; /* records are dead after this */
        }
    }
    ip->plan_bytes = clamp_u32(bottom); /* the constant records, if kept, lie below */
    memset(sz->op_data, 0, sz->op_data_bytes); /* prepare expects zeroed blocks */
    return HIL_OK;
}

static hil_status load_steps(hil_interp *ip, const uint8_t *model, uint32_t model_bytes,
                             hil_msg *msg)
{
    hil_model *m = &ip->model;
    load_sizes sz;
    memset(&sz, 0, sizeof sz);
    if (ip->arena == NULL) {
        return hil_fail(msg, HIL_ERR_STATE, "engine has no arena");
    }
    hil_status st = hil_model_open(m, model, model_bytes, msg);
    if (st != HIL_OK) {
        return st;
    }
    ip->n_model_tensors = hil_model_tensor_count(m);
    ip->n_nodes = hil_model_op_count(m);
    if (ip->n_model_tensors > MAX_TENSORS) {
        return hil_fail(msg, HIL_ERR_UNSUPPORTED, "model has %u tensors (at most %u supported)",
                        ip->n_model_tensors, MAX_TENSORS);
    }
    if (ip->n_nodes > HIL_MAX_OPS) {
        return hil_fail(msg, HIL_ERR_UNSUPPORTED, "model has %u operators (at most %u supported)",
                        ip->n_nodes, HIL_MAX_OPS);
    }
    if (!aligned(ip, &m->inputs) || !aligned(ip, &m->outputs)) {
        return hil_fail(msg, HIL_ERR_MODEL_INVALID,
                        "graph input/output list is not 4-byte aligned");
    }
    ip->map = take(ip, &sz, (uint64_t)ip->n_model_tensors * sizeof(uint16_t));
    ip->nodes = take(ip, &sz, (uint64_t)ip->n_nodes * sizeof(hil_node));
    st = scan_tensors(ip, &sz);
    if (st == HIL_OK) {
        st = scan_ops(ip, &sz, msg);
    }
    if (st != HIL_OK) {
        return st;
    }
    take_tables(ip, &sz);
    if (!sz.entries) {
        return too_small(ip, arena_need(sz.activations, sz.state), msg);
    }
    st = plan(ip, &sz, msg);
    if (st == HIL_OK) {
        st = prepare_ops(ip, sz.op_recs, msg);
    }
    ip->staged = NULL; /* the constant records are dead from here */
    if (st == HIL_OK) {
        hil_interp_reset_variables(ip); /* after prepare: they overlap the records */
    }
    return st;
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
    return hil_interp_tensor(ip, ip->io[is_output][index]);
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
        ip->slots_used = 0;
        hil_status st = node->kernel->eval(ip, node, msg);
        if (timed) {
            ip->op_ticks[i] = ip->clock() - start;
        }
        if (st != HIL_OK) {
            return op_failure(ip, node, st, msg);
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

/* A constant of the current node, into the next free slot unless one
 * already holds it: from its record while loading, else parsed from the
 * model (validated at load, so the parse succeeds). Slots run out only if a
 * kernel asks for more constants than its node has, which none does. */
static hil_tensor *constant(hil_interp *ip, int32_t index)
{
    for (uint32_t i = 0; i < ip->slots_used; i++) {
        if (ip->slot_tensor[i] == index) {
            return &ip->slots[i];
        }
    }
    if (ip->slots_used >= ip->n_slots) {
        return NULL;
    }
    hil_tensor *t = &ip->slots[ip->slots_used];
    if (ip->staged != NULL) {
        const const_rec *r = (const const_rec *)ip->staged + (HIL_MAP_CONST_TOP - ip->map[index]);
        const hil_fb_vec shape = {r->shape, r->rank, 4u};
        memset(t, 0, sizeof *t);
        t->data = (uint8_t *)(uintptr_t)(ip->model.fb.buf + r->data);
        t->bytes = r->bytes;
        for (uint32_t d = 0; d < r->rank; d++) {
            t->dims[d] = hil_fb_vec_i32(&ip->model.fb, &shape, d);
        }
        t->dtype = r->dtype;
        t->rank = r->rank;
        t->kind = HIL_TENSOR_CONST;
        t->quantized = r->quantized;
        t->scale = r->scale;
        t->zero_point = r->zero_point;
    } else {
        hil_model_tensor mt;
        if (hil_model_get_tensor(&ip->model, (uint32_t)index, &mt) != HIL_OK) {
            return NULL;
        }
        fill_tensor(t, &mt);
    }
    ip->slot_tensor[ip->slots_used++] = index;
    return t;
}

hil_tensor *hil_interp_tensor(hil_interp *ip, int32_t index)
{
    if (index < 0 || (uint32_t)index >= ip->n_model_tensors || ip->map == NULL) {
        return NULL;
    }
    const uint16_t e = ip->map[index];
    return e < ip->n_tensors ? &ip->tensors[e] : constant(ip, index);
}

uint32_t hil_tensor_elems(const hil_tensor *t)
{
    uint32_t n = 1;
    for (uint32_t d = 0; d < t->rank; d++) {
        n *= (uint32_t)t->dims[d]; /* cannot overflow: bytes <= 2 GiB was checked */
    }
    return n;
}
