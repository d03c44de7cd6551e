/* Fixed-point helpers with TFLM reference semantics; see quant.h. */
#include "kernels/quant.h"

#include <float.h>
#include <math.h>

static int32_t as_i32(uint32_t u)
{
    return u <= (uint32_t)INT32_MAX ? (int32_t)u : -(int32_t)(~u) - 1;
}

hil_qmul hil_quantize_multiplier(double m)
{
    hil_qmul q = {0, 0};
    if (m == 0.0) {
        return q;
    }
    int exponent = 0;
    double significand = frexp(m, &exponent); /* in [0.5, 1) */
    int64_t fixed = (int64_t)round(significand * 2147483648.0);
    if (fixed == ((int64_t)1 << 31)) { /* rounding reached 1.0: renormalise */
        fixed /= 2;
        exponent++;
    }
    if (exponent < -31) { /* too small to matter: TFLM flushes it to zero */
        exponent = 0;
        fixed = 0;
    }
    q.multiplier = (int32_t)fixed;
    q.shift = exponent;
    return q;
}

int hil_qmul_in_range(hil_qmul q)
{
    return q.shift <= 30 && q.shift >= -31;
}

int32_t hil_sat_round_doubling_high_mul(int32_t a, int32_t b)
{
    if (a == INT32_MIN && b == INT32_MIN) {
        return INT32_MAX; /* the one product that does not fit */
    }
    int64_t ab = (int64_t)a * (int64_t)b;
    int64_t nudge = ab >= 0 ? ((int64_t)1 << 30) : (1 - ((int64_t)1 << 30));
    /* C division truncates toward zero, as TFLM's does. */
    return (int32_t)((ab + nudge) / ((int64_t)1 << 31));
}

/* x >> exponent, rounding toward minus infinity (what an arithmetic shift
 * does), written so it does not depend on implementation-defined shifts. */
static int32_t floor_shift(int32_t x, int exponent)
{
    if (x >= 0) {
        return x >> exponent;
    }
    return -(int32_t)((~(uint32_t)x) >> exponent) - 1;
}

int32_t hil_rounding_divide_by_pot(int32_t x, int exponent)
{
    /* Round half away from zero, as gemmlowp's RoundingDivideByPOT. */
    const int32_t mask = (int32_t)(((int64_t)1 << exponent) - 1);
    const int32_t remainder = x & mask;
    const int32_t threshold = (mask >> 1) + (x < 0 ? 1 : 0);
    return floor_shift(x, exponent) + (remainder > threshold ? 1 : 0);
}

int32_t hil_mul_by_qmul(int32_t x, hil_qmul q)
{
    const int left = q.shift > 0 ? q.shift : 0;
    const int right = q.shift > 0 ? 0 : -q.shift;
    /* TFLM computes x * (1 << left) in int32; the same bits, without UB. */
    const int32_t scaled = as_i32((uint32_t)x << left);
    return hil_rounding_divide_by_pot(hil_sat_round_doubling_high_mul(scaled, q.multiplier), right);
}

/* x >> exponent for int64, rounding toward minus infinity, without relying
 * on implementation-defined shifts of negative values. */
static int64_t floor_shift64(int64_t x, int exponent)
{
    if (x >= 0) {
        return x >> exponent;
    }
    return -(int64_t)((~(uint64_t)x) >> exponent) - 1;
}

int32_t hil_mul_by_qmul_i64(int64_t x, hil_qmul q)
{
    const int32_t reduced = q.multiplier < 0x7FFF0000 ? (q.multiplier + (1 << 15)) >> 16 : 0x7FFF;
    const int total_shift = 15 - q.shift;
    const uint64_t sum = (uint64_t)x * (uint64_t)(int64_t)reduced +
                         ((uint64_t)1 << (total_shift - 1));
    const uint64_t shifted = (uint64_t)floor_shift64(
        sum <= (uint64_t)INT64_MAX ? (int64_t)sum : -(int64_t)(~sum) - 1, total_shift);
    return as_i32((uint32_t)shifted); /* static_cast<int32_t>: keep the low 32 bits */
}

