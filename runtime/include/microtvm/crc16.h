/* SPDX-License-Identifier: Apache-2.0 */
/*
 * CRC-16 used by the framing layer: polynomial 0x1021, initial value 0xFFFF, no reflection, no
 * final XOR (CRC-16/IBM-3740, a.k.a. CRC-16/CCITT-FALSE). Check value of "123456789" is 0x29B1.
 */
#ifndef MICROTVM_CRC16_H_
#define MICROTVM_CRC16_H_

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define MTVM_CRC16_INIT ((uint16_t)0xFFFFu)

/* Continues a CRC over len more bytes. Start with MTVM_CRC16_INIT. */
uint16_t mtvm_crc16_update(uint16_t crc, const uint8_t* data, size_t len);

/* CRC of one buffer, starting from MTVM_CRC16_INIT. */
uint16_t mtvm_crc16(const uint8_t* data, size_t len);

#ifdef __cplusplus
}
#endif

#endif /* MICROTVM_CRC16_H_ */
