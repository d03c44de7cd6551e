/* Architectural Cortex-M registers used by the ports (ARMv7-M / ARMv8-M). */
#ifndef HIL_CORTEX_M_H
#define HIL_CORTEX_M_H

#include <stdint.h>

#define HIL_REG32(addr) (*(volatile uint32_t *)(uintptr_t)(addr))

#define SCB_ICSR HIL_REG32(0xE000ED04u)
#define SCB_VTOR HIL_REG32(0xE000ED08u)
#define SCB_CCR HIL_REG32(0xE000ED14u)
#define SCB_SHCSR HIL_REG32(0xE000ED24u)
#define SCB_CPACR HIL_REG32(0xE000ED88u)

#define SYST_CSR HIL_REG32(0xE000E010u)
#define SYST_RVR HIL_REG32(0xE000E014u)
#define SYST_CVR HIL_REG32(0xE000E018u)

#define SCB_ICSR_PENDSTSET (1u << 26)

typedef void (*hil_vector)(void);
/* The vector table (common/startup.c), for ports that set VTOR to it. */
extern const hil_vector hil_vector_table[16];

static inline void hil_dsb_isb(void)
{
    __asm__ volatile("dsb\n\tisb" ::: "memory");
}

#endif
