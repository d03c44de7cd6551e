#include "mailbox.h"

#include "hil/port.h"

/* Orders the ring's data before its offsets as the host sees memory (a DMB on
 * Cortex-M; portable so the agent also builds for the host fuzzers). */
static inline void barrier(void)
{
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
}

#define UP_BYTES 4096u
#define DOWN_BYTES 8192u

/* SEGGER RTT's public control-block layout, so RTT tools can find the
 * channels: a 16-byte id, the buffer counts, then the ring descriptors. */
typedef struct {
    const char *name;
    uint8_t *buffer;
    uint32_t size;
    volatile uint32_t wr;
    volatile uint32_t rd;
    uint32_t flags;
} ring;

typedef struct {
    volatile char id[16];
    int32_t up_count;
    int32_t down_count;
    ring up[1];
    ring down[1];
} control_block;

/* Host side reads these to know how to wake the core. */
typedef struct {
    uint32_t addr;
    uint32_t value;
} doorbell;

static uint8_t up_buffer[UP_BYTES];
static uint8_t down_buffer[DOWN_BYTES];
control_block hil_mailbox;
volatile doorbell hil_mailbox_doorbell;
static int via_mailbox;

#define RTT_BLOCK_IF_FULL 2u

void hil_mailbox_init(uint32_t doorbell_addr, uint32_t doorbell_value)
{
    static const char id[] = "SEGGER RTT";
    hil_mailbox.up_count = 1;
    hil_mailbox.down_count = 1;
    hil_mailbox.up[0] = (ring){"hil", up_buffer, UP_BYTES, 0u, 0u, RTT_BLOCK_IF_FULL};
    hil_mailbox.down[0] = (ring){"hil", down_buffer, DOWN_BYTES, 0u, 0u, 0u};
    hil_mailbox_doorbell.addr = doorbell_addr;
    hil_mailbox_doorbell.value = doorbell_value;
    /* The id last: a host scanning RAM never sees a half-built block. */
    barrier();
    for (uint32_t i = 0; i < sizeof id; i++) {
        hil_mailbox.id[i] = id[i];
    }
    barrier();
}

int hil_mailbox_pending(void)
{
    const ring *r = &hil_mailbox.down[0];
    return r->size != 0u && r->rd != r->wr;
}

int hil_mailbox_read_byte(void)
{
    ring *r = &hil_mailbox.down[0];
    uint32_t rd = r->rd;
    uint32_t wr = r->wr;
    /* Offsets come from the host: never trust one outside the ring. */
    if (r->size == 0u || rd == wr || rd >= DOWN_BYTES || wr >= DOWN_BYTES) {
        return -1;
    }
    barrier();
    uint8_t byte = down_buffer[rd];
    r->rd = (rd + 1u == DOWN_BYTES) ? 0u : rd + 1u;
    via_mailbox = 1;
    return byte;
}

int hil_mailbox_active(void)
{
    return via_mailbox;
}

void hil_mailbox_use_serial(void)
{
    via_mailbox = 0;
}

/* One 0x00 on the serial link tells the host the up ring has something for
 * it, so it waits on the UART instead of halting the core to poll. (A 0x00
 * is a frame delimiter: harmless should the host read it as serial bytes.) */
static void ring_host_bell(void)
{
    static const uint8_t bell = 0;
    hil_port_write(&bell, 1);
}

static void mailbox_write(const uint8_t *data, uint32_t len)
{
    ring *r = &hil_mailbox.up[0];
    for (uint32_t i = 0; i < len; i++) {
        uint32_t wr = r->wr;
        uint32_t next = (wr + 1u == UP_BYTES) ? 0u : wr + 1u;
        /* Full: wait for the host to drain it. */
        if (r->rd == next) {
            ring_host_bell();
            while (r->rd == next) {
            }
        }
        up_buffer[wr] = data[i];
        barrier();
        r->wr = next;
    }
}

void hil_link_write(const uint8_t *data, uint32_t len)
{
    if (via_mailbox) {
        static int frame_open; /* frame bytes in the ring since the last delimiter */
        mailbox_write(data, len);
        if (len == 0u) {
            return;
        }
        if (data[len - 1u] != 0u) {
            frame_open = 1;
        } else if (frame_open || len > 1u) { /* the delimiter that ends a frame */
            frame_open = 0;
            ring_host_bell();
        }
    } else {
        hil_port_write(data, len);
    }
}
