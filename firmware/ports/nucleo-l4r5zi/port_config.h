/* ST NUCLEO-L4R5ZI: STM32L4R5ZI (Cortex-M4F) at 120 MHz. Not run on hardware
 * in CI: compile- and link-checked only. Facts from RM0432 (STM32L4+) and
 * UM2179 (NUCLEO-L4R5ZI). */
#ifndef HIL_PORT_CONFIG_H
#define HIL_PORT_CONFIG_H

#define PORT_CLOCK_HZ 120000000u
/* The board file's [link] baud, passed by hil's build (docs/boards.md). */
#ifndef HIL_UART_BAUD
#define HIL_UART_BAUD 115200u
#endif
#define PORT_UART_BAUD HIL_UART_BAUD
/* LPUART1 on PG7 (TX) / PG8 (RX), AF8, wired to the ST-LINK virtual COM port. */
/* LPUART1's interrupt: wakes WFI, and the memory transport's doorbell. */
#define PORT_UART_IRQ 70u
#define PORT_UART_BASE 0x40008000u
/* Marker: PC7 (LD1, green), also on the morpho header; the pin is the board file's [firmware]
 * marker_pin, which hil's build passes as HIL_MARKER_PORT/PIN. */
/* Reserved in the memory map, just past SRAM3 (0x20040000 + 384 KiB). */
#define PORT_BUS_FAULT_ADDRESS 0x200A0000u

#endif
