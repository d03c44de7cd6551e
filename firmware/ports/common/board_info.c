/* The parts of the port interface every board shares: its names and the
 * linker script's model and arena regions. */
#include <stdint.h>

#include "hil/port.h"

#ifndef HIL_BOARD_NAME
#error "the build passes -DHIL_BOARD_NAME=\"...\""
#endif
#ifndef HIL_CORE_NAME
#error "the build passes -DHIL_CORE_NAME=\"...\""
#endif

extern uint8_t __model_region_start[];
extern uint8_t __model_region_end[];
extern uint8_t __arena_region_start[];
extern uint8_t __arena_region_end[];

const char *hil_port_board(void)
{
    return HIL_BOARD_NAME;
}

const char *hil_port_core(void)
{
    return HIL_CORE_NAME;
}

uint8_t *hil_port_model_region(uint32_t *bytes)
{
    *bytes = (uint32_t)(__model_region_end - __model_region_start);
    return __model_region_start;
}

uint8_t *hil_port_arena_region(uint32_t *bytes)
{
    *bytes = (uint32_t)(__arena_region_end - __arena_region_start);
    return __arena_region_start;
}
