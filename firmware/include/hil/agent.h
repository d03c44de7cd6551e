/* hil's device agent: the public interface for firmware that links it
 * (hil's own images and a team's application alike; docs/own-firmware.md).
 *
 * The agent speaks hil's protocol over whatever link the application hands
 * it. It calls the port functions of hil/port.h and the engine functions of
 * hil/engine.h, which the application provides; it allocates nothing and owns
 * no memory beyond its static buffers. Portable C11: the same code runs on a
 * board and in host fuzzers. */
#ifndef HIL_AGENT_H
#define HIL_AGENT_H

#include <stdint.h>

#include "hil/engine.h"
#include "hil/port.h"

typedef void (*hil_write_fn)(const uint8_t *data, uint32_t len);

typedef struct {
    uint8_t *model_region;    /* where an uploaded model is stored */
    uint32_t model_capacity;  /* its size in bytes, reported in HELLO */
    uint32_t arena_bytes;     /* the engine's arena, reported in HELLO */
    hil_write_fn write;       /* the host link (e.g. hil_port_write) */
    /* A model linked into the image (in flash), which the host loads in place
     * instead of uploading one; NULL and 0 where none. Its SHA-256 in hex
     * (NULL if not known) lets hil tell which model it is without reading it. */
    const uint8_t *linked_model;
    uint32_t linked_model_bytes;
    const char *linked_model_sha256;
} hil_agent_config;

/* Once at boot, after hil_engine_init(); the config is copied. Zero the
 * fields you do not use. */
void hil_agent_init(const hil_agent_config *config);

/* Announce a (re)start so the host knows any earlier state is gone. */
void hil_agent_announce_boot(void);

/* Every byte received from the host, in order; a complete frame is answered
 * (through config.write) before this returns. */
void hil_agent_feed(uint8_t byte);

/* From a fault handler: tell the host what happened (the caller then halts).
 * kind: HIL_FAULT_* of hil/protocol.h; regs: pc, lr, xpsr, cfsr, hfsr,
 * mmfar, bfar. */
#define HIL_FAULT_REGS 7u
void hil_agent_report_fault(uint32_t kind, const uint32_t regs[HIL_FAULT_REGS]);

/* Identifies the agent and its protocol version in an image, so hil can check
 * a prebuilt ELF before flashing it (no symbols needed: the magic is found in
 * the loaded bytes). The HELLO response is built from it, so it is linked
 * whenever the agent is. */
#define HIL_AGENT_MAGIC "hil-agent-ident"
#define HIL_AGENT_BUILD_ID_MAX 32u
typedef struct {
    char magic[16];
    uint32_t protocol_version;
    char build_id[HIL_AGENT_BUILD_ID_MAX];
} hil_agent_ident_t;
extern const hil_agent_ident_t hil_agent_ident;

#endif
