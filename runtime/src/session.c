/* SPDX-License-Identifier: Apache-2.0 */
#include "microtvm/session.h"

#include <string.h>

uint8_t mtvm_session_next_nonce(uint8_t nonce) {
  uint8_t next = (uint8_t)(((((unsigned)nonce << 5) & 0xFFu) | ((unsigned)nonce >> 5)) + 1u);
  return next == MTVM_SESSION_INVALID_NONCE ? (uint8_t)1u : next;
}

static void on_payload(void* ctx, const uint8_t* payload, size_t len) {
  mtvm_session_process_payload((mtvm_session_t*)ctx, payload, len);
}

void mtvm_session_init(mtvm_session_t* session, uint8_t* receive_buffer, size_t receive_capacity,
                       mtvm_write_fn_t write, void* write_ctx, mtvm_session_event_fn_t on_event,
                       void* on_event_ctx) {
  mtvm_framer_init(&session->framer, write, write_ctx);
  mtvm_unframer_init(&session->unframer, receive_buffer, receive_capacity, on_payload, session);
  session->local_nonce = MTVM_SESSION_INVALID_NONCE;
  session->session_id = 0;
  session->state = kMtvmSessionReset;
  session->on_event = on_event;
  session->on_event_ctx = on_event_ctx;
}

static int send_with_id(mtvm_session_t* session, uint16_t session_id, mtvm_message_type_t type,
                        const uint8_t* body, size_t len) {
  uint8_t header[MTVM_SESSION_HEADER_SIZE];
  tvm_crt_error_t err;
  if (len > 0xFFFFFFFFu - MTVM_SESSION_HEADER_SIZE) {
    return kTvmErrorFramingPayloadOverflow;
  }
  header[0] = (uint8_t)(session_id & 0xFFu);
  header[1] = (uint8_t)(session_id >> 8);
  header[2] = (uint8_t)type;
  err = mtvm_framer_start_packet(&session->framer, (uint32_t)(MTVM_SESSION_HEADER_SIZE + len));
  if (err == kTvmErrorNoError) {
    err = mtvm_framer_write_payload(&session->framer, header, sizeof(header));
  }
  if (err == kTvmErrorNoError && len > 0) {
    err = mtvm_framer_write_payload(&session->framer, body, len);
  }
  if (err == kTvmErrorNoError) {
    err = mtvm_framer_finish_packet(&session->framer);
  }
  return err;
}

int mtvm_session_initialize(mtvm_session_t* session, uint8_t nonce) {
  session->local_nonce = nonce;
  return mtvm_session_terminate(session);
}

int mtvm_session_terminate(mtvm_session_t* session) {
  session->session_id = 0;
  session->state = kMtvmSessionNoSessionEstablished;
  return send_with_id(session, 0, kMtvmMessageTerminateSession, NULL, 0);
}

int mtvm_session_start(mtvm_session_t* session) {
  static const uint8_t kVersion = MTVM_SESSION_VERSION;
  int err;
  if (session->state == kMtvmSessionReset) {
    return kTvmErrorSessionInvalidState; /* initialize first */
  }
  session->local_nonce = mtvm_session_next_nonce(session->local_nonce);
  session->session_id = session->local_nonce;
  err = send_with_id(session, session->session_id, kMtvmMessageStartSessionInit, &kVersion, 1);
  if (err != kTvmErrorNoError) {
    return err;
  }
  session->state = kMtvmSessionStartSessionSent;
  return kTvmErrorNoError;
}

int mtvm_session_is_established(const mtvm_session_t* session) {
  return session->state == kMtvmSessionEstablished;
}

int mtvm_session_send(mtvm_session_t* session, mtvm_message_type_t type, const uint8_t* body,
                      size_t len) {
  if (type == kMtvmMessageLog) {
    return send_with_id(session, 0, type, body, len);
  }
  if (session->state != kMtvmSessionEstablished) {
    return kTvmErrorSessionInvalidState;
  }
  return send_with_id(session, session->session_id, type, body, len);
}

int mtvm_session_send_normal(mtvm_session_t* session, const uint8_t* body, size_t len) {
  return mtvm_session_send(session, kMtvmMessageNormal, body, len);
}

int mtvm_session_send_log(mtvm_session_t* session, const char* text) {
  return mtvm_session_send(session, kMtvmMessageLog, (const uint8_t*)text, strlen(text));
}

