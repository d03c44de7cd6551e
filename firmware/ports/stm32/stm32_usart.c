#include "stm32_usart.h"

#include "agent/mailbox.h"
#include "cortex_m.h"

#define USART_CR1(b) HIL_REG32((b) + 0x00u)
#define USART_CR2(b) HIL_REG32((b) + 0x04u)
#define USART_CR3(b) HIL_REG32((b) + 0x08u)
#define USART_BRR(b) HIL_REG32((b) + 0x0Cu)
#define USART_ISR(b) HIL_REG32((b) + 0x1Cu)
#define USART_ICR(b) HIL_REG32((b) + 0x20u)
#define USART_RDR(b) HIL_REG32((b) + 0x24u)
#define USART_TDR(b) HIL_REG32((b) + 0x28u)

#define CR1_UE (1u << 0)
#define CR1_RE (1u << 2)
#define CR1_TE (1u << 3)
#define CR1_RXNEIE (1u << 5) /* RXNE (and overrun) raise the interrupt line */
#define ISR_PE (1u << 0)
#define ISR_FE (1u << 1)
#define ISR_NE (1u << 2)
#define ISR_ORE (1u << 3)
#define ISR_RXNE (1u << 5)
#define ISR_TC (1u << 6)
#define ISR_TXE (1u << 7)
#define ISR_ERRORS (ISR_PE | ISR_FE | ISR_NE | ISR_ORE)

#define GPIO_MODER(b) HIL_REG32((b) + 0x00u)
#define GPIO_OTYPER(b) HIL_REG32((b) + 0x04u)
#define GPIO_OSPEEDR(b) HIL_REG32((b) + 0x08u)
#define GPIO_PUPDR(b) HIL_REG32((b) + 0x0Cu)
#define GPIO_BSRR(b) HIL_REG32((b) + 0x18u)
#define GPIO_AFR(b, n) HIL_REG32((b) + 0x20u + 4u * (n))

/* NVIC set-enable, clear-enable, set-pending and clear-pending registers. */
#define NVIC_ISER(n) HIL_REG32(0xE000E100u + 4u * (n))
#define NVIC_ICER(n) HIL_REG32(0xE000E180u + 4u * (n))
#define NVIC_ISPR_ADDR(n) (0xE000E200u + 4u * (n))
#define NVIC_ICPR(n) HIL_REG32(0xE000E280u + 4u * (n))

#define MODE_OUTPUT 1u
#define MODE_ALTERNATE 2u
#define SPEED_MEDIUM 1u
#define PULL_UP 1u

static uint32_t rx_irq;

void stm32_usart_init(uintptr_t base, uint32_t brr, uint32_t irq)
{
    USART_CR1(base) = 0; /* 8N1, 16x oversampling, disabled while configured */
    USART_CR2(base) = 0;
    USART_CR3(base) = 0;
    USART_BRR(base) = brr;
    rx_irq = irq;
    USART_CR1(base) = CR1_UE | CR1_TE | CR1_RE | CR1_RXNEIE;
    /* The mailbox doorbell: the host (a debug probe) sets this UART's
     * interrupt pending, which wakes the core from WFI below. */
    hil_mailbox_init(NVIC_ISPR_ADDR(irq / 32u), 1u << (irq % 32u));
}

/* A byte from the mailbox or the UART, whichever the host sends first,
 * sleeping in WFI between them. The UART's interrupt is enabled in the NVIC
 * only inside a window where PRIMASK masks it: a pending interrupt still
 * wakes WFI, but its handler is never entered (the vector table has no
 * device interrupts), so neither a received byte nor the host's doorbell,
 * nor a spurious pending bit, can take the core to an unknown vector. */
uint8_t stm32_usart_read_byte(uintptr_t base)
{
    uint32_t word = rx_irq / 32u;
    uint32_t bit = 1u << (rx_irq % 32u);
    for (;;) {
        int byte = hil_mailbox_read_byte();
        if (byte >= 0) {
            return (uint8_t)byte;
        }
        uint32_t isr = USART_ISR(base);
        if ((isr & ISR_ERRORS) != 0) {
            /* A lost or damaged byte: the protocol's CRC and retries recover;
             * the flags must be cleared or reception stalls on overrun (and
             * the overrun would hold the interrupt line, waking WFI at once). */
            USART_ICR(base) = isr & ISR_ERRORS;
        }
        if ((isr & ISR_RXNE) != 0) {
            uint8_t serial_byte = (uint8_t)USART_RDR(base);
            /* While the host talks by mailbox, a 0x00 on the UART is a bell
             * (as on QEMU), not a request byte. */
            if (serial_byte == 0u && hil_mailbox_active()) {
                continue;
            }
            hil_mailbox_use_serial();
            return serial_byte;
        }
        __asm__ volatile("cpsid i" ::: "memory");
        NVIC_ICPR(word) = bit; /* a doorbell rung before here is seen as pending data */
        NVIC_ISER(word) = bit;
        if ((USART_ISR(base) & (ISR_RXNE | ISR_ERRORS)) == 0 && !hil_mailbox_pending()) {
            __asm__ volatile("dsb\n\twfi" ::: "memory");
        }
        NVIC_ICER(word) = bit;
        __asm__ volatile("dsb\n\tisb\n\tcpsie i" ::: "memory");
    }
}

void stm32_usart_write(uintptr_t base, const uint8_t *data, uint32_t len)
{
    for (uint32_t i = 0; i < len; i++) {
        while ((USART_ISR(base) & ISR_TXE) == 0) {
        }
        USART_TDR(base) = data[i];
    }
    /* The fault handler halts right after writing: let the last byte leave. */
    while ((USART_ISR(base) & ISR_TC) == 0) {
    }
}

static void set_mode(uintptr_t base, uint32_t pin, uint32_t mode)
{
    uint32_t shift = 2u * pin;
    GPIO_OSPEEDR(base) = (GPIO_OSPEEDR(base) & ~(3u << shift)) | (SPEED_MEDIUM << shift);
    GPIO_MODER(base) = (GPIO_MODER(base) & ~(3u << shift)) | (mode << shift);
}

void stm32_gpio_alternate(uintptr_t base, uint32_t pin, uint32_t af, int pull_up)
{
    uint32_t afr_shift = 4u * (pin % 8u);
    GPIO_AFR(base, pin / 8u) = (GPIO_AFR(base, pin / 8u) & ~(0xFu << afr_shift)) |
                               ((af & 0xFu) << afr_shift);
    GPIO_OTYPER(base) &= ~(1u << pin); /* push-pull */
    uint32_t shift = 2u * pin;
    GPIO_PUPDR(base) = (GPIO_PUPDR(base) & ~(3u << shift)) | ((pull_up ? PULL_UP : 0u) << shift);
    set_mode(base, pin, MODE_ALTERNATE);
}

void stm32_gpio_output(uintptr_t base, uint32_t pin)
{
    stm32_gpio_write(base, pin, 0);
    GPIO_OTYPER(base) &= ~(1u << pin);
    set_mode(base, pin, MODE_OUTPUT);
}

void stm32_gpio_write(uintptr_t base, uint32_t pin, int high)
{
    GPIO_BSRR(base) = high ? (1u << pin) : (1u << (pin + 16u));
}
