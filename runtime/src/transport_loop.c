/* SPDX-License-Identifier: Apache-2.0 */
#include "microtvm/transport_loop.h"

static void on_session_event(void* ctx, mtvm_message_type_t type, const uint8_t* body,
                             size_t len) {
  mtvm_transport_loop_t* loop = (mtvm_transport_loop_t*)ctx;
  switch (type) {
    case kMtvmMessageNormal:
      if (loop->handler != NULL) {
        loop->handler(loop->handler_ctx, body, len);
      }
      return;
    case kMtvmMessageStartSessionReply:
    case kMtvmMessageTerminateSession:
      if (loop->on_session_event != NULL) {
        loop->on_session_event(loop->on_session_event_ctx, type, body, len);
      }
      return;
    case kMtvmMessageStartSessionInit:
    case kMtvmMessageLog:
    default:
      /* A host never sends Log to a device, and unknown types have no meaning here. */
      return;
  }
}

int mtvm_transport_loop_init(mtvm_transport_loop_t* loop, uint8_t* receive_buffer,
                             size_t receive_capacity, mtvm_write_fn_t write, void* write_ctx,
                             mtvm_message_handler_t handler, void* handler_ctx, uint8_t nonce) {
  loop->handler = handler;
  loop->handler_ctx = handler_ctx;
  loop->on_session_event = NULL;
  loop->on_session_event_ctx = NULL;
  loop->framing_errors = 0;
  mtvm_session_init(&loop->session, receive_buffer, receive_capacity, write, write_ctx,
                    on_session_event, loop);
  return mtvm_session_initialize(&loop->session, nonce);
}

int mtvm_transport_loop_feed(mtvm_transport_loop_t* loop, const uint8_t* data, size_t len) {
  int last_error = kTvmErrorNoError;
  while (len > 0) {
    size_t consumed = 0;
    int err = mtvm_session_receive(&loop->session, data, len, &consumed);
    data += consumed;
    len -= consumed;
    if (err != kTvmErrorNoError) {
      loop->framing_errors++;
      last_error = err;
    }
  }
  return last_error;
}

mtvm_session_t* mtvm_transport_loop_session(mtvm_transport_loop_t* loop) { return &loop->session; }
