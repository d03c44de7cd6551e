/* UNIDIRECTIONAL_SEQUENCE_LSTM, bit-exact with TFLM's reference kernel.
 *
 * TFLM (since its 2023 LSTM rewrite) runs only the standard LSTM of the
 * Keras layer: all four gates with their input and recurrent weights and
 * biases, no peephole, no projection, no layer normalisation, and no CIFG
 * (the input gate weights are required). The cell gate activation comes from
 * the options and must be TANH. Supported type sets:
 *   int8 activations and hidden state, int8 weights, int32 biases, int16
 *     cell state (per-tensor weight scales);
 *   float32 throughout.
 * int16 activations (TFLM's 16x8 variant) are refused.
 *
 * Inputs (24): 0 x, 1-4 input weights (input, forget, cell, output gate),
 * 5-8 recurrent weights, 9-11 peephole, 12-15 gate biases, 16-17 projection,
 * 18 hidden (output) state, 19 cell state, 20-23 layer norm coefficients.
 * x is [batches, steps, in] or, time major, [steps, batches, in]; the output
 * has the same leading dimensions and the state size last. Both states are
 * variable tensors that persist across invokes.
 *
 * One step, per batch row, as TFLM computes it:
 *   gate   = act(FC(x, W_g, b_g) + FC(h, R_g))   sigmoid, or tanh for g = cell
 *   c      = forget * c + input * cell_gate       (then clipped)
 *   h      = tanh(c) * output
 * and h is copied to the output at that step. Integer facts reproduced:
 *   - each FC is an int8 x int8 -> int16 fully connected op whose output
 *     scale is fixed at 2^-12 (Q3.12): multiplier in_s * w_s / 2^-12, zero
 *     point 0, clamped to int16; intermediate tensors are not consulted;
 *   - the two FC results add with int16 saturation;
 *   - gates are TFLM's int16 LOGISTIC / TANH: a 256-entry sigmoid table
 *     interpolated, input pre-scaled by 3 (Q3.12 in, Q0.15 out);
 *   - c's scale is read as 2^p with p = round(log2(scale)) (not checked to be
 *     exact); tanh(c) pre-scales c by 3 * 2^(p + 12) (a rounding right shift
 *     when p + 12 < 0);
 *   - products are int16 x int16 -> MultiplyByQuantizedMultiplier with the
 *     real factors 2^-15 (forget x c -> c), 2^-30 / c_s (input x cell gate
 *     -> c) and 2^-30 / h_s (+ h zero point, clamped to int8 -> h);
 *   - c's sum saturates to int16; the clip is (int16)(clip / c_s) formed in
 *     double, applied only when the float clip is > 0 (a negative clip is
 *     accepted and means none, as in TFLM).
 * The new hidden row is written straight into the output (which never
 * aliases an input), then copied into the hidden state: no scratch memory.
 * Float follows TFLM's operation order; every FC and product is clamped to
 * +-FLT_MAX as TFLM's activation range for "none" does. */
#include <float.h>
#include <math.h>
#include <stddef.h>
#include <string.h>

#include "engine/interp.h"
#include "kernels/kernel_util.h"
#include "kernels/fixedpoint.h"
#include "kernels/quant.h"
#include "engine/kernel.h"

#define LSTM_OPTIONS_TYPE 71u /* BuiltinOptions.UnidirectionalSequenceLSTMOptions */
#define LSTM_INPUTS 24u
enum { OPT_ACTIVATION = 0, OPT_CELL_CLIP = 1, OPT_TIME_MAJOR = 3 };
enum {
    IN_X = 0,
    IN_W = 1,       /* + gate */
    IN_R = 5,       /* + gate */
    IN_PEEPHOLE = 9,
    IN_BIAS = 12,   /* + gate */
    IN_PROJ_W = 16,
    IN_PROJ_B = 17,
    IN_HIDDEN = 18,
    IN_CELL = 19,
    IN_NORM = 20
};
enum { GATE_INPUT = 0, GATE_FORGET = 1, GATE_CELL = 2, GATE_OUTPUT = 3, GATES = 4 };
enum { ACT_TANH = 4 };
enum { KIND_FLOAT = 0, KIND_INT8 = 1 };

