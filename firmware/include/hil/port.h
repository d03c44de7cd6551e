/* What a board port provides to the agent. One implementation per ports/<name>/. */
#ifndef HIL_PORT_H
#define HIL_PORT_H

#include <stdint.h>

void hil_port_init(void);

/* Blocking byte I/O on the host link. */
uint8_t hil_port_read_byte(void);
void hil_port_write(const uint8_t *data, uint32_t len);

/* Free-running counter for timing an inference. */
void hil_port_counter_start(void);
uint64_t hil_port_counter_read(void);
uint8_t hil_port_counter_kind(void);
uint32_t hil_port_clock_hz(void);

/* Ticks taken by a loop of exactly 2 * iterations instructions (subs; bne),
 * timed like an inference: checks what the counter measures. */
uint64_t hil_port_calibrate(uint32_t iterations);

/* The stack, for measuring its high-water mark; both NULL where unknown. */
void hil_port_stack_region(uint8_t **bottom, uint8_t **top);

/* Energy marker pin, high for exactly the timed window; no-op where absent. */
void hil_port_marker(int high);

/* Test builds: make the CPU take fault `kind` (HIL_FAULT_*) now. Returns
 * only if this core cannot take that fault. */
void hil_port_provoke_fault(uint32_t kind);

const char *hil_port_board(void);
const char *hil_port_core(void);

/* Memory regions for the model image and the engine's arena. */
uint8_t *hil_port_model_region(uint32_t *bytes);
uint8_t *hil_port_arena_region(uint32_t *bytes);

#endif
