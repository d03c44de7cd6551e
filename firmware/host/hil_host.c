/* A plain C API over hil_interp for the host (Python ctypes). Unlike the
 * firmware this file may allocate: each context owns its arena and a
 * 16-byte aligned copy of the loaded model. Functions returning int32_t
 * return a hil_status; hil_host_last_error() has the text of the last
 * failure. Not thread-safe per context. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "engine/interp.h"
#include "hil/engine.h"
#include "kernels/quant.h"

#if defined(__SANITIZE_ADDRESS__)
#define HIL_HOST_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define HIL_HOST_ASAN 1
#endif
#endif

#ifdef HIL_HOST_ASAN
#include <sanitizer/asan_interface.h>
#define POISON(p, n) ASAN_POISON_MEMORY_REGION((p), (n))
#define UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION((p), (n))
#else
#define POISON(p, n) ((void)(p), (void)(n))
#define UNPOISON(p, n) ((void)(p), (void)(n))
#endif

/* Bumped when a signature or hil_tensor_info changes. */
#define HIL_HOST_ABI 1u

typedef struct hil_host {
    hil_interp interp;
    uint8_t *arena;
    uint32_t arena_alloc;
    uint8_t *model;
    uint32_t model_alloc;
    hil_msg error;
} hil_host;

static uint32_t round16(uint32_t n)
{
    return (n + 15u) & ~15u;
}

/* Under ASan, make bytes the engine must not touch unreadable, so a stray
 * read or write faults at once instead of passing silently. */
static void guard_arena(hil_host *h)
{
    const hil_interp *ip = &h->interp;
    UNPOISON(h->arena, h->arena_alloc);
    if (!hil_interp_loaded(ip)) {
        POISON(h->arena, h->arena_alloc);
        return;
    }
    uint8_t *free_lo = ip->arena + ip->plan_bytes;
    uint8_t *free_hi = ip->arena + ip->arena_bytes - ip->tail_used;
    uint8_t *end = h->arena + h->arena_alloc;
    uint8_t *usable_end = ip->arena + ip->arena_bytes;
    POISON(free_lo, (size_t)(free_hi - free_lo));
    POISON(usable_end, (size_t)(end - usable_end));
}

static int32_t ok(hil_host *h)
{
    h->error.text[0] = '\0';
    return HIL_OK;
}

uint32_t hil_host_abi(void)
{
    return HIL_HOST_ABI;
}

uint32_t hil_host_info_size(void)
{
    return (uint32_t)sizeof(hil_tensor_info);
}

hil_host *hil_host_create(uint32_t arena_bytes)
{
    hil_host *h = calloc(1, sizeof *h);
    if (h == NULL) {
        return NULL;
    }
    h->arena_alloc = round16(arena_bytes > 16u ? arena_bytes : 16u);
    h->arena = aligned_alloc(16, h->arena_alloc);
    if (h->arena == NULL) {
        free(h);
        return NULL;
    }
    hil_interp_init(&h->interp, h->arena, arena_bytes);
    guard_arena(h);
    return h;
}

static void free_model(hil_host *h)
{
    if (h->model != NULL) {
        UNPOISON(h->model, h->model_alloc);
        free(h->model);
    }
    h->model = NULL;
    h->model_alloc = 0;
}

void hil_host_destroy(hil_host *h)
{
    if (h == NULL) {
        return;
    }
    free_model(h);
    UNPOISON(h->arena, h->arena_alloc);
    free(h->arena);
    free(h);
}

void hil_host_unload(hil_host *h)
{
    hil_interp_unload(&h->interp);
    free_model(h);
    guard_arena(h);
}

int32_t hil_host_load(hil_host *h, const uint8_t *model, uint32_t bytes)
{
    hil_host_unload(h);
    UNPOISON(h->arena, h->arena_alloc);
    if (model == NULL && bytes != 0) {
        return hil_fail(&h->error, HIL_ERR_BAD_REQUEST, "no model bytes");
    }
    h->model_alloc = round16(bytes > 0 ? bytes : 1u);
    h->model = aligned_alloc(16, h->model_alloc);
    if (h->model == NULL) {
        h->model_alloc = 0;
        return hil_fail(&h->error, HIL_ERR_MODEL_TOO_LARGE, "cannot allocate %u bytes", bytes);
    }
    if (bytes != 0) {
        memcpy(h->model, model, bytes);
    }
    POISON(h->model + bytes, h->model_alloc - bytes); /* reads past the end must fault */
    hil_status st = hil_interp_load(&h->interp, h->model, bytes, &h->error);
    if (st != HIL_OK) {
        free_model(h);
        guard_arena(h);
        return st;
    }
    guard_arena(h);
    return ok(h);
}

int32_t hil_host_loaded(const hil_host *h)
{
    return hil_interp_loaded(&h->interp);
}

uint32_t hil_host_count(hil_host *h, int32_t is_output)
{
    return hil_interp_io_count(&h->interp, is_output != 0);
}

static hil_status io_tensor(hil_host *h, int is_output, uint32_t index, hil_tensor **t)
{
    if (!hil_interp_loaded(&h->interp)) {
        return hil_fail(&h->error, HIL_ERR_STATE, "no model loaded");
    }
    *t = hil_interp_io(&h->interp, is_output, index);
    if (*t == NULL) {
        return hil_fail(&h->error, HIL_ERR_BAD_REQUEST, "%s index %u out of range (%u)",
                        is_output ? "output" : "input", index,
                        hil_interp_io_count(&h->interp, is_output));
    }
    return HIL_OK;
}

