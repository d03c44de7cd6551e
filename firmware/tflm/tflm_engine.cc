// hil/engine.h implemented on TFLite Micro's MicroInterpreter, so the agent
// drives the interpreter teams ship. The interpreter and the op resolver live
// in static storage constructed with placement new: no heap, no global
// constructors (the ports' start-up code runs none). The resolver is generated
// per image (tflm_resolver.h): every builtin, or only a model's operators.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <new>

#include "tensorflow/lite/micro/memory_helpers.h"
#include "tensorflow/lite/micro/micro_allocator.h"
#include "tensorflow/lite/micro/micro_interpreter.h"
#include "tensorflow/lite/micro/micro_mutable_op_resolver.h"
#include "tensorflow/lite/micro/micro_profiler_interface.h"
#include "tensorflow/lite/micro/micro_resource_variable.h"
#include "tensorflow/lite/schema/schema_generated.h"

extern "C" {
#include "hil/engine.h"
#include "hil/status.h"
}

#include "tflm/tflm_resolver.h"

#ifndef HIL_TFLM_REVISION
#error "HIL_TFLM_REVISION must name the TFLM tree the library was built from"
#endif
#ifndef HIL_TFLM_BUILD
#error "HIL_TFLM_BUILD must name TFLM's build type and optimisation levels"
#endif
#ifndef HIL_TFLM_KERNELS
#error "HIL_TFLM_KERNELS must name the kernel library (reference or cmsis-nn)"
#endif
#ifndef HIL_TFLM_OPS
#error "HIL_TFLM_OPS must say which operators the resolver registers (all or model)"
#endif

namespace {

// TFLM's own reports (MicroPrintf) land here, so a failed load or invoke
// carries TFLM's reason instead of a bare status.
char g_last_log[HIL_MSG_MAX];

// Per-operator ticks for the agent's profile: events at nesting depth 0 are
// the main subgraph's operators in execution order; a subgraph an operator
// calls (IF, WHILE, CALL_ONCE) runs inside its caller's event.
class OpProfiler : public tflite::MicroProfilerInterface {
   public:
    void Configure(hil_clock_fn clock, uint64_t* ticks, uint32_t capacity)
    {
        clock_ = clock;
        ticks_ = ticks;
        capacity_ = capacity;
        next_op_ = 0;
        depth_ = 0;
    }
    uint32_t BeginEvent(const char* tag) override
    {
        (void)tag;
        if (clock_ == nullptr) {
            return 0;
        }
        uint32_t handle = depth_++ == 0 ? 1u : 0u;
        if (handle != 0) {
            started_ = clock_();
        }
        return handle;
    }
    void EndEvent(uint32_t handle) override
    {
        if (clock_ == nullptr) {
            return;
        }
        depth_--;
        if (handle != 0) {
            uint64_t now = clock_();
            if (next_op_ < capacity_) {
                ticks_[next_op_] = now - started_;
            }
            next_op_++;
        }
    }

   private:
    hil_clock_fn clock_ = nullptr;
    uint64_t* ticks_ = nullptr;
    uint32_t capacity_ = 0;
    uint32_t next_op_ = 0;
    uint32_t depth_ = 0;
    uint64_t started_ = 0;
};

// The interpreter, with the context its kernels see: the variable tensors are
// reached through it, since MicroInterpreter::GetTensor answers only when the
// allocator preserves every tensor (and returns nullptr otherwise).
class Interpreter : public tflite::MicroInterpreter {
   public:
    using tflite::MicroInterpreter::MicroInterpreter;

