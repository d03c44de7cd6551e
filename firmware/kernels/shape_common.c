/* Shared pieces of the data-movement kernels; see shape_common.h. */
#include "kernels/shape_common.h"

#include <stddef.h>
#include <string.h>

const char *hil_dtype_name(uint8_t dtype)
{
    switch (dtype) {
    case HIL_DT_FLOAT32:
        return "FLOAT32";
    case HIL_DT_FLOAT16:
        return "FLOAT16";
    case HIL_DT_INT32:
        return "INT32";
    case HIL_DT_UINT8:
        return "UINT8";
    case HIL_DT_INT64:
        return "INT64";
    case HIL_DT_BOOL:
        return "BOOL";
    case HIL_DT_INT16:
        return "INT16";
    case HIL_DT_INT8:
        return "INT8";
    case 10:
        return "FLOAT64";
    case 12:
        return "UINT64";
    case 15:
        return "UINT32";
    case 16:
        return "UINT16";
    default:
        return "UNKNOWN";
    }
}

hil_status hil_shape_options(const hil_model_op *op, uint8_t expected, const char *name,
                             hil_msg *msg)
{
    if (op->options_type != 0 && op->options_type != expected) {
        return hil_fail(msg, HIL_ERR_MODEL_INVALID, "builtin options type %u is not %s",
                        (uint32_t)op->options_type, name);
    }
    return HIL_OK;
}

static hil_status check_count(const char *what, uint32_t n, uint32_t lo, uint32_t hi,
                              hil_msg *msg)
{
    if (n >= lo && n <= hi) {
        return HIL_OK;
    }
    if (lo == hi) {
        return hil_fail(msg, HIL_ERR_MODEL_INVALID, "has %u %s, expected %u", n, what, lo);
    }
    if (hi == UINT32_MAX) {
        return hil_fail(msg, HIL_ERR_MODEL_INVALID, "has %u %s, expected at least %u", n, what,
                        lo);
    }
    return hil_fail(msg, HIL_ERR_MODEL_INVALID, "has %u %s, expected %u to %u", n, what, lo, hi);
}

hil_status hil_shape_arity(const hil_node *node, uint32_t min_in, uint32_t max_in,
                           uint32_t min_out, uint32_t max_out, hil_msg *msg)
{
    hil_status st = check_count("inputs", node->n_inputs, min_in, max_in, msg);
    if (st == HIL_OK) {
        st = check_count("outputs", node->n_outputs, min_out, max_out, msg);
    }
    if (st != HIL_OK) {
        return st;
    }
    for (uint32_t i = 0; i < node->n_inputs; i++) {
        if (node->inputs[i] < 0) {
            return hil_fail(msg, HIL_ERR_MODEL_INVALID, "input %u is missing", i);
        }
        /* An op reading the tensor it writes would copy a buffer onto itself
         * (overlapping memcpy); no converter produces that. */
        for (uint32_t o = 0; o < node->n_outputs; o++) {
            if (node->outputs[o] == node->inputs[i]) {
                return hil_fail(msg, HIL_ERR_MODEL_INVALID, "output %u is also input %u", o, i);
            }
        }
    }
    return HIL_OK; /* outputs are never -1: the model reader checks them */
}

hil_tensor *hil_shape_in(hil_interp *ip, const hil_node *node, uint32_t i)
{
    return hil_interp_tensor(ip, node->inputs[i]);
}

hil_tensor *hil_shape_out(hil_interp *ip, const hil_node *node, uint32_t i)
{
    return hil_interp_tensor(ip, node->outputs[i]);
}

hil_status hil_shape_dtype(const hil_tensor *t, uint32_t allowed, const char *what,
                           hil_msg *msg)
{
    if (t->dtype < 32u && (allowed & HIL_DTYPE_BIT(t->dtype)) != 0) {
        return HIL_OK;
    }
    return hil_fail(msg, HIL_ERR_UNSUPPORTED, "%s type %s is not supported", what,
                    hil_dtype_name(t->dtype));
}

