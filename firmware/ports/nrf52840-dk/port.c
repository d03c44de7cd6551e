/* nRF52840-DK port: the crystal oscillator for an accurate baud rate, UARTE0
 * with EasyDMA to the interface MCU's VCP, DWT cycle counter, marker pin.
 * Register facts from the nRF52840 Product Specification. No anomaly
 * (errata) workarounds are applied. */
#include <stdint.h>
#include <string.h>

#include "cortex_m.h"
#include "dwt_counter.h"
#include "hil/port.h"
#include "port_config.h"

#define CLOCK_BASE 0x40000000u
#define CLOCK_TASKS_HFCLKSTART HIL_REG32(CLOCK_BASE + 0x000u)
#define CLOCK_EVENTS_HFCLKSTARTED HIL_REG32(CLOCK_BASE + 0x100u)

#define P0_BASE 0x50000000u
#define P1_BASE 0x50000300u
#define GPIO_OUTSET(b) HIL_REG32((b) + 0x508u)
#define GPIO_OUTCLR(b) HIL_REG32((b) + 0x50Cu)
#define GPIO_PIN_CNF(b, n) HIL_REG32((b) + 0x700u + 4u * (n))
#define PIN_CNF_OUTPUT 0x1u          /* DIR output, input buffer connected */
#define PIN_CNF_INPUT_PULLUP (3u << 2) /* DIR input, buffer connected, pull-up */

#define UARTE(off) HIL_REG32(PORT_UART_BASE + (off))
#define UARTE_TASKS_STARTRX UARTE(0x000u)
#define UARTE_TASKS_STARTTX UARTE(0x008u)
#define UARTE_EVENTS_ENDRX UARTE(0x110u)
#define UARTE_EVENTS_ENDTX UARTE(0x120u)
#define UARTE_EVENTS_ERROR UARTE(0x124u)
#define UARTE_SHORTS UARTE(0x200u)
#define UARTE_INTENCLR UARTE(0x308u)
#define UARTE_ERRORSRC UARTE(0x480u)
#define UARTE_ENABLE UARTE(0x500u)
#define UARTE_PSEL_RTS UARTE(0x508u)
#define UARTE_PSEL_TXD UARTE(0x50Cu)
#define UARTE_PSEL_CTS UARTE(0x510u)
#define UARTE_PSEL_RXD UARTE(0x514u)
#define UARTE_BAUDRATE UARTE(0x524u)
#define UARTE_RXD_PTR UARTE(0x534u)
#define UARTE_RXD_MAXCNT UARTE(0x538u)
#define UARTE_TXD_PTR UARTE(0x544u)
#define UARTE_TXD_MAXCNT UARTE(0x548u)
#define UARTE_CONFIG UARTE(0x56Cu)
#define UARTE_ENABLE_ON 8u
#define UARTE_PSEL_DISCONNECTED 0xFFFFFFFFu

#define TX_PIN 6u /* P0.06 */
#define RX_PIN 8u /* P0.08 */

/* The marker is the pin the board file's [firmware] marker_pin names, passed
 * by hil's build as port and pin numbers (P1.01: HIL_MARKER_PORT 1, PIN 1). */
#ifndef HIL_MARKER_PORT
#error "no marker pin: set [firmware] marker_pin in the board file (e.g. \"P1.01\")"
#endif
#if HIL_MARKER_PORT > 1 || HIL_MARKER_PIN > 31 || (HIL_MARKER_PORT == 1 && HIL_MARKER_PIN > 15)
#error "[firmware] marker_pin is not a GPIO of the nRF52840 (P0.00..P0.31, P1.00..P1.15)"
#endif
#if HIL_MARKER_PORT == 0 && (HIL_MARKER_PIN == 6 || HIL_MARKER_PIN == 8)
#error "[firmware] marker_pin collides with UARTE0 (P0.06/P0.08), the host link"
#endif
#define MARKER_PORT (HIL_MARKER_PORT == 0 ? P0_BASE : P1_BASE)
#define MARKER_PIN HIL_MARKER_PIN

/* UARTE0's BAUDRATE register values (nRF52840 PS, UARTE; the legacy
 * UART's differ) for the rates the J-Link OB's VCOM reaches within 3%
 * (96 MHz / (16 * divider), at most 1 MBaud, SEGGER's J-Link OB wiki). */
