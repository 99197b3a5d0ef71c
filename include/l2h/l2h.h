/* SPDX-License-Identifier: MIT (see LICENSE) */
/* l2h/l2h.h -- learning to hash: compact binary codes from feature vectors, and exact Hamming
 * search over them. This umbrella header includes the whole public API.
 *
 * Ownership rules, the same for every module:
 *  1. Whoever creates a handle (l2h_X_create / _load / _train) frees it with l2h_X_free;
 *     l2h_X_free(NULL) is a no-op.
 *  2. Functions borrow pointer arguments for the duration of the call; what a handle keeps, it
 *     copies.
 *  3. Outputs go into caller-allocated buffers whose sizes the documentation gives
 *     (l2h_code_bytes, l2h_model_bits, ...); the library never returns malloc'ed arrays.
 *  4. Every fallible function returns l2h_status; the detail is in l2h_last_error().
 *  5. The library never prints to stdout, never exits, never aborts on bad input. */
#ifndef L2H_L2H_H
#define L2H_L2H_H

#include "l2h/version.h"
#include "l2h/status.h"
#include "l2h/codes.h"
#include "l2h/io.h"
#include "l2h/index.h"
#include "l2h/eval.h"
#include "l2h/model.h"
#include "l2h/online.h"
#include "l2h/train.h"
#include "l2h/train_step.h"
#include "l2h/image.h"
#include "l2h/finetune.h"

#endif
