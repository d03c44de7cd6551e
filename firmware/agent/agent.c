#include "hil/agent.h"

#include <string.h>

#include "cobs.h"
#include "crc32.h"
#include "hil/engine.h"
#include "hil/port.h"
#include "hil/protocol.h"
#include "hil/status.h"

#ifndef HIL_BUILD_ID
#define HIL_BUILD_ID "unversioned"
#endif

const hil_agent_ident_t hil_agent_ident = {
    HIL_AGENT_MAGIC,
    HIL_PROTOCOL_VERSION,
    HIL_BUILD_ID,
};

#define FRAME_MAX (HIL_HEADER_BYTES + HIL_MAX_PAYLOAD + HIL_CRC_BYTES)
/* One code byte per 254 data bytes, plus the first. */
#define ENCODED_MAX (FRAME_MAX + FRAME_MAX / 254u + 2u)
#define MAX_IO_TENSORS 16u
/* A handler's out_len meaning "the response goes out later". */
#define HIL_DEFERRED 0xFFFFFFFFu

typedef struct {
    uint8_t type;
    uint16_t seq;
    const uint8_t *payload;
    uint32_t len;
} request;

static hil_agent_config cfg;
static uint32_t linked_crc; /* of the linked model, computed once at init */

static uint8_t rx[ENCODED_MAX];
static uint32_t rx_len;
static int rx_overflow;

/* The last response stays in `tx` until the next request is handled, so a
 * request the host repeats (its response was lost) is answered from here
 * instead of being executed twice. Unasked frames use their own buffer. */
static uint8_t tx[FRAME_MAX];
static uint8_t evt[HIL_HEADER_BYTES + HIL_MSG_MAX + HIL_CRC_BYTES];
static struct {
    int valid;
    uint8_t type;
    uint16_t seq;
    uint32_t crc;
    uint32_t len; /* encoded frame bytes in tx, header to crc */
} last;

static struct {
    int active;
    uint32_t expected;
    uint32_t crc;
    uint32_t received;
} upload;

static uint32_t input_filled[MAX_IO_TENSORS];

/* The counters response of the last invoke, kept for READ_COUNTERS. */
static uint8_t last_counters[16u + 8u * HIL_MAX_REPEATS];
static uint32_t last_counters_len;

static uint64_t op_ticks[HIL_MAX_PROFILE_OPS];
static uint32_t profiled_ops;

#define STACK_PAINT 0xA5u
#define STACK_MARGIN 256u

#ifdef HIL_DEBUG_COMMANDS
static uint32_t corrupt_output_byte = 0xFFFFFFFFu;
/* SINK: raw bytes still to swallow before the deferred response goes out. */
static uint32_t sink_remaining;
static uint16_t sink_seq;
#endif

static void put_u16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static void put_u32(uint8_t *p, uint32_t v)
{
    put_u16(p, (uint16_t)v);
    put_u16(p + 2, (uint16_t)(v >> 16));
}

static void put_u64(uint8_t *p, uint64_t v)
{
    put_u32(p, (uint32_t)v);
    put_u32(p + 4, (uint32_t)(v >> 32));
}

static uint16_t get_u16(const uint8_t *p)
{
    return (uint16_t)(p[0] | (p[1] << 8));
}

static uint32_t get_u32(const uint8_t *p)
{
    return (uint32_t)get_u16(p) | ((uint32_t)get_u16(p + 2) << 16);
}

static void link_write(const uint8_t *data, uint32_t len)
{
    cfg.write(data, len);
}

static uint8_t *tx_payload(void)
{
    return tx + HIL_HEADER_BYTES;
}

static void transmit(const uint8_t *frame, uint32_t len)
{
    static const uint8_t delimiter = 0;
    /* A leading delimiter flushes any partial frame the host may hold. */
    link_write(&delimiter, 1);
    hil_cobs_encode(frame, len, link_write);
    link_write(&delimiter, 1);
}