int32_t hil_host_tensor_info(hil_host *h, int32_t is_output, uint32_t index, hil_tensor_info *info)
{
    hil_tensor *t;
    hil_status st = io_tensor(h, is_output != 0, index, &t);
    if (st != HIL_OK) {
        return st;
    }
    hil_interp_tensor_info(t, info);
    return ok(h);
}

static int32_t copy_io(hil_host *h, int is_output, uint32_t index, void *buf, uint32_t bytes)
{
    hil_tensor *t;
    hil_status st = io_tensor(h, is_output, index, &t);
    if (st != HIL_OK) {
        return st;
    }
    if (bytes != t->bytes) {
        return hil_fail(&h->error, HIL_ERR_TENSOR, "%s %u is %u bytes, got %u",
                        is_output ? "output" : "input", index, t->bytes, bytes);
    }
    if (bytes != 0) {
        if (is_output) {
            memcpy(buf, t->data, bytes);
        } else {
            memcpy(t->data, buf, bytes);
        }
    }
    return ok(h);
}

int32_t hil_host_set_input(hil_host *h, uint32_t index, const void *data, uint32_t bytes)
{
    return copy_io(h, 0, index, (void *)(uintptr_t)data, bytes);
}

int32_t hil_host_get_output(hil_host *h, uint32_t index, void *out, uint32_t bytes)
{
    return copy_io(h, 1, index, out, bytes);
}

int32_t hil_host_invoke(hil_host *h)
{
    hil_status st = hil_interp_invoke(&h->interp, &h->error);
    return st != HIL_OK ? (int32_t)st : ok(h);
}

int32_t hil_host_reset_variables(hil_host *h)
{
    if (!hil_interp_loaded(&h->interp)) {
        return hil_fail(&h->error, HIL_ERR_STATE, "no model loaded");
    }
    hil_interp_reset_variables(&h->interp);
    return ok(h);
}

uint32_t hil_host_arena_used(const hil_host *h)
{
    return hil_interp_arena_used(&h->interp);
}

uint32_t hil_host_arena_bytes(const hil_host *h)
{
    return h->interp.arena_bytes;
}

const char *hil_host_last_error(const hil_host *h)
{
    return h->error.text;
}

/* The fixed-point helpers, exposed so tests can probe their edge cases
 * (ties, renormalisation, flush to zero, saturation) directly. */
void hil_host_quantize_multiplier(double m, int32_t *multiplier, int32_t *shift)
{
    hil_qmul q = hil_quantize_multiplier(m);
    *multiplier = q.multiplier;
    *shift = q.shift;
}

int32_t hil_host_multiply_by_quantized_multiplier(int32_t x, int32_t multiplier, int32_t shift)
{
    hil_qmul q = {multiplier, shift};
    if (!hil_qmul_in_range(q)) {
        return 0; /* outside the kernels' contract; they never call it so */
    }
    return hil_mul_by_qmul(x, q);
}

/* The integer multiplier path (hil_qmul_from_scales), for tests. */
int32_t hil_host_qmul_from_scales(float a, float b, float c, int32_t exp2, int32_t *multiplier,
                                  int32_t *shift)
{
    hil_qmul q;
    int ok = hil_qmul_from_scales(a, b, c, (int)exp2, &q);
    *multiplier = q.multiplier;
    *shift = q.shift;
    return ok;
}

/* The double path the kernels used before: (double)a * (double)b /
 * (double)c * 2^exp2, accepted when >= 0, finite and in range. */
static int qmul_double_path(float a, float b, float c, int exp2, hil_qmul *q)
{
    const double m = ldexp(hil_effective_scale(a, b, c), exp2);
    q->multiplier = 0;
    q->shift = 0;
    if (!(m >= 0.0) || !isfinite(m) || !hil_qmul_in_range(hil_quantize_multiplier(m))) {
        return 0;
    }
    *q = hil_quantize_multiplier(m);
    return 1;
}

/* Both paths over n triples: how many differ (acceptance or value), and
 * the first index that does in *first (n when none). */
uint32_t hil_host_qmul_compare(const float *a, const float *b, const float *c, uint32_t n,
                               int32_t exp2, uint32_t *first)
{
    uint32_t bad = 0;
    *first = n;
    for (uint32_t i = 0; i < n; i++) {
        hil_qmul qi;
        hil_qmul qd;
        const int oki = hil_qmul_from_scales(a[i], b[i], c[i], (int)exp2, &qi);
        const int okd = qmul_double_path(a[i], b[i], c[i], (int)exp2, &qd);
        if (oki != okd || qi.multiplier != qd.multiplier || qi.shift != qd.shift) {
            if (bad++ == 0) {
                *first = i;
            }
        }
    }
    return bad;
}

/* hil_bias_scale_ok against its plain double definition over n quadruples:
 * how many differ, and the first that does in *first (n when none). */
uint32_t hil_host_bias_scale_compare(const float *in, const float *filter, const float *bias,
                                     const float *out, uint32_t n, uint32_t *first)
{
    uint32_t bad = 0;
    *first = n;
    for (uint32_t i = 0; i < n; i++) {
        const double product = (double)in[i] * (double)filter[i];
        const int want = fabs(product - (double)bias[i]) / (double)out[i] <= 0.02;
        if (hil_bias_scale_ok(in[i], filter[i], bias[i], out[i]) != want && bad++ == 0) {
            *first = i;
        }
    }
    return bad;
}
