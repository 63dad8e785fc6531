/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Session layer, wire-compatible with TVM's micro RPC session. Every frame payload is
 *
 *   session_id u16 LE | message_type u8 | body
 *
 * session_id = initiator_nonce | responder_nonce << 8; Terminate and Log always travel with id 0.
 * The same code serves both ends: a device calls mtvm_session_initialize() at boot (which sends
 * Terminate) and answers the host's StartSessionInit; either side may also initiate with
 * mtvm_session_start().
 *
 * Deviations from TVM, on purpose: each frame's payload is processed on its own (nothing is left
 * behind by a bad or abandoned frame), a StartSessionReply while established is ignored instead
 * of dropping the session, and there is no "receive buffer busy" state because every message is
 * handed over complete and released when the callback returns.
 */
#ifndef MICROTVM_SESSION_H_
#define MICROTVM_SESSION_H_

#include <stddef.h>
#include <stdint.h>

#include <microtvm/framing.h>
#include <tvm/runtime/crt/error_codes.h>

#ifdef __cplusplus
extern "C" {
#endif

#define MTVM_SESSION_VERSION ((uint8_t)0x01u)
#define MTVM_SESSION_HEADER_SIZE 3
#define MTVM_SESSION_INVALID_NONCE ((uint8_t)0x00u)

typedef enum {
  kMtvmMessageStartSessionInit = 0x00,
  kMtvmMessageStartSessionReply = 0x01,
  kMtvmMessageTerminateSession = 0x02,
  kMtvmMessageLog = 0x03,
  kMtvmMessageNormal = 0x10,
} mtvm_message_type_t;

typedef enum {
  kMtvmSessionReset = 0,
  kMtvmSessionNoSessionEstablished = 1,
  kMtvmSessionStartSessionSent = 2,
  kMtvmSessionEstablished = 3,
} mtvm_session_state_t;

/*
 * What a session reports to its owner:
 *   kMtvmMessageStartSessionReply  the session became established (body NULL, len 0);
 *   kMtvmMessageTerminateSession   the peer ended an established session;
 *   kMtvmMessageLog                a Log message (text, not NUL-terminated);
 *   any other type (Normal)        a message of the established session.
 * body is valid only during the call. The callback may send messages.
 */
typedef void (*mtvm_session_event_fn_t)(void* ctx, mtvm_message_type_t type, const uint8_t* body,
                                        size_t len);

typedef struct {
  mtvm_framer_t framer;
  mtvm_unframer_t unframer;
  uint8_t local_nonce;
  uint16_t session_id;
  mtvm_session_state_t state;
  mtvm_session_event_fn_t on_event;
  void* on_event_ctx;
} mtvm_session_t;

/* The nonce step applied before each use: ((n << 5) | (n >> 5)) + 1 in 8 bits, never 0. */
uint8_t mtvm_session_next_nonce(uint8_t nonce);

/*
 * Sets the session up without sending anything. receive_buffer holds one whole frame payload
 * (3-byte header + body); TVM sizes it TVM_CRT_MAX_PACKET_SIZE_BYTES (2048 by default).
 */
void mtvm_session_init(mtvm_session_t* session, uint8_t* receive_buffer, size_t receive_capacity,
                       mtvm_write_fn_t write, void* write_ctx, mtvm_session_event_fn_t on_event,
                       void* on_event_ctx);

/* Stores the local nonce and terminates any session, which sends Terminate (the boot message). */
int mtvm_session_initialize(mtvm_session_t* session, uint8_t nonce);

/* Sets the id to 0, the state to NoSessionEstablished, and sends TerminateSession. */
int mtvm_session_terminate(mtvm_session_t* session);

/* Initiates a session: sends StartSessionInit with the next nonce. */
int mtvm_session_start(mtvm_session_t* session);

/* 1 when established. */
int mtvm_session_is_established(const mtvm_session_t* session);

/*
 * Sends one message. Log goes out with id 0 in any state; everything else needs an established
 * session (kTvmErrorSessionInvalidState otherwise).
 */
int mtvm_session_send(mtvm_session_t* session, mtvm_message_type_t type, const uint8_t* body,
                      size_t len);
int mtvm_session_send_normal(mtvm_session_t* session, const uint8_t* body, size_t len);
int mtvm_session_send_log(mtvm_session_t* session, const char* text);

/* Streaming form of mtvm_session_send for bodies built piece by piece (body_len declared). */
int mtvm_session_start_message(mtvm_session_t* session, mtvm_message_type_t type,
                               uint32_t body_len);
int mtvm_session_write_body(mtvm_session_t* session, const uint8_t* data, size_t len);
int mtvm_session_finish_message(mtvm_session_t* session);

/*
 * Feeds received wire bytes; events fire from inside this call. Same contract as
 * mtvm_unframer_write: on a framing error, feed data + *consumed again.
 */
int mtvm_session_receive(mtvm_session_t* session, const uint8_t* data, size_t len,
                         size_t* consumed);

/* Handles one verified frame payload (what the unframer delivers). */
void mtvm_session_process_payload(mtvm_session_t* session, const uint8_t* payload, size_t len);

#ifdef __cplusplus
}
#endif

#endif /* MICROTVM_SESSION_H_ */
