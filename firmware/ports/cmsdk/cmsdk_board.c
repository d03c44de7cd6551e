/* The port interface for boards whose host link is a CMSDK UART and whose
 * counter is SysTick (MPS2, MPS3, Corstone-300). port_config.h, from the
 * port's own folder, gives the addresses and clock. */
#include <stdint.h>

#include "cmsdk_uart.h"
#include "hil/port.h"
#include "port_config.h"

void hil_systick_init(void);
void hil_fault_init(void);

void hil_port_init(void)
{
    hil_fault_init();
    cmsdk_uart_init(PORT_UART_BASE, PORT_CLOCK_HZ, PORT_UART_BAUD, PORT_UART_RX_IRQ);
    hil_systick_init();
}

uint8_t hil_port_read_byte(void)
{
    return cmsdk_uart_read_byte(PORT_UART_BASE);
}

void hil_port_write(const uint8_t *data, uint32_t len)
{
    cmsdk_uart_write(PORT_UART_BASE, data, len);
}

uint32_t hil_port_clock_hz(void)
{
    return PORT_CLOCK_HZ;
}

void hil_port_marker(int high)
{
    (void)high; /* no marker pin on the FPGA images' emulators */
}
