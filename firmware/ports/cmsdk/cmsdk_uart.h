/* Arm CMSDK APB UART (MPS2 and MPS3 FPGA images, Corstone-300 FVP). */
#ifndef HIL_CMSDK_UART_H
#define HIL_CMSDK_UART_H

#include <stdint.h>

/* irq: the UART's receive interrupt, used only to wake the core from WFI. */
void cmsdk_uart_init(uintptr_t base, uint32_t clock_hz, uint32_t baud, uint32_t irq);
uint8_t cmsdk_uart_read_byte(uintptr_t base);
void cmsdk_uart_write(uintptr_t base, const uint8_t *data, uint32_t len);

#endif
