/* Cycle counter from the DWT (ARMv7-M and ARMv8-M Mainline with a DWT). */
#ifndef HIL_DWT_COUNTER_H
#define HIL_DWT_COUNTER_H

/* Enables trace (DEMCR.TRCENA), unlocks the DWT where a lock is implemented,
 * starts CYCCNT, and starts SysTick as the watch that extends it to 64 bits.
 * Returns 0 if this core has no cycle counter. */
int hil_dwt_init(void);

#endif
