/* Nordic nRF52840-DK (PCA10056): nRF52840 (Cortex-M4F) at 64 MHz. Not run on
 * hardware in CI: compile- and link-checked only. Facts from the nRF52840
 * Product Specification and the DK's user guide. */
#ifndef HIL_PORT_CONFIG_H
#define HIL_PORT_CONFIG_H

#define PORT_CLOCK_HZ 64000000u
/* The board file's [link] baud, passed by hil's build (docs/boards.md). */
#ifndef HIL_UART_BAUD
#define HIL_UART_BAUD 115200u
#endif
#define PORT_UART_BAUD HIL_UART_BAUD
/* UARTE0 on P0.06 (TX) / P0.08 (RX), wired to the interface MCU's VCP. */
#define PORT_UART_BASE 0x40002000u
/* Marker: P1.01, on the DK's Arduino-style header; the pin is the board file's [firmware]
 * marker_pin, which hil's build passes as HIL_MARKER_PORT/PIN. */
/* Reserved in the memory map, just past the 256 KiB RAM. */
#define PORT_BUS_FAULT_ADDRESS 0x20040000u

#endif
