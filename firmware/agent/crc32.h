#ifndef HIL_CRC32_H
#define HIL_CRC32_H

#include <stdint.h>

/* IEEE 802.3 CRC-32 (the zlib one). Chain calls by passing the previous result. */
uint32_t hil_crc32(uint32_t crc, const uint8_t *data, uint32_t len);

#endif
