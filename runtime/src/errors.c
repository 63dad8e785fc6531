/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The last error, as TVMGetLastError returns it.
 */
#include <microtvm/errors.h>
#include <stdarg.h>
#include <string.h>
#include <tvm/runtime/c_runtime_api.h>
#include <tvm/runtime/crt/platform.h>

static char g_last_error[MTVM_LAST_ERROR_BYTES];

void TVMAPISetLastError(const char* msg) {
  size_t n = strlen(msg);
  if (n >= sizeof(g_last_error)) n = sizeof(g_last_error) - 1;
  memcpy(g_last_error, msg, n);
  g_last_error[n] = '\0';
}

const char* TVMGetLastError(void) { return g_last_error; }

void mtvm_set_error(const char* fmt, ...) {
  va_list args;
  va_start(args, fmt);
  size_t n = TVMPlatformFormatMessage(g_last_error, sizeof(g_last_error), fmt, args);
  va_end(args);
  if (n >= sizeof(g_last_error)) n = sizeof(g_last_error) - 1;
  g_last_error[n] = '\0';
}

void mtvm_clear_error(void) { g_last_error[0] = '\0'; }

void mtvm_prefix_error(const char* prefix) {
  size_t cap = sizeof(g_last_error) - 1;
  size_t p = strlen(prefix);
  size_t old = strlen(g_last_error);
  size_t sep = old > 0 ? 2 : 0;
  if (p > cap) p = cap;
  if (sep > cap - p) sep = cap - p;
  size_t keep = old < cap - p - sep ? old : cap - p - sep;
  memmove(g_last_error + p + sep, g_last_error, keep);
  memcpy(g_last_error, prefix, p);
  if (sep > 0) memcpy(g_last_error + p, ": ", sep);
  g_last_error[p + sep + keep] = '\0';
}
