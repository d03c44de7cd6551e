// The op resolver of a TFLM image, defined by the source hil generates for
// each image (hil/firmware/tflm_resolver.py): a MicroMutableOpResolver with
// every builtin TFLM registers, or only a model's operators. Constructed in
// static storage on the first call; the adapter calls it once, at init.
#ifndef HIL_TFLM_RESOLVER_H
#define HIL_TFLM_RESOLVER_H

#include "tensorflow/lite/micro/micro_op_resolver.h"

const tflite::MicroOpResolver& hil_tflm_resolver();

#endif
