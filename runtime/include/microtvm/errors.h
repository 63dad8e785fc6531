/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The last error: one bounded message buffer behind TVMAPISetLastError / TVMGetLastError, and the
 * helpers the runtime uses to set, clear and annotate it.
 */
#ifndef MICROTVM_ERRORS_H_
#define MICROTVM_ERRORS_H_

#ifdef __cplusplus
extern "C" {
#endif

#ifndef MTVM_LAST_ERROR_BYTES
#define MTVM_LAST_ERROR_BYTES 256
#endif

/* Sets the last error message, printf-style (bounded to MTVM_LAST_ERROR_BYTES). */
#if defined(__GNUC__)
__attribute__((format(printf, 1, 2)))
#endif
void mtvm_set_error(const char* fmt, ...);

/* Clears the last error so that a failure without a message can be told apart. */
void mtvm_clear_error(void);

/* Puts "<prefix>: " before the last error (or makes it "<prefix>" when there is none), so a caller
 * can say where a failure happened without losing what failed. */
void mtvm_prefix_error(const char* prefix);

#ifdef __cplusplus
}
#endif

#endif /* MICROTVM_ERRORS_H_ */
