/* MPS2 AN505: a Cortex-M33 in Arm's IoT Kit subsystem (the single-core
 * member of the SSE-200 family), as QEMU's mps2-an505 models it. The core
 * boots Secure with the SAU off, so the Secure aliases are used throughout:
 * code from 0x10000000 (the initial secure VTOR), UART0 at 0x50200000. */
#ifndef HIL_PORT_CONFIG_H
#define HIL_PORT_CONFIG_H

#define PORT_UART_BASE 0x50200000u
#define PORT_CLOCK_HZ 20000000u
#define PORT_UART_BAUD 115200u
/* UART0 receive (AN505: expansion interrupt 0): wakes the agent from WFI. */
#define PORT_UART_RX_IRQ 32u
/* Nothing decodes this address on AN505: reading it is a bus error. */
#define PORT_BUS_FAULT_ADDRESS 0x60000000u

#endif
