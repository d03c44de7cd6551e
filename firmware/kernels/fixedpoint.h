/* Inline fixed-point primitives for the elementwise, pooling, reduction and
 * activation kernels, with the exact rounding of TFLM's reference kernels
 * (its double-rounding MultiplyByQuantizedMultiplier and the gemmlowp-style
 * fixed-point functions it builds softmax, logistic and tanh from).
 *
 * These are the per-element versions of what quant.h offers out of line:
 * kernels call them in their inner loops, so they are static inline and take
 * a pre-split multiplier (hil_fx_mul) whose shifts and rounding masks were
 * worked out once in prepare.
 *
 * Signed right shifts are arithmetic (GCC and Clang define them so for the
 * two's complement targets hil builds for); int32 overflow that TFLM leaves
 * to wrap is done in uint32. */
#ifndef HIL_KERNELS_FIXEDPOINT_H
#define HIL_KERNELS_FIXEDPOINT_H

#include <stdint.h>
#include "kernels/quant.h"

/* A quantized multiplier split for per-element use:
 * y = RoundingDivideByPOT(SRDHM(x << left, multiplier), right). */
typedef struct {
    int32_t multiplier;
    uint8_t left;  /* 0..30 */
    uint8_t right; /* 0..31 */
    uint16_t pad_;
    int32_t mask; /* (1 << right) - 1 */
    int32_t half; /* mask >> 1 */
} hil_fx_mul;

/* Split a TFLM multiplier (multiplier, shift); the shift must satisfy
 * hil_qmul_in_range (callers check). */
hil_fx_mul hil_fx_mul_make(hil_qmul q);

/* Conversion of a uint32 bit pattern to int32, without implementation-
 * defined conversion. */
static inline int32_t hil_fx_i32(uint32_t u)
{
    return u <= (uint32_t)INT32_MAX ? (int32_t)u : -(int32_t)(~u) - 1;
}

static inline int32_t hil_fx_add_wrap(int32_t a, int32_t b)
{
    return hil_fx_i32((uint32_t)a + (uint32_t)b);
}

static inline int32_t hil_fx_sub_wrap(int32_t a, int32_t b)
{
    return hil_fx_i32((uint32_t)a - (uint32_t)b);
}

static inline int32_t hil_fx_mul_wrap(int32_t a, int32_t b)
{
    return hil_fx_i32((uint32_t)a * (uint32_t)b);
}

/* x * 2^left computed modulo 2^32, as TFLM's int32 `x * (1 << left)`. */
static inline int32_t hil_fx_shl_wrap(int32_t x, unsigned left)
{
    return hil_fx_i32((uint32_t)x << left);
}

/* Saturating rounding doubling high multiply (ARM SQRDMULH semantics). */
static inline int32_t hil_fx_srdhm(int32_t a, int32_t b)
{
    if (a == INT32_MIN && b == INT32_MIN) {
        return INT32_MAX;
    }
    const int64_t ab = (int64_t)a * (int64_t)b;
    const int64_t nudge = ab >= 0 ? ((int64_t)1 << 30) : (1 - ((int64_t)1 << 30));
    return (int32_t)((ab + nudge) / ((int64_t)1 << 31)); /* truncates toward zero */
}

/* x / 2^e rounded to nearest, ties away from zero, e in [0, 31]. */
static inline int32_t hil_fx_rdbpot(int32_t x, unsigned e)
{
    const int32_t mask = (int32_t)(((int64_t)1 << e) - 1);
    const int32_t remainder = x & mask;
    const int32_t threshold = (mask >> 1) + (x < 0 ? 1 : 0);
    return (x >> e) + (remainder > threshold ? 1 : 0);
}

/* The same with the mask and half mask precomputed. */
static inline int32_t hil_fx_rdbpot_m(int32_t x, unsigned e, int32_t mask, int32_t half)
{
    const int32_t threshold = half + (x < 0 ? 1 : 0);
    return (x >> e) + ((x & mask) > threshold ? 1 : 0);
}

/* TFLM MultiplyByQuantizedMultiplier (int32 input, double rounding). */
static inline int32_t hil_fx_apply(int32_t x, const hil_fx_mul *m)
{
    const int32_t high = hil_fx_srdhm(hil_fx_shl_wrap(x, m->left), m->multiplier);
    return hil_fx_rdbpot_m(high, m->right, m->mask, m->half);
}

/* MultiplyByQuantizedMultiplierSmallerThanOneExp: shift <= 0, no left shift. */
static inline int32_t hil_fx_apply_small(int32_t x, const hil_fx_mul *m)
{
    return hil_fx_rdbpot_m(hil_fx_srdhm(x, m->multiplier), m->right, m->mask, m->half);
}

/* ---- int16 forms (gemmlowp on std::int16_t) ---------------------------- */

/* int16 value of an int (the low 16 bits, two's complement). */
static inline int16_t hil_fx_i16(int32_t v)
{
    const uint32_t u = (uint32_t)v & 0xFFFFu;
    return (int16_t)(u <= 0x7FFFu ? (int32_t)u : (int32_t)u - 0x10000);
}

static inline int16_t hil_fx_srdhm16(int16_t a, int16_t b)
{
    if (a == INT16_MIN && b == INT16_MIN) {
        return INT16_MAX;
    }
    const int32_t ab = (int32_t)a * (int32_t)b;
    const int32_t nudge = ab >= 0 ? (1 << 14) : (1 - (1 << 14));
    return hil_fx_i16((ab + nudge) / (1 << 15));
}

/* gemmlowp RoundingDivideByPOT on int16 values: the mask is formed in
 * int16, so exponents of 16 and more give an all-ones mask, as in TFLM. */
static inline int16_t hil_fx_rdbpot16(int16_t x, unsigned e)
{
    const int16_t mask = hil_fx_i16((int32_t)(((int64_t)1 << e) - 1));
    const int16_t remainder = (int16_t)(x & mask);
    const int16_t threshold = hil_fx_i16((mask >> 1) + (x < 0 ? 1 : 0));
    return hil_fx_i16((x >> e) + (remainder > threshold ? 1 : 0));
}

/* ---- transcendental functions (fixedpoint.c) --------------------------- */

/* exp(a) for a <= 0, a in Q5.26 (5 integer bits); result in Q0.31. */
int32_t hil_fx_exp_on_negative_values_q5(int32_t a);
/* 1 / (1 + x) for x in [0, 1), x and result in Q0.31. */
int32_t hil_fx_one_over_one_plus_x(int32_t a);
/* logistic(a) and tanh(a) for a in Q4.27; result in Q0.31. */
int32_t hil_fx_logistic_q4(int32_t a);
int32_t hil_fx_tanh_q4(int32_t a);

/* TFLM GetReciprocal: 1 / x for x in Q(integer_bits), as a Q0.31 scale and
 * the number of bits the result must be shifted by. */
int32_t hil_fx_reciprocal(int32_t x, int integer_bits, int *num_bits_over_unit);

/* Count of leading zero bits (32 for 0). */
int hil_fx_clz32(uint32_t x);

#endif