    TfLiteEvalTensor* eval_tensor(int index)
    {
        const TfLiteContext& ctx = context();
        return ctx.GetEvalTensor(&ctx, index);
    }
};

alignas(Interpreter) uint8_t g_interpreter_storage[sizeof(Interpreter)];
alignas(OpProfiler) uint8_t g_profiler_storage[sizeof(OpProfiler)];
const tflite::MicroOpResolver* g_resolver;
OpProfiler* g_profiler;
Interpreter* g_interpreter;
const tflite::Model* g_model;
uint8_t* g_arena;
uint32_t g_arena_bytes;

// The allocator's bookkeeping and the variable table live in the arena, and
// TFLM constructs the table without checking its allocation: a model whose
// handles could not fit is refused before TFLM is asked. A table entry is 20
// bytes on a 32-bit core; 32 leaves room for alignment.
constexpr uint64_t kAllocatorBytes = 1024;
constexpr uint64_t kVariableEntryBytes = 32;

// The builtin code of an operator code (the schema keeps two fields).
tflite::BuiltinOperator builtin_of(const tflite::OperatorCode* code)
{
    int current = static_cast<int>(code->builtin_code());
    int deprecated = static_cast<int>(code->deprecated_builtin_code());
    return static_cast<tflite::BuiltinOperator>(current > deprecated ? current : deprecated);
}

// Calls visit(code) with the operator code of every operator of every
// subgraph (the model verified), stopping at the first status not HIL_OK.
template <typename Visit>
hil_status each_operator_code(const tflite::Model* model, Visit visit)
{
    const auto* codes = model->operator_codes();
    for (const auto* graph : *model->subgraphs()) {
        if (graph->operators() == nullptr || codes == nullptr) {
            continue;
        }
        for (const auto* op : *graph->operators()) {
            if (op->opcode_index() >= codes->size()) {
                continue;  // TFLM itself refuses the model at initialisation
            }
            hil_status st = visit(codes->Get(op->opcode_index()));
            if (st != HIL_OK) {
                return st;
            }
        }
    }
    return HIL_OK;
}

// Refuse a model using an operator the image's resolver lacks (an image built
// with only another model's operators), naming it, before TFLM is asked.
hil_status check_registered(const tflite::Model* model, hil_msg* msg)
{
    return each_operator_code(model, [msg](const tflite::OperatorCode* code) {
        tflite::BuiltinOperator builtin = builtin_of(code);
        if (builtin == tflite::BuiltinOperator_CUSTOM) {
            const char* name = code->custom_code() != nullptr ? code->custom_code()->c_str() : "";
            if (g_resolver->FindOp(name) == nullptr) {
                return hil_fail(msg, HIL_ERR_UNSUPPORTED,
                                "custom operator '%s' is not registered in this image", name);
            }
        } else if (g_resolver->FindOp(builtin) == nullptr) {
            return hil_fail(msg, HIL_ERR_UNSUPPORTED,
                            "operator %s is not registered in this image (built with tflm_ops %s)",
                            tflite::EnumNameBuiltinOperator(builtin), HIL_TFLM_OPS);
        }
        return HIL_OK;
    });
}

// VAR_HANDLE operators in every subgraph: at least as many as the model's
// distinct resource variables (several handles may share one name), so the
// table TFLM is given is never too small. The model is verified before this.
int var_handle_count(const tflite::Model* model)
{
    int count = 0;
    each_operator_code(model, [&count](const tflite::OperatorCode* code) {
        count += builtin_of(code) == tflite::BuiltinOperator_VAR_HANDLE;
        return HIL_OK;
    });
    return count;
}

hil_status fail_with_log(hil_msg* msg, hil_status status, const char* what)
{
    if (g_last_log[0] != '\0') {
        return hil_fail(msg, status, "%s: %s", what, g_last_log);
    }
    return hil_fail(msg, status, "%s", what);
}

// TFLite TensorType code (the wire's dtype) of a TfLiteType.
int wire_dtype(TfLiteType type)
{
    switch (type) {
        case kTfLiteFloat32: return HIL_DT_FLOAT32;
        case kTfLiteFloat16: return HIL_DT_FLOAT16;
        case kTfLiteInt32: return HIL_DT_INT32;
        case kTfLiteUInt8: return HIL_DT_UINT8;
        case kTfLiteInt64: return HIL_DT_INT64;
        case kTfLiteBool: return HIL_DT_BOOL;
        case kTfLiteInt16: return HIL_DT_INT16;
        case kTfLiteInt8: return HIL_DT_INT8;
        default: return -1;
    }
}

const flatbuffers::Vector<flatbuffers::Offset<tflite::Tensor>>* main_tensors()
{
    if (g_model == nullptr || g_model->subgraphs() == nullptr || g_model->subgraphs()->size() == 0) {
        return nullptr;
    }
    return g_model->subgraphs()->Get(0)->tensors();
}

// The index-th variable tensor of the main subgraph, as the interpreter holds it.
TfLiteEvalTensor* variable(uint32_t index)
{
    const auto* tensors = main_tensors();
    if (g_interpreter == nullptr || tensors == nullptr) {
        return nullptr;
    }
    uint32_t seen = 0;
    for (uint32_t i = 0; i < tensors->size(); i++) {
        if (tensors->Get(i)->is_variable() && seen++ == index) {
            return g_interpreter->eval_tensor(static_cast<int>(i));
        }
    }
    return nullptr;
}

}  // namespace

extern "C" {

// TFLM's platform hooks: its log into g_last_log, no wall clock (profiling
// uses the port's counter through OpProfiler).
void DebugLog(const char* format, va_list args)
{
    char line[HIL_MSG_MAX];
    hil_vformat(line, sizeof line, format, args);
    size_t n = strlen(line);
    while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r')) {
        line[--n] = '\0';
    }
    if (n > 0) {
        memcpy(g_last_log, line, n + 1);
    }
}

