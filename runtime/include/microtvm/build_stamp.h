/* SPDX-License-Identifier: Apache-2.0 */
/*
 * microtvm.build_stamp: the global function (no arguments) that returns the digest of the build
 * stamp the firmware was built with, so a host can tell whether the firmware is current.
 *
 * The digest is the macro MICROTVM_BUILD_STAMP from the header microtvm_build_stamp.h, which a
 * template generates in its build directory at build time and puts on the include path. Built
 * without that header, the function returns "" (a firmware without a stamp).
 */
#ifndef MICROTVM_BUILD_STAMP_H_
#define MICROTVM_BUILD_STAMP_H_

#include <tvm/runtime/crt/error_codes.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The digest compiled in ("" without a stamp header). */
const char* mtvm_build_stamp(void);

/* Registers the global microtvm.build_stamp. */
tvm_crt_error_t mtvm_build_stamp_register(void);

#ifdef __cplusplus
}
#endif

#endif /* MICROTVM_BUILD_STAMP_H_ */
