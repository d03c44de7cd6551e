#include "cmsdk_uart.h"

#include "agent/mailbox.h"
#include "cortex_m.h"

#define UART_DATA(b) HIL_REG32((b) + 0x00u)
#define UART_STATE(b) HIL_REG32((b) + 0x04u)
#define UART_CTRL(b) HIL_REG32((b) + 0x08u)
#define UART_INTSTATUS(b) HIL_REG32((b) + 0x0Cu)
#define UART_BAUDDIV(b) HIL_REG32((b) + 0x10u)

#define STATE_TX_FULL 0x1u
#define STATE_RX_FULL 0x2u
#define CTRL_TX_EN 0x1u
#define CTRL_RX_EN 0x2u
#define CTRL_RX_INTEN 0x8u
#define INT_RX 0x2u

/* NVIC set-enable and clear-pending registers, 32 interrupts each. */
#define NVIC_ISER(n) HIL_REG32(0xE000E100u + 4u * (n))
#define NVIC_ICER(n) HIL_REG32(0xE000E180u + 4u * (n))
#define NVIC_ICPR(n) HIL_REG32(0xE000E280u + 4u * (n))

static uint32_t rx_irq;

void cmsdk_uart_init(uintptr_t base, uint32_t clock_hz, uint32_t baud, uint32_t irq)
{
    UART_CTRL(base) = 0;
    UART_BAUDDIV(base) = clock_hz / baud; /* must be >= 16 */
    UART_INTSTATUS(base) = INT_RX;
    rx_irq = irq;
    UART_CTRL(base) = CTRL_TX_EN | CTRL_RX_EN | CTRL_RX_INTEN;
    /* NVIC set-pending for the same interrupt: the mailbox doorbell. */
    hil_mailbox_init(0xE000E200u + 4u * (irq / 32u), 1u << (irq % 32u));
}

uint8_t cmsdk_uart_read_byte(uintptr_t base)
{
    /* Sleep until a byte arrives instead of spinning, so an idle emulator
     * takes no host CPU. A pending interrupt wakes WFI even while PRIMASK
     * masks it; SysTick's overflow still runs between waits. The host of the
     * memory transport sets the same interrupt pending as its doorbell. */
    uint32_t word = rx_irq / 32u;
    uint32_t bit = 1u << (rx_irq % 32u);
    for (;;) {
        int byte = hil_mailbox_read_byte();
        if (byte >= 0) {
            return (uint8_t)byte;
        }
        if ((UART_STATE(base) & STATE_RX_FULL) != 0) {
            uint8_t serial_byte = (uint8_t)UART_DATA(base);
            /* While the host talks by mailbox, a 0x00 on the UART is its
             * doorbell (QEMU's gdbstub cannot set an interrupt pending). */
            if (serial_byte == 0u && hil_mailbox_active()) {
                continue;
            }
            hil_mailbox_use_serial();
            return serial_byte;
        }
        /* The interrupt is enabled in the NVIC only inside this masked
         * window, so it is never taken (there is no vector for it). */
        __asm__ volatile("cpsid i" ::: "memory");
        UART_INTSTATUS(base) = INT_RX;
        NVIC_ICPR(word) = bit;
        NVIC_ISER(word) = bit;
        if ((UART_STATE(base) & STATE_RX_FULL) == 0 && !hil_mailbox_pending()) {
            __asm__ volatile("dsb\n\twfi" ::: "memory");
        }
        NVIC_ICER(word) = bit;
        __asm__ volatile("dsb\n\tisb\n\tcpsie i" ::: "memory");
    }
}

void cmsdk_uart_write(uintptr_t base, const uint8_t *data, uint32_t len)
{
    for (uint32_t i = 0; i < len; i++) {
        while ((UART_STATE(base) & STATE_TX_FULL) != 0) {
        }
        UART_DATA(base) = data[i];
    }
}
