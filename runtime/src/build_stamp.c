/* SPDX-License-Identifier: Apache-2.0 */
/*
 * microtvm.build_stamp: returns the build stamp's digest compiled into the firmware.
 */
#include <microtvm/build_stamp.h>
#include <microtvm/errors.h>
#include <microtvm/globals.h>
#include <tvm/runtime/c_runtime_api.h>

/* The template writes this header into its build directory; without it the firmware has no stamp. */
#if defined(__has_include)
#if __has_include("microtvm_build_stamp.h")
#include "microtvm_build_stamp.h"
#endif
#endif

#ifndef MICROTVM_BUILD_STAMP
#define MICROTVM_BUILD_STAMP ""
#endif

static const char g_build_stamp[] = MICROTVM_BUILD_STAMP;

const char* mtvm_build_stamp(void) { return g_build_stamp; }

static int build_stamp(TVMValue* args, int* type_codes, int num_args, TVMValue* ret, int* ret_code,
                       void* resource) {
  (void)args;
  (void)type_codes;
  (void)resource;
  if (num_args != 0) {
    mtvm_set_error("microtvm.build_stamp takes no arguments, got %d", num_args);
    return kTvmErrorFunctionCallNumArguments;
  }
  ret[0].v_str = g_build_stamp;
  ret_code[0] = kTVMStr;
  return 0;
}

tvm_crt_error_t mtvm_build_stamp_register(void) {
  return mtvm_global_register("microtvm.build_stamp", build_stamp, 0);
}
