/* Bounds-checked FlatBuffers reading for untrusted model bytes.
 *
 * Every offset, length and index taken from the buffer is checked against the
 * buffer (and, for fields, against their table's inline size) before use.
 * Scalars are assembled from bytes, so neither alignment nor host byte order
 * matter. Errors are sticky: the first failure is recorded in the reader
 * (status + message) and every later read returns a safe default (zero,
 * absent, empty), so a parser may check `fb->status` once per step instead of
 * after every field. Nothing here recurses or allocates. */
#ifndef HIL_ENGINE_FLATBUF_H
#define HIL_ENGINE_FLATBUF_H

#include <stdint.h>
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

/* Scalar fields by field id (the schema's declaration order, 0-based).
 * An absent field gives `def`. */
int hil_fb_has(hil_fb *fb, const hil_fb_table *t, unsigned field);
uint8_t hil_fb_u8(hil_fb *fb, const hil_fb_table *t, unsigned field, uint8_t def);
int8_t hil_fb_i8(hil_fb *fb, const hil_fb_table *t, unsigned field, int8_t def);
int32_t hil_fb_i32(hil_fb *fb, const hil_fb_table *t, unsigned field, int32_t def);
uint32_t hil_fb_u32(hil_fb *fb, const hil_fb_table *t, unsigned field, uint32_t def);
uint64_t hil_fb_u64(hil_fb *fb, const hil_fb_table *t, unsigned field, uint64_t def);

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

/* Vector elements; an index past the end fails and gives 0. */
uint8_t hil_fb_vec_u8(hil_fb *fb, const hil_fb_vec *v, uint32_t i);
int32_t hil_fb_vec_i32(hil_fb *fb, const hil_fb_vec *v, uint32_t i);
int64_t hil_fb_vec_i64(hil_fb *fb, const hil_fb_vec *v, uint32_t i);
float hil_fb_vec_f32(hil_fb *fb, const hil_fb_vec *v, uint32_t i);
/* Element i of a vector of tables. */
int hil_fb_vec_table(hil_fb *fb, const hil_fb_vec *v, uint32_t i, hil_fb_table *out,
                     const char *what);
/* Raw bytes of a vector (valid for len * elem_bytes bytes). */
const uint8_t *hil_fb_vec_data(const hil_fb *fb, const hil_fb_vec *v);

#endif
