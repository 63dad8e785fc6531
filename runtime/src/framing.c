/* SPDX-License-Identifier: Apache-2.0 */
#include "microtvm/framing.h"

#include "microtvm/crc16.h"

#include <string.h>

/* Escaped bytes are staged here before each write: small enough for any stack. */
#define MTVM_FRAMER_CHUNK 64

static const uint8_t kPacketStartSequence[2] = {MTVM_FRAMING_ESCAPE_START,
                                                MTVM_FRAMING_PACKET_START};

void mtvm_framer_init(mtvm_framer_t* framer, mtvm_write_fn_t write, void* write_ctx) {
  framer->write = write;
  framer->write_ctx = write_ctx;
  mtvm_framer_reset(framer);
}

void mtvm_framer_reset(mtvm_framer_t* framer) {
  framer->state = kMtvmFramerReset;
  framer->crc = MTVM_CRC16_INIT;
  framer->remaining = 0;
}

static tvm_crt_error_t write_all(mtvm_framer_t* framer, const uint8_t* data, size_t len) {
  while (len > 0) {
    int32_t n = framer->write(framer->write_ctx, data, len);
    if (n <= 0) {
      return kTvmErrorWriteStreamShortWrite;
    }
    if ((size_t)n > len) {
      return kTvmErrorWriteStreamLongWrite;
    }
    data += n;
    len -= (size_t)n;
  }
  return kTvmErrorNoError;
}

/* Writes data with every ff doubled; the CRC runs over the escaped bytes when update_crc. */
static tvm_crt_error_t write_escaped(mtvm_framer_t* framer, const uint8_t* data, size_t len,
                                     int update_crc) {
  uint8_t chunk[MTVM_FRAMER_CHUNK];
  size_t used = 0;
  size_t i;
  for (i = 0; i < len; i++) {
    if (used + 2 > sizeof(chunk)) {
      tvm_crt_error_t err = write_all(framer, chunk, used);
      if (err != kTvmErrorNoError) {
        return err;
      }
      if (update_crc) {
        framer->crc = mtvm_crc16_update(framer->crc, chunk, used);
      }
      used = 0;
    }
    chunk[used++] = data[i];
    if (data[i] == MTVM_FRAMING_ESCAPE_START) {
      chunk[used++] = MTVM_FRAMING_ESCAPE_START;
    }
  }
  if (used > 0) {
    tvm_crt_error_t err = write_all(framer, chunk, used);
    if (err != kTvmErrorNoError) {
      return err;
    }
    if (update_crc) {
      framer->crc = mtvm_crc16_update(framer->crc, chunk, used);
    }
  }
  return kTvmErrorNoError;
}

tvm_crt_error_t mtvm_framer_start_packet(mtvm_framer_t* framer, uint32_t payload_len) {
  static const uint8_t kNop = MTVM_FRAMING_ESCAPE_NOP;
  uint8_t length[4];
  tvm_crt_error_t err;
  if (framer->state == kMtvmFramerTransmitting) {
    return kTvmErrorFramingInvalidState;
  }
  if (framer->state == kMtvmFramerReset) {
    err = write_all(framer, &kNop, 1);
    if (err != kTvmErrorNoError) {
      return err;
    }
  }
  /* From here on a failure leaves a partial packet on the wire: fall back to reset so that the
   * next packet carries the fe prefix again. */
  framer->state = kMtvmFramerReset;
  err = write_all(framer, kPacketStartSequence, sizeof(kPacketStartSequence));
  if (err != kTvmErrorNoError) {
    return err;
  }
  framer->crc = mtvm_crc16_update(MTVM_CRC16_INIT, kPacketStartSequence,
                                  sizeof(kPacketStartSequence));
  length[0] = (uint8_t)(payload_len & 0xFFu);
  length[1] = (uint8_t)((payload_len >> 8) & 0xFFu);
  length[2] = (uint8_t)((payload_len >> 16) & 0xFFu);
  length[3] = (uint8_t)((payload_len >> 24) & 0xFFu);
  err = write_escaped(framer, length, sizeof(length), 1);
  if (err != kTvmErrorNoError) {
    return err;
  }
  framer->remaining = payload_len;
  framer->state = kMtvmFramerTransmitting;
  return kTvmErrorNoError;
}

