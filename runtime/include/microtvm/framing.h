/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Framing layer, wire-compatible with TVM's micro RPC framing:
 *
 *   [fe] ff fd | length u32 LE | payload | crc16 u16 LE
 *
 * Inside length, payload and CRC every 0xFF byte is sent as ff ff. The CRC covers the wire bytes
 * (after escaping) from ff fd through the end of the payload. A framer that is fresh, or was
 * reset, sends a lone fe first so that a receiver stuck after an ff returns to a clean state.
 *
 * Unlike TVM's unframer, this one buffers the payload and hands it over only after the CRC has
 * been checked; a bad, oversized or abandoned frame is dropped whole and leaves no state behind.
 * Neither side allocates memory.
 */
#ifndef MICROTVM_FRAMING_H_
#define MICROTVM_FRAMING_H_

#include <stddef.h>
#include <stdint.h>

#include <tvm/runtime/crt/error_codes.h>

#ifdef __cplusplus
extern "C" {
#endif

#define MTVM_FRAMING_ESCAPE_START ((uint8_t)0xFFu)
#define MTVM_FRAMING_PACKET_START ((uint8_t)0xFDu)
#define MTVM_FRAMING_ESCAPE_NOP ((uint8_t)0xFEu)

/*
 * Byte sink of a framer. Returns how many bytes it took (1..len; fewer than len is fine, the
 * framer calls again with the rest), 0 or a negative value on failure.
 */
typedef int32_t (*mtvm_write_fn_t)(void* ctx, const uint8_t* data, size_t len);

typedef enum {
  kMtvmFramerReset = 0,        /* next packet is preceded by fe */
  kMtvmFramerIdle = 1,         /* between packets */
  kMtvmFramerTransmitting = 2, /* inside a packet */
} mtvm_framer_state_t;

typedef struct {
  mtvm_write_fn_t write;
  void* write_ctx;
  mtvm_framer_state_t state;
  uint16_t crc;
  uint32_t remaining; /* payload bytes still to come in the current packet */
} mtvm_framer_t;

void mtvm_framer_init(mtvm_framer_t* framer, mtvm_write_fn_t write, void* write_ctx);

/* Forgets any packet in progress; the next packet gets the fe prefix again. */
void mtvm_framer_reset(mtvm_framer_t* framer);

/* Streaming send: start (declares the payload length), payload in any number of pieces, finish. */
tvm_crt_error_t mtvm_framer_start_packet(mtvm_framer_t* framer, uint32_t payload_len);
tvm_crt_error_t mtvm_framer_write_payload(mtvm_framer_t* framer, const uint8_t* data, size_t len);
tvm_crt_error_t mtvm_framer_finish_packet(mtvm_framer_t* framer);

/* Sends one whole packet. */
tvm_crt_error_t mtvm_framer_write_packet(mtvm_framer_t* framer, const uint8_t* payload,
                                         size_t len);

/* Called with each payload whose CRC checked out. The bytes stay valid until the call returns. */
typedef void (*mtvm_packet_fn_t)(void* ctx, const uint8_t* payload, size_t len);

typedef enum {
  kMtvmUnframerFindStart = 0,
  kMtvmUnframerLength = 1,
  kMtvmUnframerPayload = 2,
  kMtvmUnframerCrc = 3,
} mtvm_unframer_state_t;

/* Counts of what the unframer has seen, for diagnostics and tests. */
typedef struct {
  uint32_t packets_ok;
  uint32_t crc_errors;
  uint32_t oversized; /* declared length above the buffer capacity: read through and dropped */
  uint32_t abandoned; /* ff fd inside a packet, or an invalid escape */
} mtvm_unframer_stats_t;

typedef struct {
  uint8_t* buffer;
  size_t capacity;
  mtvm_packet_fn_t on_packet;
  void* on_packet_ctx;
  mtvm_unframer_state_t state;
  int saw_escape; /* the previous byte was an ff that has not been resolved yet */
  uint16_t crc;
  uint8_t field[4];
  size_t field_len;
  uint32_t payload_len;
  uint32_t payload_received;
  int oversized;
  mtvm_unframer_stats_t stats;
} mtvm_unframer_t;

/* buffer holds one whole payload; frames declaring more than capacity bytes are dropped. */
void mtvm_unframer_init(mtvm_unframer_t* unframer, uint8_t* buffer, size_t capacity,
                        mtvm_packet_fn_t on_packet, void* on_packet_ctx);

/* Drops any frame in progress and starts hunting for ff fd. */
void mtvm_unframer_reset(mtvm_unframer_t* unframer);

/*
 * Feeds wire bytes. Complete, valid payloads are handed to on_packet as they finish. Returns at
 * the first framing error with *consumed saying how far it got; the frame in progress is dropped
 * and the caller feeds data + *consumed again:
 *   kTvmErrorFramingShortPacket   ff fd inside a packet: the fd is not consumed and starts the
 *                                 next packet when fed again;
 *   kTvmErrorFramingInvalidEscape ff followed by a byte other than ff, fe, fd (consumed).
 * Frames with a bad CRC or a length above capacity are dropped without an error (see stats).
 */
tvm_crt_error_t mtvm_unframer_write(mtvm_unframer_t* unframer, const uint8_t* data, size_t len,
                                    size_t* consumed);

/* Lower bound on the bytes that complete the current step: 1 while hunting for a packet start. */
size_t mtvm_unframer_bytes_needed(const mtvm_unframer_t* unframer);

#ifdef __cplusplus
}
#endif

#endif /* MICROTVM_FRAMING_H_ */