typedef struct {
    uint32_t batches;
    uint32_t steps;
    uint32_t input_size;
    uint32_t state_size;
    uint8_t kind;
    uint8_t time_major;
    uint8_t clip_on;
    uint8_t pad_;
    float clip;      /* float32 */
    int16_t qclip;   /* int8: quantized cell clip */
    int16_t pad16_;
    int32_t x_offset; /* -x zero point */
    int32_t h_offset; /* -h zero point */
    int32_t h_zp;
    int32_t w_offset[GATES]; /* -zero point of the input weights */
    int32_t r_offset[GATES]; /* -zero point of the recurrent weights */
    hil_fx_mul w_mul[GATES];
    hil_fx_mul r_mul[GATES];
    hil_fx_mul forget_mul; /* forget x c -> c */
    hil_fx_mul input_mul;  /* input x cell gate -> c */
    hil_fx_mul hidden_mul; /* tanh(c) x output -> h */
    int32_t tanh_mult;     /* tanh(c) input pre-scaling: (c * mult + round) >> shift */
    int32_t tanh_round;
    int32_t tanh_shift;
} lstm_data;

/* The tensors one eval uses. */
typedef struct {
    const hil_tensor *x;
    const hil_tensor *w[GATES];
    const hil_tensor *r[GATES];
    const hil_tensor *bias[GATES];
    hil_tensor *hidden;
    hil_tensor *cell;
    hil_tensor *out;
} lstm_tensors;

static uint32_t lstm_data_bytes(hil_model *m, const hil_model_op *op)
{
    (void)m;
    (void)op;
    return (uint32_t)sizeof(lstm_data);
}

static void get_tensors(hil_interp *ip, const hil_node *node, lstm_tensors *t)
{
    t->x = hil_node_input(ip, node, IN_X);
    for (uint32_t g = 0; g < GATES; g++) {
        t->w[g] = hil_node_input(ip, node, IN_W + g);
        t->r[g] = hil_node_input(ip, node, IN_R + g);
        t->bias[g] = hil_node_input(ip, node, IN_BIAS + g);
    }
    t->hidden = hil_node_input(ip, node, IN_HIDDEN);
    t->cell = hil_node_input(ip, node, IN_CELL);
    t->out = hil_node_output(ip, node, 0);
}

static int present(const hil_node *node, uint32_t i)
{
    return node->inputs[i] >= 0;
}

/* Which inputs are there: the LSTM variants TFLM lacks are refused by name. */
static hil_status check_inputs(const hil_node *node, hil_msg *msg)
{
    if (node->n_inputs != LSTM_INPUTS || node->n_outputs != 1) {
        return hil_fail(msg, HIL_ERR_UNSUPPORTED, "expects 24 inputs and 1 output, has %u and %u",
                        (uint32_t)node->n_inputs, (uint32_t)node->n_outputs);
    }
    if (present(node, IN_PROJ_W) || present(node, IN_PROJ_B)) {
        return hil_fail(msg, HIL_ERR_UNSUPPORTED, "projection is not supported");
    }
    for (uint32_t i = IN_PEEPHOLE; i < IN_BIAS; i++) {
        if (present(node, i)) {
            return hil_fail(msg, HIL_ERR_UNSUPPORTED, "peephole connections are not supported");
        }
    }
    for (uint32_t i = IN_NORM; i < LSTM_INPUTS; i++) {
        if (present(node, i)) {
            return hil_fail(msg, HIL_ERR_UNSUPPORTED, "layer normalization is not supported");
        }
    }
    if (!present(node, IN_W + GATE_INPUT) || !present(node, IN_R + GATE_INPUT)) {
        return hil_fail(msg, HIL_ERR_UNSUPPORTED,
                        "CIFG (coupled input and forget gate) is not supported");
    }
    static const uint32_t required[] = {IN_X, IN_HIDDEN, IN_CELL};
    for (uint32_t i = 0; i < sizeof required / sizeof required[0]; i++) {
        if (!present(node, required[i])) {
            return hil_fail(msg, HIL_ERR_MODEL_INVALID, "input %u is missing", required[i]);
        }
    }
    for (uint32_t g = 0; g < GATES; g++) {
        if (!present(node, IN_W + g) || !present(node, IN_R + g) || !present(node, IN_BIAS + g)) {
            return hil_fail(msg, HIL_ERR_MODEL_INVALID, "gate %u lacks weights or bias", g);
        }
    }
    return HIL_OK;
}