#if PORT_UART_BAUD == 115200u
#define UARTE_BAUD_VALUE 0x01D60000u
#elif PORT_UART_BAUD == 250000u
#define UARTE_BAUD_VALUE 0x04000000u
#elif PORT_UART_BAUD == 1000000u
#define UARTE_BAUD_VALUE 0x10000000u
#else
#error "[link] baud: UARTE0 is configured here for 115200, 250000 or 1000000 only"
#endif

void hil_fault_init(void);

/* EasyDMA reads and writes only RAM: both buffers are in .bss. */
static volatile uint8_t rx_byte;
static uint8_t tx_buffer[64];

static void hfxo_start(void)
{
    CLOCK_EVENTS_HFCLKSTARTED = 0;
    CLOCK_TASKS_HFCLKSTART = 1;
    while (CLOCK_EVENTS_HFCLKSTARTED == 0) {
    }
}

static void rx_start(void)
{
    UARTE_RXD_PTR = (uint32_t)(uintptr_t)&rx_byte;
    UARTE_RXD_MAXCNT = 1;
    UARTE_EVENTS_ENDRX = 0;
    UARTE_TASKS_STARTRX = 1;
}

static void uarte0_init(void)
{
    /* Idle-high TX before the UARTE takes the pin; RX with a pull-up. */
    GPIO_OUTSET(P0_BASE) = 1u << TX_PIN;
    GPIO_PIN_CNF(P0_BASE, TX_PIN) = PIN_CNF_OUTPUT;
    GPIO_PIN_CNF(P0_BASE, RX_PIN) = PIN_CNF_INPUT_PULLUP;
    UARTE_ENABLE = 0;
    UARTE_INTENCLR = 0xFFFFFFFFu;
    UARTE_SHORTS = 0;
    UARTE_CONFIG = 0; /* no flow control, no parity, one stop bit */
    UARTE_BAUDRATE = UARTE_BAUD_VALUE;
    UARTE_PSEL_TXD = TX_PIN; /* port 0, connected */
    UARTE_PSEL_RXD = RX_PIN;
    UARTE_PSEL_RTS = UARTE_PSEL_DISCONNECTED;
    UARTE_PSEL_CTS = UARTE_PSEL_DISCONNECTED;
    UARTE_ENABLE = UARTE_ENABLE_ON;
    rx_start();
}

void hil_port_init(void)
{
    SCB_VTOR = (uint32_t)(uintptr_t)hil_vector_table;
    hil_fault_init();
    hfxo_start();
    uarte0_init();
    GPIO_OUTCLR(MARKER_PORT) = 1u << MARKER_PIN;
    GPIO_PIN_CNF(MARKER_PORT, MARKER_PIN) = PIN_CNF_OUTPUT;
    (void)hil_dwt_init();
}

/* Reception always runs into a one-byte buffer; bytes that arrive before it
 * is restarted wait in the UARTE's receive FIFO. */
uint8_t hil_port_read_byte(void)
{
    for (;;) {
        if (UARTE_EVENTS_ERROR != 0) {
            UARTE_EVENTS_ERROR = 0;
            UARTE_ERRORSRC = UARTE_ERRORSRC; /* write 1 to clear what was read */
        }
        if (UARTE_EVENTS_ENDRX != 0) {
            uint8_t byte = rx_byte;
            rx_start();
            return byte;
        }
    }
}

void hil_port_write(const uint8_t *data, uint32_t len)
{
    while (len > 0) {
        uint32_t chunk = len < sizeof tx_buffer ? len : (uint32_t)sizeof tx_buffer;
        memcpy(tx_buffer, data, chunk);
        UARTE_TXD_PTR = (uint32_t)(uintptr_t)tx_buffer;
        UARTE_TXD_MAXCNT = chunk;
        UARTE_EVENTS_ENDTX = 0;
        UARTE_TASKS_STARTTX = 1;
        while (UARTE_EVENTS_ENDTX == 0) {
        }
        data += chunk;
        len -= chunk;
    }
}

uint32_t hil_port_clock_hz(void)
{
    return PORT_CLOCK_HZ;
}

void hil_port_marker(int high)
{
    if (high) {
        GPIO_OUTSET(MARKER_PORT) = 1u << MARKER_PIN;
    } else {
        GPIO_OUTCLR(MARKER_PORT) = 1u << MARKER_PIN;
    }
}
