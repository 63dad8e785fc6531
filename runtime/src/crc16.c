/* SPDX-License-Identifier: Apache-2.0 */
#include "microtvm/crc16.h"

/* Bitwise form: no 512-byte table, which matters more on small targets than the speed. */
uint16_t mtvm_crc16_update(uint16_t crc, const uint8_t* data, size_t len) {
  size_t i;
  for (i = 0; i < len; i++) {
    int bit;
    crc = (uint16_t)(crc ^ ((uint16_t)data[i] << 8));
    for (bit = 0; bit < 8; bit++) {
      if (crc & 0x8000u) {
        crc = (uint16_t)((crc << 1) ^ 0x1021u);
      } else {
        crc = (uint16_t)(crc << 1);
      }
    }
  }
  return crc;
}

uint16_t mtvm_crc16(const uint8_t* data, size_t len) {
  return mtvm_crc16_update(MTVM_CRC16_INIT, data, len);
}