/* States are updated in place and the output is written while inputs are
 * still read: no tensor may serve two of these roles. */
static hil_status check_aliasing(const hil_node *node, const lstm_tensors *t, hil_msg *msg)
{
    if (t->hidden->kind != HIL_TENSOR_VARIABLE || t->cell->kind != HIL_TENSOR_VARIABLE) {
        return hil_fail(msg, HIL_ERR_MODEL_INVALID, "hidden and cell states must be variables");
    }
    for (uint32_t i = 0; i < LSTM_INPUTS; i++) {
        const int32_t idx = node->inputs[i];
        if (idx < 0) {
            continue;
        }
        if (idx == node->outputs[0]) {
            return hil_fail(msg, HIL_ERR_UNSUPPORTED, "output is also input %u", i);
        }
        if ((i != IN_HIDDEN && idx == node->inputs[IN_HIDDEN]) ||
            (i != IN_CELL && idx == node->inputs[IN_CELL])) {
            return hil_fail(msg, HIL_ERR_UNSUPPORTED, "a state tensor is also input %u", i);
        }
    }
    return HIL_OK;
}

static hil_status read_options(hil_interp *ip, const hil_model_op *op, lstm_data *d,
                               hil_msg *msg)
{
    if (op->options_type != LSTM_OPTIONS_TYPE) {
        return hil_fail(msg, HIL_ERR_MODEL_INVALID,
                        "builtin options type %u is not UnidirectionalSequenceLSTMOptions",
                        (uint32_t)op->options_type);
    }
    hil_fb *fb = &ip->model.fb;
    const int32_t act = hil_fb_i8(fb, &op->options, OPT_ACTIVATION, HIL_ACT_NONE);
    d->clip = hil_ku_option_f32(ip, op, OPT_CELL_CLIP, 0.0f);
    d->time_major = hil_fb_u8(fb, &op->options, OPT_TIME_MAJOR, 0) != 0;
    if (fb->status != HIL_OK) {
        return fb->status;
    }
    if (act != ACT_TANH) {
        return hil_fail(msg, HIL_ERR_UNSUPPORTED,
                        "cell gate activation %s is not supported (TANH only)",
                        hil_act_name(act));
    }
    d->clip_on = d->clip > 0.0f; /* TFLM: negative or NaN clips mean no clipping */
    return HIL_OK;
}

static hil_status check_matrix(const hil_tensor *t, uint32_t rows, uint32_t cols,
                               const char *what, uint32_t g, hil_msg *msg)
{
    if (t->rank != 2 || (uint32_t)t->dims[0] != rows || (uint32_t)t->dims[1] != cols) {
        return hil_fail(msg, HIL_ERR_MODEL_INVALID, "gate %u %s weights must be [%u, %u]", g,
                        what, rows, cols);
    }
    return HIL_OK;
}

/* TFLM's size rules: x rank 3, state size from the hidden state's second
 * dimension, every weight and bias sized to match, the output [., ., S]. */