/* Fill in header and CRC around a payload already in `buf`; returns the frame length. */
static uint32_t seal(uint8_t *buf, uint8_t type, uint16_t seq, hil_status status,
                     uint32_t payload_len)
{
    buf[0] = HIL_PROTOCOL_VERSION;
    buf[1] = type;
    put_u16(buf + 2, seq);
    buf[4] = (uint8_t)status;
    buf[5] = 0;
    put_u16(buf + 6, (uint16_t)payload_len);
    uint32_t body = HIL_HEADER_BYTES + payload_len;
    put_u32(buf + body, hil_crc32(0, buf, body));
    return body + HIL_CRC_BYTES;
}

static void send_frame(uint8_t type, uint16_t seq, hil_status status, uint32_t payload_len)
{
    last.len = seal(tx, type, seq, status, payload_len);
    transmit(tx, last.len);
}

static void send_event(uint8_t type, hil_status status, const uint8_t *payload, uint32_t len)
{
    if (len > sizeof evt - HIL_HEADER_BYTES - HIL_CRC_BYTES) {
        len = sizeof evt - HIL_HEADER_BYTES - HIL_CRC_BYTES;
    }
    memcpy(evt + HIL_HEADER_BYTES, payload, len);
    transmit(evt, seal(evt, type, 0, status, len));
}

static void send_error(const request *req, hil_status status, const hil_msg *msg)
{
    uint32_t n = (uint32_t)strlen(msg->text);
    memcpy(tx_payload(), msg->text, n);
    send_frame((uint8_t)(req->type | HIL_RESPONSE_BIT), req->seq, status, n);
}

static uint32_t put_string(uint8_t *p, const char *s)
{
    uint32_t n = (uint32_t)strlen(s);
    if (n > 255u) {
        n = 255u;
    }
    p[0] = (uint8_t)n;
    memcpy(p + 1, s, n);
    return n + 1u;
}

/* Each handler fills the tx payload and returns its length via *out_len, or
 * fails with a status and a message. */
typedef hil_status (*handler_fn)(const request *req, uint32_t *out_len, hil_msg *msg);

static hil_status need_len(const request *req, uint32_t at_least, hil_msg *msg)
{
    if (req->len < at_least) {
        return hil_fail(msg, HIL_ERR_BAD_REQUEST, "payload of %u bytes, need at least %u",
                        req->len, at_least);
    }
    return HIL_OK;
}

static hil_status need_model(hil_msg *msg)
{
    if (!hil_engine_loaded()) {
        return hil_fail(msg, HIL_ERR_STATE, "no model loaded");
    }
    return HIL_OK;
}

static hil_status on_hello(const request *req, uint32_t *out_len, hil_msg *msg)
{
    hil_status st = need_len(req, 4, msg);
    if (st != HIL_OK) {
        return st;
    }
    uint8_t *p = tx_payload();
    uint32_t caps = 0;
#ifdef HIL_DEBUG_COMMANDS
    caps |= HIL_CAP_DEBUG_COMMANDS;
#endif
    /* Read through a volatile pointer: the ident must stay in the image for
     * hil's check of prebuilt firmware, whatever the linker collects. */
    const volatile hil_agent_ident_t *ident = &hil_agent_ident;
    char build_id[HIL_AGENT_BUILD_ID_MAX];
    for (uint32_t i = 0; i < HIL_AGENT_BUILD_ID_MAX; i++) {
        build_id[i] = ident->build_id[i];
    }
    build_id[HIL_AGENT_BUILD_ID_MAX - 1u] = '\0';
    memcpy(p, req->payload, 4); /* the host's nonce, echoed */
    p[4] = (uint8_t)ident->protocol_version;
    p[5] = hil_port_counter_kind();
    put_u16(p + 6, HIL_MAX_PAYLOAD);
    put_u32(p + 8, cfg.model_capacity);
    put_u32(p + 12, cfg.arena_bytes);
    put_u32(p + 16, hil_port_clock_hz());
    put_u32(p + 20, caps);
    uint32_t n = 24;
    n += put_string(p + n, build_id);
    n += put_string(p + n, hil_engine_name());
    n += put_string(p + n, hil_engine_version());
    n += put_string(p + n, hil_port_board());
    n += put_string(p + n, hil_port_core());
    put_u32(p + n, cfg.linked_model_bytes);
    put_u32(p + n + 4u, linked_crc);
    n += 8u;
    n += put_string(p + n, cfg.linked_model_sha256 ? cfg.linked_model_sha256 : "");
    *out_len = n;
    return HIL_OK;
}

