/* hil reference firmware: a port, a protocol agent and an engine, nothing else.
 * Built with HIL_EEMBC it speaks the MLPerf Tiny (EEMBC) protocol instead, with
 * the model linked into the image; with HIL_LINKED_MODEL_SHA256 it speaks
 * hil's protocol with a model linked into the image. */
#include "hil/agent.h"
#include "agent/eembc.h"
#include "agent/mailbox.h"
#include "hil/engine.h"
#include "hil/port.h"

#if defined(HIL_EEMBC) || defined(HIL_LINKED_MODEL_SHA256)
extern const uint8_t hil_embedded_model[];
extern const uint8_t hil_embedded_model_end[];
#endif

int main(void)
{
    hil_port_init();
    uint32_t arena_bytes;
    uint8_t *arena = hil_port_arena_region(&arena_bytes);
    hil_engine_init(arena, arena_bytes);
#ifdef HIL_EEMBC
    hil_eembc_run(hil_embedded_model, (uint32_t)(hil_embedded_model_end - hil_embedded_model));
#else
    hil_agent_config config = {0};
    config.model_region = hil_port_model_region(&config.model_capacity);
    config.arena_bytes = arena_bytes;
    config.write = hil_link_write;
#ifdef HIL_LINKED_MODEL_SHA256 /* the model is in flash; the host loads it in place */
    config.linked_model = hil_embedded_model;
    config.linked_model_bytes = (uint32_t)(hil_embedded_model_end - hil_embedded_model);
    config.linked_model_sha256 = HIL_LINKED_MODEL_SHA256;
#endif
    hil_agent_init(&config);
    hil_agent_announce_boot();
    for (;;) {
        hil_agent_feed(hil_port_read_byte());
    }
#endif
}
