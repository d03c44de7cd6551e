/* hil device protocol, version 1 (docs/protocol.md is the full description).
 *
 * On the wire a frame is COBS(header | payload | crc32) followed by 0x00.
 * header: u8 version, u8 type, u16 seq, u8 status, u8 flags, u16 payload_len
 * crc32:  IEEE 802.3 (zlib) over header and payload, little-endian.
 * A response has type = request type | 0x80 and the request's seq.
 * Every multi-byte field is little-endian. hil/link/protocol.py mirrors this. */
#ifndef HIL_PROTOCOL_H
#define HIL_PROTOCOL_H

/* Overridable only so hil's tests can build an image speaking another version. */
#ifndef HIL_PROTOCOL_VERSION
#define HIL_PROTOCOL_VERSION 1u
#endif
#define HIL_HEADER_BYTES 8u
#define HIL_CRC_BYTES 4u
#define HIL_MAX_PAYLOAD 2048u

#define HIL_RESPONSE_BIT 0x80u

/* Requests (host -> device). */
#define HIL_CMD_HELLO 0x01u        /* u32 nonce -> hello response */
#define HIL_CMD_MODEL_BEGIN 0x02u  /* u32 bytes, u32 crc32 of the whole model -> (empty) */
#define HIL_CMD_MODEL_CHUNK 0x03u  /* u32 offset, data -> u32 bytes received so far */
#define HIL_CMD_MODEL_COMMIT 0x04u /* -> u32 arena_used, u8 inputs, u8 outputs, u8 counter kind,
                                      u8 0, u64 ticks to parse, plan and prepare */
#define HIL_CMD_TENSOR_INFO 0x05u  /* u8 is_output, u8 index -> tensor info */
#define HIL_CMD_SET_INPUT 0x06u    /* u8 index, u8 0, u16 0, u32 offset, data -> u32 bytes filled */
#define HIL_CMD_INVOKE 0x07u       /* [u16 warmup, u16 repeats, u8 flags] -> counters */
#define HIL_CMD_GET_OUTPUT 0x08u   /* u8 index, u8 0, u16 max, u32 offset -> data */
#define HIL_CMD_READ_COUNTERS 0x09u /* -> counters of the last invoke */
#define HIL_CMD_READ_PROFILE 0x0Au /* u16 first op -> u16 ops, u16 n, u64 ticks[n] */
#define HIL_CMD_CALIBRATE 0x0Bu    /* u32 iterations -> u8 kind, 3 x u8 0, u64 ticks */
#define HIL_CMD_RESET 0x0Cu        /* restore the model's variable tensors -> u32 their bytes */
#define HIL_CMD_MODEL_LINKED 0x0Du /* load the model linked into the image -> as MODEL_COMMIT */
#define HIL_CMD_DEBUG 0x70u        /* test builds only: u8 op, u8 0, u16 0, u32 arg */

/* Frames the device sends unasked. */
#define HIL_EVT_NAK 0x7Du          /* a damaged frame was dropped: resend */
#define HIL_EVT_BOOT 0x7Eu         /* the device (re)started: any loaded model is gone */
#define HIL_EVT_FAULT 0x7Fu        /* a CPU fault; payload describes it */

/* Counter kinds (HELLO and counters responses). */
#define HIL_COUNTER_NONE 0u
#define HIL_COUNTER_CYCLES 1u      /* DWT CYCCNT: core clock cycles */
#define HIL_COUNTER_SYSTICK 2u     /* SysTick ticks at the core clock; instructions under QEMU -icount */

/* INVOKE flags, and the counters response:
 *   u8 kind, u8 flags, u16 n, u32 stack bytes used, u64 profile total, u64 ticks[n]
 * one tick count per timed repeat; the profiled run (flag set) is an extra,
 * untimed-for-stats run whose total is `profile total`. */
#define HIL_INVOKE_PROFILE 0x1u
#define HIL_MAX_REPEATS 254u
#define HIL_MAX_PROFILE_OPS 512u

/* Capability flags (HELLO). */
#define HIL_CAP_DEBUG_COMMANDS 0x1u

/* DEBUG ops. */
#define HIL_DEBUG_CORRUPT_OUTPUT 1u /* arg: byte of output 0 to flip after every invoke; 0xFFFFFFFF clears */
#define HIL_DEBUG_FAULT 2u          /* arg: HIL_FAULT_* kind to provoke now */
#define HIL_DEBUG_HANG 3u           /* spin forever, as a wedged kernel would */
#define HIL_DEBUG_SINK 4u           /* swallow the next `arg` raw bytes, then answer: link speed */

/* FAULT event payload: u32 kind, then u32 pc, lr, xpsr, cfsr, hfsr, mmfar, bfar. */
#define HIL_FAULT_HARD 1u
#define HIL_FAULT_MEMMANAGE 2u
#define HIL_FAULT_BUS 3u
#define HIL_FAULT_USAGE 4u
#define HIL_FAULT_SECURE 5u

#endif
