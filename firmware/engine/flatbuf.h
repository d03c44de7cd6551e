/* Bounds-checked FlatBuffers reading for untrusted model bytes.
 *
 * Every offset, length and index taken from the buffer is checked against the
 * buffer (and, for fields, against their table's inline size) before use.
 * Scalars are read as little-endian at any alignment (see flatbuf.c), so
 * neither alignment nor host byte order matter. Errors are sticky: the first
 * failure is recorded in the reader (status + message) and every later read
 * returns a safe default (zero, absent, empty), so a parser may check
 * `fb->status` once per step instead of after every field. Nothing here
 * recurses or allocates. */
#ifndef HIL_ENGINE_FLATBUF_H
#define HIL_ENGINE_FLATBUF_H

#include <stdint.h>
#include <string.h>
#include "hil/status.h"

typedef struct {
    const uint8_t *buf;
    uint32_t size;
    hil_status status; /* HIL_OK until the first failure */
    hil_msg *msg;      /* where the first failure is described; may be NULL */
} hil_fb;

/* A table: its position and its (already validated) vtable. */
typedef struct {
    uint32_t pos;
    uint32_t vtab;
    uint16_t vtab_size;
    uint16_t size; /* inline size of the table, from the vtable */
} hil_fb_table;

/* A vector: position of element 0, element count and element width; all its
 * elements lie inside the buffer. */
typedef struct {
    uint32_t pos;
    uint32_t len;
    uint32_t elem_bytes;
} hil_fb_vec;

void hil_fb_init(hil_fb *fb, const uint8_t *buf, uint32_t size, hil_msg *msg);

/* Record a failure (HIL_ERR_MODEL_INVALID unless `status` says otherwise);
 * only the first one is kept. Returns the reader's status. */
hil_status hil_fb_fail(hil_fb *fb, hil_status status, const char *fmt, ...);

/* The root table (the uoffset at byte 0). Returns 0 on failure. */
int hil_fb_root(hil_fb *fb, hil_fb_table *out);

/* Little-endian reads at any alignment: one load on little-endian targets
 * (memcpy compiles to LDRH/LDR; Cortex-M3 and up allow unaligned ones),
 * assembled from bytes elsewhere. */
static inline uint16_t hil_fb_rd16(const uint8_t *p)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    uint16_t v;
    memcpy(&v, p, sizeof v);
    return v;
#else
    return (uint16_t)(p[0] | (p[1] << 8));
#endif
}

static inline uint32_t hil_fb_rd32(const uint8_t *p)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    uint32_t v;
    memcpy(&v, p, sizeof v);
    return v;
#else
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
#endif
}

/* Record that a present field does not fit its table / an element index is
 * out of range; both return 0. (The failure paths of the inline readers.) */
uint32_t hil_fb_field_misfit(hil_fb *fb, const hil_fb_table *t, unsigned field);
uint32_t hil_fb_index_fail(hil_fb *fb, const hil_fb_vec *v, uint32_t i);

/* Position of a field's inline value, or 0 when the field is absent (or the
 * reader has already failed). A present field must lie inside its table.
 * Inline: the loader reads every field of every tensor and op. */
static inline uint32_t hil_fb_field_pos(hil_fb *fb, const hil_fb_table *t, unsigned field,
                                        uint32_t width)
{
    if (fb->status != HIL_OK || t->size == 0 || field > 1000u) {
        return 0;
    }
    const uint32_t voff = 4u + 2u * field;
    if (voff + 2u > t->vtab_size) {
        return 0; /* written by an older schema: the field takes its default */
    }
    const uint16_t off = hil_fb_rd16(fb->buf + t->vtab + voff);
    if (off == 0) {
        return 0;
    }
    if (off < 4u || (uint32_t)off + width > t->size) {
        return hil_fb_field_misfit(fb, t, field);
    }
    return t->pos + off;
}

/* Scalar fields by field id (the schema's declaration order, 0-based).
 * An absent field gives `def`. */
static inline int hil_fb_has(hil_fb *fb, const hil_fb_table *t, unsigned field)
{
    return hil_fb_field_pos(fb, t, field, 1) != 0;
}

static inline uint8_t hil_fb_u8(hil_fb *fb, const hil_fb_table *t, unsigned field, uint8_t def)
{
    const uint32_t p = hil_fb_field_pos(fb, t, field, 1);
    return p != 0 ? fb->buf[p] : def;
}

static inline int8_t hil_fb_i8(hil_fb *fb, const hil_fb_table *t, unsigned field, int8_t def)
{
    const uint32_t p = hil_fb_field_pos(fb, t, field, 1);
    return p != 0 ? (int8_t)(fb->buf[p] < 128 ? fb->buf[p] : fb->buf[p] - 256) : def;
}

