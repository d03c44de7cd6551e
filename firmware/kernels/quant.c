/* Fixed-point helpers with TFLM reference semantics; see quant.h. */
#include "kernels/quant.h"

#include <float.h>
#include <math.h>
#include <string.h>

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
    return hil_sat_round_doubling_high_mul_inline(a, b);
}

int32_t hil_rounding_divide_by_pot(int32_t x, int exponent)
{
    return hil_rounding_divide_by_pot_inline(x, exponent);
}

int32_t hil_mul_by_qmul(int32_t x, hil_qmul q)
{
    return hil_mul_by_qmul_inline(x, q);
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

/* A finite, nonzero float32 as sig * 2^exp with sig in [2^23, 2^24)
 * (subnormals normalised). */
static void unpack_f32(float f, uint32_t *sig, int32_t *exp)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    const uint32_t biased = (u >> 23) & 0xFFu;
    uint32_t m = u & 0x7FFFFFu;
    int32_t e = (int32_t)biased - 150;
    if (biased == 0) { /* subnormal: m * 2^-149 */
        e = -149;
        while (m < 0x800000u) {
            m <<= 1;
            e--;
        }
    } else {
        m |= 0x800000u;
    }
    *sig = m;
    *exp = e;
}

static int f32_sign(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return (int)(u >> 31);
}

/* Why integers reproduce the double path exactly:
 *   1. (double)a * (double)b is exact: two 24-bit significands make at most
 *      48 bits, and the exponent (>= 2^-298, < 2^256) stays far inside the
 *      double range. So p = P * 2^(ea + eb) with P = sa * sb.
 *   2. p / (double)c is IEEE division: the exact quotient P / sc, rounded
 *      once to 53 bits, nearest-even. The quotient lies in [2^-426, 2^405],
 *      always a normal double, so no subnormal or overflow cases arise.
 *      Here P is in [2^46, 2^48) and sc in [2^23, 2^24): Q = P * 2^32 / sc
 *      has 55 to 57 integer bits (so a guard bit and a round bit exist);
 *      the sticky bit (the division's remainder) never decides the final
 *      multiplier (see hil_qmul_ctx_apply). Q is computed as
 *      sb * floor(sa * 2^32 / sc) + floor(sb * rem / sc), rem being the
 *      first division's remainder (sa * sb * 2^32 = sb * (quot * sc + rem)),
 *      with 32-bit divisions only (Cortex-M has no 64-bit divide).
 *   3. frexp is exact; round(q * 2^31) rounds the 53-bit significand to 31
 *      bits half away from zero (q > 0: half up). This is TFLM's second
 *      rounding, applied to the already rounded double: a quotient just
 *      below a 31-bit tie can round up to the tie at step 2 and then up
 *      again here, and the integer path does exactly the same.
 *   4. 2^31 renormalises to 2^30 with shift + 1; shift < -31 flushes to
 *      {0, 0}; acceptance is shift <= 30 (the lower bound then holds).
 * NaN, infinity, zero and sign cases follow IEEE: any NaN, inf * x, x / 0
 * (x != 0) and 0 / 0 are refused; 0 * x / c and x / inf give 0 ({0, 0},
 * accepted, as -0.0 >= 0.0 is true); a negative quotient is refused. */
void hil_qmul_ctx_init(hil_qmul_ctx *ctx, float a, float c, int exp2)
{
    memset(ctx, 0, sizeof *ctx);
    ctx->a = a;
    ctx->c = c;
    if (!isfinite(a) || !isfinite(c) || a == 0.0f || c == 0.0f) {
        return; /* apply() decides these from a and c */
    }
    uint32_t sa;
    int32_t ea;
    int32_t ec;
    unpack_f32(a, &sa, &ea);
    unpack_f32(c, &ctx->sc, &ec);
    /* floor(sa * 2^32 / sc): long division in 8-bit digits, each a 32-bit
     * division (r < sc < 2^24 keeps (r << 8) | digit below 2^32). */
    uint32_t r = 0;
    uint64_t quot = 0;
    for (int i = 0; i < 7; i++) { /* the 3 bytes of sa, then 4 zero bytes */
        const uint32_t cur = (r << 8) | (i < 3 ? (sa >> (16 - 8 * i)) & 0xFFu : 0u);
        const uint32_t digit = cur / ctx->sc;
        r = cur - digit * ctx->sc;
        quot = (quot << 8) | digit;
    }
    ctx->quot = quot; /* (2^31, 2^33) */
    ctx->rem = r;
    ctx->exp = ea - ec - 32 + exp2;
    ctx->regular = 1;
    ctx->sign = (uint8_t)(f32_sign(a) ^ f32_sign(c));
}

/* apply() for the cases that are not finite and nonzero all round. */
static int special(const hil_qmul_ctx *ctx, float b)
{
    const float a = ctx->a;
    const float c = ctx->c;
    if (isnan(a) || isnan(b) || isnan(c) || isinf(a) || isinf(b)) {
        return 0; /* NaN, or an infinite product (inf * 0 is NaN) */
    }
    if (c == 0.0f) {
        return 0; /* x / 0: infinite, or NaN when x = 0 */
    }
    /* What is left: a zero factor or an infinite divisor (the only cases
     * that reach here with a, b finite and c nonzero): exactly zero. */
    return 1;
}

