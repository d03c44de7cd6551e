/* Consistent Overhead Byte Stuffing: frames never contain 0x00, which then
 * delimits them, so a receiver can resynchronise at the next zero. */
#ifndef HIL_COBS_H
#define HIL_COBS_H

#include <stdint.h>

/* Decode `len` bytes in place (no trailing delimiter). Returns the decoded
 * length, or -1 when the input is not valid COBS. */
int32_t hil_cobs_decode(uint8_t *buf, uint32_t len);

/* Encode `len` bytes, passing the encoded stream to `emit` piecewise; the
 * caller writes the 0x00 delimiter. */
typedef void (*hil_emit_fn)(const uint8_t *data, uint32_t len);
void hil_cobs_encode(const uint8_t *data, uint32_t len, hil_emit_fn emit);

#endif