static inline uint32_t hil_fb_u32(hil_fb *fb, const hil_fb_table *t, unsigned field,
                                  uint32_t def)
{
    const uint32_t p = hil_fb_field_pos(fb, t, field, 4);
    return p != 0 ? hil_fb_rd32(fb->buf + p) : def;
}

static inline int32_t hil_fb_i32(hil_fb *fb, const hil_fb_table *t, unsigned field, int32_t def)
{
    const uint32_t p = hil_fb_field_pos(fb, t, field, 4);
    if (p == 0) {
        return def;
    }
    const uint32_t u = hil_fb_rd32(fb->buf + p);
    return u <= (uint32_t)INT32_MAX ? (int32_t)u : -(int32_t)(~u) - 1;
}

static inline uint64_t hil_fb_u64(hil_fb *fb, const hil_fb_table *t, unsigned field,
                                  uint64_t def)
{
    const uint32_t p = hil_fb_field_pos(fb, t, field, 8);
    return p != 0 ? (uint64_t)hil_fb_rd32(fb->buf + p) |
                        ((uint64_t)hil_fb_rd32(fb->buf + p + 4) << 32)
                  : def;
}

/* Offset fields. Each returns 1 when present and valid, 0 when absent or
 * invalid (the reader's status tells which). `what` names the field in
 * error messages, e.g. "Tensor.shape". */
int hil_fb_table_field(hil_fb *fb, const hil_fb_table *t, unsigned field, hil_fb_table *out,
                       const char *what);
int hil_fb_vector(hil_fb *fb, const hil_fb_table *t, unsigned field, uint32_t elem_bytes,
                  hil_fb_vec *out, const char *what);
int hil_fb_string(hil_fb *fb, const hil_fb_table *t, unsigned field, const char **str,
                  uint32_t *len, const char *what);
/* A union: its type field and value field. *type is 0 (NONE) when absent. */
int hil_fb_union(hil_fb *fb, const hil_fb_table *t, unsigned type_field, unsigned value_field,
                 uint8_t *type, hil_fb_table *out, const char *what);

/* Position of element i, or 0 (after recording why) when it does not exist. */
static inline uint32_t hil_fb_elem_pos(hil_fb *fb, const hil_fb_vec *v, uint32_t i,
                                       uint32_t elem_bytes)
{
    if (fb->status != HIL_OK) {
        return 0;
    }
    if (v->elem_bytes != elem_bytes || i >= v->len) {
        return hil_fb_index_fail(fb, v, i);
    }
    return v->pos + i * elem_bytes; /* fits: checked when the vector was opened */
}

/* Vector elements; an index past the end fails and gives 0. */
static inline uint8_t hil_fb_vec_u8(hil_fb *fb, const hil_fb_vec *v, uint32_t i)
{
    const uint32_t p = hil_fb_elem_pos(fb, v, i, 1);
    return p != 0 ? fb->buf[p] : 0;
}

static inline int32_t hil_fb_vec_i32(hil_fb *fb, const hil_fb_vec *v, uint32_t i)
{
    const uint32_t p = hil_fb_elem_pos(fb, v, i, 4);
    const uint32_t u = p != 0 ? hil_fb_rd32(fb->buf + p) : 0;
    return u <= (uint32_t)INT32_MAX ? (int32_t)u : -(int32_t)(~u) - 1;
}

static inline int64_t hil_fb_vec_i64(hil_fb *fb, const hil_fb_vec *v, uint32_t i)
{
    const uint32_t p = hil_fb_elem_pos(fb, v, i, 8);
    const uint64_t u = p != 0 ? (uint64_t)hil_fb_rd32(fb->buf + p) |
                                    ((uint64_t)hil_fb_rd32(fb->buf + p + 4) << 32)
                              : 0;
    return u <= (uint64_t)INT64_MAX ? (int64_t)u : -(int64_t)(~u) - 1;
}

static inline float hil_fb_vec_f32(hil_fb *fb, const hil_fb_vec *v, uint32_t i)
{
    const uint32_t p = hil_fb_elem_pos(fb, v, i, 4);
    const uint32_t bits = p != 0 ? hil_fb_rd32(fb->buf + p) : 0;
    float f;
    memcpy(&f, &bits, sizeof f);
    return f;
}
/* Element i of a vector of tables. */
int hil_fb_vec_table(hil_fb *fb, const hil_fb_vec *v, uint32_t i, hil_fb_table *out,
                     const char *what);
/* Raw bytes of a vector (valid for len * elem_bytes bytes). */
const uint8_t *hil_fb_vec_data(const hil_fb *fb, const hil_fb_vec *v);

#endif