int DebugVsnprintf(char* buffer, size_t buf_size, const char* format, va_list vlist)
{
    hil_vformat(buffer, buf_size, format, vlist);
    return static_cast<int>(strlen(buffer));
}

const char* hil_engine_name(void)
{
    return "tflm";
}

const char* hil_engine_version(void)
{
    return HIL_TFLM_REVISION " " HIL_TFLM_KERNELS " " HIL_TFLM_BUILD " ops=" HIL_TFLM_OPS;
}

void hil_engine_init(uint8_t* arena, uint32_t arena_bytes)
{
    g_arena = arena;
    g_arena_bytes = arena_bytes;
    g_resolver = &hil_tflm_resolver();
    g_profiler = new (g_profiler_storage) OpProfiler();
}

void hil_engine_unload(void)
{
    if (g_interpreter != nullptr) {
        g_interpreter->~Interpreter();
        g_interpreter = nullptr;
    }
    g_model = nullptr;
}

int hil_engine_loaded(void)
{
    return g_interpreter != nullptr;
}

hil_status hil_engine_load(const uint8_t* model, uint32_t model_bytes, hil_msg* msg)
{
    hil_engine_unload();
    g_last_log[0] = '\0';
    // TFLM trusts the flatbuffer; hil does not: verify every offset and
    // length in it against the uploaded size before the interpreter reads it.
    flatbuffers::Verifier verifier(model, model_bytes);
    if (!tflite::VerifyModelBuffer(verifier)) {
        return hil_fail(msg, HIL_ERR_MODEL_INVALID,
                        "model of %u bytes is not a valid TFLite flatbuffer", model_bytes);
    }
    const tflite::Model* parsed = tflite::GetModel(model);
    if (parsed->version() != TFLITE_SCHEMA_VERSION) {
        return hil_fail(msg, HIL_ERR_MODEL_INVALID, "model schema version %u, TFLM reads %u",
                        static_cast<unsigned>(parsed->version()),
                        static_cast<unsigned>(TFLITE_SCHEMA_VERSION));
    }
    hil_status registered = check_registered(parsed, msg);
    if (registered != HIL_OK) {
        return registered;
    }
    g_profiler->Configure(nullptr, nullptr, 0);
    g_model = parsed;
    int variables = var_handle_count(parsed);
    if (variables == 0) {
        g_interpreter = new (g_interpreter_storage) Interpreter(
            parsed, *g_resolver, g_arena, g_arena_bytes, nullptr, g_profiler);
    } else {
        // Resource variables (VAR_HANDLE, READ_VARIABLE, ASSIGN_VARIABLE) need a
        // table of them in the arena, which only an explicit allocator can give.
        if (kAllocatorBytes + kVariableEntryBytes * static_cast<uint64_t>(variables) >
            g_arena_bytes) {
            g_model = nullptr;
            return hil_fail(msg, HIL_ERR_ARENA_TOO_SMALL,
                            "arena of %u bytes cannot hold TFLM's table of %d resource variables",
                            g_arena_bytes, variables);
        }
        tflite::MicroAllocator* allocator = tflite::MicroAllocator::Create(g_arena, g_arena_bytes);
        tflite::MicroResourceVariables* resources =
            allocator != nullptr ? tflite::MicroResourceVariables::Create(allocator, variables)
                                 : nullptr;
        if (resources == nullptr) {
            g_model = nullptr;
            return fail_with_log(msg, HIL_ERR_ARENA_TOO_SMALL,
                                 "no room in the arena for TFLM's resource variables");
        }
        g_interpreter = new (g_interpreter_storage)
            Interpreter(parsed, *g_resolver, allocator, resources, g_profiler);
    }
    if (g_interpreter->initialization_status() != kTfLiteOk) {
        hil_engine_unload();
        return fail_with_log(msg, HIL_ERR_UNSUPPORTED, "TFLM could not initialise the model");
    }
    if (g_interpreter->AllocateTensors() != kTfLiteOk) {
        hil_engine_unload();
        return fail_with_log(msg, HIL_ERR_ARENA_TOO_SMALL, "TFLM AllocateTensors failed");
    }
    return HIL_OK;
}

uint32_t hil_engine_count(int is_output)
{
    if (g_interpreter == nullptr) {
        return 0;
    }
    return static_cast<uint32_t>(is_output ? g_interpreter->outputs_size()
                                           : g_interpreter->inputs_size());
}

