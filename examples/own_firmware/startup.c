/* Start-up for the example application: vector table, .data/.bss, C++
 * constructors, FPU and MVE on, then main(). An application has its own; hil
 * needs nothing from it but a vector table at the code base. */
#include <stdint.h>
#include <string.h>

extern uint32_t __stack_top, __data_load, __data_start, __data_end, __bss_start, __bss_end;
extern void (*__init_array_start[])(void);
extern void (*__init_array_end[])(void);

int main(void);
void Reset_Handler(void);
void HardFault_Handler(void);
void SysTick_Handler(void);

#define CPACR (*(volatile uint32_t *)0xE000ED88u)

__attribute__((noreturn)) void Reset_Handler(void)
{
    CPACR |= 0xFu << 20; /* CP10 and CP11: FPU and MVE */
    __asm__ volatile("dsb\n\tisb" ::: "memory");
    memcpy(&__data_start, &__data_load, (size_t)((char *)&__data_end - (char *)&__data_start));
    memset(&__bss_start, 0, (size_t)((char *)&__bss_end - (char *)&__bss_start));
    for (void (**ctor)(void) = __init_array_start; ctor < __init_array_end; ctor++) {
        (*ctor)();
    }
    (void)main();
    for (;;) {
        __asm__ volatile("wfi");
    }
}

static void idle_handler(void)
{
    for (;;) {
        __asm__ volatile("wfi");
    }
}

typedef void (*vector)(void);

__attribute__((section(".isr_vector"), used)) static const vector vectors[16] = {
    (vector)(uintptr_t)&__stack_top,
    Reset_Handler,
    idle_handler,      /* NMI */
    HardFault_Handler, /* all faults escalate to HardFault: the others stay disabled */
    idle_handler,
    idle_handler,
    idle_handler,
    idle_handler,
    0,
    0,
    0,
    idle_handler, /* SVC */
    idle_handler,
    0,
    idle_handler, /* PendSV */
    SysTick_Handler,
};
