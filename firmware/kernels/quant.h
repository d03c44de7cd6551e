/* Fixed-point requantization with the exact semantics of TFLM's reference
 * kernels (the default, double-rounding MultiplyByQuantizedMultiplier).
 * Results must match TFLM bit for bit, so each helper keeps TFLM's order of
 * operations and rounding; int32 overflow that TFLM leaves to wrap-around is
 * computed modulo 2^32 here, which gives the same bits without UB. */
#ifndef HIL_KERNELS_QUANT_H
#define HIL_KERNELS_QUANT_H

#include <stdint.h>
#include "hil/status.h"

/* A real multiplier as a Q31 significand and a power-of-two exponent:
 * real ~= multiplier * 2^(shift - 31). */
typedef struct {
    int32_t multiplier;
    int32_t shift;
} hil_qmul;

/* TFLM QuantizeMultiplier for a finite m >= 0 (callers check): frexp, round
 * half away from zero, 2^31 renormalised, shift below -31 flushes to zero. */
hil_qmul hil_quantize_multiplier(double m);

/* Valid multipliers for hil_mul_by_qmul: left shift <= 30, right <= 31. */
int hil_qmul_in_range(hil_qmul q);

/* int32 bits of a uint32 (two's complement, without implementation-defined
 * conversions). */
static inline int32_t hil_u32_bits_i32(uint32_t u)
{
    return u <= (uint32_t)INT32_MAX ? (int32_t)u : -(int32_t)(~u) - 1;
}

/* gemmlowp SaturatingRoundingDoublingHighMul: (a * b + nudge) / 2^31,
 * C division (toward zero); INT32_MIN * INT32_MIN saturates. */
static inline int32_t hil_sat_round_doubling_high_mul_inline(int32_t a, int32_t b)
{
    if (a == INT32_MIN && b == INT32_MIN) {
        return INT32_MAX; /* the one product that does not fit */
    }
    const int64_t ab = (int64_t)a * (int64_t)b;
    const int64_t nudge = ab >= 0 ? ((int64_t)1 << 30) : (1 - ((int64_t)1 << 30));
    return (int32_t)((ab + nudge) / ((int64_t)1 << 31));
}

/* gemmlowp RoundingDivideByPOT: x / 2^exponent, exponent in [0, 31], half
 * away from zero; the floor shift is written without relying on
 * implementation-defined right shifts of negative values. */
static inline int32_t hil_rounding_divide_by_pot_inline(int32_t x, int exponent)
{
    const int32_t mask = (int32_t)(((int64_t)1 << exponent) - 1);
    const int32_t remainder = x & mask;
    const int32_t threshold = (mask >> 1) + (x < 0 ? 1 : 0);
    const int32_t floor = x >= 0 ? x >> exponent : -(int32_t)((~(uint32_t)x) >> exponent) - 1;
    return floor + (remainder > threshold ? 1 : 0);
}

/* TFLM MultiplyByQuantizedMultiplier (valid for hil_qmul_in_range
 * multipliers): x * 2^left wrapping in int32 as TFLM's x * (1 << left)
 * does in practice, then the high multiply, then the rounding right shift.
 * Inline for kernels that requantize every output element; the out-of-line
 * hil_mul_by_qmul is this same function. */
static inline int32_t hil_mul_by_qmul_inline(int32_t x, hil_qmul q)
{
    const int left = q.shift > 0 ? q.shift : 0;
    const int right = q.shift > 0 ? 0 : -q.shift;
    const int32_t scaled = hil_u32_bits_i32((uint32_t)x << left);
    return hil_rounding_divide_by_pot_inline(
        hil_sat_round_doubling_high_mul_inline(scaled, q.multiplier), right);
}

int32_t hil_sat_round_doubling_high_mul(int32_t a, int32_t b);
int32_t hil_rounding_divide_by_pot(int32_t x, int exponent);
int32_t hil_mul_by_qmul(int32_t x, hil_qmul q);

/* TFLM's 64-bit MultiplyByQuantizedMultiplier (int16 kernels with int64
 * accumulators): the multiplier is first rounded to 16 bits (saturating at
 * 0x7FFF), then x * m16 + 2^(14 - shift) is shifted right arithmetically by
 * 15 - shift and truncated to int32. Valid for shift in [-47, 14]; products
 * that overflow int64 wrap (TFLM leaves them undefined). */
