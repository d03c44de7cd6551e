/* STM32 USART and LPUART (the register layout shared by the L4, L4+ and H7
 * series: CR1, BRR, ISR, ICR, RDR, TDR) and GPIO, polled; the UART's
 * interrupt only wakes the core from WFI, and it is the memory transport's
 * doorbell (the agent's mailbox is brought up with the UART). */
#ifndef HIL_STM32_USART_H
#define HIL_STM32_USART_H

#include <stdint.h>

/* BRR for a USART with 16x oversampling, and for an LPUART (256 * f / baud). */
#define STM32_USART_BRR(clock_hz, baud) (((clock_hz) + (baud) / 2u) / (baud))
#define STM32_LPUART_BRR(clock_hz, baud)                                                  \
    ((uint32_t)((256ull * (clock_hz) + (baud) / 2u) / (baud)))

/* irq: the UART's interrupt number, the mailbox doorbell; never taken. */
void stm32_usart_init(uintptr_t base, uint32_t brr, uint32_t irq);
uint8_t stm32_usart_read_byte(uintptr_t base);
void stm32_usart_write(uintptr_t base, const uint8_t *data, uint32_t len);

/* GPIO pin `pin` of the port at `base`: alternate function `af`, or output. */
void stm32_gpio_alternate(uintptr_t base, uint32_t pin, uint32_t af, int pull_up);
void stm32_gpio_output(uintptr_t base, uint32_t pin);
void stm32_gpio_write(uintptr_t base, uint32_t pin, int high);

#endif