hil_status hil_engine_tensor(int is_output, uint32_t index, hil_tensor_info* info, uint8_t** data,
                             hil_msg* msg)
{
    if (g_interpreter == nullptr) {
        return hil_fail(msg, HIL_ERR_STATE, "no model loaded");
    }
    uint32_t count = hil_engine_count(is_output);
    if (index >= count) {
        return hil_fail(msg, HIL_ERR_BAD_REQUEST, "%s index %u out of range (%u)",
                        is_output ? "output" : "input", index, count);
    }
    TfLiteTensor* t = is_output ? g_interpreter->output(index) : g_interpreter->input(index);
    if (t == nullptr) {
        return fail_with_log(msg, HIL_ERR_INTERNAL, "TFLM has no such tensor");
    }
    if (info != nullptr) {
        int dtype = wire_dtype(t->type);
        int rank = t->dims != nullptr ? t->dims->size : 0;
        if (dtype < 0) {
            return hil_fail(msg, HIL_ERR_UNSUPPORTED, "%s %u has TfLiteType %d, which hil cannot carry",
                            is_output ? "output" : "input", index, static_cast<int>(t->type));
        }
        if (rank < 0 || rank > HIL_MAX_RANK) {
            return hil_fail(msg, HIL_ERR_UNSUPPORTED, "%s %u has rank %d (hil carries up to %d)",
                            is_output ? "output" : "input", index, rank, HIL_MAX_RANK);
        }
        memset(info, 0, sizeof *info);
        info->dtype = static_cast<uint8_t>(dtype);
        info->rank = static_cast<uint8_t>(rank);
        for (int i = 0; i < rank; i++) {
            info->dims[i] = t->dims->data[i];
        }
        info->bytes = static_cast<uint32_t>(t->bytes);
        info->scale = t->quantization.type == kTfLiteAffineQuantization ? t->params.scale : 0.0f;
        info->zero_point = info->scale != 0.0f ? t->params.zero_point : 0;
    }
    if (data != nullptr) {
        *data = static_cast<uint8_t*>(t->data.data);
    }
    return HIL_OK;
}

hil_status hil_engine_invoke(hil_msg* msg)
{
    if (g_interpreter == nullptr) {
        return hil_fail(msg, HIL_ERR_STATE, "no model loaded");
    }
    g_last_log[0] = '\0';
    if (g_interpreter->Invoke() != kTfLiteOk) {
        return fail_with_log(msg, HIL_ERR_INVOKE, "TFLM Invoke failed");
    }
    return HIL_OK;
}

uint32_t hil_engine_arena_used(void)
{
    return g_interpreter != nullptr ? static_cast<uint32_t>(g_interpreter->arena_used_bytes()) : 0;
}

void hil_engine_reset_state(void)
{
    // Variable tensors and resource variables back to their initial values.
    if (g_interpreter != nullptr) {
        g_interpreter->Reset();
    }
}

uint32_t hil_engine_state_count(void)
{
    uint32_t n = 0;
    while (variable(n) != nullptr) {
        n++;
    }
    return n;
}

hil_status hil_engine_state_region(uint32_t index, uint8_t** data, uint32_t* bytes)
{
    TfLiteEvalTensor* t = variable(index);
    size_t n = 0;
    if (t == nullptr || t->data.data == nullptr ||
        tflite::TfLiteEvalTensorByteLength(t, &n) != kTfLiteOk) {
        return HIL_ERR_BAD_REQUEST;
    }
    *data = static_cast<uint8_t*>(t->data.data);
    *bytes = static_cast<uint32_t>(n);
    return HIL_OK;
}

uint32_t hil_engine_op_count(void)
{
    if (g_model == nullptr || g_model->subgraphs() == nullptr || g_model->subgraphs()->size() == 0) {
        return 0;
    }
    const auto* ops = g_model->subgraphs()->Get(0)->operators();
    return ops != nullptr ? ops->size() : 0;
}

void hil_engine_set_profiler(hil_clock_fn clock, uint64_t* ticks, uint32_t capacity)
{
    g_profiler->Configure(clock, ticks, capacity);
}

}  // extern "C"

namespace tflite {
// No wall clock: TFLM's own MicroProfiler is not used (see OpProfiler).
uint32_t ticks_per_second() { return 0; }
uint32_t GetCurrentTimeTicks() { return 0; }
}  // namespace tflite

// Virtual destructors make the compiler emit deleting destructors that name
// operator delete; nothing in the firmware ever allocates, so none is reached.
void operator delete(void*) noexcept { __builtin_trap(); }
void operator delete(void*, std::size_t) noexcept { __builtin_trap(); }
extern "C" void __cxa_pure_virtual() { __builtin_trap(); }

// A failed TF_LITE_ASSERT in a kernel: newlib's version prints through stdio
// and exits, neither of which the firmware has. Trapping is a fault the host
// reports (and recovers from by restarting the target).
extern "C" void __assert_func(const char* file, int line, const char* func, const char* expr)
{
    (void)file;
    (void)line;
    (void)func;
    (void)expr;
    __builtin_trap();
}
