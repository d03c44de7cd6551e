// The application's engine for hil's agent: hil/engine.h on its own
// tflite::MicroInterpreter with its own op resolver (the operators this
// application ships), nothing taken from hil's firmware but the header.
#include <cstdarg>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <new>

#include "tensorflow/lite/micro/micro_interpreter.h"
#include "tensorflow/lite/micro/micro_mutable_op_resolver.h"
#include "tensorflow/lite/schema/schema_generated.h"

extern "C" {
#include "hil/engine.h"
}

namespace {

// The operators of the models this application runs (hello_world, the
// MLPerf Tiny keyword spotter and image classifier).
using AppResolver = tflite::MicroMutableOpResolver<10>;

void register_ops(AppResolver& r)
{
    r.AddAdd();
    r.AddAveragePool2D();
    r.AddConv2D();
    r.AddDepthwiseConv2D();
    r.AddFullyConnected();
    r.AddMaxPool2D();
    r.AddQuantize();
    r.AddDequantize();
    r.AddReshape();
    r.AddSoftmax();
}

struct State {
    uint8_t* arena = nullptr;
    uint32_t arena_bytes = 0;
    AppResolver* resolver = nullptr;
    tflite::MicroInterpreter* interpreter = nullptr;
    char log[HIL_MSG_MAX] = {};
};

// Static storage, constructed in place: the application allocates nothing.
alignas(AppResolver) unsigned char resolver_mem[sizeof(AppResolver)];
alignas(tflite::MicroInterpreter) unsigned char interpreter_mem[sizeof(tflite::MicroInterpreter)];
State app;

hil_status failed(hil_msg* msg, hil_status status, const char* what)
{
    // TFLM's last message (DebugLog below) says why.
    return hil_fail(msg, status, "%s%s%s", what, app.log[0] ? ": " : "", app.log);
}

uint8_t wire_type(TfLiteType type)
{
    switch (type) {
        case kTfLiteInt8: return HIL_DT_INT8;
        case kTfLiteUInt8: return HIL_DT_UINT8;
        case kTfLiteInt16: return HIL_DT_INT16;
        case kTfLiteInt32: return HIL_DT_INT32;
        case kTfLiteInt64: return HIL_DT_INT64;
        case kTfLiteFloat32: return HIL_DT_FLOAT32;
        case kTfLiteFloat16: return HIL_DT_FLOAT16;
        case kTfLiteBool: return HIL_DT_BOOL;
        default: return 0xFF;
    }
}

}  // namespace