static hil_status on_model_begin(const request *req, uint32_t *out_len, hil_msg *msg)
{
    hil_status st = need_len(req, 8, msg);
    if (st != HIL_OK) {
        return st;
    }
    uint32_t bytes = get_u32(req->payload);
    hil_engine_unload();
    upload.active = 0;
    last_counters_len = 0;
    profiled_ops = 0;
    if (bytes > cfg.model_capacity) {
        return hil_fail(msg, HIL_ERR_MODEL_TOO_LARGE,
                        "model of %u bytes exceeds the %u bytes this device holds", bytes,
                        cfg.model_capacity);
    }
    upload.active = 1;
    upload.expected = bytes;
    upload.crc = get_u32(req->payload + 4);
    upload.received = 0;
    *out_len = 0;
    return HIL_OK;
}

static hil_status on_model_chunk(const request *req, uint32_t *out_len, hil_msg *msg)
{
    hil_status st = need_len(req, 4, msg);
    if (st != HIL_OK) {
        return st;
    }
    if (!upload.active) {
        return hil_fail(msg, HIL_ERR_STATE, "model chunk without MODEL_BEGIN");
    }
    uint32_t offset = get_u32(req->payload);
    uint32_t n = req->len - 4u;
    if (offset > upload.received) {
        return hil_fail(msg, HIL_ERR_BAD_REQUEST, "model chunk at %u leaves a gap after %u",
                        offset, upload.received);
    }
    if (n > upload.expected - offset) {
        return hil_fail(msg, HIL_ERR_BAD_REQUEST, "model chunk at %u of %u bytes overruns %u",
                        offset, n, upload.expected);
    }
    memcpy(cfg.model_region + offset, req->payload + 4, n);
    if (offset + n > upload.received) {
        upload.received = offset + n;
    }
    put_u32(tx_payload(), upload.received);
    *out_len = 4;
    return HIL_OK;
}

/* Parse, plan and prepare a complete model; the reply is MODEL_COMMIT's. */
static hil_status load_model(const uint8_t *model, uint32_t bytes, uint32_t *out_len,
                             hil_msg *msg)
{
    hil_port_counter_start();
    hil_status st = hil_engine_load(model, bytes, msg);
    uint64_t load_ticks = hil_port_counter_read();
    if (st != HIL_OK) {
        return st;
    }
    uint32_t inputs = hil_engine_count(0);
    uint32_t outputs = hil_engine_count(1);
    if (inputs > MAX_IO_TENSORS || outputs > MAX_IO_TENSORS) {
        hil_engine_unload();
        return hil_fail(msg, HIL_ERR_UNSUPPORTED, "%u inputs and %u outputs; at most %u each",
                        inputs, outputs, MAX_IO_TENSORS);
    }
    memset(input_filled, 0, sizeof input_filled);
    uint8_t *p = tx_payload();
    put_u32(p, hil_engine_arena_used());
    p[4] = (uint8_t)inputs;
    p[5] = (uint8_t)outputs;
    p[6] = hil_port_counter_kind();
    p[7] = 0;
    put_u64(p + 8, load_ticks);
    *out_len = 16;
    return HIL_OK;
}

static hil_status on_model_commit(const request *req, uint32_t *out_len, hil_msg *msg)
{
    (void)req;
    if (!upload.active) {
        return hil_fail(msg, HIL_ERR_STATE, "model commit without MODEL_BEGIN");
    }
    if (upload.received != upload.expected) {
        return hil_fail(msg, HIL_ERR_STATE, "model incomplete: %u of %u bytes", upload.received,
                        upload.expected);
    }
    upload.active = 0;
    uint32_t crc = hil_crc32(0, cfg.model_region, upload.expected);
    if (crc != upload.crc) {
        return hil_fail(msg, HIL_ERR_CHECKSUM, "model crc32 %x, expected %x", crc, upload.crc);
    }
    return load_model(cfg.model_region, upload.expected, out_len, msg);
}

/* The model linked into the image: loaded in place, nothing uploaded. */
static hil_status on_model_linked(const request *req, uint32_t *out_len, hil_msg *msg)
{
    (void)req;
    hil_engine_unload();
    upload.active = 0;
    upload.expected = 0; /* the whole model region is free for the stash */
    last_counters_len = 0;
    profiled_ops = 0;
    if (cfg.linked_model == 0) {
        return hil_fail(msg, HIL_ERR_STATE, "no model is linked into this image");
    }
    return load_model(cfg.linked_model, cfg.linked_model_bytes, out_len, msg);
}

