/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Glue between a byte transport and a message handler: feed it whatever bytes arrive, and it
 * runs the unframer and the session and calls the handler once for every complete Normal message
 * of the established session. The handler answers with mtvm_session_send_normal() on
 * mtvm_transport_loop_session(loop). Framing errors (noise, a corrupted or cut-off frame) are
 * counted and skipped: the loop always goes on with the next frame.
 */
#ifndef MICROTVM_TRANSPORT_LOOP_H_
#define MICROTVM_TRANSPORT_LOOP_H_

#include <stddef.h>
#include <stdint.h>

#include <microtvm/session.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef void (*mtvm_message_handler_t)(void* ctx, const uint8_t* body, size_t len);

typedef struct {
  mtvm_session_t session;
  mtvm_message_handler_t handler;
  void* handler_ctx;
  /* Optional: told when a session is established (StartSessionReply) or ended by the peer
   * (TerminateSession), e.g. to drop per-session state. Log messages from the host are ignored. */
  mtvm_session_event_fn_t on_session_event;
  void* on_session_event_ctx;
  uint32_t framing_errors;
} mtvm_transport_loop_t;

/*
 * Sets the loop up and sends the boot TerminateSession (fe ff fd 03 00 00 00 00 00 02 66 77).
 * nonce is the device's random byte (TVMPlatformGenerateRandom). receive_buffer holds one
 * frame payload: 3 + the largest message body accepted. Returns the send error, if any.
 */
int mtvm_transport_loop_init(mtvm_transport_loop_t* loop, uint8_t* receive_buffer,
                             size_t receive_capacity, mtvm_write_fn_t write, void* write_ctx,
                             mtvm_message_handler_t handler, void* handler_ctx, uint8_t nonce);

/*
 * Processes all len bytes. Returns kTvmErrorNoError, or the last framing error met on the way
 * (informational only: the bytes after it were processed too).
 */
int mtvm_transport_loop_feed(mtvm_transport_loop_t* loop, const uint8_t* data, size_t len);

mtvm_session_t* mtvm_transport_loop_session(mtvm_transport_loop_t* loop);

#ifdef __cplusplus
}
#endif

#endif /* MICROTVM_TRANSPORT_LOOP_H_ */