hil_status hil_shape_same_dtype(const hil_tensor *t, const hil_tensor *ref, const char *what,
                                hil_msg *msg)
{
    if (t->dtype == ref->dtype) {
        return HIL_OK;
    }
    return hil_fail(msg, HIL_ERR_MODEL_INVALID, "%s type %s differs from input type %s", what,
                    hil_dtype_name(t->dtype), hil_dtype_name(ref->dtype));
}

hil_status hil_shape_max_rank(const hil_tensor *t, uint32_t max_rank, hil_msg *msg)
{
    if (t->rank <= max_rank) {
        return HIL_OK;
    }
    return hil_fail(msg, HIL_ERR_UNSUPPORTED, "rank %u is not supported (at most %u)",
                    (uint32_t)t->rank, max_rank);
}

hil_status hil_shape_const_i32(const hil_tensor *t, uint32_t count, const char *what,
                               const int32_t **values, hil_msg *msg)
{
    if (t->kind != HIL_TENSOR_CONST) {
        return hil_fail(msg, HIL_ERR_UNSUPPORTED, "non-constant %s tensor is not supported",
                        what);
    }
    if (t->dtype != HIL_DT_INT32) {
        return hil_fail(msg, HIL_ERR_UNSUPPORTED, "%s type %s is not supported (int32 only)",
                        what, hil_dtype_name(t->dtype));
    }
    if (hil_tensor_elems(t) != count) {
        return hil_fail(msg, HIL_ERR_MODEL_INVALID, "%s has %u elements, expected %u", what,
                        hil_tensor_elems(t), count);
    }
    *values = (const int32_t *)(const void *)t->data;
    return HIL_OK;
}

hil_status hil_shape_axis(int32_t axis, uint32_t rank, const char *what, uint32_t *out,
                          hil_msg *msg)
{
    int64_t a = axis < 0 ? (int64_t)axis + (int64_t)rank : (int64_t)axis;
    if (a < 0 || a >= (int64_t)rank) {
        return hil_fail(msg, HIL_ERR_MODEL_INVALID, "%s %d is out of range for rank %u", what,
                        axis, rank);
    }
    *out = (uint32_t)a;
    return HIL_OK;
}

int hil_shape_same_dims(const hil_tensor *a, const hil_tensor *b)
{
    if (a->rank != b->rank) {
        return 0;
    }
    for (uint32_t d = 0; d < a->rank; d++) {
        if (a->dims[d] != b->dims[d]) {
            return 0;
        }
    }
    return 1;
}

uint32_t hil_shape_prod(const int32_t *dims, uint32_t from, uint32_t to)
{
    uint32_t p = 1;
    for (uint32_t d = from; d < to; d++) {
        p *= (uint32_t)dims[d];
    }
    return p;
}

uint32_t hil_shape_elem_bytes(const hil_tensor *t)
{
    return hil_dtype_bytes(t->dtype);
}

void hil_blocks_gather(const hil_blocks *b, hil_interp *ip, const hil_node *node, uint8_t *dst)
{
    const uint32_t *piece = (const uint32_t *)(const void *)(b + 1);
    size_t at = 0; /* where piece i starts in a repetition */
    for (uint32_t i = 0; i < b->n; i++) {
        const uint32_t len = piece[i];
        if (len != 0) {
            const uint8_t *src = hil_shape_in(ip, node, i)->data;
            uint8_t *out = dst + at;
            for (uint32_t k = 0; k < b->outer; k++) {
                memcpy(out, src, len);
                src += len;
                out += b->row;
            }
        }
        at += len;
    }
}

void hil_blocks_scatter(const hil_blocks *b, hil_interp *ip, const hil_node *node,
                        const uint8_t *src)
{
    const uint32_t *piece = (const uint32_t *)(const void *)(b + 1);
    size_t at = 0;
    for (uint32_t i = 0; i < b->n; i++) {
        const uint32_t len = piece[i];
        if (len != 0) {
            uint8_t *out = hil_shape_out(ip, node, i)->data;
            const uint8_t *in = src + at;
            for (uint32_t k = 0; k < b->outer; k++) {
                memcpy(out, in, len);
                out += len;
                in += b->row;
            }
        }
        at += len;
    }
}

