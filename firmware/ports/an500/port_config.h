/* MPS2 AN500 (Cortex-M7) as QEMU's mps2-an500 models it: UART0 and the 25 MHz
 * system clock as on the other MPS2 images, but the 16 MiB PSRAM sits at
 * 0x60000000 and the LAN9118 at 0xA0000000, where the mps2 port faults. */
#ifndef HIL_PORT_CONFIG_H
#define HIL_PORT_CONFIG_H

#define PORT_UART_BASE 0x40004000u
#define PORT_CLOCK_HZ 25000000u
#define PORT_UART_BAUD 115200u
/* UART0 receive, as on the other MPS2 images: wakes the agent from WFI. */
#define PORT_UART_RX_IRQ 0u
/* Nothing decodes this address on AN500: reading it is a bus error. */
#define PORT_BUS_FAULT_ADDRESS 0x80000000u

#endif
