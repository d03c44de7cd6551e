/* int8 dot products, sum of w[i] * (x[i] + input_offset) modulo 2^32, for
 * the convolution and fully connected kernels. With the Arm DSP extension
 * (Cortex-M4, M55) two products per SMLAD; otherwise plain C. Any order of
 * summation gives the same bits: the sum is taken modulo 2^32, as TFLM's
 * int32 accumulator wraps. |x + input_offset| <= 255 fits a 16-bit lane. */
#ifndef HIL_KERNELS_DOT_I8_H
#define HIL_KERNELS_DOT_I8_H

#include <stdint.h>
#include <string.h>

#if defined(__ARM_FEATURE_SIMD32) && __ARM_FEATURE_SIMD32
#include <arm_acle.h>
#endif

#if defined(__ARM_FEATURE_SIMD32) && __ARM_FEATURE_SIMD32
/* SXTB16 / SXTAB16 of the odd bytes: the rotation is part of the
 * instruction, which the ACLE intrinsics of GCC 12 do not expose. */
static inline int32_t hil_sxtb16_odd(uint32_t v)
{
    int32_t r;
    __asm__("sxtb16 %0, %1, ror #8" : "=r"(r) : "r"(v));
    return r;
}

static inline int32_t hil_sxtab16_odd(int32_t a, uint32_t v)
{
    int32_t r;
    __asm__("sxtab16 %0, %1, %2, ror #8" : "=r"(r) : "r"(a), "r"(v));
    return r;
}
#endif

/* sum of w[i] * (x[i] + input_offset), i < n, modulo 2^32. With the Arm DSP
 * extension (Cortex-M4, M55), four products per two SMLADs: SXTAB16 adds the
 * offset to two sign-extended input bytes at once ((x + offset) fits 16 bits),
 * SXTB16 widens two weights, SMLAD adds both products to the accumulator
 * (modulo 2^32, the same bits as the scalar sum in any order). */
static inline uint32_t hil_dot_i8(const int8_t *x, const int8_t *w, uint32_t n,
                                  int32_t input_offset)
{
    uint32_t acc = 0;
#if defined(__ARM_FEATURE_SIMD32) && __ARM_FEATURE_SIMD32
    const uint32_t off = (uint32_t)input_offset & 0xffffu;
    const int16x2_t off2 = (int16x2_t)(off | (off << 16));
    int32_t sum = 0;
    const int8_t *const end = x + (n & ~3u);
    while (x != end) {
        uint32_t xv;
        uint32_t wv;
        memcpy(&xv, x, 4); /* unaligned LDRs */
        memcpy(&wv, w, 4);
        x += 4;
        w += 4;
        sum = __smlad(__sxtab16(off2, (int8x4_t)xv), __sxtb16((int8x4_t)wv), sum);
        sum = __smlad(hil_sxtab16_odd(off2, xv), hil_sxtb16_odd(wv), sum);
    }
    n &= 3u;
    acc = (uint32_t)sum;
#else
    for (; n >= 4u; n -= 4u, x += 4, w += 4) {
        acc += (uint32_t)((int32_t)w[0] * ((int32_t)x[0] + input_offset));
        acc += (uint32_t)((int32_t)w[1] * ((int32_t)x[1] + input_offset));
        acc += (uint32_t)((int32_t)w[2] * ((int32_t)x[2] + input_offset));
        acc += (uint32_t)((int32_t)w[3] * ((int32_t)x[3] + input_offset));
    }
#endif
    for (uint32_t i = 0; i < n; i++) {
        acc += (uint32_t)((int32_t)w[i] * ((int32_t)x[i] + input_offset));
    }
    return acc;
}

/* Two dot products sharing the input: w0 and w1 are the filters of two
 * output channels; the input is loaded and widened once for both. */
static inline void hil_dot2_i8(const int8_t *x, const int8_t *w0, const int8_t *w1, uint32_t n,
                               int32_t input_offset, uint32_t *acc0, uint32_t *acc1)
{
    uint32_t a0 = *acc0;
    uint32_t a1 = *acc1;
#if defined(__ARM_FEATURE_SIMD32) && __ARM_FEATURE_SIMD32
    const uint32_t off = (uint32_t)input_offset & 0xffffu;
    const int16x2_t off2 = (int16x2_t)(off | (off << 16));
    int32_t s0 = 0;
    int32_t s1 = 0;
    const int8_t *const end = x + (n & ~3u);
    while (x != end) {
        uint32_t xv;
        uint32_t v0;
        uint32_t v1;
        memcpy(&xv, x, 4);
        memcpy(&v0, w0, 4);
        memcpy(&v1, w1, 4);
        x += 4;
        w0 += 4;
        w1 += 4;
        const int16x2_t xe = __sxtab16(off2, (int8x4_t)xv);
        const int16x2_t xo = hil_sxtab16_odd(off2, xv);
        s0 = __smlad(xe, __sxtb16((int8x4_t)v0), s0);
        s0 = __smlad(xo, hil_sxtb16_odd(v0), s0);
        s1 = __smlad(xe, __sxtb16((int8x4_t)v1), s1);
        s1 = __smlad(xo, hil_sxtb16_odd(v1), s1);
    }
    n &= 3u;
    a0 += (uint32_t)s0;
    a1 += (uint32_t)s1;
#else
    for (; n >= 2u; n -= 2u, x += 2, w0 += 2, w1 += 2) {
        const int32_t x0 = (int32_t)x[0] + input_offset;
        const int32_t x1 = (int32_t)x[1] + input_offset;
        a0 += (uint32_t)((int32_t)w0[0] * x0) + (uint32_t)((int32_t)w0[1] * x1);
        a1 += (uint32_t)((int32_t)w1[0] * x0) + (uint32_t)((int32_t)w1[1] * x1);
    }
#endif
    for (uint32_t i = 0; i < n; i++) {
        const int32_t xi = (int32_t)x[i] + input_offset;
        a0 += (uint32_t)((int32_t)w0[i] * xi);
        a1 += (uint32_t)((int32_t)w1[i] * xi);
    }
    *acc0 = a0;
    *acc1 = a1;
}

#endif