int hil_qmul_ctx_apply(const hil_qmul_ctx *ctx, float b, hil_qmul *q)
{
    q->multiplier = 0;
    q->shift = 0;
    uint32_t ub;
    memcpy(&ub, &b, sizeof ub);
    const uint32_t b_exp = (ub >> 23) & 0xFFu;
    if (!ctx->regular || (ub & 0x7FFFFFFFu) == 0 || b_exp == 0xFFu) {
        return special(ctx, b); /* some input is zero, infinite or NaN */
    }
    if ((ub >> 31) != ctx->sign) {
        return 0; /* negative */
    }
    uint32_t sb;
    int32_t eb;
    unpack_f32(b, &sb, &eb);
    /* floor(sb * rem / sc), sb * rem < 2^48: three more 32-bit divisions
     * (the remainder, the sticky bit, turns out not to matter: below). */
    const uint64_t x = (uint64_t)sb * ctx->rem;
    const uint32_t sc = ctx->sc;
    uint32_t cur = (uint32_t)(x >> 16);
    const uint32_t d1 = cur / sc; /* < 2^9 */
    cur = ((cur - d1 * sc) << 8) | ((uint32_t)(x >> 8) & 0xFFu);
    const uint32_t d2 = cur / sc;
    cur = ((cur - d2 * sc) << 8) | ((uint32_t)x & 0xFFu);
    const uint32_t d3 = cur / sc;
    const uint64_t quo = (uint64_t)sb * ctx->quot + ((d1 << 16) | (d2 << 8) | d3);
    /* quo in [2^54, 2^57) has 53 + drop bits. Step 2 keeps t = quo >> drop
     * and adds inc (nearest-even on the dropped bits and the sticky bit);
     * step 3 is (t + inc + 2^21) >> 22. inc only changes that when t's low
     * 22 bits are 0x1FFFFF (t + 1 then reaches the half): t is odd there, so
     * inc is just the first dropped bit. Both steps together: round up iff
     * the 23 bits from the first dropped one, w, are >= 0x3FFFFF (the half
     * bit of step 3 set, or everything below it including that dropped bit
     * all ones). t = 2^53 - 1 rounding up gives 2^31, renormalised below,
     * as step 2's carry into a 54th bit would be. */
    const uint32_t top = (uint32_t)(quo >> 32); /* [2^22, 2^25) */
    const int drop = 2 + (top >= (1u << 23)) + (top >= (1u << 24));
    const uint32_t w = (uint32_t)(quo >> (drop - 1)) & 0x7FFFFFu;
    uint32_t fixed = (uint32_t)(quo >> (drop + 22)) + (w >= 0x3FFFFFu);
    /* m = sig * 2^(ea + eb - ec - 32 + drop + exp2) with sig = t + inc;
     * frexp's exponent is that plus 53 (sig / 2^53 in [0.5, 1)). */
    int32_t shift = ctx->exp + eb + drop + 53;
    if (fixed == (1u << 31)) {
        fixed >>= 1;
        shift++;
    }
    if (shift < -31) {
        return 1; /* flushed to zero, like TFLM */
    }
    if (shift > 30) {
        return 0;
    }
    q->multiplier = (int32_t)fixed;
    q->shift = shift;
    return 1;
}

int hil_qmul_from_scales(float a, float b, float c, int exp2, hil_qmul *q)
{
    hil_qmul_ctx ctx;
    hil_qmul_ctx_init(&ctx, a, c, exp2);
    return hil_qmul_ctx_apply(&ctx, b, q);
}

int hil_bias_scale_ok(float input_scale, float filter_scale, float bias_scale, float output_scale)
{
    /* Most models are nowhere near the limit, so decide in float when the
     * float result r is far from it, and only otherwise pay for the double
     * computation (software on cores without a double FPU). With products,
     * quotient and scales normal (range-checked below), r differs from the
     * exact |in * filter - bias| / out by at most 2^-24 * in * filter / out
     * + 2^-22 * r (+ tiny subnormal terms); err is far above that, and the
     * double path is within 2^-51 of the exact value. */
    const float product = input_scale * filter_scale;
    if (product >= 1e-30f && product <= 1e30f && output_scale >= 1e-30f &&
        output_scale <= 1e30f && bias_scale >= 0.0f && bias_scale <= 1e30f) {
        const float r = fabsf(product - bias_scale) / output_scale;
        const float err = (product / output_scale + r) * (1.0f / 1048576.0f) + 1e-12f;
        if (r + err < 0.0199f) {
            return 1;
        }
        if (r - err > 0.0201f) {
            return 0;
        }
    }
    const double exact = (double)input_scale * (double)filter_scale;
    return fabs(exact - (double)bias_scale) / (double)output_scale <= 0.02;
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

void hil_act_range_i32(int32_t act, int32_t *act_min, int32_t *act_max)
{
    *act_min = INT32_MIN;
    *act_max = INT32_MAX;
    if (act == HIL_ACT_RELU) {
        *act_min = 0;
    } else if (act == HIL_ACT_RELU6) {
        *act_min = 0;
        *act_max = 6;
    } else if (act == HIL_ACT_RELU_N1_TO_1) {
        *act_min = -1;
        *act_max = 1;
    }
}
