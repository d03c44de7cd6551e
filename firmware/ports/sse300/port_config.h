/* Corstone-300 (SSE-300) as in the FVP and the MPS3 AN547 image. The core
 * boots Secure with the SAU off, so the Secure alias of UART0 is used. */
#ifndef HIL_PORT_CONFIG_H
#define HIL_PORT_CONFIG_H

#define PORT_UART_BASE 0x59303000u
#define PORT_CLOCK_HZ 32000000u
#define PORT_UART_BAUD 115200u
/* UART0 receive (AN547 interrupt map): wakes the agent from WFI. */
#define PORT_UART_RX_IRQ 33u
/* Nothing decodes this address: reading it is a bus error. */
#define PORT_BUS_FAULT_ADDRESS 0x40000000u

#endif