static hil_status check_shapes(const lstm_tensors *t, lstm_data *d, hil_msg *msg)
{
    if (t->x->rank != 3) {
        return hil_fail(msg, HIL_ERR_MODEL_INVALID, "input rank %u, expected 3",
                        (uint32_t)t->x->rank);
    }
    if (t->hidden->rank < 2) {
        return hil_fail(msg, HIL_ERR_MODEL_INVALID, "hidden state rank %u, expected 2",
                        (uint32_t)t->hidden->rank);
    }
    d->batches = (uint32_t)t->x->dims[d->time_major ? 1 : 0];
    d->steps = (uint32_t)t->x->dims[d->time_major ? 0 : 1];
    d->input_size = (uint32_t)t->x->dims[2];
    d->state_size = (uint32_t)t->hidden->dims[1];
    for (uint32_t g = 0; g < GATES; g++) {
        hil_status st = check_matrix(t->w[g], d->state_size, d->input_size, "input", g, msg);
        if (st == HIL_OK) {
            st = check_matrix(t->r[g], d->state_size, d->state_size, "recurrent", g, msg);
        }
        if (st != HIL_OK) {
            return st;
        }
        if (t->bias[g]->rank != 1 || (uint32_t)t->bias[g]->dims[0] != d->state_size) {
            return hil_fail(msg, HIL_ERR_MODEL_INVALID, "gate %u bias must be [%u]", g,
                            d->state_size);
        }
    }
    const uint64_t state_elems = (uint64_t)d->batches * d->state_size;
    if (hil_tensor_elems(t->hidden) != state_elems || hil_tensor_elems(t->cell) != state_elems) {
        return hil_fail(msg, HIL_ERR_MODEL_INVALID,
                        "hidden and cell states must hold %u batches x %u", d->batches,
                        d->state_size);
    }
    if (t->out->rank != 3 || t->out->dims[0] != t->x->dims[0] ||
        t->out->dims[1] != t->x->dims[1] || (uint32_t)t->out->dims[2] != d->state_size) {
        return hil_fail(msg, HIL_ERR_MODEL_INVALID, "output must be [%d, %d, %u]",
                        t->x->dims[0], t->x->dims[1], d->state_size);
    }
    return HIL_OK;
}

static hil_status check_types(const lstm_tensors *t, uint8_t act, uint8_t weight, uint8_t bias,
                              uint8_t cell, hil_msg *msg)
{
    if (t->hidden->dtype != act || t->out->dtype != act) {
        return hil_fail(msg, HIL_ERR_UNSUPPORTED, "%s input needs %s hidden state and output",
                        hil_ku_type_name(act), hil_ku_type_name(act));
    }
    if (t->cell->dtype != cell) {
        return hil_fail(msg, HIL_ERR_UNSUPPORTED, "%s input with %s cell state is not supported",
                        hil_ku_type_name(act), hil_ku_type_name(t->cell->dtype));
    }
    for (uint32_t g = 0; g < GATES; g++) {
        if (t->w[g]->dtype != weight || t->r[g]->dtype != weight) {
            return hil_fail(msg, HIL_ERR_UNSUPPORTED,
                            "%s input with %s weights is not supported (expected %s)",
                            hil_ku_type_name(act), hil_ku_type_name(t->w[g]->dtype),
                            hil_ku_type_name(weight));
        }
        if (t->bias[g]->dtype != bias) {
            return hil_fail(msg, HIL_ERR_UNSUPPORTED, "%s bias is not supported (expected %s)",
                            hil_ku_type_name(t->bias[g]->dtype), hil_ku_type_name(bias));
        }
    }
    return HIL_OK;
}

/* QuantizeMultiplier(a * b / c * 2^exp2), all in double as TFLM forms it. */
static hil_status make_mul(float a, float b, float c, int exp2, const char *what,
                           hil_fx_mul *out, hil_msg *msg)
{
    hil_qmul q;
    if (!hil_qmul_from_scales(a, b, c, exp2, &q)) {
        return hil_fail(msg, HIL_ERR_UNSUPPORTED, "%s rescale factor is not finite or too large",
                        what);
    }
    *out = hil_fx_mul_make(q);
    return HIL_OK;
}

/* Per-tensor int8 weights: scale and zero point, refusing per-channel ones
 * (TFLM's gate FC parameters carry a single multiplier). */
static hil_status check_weights(hil_interp *ip, const hil_node *node, uint32_t input,
                                const hil_tensor *w, hil_msg *msg)
{
    hil_model_tensor mt;
    if (hil_model_get_tensor(&ip->model, (uint32_t)node->inputs[input], &mt) != HIL_OK) {
        return ip->model.fb.status;
    }
    if (mt.channels > 1) {
        return hil_fail(msg, HIL_ERR_UNSUPPORTED,
                        "per-channel weights (input %u) are not supported", input);
    }
    return hil_ku_check_quant(w, "weights", msg);
}

/* log2 of the cell scale, rounded as TFLM's CheckedLog2 rounds it (float
 * arithmetic; a scale that is not a power of two is not refused). */
static int32_t cell_scale_power(float scale)
{
    const float log2_scale = logf(scale) * (1.0f / logf(2.0f));
    return (int32_t)roundf(log2_scale);
}

