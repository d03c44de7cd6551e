/* Fault handlers: report the faulting context to the host, then halt. The
 * host sees a FAULT frame instead of a response and restarts the target. */
#include <stdint.h>

#include "hil/agent.h"
#include "cortex_m.h"
#include "hil/port.h"
#include "hil/protocol.h"
#include "port_config.h"

#define SCB_CFSR HIL_REG32(0xE000ED28u)
#define SCB_HFSR HIL_REG32(0xE000ED2Cu)
#define SCB_MMFAR HIL_REG32(0xE000ED34u)
#define SCB_BFAR HIL_REG32(0xE000ED38u)

#define SHCSR_MEMFAULTENA (1u << 16)
#define SHCSR_BUSFAULTENA (1u << 17)
#define SHCSR_USGFAULTENA (1u << 18)
#define SHCSR_SECUREFAULTENA (1u << 19)

/* Stacked exception frame: r0 r1 r2 r3 r12 lr pc xpsr. */
enum { FRAME_LR = 5, FRAME_PC = 6, FRAME_XPSR = 7 };

__attribute__((used, noreturn)) void hil_fault_report(uint32_t kind, const uint32_t *frame)
{
    const uint32_t regs[HIL_FAULT_REGS] = {
        frame[FRAME_PC], frame[FRAME_LR], frame[FRAME_XPSR], SCB_CFSR,
        SCB_HFSR,        SCB_MMFAR,       SCB_BFAR,
    };
    hil_agent_report_fault(kind, regs);
    for (;;) {
        __asm__ volatile("wfi");
    }
}

/* Each handler finds the stacked frame (main or process stack, per EXC_RETURN
 * bit 2) and passes it on without touching the stack itself. */
#define FAULT_HANDLER(name, kind)                                                            \
    __attribute__((naked)) void name(void)                                                   \
    {                                                                                        \
        __asm__ volatile("tst lr, #4\n\t"                                                    \
                         "ite eq\n\t"                                                        \
                         "mrseq r1, msp\n\t"                                                 \
                         "mrsne r1, psp\n\t"                                                 \
                         "movs r0, %0\n\t"                                                   \
                         "b hil_fault_report\n\t" ::"i"(kind));                              \
    }

FAULT_HANDLER(HardFault_Handler, HIL_FAULT_HARD)
FAULT_HANDLER(MemManage_Handler, HIL_FAULT_MEMMANAGE)
FAULT_HANDLER(BusFault_Handler, HIL_FAULT_BUS)
FAULT_HANDLER(UsageFault_Handler, HIL_FAULT_USAGE)
#if defined(__ARM_ARCH_8M_MAIN__) || defined(__ARM_ARCH_8_1M_MAIN__)
FAULT_HANDLER(SecureFault_Handler, HIL_FAULT_SECURE)
#endif

/* Give each fault its own handler instead of escalating all to HardFault. */
void hil_fault_init(void)
{
    uint32_t enable = SHCSR_MEMFAULTENA | SHCSR_BUSFAULTENA | SHCSR_USGFAULTENA;
#if defined(__ARM_ARCH_8M_MAIN__) || defined(__ARM_ARCH_8_1M_MAIN__)
    enable |= SHCSR_SECUREFAULTENA;
#endif
    SCB_SHCSR |= enable;
    hil_dsb_isb();
}

void hil_port_provoke_fault(uint32_t kind)
{
    switch (kind) {
    case HIL_FAULT_USAGE:
        __asm__ volatile("udf #0");
        break;
    case HIL_FAULT_HARD:
        /* A UsageFault with its handler disabled escalates to HardFault. */
        SCB_SHCSR &= ~SHCSR_USGFAULTENA;
        hil_dsb_isb();
        __asm__ volatile("udf #1");
        break;
    case HIL_FAULT_MEMMANAGE: {
        /* The System region is never executable. */
        void (*in_system_space)(void) = (void (*)(void))(uintptr_t)0xE0000001u;
        in_system_space();
        break;
    }
    case HIL_FAULT_BUS:
        (void)*(volatile uint32_t *)(uintptr_t)PORT_BUS_FAULT_ADDRESS;
        break;
    default:
        break;
    }
}