tvm_crt_error_t mtvm_framer_write_payload(mtvm_framer_t* framer, const uint8_t* data,
                                          size_t len) {
  tvm_crt_error_t err;
  if (framer->state != kMtvmFramerTransmitting) {
    return kTvmErrorFramingInvalidState;
  }
  if (len > framer->remaining) {
    mtvm_framer_reset(framer);
    return kTvmErrorFramingPayloadOverflow;
  }
  err = write_escaped(framer, data, len, 1);
  if (err != kTvmErrorNoError) {
    mtvm_framer_reset(framer);
    return err;
  }
  framer->remaining -= (uint32_t)len;
  return kTvmErrorNoError;
}

tvm_crt_error_t mtvm_framer_finish_packet(mtvm_framer_t* framer) {
  uint8_t crc[2];
  tvm_crt_error_t err;
  if (framer->state != kMtvmFramerTransmitting) {
    return kTvmErrorFramingInvalidState;
  }
  if (framer->remaining != 0) {
    mtvm_framer_reset(framer);
    return kTvmErrorFramingPayloadIncomplete;
  }
  crc[0] = (uint8_t)(framer->crc & 0xFFu);
  crc[1] = (uint8_t)(framer->crc >> 8);
  err = write_escaped(framer, crc, sizeof(crc), 0);
  if (err != kTvmErrorNoError) {
    mtvm_framer_reset(framer);
    return err;
  }
  framer->state = kMtvmFramerIdle;
  return kTvmErrorNoError;
}

tvm_crt_error_t mtvm_framer_write_packet(mtvm_framer_t* framer, const uint8_t* payload,
                                         size_t len) {
  tvm_crt_error_t err;
  if (len > 0xFFFFFFFFu) {
    return kTvmErrorFramingPayloadOverflow;
  }
  err = mtvm_framer_start_packet(framer, (uint32_t)len);
  if (err != kTvmErrorNoError) {
    return err;
  }
  err = mtvm_framer_write_payload(framer, payload, len);
  if (err != kTvmErrorNoError) {
    return err;
  }
  return mtvm_framer_finish_packet(framer);
}

void mtvm_unframer_init(mtvm_unframer_t* unframer, uint8_t* buffer, size_t capacity,
                        mtvm_packet_fn_t on_packet, void* on_packet_ctx) {
  unframer->buffer = buffer;
  unframer->capacity = capacity;
  unframer->on_packet = on_packet;
  unframer->on_packet_ctx = on_packet_ctx;
  unframer->stats.packets_ok = 0;
  unframer->stats.crc_errors = 0;
  unframer->stats.oversized = 0;
  unframer->stats.abandoned = 0;
  mtvm_unframer_reset(unframer);
}

void mtvm_unframer_reset(mtvm_unframer_t* unframer) {
  unframer->state = kMtvmUnframerFindStart;
  unframer->saw_escape = 0;
  unframer->crc = MTVM_CRC16_INIT;
  unframer->field_len = 0;
  unframer->payload_len = 0;
  unframer->payload_received = 0;
  unframer->oversized = 0;
}

static void begin_packet(mtvm_unframer_t* unframer) {
  mtvm_unframer_reset(unframer);
  unframer->state = kMtvmUnframerLength;
  unframer->crc = mtvm_crc16_update(MTVM_CRC16_INIT, kPacketStartSequence,
                                    sizeof(kPacketStartSequence));
}

static void finish_packet(mtvm_unframer_t* unframer) {
  uint16_t received = (uint16_t)(unframer->field[0] | ((uint16_t)unframer->field[1] << 8));
  if (unframer->oversized) {
    unframer->stats.oversized++;
  } else if (received != unframer->crc) {
    unframer->stats.crc_errors++;
  } else {
    unframer->stats.packets_ok++;
    if (unframer->on_packet != NULL) {
      unframer->on_packet(unframer->on_packet_ctx, unframer->buffer, unframer->payload_len);
    }
  }
  mtvm_unframer_reset(unframer);
}

