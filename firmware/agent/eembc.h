/* hil's firmware speaking the EEMBC / MLCommons MLPerf Tiny serial protocol,
 * so the official runners (and hil's EembcSession) can drive it. The model is
 * linked into the image: that protocol has no way to send one. */
#ifndef HIL_EEMBC_H
#define HIL_EEMBC_H

#include <stdint.h>

/* Load `model` and serve EEMBC commands on the port's link; never returns. */
void hil_eembc_run(const uint8_t *model, uint32_t model_bytes);

/* One received character; answers when a '%' completes a command. Split out
 * so the host build can drive it. */
void hil_eembc_feed(char c);
void hil_eembc_init(const uint8_t *model, uint32_t model_bytes);

#endif
