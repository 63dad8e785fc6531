/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The platform hooks a port of the device runtime provides (one implementation per template:
 * the host process, a Cortex-M board, ...). Names and signatures are TVM's, so code written for
 * TVM's C runtime ports over unchanged.
 */
#ifndef TVM_RUNTIME_CRT_PLATFORM_H_
#define TVM_RUNTIME_CRT_PLATFORM_H_

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <dlpack/dlpack.h>
#include <tvm/runtime/crt/error_codes.h>

#ifdef __cplusplus
extern "C" {
#endif


/* Does not return: resets or halts the device. */
void TVMPlatformAbort(tvm_crt_error_t code) __attribute__((noreturn));

/* vsnprintf-like, bounded by out_size; returns the number of bytes written (without the NUL). */
size_t TVMPlatformFormatMessage(char* out, size_t out_size, const char* fmt, va_list args);

/* Allocates n bytes (n == 0 allocates a minimal block). On failure *out is untouched and
 * kTvmErrorPlatformNoMemory is returned. */
tvm_crt_error_t TVMPlatformMemoryAllocate(size_t n, DLDevice dev, void** out);
tvm_crt_error_t TVMPlatformMemoryFree(void* ptr, DLDevice dev);

/* One timer: Start fails with kTvmErrorPlatformTimerBadState while running; Stop reports the
 * elapsed time in seconds. */
tvm_crt_error_t TVMPlatformTimerStart(void);
tvm_crt_error_t TVMPlatformTimerStop(double* elapsed_time_seconds);

/* Optional hooks around a timed measurement. */
tvm_crt_error_t TVMPlatformBeforeMeasurement(void);
tvm_crt_error_t TVMPlatformAfterMeasurement(void);

/* Fills buffer with n random bytes (session nonces); should differ across resets. */
tvm_crt_error_t TVMPlatformGenerateRandom(uint8_t* buffer, size_t n);

/* Sets up memory and peripherals before the runtime starts. */
tvm_crt_error_t TVMPlatformInitialize(void);

#ifdef __cplusplus
}
#endif

#endif /* TVM_RUNTIME_CRT_PLATFORM_H_ */
