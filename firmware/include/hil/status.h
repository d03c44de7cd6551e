/* Status codes shared by the engine, the agent and the wire protocol.
 * The numeric values are part of the protocol (hil/link/protocol.py mirrors them). */
#ifndef HIL_STATUS_H
#define HIL_STATUS_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

typedef enum {
    HIL_OK = 0,
    HIL_ERR_BAD_FRAME = 1,        /* frame failed CRC / COBS / header checks */
    HIL_ERR_UNKNOWN_COMMAND = 2,
    HIL_ERR_BAD_REQUEST = 3,      /* payload too short/long, bad index or offset */
    HIL_ERR_STATE = 4,            /* e.g. invoke without a model */
    HIL_ERR_MODEL_INVALID = 5,    /* malformed or hostile flatbuffer */
    HIL_ERR_UNSUPPORTED = 6,      /* operator, dtype or option the engine lacks */
    HIL_ERR_ARENA_TOO_SMALL = 7,
    HIL_ERR_MODEL_TOO_LARGE = 8,
    HIL_ERR_TENSOR = 9,           /* shape, dtype or size mismatch */
    HIL_ERR_INVOKE = 10,          /* a kernel failed at run time */
    HIL_ERR_CHECKSUM = 11,        /* reassembled payload does not match its CRC */
    HIL_ERR_INTERNAL = 12
} hil_status;

/* A short human-readable explanation that travels with a status. */
#define HIL_MSG_MAX 120
typedef struct {
    char text[HIL_MSG_MAX];
} hil_msg;

/* Minimal formatter (no libc printf in firmware): supports %s %d %u %x %%.
 * Always NUL-terminates; truncates silently. Returns `status` for tail calls. */
hil_status hil_fail(hil_msg *msg, hil_status status, const char *fmt, ...);
void hil_vformat(char *out, size_t cap, const char *fmt, va_list ap);

#endif
