/* NUCLEO-L4R5ZI port: clocks to 120 MHz, LPUART1 to the ST-LINK VCP, DWT
 * cycle counter, marker pin. Register facts from RM0432. */
#include <stdint.h>

#include "cortex_m.h"
#include "dwt_counter.h"
#include "hil/port.h"
#include "port_config.h"
#include "stm32_usart.h"

#define RCC_BASE 0x40021000u
#define RCC_CR HIL_REG32(RCC_BASE + 0x00u)
#define RCC_CFGR HIL_REG32(RCC_BASE + 0x08u)
#define RCC_PLLCFGR HIL_REG32(RCC_BASE + 0x0Cu)
#define RCC_AHB2ENR HIL_REG32(RCC_BASE + 0x4Cu)
#define RCC_APB1ENR1 HIL_REG32(RCC_BASE + 0x58u)
#define RCC_APB1ENR2 HIL_REG32(RCC_BASE + 0x5Cu)
#define RCC_CCIPR HIL_REG32(RCC_BASE + 0x88u)

#define RCC_CR_HSION (1u << 8)
#define RCC_CR_HSIRDY (1u << 10)
#define RCC_CR_PLLON (1u << 24)
#define RCC_CR_PLLRDY (1u << 25)
#define RCC_CFGR_SW_MASK 0x3u
#define RCC_CFGR_SW_PLL 0x3u
#define RCC_CFGR_SWS_SHIFT 2u
#define RCC_CFGR_HPRE_SHIFT 4u
#define RCC_CFGR_HPRE_MASK (0xFu << RCC_CFGR_HPRE_SHIFT)
#define RCC_CFGR_HPRE_DIV2 (0x8u << RCC_CFGR_HPRE_SHIFT)
#define RCC_CFGR_PPRE_MASK (0x3Fu << 8) /* PPRE1 [10:8], PPRE2 [13:11]: 0 = /1 */
#define RCC_PLLCFGR_SRC_HSI16 2u
#define RCC_PLLCFGR_M_SHIFT 4u /* M - 1 */
#define RCC_PLLCFGR_N_SHIFT 8u
#define RCC_PLLCFGR_REN (1u << 24)
#define RCC_PLLCFGR_R_SHIFT 25u /* 0 = /2 */
#define RCC_AHB2ENR_GPIOG (1u << 6)
#define RCC_APB1ENR1_PWR (1u << 28)
#define RCC_APB1ENR2_LPUART1 (1u << 0)
#define RCC_CCIPR_LPUART1SEL_SHIFT 10u
#define RCC_CCIPR_LPUART1SEL_HSI16 2u

#define PWR_BASE 0x40007000u
#define PWR_CR1 HIL_REG32(PWR_BASE + 0x00u)
#define PWR_CR2 HIL_REG32(PWR_BASE + 0x04u)
#define PWR_SR2 HIL_REG32(PWR_BASE + 0x14u)
#define PWR_CR5 HIL_REG32(PWR_BASE + 0x80u)
#define PWR_CR1_VOS_SHIFT 9u
#define PWR_CR1_VOS_MASK (3u << PWR_CR1_VOS_SHIFT)
#define PWR_CR1_VOS_RANGE1 (1u << PWR_CR1_VOS_SHIFT)
#define PWR_CR2_IOSV (1u << 9) /* VDDIO2 valid: PG[15:2] are powered from it */
#define PWR_SR2_VOSF (1u << 10)
#define PWR_CR5_R1MODE (1u << 8) /* 1 = Range 1 normal (80 MHz), 0 = boost (120 MHz) */

#define FLASH_ACR HIL_REG32(0x40022000u)
#define FLASH_ACR_LATENCY_MASK 0xFu
#define FLASH_ACR_PRFTEN (1u << 8)
#define FLASH_ACR_ICEN (1u << 9)
#define FLASH_ACR_DCEN (1u << 10)
/* Range 1 boost mode: 5 wait states for 100 MHz < HCLK <= 120 MHz. */
#define FLASH_LATENCY_120MHZ 5u

#define GPIOA_BASE 0x48000000u /* ports A..I follow every 0x400 */
#define GPIOG_BASE 0x48001800u
#define LPUART1_TX_PIN 7u /* PG7 */
#define LPUART1_RX_PIN 8u /* PG8 */

/* The marker is the pin the board file's [firmware] marker_pin names, passed
 * by hil's build as port and pin numbers (PC7: HIL_MARKER_PORT 2, PIN 7). */
#ifndef HIL_MARKER_PORT
#error "no marker pin: set [firmware] marker_pin in the board file (e.g. \"PC7\")"
#endif
#if HIL_MARKER_PORT > 8 || HIL_MARKER_PIN > 15
#error "[firmware] marker_pin is not a GPIO of the STM32L4R5 (PA0..PI15)"
#endif
#if HIL_MARKER_PORT == 6 && (HIL_MARKER_PIN == 7 || HIL_MARKER_PIN == 8)
#error "[firmware] marker_pin collides with LPUART1 (PG7/PG8), the host link"
#endif
#define MARKER_PORT (GPIOA_BASE + 0x400u * HIL_MARKER_PORT)
#define MARKER_PIN HIL_MARKER_PIN
#define RCC_AHB2ENR_MARKER (1u << HIL_MARKER_PORT) /* GPIOAEN is bit 0, ... */
#define LPUART1_AF 8u

