#include "eembc.h"

#include <string.h>

#include "hil/engine.h"
#include "hil/port.h"
#include "hil/status.h"

#ifndef HIL_BUILD_ID
#define HIL_BUILD_ID "unversioned"
#endif
#ifndef HIL_MODEL_NAME
#define HIL_MODEL_NAME "unnamed"
#endif
#ifndef HIL_EEMBC_MAX_INPUT
#define HIL_EEMBC_MAX_INPUT (32u * 1024u)
#endif

#define CMD_MAX 80u /* the protocol's limit, terminator excluded */

static char cmd[CMD_MAX + 1u];
static uint32_t cmd_len;
static int cmd_overflow;

static uint8_t db[HIL_EEMBC_MAX_INPUT];
static uint32_t db_size;
static uint32_t db_pos;
static int model_ok;
static hil_msg load_error;

static void put(const char *s)
{
    hil_port_write((const uint8_t *)s, (uint32_t)strlen(s));
}

static void put_u64(uint64_t v)
{
    char digits[21];
    int n = 0;
    do {
        digits[n++] = (char)('0' + (int)(v % 10u));
        v /= 10u;
    } while (v != 0u);
    char out[21];
    for (int i = 0; i < n; i++) {
        out[i] = digits[n - 1 - i];
    }
    hil_port_write((const uint8_t *)out, (uint32_t)n);
}

/* A float with six decimals, rounded: enough for the host to recover every
 * quantized level of any output scale above 2e-6. */
static void put_fixed6(float value)
{
    if (value != value) {
        put("nan");
        return;
    }
    if (value < 0.0f) {
        put("-");
        value = -value;
    }
    double scaled = (double)value * 1e6 + 0.5;
    if (scaled >= 1.8e19) {
        put("inf");
        return;
    }
    uint64_t micro = (uint64_t)scaled;
    put_u64(micro / 1000000u);
    char frac[8] = {'.', 0, 0, 0, 0, 0, 0, 0};
    uint32_t f = (uint32_t)(micro % 1000000u);
    for (int i = 6; i >= 1; i--) {
        frac[i] = (char)('0' + (int)(f % 10u));
        f /= 10u;
    }
    hil_port_write((const uint8_t *)frac, 7);
}

static void error(const char *text)
{
    put("e-[");
    put(text);
    put("]\r\n");
}

/* The device's microsecond timer, as the protocol's timestamps want it. */
static void timestamp(void)
{
    uint64_t us = hil_port_counter_read() * 1000000u / hil_port_clock_hz();
    put("m-lap-us-");
    put_u64(us);
    put("\r\n");
}

static int parse_uint(const char *s, uint32_t *out)
{
    uint32_t v = 0;
    if (s == NULL || *s == '\0') {
        return 0;
    }
    for (; *s != '\0'; s++) {
        if (*s < '0' || *s > '9' || v > 429496728u) {
            return 0;
        }
        v = v * 10u + (uint32_t)(*s - '0');
    }
    *out = v;
    return 1;
}