static hil_status on_tensor_info(const request *req, uint32_t *out_len, hil_msg *msg)
{
    hil_status st = need_len(req, 2, msg);
    if (st == HIL_OK) {
        st = need_model(msg);
    }
    if (st != HIL_OK) {
        return st;
    }
    hil_tensor_info info;
    uint8_t *data;
    st = hil_engine_tensor(req->payload[0] != 0, req->payload[1], &info, &data, msg);
    if (st != HIL_OK) {
        return st;
    }
    uint8_t *p = tx_payload();
    p[0] = info.dtype;
    p[1] = info.rank;
    put_u16(p + 2, 0);
    uint32_t n = 4;
    for (uint32_t i = 0; i < info.rank && i < HIL_MAX_RANK; i++) {
        put_u32(p + n, (uint32_t)info.dims[i]);
        n += 4;
    }
    uint32_t scale_bits;
    memcpy(&scale_bits, &info.scale, 4);
    put_u32(p + n, info.bytes);
    put_u32(p + n + 4, scale_bits);
    put_u32(p + n + 8, (uint32_t)info.zero_point);
    *out_len = n + 12;
    return HIL_OK;
}

/* Looks up an I/O tensor for a data transfer and checks the byte window. */
static hil_status io_window(int is_output, uint32_t index, uint32_t offset, uint32_t len,
                            uint8_t **data, uint32_t *bytes, hil_msg *msg)
{
    hil_status st = need_model(msg);
    if (st != HIL_OK) {
        return st;
    }
    hil_tensor_info info;
    st = hil_engine_tensor(is_output, index, &info, data, msg);
    if (st != HIL_OK) {
        return st;
    }
    *bytes = info.bytes;
    if (offset > info.bytes || len > info.bytes - offset) {
        return hil_fail(msg, HIL_ERR_BAD_REQUEST, "bytes %u..%u outside %s %u of %u bytes",
                        offset, offset + len, is_output ? "output" : "input", index, info.bytes);
    }
    return HIL_OK;
}

static hil_status on_set_input(const request *req, uint32_t *out_len, hil_msg *msg)
{
    hil_status st = need_len(req, 8, msg);
    if (st != HIL_OK) {
        return st;
    }
    uint32_t index = req->payload[0];
    uint32_t offset = get_u32(req->payload + 4);
    uint32_t n = req->len - 8u;
    uint8_t *data;
    uint32_t bytes;
    st = io_window(0, index, offset, n, &data, &bytes, msg);
    if (st != HIL_OK) {
        return st;
    }
    if (offset > input_filled[index]) {
        return hil_fail(msg, HIL_ERR_BAD_REQUEST, "input %u chunk at %u leaves a gap after %u",
                        index, offset, input_filled[index]);
    }
    memcpy(data + offset, req->payload + 8, n);
    if (offset + n > input_filled[index]) {
        input_filled[index] = offset + n;
    }
    put_u32(tx_payload(), input_filled[index]);
    *out_len = 4;
    return HIL_OK;
}

/* Stack high-water mark: paint the unused stack below us, look after. */
static void paint_stack(void)
{
    uint8_t *bottom;
    uint8_t *top;
    hil_port_stack_region(&bottom, &top);
    uintptr_t sp = (uintptr_t)__builtin_frame_address(0);
    uintptr_t low = (uintptr_t)bottom;
    if (bottom == NULL || sp < low + STACK_MARGIN || sp > (uintptr_t)top) {
        return;
    }
    memset(bottom, STACK_PAINT, (size_t)(sp - STACK_MARGIN - low));
}

static uint32_t stack_used(void)
{
    uint8_t *bottom;
    uint8_t *top;
    hil_port_stack_region(&bottom, &top);
    if (bottom == NULL) {
        return 0;
    }
    uint8_t *p = bottom;
    while (p < top && *p == STACK_PAINT) {
        p++;
    }
    return (uint32_t)(top - p);
}

