/* The device side of the hil protocol: feeds on received bytes, answers
 * complete frames. Portable: the same file runs on a board and in host fuzzers. */
#ifndef HIL_AGENT_H
#define HIL_AGENT_H

#include <stdint.h>

typedef void (*hil_write_fn)(const uint8_t *data, uint32_t len);

typedef struct {
    uint8_t *model_region;
    uint32_t model_capacity;
    uint32_t arena_bytes;     /* reported in HELLO */
    hil_write_fn write;       /* the host link */
} hil_agent_config;

void hil_agent_init(const hil_agent_config *config);

/* Announce a (re)start so the host knows any earlier state is gone. */
void hil_agent_announce_boot(void);

void hil_agent_feed(uint8_t byte);

/* From a fault handler: tell the host what happened (the caller then halts).
 * regs: pc, lr, xpsr, cfsr, hfsr, mmfar, bfar. */
#define HIL_FAULT_REGS 7u
void hil_agent_report_fault(uint32_t kind, const uint32_t regs[HIL_FAULT_REGS]);

#endif