static hil_status prepare_int8(hil_interp *ip, const hil_node *node, const lstm_tensors *t,
                               lstm_data *d, hil_msg *msg)
{
    hil_status st = check_types(t, HIL_DT_INT8, HIL_DT_INT8, HIL_DT_INT32, HIL_DT_INT16, msg);
    if (st == HIL_OK) {
        st = hil_ku_check_quant(t->x, "input", msg);
    }
    if (st == HIL_OK) {
        st = hil_ku_check_quant(t->hidden, "hidden state", msg);
    }
    if (st == HIL_OK) {
        st = hil_ku_check_quant(t->cell, "cell state", msg);
    }
    if (st != HIL_OK) {
        return st;
    }
    /* Gate FCs: int8 x int8 -> int16 at 2^-12 (Q3.12). */
    for (uint32_t g = 0; g < GATES && st == HIL_OK; g++) {
        st = check_weights(ip, node, IN_W + g, t->w[g], msg);
        if (st == HIL_OK) {
            st = check_weights(ip, node, IN_R + g, t->r[g], msg);
        }
        if (st == HIL_OK) {
            st = make_mul(t->x->scale, t->w[g]->scale, 1.0f, 12, "gate", &d->w_mul[g], msg);
        }
        if (st == HIL_OK) {
            st = make_mul(t->hidden->scale, t->r[g]->scale, 1.0f, 12, "gate", &d->r_mul[g], msg);
        }
        if (st == HIL_OK) { /* zero points checked: int8 range */
            d->w_offset[g] = -t->w[g]->zero_point;
            d->r_offset[g] = -t->r[g]->zero_point;
        }
    }
    /* Products of Q0.15 gate outputs (scale 2^-15 each). */
    const float cell_s = t->cell->scale;
    if (st == HIL_OK) {
        st = make_mul(1.0f, cell_s, cell_s, -15, "cell", &d->forget_mul, msg);
    }
    if (st == HIL_OK) {
        st = make_mul(1.0f, 1.0f, cell_s, -30, "cell", &d->input_mul, msg);
    }
    if (st == HIL_OK) {
        st = make_mul(1.0f, 1.0f, t->hidden->scale, -30, "hidden state", &d->hidden_mul, msg);
    }
    if (st != HIL_OK) {
        return st;
    }
    /* tanh(c): c * 3 * 2^(p + 12) must stay inside int32, and a right shift
     * must stay below 32 bits. */
    const int32_t p = cell_scale_power(t->cell->scale);
    if (p > 2 || p < -43) {
        return hil_fail(msg, HIL_ERR_UNSUPPORTED, "cell state scale 2^%d is out of range", p);
    }
    const int32_t left = p + 12;
    d->tanh_mult = left >= 0 ? 3 << left : 3;
    d->tanh_shift = left >= 0 ? 0 : -left;
    d->tanh_round = d->tanh_shift > 0 ? (int32_t)1 << (d->tanh_shift - 1) : 0;
    const double q = fmin(fmax((double)d->clip / (double)cell_s, -32768.0), 32767.0);
    d->qclip = (int16_t)q; /* truncation toward zero, as TFLM's cast */
    d->x_offset = -t->x->zero_point;
    d->h_offset = -t->hidden->zero_point;
    d->h_zp = t->hidden->zero_point;
    d->kind = KIND_INT8;
    return HIL_OK;
}

static hil_status lstm_prepare(hil_interp *ip, hil_node *node, const hil_model_op *op,
                               hil_msg *msg)
{
    lstm_data *d = node->data;
    lstm_tensors t;
    hil_status st = check_inputs(node, msg);
    if (st != HIL_OK) {
        return st;
    }
    get_tensors(ip, node, &t);
    st = check_aliasing(node, &t, msg);
    if (st == HIL_OK) {
        st = read_options(ip, op, d, msg);
    }
    if (st == HIL_OK) {
        st = check_shapes(&t, d, msg);
    }
    if (st != HIL_OK) {
        return st;
    }
    if (t.x->dtype == HIL_DT_FLOAT32) {
        d->kind = KIND_FLOAT;
        return check_types(&t, HIL_DT_FLOAT32, HIL_DT_FLOAT32, HIL_DT_FLOAT32, HIL_DT_FLOAT32,
                           msg);
    }
    if (t.x->dtype != HIL_DT_INT8) {
        return hil_fail(msg, HIL_ERR_UNSUPPORTED, "%s activations are not supported",
                        hil_ku_type_name(t.x->dtype));
    }
    return prepare_int8(ip, node, &t, d, msg);
}

