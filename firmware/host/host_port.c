/* The port interface on the host, for fuzzing the agent: no UART (the agent
 * writes through its config's callback), a fake counter, static memory. */
#include "hil/port.h"

#define HOST_MODEL_BYTES (256u * 1024u)
#define HOST_ARENA_BYTES (256u * 1024u)

static uint8_t model_region[HOST_MODEL_BYTES] __attribute__((aligned(16)));
static uint8_t arena_region[HOST_ARENA_BYTES] __attribute__((aligned(16)));
static uint64_t ticks;

void hil_port_init(void)
{
    ticks = 0;
}

uint8_t hil_port_read_byte(void)
{
    return 0;
}

void hil_port_write(const uint8_t *data, uint32_t len)
{
    (void)data;
    (void)len;
}

void hil_port_counter_start(void)
{
}

uint64_t hil_port_counter_read(void)
{
    return ++ticks;
}

uint8_t hil_port_counter_kind(void)
{
    return 0;
}

uint32_t hil_port_clock_hz(void)
{
    return 1000000u;
}

void hil_port_marker(int high)
{
    (void)high;
}

void hil_port_provoke_fault(uint32_t kind)
{
    (void)kind;
}

const char *hil_port_board(void)
{
    return "host";
}

const char *hil_port_core(void)
{
    return "host";
}

uint8_t *hil_port_model_region(uint32_t *bytes)
{
    *bytes = HOST_MODEL_BYTES;
    return model_region;
}

uint8_t *hil_port_arena_region(uint32_t *bytes)
{
    *bytes = HOST_ARENA_BYTES;
    return arena_region;
}

uint64_t hil_port_calibrate(uint32_t iterations)
{
    return 2u * (uint64_t)iterations;
}

void hil_port_stack_region(uint8_t **bottom, uint8_t **top)
{
    *bottom = 0;
    *top = 0;
}
