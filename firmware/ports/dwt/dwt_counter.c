/* A 64-bit cycle counter: DWT CYCCNT (32 bits, core clock cycles) extended by
 * counting its wraps. SysTick, at the core clock with a 2^24-cycle period,
 * interrupts often enough (every 16.8 M cycles) that CYCCNT wraps at most
 * once between two of its samples. The interrupt costs a few dozen cycles
 * per 2^24, inside the timed window as anywhere else. */
#include "dwt_counter.h"

#include <stdint.h>

#include "cortex_m.h"
#include "hil/port.h"
#include "hil/protocol.h"

#define DEMCR HIL_REG32(0xE000EDFCu)
#define DEMCR_TRCENA (1u << 24)
#define DWT_CTRL HIL_REG32(0xE0001000u)
#define DWT_CYCCNT HIL_REG32(0xE0001004u)
#define DWT_LAR HIL_REG32(0xE0001FB0u)
#define DWT_CTRL_CYCCNTENA (1u << 0)
#define DWT_CTRL_NOCYCCNT (1u << 25)
#define CORESIGHT_UNLOCK 0xC5ACCE55u

static int available;
static volatile uint32_t wraps;
static volatile uint32_t last_sample;
static uint64_t window_start;

void SysTick_Handler(void)
{
    uint32_t now = DWT_CYCCNT;
    if (now < last_sample) {
        wraps++;
    }
    last_sample = now;
}

/* A debugger may rewrite DEMCR and DWT_CTRL when it attaches (pyOCD does):
 * make sure the counter runs, without resetting it. */
static void ensure_running(void)
{
    DEMCR |= DEMCR_TRCENA;
    DWT_LAR = CORESIGHT_UNLOCK; /* Cortex-M7 locks the DWT; elsewhere RAZ/WI */
    DWT_CTRL |= DWT_CTRL_CYCCNTENA;
}

int hil_dwt_init(void)
{
    DEMCR |= DEMCR_TRCENA;
    DWT_LAR = CORESIGHT_UNLOCK;
    available = (DWT_CTRL & DWT_CTRL_NOCYCCNT) == 0;
    if (!available) {
        return 0;
    }
    DWT_CYCCNT = 0;
    DWT_CTRL |= DWT_CTRL_CYCCNTENA;
    wraps = 0;
    last_sample = 0;
    SYST_CSR = 0;
    SYST_RVR = 0xFFFFFFu;
    SYST_CVR = 0;
    SYST_CSR = 0x7u; /* enable, interrupt, core clock */
    return 1;
}

static uint64_t cycles_now(void)
{
    uint32_t hi;
    uint32_t seen;
    uint32_t lo;
    do {
        hi = wraps;
        seen = last_sample;
        lo = DWT_CYCCNT;
    } while (hi != wraps || seen != last_sample);
    if (lo < seen) { /* wrapped since the last sample; the watch has not run yet */
        hi++;
    }
    return ((uint64_t)hi << 32) | lo;
}

void hil_port_counter_start(void)
{
    ensure_running();
    window_start = cycles_now();
}

uint64_t hil_port_counter_read(void)
{
    return cycles_now() - window_start;
}

uint8_t hil_port_counter_kind(void)
{
    return available ? HIL_COUNTER_CYCLES : HIL_COUNTER_NONE;
}
