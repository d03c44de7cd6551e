/* Measurement helpers every Cortex-M port shares: the calibration loop and the
 * stack bounds from the linker script. */
#include <stdint.h>

#include "hil/port.h"

extern uint8_t __stack_bottom[];
extern uint8_t __stack_top[];

uint64_t hil_port_calibrate(uint32_t iterations)
{
    if (iterations == 0) {
        return 0;
    }
    hil_port_counter_start();
    __asm__ volatile("1:\n\t"
                     "subs %0, %0, #1\n\t"
                     "bne 1b\n\t"
                     : "+r"(iterations)
                     :
                     : "cc");
    return hil_port_counter_read();
}

void hil_port_stack_region(uint8_t **bottom, uint8_t **top)
{
    *bottom = __stack_bottom;
    *top = __stack_top;
}
