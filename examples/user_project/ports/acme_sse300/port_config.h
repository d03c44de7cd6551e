/* ACME board: UART0 of the SSE-300 subsystem (Secure alias; the core boots
 * Secure with the SAU off). */
#ifndef HIL_PORT_CONFIG_H
#define HIL_PORT_CONFIG_H

#define PORT_UART_BASE 0x59303000u
#define PORT_CLOCK_HZ 32000000u
#define PORT_UART_BAUD 115200u
/* UART0 receive interrupt: wakes the agent from WFI. */
#define PORT_UART_RX_IRQ 33u
/* An address nothing decodes: reading it is a bus error. */
#define PORT_BUS_FAULT_ADDRESS 0x40000000u

#endif
