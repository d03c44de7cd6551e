/* A 64-bit tick counter from the 24-bit SysTick plus an overflow interrupt.
 * SysTick runs from the core clock on every Cortex-M, so this serves any port;
 * under QEMU -icount its ticks follow executed instructions (docs/counters.md). */
#include <stdint.h>

#include "cortex_m.h"
#include "hil/port.h"

#define RELOAD 0xFFFFFFu
#define PERIOD (RELOAD + 1u)

static volatile uint32_t overflows;
static uint64_t window_start;

void SysTick_Handler(void)
{
    overflows++;
}

void hil_systick_init(void)
{
    SYST_CSR = 0;
    SYST_RVR = RELOAD;
    SYST_CVR = 0;
    overflows = 0;
    SYST_CSR = 0x7u; /* enable, interrupt, core clock */
}

static uint64_t systick_now(void)
{
    uint32_t hi;
    uint32_t cvr;
    uint32_t pending;
    do {
        hi = overflows;
        cvr = SYST_CVR;
        pending = SCB_ICSR & SCB_ICSR_PENDSTSET;
    } while (hi != overflows);
    uint32_t into_period = (PERIOD - cvr) & RELOAD;
    /* Wrapped, but the interrupt has not run yet. */
    if (pending != 0 && into_period < PERIOD / 2u) {
        hi++;
    }
    return (uint64_t)hi * PERIOD + into_period;
}

void hil_port_counter_start(void)
{
    /* Restart the count (and its phase) so a window of the same instructions
     * always reads the same under QEMU -icount, wherever it falls. */
    SYST_CVR = 0;
    overflows = 0;
    window_start = systick_now();
}

uint64_t hil_port_counter_read(void)
{
    return systick_now() - window_start;
}

uint8_t hil_port_counter_kind(void)
{
    return 2u; /* HIL_COUNTER_SYSTICK */
}