/* ---- int8 ------------------------------------------------------------------ */

/* TFLM's int16 sigmoid/tanh table: sigmoid(i / 24) in 0.16 fixed point. */
static const uint16_t sigmoid_lut[256] = {
    32768, 33451, 34133, 34813, 35493, 36169, 36843, 37513, 38180, 38841, 39498, 40149, 40794,
    41432, 42064, 42688, 43304, 43912, 44511, 45102, 45683, 46255, 46817, 47369, 47911, 48443,
    48964, 49475, 49975, 50464, 50942, 51409, 51865, 52311, 52745, 53169, 53581, 53983, 54374,
    54755, 55125, 55485, 55834, 56174, 56503, 56823, 57133, 57433, 57724, 58007, 58280, 58544,
    58800, 59048, 59288, 59519, 59743, 59959, 60168, 60370, 60565, 60753, 60935, 61110, 61279,
    61441, 61599, 61750, 61896, 62036, 62172, 62302, 62428, 62549, 62666, 62778, 62886, 62990,
    63090, 63186, 63279, 63368, 63454, 63536, 63615, 63691, 63765, 63835, 63903, 63968, 64030,
    64090, 64148, 64204, 64257, 64308, 64357, 64405, 64450, 64494, 64536, 64576, 64614, 64652,
    64687, 64721, 64754, 64786, 64816, 64845, 64873, 64900, 64926, 64950, 64974, 64997, 65019,
    65039, 65060, 65079, 65097, 65115, 65132, 65149, 65164, 65179, 65194, 65208, 65221, 65234,
    65246, 65258, 65269, 65280, 65291, 65301, 65310, 65319, 65328, 65337, 65345, 65352, 65360,
    65367, 65374, 65381, 65387, 65393, 65399, 65404, 65410, 65415, 65420, 65425, 65429, 65433,
    65438, 65442, 65445, 65449, 65453, 65456, 65459, 65462, 65465, 65468, 65471, 65474, 65476,
    65479, 65481, 65483, 65485, 65488, 65489, 65491, 65493, 65495, 65497, 65498, 65500, 65501,
    65503, 65504, 65505, 65507, 65508, 65509, 65510, 65511, 65512, 65513, 65514, 65515, 65516,
    65517, 65517, 65518, 65519, 65520, 65520, 65521, 65522, 65522, 65523, 65523, 65524, 65524,
    65525, 65525, 65526, 65526, 65526, 65527, 65527, 65528, 65528, 65528, 65529, 65529, 65529,
    65529, 65530, 65530, 65530, 65530, 65531, 65531, 65531, 65531, 65531, 65532, 65532, 65532,
    65532, 65532, 65532, 65533, 65533, 65533, 65533, 65533, 65533, 65533, 65533, 65534, 65534,
    65534, 65534, 65534, 65534, 65534, 65534, 65534, 65534, 65535,
};

/* Sigmoid of a Q3.12 value, Q0.15 result (inputs scaled by 3, table steps of
 * 2^9, halves rounded up; negative inputs mirrored). */
static inline int16_t sigmoid_q15(int16_t x)
{
    const int32_t v = (int32_t)x * 3;
    const uint32_t a = (uint32_t)(v < 0 ? -v : v);
    const uint32_t hi = a >> 9;
    uint32_t r;
    if (hi >= 255u) {
        r = 0x7FFFu << 10;
    } else {
        const uint32_t lo = sigmoid_lut[hi];
        r = (lo << 9) + (a & 0x1FFu) * (sigmoid_lut[hi + 1u] - lo);
    }
    r = v >= 0 ? r + (1u << 9) : (1u << 25) - r + (1u << 9) - 1u;
    return (int16_t)(r >> 10);
}