int mtvm_session_start_message(mtvm_session_t* session, mtvm_message_type_t type,
                               uint32_t body_len) {
  uint8_t header[MTVM_SESSION_HEADER_SIZE];
  uint16_t session_id = type == kMtvmMessageLog ? 0 : session->session_id;
  tvm_crt_error_t err;
  if (type != kMtvmMessageLog && session->state != kMtvmSessionEstablished) {
    return kTvmErrorSessionInvalidState;
  }
  if (body_len > 0xFFFFFFFFu - MTVM_SESSION_HEADER_SIZE) {
    return kTvmErrorFramingPayloadOverflow;
  }
  header[0] = (uint8_t)(session_id & 0xFFu);
  header[1] = (uint8_t)(session_id >> 8);
  header[2] = (uint8_t)type;
  err = mtvm_framer_start_packet(&session->framer, MTVM_SESSION_HEADER_SIZE + body_len);
  if (err != kTvmErrorNoError) {
    return err;
  }
  return mtvm_framer_write_payload(&session->framer, header, sizeof(header));
}

int mtvm_session_write_body(mtvm_session_t* session, const uint8_t* data, size_t len) {
  return mtvm_framer_write_payload(&session->framer, data, len);
}

int mtvm_session_finish_message(mtvm_session_t* session) {
  return mtvm_framer_finish_packet(&session->framer);
}

int mtvm_session_receive(mtvm_session_t* session, const uint8_t* data, size_t len,
                         size_t* consumed) {
  return mtvm_unframer_write(&session->unframer, data, len, consumed);
}

static void emit(mtvm_session_t* session, mtvm_message_type_t type, const uint8_t* body,
                 size_t len) {
  if (session->on_event != NULL) {
    session->on_event(session->on_event_ctx, type, body, len);
  }
}

/* Answers a peer's StartSessionInit and becomes established. */
static void send_reply(mtvm_session_t* session, uint8_t initiator_nonce) {
  static const uint8_t kVersion = MTVM_SESSION_VERSION;
  session->local_nonce = mtvm_session_next_nonce(session->local_nonce);
  session->session_id = (uint16_t)(initiator_nonce | ((uint16_t)session->local_nonce << 8));
  /* A failed reply cannot be reported to the peer; the host retries its Init. */
  if (send_with_id(session, session->session_id, kMtvmMessageStartSessionReply, &kVersion, 1) !=
      kTvmErrorNoError) {
    session->state = kMtvmSessionNoSessionEstablished;
    session->session_id = 0;
    return;
  }
  session->state = kMtvmSessionEstablished;
  emit(session, kMtvmMessageStartSessionReply, NULL, 0);
}

void mtvm_session_process_payload(mtvm_session_t* session, const uint8_t* payload, size_t len) {
  uint16_t session_id;
  uint8_t type;
  const uint8_t* body;
  size_t body_len;
  if (len < MTVM_SESSION_HEADER_SIZE) {
    return;
  }
  session_id = (uint16_t)(payload[0] | ((uint16_t)payload[1] << 8));
  type = payload[2];
  body = payload + MTVM_SESSION_HEADER_SIZE;
  body_len = len - MTVM_SESSION_HEADER_SIZE;

  switch (type) {
    case kMtvmMessageStartSessionInit: {
      uint8_t initiator = (uint8_t)(session_id & 0xFFu);
      if (initiator == MTVM_SESSION_INVALID_NONCE || body_len < 1) {
        return;
      }
      if (session->state == kMtvmSessionStartSessionSent) {
        /* Both sides initiated: the lower nonce wins; equal nonces start over. */
        if (initiator < session->local_nonce) {
          if (body[0] == MTVM_SESSION_VERSION) {
            send_reply(session, initiator);
          }
        } else if (initiator == session->local_nonce) {
          (void)mtvm_session_start(session);
        }
        return;
      }
      /* Reset, no session, or established (a host restarting its side): answer. */
      send_reply(session, initiator);
      return;
    }
    case kMtvmMessageStartSessionReply: {
      uint8_t initiator = (uint8_t)(session_id & 0xFFu);
      uint8_t responder = (uint8_t)(session_id >> 8);
      if (responder == MTVM_SESSION_INVALID_NONCE || body_len < 1) {
        return;
      }
      if (session->state == kMtvmSessionStartSessionSent && initiator == session->local_nonce &&
          body[0] == MTVM_SESSION_VERSION) {
        session->session_id = session_id;
        session->state = kMtvmSessionEstablished;
        emit(session, kMtvmMessageStartSessionReply, NULL, 0);
      }
      return;
    }
    case kMtvmMessageTerminateSession:
      if (session->state == kMtvmSessionEstablished) {
        session->state = kMtvmSessionNoSessionEstablished;
        session->session_id = 0;
        emit(session, kMtvmMessageTerminateSession, NULL, 0);
      }
      return;
    case kMtvmMessageLog:
      if (session_id == 0 || session_id == session->session_id) {
        emit(session, kMtvmMessageLog, body, body_len);
      }
      return;
    default:
      if (session->state == kMtvmSessionEstablished && session_id == session->session_id) {
        emit(session, (mtvm_message_type_t)type, body, body_len);
      }
      return;
  }
}