/* Copies one region to (or back from) the stash at *offset. */
static hil_status stash_region(uint8_t *data, uint32_t bytes, int restore, uint32_t *offset,
                               hil_msg *msg)
{
    if (*offset > cfg.model_capacity || bytes > cfg.model_capacity - *offset) {
        return hil_fail(msg, HIL_ERR_MODEL_TOO_LARGE,
                        "repeats need %u more bytes for copies after the model; %u free", bytes,
                        cfg.model_capacity - upload.expected);
    }
    if (restore) {
        memcpy(data, cfg.model_region + *offset, bytes);
    } else {
        memcpy(cfg.model_region + *offset, data, bytes);
    }
    *offset += bytes;
    return HIL_OK;
}

/* What one invoke starts from, copied aside so that warm-up, repeats and the
 * profiled run each start from it: the inputs (activations may overwrite
 * them) and the model's persistent state (so a recurrent model ends one step
 * on, however many runs measured it). It goes in the model region's free
 * space after the model, so it costs no arena. */
static hil_status stash_inputs(int restore, hil_msg *msg)
{
    uint32_t offset = (upload.expected + 15u) & ~15u;
    hil_status st = HIL_OK;
    uint32_t inputs = hil_engine_count(0);
    for (uint32_t i = 0; st == HIL_OK && i < inputs; i++) {
        hil_tensor_info info;
        uint8_t *data;
        st = hil_engine_tensor(0, i, &info, &data, msg);
        if (st == HIL_OK) {
            st = stash_region(data, info.bytes, restore, &offset, msg);
        }
    }
    uint32_t states = hil_engine_state_count();
    for (uint32_t i = 0; st == HIL_OK && i < states; i++) {
        uint8_t *data;
        uint32_t bytes;
        if (hil_engine_state_region(i, &data, &bytes) == HIL_OK) {
            st = stash_region(data, bytes, restore, &offset, msg);
        }
    }
    return st;
}

static hil_status check_inputs_complete(hil_msg *msg)
{
    uint32_t inputs = hil_engine_count(0);
    for (uint32_t i = 0; i < inputs; i++) {
        hil_tensor_info info;
        uint8_t *data;
        hil_status st = hil_engine_tensor(0, i, &info, &data, msg);
        if (st != HIL_OK) {
            return st;
        }
        if (input_filled[i] != info.bytes) {
            return hil_fail(msg, HIL_ERR_STATE, "input %u incomplete: %u of %u bytes", i,
                            input_filled[i], info.bytes);
        }
    }
    return HIL_OK;
}

/* One inference inside the marker window; returns its ticks. */
static hil_status timed_invoke(uint64_t *ticks, hil_msg *msg)
{
    hil_port_marker(1);
    hil_port_counter_start();
    hil_status st = hil_engine_invoke(msg);
    *ticks = hil_port_counter_read();
    hil_port_marker(0);
    return st;
}

static hil_status run_invokes(uint32_t warmup, uint32_t repeats, int profile, uint8_t *out,
                              hil_msg *msg)
{
    int stash = warmup + repeats + (profile ? 1u : 0u) > 1u;
    hil_status st = stash ? stash_inputs(0, msg) : HIL_OK;
    uint64_t ticks = 0;
    for (uint32_t i = 0; st == HIL_OK && i < warmup; i++) {
        st = i > 0 ? stash_inputs(1, msg) : HIL_OK;
        st = st == HIL_OK ? hil_engine_invoke(msg) : st;
    }
    uint32_t stack = 0;
    for (uint32_t r = 0; st == HIL_OK && r < repeats; r++) {
        if (warmup > 0 || r > 0) {
            st = stash_inputs(1, msg);
        }
        if (st == HIL_OK) {
            paint_stack();
            st = timed_invoke(&ticks, msg);
            uint32_t used = stack_used();
            stack = used > stack ? used : stack;
            put_u64(out + 16u + 8u * r, ticks);
        }
    }
    uint64_t profile_total = 0;
    profiled_ops = 0;
    if (st == HIL_OK && profile) {
        st = stash_inputs(1, msg);
        if (st == HIL_OK) {
            hil_engine_set_profiler(hil_port_counter_read, op_ticks, HIL_MAX_PROFILE_OPS);
            st = timed_invoke(&profile_total, msg);
            hil_engine_set_profiler(0, 0, 0);
            uint32_t ops = hil_engine_op_count();
            profiled_ops = ops < HIL_MAX_PROFILE_OPS ? ops : HIL_MAX_PROFILE_OPS;
        }
    }
    out[0] = hil_port_counter_kind();
    out[1] = profile ? (uint8_t)HIL_INVOKE_PROFILE : 0u;
    put_u16(out + 2, (uint16_t)repeats);
    put_u32(out + 4, stack);
    put_u64(out + 8, profile_total);
    return st;
}

