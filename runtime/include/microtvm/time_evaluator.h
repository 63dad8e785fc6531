/* SPDX-License-Identifier: Apache-2.0 */
/*
 * runtime.RPCTimeEvaluator: times a module function on the device with the platform timer.
 *
 * The global takes (Module, Str name, Int device_type, Int device_id, Int number, Int repeat,
 * Int min_repeat_ms, Int limit_zero_time_iterations, Int cooldown_interval_ms,
 * Int repeats_to_cooldown, [Int cache_flush_bytes,] Str f_preproc) -- 12 arguments as TVM v0.14+
 * sends them, or 11 without cache_flush_bytes (v0.10-v0.13) -- and returns a function handle in
 * pseudo-module MTVM_TIME_EVALUATOR_MODULE_INDEX. Calling it returns Bytes of `repeat` float64 LE
 * values, the mean seconds per call of each repetition.
 */
#ifndef MICROTVM_TIME_EVALUATOR_H_
#define MICROTVM_TIME_EVALUATOR_H_

#include <stdint.h>
#include <tvm/runtime/crt/error_codes.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Forgets any earlier evaluator, registers the global runtime.RPCTimeEvaluator and the
 * pseudo-module its functions live in. */
tvm_crt_error_t mtvm_time_evaluator_register(void);

/* Waits `ms` milliseconds: the evaluator's cooldown_interval_ms, after every repeats_to_cooldown-th
 * repetition (as TVM's runtimes do). Ports that can wait define it; the weak default fails the
 * measurement with an error that says to send cooldown_interval_ms = 0. */
tvm_crt_error_t mtvm_platform_sleep_ms(int64_t ms);

#ifdef __cplusplus
}
#endif

#endif /* MICROTVM_TIME_EVALUATOR_H_ */