/* Tanh of (x * mult + round) >> shift read as Q3.12 x 3, Q0.15 result. */
static inline int16_t tanh_q15(int32_t x, int32_t mult, int32_t round, int32_t shift)
{
    const int32_t v = (x * mult + round) >> shift;
    const uint32_t a = (uint32_t)(v < 0 ? -v : v);
    const uint32_t hi = a >> 8;
    int32_t r;
    if (hi >= 255u) {
        r = 0xFFFF << 8;
    } else {
        const uint32_t lo = sigmoid_lut[hi];
        r = (int32_t)((lo << 8) + (a & 0xFFu) * (sigmoid_lut[hi + 1u] - lo));
    }
    r = v >= 0 ? r - (1 << 23) + (1 << 7) : -r + (1 << 23) + (1 << 7) - 1;
    return (int16_t)(r >> 8);
}

static inline int32_t sat16(int32_t v)
{
    return hil_clamp_i32(v, INT16_MIN, INT16_MAX);
}

/* One gate's pre-activation: FC(x) + FC(h), each rescaled to Q3.12. */
static inline int32_t gate_q12(const lstm_data *d, uint32_t g, const int8_t *x, const int8_t *h,
                               const int8_t *w, const int8_t *r, int32_t bias)
{
    uint32_t acc = 0;
    const int32_t wo = d->w_offset[g];
    for (uint32_t k = 0; k < d->input_size; k++) {
        acc += (uint32_t)(((int32_t)w[k] + wo) * ((int32_t)x[k] + d->x_offset));
    }
    acc += (uint32_t)bias;
    const int32_t from_x = sat16(hil_fx_apply(hil_fx_i32(acc), &d->w_mul[g]));
    acc = 0;
    const int32_t ro = d->r_offset[g];
    for (uint32_t k = 0; k < d->state_size; k++) {
        acc += (uint32_t)(((int32_t)r[k] + ro) * ((int32_t)h[k] + d->h_offset));
    }
    const int32_t from_h = sat16(hil_fx_apply(hil_fx_i32(acc), &d->r_mul[g]));
    return sat16(from_x + from_h);
}

static void step_int8(const lstm_data *d, const lstm_tensors *t, const int8_t *x, const int8_t *h,
                      int16_t *c, int8_t *out)
{
    const int8_t *w[GATES];
    const int8_t *r[GATES];
    const int32_t *bias[GATES];
    for (uint32_t g = 0; g < GATES; g++) {
        w[g] = (const int8_t *)t->w[g]->data;
        r[g] = (const int8_t *)t->r[g]->data;
        bias[g] = (const int32_t *)(const void *)t->bias[g]->data;
    }
    const uint32_t in = d->input_size;
    const uint32_t n = d->state_size;
    for (uint32_t s = 0; s < n; s++) {
        int32_t pre[GATES];
        for (uint32_t g = 0; g < GATES; g++) {
            pre[g] = gate_q12(d, g, x, h, w[g] + (size_t)s * in, r[g] + (size_t)s * n,
                              bias[g][s]);
        }
        const int32_t ig = sigmoid_q15((int16_t)pre[GATE_INPUT]);
        const int32_t fg = sigmoid_q15((int16_t)pre[GATE_FORGET]);
        const int32_t cg = tanh_q15(pre[GATE_CELL], 3, 0, 0);
        const int32_t og = sigmoid_q15((int16_t)pre[GATE_OUTPUT]);
        const int32_t kept = sat16(hil_fx_apply(fg * c[s], &d->forget_mul));
        const int32_t added = sat16(hil_fx_apply(ig * cg, &d->input_mul));
        int32_t cell = sat16(kept + added);
        if (d->clip_on) {
            cell = cell < d->qclip ? cell : d->qclip; /* std::min(clip, cell) */
            cell = cell < -d->qclip ? -d->qclip : cell;
        }
        c[s] = (int16_t)cell;
        const int32_t tc = tanh_q15(cell, d->tanh_mult, d->tanh_round, d->tanh_shift);
        const int32_t hv = hil_fx_add_wrap(hil_fx_apply(tc * og, &d->hidden_mul), d->h_zp);
        out[s] = (int8_t)hil_clamp_i32(hv, INT8_MIN, INT8_MAX);
    }
}