static hil_status on_invoke(const request *req, uint32_t *out_len, hil_msg *msg)
{
    hil_status st = need_model(msg);
    if (st != HIL_OK) {
        return st;
    }
    uint32_t warmup = 0;
    uint32_t repeats = 1;
    int profile = 0;
    if (req->len >= 5) {
        warmup = get_u16(req->payload);
        repeats = get_u16(req->payload + 2);
        profile = (req->payload[4] & HIL_INVOKE_PROFILE) != 0;
    }
    if (repeats < 1 || repeats > HIL_MAX_REPEATS) {
        return hil_fail(msg, HIL_ERR_BAD_REQUEST, "repeats must be 1..%u, got %u",
                        HIL_MAX_REPEATS, repeats);
    }
    st = check_inputs_complete(msg);
    if (st != HIL_OK) {
        return st;
    }
    last_counters_len = 0;
    st = run_invokes(warmup, repeats, profile, last_counters, msg);
    /* Activations may reuse the inputs' memory: they must be sent again. */
    memset(input_filled, 0, sizeof input_filled);
    if (st != HIL_OK) {
        return st;
    }
    last_counters_len = 16u + 8u * repeats;
#ifdef HIL_DEBUG_COMMANDS
    if (corrupt_output_byte != 0xFFFFFFFFu && hil_engine_count(1) > 0) {
        hil_tensor_info info;
        uint8_t *data;
        if (hil_engine_tensor(1, 0, &info, &data, msg) == HIL_OK &&
            corrupt_output_byte < info.bytes) {
            data[corrupt_output_byte] ^= 0x01u;
        }
    }
#endif
    memcpy(tx_payload(), last_counters, last_counters_len);
    *out_len = last_counters_len;
    return HIL_OK;
}

static hil_status on_get_output(const request *req, uint32_t *out_len, hil_msg *msg)
{
    hil_status st = need_len(req, 8, msg);
    if (st != HIL_OK) {
        return st;
    }
    uint32_t index = req->payload[0];
    uint32_t max = get_u16(req->payload + 2);
    uint32_t offset = get_u32(req->payload + 4);
    uint8_t *data;
    uint32_t bytes;
    st = io_window(1, index, offset, 0, &data, &bytes, msg);
    if (st != HIL_OK) {
        return st;
    }
    uint32_t n = bytes - offset;
    if (n > max) {
        n = max;
    }
    if (n > HIL_MAX_PAYLOAD) {
        n = HIL_MAX_PAYLOAD;
    }
    memcpy(tx_payload(), data + offset, n);
    *out_len = n;
    return HIL_OK;
}

static hil_status on_read_counters(const request *req, uint32_t *out_len, hil_msg *msg)
{
    (void)req;
    if (last_counters_len == 0) {
        return hil_fail(msg, HIL_ERR_STATE, "no invoke has completed yet");
    }
    memcpy(tx_payload(), last_counters, last_counters_len);
    *out_len = last_counters_len;
    return HIL_OK;
}

static hil_status on_read_profile(const request *req, uint32_t *out_len, hil_msg *msg)
{
    hil_status st = need_len(req, 2, msg);
    if (st != HIL_OK) {
        return st;
    }
    uint32_t first = get_u16(req->payload);
    if (first > profiled_ops) {
        return hil_fail(msg, HIL_ERR_BAD_REQUEST, "profile has %u operators, asked from %u",
                        profiled_ops, first);
    }
    uint32_t n = profiled_ops - first;
    uint32_t room = (HIL_MAX_PAYLOAD - 4u) / 8u;
    if (n > room) {
        n = room;
    }
    uint8_t *p = tx_payload();
    put_u16(p, (uint16_t)profiled_ops);
    put_u16(p + 2, (uint16_t)n);
    for (uint32_t i = 0; i < n; i++) {
        put_u64(p + 4u + 8u * i, op_ticks[first + i]);
    }
    *out_len = 4u + 8u * n;
    return HIL_OK;
}

