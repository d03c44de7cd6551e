/* MPS2 FPGA images (AN385/AN386/AN500): UART0 and the 25 MHz system clock. */
#ifndef HIL_PORT_CONFIG_H
#define HIL_PORT_CONFIG_H

#define PORT_UART_BASE 0x40004000u
#define PORT_CLOCK_HZ 25000000u
#define PORT_UART_BAUD 115200u
/* UART0 receive (QEMU mps2.c, AN385/AN386 application notes): wakes the agent from WFI. */
#define PORT_UART_RX_IRQ 0u
/* Nothing decodes this address: reading it is a bus error. */
#define PORT_BUS_FAULT_ADDRESS 0xA0000000u

#endif
