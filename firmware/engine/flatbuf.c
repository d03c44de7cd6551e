/* Bounds-checked FlatBuffers primitives; see flatbuf.h for the contract. */
#include "engine/flatbuf.h"

#include <stdarg.h>
#include <string.h>

static uint16_t rd16(const uint8_t *p)
{
    return hil_fb_rd16(p);
}

static uint32_t rd32(const uint8_t *p)
{
    return hil_fb_rd32(p);
}

/* Two's-complement reinterpretation without implementation-defined casts. */
static int32_t as_i32(uint32_t u)
{
    return u <= (uint32_t)INT32_MAX ? (int32_t)u : -(int32_t)(~u) - 1;
}

/* [pos, pos + n) lies inside the buffer. */
static int fits(const hil_fb *fb, uint64_t pos, uint64_t n)
{
    return pos <= fb->size && n <= fb->size - pos;
}

void hil_fb_init(hil_fb *fb, const uint8_t *buf, uint32_t size, hil_msg *msg)
{
    fb->buf = buf;
    fb->size = buf != NULL ? size : 0;
    fb->status = HIL_OK;
    fb->msg = msg;
}

hil_status hil_fb_fail(hil_fb *fb, hil_status status, const char *fmt, ...)
{
    if (fb->status == HIL_OK) {
        fb->status = status;
        if (fb->msg != NULL) {
            va_list ap;
            va_start(ap, fmt);
            hil_vformat(fb->msg->text, sizeof fb->msg->text, fmt, ap);
            va_end(ap);
        }
    }
    return fb->status;
}

static int table_at(hil_fb *fb, uint32_t pos, hil_fb_table *out, const char *what)
{
    memset(out, 0, sizeof *out);
    if (fb->status != HIL_OK) {
        return 0;
    }
    if (pos > fb->size || fb->size - pos < 4u) {
        hil_fb_fail(fb, HIL_ERR_MODEL_INVALID, "%s: table at %u is outside the %u-byte model",
                    what, pos, fb->size);
        return 0;
    }
    /* vtable = pos - soffset, which must leave 4 bytes before the end:
     * 32-bit arithmetic, on the two signs separately. */
    const int32_t soff = as_i32(rd32(fb->buf + pos));
    const uint32_t back = soff >= 0 ? (uint32_t)soff : 0u;
    const uint32_t ahead = soff < 0 ? (uint32_t)(-(int64_t)soff) : 0u;
    if (back > pos || ahead > fb->size - 4u - pos) {
        hil_fb_fail(fb, HIL_ERR_MODEL_INVALID, "%s: vtable of table at %u is out of bounds", what,
                    pos);
        return 0;
    }
    const uint32_t vtab = pos - back + ahead;
    const uint16_t vtab_size = rd16(fb->buf + vtab);
    const uint16_t size = rd16(fb->buf + vtab + 2);
    if (vtab_size < 4 || (vtab_size & 1u) != 0 || vtab_size > fb->size - vtab) {
        hil_fb_fail(fb, HIL_ERR_MODEL_INVALID, "%s: bad vtable size %u for table at %u", what,
                    (uint32_t)vtab_size, pos);
        return 0;
    }
    if (size < 4 || size > fb->size - pos) {
        hil_fb_fail(fb, HIL_ERR_MODEL_INVALID, "%s: table at %u (%u bytes) overruns the model",
                    what, pos, (uint32_t)size);
        return 0;
    }
    out->pos = pos;
    out->vtab = vtab;
    out->vtab_size = vtab_size;
    out->size = size;
    return 1;
}

int hil_fb_root(hil_fb *fb, hil_fb_table *out)
{
    memset(out, 0, sizeof *out);
    if (!fits(fb, 0, 8)) {
        hil_fb_fail(fb, HIL_ERR_MODEL_INVALID, "model is %u bytes, too short for a flatbuffer",
                    fb->size);
        return 0;
    }
    return table_at(fb, rd32(fb->buf), out, "root");
}

uint32_t hil_fb_field_misfit(hil_fb *fb, const hil_fb_table *t, unsigned field)
{
    hil_fb_fail(fb, HIL_ERR_MODEL_INVALID,
                "field %u of the table at %u does not fit its %u-byte table", field, t->pos,
                (uint32_t)t->size);
    return 0;
}

