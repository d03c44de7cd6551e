#include "cobs.h"

int32_t hil_cobs_decode(uint8_t *buf, uint32_t len)
{
    uint32_t in = 0;
    uint32_t out = 0;
    while (in < len) {
        uint8_t code = buf[in++];
        if (code == 0) {
            return -1;
        }
        uint32_t run = (uint32_t)code - 1u;
        if (run > len - in) {
            return -1;
        }
        for (uint32_t i = 0; i < run; i++) {
            uint8_t b = buf[in++];
            if (b == 0) {
                return -1;
            }
            buf[out++] = b;
        }
        /* A short block stands for a zero, except at the very end. */
        if (code != 0xFF && in < len) {
            buf[out++] = 0;
        }
    }
    return (int32_t)out;
}

void hil_cobs_encode(const uint8_t *data, uint32_t len, hil_emit_fn emit)
{
    uint32_t start = 0;
    for (;;) {
        uint32_t run = 0;
        while (start + run < len && data[start + run] != 0 && run < 254u) {
            run++;
        }
        uint8_t code = (uint8_t)(run + 1u);
        emit(&code, 1);
        if (run > 0) {
            emit(&data[start], run);
        }
        start += run;
        if (run == 254u) {
            if (start == len) {
                return;
            }
            continue;
        }
        if (start == len) {
            return;
        }
        start++; /* the zero that ended this block */
    }
}