#define HSI16_HZ 16000000u

/* LPUART1 on HSI16: BRR = 256 * f / baud must be 0x300..0xFFFFF, and f within
 * 3..4096 times the baud (RM0432, LPUART baud rate generation): 5333333 baud
 * at most, about 3906 at least. */
#if 3ull * PORT_UART_BAUD > HSI16_HZ
#error "[link] baud too high for LPUART1 on the 16 MHz HSI16 (f must be >= 3 x baud)"
#endif
#if (256ull * HSI16_HZ + PORT_UART_BAUD / 2u) / PORT_UART_BAUD < 0x300u
#error "[link] baud too high for LPUART1's BRR (at least 0x300)"
#endif
#if (256ull * HSI16_HZ + PORT_UART_BAUD / 2u) / PORT_UART_BAUD > 0xFFFFFu
#error "[link] baud too low for LPUART1's 20-bit BRR on HSI16"
#endif

void hil_fault_init(void);

static void wait_set(volatile uint32_t *reg, uint32_t mask)
{
    while ((*reg & mask) != mask) {
    }
}

static void short_delay(uint32_t loops)
{
    for (volatile uint32_t i = 0; i < loops; i++) {
    }
}

/* HSI16 -> PLL (M=2, N=30, R=2: 8 MHz in, 240 MHz VCO) -> 120 MHz SYSCLK.
 * HSI16 rather than the reset clock MSI: it is the more accurate of the two
 * without an LSE to trim MSI, and it also clocks LPUART1. The order follows
 * RM0432's switch from Range 1 normal to Range 1 boost mode. */
static void clocks_to_120mhz(void)
{
    RCC_APB1ENR1 |= RCC_APB1ENR1_PWR;
    (void)RCC_APB1ENR1;

    RCC_CR |= RCC_CR_HSION;
    wait_set(&RCC_CR, RCC_CR_HSIRDY);

    /* Range 1 (the reset value), then boost mode with HCLK halved meanwhile. */
    PWR_CR1 = (PWR_CR1 & ~PWR_CR1_VOS_MASK) | PWR_CR1_VOS_RANGE1;
    while ((PWR_SR2 & PWR_SR2_VOSF) != 0) {
    }
    RCC_CFGR = (RCC_CFGR & ~RCC_CFGR_HPRE_MASK) | RCC_CFGR_HPRE_DIV2;
    PWR_CR5 &= ~PWR_CR5_R1MODE;
    while ((PWR_SR2 & PWR_SR2_VOSF) != 0) {
    }

    /* Wait states before the clock rises; read back until they apply. */
    FLASH_ACR = (FLASH_ACR & ~FLASH_ACR_LATENCY_MASK) | FLASH_LATENCY_120MHZ | FLASH_ACR_PRFTEN |
                FLASH_ACR_ICEN | FLASH_ACR_DCEN;
    while ((FLASH_ACR & FLASH_ACR_LATENCY_MASK) != FLASH_LATENCY_120MHZ) {
    }

    RCC_CR &= ~RCC_CR_PLLON;
    while ((RCC_CR & RCC_CR_PLLRDY) != 0) {
    }
    RCC_PLLCFGR = RCC_PLLCFGR_SRC_HSI16 | ((2u - 1u) << RCC_PLLCFGR_M_SHIFT) |
                  (30u << RCC_PLLCFGR_N_SHIFT) | (0u << RCC_PLLCFGR_R_SHIFT) | RCC_PLLCFGR_REN;
    RCC_CR |= RCC_CR_PLLON;
    wait_set(&RCC_CR, RCC_CR_PLLRDY);

    RCC_CFGR = (RCC_CFGR & ~(RCC_CFGR_SW_MASK | RCC_CFGR_PPRE_MASK)) | RCC_CFGR_SW_PLL;
    while (((RCC_CFGR >> RCC_CFGR_SWS_SHIFT) & RCC_CFGR_SW_MASK) != RCC_CFGR_SW_PLL) {
    }
    short_delay(100); /* at least 1 us at 60 MHz HCLK before HCLK = SYSCLK */
    RCC_CFGR &= ~RCC_CFGR_HPRE_MASK;
}

static void lpuart1_init(void)
{
    PWR_CR2 |= PWR_CR2_IOSV;
    RCC_CCIPR = (RCC_CCIPR & ~(3u << RCC_CCIPR_LPUART1SEL_SHIFT)) |
                (RCC_CCIPR_LPUART1SEL_HSI16 << RCC_CCIPR_LPUART1SEL_SHIFT);
    RCC_AHB2ENR |= RCC_AHB2ENR_GPIOG | RCC_AHB2ENR_MARKER;
    RCC_APB1ENR2 |= RCC_APB1ENR2_LPUART1;
    (void)RCC_APB1ENR2;
    stm32_gpio_alternate(GPIOG_BASE, LPUART1_TX_PIN, LPUART1_AF, 0);
    stm32_gpio_alternate(GPIOG_BASE, LPUART1_RX_PIN, LPUART1_AF, 1);
    stm32_usart_init(PORT_UART_BASE, STM32_LPUART_BRR(HSI16_HZ, PORT_UART_BAUD), PORT_UART_IRQ);
}

void hil_port_init(void)
{
    SCB_VTOR = (uint32_t)(uintptr_t)hil_vector_table;
    hil_fault_init();
    clocks_to_120mhz();
    lpuart1_init();
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
