#include "cmsdk_uart.h"

#include "cortex_m.h"

#define UART_DATA(b) HIL_REG32((b) + 0x00u)
#define UART_STATE(b) HIL_REG32((b) + 0x04u)
#define UART_CTRL(b) HIL_REG32((b) + 0x08u)
#define UART_BAUDDIV(b) HIL_REG32((b) + 0x10u)

#define STATE_TX_FULL 0x1u
#define STATE_RX_FULL 0x2u
#define CTRL_TX_EN 0x1u
#define CTRL_RX_EN 0x2u

void cmsdk_uart_init(uintptr_t base, uint32_t clock_hz, uint32_t baud)
{
    UART_CTRL(base) = 0;
    UART_BAUDDIV(base) = clock_hz / baud; /* must be >= 16 */
    UART_CTRL(base) = CTRL_TX_EN | CTRL_RX_EN;
}

uint8_t cmsdk_uart_read_byte(uintptr_t base)
{
    while ((UART_STATE(base) & STATE_RX_FULL) == 0) {
    }
    return (uint8_t)UART_DATA(base);
}

void cmsdk_uart_write(uintptr_t base, const uint8_t *data, uint32_t len)
{
    for (uint32_t i = 0; i < len; i++) {
        while ((UART_STATE(base) & STATE_TX_FULL) != 0) {
        }
        UART_DATA(base) = data[i];
    }
}
