/* SPDX-License-Identifier: Apache-2.0 */
/*
 * UART echo without framing: every received byte is sent back. It measures the emulated UART's
 * ceiling (bench/qemu-transport.ts) and checks the wiring of a real board with a serial terminal.
 * Build it with `make APP=uart-echo`.
 */
#include <tvm/runtime/crt/platform.h>

#include "uart.h"

int main(void) {
  uint8_t chunk[256];
  (void)TVMPlatformInitialize();
  mtvm_uart_init();
  for (;;) {
    size_t n = mtvm_uart_read(chunk, sizeof(chunk));
    if (n == 0) {
      mtvm_uart_wait_readable();
      continue;
    }
    (void)mtvm_uart_write(NULL, chunk, n);
  }
}
