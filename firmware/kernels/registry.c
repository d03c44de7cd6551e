/* The dispatch table. One line per operator: X(BUILTIN_NAME, kernel_symbol). */
#include "kernels/registry.h"

#include <stddef.h>
#include "engine/op_names.h"

#define HIL_KERNELS(X) \
    X(FULLY_CONNECTED, fully_connected)

#define HIL_DECLARE(op, sym) extern const hil_kernel hil_kernel_##sym;
HIL_KERNELS(HIL_DECLARE)
#undef HIL_DECLARE

typedef struct {
    int32_t code;
    const hil_kernel *kernel;
} hil_registry_entry;

#define HIL_ENTRY(op, sym) {HIL_OP_##op, &hil_kernel_##sym},
static const hil_registry_entry registry[] = {HIL_KERNELS(HIL_ENTRY)};
#undef HIL_ENTRY

const hil_kernel *hil_kernel_find(int32_t builtin_code)
{
    for (size_t i = 0; i < sizeof registry / sizeof registry[0]; i++) {
        if (registry[i].code == builtin_code) {
            return registry[i].kernel;
        }
    }
    return NULL;
}