static hil_status on_reset(const request *req, uint32_t *out_len, hil_msg *msg)
{
    (void)req;
    hil_status st = need_model(msg);
    if (st != HIL_OK) {
        return st;
    }
    hil_engine_reset_state();
    uint32_t bytes = 0;
    uint32_t states = hil_engine_state_count();
    for (uint32_t i = 0; i < states; i++) {
        uint8_t *data;
        uint32_t n = 0;
        if (hil_engine_state_region(i, &data, &n) == HIL_OK) {
            bytes += n;
        }
    }
    put_u32(tx_payload(), bytes);
    *out_len = 4;
    return HIL_OK;
}

static hil_status on_calibrate(const request *req, uint32_t *out_len, hil_msg *msg)
{
    hil_status st = need_len(req, 4, msg);
    if (st != HIL_OK) {
        return st;
    }
    uint64_t ticks = hil_port_calibrate(get_u32(req->payload));
    uint8_t *p = tx_payload();
    p[0] = hil_port_counter_kind();
    p[1] = p[2] = p[3] = 0;
    put_u64(p + 4, ticks);
    *out_len = 12;
    return HIL_OK;
}

#ifdef HIL_DEBUG_COMMANDS
static hil_status on_debug(const request *req, uint32_t *out_len, hil_msg *msg)
{
    hil_status st = need_len(req, 8, msg);
    if (st != HIL_OK) {
        return st;
    }
    uint32_t arg = get_u32(req->payload + 4);
    switch (req->payload[0]) {
    case HIL_DEBUG_CORRUPT_OUTPUT:
        corrupt_output_byte = arg;
        break;
    case HIL_DEBUG_FAULT:
        hil_port_provoke_fault(arg); /* returns only if the core lacks that fault */
        return hil_fail(msg, HIL_ERR_UNSUPPORTED, "fault kind %u cannot be provoked here", arg);
    case HIL_DEBUG_HANG:
        for (;;) {
            __asm__ volatile("" ::: "memory");
        }
    case HIL_DEBUG_SINK:
        if (arg == 0) {
            return hil_fail(msg, HIL_ERR_BAD_REQUEST, "sink needs at least one byte");
        }
        sink_remaining = arg;
        sink_seq = req->seq;
        *out_len = HIL_DEFERRED;
        return HIL_OK;
    default:
        return hil_fail(msg, HIL_ERR_BAD_REQUEST, "unknown debug op %u", req->payload[0]);
    }
    *out_len = 0;
    return HIL_OK;
}
#endif

static handler_fn handler_for(uint8_t type)
{
    switch (type) {
    case HIL_CMD_HELLO:
        return on_hello;
    case HIL_CMD_MODEL_BEGIN:
        return on_model_begin;
    case HIL_CMD_MODEL_CHUNK:
        return on_model_chunk;
    case HIL_CMD_MODEL_COMMIT:
        return on_model_commit;
    case HIL_CMD_MODEL_LINKED:
        return on_model_linked;
    case HIL_CMD_TENSOR_INFO:
        return on_tensor_info;
    case HIL_CMD_SET_INPUT:
        return on_set_input;
    case HIL_CMD_INVOKE:
        return on_invoke;
    case HIL_CMD_GET_OUTPUT:
        return on_get_output;
    case HIL_CMD_READ_COUNTERS:
        return on_read_counters;
    case HIL_CMD_READ_PROFILE:
        return on_read_profile;
    case HIL_CMD_CALIBRATE:
        return on_calibrate;
    case HIL_CMD_RESET:
        return on_reset;
#ifdef HIL_DEBUG_COMMANDS
    case HIL_CMD_DEBUG:
        return on_debug;
#endif
    default:
        return 0;
    }
}

/* A frame we cannot trust gets a NAK so the host resends without waiting. */
static void send_nak(const char *why)
{
    send_event(HIL_EVT_NAK, HIL_ERR_BAD_FRAME, (const uint8_t *)why, (uint32_t)strlen(why));
}

