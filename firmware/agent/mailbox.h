/* The memory transport: an RTT-style control block in RAM that the host reads
 * and writes through a debug port (QEMU's gdbstub, a probe). One up ring
 * (device -> host) and one down ring (host -> device) carry the same framed
 * byte stream as the serial link. */
#ifndef HIL_MAILBOX_H
#define HIL_MAILBOX_H

#include <stdint.h>

/* doorbell_addr/value: a word the host writes after filling the down ring to
 * wake the core from WFI (an NVIC set-pending register); 0 where none. */
void hil_mailbox_init(uint32_t doorbell_addr, uint32_t doorbell_value);

/* The next byte from the host, or -1 when the down ring is empty. Taking a
 * byte makes the mailbox the reply path. */
int hil_mailbox_read_byte(void);
int hil_mailbox_pending(void);

/* Whether replies go to the mailbox (the host last wrote there). */
int hil_mailbox_active(void);

/* A byte came over the serial link: replies go back that way. */
void hil_mailbox_use_serial(void);

/* The agent's write function: the mailbox when the host talks through it,
 * else the port's serial link. */
void hil_link_write(const uint8_t *data, uint32_t len);

#endif
