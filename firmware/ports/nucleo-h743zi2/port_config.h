/* ST NUCLEO-H743ZI2: STM32H743ZI (Cortex-M7) on its 64 MHz HSI, not 480 MHz:
 * bringing the part to 480 MHz needs VOS0 and the PLL, which is not done here
 * and could not be tried without the board. Not run on hardware in CI:
 * compile- and link-checked only. Facts from RM0433 and UM2407. */
#ifndef HIL_PORT_CONFIG_H
#define HIL_PORT_CONFIG_H

#define PORT_CLOCK_HZ 64000000u
/* The board file's [link] baud, passed by hil's build (docs/boards.md). */
#ifndef HIL_UART_BAUD
#define HIL_UART_BAUD 115200u
#endif
#define PORT_UART_BAUD HIL_UART_BAUD
/* USART3 on PD8 (TX) / PD9 (RX), AF7, wired to the ST-LINK/V3 virtual COM port. */
/* USART3's interrupt: wakes WFI, and the memory transport's doorbell. */
#define PORT_UART_IRQ 39u
#define PORT_UART_BASE 0x40004800u
/* Marker: PB0 (LD1, green), also on the morpho header; the pin is the board file's [firmware]
 * marker_pin, which hil's build passes as HIL_MARKER_PORT/PIN. */
/* Reserved in the memory map, just past the 512 KiB AXI SRAM. */
#define PORT_BUS_FAULT_ADDRESS 0x24080000u

#endif