int32_t hil_mul_by_qmul_i64(int64_t x, hil_qmul q);

/* Effective output scale of a convolution or fully connected op:
 * (double)input_scale * (double)filter_scale / (double)output_scale.
 * Measured against the tflite-micro oracle: its int8 FULLY_CONNECTED forms
 * the product in double for per-tensor AND per-channel filters. */
double hil_effective_scale(float input_scale, float filter_scale, float output_scale);
/* The older GetQuantizedConvolutionMultipler form, product rounded to float
 * first: (double)(input_scale * filter_scale) / (double)output_scale. Not what
 * the oracle's FULLY_CONNECTED does (see above); kept for kernels that do. */
double hil_effective_scale_f32_product(float input_scale, float filter_scale,
                                       float output_scale);

/* QuantizeMultiplier((double)a * (double)b / (double)c * 2^exp2) and the
 * kernels' acceptance test for it (m >= 0, finite, hil_qmul_in_range),
 * computed with 64-bit integers only, bit for bit as the double path
 * (hil_quantize_multiplier(hil_effective_scale(a, b, c)) for exp2 = 0), so a
 * core without a double-precision FPU does not pay for software doubles.
 * exp2 must lie in [-64, 64]. Returns 1 and sets *q when the multiplier is
 * acceptable, else returns 0 (*q is then {0, 0}). */
int hil_qmul_from_scales(float a, float b, float c, int exp2, hil_qmul *q);

/* The same for many b with a, c and exp2 fixed (per-channel filter scales):
 * the division by c's significand is done once, in init. */
typedef struct {
    float a;
    float c;
    int32_t exp;     /* ea - ec - 32 + exp2 */
    uint32_t sc;     /* c's significand */
    uint64_t quot;   /* floor(sa * 2^32 / sc) */
    uint32_t rem;    /* sa * 2^32 mod sc */
    uint8_t regular; /* a and c finite and nonzero */
    uint8_t sign;    /* sign(a) ^ sign(c) */
} hil_qmul_ctx;
void hil_qmul_ctx_init(hil_qmul_ctx *ctx, float a, float c, int exp2);
int hil_qmul_ctx_apply(const hil_qmul_ctx *ctx, float b, hil_qmul *q);

/* TFLM's bias sanity rule for per-tensor conv/FC: |in*filter - bias| / out
 * must not exceed 0.02 (all in double). */
int hil_bias_scale_ok(float input_scale, float filter_scale, float bias_scale,
                      float output_scale);

/* Fused activations (TFLite ActivationFunctionType). */
enum {
    HIL_ACT_NONE = 0,
    HIL_ACT_RELU = 1,
    HIL_ACT_RELU_N1_TO_1 = 2,
    HIL_ACT_RELU6 = 3
};
const char *hil_act_name(int32_t act);

/* Clamp bounds in the quantized domain of an output (scale, zero_point),
 * for values in [qmin, qmax]. Fails (HIL_ERR_MODEL_INVALID) when a bound does
 * not quantize to an int32, as TFLM does. */
hil_status hil_act_range_quantized(int32_t act, float scale, int32_t zero_point, int32_t qmin,
                                   int32_t qmax, int32_t *act_min, int32_t *act_max,
                                   hil_msg *msg);
void hil_act_range_float(int32_t act, float *act_min, float *act_max);
/* The same for int32 tensors (no quantization: the bounds are the values). */
void hil_act_range_i32(int32_t act, int32_t *act_min, int32_t *act_max);

/* std::min(std::max(x, lo), hi) with std's comparison order, so NaN passes
 * through and -0.0 stays -0.0, exactly as in TFLM. */
static inline float hil_clamp_float(float x, float lo, float hi)
{
    float y = (x < lo) ? lo : x;
    return (hi < y) ? hi : y;
}

static inline int32_t hil_clamp_i32(int32_t x, int32_t lo, int32_t hi)
{
    int32_t y = (x < lo) ? lo : x;
    return (hi < y) ? hi : y;
}

/* int32 addition modulo 2^32 (TFLM's accumulators silently wrap). */
static inline int32_t hil_wrap_add(int32_t a, int32_t b)
{
    uint32_t s = (uint32_t)a + (uint32_t)b;
    return s <= (uint32_t)INT32_MAX ? (int32_t)s : -(int32_t)(~s) - 1;
}

#endif