static int hex_value(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

/* Splits `s` at spaces in place: the next word, or NULL. */
static char *next_word(char **s)
{
    while (**s == ' ') {
        (*s)++;
    }
    if (**s == '\0') {
        return NULL;
    }
    char *word = *s;
    while (**s != '\0' && **s != ' ') {
        (*s)++;
    }
    if (**s == ' ') {
        *(*s)++ = '\0';
    }
    return word;
}

static void on_db(char *rest)
{
    char *sub = next_word(&rest);
    if (sub == NULL) {
        error("Command 'db' requires a subcommand");
        return;
    }
    if (strcmp(sub, "load") == 0) {
        uint32_t n;
        if (!parse_uint(next_word(&rest), &n) || n == 0) {
            error("Command 'db load' requires a number of bytes > 0");
        } else if (n > sizeof db) {
            error("db load exceeds the input buffer");
        } else {
            db_size = n;
            db_pos = 0;
            put("m-[Expecting ");
            put_u64(n);
            put(" bytes]\r\n");
        }
        return;
    }
    uint32_t digits = (uint32_t)strlen(sub);
    if ((digits & 1u) != 0) {
        error("Insufficent number of hex digits");
        return;
    }
    for (uint32_t i = 0; i < digits; i += 2) {
        int hi = hex_value(sub[i]);
        int lo = hex_value(sub[i + 1]);
        if (hi < 0 || lo < 0) {
            error("Invalid hex digit");
            return;
        }
        if (db_pos >= db_size) {
            error("More bytes than db load announced");
            return;
        }
        db[db_pos++] = (uint8_t)(hi << 4 | lo);
    }
    if (db_size > 0 && db_pos == db_size) {
        put("m-load-done\r\n");
    }
}

static void print_results(void)
{
    hil_tensor_info info;
    uint8_t *data;
    hil_msg msg;
    if (!model_ok || hil_engine_tensor(1, 0, &info, &data, &msg) != HIL_OK) {
        error("no results: the model did not load");
        return;
    }
    put("m-results-[");
    uint32_t count = info.bytes;
    uint32_t size = 1;
    if (info.dtype == HIL_DT_FLOAT32 || info.dtype == HIL_DT_INT32) {
        size = 4;
    } else if (info.dtype == HIL_DT_INT16) {
        size = 2;
    }
    count /= size;
    for (uint32_t i = 0; i < count; i++) {
        float v;
        if (info.dtype == HIL_DT_FLOAT32) {
            memcpy(&v, data + 4u * i, 4);
        } else {
            int32_t q;
            if (size == 4) {
                memcpy(&q, data + 4u * i, 4);
            } else if (size == 2) {
                int16_t h;
                memcpy(&h, data + 2u * i, 2);
                q = h;
            } else {
                q = info.dtype == HIL_DT_UINT8 ? (int32_t)data[i] : (int32_t)(int8_t)data[i];
            }
            v = info.scale != 0.0f ? (float)(q - info.zero_point) * info.scale : (float)q;
        }
        put_fixed6(v);
        if (i + 1u < count) {
            put(",");
        }
    }
    put("]\r\n");
}

static int load_input(void)
{
    hil_tensor_info info;
    uint8_t *data;
    hil_msg msg;
    if (!model_ok) {
        put("e-[model did not load: ");
        put(load_error.text);
        put("]\r\n");
        return 0;
    }
    if (hil_engine_tensor(0, 0, &info, &data, &msg) != HIL_OK) {
        error("model has no input");
        return 0;
    }
    if (db_pos != info.bytes) {
        put("e-[Input db has ");
        put_u64(db_pos);
        put(" bytes, expected ");
        put_u64(info.bytes);
        put("]\r\n");
        return 0;
    }
    memcpy(data, db, info.bytes);
    return 1;
}

static int infer_once(hil_msg *msg)
{
    /* Activations may overwrite the input: restore it for every run. */
    if (!load_input()) {
        return 0;
    }
    if (hil_engine_invoke(msg) != HIL_OK) {
        put("e-[");
        put(msg->text);
        put("]\r\n");
        return 0;
    }
    return 1;
}

static void on_infer(char *rest)
{
    uint32_t n = 1;
    uint32_t warmup = 10;
    char *word = next_word(&rest);
    if (word != NULL && (!parse_uint(word, &n) || n == 0)) {
        error("Inference iterations must be >0");
        return;
    }
    word = next_word(&rest);
    if (word != NULL && !parse_uint(word, &warmup)) {
        error("Inference warmup must be >=0");
        return;
    }
    if (!load_input()) {
        return;
    }
    hil_msg msg;
    put("m-warmup-start-");
    put_u64(warmup);
    put("\r\n");
    for (uint32_t i = 0; i < warmup; i++) {
        if (!infer_once(&msg)) {
            return;
        }
    }
    put("m-warmup-done\r\nm-infer-start-");
    put_u64(n);
    put("\r\n");
    timestamp();
    hil_port_marker(1);
    for (uint32_t i = 0; i < n; i++) {
        if (!infer_once(&msg)) {
            hil_port_marker(0);
            return;
        }
    }
    hil_port_marker(0);
    timestamp();
    put("m-infer-done\r\n");
    print_results();
}

static void dispatch(char *line)
{
    char *rest = line;
    char *word = next_word(&rest);
    if (word == NULL) {
        error("empty command");
    } else if (strcmp(word, "name") == 0) {
        put("m-name-dut-[hil]\r\n");
    } else if (strcmp(word, "profile") == 0) {
        put("m-profile-[hil-eembc ");
        put(HIL_BUILD_ID);
        put("]\r\nm-model-[");
        put(HIL_MODEL_NAME);
        put("]\r\n");
    } else if (strcmp(word, "timestamp") == 0) {
        timestamp();
    } else if (strcmp(word, "db") == 0) {
        on_db(rest);
    } else if (strcmp(word, "infer") == 0) {
        on_infer(rest);
    } else if (strcmp(word, "results") == 0) {
        print_results();
    } else if (strcmp(word, "help") == 0) {
        put("hil EEMBC mode: name profile timestamp db load N | db HEX infer N W results\r\n");
    } else {
        put("e-[Unknown command: ");
        put(word);
        put("]\r\n");
    }
    put("m-ready\r\n");
}

void hil_eembc_feed(char c)
{
    if (c == '%') {
        cmd[cmd_len] = '\0';
        if (cmd_overflow) {
            error("command longer than 80 characters");
            put("m-ready\r\n");
        } else {
            dispatch(cmd);
        }
        cmd_len = 0;
        cmd_overflow = 0;
    } else if (c == '\r' || c == '\n') {
        /* line ends are not part of the protocol; tolerate them */
    } else if (cmd_len < CMD_MAX) {
        cmd[cmd_len++] = c;
    } else {
        cmd_overflow = 1;
    }
}

void hil_eembc_init(const uint8_t *model, uint32_t model_bytes)
{
    cmd_len = 0;
    cmd_overflow = 0;
    db_size = db_pos = 0;
    model_ok = hil_engine_load(model, model_bytes, &load_error) == HIL_OK;
    hil_port_counter_start(); /* timestamps count from here */
    put("m-timestamp-mode-performance\r\n");
    timestamp();
    if (!model_ok) {
        put("e-[model did not load: ");
        put(load_error.text);
        put("]\r\n");
    }
    put("m-init-done\r\nm-ready\r\n");
}

void hil_eembc_run(const uint8_t *model, uint32_t model_bytes)
{
    hil_eembc_init(model, model_bytes);
    for (;;) {
        hil_eembc_feed((char)hil_port_read_byte());
    }
}
