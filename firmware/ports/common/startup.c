/* Vector table and reset handler shared by every Cortex-M port. */
#include <stdint.h>
#include <string.h>

#include "cortex_m.h"

extern uint32_t __stack_top;
extern uint32_t __data_load;
extern uint32_t __data_start;
extern uint32_t __data_end;
extern uint32_t __bss_start;
extern uint32_t __bss_end;

int main(void);

void Reset_Handler(void);

/* Before anything may touch a floating-point (or MVE) register. */
static void enable_fpu(void)
{
#if defined(__ARM_FP) || defined(__ARM_FEATURE_MVE)
    SCB_CPACR |= (0xFu << 20);
    hil_dsb_isb();
#endif
}

__attribute__((noreturn)) void Reset_Handler(void)
{
    enable_fpu();
    /* Trap divide-by-zero instead of silently returning 0. */
    SCB_CCR |= (1u << 4);
    memcpy(&__data_start, &__data_load,
           (size_t)((uintptr_t)&__data_end - (uintptr_t)&__data_start));
    memset(&__bss_start, 0, (size_t)((uintptr_t)&__bss_end - (uintptr_t)&__bss_start));
    (void)main();
    for (;;) {
        __asm__ volatile("wfi");
    }
}

static void unexpected_exception(void)
{
    for (;;) {
        __asm__ volatile("wfi");
    }
}

void NMI_Handler(void) __attribute__((weak, alias("unexpected_exception")));
void HardFault_Handler(void) __attribute__((weak, alias("unexpected_exception")));
void MemManage_Handler(void) __attribute__((weak, alias("unexpected_exception")));
void BusFault_Handler(void) __attribute__((weak, alias("unexpected_exception")));
void UsageFault_Handler(void) __attribute__((weak, alias("unexpected_exception")));
void SecureFault_Handler(void) __attribute__((weak, alias("unexpected_exception")));
void SVC_Handler(void) __attribute__((weak, alias("unexpected_exception")));
void PendSV_Handler(void) __attribute__((weak, alias("unexpected_exception")));
void Default_IRQ_Handler(void) __attribute__((weak, alias("unexpected_exception")));
/* Defined by a port's counter when it uses SysTick (ports/systick, ports/dwt). */
void SysTick_Handler(void) __attribute__((weak, alias("unexpected_exception")));

/* 16 system exceptions; no device interrupt is used. */
__attribute__((section(".vectors"), used)) const hil_vector hil_vector_table[16] = {
    (hil_vector)(uintptr_t)&__stack_top,
    Reset_Handler,
    NMI_Handler,
    HardFault_Handler,
    MemManage_Handler,
    BusFault_Handler,
    UsageFault_Handler,
    SecureFault_Handler,
    0,
    0,
    0,
    SVC_Handler,
    0,
    0,
    PendSV_Handler,
    SysTick_Handler,
};
