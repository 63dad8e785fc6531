/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Operator timing for AOT models. TVM's AOT entry function calls each operator as a plain C
 * function, so no executor sits between them to time them. Instead the model's generated C is
 * compiled with -finstrument-functions: the compiler calls __cyg_profile_func_enter and
 * __cyg_profile_func_exit around every function of the model, and these hooks, when armed,
 * accumulate the time and the number of calls of each function at each call depth (0: the
 * entry wrapper, 1: the AOT main function, 2: the operators it calls, 3: what those call).
 *
 * The host arms them with the global function microtvm.profile.start, runs the model through the
 * AOT executor, and fetches the table with microtvm.profile.read (which disarms). Disarmed, each
 * hook is one load and a return. The host names the functions from the firmware's symbol table.
 *
 * microtvm.profile.read returns Bytes, little-endian:
 *   header (48 bytes): magic "MTPF", u8 version (1), u8 flags (1: more functions than records,
 *     2: calls deeper than MTVM_PROFILE_MAX_DEPTH were not recorded), u16 record count,
 *     u64 clock ticks per second, u64 address of mtvm_profiler_register (to match the firmware's
 *     symbol table when it is loaded at another address), char[24] clock name (NUL padded).
 *   records (24 bytes each): u64 function address, u64 ticks, u32 calls, u16 depth, u16 0.
 */
#ifndef MICROTVM_PROFILER_H_
#define MICROTVM_PROFILER_H_

#include <stdint.h>

#include <tvm/runtime/crt/error_codes.h>

#ifdef __cplusplus
extern "C" {
#endif

#ifndef MTVM_PROFILE_MAX_RECORDS
#define MTVM_PROFILE_MAX_RECORDS 48
#endif

#ifndef MTVM_PROFILE_MAX_DEPTH
#define MTVM_PROFILE_MAX_DEPTH 4
#endif

#define MTVM_PROFILE_HEADER_BYTES 48
#define MTVM_PROFILE_RECORD_BYTES 24

/* The clock the hooks read, supplied by the platform (cycles, timer ticks or nanoseconds). A
 * platform without one keeps the weak default, which reads 0 at 0 Hz; the host then says that
 * operator timing is not available. */
uint64_t mtvm_profile_clock(void);
/* Ticks per second of mtvm_profile_clock. */
uint64_t mtvm_profile_clock_hz(void);
/* What the clock counts, e.g. "SysTick" or "CLOCK_MONOTONIC ns" (at most 23 characters). */
const char* mtvm_profile_clock_name(void);

/* Registers the globals microtvm.profile.start and microtvm.profile.read (mtvm_runtime_init). */
tvm_crt_error_t mtvm_profiler_register(void);

/* Clears the table and arms the hooks. */
void mtvm_profiler_start(void);
/* Disarms the hooks and writes the table in the format above into out (at most capacity bytes;
 * records that do not fit are left out and flag 1 is set). Returns the bytes written. */
uint32_t mtvm_profiler_read(uint8_t* out, uint32_t capacity);

#ifdef __cplusplus
}
#endif

#endif /* MICROTVM_PROFILER_H_ */
