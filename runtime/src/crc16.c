/* SPDX-License-Identifier: Apache-2.0 */
#include "microtvm/crc16.h"

/* Byte-wise without a table: the eight shift-and-xor steps of one byte of polynomial 0x1021
 * folded into a few operations (x ^= x >> 4 gathers the feedback bits). Needs no 512-byte table,
 * which matters on small targets, and costs a quarter of the bit-by-bit loop. */
uint16_t mtvm_crc16_update(uint16_t crc, const uint8_t* data, size_t len) {
  size_t i;
  for (i = 0; i < len; i++) {
    uint16_t x = (uint16_t)(((crc >> 8) ^ data[i]) & 0xFFu);
    x = (uint16_t)(x ^ (x >> 4));
    crc = (uint16_t)((crc << 8) ^ (x << 12) ^ (x << 5) ^ x);
  }
  return crc;
}

uint16_t mtvm_crc16(const uint8_t* data, size_t len) {
  return mtvm_crc16_update(MTVM_CRC16_INIT, data, len);
}
