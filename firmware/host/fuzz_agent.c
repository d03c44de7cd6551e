/* libFuzzer harness for the device agent: frame decoding and every command
 * handler, with hil's engine behind it.
 *
 * Random bytes rarely carry a valid CRC, so the input is read as a script of
 * steps, each either raw bytes fed as they are, or a request that the harness
 * frames correctly (COBS, header, CRC) so the handlers themselves are reached:
 *   0x00 u8 n, n bytes            raw
 *   other: u8 type, u8 n, n bytes request `type` with an n-byte payload
 * (u8 lengths keep the fuzzer's mutations local.) */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "hil/agent.h"
#include "agent/cobs.h"
#include "agent/crc32.h"
#include "hil/engine.h"
#include "hil/port.h"
#include "hil/protocol.h"

static uint8_t frame[HIL_HEADER_BYTES + 255u + HIL_CRC_BYTES];
static uint16_t next_seq;

static void sink(const uint8_t *data, uint32_t len)
{
    /* Touch every byte so ASan sees any read beyond what the agent owns. */
    volatile uint8_t acc = 0;
    for (uint32_t i = 0; i < len; i++) {
        acc ^= data[i];
    }
    (void)acc;
}

static void feed(const uint8_t *data, uint32_t len)
{
    for (uint32_t i = 0; i < len; i++) {
        hil_agent_feed(data[i]);
    }
}

static void feed_request(uint8_t type, const uint8_t *payload, uint8_t n)
{
    frame[0] = HIL_PROTOCOL_VERSION;
    frame[1] = type;
    frame[2] = (uint8_t)next_seq;
    frame[3] = (uint8_t)(next_seq >> 8);
    next_seq++;
    frame[4] = frame[5] = 0;
    frame[6] = n;
    frame[7] = 0;
    memcpy(frame + HIL_HEADER_BYTES, payload, n);
    uint32_t body = HIL_HEADER_BYTES + n;
    uint32_t crc = hil_crc32(0, frame, body);
    for (uint32_t i = 0; i < 4; i++) {
        frame[body + i] = (uint8_t)(crc >> (8 * i));
    }
    static const uint8_t zero = 0;
    feed(&zero, 1);
    hil_cobs_encode(frame, body + HIL_CRC_BYTES, feed);
    feed(&zero, 1);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint32_t arena_bytes;
    uint8_t *arena = hil_port_arena_region(&arena_bytes);
    hil_engine_init(arena, arena_bytes);
    hil_agent_config config = {0};
    config.model_region = hil_port_model_region(&config.model_capacity);
    config.arena_bytes = arena_bytes;
    config.write = sink;
    hil_agent_init(&config);
    next_seq = 1;

    size_t pos = 0;
    while (pos + 2 <= size) {
        uint8_t op = data[pos];
        if (op == 0) {
            uint8_t n = data[pos + 1];
            pos += 2;
            if (n > size - pos) {
                n = (uint8_t)(size - pos);
            }
            feed(data + pos, n);
            pos += n;
            continue;
        }
        if (pos + 3 > size) {
            break;
        }
        uint8_t n = data[pos + 2];
        pos += 3;
        if (n > size - pos) {
            n = (uint8_t)(size - pos);
        }
        feed_request(data[pos - 2], data + pos, n);
        pos += n;
    }
    hil_engine_unload();
    return 0;
}