static void handle_frame(uint8_t *frame, uint32_t encoded_len)
{
    int32_t len = hil_cobs_decode(frame, encoded_len);
    if (len < 0) {
        send_nak("bad COBS");
        return;
    }
    if ((uint32_t)len < HIL_HEADER_BYTES + HIL_CRC_BYTES) {
        send_nak("short frame");
        return;
    }
    uint32_t body = (uint32_t)len - HIL_CRC_BYTES;
    uint32_t crc = get_u32(frame + body);
    if (hil_crc32(0, frame, body) != crc) {
        send_nak("bad crc");
        return;
    }
    uint16_t seq = get_u16(frame + 2);
    if (last.valid && last.seq == seq && last.type == frame[1] && last.crc == crc) {
        transmit(tx, last.len); /* a repeat: its response was lost on the way */
        return;
    }
    request req = {
        .type = frame[1],
        .seq = get_u16(frame + 2),
        .payload = frame + HIL_HEADER_BYTES,
        .len = get_u16(frame + 6),
    };
    if (req.len != body - HIL_HEADER_BYTES) {
        send_nak("length mismatch");
        return;
    }
    hil_msg msg = {{0}};
    last.valid = 1;
    last.seq = req.seq;
    last.type = req.type;
    last.crc = crc;
    if (frame[0] != HIL_PROTOCOL_VERSION) {
        hil_fail(&msg, HIL_ERR_BAD_FRAME, "protocol version %u not spoken (device speaks %u)",
                 frame[0], HIL_PROTOCOL_VERSION);
        send_error(&req, HIL_ERR_BAD_FRAME, &msg);
        return;
    }
    handler_fn handler = handler_for(req.type);
    if (handler == 0) {
        hil_fail(&msg, HIL_ERR_UNKNOWN_COMMAND, "unknown command 0x%x", req.type);
        send_error(&req, HIL_ERR_UNKNOWN_COMMAND, &msg);
        return;
    }
    uint32_t out_len = 0;
    hil_status st = handler(&req, &out_len, &msg);
    if (st != HIL_OK) {
        send_error(&req, st, &msg);
        return;
    }
    if (out_len == HIL_DEFERRED) {
        return;
    }
    send_frame((uint8_t)(req.type | HIL_RESPONSE_BIT), req.seq, HIL_OK, out_len);
}

void hil_agent_init(const hil_agent_config *config)
{
    cfg = *config;
    if (cfg.linked_model == 0) {
        cfg.linked_model_bytes = 0;
    }
    linked_crc = cfg.linked_model_bytes ? hil_crc32(0, cfg.linked_model, cfg.linked_model_bytes) : 0;
    rx_len = 0;
    rx_overflow = 0;
    last.valid = 0;
    upload.active = 0;
    memset(input_filled, 0, sizeof input_filled);
    last_counters_len = 0;
    profiled_ops = 0;
}

void hil_agent_announce_boot(void)
{
    send_event(HIL_EVT_BOOT, HIL_OK, 0, 0);
}

void hil_agent_report_fault(uint32_t kind, const uint32_t regs[HIL_FAULT_REGS])
{
    uint8_t payload[4 * (1 + HIL_FAULT_REGS)];
    put_u32(payload, kind);
    for (uint32_t i = 0; i < HIL_FAULT_REGS; i++) {
        put_u32(payload + 4 * (i + 1), regs[i]);
    }
    send_event(HIL_EVT_FAULT, HIL_ERR_INTERNAL, payload, sizeof payload);
}

void hil_agent_feed(uint8_t byte)
{
#ifdef HIL_DEBUG_COMMANDS
    if (sink_remaining > 0) {
        if (--sink_remaining == 0) {
            send_frame((uint8_t)(HIL_CMD_DEBUG | HIL_RESPONSE_BIT), sink_seq, HIL_OK, 0);
        }
        return;
    }
#endif
    if (byte != 0) {
        if (rx_len < sizeof rx) {
            rx[rx_len++] = byte;
        } else {
            rx_overflow = 1;
        }
        return;
    }
    if (rx_overflow) {
        send_nak("frame too long");
    } else if (rx_len > 0) {
        handle_frame(rx, rx_len);
    }
    rx_len = 0;
    rx_overflow = 0;
}
