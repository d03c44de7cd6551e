/* Fixed-point exp, 1/(1+x), logistic and tanh with the bit-exact results of
 * the gemmlowp-derived functions TFLM's reference kernels use (see
 * fixedpoint.h). Values are raw int32 words in Qm.(31-m) formats; additions
 * wrap like the reference's plain int32 adds. */
#include "kernels/fixedpoint.h"

hil_fx_mul hil_fx_mul_make(hil_qmul q)
{
    hil_fx_mul m;
    m.multiplier = q.multiplier;
    m.left = (uint8_t)(q.shift > 0 ? q.shift : 0);
    m.right = (uint8_t)(q.shift > 0 ? 0 : -q.shift);
    m.pad_ = 0;
    m.mask = (int32_t)(((int64_t)1 << m.right) - 1);
    m.half = m.mask >> 1;
    return m;
}

int hil_fx_clz32(uint32_t x)
{
    if (x == 0) {
        return 32;
    }
#if defined(__GNUC__)
    return __builtin_clz(x);
#else
    int n = 0;
    while ((x & 0x80000000u) == 0) {
        x <<= 1;
        n++;
    }
    return n;
#endif
}

/* x * 2^k, saturating to the int32 range, k in [1, 30]. */
static int32_t sat_shl(int32_t x, int k)
{
    const int32_t threshold = (int32_t)((1u << (31 - k)) - 1u);
    if (x > threshold) {
        return INT32_MAX;
    }
    if (x < -threshold) {
        return INT32_MIN;
    }
    return (int32_t)((int64_t)x * ((int64_t)1 << k));
}

/* (a + b) / 2 rounded half away from zero, computed in 64 bits. */
static int32_t rounding_half_sum(int32_t a, int32_t b)
{
    const int64_t sum = (int64_t)a + (int64_t)b;
    const int64_t sign = sum >= 0 ? 1 : -1;
    return (int32_t)((sum + sign) / 2);
}

/* exp(a) for a in [-1/4, 0), Q0.31 in and out: a Taylor series around
 * -1/8 (the reference's constants: exp(-1/8) and 1/3 in Q0.31). */
static int32_t exp_quarter_interval(int32_t a)
{
    const int32_t exp_minus_eighth = 1895147668;
    const int32_t one_third = 715827883;
    const int32_t x = hil_fx_add_wrap(a, (int32_t)1 << 28);
    const int32_t x2 = hil_fx_srdhm(x, x);
    const int32_t x3 = hil_fx_srdhm(x2, x);
    const int32_t x4 = hil_fx_srdhm(x2, x2);
    const int32_t x4_over_4 = hil_fx_rdbpot(x4, 2);
    const int32_t poly = hil_fx_rdbpot(
        hil_fx_add_wrap(hil_fx_srdhm(hil_fx_add_wrap(x4_over_4, x3), one_third), x2), 1);
    return hil_fx_add_wrap(exp_minus_eighth,
                           hil_fx_srdhm(exp_minus_eighth, hil_fx_add_wrap(x, poly)));
}

/* exp(-2^k) in Q0.31 for k = -2 .. 4 (the barrel shifter's factors). */
static const int32_t exp_neg_pow2[7] = {
    1672461947, 1302514674, 790015084, 290630308, 39332535, 720401, 242,
};

/* exp(a) for a <= 0 given with `ib` integer bits (1..5); Q0.31 result. */
static int32_t exp_on_negative_values(int32_t a, int ib)
{
    const int frac = 31 - ib;
    const int32_t quarter = (int32_t)1 << (frac - 2);
    const int32_t low = hil_fx_sub_wrap(a & (quarter - 1), quarter);
    int32_t result = exp_quarter_interval(sat_shl(low, ib));
    const int32_t remainder = hil_fx_sub_wrap(low, a);
    for (int k = -2; k <= 4; k++) {
        if (ib > k && (remainder & ((int32_t)1 << (frac + k))) != 0) {
            result = hil_fx_srdhm(result, exp_neg_pow2[k + 2]);
        }
    }
    return a == 0 ? INT32_MAX : result;
}

int32_t hil_fx_exp_on_negative_values_q5(int32_t a)
{
    return exp_on_negative_values(a, 5);
}

/* Newton-Raphson on half of the denominator, in Q2.29 (the reference's
 * 48/17 and -32/17 starting constants); returns x ~ 1 / half_denominator. */
static int32_t newton_reciprocal_q2(int32_t a)
{
    const int32_t half_den = rounding_half_sum(a, INT32_MAX);
    const int32_t c48_17 = 1515870810;
    const int32_t cm32_17 = -1010580540;
    const int32_t one_q2 = (int32_t)1 << 29;
    int32_t x = hil_fx_add_wrap(c48_17, hil_fx_srdhm(half_den, cm32_17));
    for (int i = 0; i < 3; i++) {
        const int32_t hdx = hil_fx_srdhm(half_den, x);
        const int32_t one_minus = hil_fx_sub_wrap(one_q2, hdx);
        x = hil_fx_add_wrap(x, sat_shl(hil_fx_srdhm(x, one_minus), 2));
    }
    return x;
}

int32_t hil_fx_one_over_one_plus_x(int32_t a)
{
    return sat_shl(newton_reciprocal_q2(a), 1);
}

static int32_t one_minus_x_over_one_plus_x(int32_t a)
{
    return sat_shl(hil_fx_sub_wrap(newton_reciprocal_q2(a), (int32_t)1 << 29), 2);
}

int32_t hil_fx_logistic_q4(int32_t a)
{
    if (a == 0) {
        return (int32_t)1 << 30;
    }
    const int positive = a > 0;
    const int32_t magnitude = positive ? a : hil_fx_sub_wrap(0, a);
    const int32_t on_positive =
        hil_fx_one_over_one_plus_x(exp_on_negative_values(hil_fx_sub_wrap(0, magnitude), 4));
    return positive ? on_positive : hil_fx_sub_wrap(INT32_MAX, on_positive);
}

int32_t hil_fx_tanh_q4(int32_t a)
{
    if (a == 0) {
        return 0;
    }
    const int negative = a < 0;
    const int32_t n = negative ? a : hil_fx_sub_wrap(0, a);
    /* exp(2n): the same raw word read with one more integer bit. */
    const int32_t t = one_minus_x_over_one_plus_x(exp_on_negative_values(n, 5));
    return negative ? hil_fx_sub_wrap(0, t) : t;
}

int32_t hil_fx_reciprocal(int32_t x, int integer_bits, int *num_bits_over_unit)
{
    const int headroom_plus_one = hil_fx_clz32((uint32_t)x);
    *num_bits_over_unit = integer_bits - headroom_plus_one;
    const uint32_t shifted =
        (headroom_plus_one >= 32 ? 0u : ((uint32_t)x << headroom_plus_one)) - (1u << 31);
    return hil_fx_one_over_one_plus_x(hil_fx_i32(shifted));
}
