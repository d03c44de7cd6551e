// An application with hil's agent linked in: the board comes up, the engine
// gets its arena, and every byte from the host goes to the agent.
extern "C" {
#include "hil/agent.h"
}

int main()
{
    hil_port_init();
    uint32_t arena_bytes = 0;
    uint8_t* arena = hil_port_arena_region(&arena_bytes);
    hil_engine_init(arena, arena_bytes);

    hil_agent_config config = {};
    config.model_region = hil_port_model_region(&config.model_capacity);
    config.arena_bytes = arena_bytes;
    config.write = hil_port_write;
    hil_agent_init(&config);
    hil_agent_announce_boot();
    for (;;) {
        hil_agent_feed(hil_port_read_byte());
    }
}