double hil_effective_scale(float input_scale, float filter_scale, float output_scale)
{
    return (double)input_scale * (double)filter_scale / (double)output_scale;
}

double hil_effective_scale_f32_product(float input_scale, float filter_scale, float output_scale)
{
    const float product = input_scale * filter_scale; /* rounded to float first */
    return (double)product / (double)output_scale;
}

int hil_bias_scale_ok(float input_scale, float filter_scale, float bias_scale, float output_scale)
{
    const double product = (double)input_scale * (double)filter_scale;
    return fabs(product - (double)bias_scale) / (double)output_scale <= 0.02;
}

const char *hil_act_name(int32_t act)
{
    switch (act) {
    case HIL_ACT_NONE:
        return "NONE";
    case HIL_ACT_RELU:
        return "RELU";
    case HIL_ACT_RELU_N1_TO_1:
        return "RELU_N1_TO_1";
    case HIL_ACT_RELU6:
        return "RELU6";
    case 4:
        return "TANH";
    case 5:
        return "SIGN_BIT";
    default:
        return "UNKNOWN";
    }
}

/* zero_point + round(f / scale), refusing what does not fit an int32. */
static hil_status quantize_bound(float scale, int32_t zero_point, float f, int32_t *q,
                                 hil_msg *msg)
{
    const float r = roundf(f / scale);
    if (!(r >= -2147483648.0f && r < 2147483648.0f)) {
        return hil_fail(msg, HIL_ERR_MODEL_INVALID,
                        "fused activation bound does not fit int32 "
                        "(output scale zero, tiny or not finite)");
    }
    int64_t v = (int64_t)zero_point + (int64_t)r;
    *q = v > INT32_MAX ? INT32_MAX : (v < INT32_MIN ? INT32_MIN : (int32_t)v);
    return HIL_OK;
}

hil_status hil_act_range_quantized(int32_t act, float scale, int32_t zero_point, int32_t qmin,
                                   int32_t qmax, int32_t *act_min, int32_t *act_max,
                                   hil_msg *msg)
{
    float lo = 0.0f;
    float hi = 0.0f;
    int has_lo = 1;
    int has_hi = 1;
    switch (act) {
    case HIL_ACT_NONE:
        has_lo = 0;
        has_hi = 0;
        break;
    case HIL_ACT_RELU:
        has_hi = 0;
        break;
    case HIL_ACT_RELU6:
        hi = 6.0f;
        break;
    case HIL_ACT_RELU_N1_TO_1:
        lo = -1.0f;
        hi = 1.0f;
        break;
    default:
        return hil_fail(msg, HIL_ERR_UNSUPPORTED, "fused activation %s not supported",
                        hil_act_name(act));
    }
    int32_t q = 0;
    *act_min = qmin;
    *act_max = qmax;
    if (has_lo) {
        hil_status st = quantize_bound(scale, zero_point, lo, &q, msg);
        if (st != HIL_OK) {
            return st;
        }
        *act_min = q > qmin ? q : qmin;
    }
    if (has_hi) {
        hil_status st = quantize_bound(scale, zero_point, hi, &q, msg);
        if (st != HIL_OK) {
            return st;
        }
        *act_max = q < qmax ? q : qmax;
    }
    return HIL_OK;
}

void hil_act_range_float(int32_t act, float *act_min, float *act_max)
{
    switch (act) {
    case HIL_ACT_RELU:
        *act_min = 0.0f;
        *act_max = FLT_MAX;
        break;
    case HIL_ACT_RELU6:
        *act_min = 0.0f;
        *act_max = 6.0f;
        break;
    case HIL_ACT_RELU_N1_TO_1:
        *act_min = -1.0f;
        *act_max = 1.0f;
        break;
    default:
        *act_min = -FLT_MAX;
        *act_max = FLT_MAX;
        break;
    }
}
