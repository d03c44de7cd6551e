/* The kernel interface the interpreter calls. The engine declares it; the
 * kernel set linked in provides hil_kernel_find (firmware/kernels/registry.c),
 * so the engine never includes a kernel header. Adding an operator means one
 * kernel file defining a `const hil_kernel hil_kernel_<name>` and one line in
 * HIL_KERNELS (kernels/registry.c). */
#ifndef HIL_ENGINE_KERNEL_H
#define HIL_ENGINE_KERNEL_H

#include <stdint.h>
#include "engine/interp.h"
#include "engine/model.h"
#include "hil/status.h"

typedef struct hil_kernel {
    const char *name;
    /* Bytes of per-op data `prepare` will fill, computed from the model
     * alone so the loader can size the whole arena before using any of it.
     * The loader hands prepare exactly this much, zeroed, in node->data. */
    uint32_t (*data_bytes)(hil_model *model, const hil_model_op *op);
    /* Check shapes, types and options; precompute into node->data.
     * `op` gives the flatbuffer view (options) and is valid only here. */
    hil_status (*prepare)(hil_interp *ip, hil_node *node, const hil_model_op *op, hil_msg *msg);
    /* The math; must not fail on anything prepare accepted. */
    hil_status (*eval)(hil_interp *ip, const hil_node *node, hil_msg *msg);
} hil_kernel;

/* The kernel for a builtin code, or NULL when the kernel set lacks it.
 * Provided by the kernel set, not by the engine. */
const hil_kernel *hil_kernel_find(int32_t builtin_code);

#endif
