/* NUCLEO-H743ZI2 port: supply configuration, flash wait states for the 64 MHz
 * HSI the part boots on, USART3 to the ST-LINK VCP, instruction cache, DWT
 * cycle counter, marker pin. Register facts from RM0433. */
#include <stdint.h>

#include "cortex_m.h"
#include "dwt_counter.h"
#include "hil/port.h"
#include "port_config.h"
#include "stm32_usart.h"

#define PWR_BASE 0x58024800u
#define PWR_CSR1 HIL_REG32(PWR_BASE + 0x04u)
#define PWR_CR3 HIL_REG32(PWR_BASE + 0x0Cu)
#define PWR_D3CR HIL_REG32(PWR_BASE + 0x18u)
#define PWR_CR3_BYPASS (1u << 0)
#define PWR_CR3_LDOEN (1u << 1)
#define PWR_CSR1_ACTVOSRDY (1u << 13)
#define PWR_D3CR_VOSRDY (1u << 13)

#define FLASH_ACR HIL_REG32(0x52002000u)
#define FLASH_ACR_LATENCY_MASK 0xFu
#define FLASH_ACR_WRHIGHFREQ_SHIFT 4u
#define FLASH_ACR_WRHIGHFREQ_MASK (3u << FLASH_ACR_WRHIGHFREQ_SHIFT)
/* VOS3 (the reset scale): 1 wait state, WRHIGHFREQ 1 for 45 MHz < ACLK <= 90 MHz. */
#define FLASH_LATENCY_64MHZ 1u
#define FLASH_WRHIGHFREQ_64MHZ 1u

#define RCC_BASE 0x58024400u
#define RCC_AHB4ENR HIL_REG32(RCC_BASE + 0xE0u)
#define RCC_APB1LENR HIL_REG32(RCC_BASE + 0xE8u)
#define RCC_AHB4ENR_GPIOD (1u << 3)
#define RCC_APB1LENR_USART3 (1u << 18)

#define SCB_ICIALLU HIL_REG32(0xE000EF50u)
#define SCB_CCR_IC (1u << 17)

#define GPIOA_BASE 0x58020000u /* ports A..K follow every 0x400 */
#define GPIOD_BASE 0x58020C00u

/* The marker is the pin the board file's [firmware] marker_pin names, passed
 * by hil's build as port and pin numbers (PB0: HIL_MARKER_PORT 1, PIN 0). */
#ifndef HIL_MARKER_PORT
#error "no marker pin: set [firmware] marker_pin in the board file (e.g. \"PB0\")"
#endif
#if HIL_MARKER_PORT > 10 || HIL_MARKER_PIN > 15
#error "[firmware] marker_pin is not a GPIO of the STM32H743 (PA0..PK15)"
#endif
#if HIL_MARKER_PORT == 3 && (HIL_MARKER_PIN == 8 || HIL_MARKER_PIN == 9)
#error "[firmware] marker_pin collides with USART3 (PD8/PD9), the host link"
#endif
#define MARKER_PORT (GPIOA_BASE + 0x400u * HIL_MARKER_PORT)
#define MARKER_PIN HIL_MARKER_PIN
#define RCC_AHB4ENR_MARKER (1u << HIL_MARKER_PORT) /* GPIOAEN is bit 0, ... */
#define USART3_TX_PIN 8u /* PD8 */
#define USART3_RX_PIN 9u /* PD9 */
#define USART3_AF 7u

void hil_fault_init(void);

/* The H743 has only the LDO: confirm that supply (the reset choice), which
 * also locks it, and wait until the core voltage is ready. */
static void power_init(void)
{
    PWR_CR3 = (PWR_CR3 & ~PWR_CR3_BYPASS) | PWR_CR3_LDOEN;
    while ((PWR_CSR1 & PWR_CSR1_ACTVOSRDY) == 0) {
    }
    while ((PWR_D3CR & PWR_D3CR_VOSRDY) == 0) {
    }
}

/* The reset value (7 wait states) is safe at any clock but slow. */
static void flash_init(void)
{
    uint32_t acr = FLASH_ACR & ~(FLASH_ACR_LATENCY_MASK | FLASH_ACR_WRHIGHFREQ_MASK);
    FLASH_ACR = acr | FLASH_LATENCY_64MHZ | (FLASH_WRHIGHFREQ_64MHZ << FLASH_ACR_WRHIGHFREQ_SHIFT);
    while ((FLASH_ACR & FLASH_ACR_LATENCY_MASK) != FLASH_LATENCY_64MHZ) {
    }
}

/* Instruction cache on; the data cache stays off (documented in docs/boards.md). */
static void icache_enable(void)
{
    hil_dsb_isb();
    SCB_ICIALLU = 0;
    hil_dsb_isb();
    SCB_CCR |= SCB_CCR_IC;
    hil_dsb_isb();
}

/* 16x oversampling: BRR = f / baud must be 16..0xFFFF (RM0433, USART baud
 * rate generation), so 4 Mbaud at most on the 64 MHz PCLK1. */
#if (PORT_CLOCK_HZ + PORT_UART_BAUD / 2u) / PORT_UART_BAUD < 16u
#error "[link] baud too high for USART3 at 64 MHz with 16x oversampling (at most 4000000)"
#endif
#if (PORT_CLOCK_HZ + PORT_UART_BAUD / 2u) / PORT_UART_BAUD > 0xFFFFu
#error "[link] baud too low for USART3's BRR at 64 MHz"
#endif

/* USART3's kernel clock is PCLK1 by reset default: 64 MHz, all prescalers 1. */
static void usart3_init(void)
{
    RCC_AHB4ENR |= RCC_AHB4ENR_GPIOD | RCC_AHB4ENR_MARKER;
    RCC_APB1LENR |= RCC_APB1LENR_USART3;
    (void)RCC_APB1LENR;
    stm32_gpio_alternate(GPIOD_BASE, USART3_TX_PIN, USART3_AF, 0);
    stm32_gpio_alternate(GPIOD_BASE, USART3_RX_PIN, USART3_AF, 1);
    stm32_usart_init(PORT_UART_BASE, STM32_USART_BRR(PORT_CLOCK_HZ, PORT_UART_BAUD), PORT_UART_IRQ);
}

void hil_port_init(void)
{
    SCB_VTOR = (uint32_t)(uintptr_t)hil_vector_table;
    hil_fault_init();
    power_init();
    flash_init();
    icache_enable();
    usart3_init();
    stm32_gpio_output(MARKER_PORT, MARKER_PIN);
    (void)hil_dwt_init();
}

uint8_t hil_port_read_byte(void)
{
    return stm32_usart_read_byte(PORT_UART_BASE);
}

void hil_port_write(const uint8_t *data, uint32_t len)
{
    stm32_usart_write(PORT_UART_BASE, data, len);
}

uint32_t hil_port_clock_hz(void)
{
    return PORT_CLOCK_HZ;
}

void hil_port_marker(int high)
{
    stm32_gpio_write(MARKER_PORT, MARKER_PIN, high);
}