/* One unescaped byte of the length, payload or CRC field. */
static void accept_data_byte(mtvm_unframer_t* unframer, uint8_t byte) {
  switch (unframer->state) {
    case kMtvmUnframerLength:
      unframer->field[unframer->field_len++] = byte;
      if (unframer->field_len == 4) {
        unframer->payload_len =
            (uint32_t)unframer->field[0] | ((uint32_t)unframer->field[1] << 8) |
            ((uint32_t)unframer->field[2] << 16) | ((uint32_t)unframer->field[3] << 24);
        unframer->field_len = 0;
        unframer->payload_received = 0;
        unframer->oversized = unframer->payload_len > unframer->capacity;
        unframer->state = unframer->payload_len == 0 ? kMtvmUnframerCrc : kMtvmUnframerPayload;
      }
      break;
    case kMtvmUnframerPayload:
      if (!unframer->oversized) {
        unframer->buffer[unframer->payload_received] = byte;
      }
      unframer->payload_received++;
      if (unframer->payload_received == unframer->payload_len) {
        unframer->state = kMtvmUnframerCrc;
      }
      break;
    case kMtvmUnframerCrc:
      unframer->field[unframer->field_len++] = byte;
      if (unframer->field_len == 2) {
        finish_packet(unframer);
      }
      break;
    case kMtvmUnframerFindStart:
      break;
  }
}

tvm_crt_error_t mtvm_unframer_write(mtvm_unframer_t* unframer, const uint8_t* data, size_t len,
                                    size_t* consumed) {
  size_t i;
  for (i = 0; i < len; i++) {
    uint8_t byte;
    /* Inside a payload, the bytes up to the next ff (or the payload's end) are checksummed and
     * copied as one run; only escapes and the fields around the payload go byte by byte. */
    if (unframer->state == kMtvmUnframerPayload && !unframer->saw_escape) {
      size_t room = unframer->payload_len - unframer->payload_received;
      size_t run = len - i < room ? len - i : room;
      const uint8_t* ff = (const uint8_t*)memchr(data + i, MTVM_FRAMING_ESCAPE_START, run);
      if (ff != NULL) {
        run = (size_t)(ff - (data + i));
      }
      if (run > 0) {
        unframer->crc = mtvm_crc16_update(unframer->crc, data + i, run);
        if (!unframer->oversized) {
          memcpy(unframer->buffer + unframer->payload_received, data + i, run);
        }
        unframer->payload_received += (uint32_t)run;
        if (unframer->payload_received == unframer->payload_len) {
          unframer->state = kMtvmUnframerCrc;
        }
        i += run - 1;
        continue;
      }
    }
    byte = data[i];
    if (unframer->state == kMtvmUnframerFindStart) {
      if (unframer->saw_escape && byte == MTVM_FRAMING_PACKET_START) {
        begin_packet(unframer);
      } else {
        unframer->saw_escape = byte == MTVM_FRAMING_ESCAPE_START;
      }
      continue;
    }

    if (unframer->saw_escape) {
      unframer->saw_escape = 0;
      if (byte == MTVM_FRAMING_PACKET_START) {
        /* A new packet starts inside this one: drop this one; the fd is left for the caller to
         * feed again, and with saw_escape set it begins the next packet. */
        mtvm_unframer_reset(unframer);
        unframer->saw_escape = 1;
        unframer->stats.abandoned++;
        if (consumed != NULL) {
          *consumed = i;
        }
        return kTvmErrorFramingShortPacket;
      }
      if (byte != MTVM_FRAMING_ESCAPE_START && byte != MTVM_FRAMING_ESCAPE_NOP) {
        mtvm_unframer_reset(unframer);
        unframer->stats.abandoned++;
        if (consumed != NULL) {
          *consumed = i + 1;
        }
        return kTvmErrorFramingInvalidEscape;
      }
      if (unframer->state != kMtvmUnframerCrc) {
        unframer->crc = mtvm_crc16_update(unframer->crc, &byte, 1);
      }
      if (byte == MTVM_FRAMING_ESCAPE_START) {
        accept_data_byte(unframer, byte);
      }
      continue;
    }

    if (unframer->state != kMtvmUnframerCrc) {
      unframer->crc = mtvm_crc16_update(unframer->crc, &byte, 1);
    }
    if (byte == MTVM_FRAMING_ESCAPE_START) {
      unframer->saw_escape = 1;
    } else {
      accept_data_byte(unframer, byte);
    }
  }
  if (consumed != NULL) {
    *consumed = len;
  }
  return kTvmErrorNoError;
}

size_t mtvm_unframer_bytes_needed(const mtvm_unframer_t* unframer) {
  switch (unframer->state) {
    case kMtvmUnframerLength:
      return 4 - unframer->field_len;
    case kMtvmUnframerPayload:
      return unframer->payload_len - unframer->payload_received;
    case kMtvmUnframerCrc:
      return 2 - unframer->field_len;
    case kMtvmUnframerFindStart:
      break;
  }
  return 1;
}
