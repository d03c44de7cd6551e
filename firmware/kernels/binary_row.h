/* One row of an elementwise binary kernel (ADD, SUB, MUL) where either operand
 * may be a single broadcast value: sa/sb say whether a/b advance. LOAD_A/LOAD_B
 * turn an element into the V that ELEM combines, so a repeated operand is
 * converted once per row; SETUP runs once first (e.g. hoisting the clamp
 * bounds, which the compiler cannot keep in registers across stores to o). */
#ifndef HIL_KERNELS_BINARY_ROW_H
#define HIL_KERNELS_BINARY_ROW_H

#include <stdint.h>

#define HIL_BINARY_ROW(NAME, PARAMS_T, T, V, SETUP, LOAD_A, LOAD_B, ELEM)                    \
    static void NAME(const void *params, const void *pa, uint32_t sa, const void *pb,       \
                     uint32_t sb, void *po, uint32_t n)                                     \
    {                                                                                       \
        const PARAMS_T *p = params;                                                         \
        const T *a = pa;                                                                    \
        const T *b = pb;                                                                    \
        T *o = po;                                                                          \
        SETUP;                                                                              \
        if (sa && sb) {                                                                     \
            for (uint32_t i = 0; i < n; i++) {                                              \
                const V x = LOAD_A(a[i]);                                                   \
                const V y = LOAD_B(b[i]);                                                   \
                o[i] = (T)ELEM(x, y);                                                       \
            }                                                                               \
        } else if (sa) {                                                                    \
            const V y = LOAD_B(b[0]);                                                       \
            for (uint32_t i = 0; i < n; i++) {                                              \
                o[i] = (T)ELEM(LOAD_A(a[i]), y);                                            \
            }                                                                               \
        } else {                                                                            \
            const V x = LOAD_A(a[0]);                                                       \
            for (uint32_t i = 0; i < n; i++) {                                              \
                o[i] = (T)ELEM(x, LOAD_B(b[i]));                                            \
            }                                                                               \
        }                                                                                   \
    }

/* An operand used as it is. */
#define HIL_ROW_AS_IS(v) (v)

#endif