/* ---- float32 ---------------------------------------------------------------- */

static inline float clamp_none(float v)
{
    return hil_clamp_float(v, -FLT_MAX, FLT_MAX);
}

static inline float sigmoid_f(float v)
{
    if (v > 16.619047164916992188f) {
        return 1.0f;
    }
    if (v < -9.0f) {
        return expf(v);
    }
    return 1.0f / (1.0f + expf(-v));
}

static inline float gate_f(const lstm_data *d, const float *x, const float *h, const float *w,
                           const float *r, float bias)
{
    float a = 0.0f;
    for (uint32_t k = 0; k < d->input_size; k++) {
        a += x[k] * w[k];
    }
    float b = 0.0f;
    for (uint32_t k = 0; k < d->state_size; k++) {
        b += h[k] * r[k];
    }
    return clamp_none(a + bias) + clamp_none(b + 0.0f);
}

static void step_float(const lstm_data *d, const lstm_tensors *t, const float *x, const float *h,
                       float *c, float *out)
{
    const float *w[GATES];
    const float *r[GATES];
    const float *bias[GATES];
    for (uint32_t g = 0; g < GATES; g++) {
        w[g] = (const float *)(const void *)t->w[g]->data;
        r[g] = (const float *)(const void *)t->r[g]->data;
        bias[g] = (const float *)(const void *)t->bias[g]->data;
    }
    const uint32_t in = d->input_size;
    const uint32_t n = d->state_size;
    for (uint32_t s = 0; s < n; s++) {
        float pre[GATES];
        for (uint32_t g = 0; g < GATES; g++) {
            pre[g] = gate_f(d, x, h, w[g] + (size_t)s * in, r[g] + (size_t)s * n, bias[g][s]);
        }
        const float ig = sigmoid_f(pre[GATE_INPUT]);
        const float fg = sigmoid_f(pre[GATE_FORGET]);
        const float cg = tanhf(pre[GATE_CELL]);
        const float og = sigmoid_f(pre[GATE_OUTPUT]);
        float cell = clamp_none(fg * c[s]) + clamp_none(ig * cg);
        if (d->clip_on) {
            cell = cell < d->clip ? cell : d->clip;
            cell = cell < -d->clip ? -d->clip : cell;
        }
        c[s] = cell;
        out[s] = clamp_none(tanhf(cell) * og);
    }
}

/* ---- driver ------------------------------------------------------------------- */

static hil_status lstm_eval(hil_interp *ip, const hil_node *node, hil_msg *msg)
{
    (void)msg;
    const lstm_data *d = node->data;
    lstm_tensors t;
    get_tensors(ip, node, &t);
    const size_t esize = d->kind == KIND_FLOAT ? sizeof(float) : 1u;
    const size_t cell_esize = d->kind == KIND_FLOAT ? sizeof(float) : sizeof(int16_t);
    const size_t row_in = (size_t)d->input_size * esize;
    const size_t row_out = (size_t)d->state_size * esize;
    for (uint32_t b = 0; b < d->batches; b++) {
        uint8_t *h = t.hidden->data + b * row_out;
        uint8_t *c = t.cell->data + (size_t)b * d->state_size * cell_esize;
        for (uint32_t s = 0; s < d->steps; s++) {
            /* Row of (batch b, step s) in x and in the output. */
            const size_t rowi = d->time_major ? (size_t)s * d->batches + b
                                              : (size_t)b * d->steps + s;
            const uint8_t *x = t.x->data + rowi * row_in;
            uint8_t *out = t.out->data + rowi * row_out;
            if (d->kind == KIND_FLOAT) {
                step_float(d, &t, (const float *)(const void *)x, (const float *)(void *)h,
                           (float *)(void *)c, (float *)(void *)out);
            } else {
                step_int8(d, &t, (const int8_t *)x, (const int8_t *)h, (int16_t *)(void *)c,
                          (int8_t *)out);
            }
            memcpy(h, out, row_out);
        }
    }
    return HIL_OK;
}

const hil_kernel hil_kernel_unidirectional_sequence_lstm = {
    "UNIDIRECTIONAL_SEQUENCE_LSTM",
    lstm_data_bytes,
    lstm_prepare,
    lstm_eval,
};