uint32_t hil_fb_index_fail(hil_fb *fb, const hil_fb_vec *v, uint32_t i)
{
    hil_fb_fail(fb, HIL_ERR_MODEL_INVALID, "vector index %u out of range (length %u)", i,
                v->len);
    return 0;
}

/* Follow the uoffset stored in an offset field. */
static int follow(hil_fb *fb, const hil_fb_table *t, unsigned field, uint32_t *target,
                  const char *what)
{
    uint32_t p = hil_fb_field_pos(fb, t, field, 4);
    if (p == 0) {
        return 0;
    }
    /* p + 4 <= size (the field lies in its table); 32-bit arithmetic only. */
    const uint32_t off = rd32(fb->buf + p);
    const uint32_t room = fb->size - p;
    if (off > room || room - off < 4u) {
        hil_fb_fail(fb, HIL_ERR_MODEL_INVALID, "%s: offset at %u points outside the %u-byte model",
                    what, p, fb->size);
        return 0;
    }
    *target = p + off;
    return 1;
}

int hil_fb_table_field(hil_fb *fb, const hil_fb_table *t, unsigned field, hil_fb_table *out,
                       const char *what)
{
    uint32_t tgt;
    memset(out, 0, sizeof *out);
    return follow(fb, t, field, &tgt, what) && table_at(fb, tgt, out, what);
}

static int vector_at(hil_fb *fb, uint32_t pos, uint32_t elem_bytes, hil_fb_vec *out,
                     const char *what)
{
    uint32_t len = rd32(fb->buf + pos); /* caller checked pos + 4 fits */
    if (elem_bytes != 0 && len > (fb->size - pos - 4u) / elem_bytes) {
        hil_fb_fail(fb, HIL_ERR_MODEL_INVALID,
                    "%s: vector of %u x %u bytes at %u overruns the %u-byte model", what, len,
                    elem_bytes, pos, fb->size);
        return 0;
    }
    out->pos = pos + 4u;
    out->len = len;
    return 1;
}

int hil_fb_vector(hil_fb *fb, const hil_fb_table *t, unsigned field, uint32_t elem_bytes,
                  hil_fb_vec *out, const char *what)
{
    uint32_t tgt;
    out->pos = 0;
    out->len = 0;
    out->elem_bytes = elem_bytes;
    return follow(fb, t, field, &tgt, what) && vector_at(fb, tgt, elem_bytes, out, what);
}

int hil_fb_string(hil_fb *fb, const hil_fb_table *t, unsigned field, const char **str,
                  uint32_t *len, const char *what)
{
    hil_fb_vec v;
    *str = "";
    *len = 0;
    if (!hil_fb_vector(fb, t, field, 1, &v, what)) {
        return 0;
    }
    if (!fits(fb, v.pos, (uint64_t)v.len + 1u) || fb->buf[v.pos + v.len] != 0) {
        hil_fb_fail(fb, HIL_ERR_MODEL_INVALID, "%s: string at %u is not NUL-terminated", what,
                    v.pos);
        return 0;
    }
    *str = (const char *)(fb->buf + v.pos);
    *len = v.len;
    return 1;
}

int hil_fb_union(hil_fb *fb, const hil_fb_table *t, unsigned type_field, unsigned value_field,
                 uint8_t *type, hil_fb_table *out, const char *what)
{
    *type = hil_fb_u8(fb, t, type_field, 0);
    memset(out, 0, sizeof *out);
    if (*type == 0) {
        return 0;
    }
    if (!hil_fb_table_field(fb, t, value_field, out, what)) {
        *type = 0; /* a type without a value reads as NONE */
        return 0;
    }
    return 1;
}

int hil_fb_vec_table(hil_fb *fb, const hil_fb_vec *v, uint32_t i, hil_fb_table *out,
                     const char *what)
{
    memset(out, 0, sizeof *out);
    uint32_t p = hil_fb_elem_pos(fb, v, i, 4);
    if (p == 0) {
        return 0;
    }
    const uint32_t off = rd32(fb->buf + p); /* the element lies in the buffer */
    const uint32_t room = fb->size - p;
    if (off > room || room - off < 4u) {
        hil_fb_fail(fb, HIL_ERR_MODEL_INVALID, "%s[%u]: offset points outside the %u-byte model",
                    what, i, fb->size);
        return 0;
    }
    return table_at(fb, p + off, out, what);
}

const uint8_t *hil_fb_vec_data(const hil_fb *fb, const hil_fb_vec *v)
{
    return v->len != 0 ? fb->buf + v->pos : NULL;
}
