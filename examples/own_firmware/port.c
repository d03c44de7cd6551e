/* The example application's board support for Corstone-300, written against
 * hil/port.h only: the UART the host link runs on, SysTick as the counter,
 * and the memory the agent and the engine get. */
#include <stdint.h>

#include "hil/agent.h"
#include "hil/protocol.h"

#define REG(addr) (*(volatile uint32_t *)(addr))

/* UART0, Secure alias (the core boots Secure), CMSDK APB UART registers. */
#define UART 0x59303000u
#define UART_DATA REG(UART + 0x00u)
#define UART_STATE REG(UART + 0x04u)
#define UART_CTRL REG(UART + 0x08u)
#define UART_INTCLEAR REG(UART + 0x0Cu)
#define UART_BAUDDIV REG(UART + 0x10u)
#define UART_RX_IRQ 33u /* AN547 interrupt map */
#define CLOCK_HZ 32000000u

#define SYST_CSR REG(0xE000E010u)
#define SYST_RVR REG(0xE000E014u)
#define SYST_CVR REG(0xE000E018u)
#define ICSR REG(0xE000ED04u)
#define NVIC_ISER REG(0xE000E100u + 4u * (UART_RX_IRQ / 32u))
#define NVIC_ICER REG(0xE000E180u + 4u * (UART_RX_IRQ / 32u))
#define NVIC_ICPR REG(0xE000E280u + 4u * (UART_RX_IRQ / 32u))
#define RX_IRQ_BIT (1u << (UART_RX_IRQ % 32u))

#define MODEL_BYTES (1024u * 1024u)
#define ARENA_BYTES (1024u * 1024u)

__attribute__((section(".bulk.model"), aligned(16))) static uint8_t model_region[MODEL_BYTES];
__attribute__((section(".bulk.arena"), aligned(16))) static uint8_t arena_region[ARENA_BYTES];

extern uint8_t __stack_bottom[];
extern uint8_t __stack_top[];

static volatile uint32_t systick_wraps;
static uint64_t window_start;

void SysTick_Handler(void)
{
    systick_wraps++;
}

void hil_port_init(void)
{
    UART_CTRL = 0;
    UART_BAUDDIV = CLOCK_HZ / 115200u;
    UART_CTRL = 0x1u | 0x2u | 0x8u; /* TX, RX, RX interrupt (to wake WFI) */
    SYST_RVR = 0xFFFFFFu;
    SYST_CVR = 0;
    SYST_CSR = 0x7u; /* core clock, interrupt, enabled */
}

uint8_t hil_port_read_byte(void)
{
    while ((UART_STATE & 0x2u) == 0) {
        /* Sleep until a byte arrives rather than spin: the interrupt is
         * enabled only with PRIMASK set, so it wakes WFI but is never taken. */
        __asm__ volatile("cpsid i" ::: "memory");
        UART_INTCLEAR = 0x2u;
        NVIC_ICPR = RX_IRQ_BIT;
        NVIC_ISER = RX_IRQ_BIT;
        if ((UART_STATE & 0x2u) == 0) {
            __asm__ volatile("dsb\n\twfi" ::: "memory");
        }
        NVIC_ICER = RX_IRQ_BIT;
        __asm__ volatile("dsb\n\tisb\n\tcpsie i" ::: "memory");
    }
    return (uint8_t)UART_DATA;
}

void hil_port_write(const uint8_t *data, uint32_t len)
{
    for (uint32_t i = 0; i < len; i++) {
        while ((UART_STATE & 0x1u) != 0) {
        }
        UART_DATA = data[i];
    }
}

static uint64_t systick_now(void)
{
    uint32_t wraps;
    uint32_t count;
    uint32_t pending;
    do {
        wraps = systick_wraps;
        count = SYST_CVR;
        pending = ICSR & (1u << 26); /* PENDSTSET */
    } while (wraps != systick_wraps);
    uint32_t elapsed = (0x1000000u - count) & 0xFFFFFFu;
    if (pending != 0 && elapsed < 0x800000u) { /* wrapped; handler not yet run */
        wraps++;
    }
    return ((uint64_t)wraps << 24) + elapsed;
}

void hil_port_counter_start(void)
{
    SYST_CVR = 0;
    systick_wraps = 0;
    window_start = systick_now();
}

uint64_t hil_port_counter_read(void)
{
    return systick_now() - window_start;
}

uint8_t hil_port_counter_kind(void)
{
    return HIL_COUNTER_SYSTICK;
}

uint32_t hil_port_clock_hz(void)
{
    return CLOCK_HZ;
}

uint64_t hil_port_calibrate(uint32_t iterations)
{
    if (iterations == 0) {
        return 0;
    }
    hil_port_counter_start();
    __asm__ volatile("0: subs %0, %0, #1\n\tbne 0b" : "+r"(iterations) : : "cc");
    return hil_port_counter_read();
}

void hil_port_stack_region(uint8_t **bottom, uint8_t **top)
{
    *bottom = __stack_bottom;
    *top = __stack_top;
}

void hil_port_marker(int high)
{
    (void)high; /* no energy marker pin on this board */
}

void hil_port_provoke_fault(uint32_t kind)
{
    (void)kind; /* only hil's test firmware provokes faults */
}

const char *hil_port_board(void)
{
    return "corstone300";
}

const char *hil_port_core(void)
{
    return "cortex-m55";
}

uint8_t *hil_port_model_region(uint32_t *bytes)
{
    *bytes = MODEL_BYTES;
    return model_region;
}

uint8_t *hil_port_arena_region(uint32_t *bytes)
{
    *bytes = ARENA_BYTES;
    return arena_region;
}

/* Every fault escalates here: report it to hil, then stop. */
void HardFault_Handler(void)
{
    const uint32_t regs[HIL_FAULT_REGS] = {
        0, 0, 0, REG(0xE000ED28u), REG(0xE000ED2Cu), REG(0xE000ED34u), REG(0xE000ED38u),
    };
    hil_agent_report_fault(HIL_FAULT_HARD, regs);
    for (;;) {
        __asm__ volatile("wfi");
    }
}
