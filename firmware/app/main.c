/* hil reference firmware: a port, hil's agent and an engine, nothing else. */
#include "agent/agent.h"
#include "hil/engine.h"
#include "hil/port.h"

int main(void)
{
    hil_port_init();
    uint32_t arena_bytes;
    uint8_t *arena = hil_port_arena_region(&arena_bytes);
    hil_engine_init(arena, arena_bytes);
    hil_agent_config config;
    config.model_region = hil_port_model_region(&config.model_capacity);
    config.arena_bytes = arena_bytes;
    config.write = hil_port_write;
    hil_agent_init(&config);
    hil_agent_announce_boot();
    for (;;) {
        hil_agent_feed(hil_port_read_byte());
    }
}
