/**
 * CRC-16 of the framing layer: polynomial 0x1021, initial 0xFFFF, MSB first, no final XOR
 * (CRC-16/IBM-3740, also called CRC-16/CCITT-FALSE; Python's `binascii.crc_hqx(data, 0xFFFF)`).
 */

export const CRC16_INIT = 0xffff;

const TABLE = (() => {
  const table = new Uint16Array(256);
  for (let i = 0; i < 256; i++) {
    let crc = i << 8;
    for (let bit = 0; bit < 8; bit++)
      crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
    table[i] = crc;
  }
  return table;
})();

/** Continues `crc` over `data` (from `start` to `end`). */
export function crc16Update(crc: number, data: Uint8Array, start = 0, end = data.length): number {
  let value = crc & 0xffff;
  for (let i = start; i < end; i++)
    value = ((value << 8) & 0xffff) ^ TABLE[((value >> 8) ^ data[i]!) & 0xff]!;
  return value;
}

/** Continues `crc` over one byte. */
export function crc16Step(crc: number, byte: number): number {
  return ((crc << 8) & 0xffff) ^ TABLE[((crc >> 8) ^ byte) & 0xff]!;
}

/** CRC-16 of `data` starting from 0xFFFF. */
export function crc16(data: Uint8Array): number {
  return crc16Update(CRC16_INIT, data);
}