extern "C" {

// TFLM's platform hooks, which hil's TFLM library leaves to the application.
// hil_vformat (hil/status.h) rather than libc's printf family, which would
// pull in stdio and malloc.
void DebugLog(const char* format, va_list args)
{
    hil_vformat(app.log, sizeof app.log, format, args);
}

int DebugVsnprintf(char* buffer, size_t buf_size, const char* format, va_list args)
{
    hil_vformat(buffer, buf_size, format, args);
    return static_cast<int>(strlen(buffer));
}

const char* hil_engine_name(void)
{
    return "own-firmware-example";
}

const char* hil_engine_version(void)
{
    return "tflm";
}

void hil_engine_init(uint8_t* arena, uint32_t arena_bytes)
{
    app.arena = arena;
    app.arena_bytes = arena_bytes;
    app.resolver = new (resolver_mem) AppResolver();
    register_ops(*app.resolver);
}

void hil_engine_unload(void)
{
    if (app.interpreter != nullptr) {
        app.interpreter->~MicroInterpreter();
        app.interpreter = nullptr;
    }
}

int hil_engine_loaded(void)
{
    return app.interpreter != nullptr;
}

hil_status hil_engine_load(const uint8_t* model, uint32_t model_bytes, hil_msg* msg)
{
    hil_engine_unload();
    app.log[0] = '\0';
    // The bytes came over the wire: check every offset in them first.
    flatbuffers::Verifier verifier(model, model_bytes);
    if (!tflite::VerifyModelBuffer(verifier)) {
        return hil_fail(msg, HIL_ERR_MODEL_INVALID, "not a TFLite model (%u bytes)", model_bytes);
    }
    const tflite::Model* parsed = tflite::GetModel(model);
    if (parsed->version() != TFLITE_SCHEMA_VERSION) {
        return hil_fail(msg, HIL_ERR_MODEL_INVALID, "schema version %u", parsed->version());
    }
    app.interpreter = new (interpreter_mem)
        tflite::MicroInterpreter(parsed, *app.resolver, app.arena, app.arena_bytes);
    if (app.interpreter->initialization_status() != kTfLiteOk) {
        hil_engine_unload();
        return failed(msg, HIL_ERR_UNSUPPORTED, "model not supported");
    }
    if (app.interpreter->AllocateTensors() != kTfLiteOk) {
        hil_engine_unload();
        return failed(msg, HIL_ERR_ARENA_TOO_SMALL, "AllocateTensors failed");
    }
    return HIL_OK;
}

uint32_t hil_engine_count(int is_output)
{
    if (app.interpreter == nullptr) {
        return 0;
    }
    return static_cast<uint32_t>(is_output ? app.interpreter->outputs_size()
                                           : app.interpreter->inputs_size());
}

hil_status hil_engine_tensor(int is_output, uint32_t index, hil_tensor_info* info, uint8_t** data,
                             hil_msg* msg)
{
    if (index >= hil_engine_count(is_output)) {
        return hil_fail(msg, HIL_ERR_BAD_REQUEST, "no tensor %u", index);
    }
    TfLiteTensor* t = is_output ? app.interpreter->output(index) : app.interpreter->input(index);
    if (t == nullptr || t->dims == nullptr || t->dims->size > HIL_MAX_RANK ||
        wire_type(t->type) == 0xFF) {
        return hil_fail(msg, HIL_ERR_UNSUPPORTED, "tensor %u: type or rank unsupported", index);
    }
    info->dtype = wire_type(t->type);
    info->rank = static_cast<uint8_t>(t->dims->size);
    for (int d = 0; d < HIL_MAX_RANK; d++) {
        info->dims[d] = d < t->dims->size ? t->dims->data[d] : 0;
    }
    info->bytes = static_cast<uint32_t>(t->bytes);
    const bool quantized = t->quantization.type == kTfLiteAffineQuantization;
    info->scale = quantized ? t->params.scale : 0.0f;
    info->zero_point = quantized ? t->params.zero_point : 0;
    *data = t->data.uint8;
    return HIL_OK;
}

hil_status hil_engine_invoke(hil_msg* msg)
{
    if (app.interpreter == nullptr) {
        return hil_fail(msg, HIL_ERR_STATE, "no model");
    }
    app.log[0] = '\0';
    return app.interpreter->Invoke() == kTfLiteOk ? HIL_OK
                                                  : failed(msg, HIL_ERR_INVOKE, "Invoke failed");
}

uint32_t hil_engine_arena_used(void)
{
    return app.interpreter ? static_cast<uint32_t>(app.interpreter->arena_used_bytes()) : 0;
}

// The models this application runs keep no state between invokes.
void hil_engine_reset_state(void)
{
    if (app.interpreter != nullptr) {
        app.interpreter->Reset();
    }
}

uint32_t hil_engine_state_count(void)
{
    return 0;
}

hil_status hil_engine_state_region(uint32_t index, uint8_t** data, uint32_t* bytes)
{
    (void)index;
    (void)data;
    (void)bytes;
    return HIL_ERR_BAD_REQUEST;
}

// No per-operator timing in this application: 0 operators to report.
uint32_t hil_engine_op_count(void)
{
    return 0;
}

void hil_engine_set_profiler(hil_clock_fn clock, uint64_t* ticks, uint32_t capacity)
{
    (void)clock;
    (void)ticks;
    (void)capacity;
}

}  // extern "C"

namespace tflite {
// No wall clock for TFLM's own profiler; hil times inferences itself.
uint32_t ticks_per_second() { return 0; }
uint32_t GetCurrentTimeTicks() { return 0; }
}  // namespace tflite

// Deleting destructors name these; nothing is ever allocated, so none runs.
void operator delete(void*) noexcept { __builtin_trap(); }
void operator delete(void*, std::size_t) noexcept { __builtin_trap(); }
extern "C" void __cxa_pure_virtual() { __builtin_trap(); }