void hil_walk_init(hil_walk *w, uint32_t rank, const int32_t *count, const int32_t *step,
                   int32_t base, uint32_t elem)
{
    memset(w, 0, sizeof *w);
    w->elem = (uint8_t)elem;
    w->base = (int32_t)((int64_t)base * (int64_t)elem);
    uint32_t n = 0;
    for (uint32_t d = 0; d < rank; d++) {
        if (count[d] == 0) {
            w->rank = 0; /* nothing to read or write */
            return;
        }
        if (count[d] == 1) {
            continue; /* its step never applies */
        }
        /* Every multi-step dimension spans part of the input, so
         * |step| * elem is below the input's byte size (< 2^31). */
        const int32_t s = (int32_t)((int64_t)step[d] * (int64_t)elem);
        if (n > 0 && w->step[n - 1] == s * count[d]) {
            w->count[n - 1] *= count[d]; /* the outer one nests contiguously */
            w->step[n - 1] = s;
            continue;
        }
        w->count[n] = count[d];
        w->step[n] = s;
        n++;
    }
    if (n == 0) { /* a single element */
        w->count[0] = 1;
        w->step[0] = (int32_t)elem;
        n = 1;
    }
    for (uint32_t d = 0; d < n; d++) {
        w->back[d] = (w->count[d] - 1) * w->step[d];
    }
    w->rank = (uint8_t)n;
}

/* One innermost run: n elements `step` bytes apart. Offsets are formed per
 * element (i * step for i < n is the distance between two elements read),
 * so no pointer ever leaves the input. */
static void walk_row(const uint8_t *src, int32_t step, int32_t n, uint32_t elem, uint8_t *dst)
{
    if (step == (int32_t)elem) {
        memcpy(dst, src, (size_t)n * elem);
        return;
    }
    switch (elem) {
    case 1:
        for (int32_t i = 0; i < n; i++) {
            dst[i] = src[(ptrdiff_t)i * step];
        }
        break;
    case 2: {
        uint16_t *d = (uint16_t *)(void *)dst;
        for (int32_t i = 0; i < n; i++) {
            d[i] = *(const uint16_t *)(const void *)(src + (ptrdiff_t)i * step);
        }
        break;
    }
    case 4: {
        uint32_t *d = (uint32_t *)(void *)dst;
        for (int32_t i = 0; i < n; i++) {
            d[i] = *(const uint32_t *)(const void *)(src + (ptrdiff_t)i * step);
        }
        break;
    }
    default:
        for (int32_t i = 0; i < n; i++) {
            memcpy(dst + (size_t)i * elem, src + (ptrdiff_t)i * step, elem);
        }
        break;
    }
}

void hil_walk_run(const hil_walk *w, const uint8_t *src, uint8_t *dst)
{
    if (w->rank == 0) {
        return;
    }
    const uint32_t last = w->rank - 1u;
    const int32_t n = w->count[last];
    const int32_t step = w->step[last];
    const size_t row = (size_t)n * w->elem;
    int32_t idx[HIL_MAX_RANK] = {0};
    int32_t at = w->base; /* always the offset of an element the walk reads */
    for (;;) {
        walk_row(src + at, step, n, w->elem, dst);
        dst += row;
        uint32_t d = last;
        for (;;) {
            if (d == 0) {
                return;
            }
            d--;
            if (idx[d] + 1 < w->count[d]) {
                idx[d]++;
                at += w->step[d];
                break;
            }
            idx[d] = 0;
            at -= w->back[d];
        }
    }
}

void hil_shape_copy(hil_interp *ip, const hil_node *node)
{
    const hil_tensor *in = hil_shape_in(ip, node, 0);
    hil_tensor *out = hil_shape_out(ip, node, 0);
    if (in->bytes != 0 && out->data != in->data) {
        memcpy(out->data, in->data, in->bytes);
    }
}
