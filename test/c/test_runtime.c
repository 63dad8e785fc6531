/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests of the device runtime's framing, session, transport loop and host platform hooks.
 * The golden vectors come from test/vectors/session-framing.json through the generated
 * "vectors.h" (see vectors-header.ts). Prints one line per failed check; exits 1 on failure.
 */
#define _POSIX_C_SOURCE 200809L

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <microtvm/crc16.h>
#include <microtvm/framing.h>
#include <microtvm/session.h>
#include <microtvm/transport_loop.h>
#include <tvm/runtime/crt/platform.h>

#include "vectors.h"

/* Must match the pool size platform_host.c was compiled with (the same -D, or its default). */
#ifndef TVM_WORKSPACE_SIZE_BYTES
#define TVM_WORKSPACE_SIZE_BYTES (2u * 1024u * 1024u)
#endif

static int g_checks;
static int g_failures;

#define CHECK(cond, ...)                                      \
  do {                                                        \
    g_checks++;                                               \
    if (!(cond)) {                                            \
      g_failures++;                                           \
      fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__);    \
      fprintf(stderr, __VA_ARGS__);                           \
      fprintf(stderr, "  [%s]\n", #cond);                     \
    }                                                         \
  } while (0)

/* ---- a byte sink that records what a framer writes ---- */

#define SINK_CAPACITY 4096

typedef struct {
  uint8_t data[SINK_CAPACITY];
  size_t len;
  size_t max_per_call; /* 0: take everything offered */
  int fail_after;      /* >= 0: fail once this many bytes have been taken */
} sink_t;

static void sink_init(sink_t* sink) {
  sink->len = 0;
  sink->max_per_call = 0;
  sink->fail_after = -1;
}

static int32_t sink_write(void* ctx, const uint8_t* data, size_t len) {
  sink_t* sink = (sink_t*)ctx;
  size_t n = len;
  if (sink->max_per_call != 0 && n > sink->max_per_call) {
    n = sink->max_per_call;
  }
  if (sink->fail_after >= 0 && sink->len + n > (size_t)sink->fail_after) {
    return -1;
  }
  if (sink->len + n > SINK_CAPACITY) {
    return 0;
  }
  memcpy(sink->data + sink->len, data, n);
  sink->len += n;
  return (int32_t)n;
}

static int bytes_equal(const uint8_t* a, size_t a_len, const uint8_t* b, size_t b_len) {
  return a_len == b_len && (a_len == 0 || memcmp(a, b, a_len) == 0);
}

/* ---- a packet collector for the unframer ---- */

#define MAX_PACKETS 16

typedef struct {
  uint8_t payloads[MAX_PACKETS][600];
  size_t lens[MAX_PACKETS];
  int count;
} packets_t;

static void collect_packet(void* ctx, const uint8_t* payload, size_t len) {
  packets_t* packets = (packets_t*)ctx;
  if (packets->count < MAX_PACKETS && len <= sizeof(packets->payloads[0])) {
    memcpy(packets->payloads[packets->count], payload, len);
    packets->lens[packets->count] = len;
  }
  packets->count++;
}

static uint8_t g_unframer_buffer[600];

static void unframer_setup(mtvm_unframer_t* unframer, packets_t* packets, size_t capacity) {
  memset(packets, 0, sizeof(*packets));
  mtvm_unframer_init(unframer, g_unframer_buffer, capacity, collect_packet, packets);
}

/* ---- CRC ---- */

static void test_crc(void) {
  size_t i;
  for (i = 0; i < kCrcVectorCount; i++) {
    const crc_vector_t* v = &kCrcVectors[i];
    uint16_t crc = mtvm_crc16(v->data, v->len);
    CHECK(crc == v->crc, "crc of %s: got 0x%04x want 0x%04x", v->name, crc, v->crc);
    if (v->len > 1) {
      /* The same value when fed in two pieces. */
      uint16_t split = mtvm_crc16_update(mtvm_crc16_update(MTVM_CRC16_INIT, v->data, 1),
                                         v->data + 1, v->len - 1);
      CHECK(split == v->crc, "crc of %s in two pieces", v->name);
    }
  }
}

/* ---- framer ---- */

static void framer_for_vector(mtvm_framer_t* framer, sink_t* sink, int prefix) {
  sink_init(sink);
  mtvm_framer_init(framer, sink_write, sink);
  if (!prefix) {
    framer->state = kMtvmFramerIdle; /* as after an earlier packet */
  }
}

static void test_framer_vectors(void) {
  size_t i;
  for (i = 0; i < kFrameVectorCount; i++) {
    const frame_vector_t* v = &kFrameVectors[i];
    mtvm_framer_t framer;
    sink_t sink;
    size_t j;
    int err;

    framer_for_vector(&framer, &sink, v->prefix);
    err = mtvm_framer_write_packet(&framer, v->payload, v->payload_len);
    CHECK(err == kTvmErrorNoError, "frame %s: error 0x%x", v->name, err);
    CHECK(bytes_equal(sink.data, sink.len, v->wire, v->wire_len), "frame %s: wire differs",
          v->name);

    /* Streaming byte by byte into a sink that takes 3 bytes per call gives the same wire. */
    framer_for_vector(&framer, &sink, v->prefix);
    sink.max_per_call = 3;
    err = mtvm_framer_start_packet(&framer, (uint32_t)v->payload_len);
    for (j = 0; err == kTvmErrorNoError && j < v->payload_len; j++) {
      err = mtvm_framer_write_payload(&framer, v->payload + j, 1);
    }
    if (err == kTvmErrorNoError) {
      err = mtvm_framer_finish_packet(&framer);
    }
    CHECK(err == kTvmErrorNoError, "streamed frame %s: error 0x%x", v->name, err);
    CHECK(bytes_equal(sink.data, sink.len, v->wire, v->wire_len),
          "streamed frame %s: wire differs", v->name);
  }
}

static void test_framer_states(void) {
  static const uint8_t one[] = {'o', 'n', 'e'};
  mtvm_framer_t framer;
  sink_t sink;
  size_t first_len;
  int err;

  sink_init(&sink);
  mtvm_framer_init(&framer, sink_write, &sink);
  CHECK(mtvm_framer_write_packet(&framer, one, 3) == kTvmErrorNoError, "first packet");
  CHECK(sink.data[0] == 0xFE, "first packet starts with fe");
  first_len = sink.len;
  CHECK(mtvm_framer_write_packet(&framer, one, 3) == kTvmErrorNoError, "second packet");
  CHECK(sink.len == 2 * first_len - 1 && sink.data[first_len] == 0xFF,
        "second packet has no prefix");
  mtvm_framer_reset(&framer);
  sink.len = 0;
  CHECK(mtvm_framer_write_packet(&framer, one, 3) == kTvmErrorNoError, "after reset");
  CHECK(sink.len == first_len && sink.data[0] == 0xFE, "reset brings the prefix back");

  /* Misuse is refused with TVM's codes. */
  CHECK(mtvm_framer_write_payload(&framer, one, 1) == kTvmErrorFramingInvalidState,
        "payload outside a packet");
  CHECK(mtvm_framer_finish_packet(&framer) == kTvmErrorFramingInvalidState,
        "finish outside a packet");
  CHECK(mtvm_framer_start_packet(&framer, 2) == kTvmErrorNoError, "start");
  CHECK(mtvm_framer_start_packet(&framer, 2) == kTvmErrorFramingInvalidState, "start twice");
  CHECK(mtvm_framer_write_payload(&framer, one, 3) == kTvmErrorFramingPayloadOverflow,
        "overflow");
  CHECK(framer.state == kMtvmFramerReset, "overflow resets the framer");
  CHECK(mtvm_framer_start_packet(&framer, 2) == kTvmErrorNoError, "start again");
  CHECK(mtvm_framer_write_payload(&framer, one, 1) == kTvmErrorNoError, "one byte");
  CHECK(mtvm_framer_finish_packet(&framer) == kTvmErrorFramingPayloadIncomplete, "incomplete");

  /* A failing sink gives ShortWrite and the next packet carries the prefix again. */
  sink_init(&sink);
  mtvm_framer_init(&framer, sink_write, &sink);
  framer.state = kMtvmFramerIdle;
  sink.fail_after = 5;
  err = mtvm_framer_write_packet(&framer, one, 3);
  CHECK(err == kTvmErrorWriteStreamShortWrite, "failing sink: 0x%x", err);
  CHECK(framer.state == kMtvmFramerReset, "failed write resets the framer");
}

/* ---- unframer ---- */

static void check_single_packet(const packets_t* packets, const frame_vector_t* v,
                                const char* how) {
  CHECK(packets->count == 1, "%s %s: %d packets", how, v->name, packets->count);
  if (packets->count >= 1) {
    CHECK(bytes_equal(packets->payloads[0], packets->lens[0], v->payload, v->payload_len),
          "%s %s: payload differs", how, v->name);
  }
}

static void test_unframer_vectors(void) {
  size_t i;
  for (i = 0; i < kFrameVectorCount; i++) {
    const frame_vector_t* v = &kFrameVectors[i];
    mtvm_unframer_t unframer;
    packets_t packets;
    size_t consumed = 0;
    size_t j;
    int err;

    unframer_setup(&unframer, &packets, sizeof(g_unframer_buffer));
    err = mtvm_unframer_write(&unframer, v->wire, v->wire_len, &consumed);
    CHECK(err == kTvmErrorNoError && consumed == v->wire_len, "one call %s", v->name);
    check_single_packet(&packets, v, "one call");

    unframer_setup(&unframer, &packets, sizeof(g_unframer_buffer));
    for (j = 0; j < v->wire_len; j++) {
      err = mtvm_unframer_write(&unframer, v->wire + j, 1, &consumed);
      CHECK(err == kTvmErrorNoError && consumed == 1, "byte %u of %s", (unsigned)j, v->name);
      CHECK(packets.count == (j + 1 == v->wire_len ? 1 : 0), "packet only after the last byte");
      if (j + 1 < v->wire_len) {
        CHECK(mtvm_unframer_bytes_needed(&unframer) >= 1, "bytes needed");
      }
    }
    check_single_packet(&packets, v, "byte by byte");

    for (j = 0; j <= v->wire_len; j++) {
      size_t c1 = 0;
      size_t c2 = 0;
      unframer_setup(&unframer, &packets, sizeof(g_unframer_buffer));
      mtvm_unframer_write(&unframer, v->wire, j, &c1);
      mtvm_unframer_write(&unframer, v->wire + j, v->wire_len - j, &c2);
      CHECK(c1 == j && c2 == v->wire_len - j, "split at %u of %s", (unsigned)j, v->name);
      if (packets.count != 1) {
        check_single_packet(&packets, v, "split");
        break;
      }
    }

    if (!v->prefix) {
      /* A stray ff before the packet: the restart happens inside the start sequence. */
      unframer_setup(&unframer, &packets, sizeof(g_unframer_buffer));
      mtvm_unframer_write(&unframer, v->wire, 1, &consumed);
      mtvm_unframer_write(&unframer, v->wire, v->wire_len, &consumed);
      check_single_packet(&packets, v, "after a stray ff");
    }
  }
}

/* TVM's framing_test: a packet cut short by the start of the next one. */
static void test_unframer_short_packet(void) {
  const frame_vector_t* v = &kFrameVectors[0];
  size_t i;
  for (i = 0; i < kFrameVectorCount; i++) {
    if (!kFrameVectors[i].prefix && kFrameVectors[i].payload_len >= 3) {
      v = &kFrameVectors[i];
      break;
    }
  }
  {
    mtvm_unframer_t unframer;
    packets_t packets;
    size_t consumed = 0;
    static const uint8_t ff = 0xFF;
    static const uint8_t fd = 0xFD;
    int err;

    /* ff, then fd: OK/1, ShortPacket/0, then wire[1:] decodes. */
    unframer_setup(&unframer, &packets, sizeof(g_unframer_buffer));
    mtvm_unframer_write(&unframer, v->wire, 8, &consumed);
    err = mtvm_unframer_write(&unframer, &ff, 1, &consumed);
    CHECK(err == kTvmErrorNoError && consumed == 1, "ff mid packet");
    err = mtvm_unframer_write(&unframer, &fd, 1, &consumed);
    CHECK(err == kTvmErrorFramingShortPacket && consumed == 0, "fd mid packet: 0x%x %u", err,
          (unsigned)consumed);
    mtvm_unframer_write(&unframer, v->wire + 1, v->wire_len - 1, &consumed);
    check_single_packet(&packets, v, "after ff fd mid packet");
    CHECK(unframer.stats.abandoned == 1, "abandoned counted");

    /* The whole wire after a partial packet: ShortPacket with 1 consumed, then wire[1:]. */
    unframer_setup(&unframer, &packets, sizeof(g_unframer_buffer));
    mtvm_unframer_write(&unframer, v->wire, 8, &consumed);
    err = mtvm_unframer_write(&unframer, v->wire, v->wire_len, &consumed);
    CHECK(err == kTvmErrorFramingShortPacket && consumed == 1, "whole wire mid packet");
    mtvm_unframer_write(&unframer, v->wire + 1, v->wire_len - 1, &consumed);
    check_single_packet(&packets, v, "after whole wire mid packet");
  }
}

static void test_unframer_recovery(void) {
  const frame_vector_t* good = NULL;
  size_t i;
  for (i = 0; i < kFrameVectorCount; i++) {
    if (!kFrameVectors[i].prefix && kFrameVectors[i].payload_len == 5) {
      good = &kFrameVectors[i]; /* "three" */
    }
  }
  CHECK(good != NULL, "a 5-byte vector exists");
  if (good == NULL) {
    return;
  }
  /* Every single-byte corruption (to a value other than ff) before the CRC drops the frame, and
   * the next frame is still delivered. */
  for (i = 2; i + 2 < good->wire_len; i++) {
    uint8_t stream[64];
    mtvm_unframer_t unframer;
    packets_t packets;
    size_t consumed = 0;
    size_t at = 0;
    memcpy(stream, good->wire, good->wire_len);
    stream[i] = (uint8_t)(stream[i] ^ 0x5A);
    if (stream[i] == 0xFF) {
      continue;
    }
    memcpy(stream + good->wire_len, good->wire, good->wire_len);
    unframer_setup(&unframer, &packets, sizeof(g_unframer_buffer));
    while (at < 2 * good->wire_len) {
      mtvm_unframer_write(&unframer, stream + at, 2 * good->wire_len - at, &consumed);
      at += consumed;
    }
    CHECK(packets.count == 1, "corruption at %u: %d packets", (unsigned)i, packets.count);
    if (packets.count == 1) {
      CHECK(bytes_equal(packets.payloads[0], packets.lens[0], good->payload, good->payload_len),
            "corruption at %u: wrong payload delivered", (unsigned)i);
    }
  }

  /* Invalid escape: consumed, dropped, next packet fine. */
  {
    static const uint8_t bad[] = {0xFF, 0xFD, 0x05, 0x00, 0x00, 0x00, 't', 0xFF, 0x41};
    mtvm_unframer_t unframer;
    packets_t packets;
    size_t consumed = 0;
    int err;
    unframer_setup(&unframer, &packets, sizeof(g_unframer_buffer));
    err = mtvm_unframer_write(&unframer, bad, sizeof(bad), &consumed);
    CHECK(err == kTvmErrorFramingInvalidEscape && consumed == sizeof(bad), "invalid escape");
    mtvm_unframer_write(&unframer, good->wire, good->wire_len, &consumed);
    CHECK(packets.count == 1, "packet after invalid escape");
  }

  /* A frame longer than the buffer is read through and dropped; the next one is delivered
   * (TVM instead fails in the middle and rescans the rest as noise). */
  {
    const frame_vector_t* big = NULL;
    mtvm_unframer_t unframer;
    packets_t packets;
    size_t consumed = 0;
    int err;
    for (i = 0; i < kFrameVectorCount; i++) {
      if (kFrameVectors[i].payload_len == 256) {
        big = &kFrameVectors[i];
      }
    }
    CHECK(big != NULL, "a 256-byte vector exists");
    if (big != NULL) {
      unframer_setup(&unframer, &packets, 100);
      err = mtvm_unframer_write(&unframer, big->wire, big->wire_len, &consumed);
      CHECK(err == kTvmErrorNoError && consumed == big->wire_len, "oversized consumed");
      CHECK(packets.count == 0 && unframer.stats.oversized == 1, "oversized dropped");
      mtvm_unframer_write(&unframer, good->wire, good->wire_len, &consumed);
      CHECK(packets.count == 1, "packet after oversized");
    }
  }

  /* Noise, fe and a boot banner between packets are ignored. */
  {
    static const uint8_t noise[] = "*** Booting Zephyr OS ***\r\n\xfe\xfe";
    mtvm_unframer_t unframer;
    packets_t packets;
    size_t consumed = 0;
    unframer_setup(&unframer, &packets, sizeof(g_unframer_buffer));
    mtvm_unframer_write(&unframer, noise, sizeof(noise) - 1, &consumed);
    mtvm_unframer_write(&unframer, good->wire, good->wire_len, &consumed);
    CHECK(packets.count == 1, "packet after noise");
  }
}

/* ---- session ---- */

typedef struct {
  int established;
  int terminated;
  int logs;
  int normals;
  uint8_t last_body[600];
  size_t last_len;
  mtvm_message_type_t last_type;
} events_t;

static void record_event(void* ctx, mtvm_message_type_t type, const uint8_t* body, size_t len) {
  events_t* events = (events_t*)ctx;
  events->last_type = type;
  if (type == kMtvmMessageStartSessionReply) {
    events->established++;
  } else if (type == kMtvmMessageTerminateSession) {
    events->terminated++;
  } else {
    if (type == kMtvmMessageLog) {
      events->logs++;
    } else {
      events->normals++;
    }
    if (len <= sizeof(events->last_body)) {
      if (len > 0) {
        memcpy(events->last_body, body, len);
      }
      events->last_len = len;
    }
  }
}

typedef struct {
  mtvm_session_t session;
  sink_t sink;
  events_t events;
  uint8_t buffer[600];
} endpoint_t;

static void endpoint_init(endpoint_t* e) {
  sink_init(&e->sink);
  memset(&e->events, 0, sizeof(e->events));
  mtvm_session_init(&e->session, e->buffer, sizeof(e->buffer), sink_write, &e->sink,
                    record_event, &e->events);
}

/* Moves everything `from` wrote into `to`, re-feeding after framing errors. */
static void deliver(endpoint_t* from, endpoint_t* to) {
  size_t at = 0;
  while (at < from->sink.len) {
    size_t consumed = 0;
    mtvm_session_receive(&to->session, from->sink.data + at, from->sink.len - at, &consumed);
    at += consumed;
  }
  from->sink.len = 0;
}

static void test_nonces(void) {
  size_t i;
  for (i = 0; i < kNonceVectorCount; i++) {
    uint8_t got = mtvm_session_next_nonce(kNonceVectors[i].from);
    CHECK(got == kNonceVectors[i].to, "nonce 0x%02x -> 0x%02x, want 0x%02x", kNonceVectors[i].from,
          got, kNonceVectors[i].to);
  }
}

static void test_session_messages(void) {
  size_t i;
  for (i = 0; i < kSessionVectorCount; i++) {
    const session_vector_t* v = &kSessionVectors[i];
    endpoint_t e;
    endpoint_t peer;
    uint8_t payload[600];
    endpoint_init(&e);
    /* The wire is the frame of header + body. */
    payload[0] = (uint8_t)(v->session_id & 0xFF);
    payload[1] = (uint8_t)(v->session_id >> 8);
    payload[2] = v->type;
    memcpy(payload + 3, v->body, v->body_len);
    if (!v->prefix) {
      e.session.framer.state = kMtvmFramerIdle;
    }
    CHECK(mtvm_framer_write_packet(&e.session.framer, payload, 3 + v->body_len) ==
              kTvmErrorNoError,
          "frame %s", v->name);
    CHECK(bytes_equal(e.sink.data, e.sink.len, v->wire, v->wire_len), "session wire %s", v->name);

    /* Logs go out through the session API with id 0 in any state. */
    if (v->type == kMtvmMessageLog) {
      endpoint_init(&peer);
      if (!v->prefix) {
        peer.session.framer.state = kMtvmFramerIdle;
      }
      CHECK(mtvm_session_send(&peer.session, kMtvmMessageLog, v->body, v->body_len) ==
                kTvmErrorNoError,
            "send log %s", v->name);
      CHECK(bytes_equal(peer.sink.data, peer.sink.len, v->wire, v->wire_len), "log wire %s",
            v->name);
    }
  }
}

static void test_handshake_trace(void) {
  /* The device is the transport loop the firmware runs; the host is a plain session. */
  static mtvm_transport_loop_t loop;
  static uint8_t loop_buffer[600];
  sink_t device_out;
  endpoint_t host;
  size_t step = 0;
  int err;

  sink_init(&device_out);
  err = mtvm_transport_loop_init(&loop, loop_buffer, sizeof(loop_buffer), sink_write, &device_out,
                                 NULL, NULL, kHandshakeDeviceNonce);
  CHECK(err == kTvmErrorNoError, "loop init");
  endpoint_init(&host);
  CHECK(mtvm_session_initialize(&host.session, kHandshakeHostNonce) == kTvmErrorNoError,
        "host initialize");
  CHECK(mtvm_session_start(&host.session) == kTvmErrorNoError, "host start");

  for (step = 0; step < kHandshakeStepCount; step++) {
    const handshake_step_t* s = &kHandshakeSteps[step];
    if (s->host_to_device) {
      /* Compare the host's next frame with the trace and feed it to the device. */
      size_t consumed_host = 0;
      if (s->type == kMtvmMessageNormal && host.sink.len == 0) {
        mtvm_session_send_normal(&host.session, s->body, s->body_len);
      }
      CHECK(host.sink.len >= s->wire_len &&
                memcmp(host.sink.data, s->wire, s->wire_len) == 0,
            "host step %u (%s)", (unsigned)step, s->description);
      mtvm_transport_loop_feed(&loop, host.sink.data, s->wire_len);
      consumed_host = s->wire_len;
      memmove(host.sink.data, host.sink.data + consumed_host, host.sink.len - consumed_host);
      host.sink.len -= consumed_host;
    } else {
      size_t at = 0;
      if (s->type == kMtvmMessageNormal && device_out.len == 0) {
        mtvm_session_send_normal(mtvm_transport_loop_session(&loop), s->body, s->body_len);
      }
      CHECK(device_out.len >= s->wire_len && memcmp(device_out.data, s->wire, s->wire_len) == 0,
            "device step %u (%s)", (unsigned)step, s->description);
      while (at < s->wire_len) {
        size_t consumed = 0;
        mtvm_session_receive(&host.session, device_out.data + at, s->wire_len - at, &consumed);
        at += consumed;
      }
      memmove(device_out.data, device_out.data + s->wire_len, device_out.len - s->wire_len);
      device_out.len -= s->wire_len;
    }
  }
  CHECK(mtvm_session_is_established(&host.session), "host established");
  CHECK(mtvm_session_is_established(mtvm_transport_loop_session(&loop)), "device established");
  CHECK(host.session.session_id == kHandshakeSessionId, "host id 0x%04x",
        host.session.session_id);
  CHECK(loop.session.session_id == kHandshakeSessionId, "device id");
  CHECK(host.events.established == 1, "one established event");
  CHECK(host.events.normals == 1, "host got the device's Normal message");
}

static void test_simultaneous_start(void) {
  endpoint_t alice;
  endpoint_t bob;
  endpoint_init(&alice);
  endpoint_init(&bob);
  mtvm_session_initialize(&alice.session, kSimultaneousAliceNonce);
  mtvm_session_initialize(&bob.session, kSimultaneousBobNonce);
  deliver(&alice, &bob);
  deliver(&bob, &alice);
  mtvm_session_start(&alice.session);
  mtvm_session_start(&bob.session);
  CHECK(alice.session.local_nonce == kSimultaneousAliceInitNonce, "alice init nonce");
  CHECK(bob.session.local_nonce == kSimultaneousBobInitNonce, "bob init nonce");
  /* Bob ignores Alice's Init: 0x82 is not lower than his 0x66. */
  deliver(&alice, &bob);
  CHECK(bob.sink.len > 0, "bob's init is pending");
  {
    size_t bob_init_len = bob.sink.len;
    deliver(&bob, &alice); /* only bob's Init */
    CHECK(bob_init_len > 0, "bob wrote only his init");
  }
  CHECK(bytes_equal(alice.sink.data, alice.sink.len, kSimultaneousAliceReply,
                    kSimultaneousAliceReplyLen),
        "alice replies with the golden bytes");
  deliver(&alice, &bob);
  CHECK(mtvm_session_is_established(&alice.session) && mtvm_session_is_established(&bob.session),
        "both established");
  CHECK(alice.session.session_id == kSimultaneousSessionId &&
            bob.session.session_id == kSimultaneousSessionId,
        "both use id 0x%04x", kSimultaneousSessionId);
}

static void test_session_rules(void) {
  endpoint_t host;
  endpoint_t device;
  static const uint8_t hello[] = {'h', 'e', 'l', 'l', 'o'};
  endpoint_init(&host);
  endpoint_init(&device);

  CHECK(mtvm_session_send_normal(&host.session, hello, 5) == kTvmErrorSessionInvalidState,
        "normal before a session");
  CHECK(mtvm_session_start(&host.session) == kTvmErrorSessionInvalidState,
        "start before initialize");
  CHECK(mtvm_session_send_log(&device.session, "early") == kTvmErrorNoError,
        "log before a session");
  CHECK(device.sink.data[0] == 0xFE, "first log carries the prefix");
  deliver(&device, &host);
  CHECK(host.events.logs == 1 && host.events.last_len == 5, "early log delivered");

  mtvm_session_initialize(&device.session, 0x11);
  mtvm_session_initialize(&host.session, 0x22);
  deliver(&device, &host);
  deliver(&host, &device);
  CHECK(host.events.terminated == 0, "terminate while not established is ignored");
  mtvm_session_start(&host.session);
  deliver(&host, &device);
  deliver(&device, &host);
  CHECK(mtvm_session_is_established(&host.session), "established");

  /* Normal messages with a wrong id are dropped; the right one is delivered. */
  {
    uint8_t payload[8];
    payload[0] = (uint8_t)((host.session.session_id + 1) & 0xFF);
    payload[1] = (uint8_t)(host.session.session_id >> 8);
    payload[2] = kMtvmMessageNormal;
    memcpy(payload + 3, hello, 5);
    mtvm_framer_write_packet(&host.session.framer, payload, 8);
    deliver(&host, &device);
    CHECK(device.events.normals == 0, "wrong id dropped");
    mtvm_session_send_normal(&host.session, hello, 5);
    deliver(&host, &device);
    CHECK(device.events.normals == 1 && bytes_equal(device.events.last_body,
                                                    device.events.last_len, hello, 5),
          "normal delivered");
  }

  /* A payload shorter than the header is ignored. */
  {
    static const uint8_t tiny[] = {0x01, 0x02};
    mtvm_session_process_payload(&device.session, tiny, sizeof(tiny));
    CHECK(mtvm_session_is_established(&device.session), "short payload ignored");
  }

  /* A StartSessionReply while established is ignored (TVM drops to Reset, quirk Q-S2). */
  {
    uint8_t reply[4];
    reply[0] = (uint8_t)(host.session.session_id & 0xFF);
    reply[1] = (uint8_t)(host.session.session_id >> 8);
    reply[2] = kMtvmMessageStartSessionReply;
    reply[3] = MTVM_SESSION_VERSION;
    mtvm_session_process_payload(&host.session, reply, sizeof(reply));
    CHECK(mtvm_session_is_established(&host.session), "stray reply ignored");
  }

  /* A new Init while established is answered (a host restarting its side). */
  mtvm_session_initialize(&host.session, 0x33);
  mtvm_session_start(&host.session);
  deliver(&host, &device);
  deliver(&device, &host);
  CHECK(mtvm_session_is_established(&host.session) &&
            host.session.session_id == device.session.session_id,
        "re-handshake");

  /* The device reboots: its Terminate ends the host's session. */
  host.events.terminated = 0;
  mtvm_framer_reset(&device.session.framer);
  mtvm_session_initialize(&device.session, 0x44);
  deliver(&device, &host);
  CHECK(host.events.terminated == 1 && !mtvm_session_is_established(&host.session),
        "device reset detected");
  CHECK(mtvm_session_send_normal(&host.session, hello, 5) == kTvmErrorSessionInvalidState,
        "no sends after terminate");
}

/* ---- transport loop ---- */

typedef struct {
  mtvm_transport_loop_t* loop;
  int calls;
} echo_ctx_t;

static void echo_handler(void* ctx, const uint8_t* body, size_t len) {
  echo_ctx_t* echo = (echo_ctx_t*)ctx;
  echo->calls++;
  mtvm_session_send_normal(mtvm_transport_loop_session(echo->loop), body, len);
}

static void test_transport_loop(void) {
  static mtvm_transport_loop_t loop;
  static uint8_t loop_buffer[64];
  static const uint8_t garbage[] = {0x00, 0xFF, 0xFD, 0x09, 0x00, 0x00, 0x00, 0x12, 0xFF,
                                    0x33, 0x44, 0xFF, 0xFD, 0x01, 0x7A};
  sink_t device_out;
  endpoint_t host;
  echo_ctx_t echo;
  uint8_t body[40];
  int round;

  sink_init(&device_out);
  echo.loop = &loop;
  echo.calls = 0;
  mtvm_transport_loop_init(&loop, loop_buffer, sizeof(loop_buffer), sink_write, &device_out,
                           echo_handler, &echo, 0x5A);
  endpoint_init(&host);
  mtvm_session_initialize(&host.session, 0x21);
  mtvm_session_start(&host.session);

  /* Byte-at-a-time delivery to the loop, as TVM's host CRT does. */
  {
    size_t i;
    for (i = 0; i < host.sink.len; i++) {
      mtvm_transport_loop_feed(&loop, host.sink.data + i, 1);
    }
    host.sink.len = 0;
  }
  {
    size_t at = 0;
    while (at < device_out.len) {
      size_t consumed = 0;
      mtvm_session_receive(&host.session, device_out.data + at, device_out.len - at, &consumed);
      at += consumed;
    }
    device_out.len = 0;
  }
  CHECK(mtvm_session_is_established(&host.session), "loop handshake");

  for (round = 0; round < 20; round++) {
    size_t len = (size_t)(round * 7) % sizeof(body);
    size_t i;
    for (i = 0; i < len; i++) {
      body[i] = (uint8_t)(round * 31 + (int)i * 13);
    }
    if (round % 5 == 4) {
      /* Garbage and a cut-off frame before the message; the loop skips them. */
      (void)mtvm_transport_loop_feed(&loop, garbage, sizeof(garbage));
    }
    mtvm_session_send_normal(&host.session, body, len);
    mtvm_transport_loop_feed(&loop, host.sink.data, host.sink.len);
    host.sink.len = 0;
    host.events.normals = 0;
    {
      size_t at = 0;
      while (at < device_out.len) {
        size_t consumed = 0;
        mtvm_session_receive(&host.session, device_out.data + at, device_out.len - at,
                             &consumed);
        at += consumed;
      }
      device_out.len = 0;
    }
    CHECK(host.events.normals == 1 &&
              bytes_equal(host.events.last_body, host.events.last_len, body, len),
          "echo round %d", round);
  }
  CHECK(echo.calls == 20, "handler called once per message: %d", echo.calls);
  CHECK(loop.framing_errors > 0, "garbage counted as framing errors");

  /* A message bigger than the loop's buffer is dropped; the next is still echoed. */
  {
    uint8_t big[100];
    memset(big, 0x42, sizeof(big));
    mtvm_session_send_normal(&host.session, big, sizeof(big));
    mtvm_transport_loop_feed(&loop, host.sink.data, host.sink.len);
    host.sink.len = 0;
    CHECK(device_out.len == 0 && echo.calls == 20, "oversized message not echoed");
    mtvm_session_send_normal(&host.session, big, 10);
    mtvm_transport_loop_feed(&loop, host.sink.data, host.sink.len);
    host.sink.len = 0;
    CHECK(echo.calls == 21, "next message echoed");
  }
}

/* ---- host platform ---- */

static size_t format(char* out, size_t size, const char* fmt, ...) {
  va_list args;
  size_t n;
  va_start(args, fmt);
  n = TVMPlatformFormatMessage(out, size, fmt, args);
  va_end(args);
  return n;
}

static void test_platform(void) {
  DLDevice dev;
  void* a = NULL;
  void* b = NULL;
  void* c = NULL;
  void* untouched = (void*)&dev;
  char text[8];
  double seconds = -1.0;
  uint8_t random[32];
  size_t i;
  int nonzero = 0;

  dev.device_type = kDLCPU;
  dev.device_id = 0;
  CHECK(TVMPlatformInitialize() == kTvmErrorNoError, "initialize");
  CHECK(TVMPlatformMemoryAllocate(100, dev, &a) == kTvmErrorNoError && a != NULL, "alloc a");
  CHECK(TVMPlatformMemoryAllocate(0, dev, &b) == kTvmErrorNoError && b != NULL && b != a,
        "alloc 0 bytes gives a distinct block");
  CHECK(((uintptr_t)a % 16) == 0, "aligned");
  memset(a, 0xAB, 100);
  CHECK(TVMPlatformMemoryAllocate((size_t)TVM_WORKSPACE_SIZE_BYTES, dev, &untouched) ==
                kTvmErrorPlatformNoMemory &&
            untouched == (void*)&dev,
        "too large: NoMemory, out untouched");
  CHECK(TVMPlatformMemoryFree(a, dev) == kTvmErrorNoError, "free a");
  CHECK(TVMPlatformMemoryFree(a, dev) != kTvmErrorNoError, "double free refused");
  CHECK(TVMPlatformMemoryFree((uint8_t*)b + 1, dev) != kTvmErrorNoError, "bad pointer refused");
  CHECK(TVMPlatformMemoryFree(b, dev) == kTvmErrorNoError, "free b");
  /* Everything freed: the whole pool is available again, in one piece. */
  CHECK(TVMPlatformMemoryAllocate((size_t)TVM_WORKSPACE_SIZE_BYTES, dev, &c) == kTvmErrorNoError,
        "whole pool after frees");
  CHECK(TVMPlatformMemoryFree(c, dev) == kTvmErrorNoError, "free c");

  {
    /* First fit over multi-page allocations and the gaps between them: the scan steps over
     * each allocation whole and must still find every gap that fits, and only those. */
    void* blocks[4];
    void* small = NULL;
    void* big = NULL;
    void* again = NULL;
    const size_t page = 256;
    for (i = 0; i < 4; i++) {
      CHECK(TVMPlatformMemoryAllocate(3 * page, dev, &blocks[i]) == kTvmErrorNoError,
            "alloc block %u", (unsigned)i);
    }
    for (i = 1; i < 4; i++) {
      CHECK((uint8_t*)blocks[i] == (uint8_t*)blocks[i - 1] + 3 * page,
            "blocks are contiguous (%u)", (unsigned)i);
    }
    CHECK(TVMPlatformMemoryFree(blocks[1], dev) == kTvmErrorNoError, "free block 1");
    /* Four pages do not fit the three-page gap: the first fit is past the last block. */
    CHECK(TVMPlatformMemoryAllocate(4 * page, dev, &big) == kTvmErrorNoError &&
              (uint8_t*)big == (uint8_t*)blocks[3] + 3 * page,
          "a larger block goes past the gap");
    /* One page fits the gap: it is taken at its start, then the rest of it. */
    CHECK(TVMPlatformMemoryAllocate(page, dev, &small) == kTvmErrorNoError && small == blocks[1],
          "a small block fills the gap from its start");
    CHECK(TVMPlatformMemoryAllocate(2 * page, dev, &again) == kTvmErrorNoError &&
              (uint8_t*)again == (uint8_t*)blocks[1] + page,
          "the rest of the gap is found after the small block");
    CHECK(TVMPlatformMemoryFree(again, dev) == kTvmErrorNoError, "free rest");
    CHECK(TVMPlatformMemoryFree(small, dev) == kTvmErrorNoError, "free small");
    CHECK(TVMPlatformMemoryFree(big, dev) == kTvmErrorNoError, "free big");
    CHECK(TVMPlatformMemoryFree(blocks[0], dev) == kTvmErrorNoError, "free block 0");
    CHECK(TVMPlatformMemoryFree(blocks[2], dev) == kTvmErrorNoError, "free block 2");
    CHECK(TVMPlatformMemoryFree(blocks[3], dev) == kTvmErrorNoError, "free block 3");
    CHECK(TVMPlatformMemoryAllocate((size_t)TVM_WORKSPACE_SIZE_BYTES, dev, &c) == kTvmErrorNoError,
          "whole pool after the gap test");
    CHECK(TVMPlatformMemoryFree(c, dev) == kTvmErrorNoError, "free whole pool");
  }

  {
    /* The search starts at the lowest free page: an allocation that fills the lowest gap moves
     * that start past every allocation after it, and a free below it moves it back, so first fit
     * still finds every gap. An operator's alloc/free loop gets the same block each time. */
    void* blocks[4];
    void* got = NULL;
    const size_t page = 256;
    for (i = 0; i < 4; i++) {
      CHECK(TVMPlatformMemoryAllocate(3 * page, dev, &blocks[i]) == kTvmErrorNoError,
            "alloc hint block %u", (unsigned)i);
    }
    CHECK(TVMPlatformMemoryFree(blocks[0], dev) == kTvmErrorNoError, "free hint block 0");
    for (i = 0; i < 100; i++) {
      CHECK(TVMPlatformMemoryAllocate(4, dev, &got) == kTvmErrorNoError && got == blocks[0],
            "alloc/free loop %u reuses the lowest gap", (unsigned)i);
      CHECK(TVMPlatformMemoryFree(got, dev) == kTvmErrorNoError, "loop free %u", (unsigned)i);
    }
    CHECK(TVMPlatformMemoryAllocate(3 * page, dev, &got) == kTvmErrorNoError && got == blocks[0],
          "the lowest gap filled exactly");
    CHECK(TVMPlatformMemoryFree(blocks[2], dev) == kTvmErrorNoError, "free hint block 2");
    CHECK(TVMPlatformMemoryAllocate(2 * page, dev, &blocks[2]) == kTvmErrorNoError &&
              (uint8_t*)blocks[2] == (uint8_t*)blocks[1] + 3 * page,
          "a gap above a filled one is found again");
    CHECK(TVMPlatformMemoryAllocate(page, dev, &c) == kTvmErrorNoError &&
              (uint8_t*)c == (uint8_t*)blocks[1] + 5 * page,
          "and the page left of it");
    CHECK(TVMPlatformMemoryFree(c, dev) == kTvmErrorNoError, "free the page left");
    CHECK(TVMPlatformMemoryFree(got, dev) == kTvmErrorNoError, "free hint block 0 again");
    for (i = 1; i < 4; i++) {
      CHECK(TVMPlatformMemoryFree(blocks[i], dev) == kTvmErrorNoError, "free hint block %u",
            (unsigned)i);
    }
    CHECK(TVMPlatformMemoryAllocate((size_t)TVM_WORKSPACE_SIZE_BYTES, dev, &c) == kTvmErrorNoError,
          "whole pool after the search-start test");
    CHECK(TVMPlatformMemoryFree(c, dev) == kTvmErrorNoError, "free whole pool again");
  }

  CHECK(format(text, sizeof(text), "%s-%d", "abcdef", 42) == 7 && strcmp(text, "abcdef-") == 0,
        "format is bounded: '%s'", text);
  CHECK(format(text, sizeof(text), "%d", 5) == 1 && strcmp(text, "5") == 0, "format short");

  CHECK(TVMPlatformTimerStop(&seconds) == kTvmErrorPlatformTimerBadState, "stop before start");
  CHECK(TVMPlatformTimerStart() == kTvmErrorNoError, "timer start");
  CHECK(TVMPlatformTimerStart() == kTvmErrorPlatformTimerBadState, "start twice");
  CHECK(TVMPlatformTimerStop(&seconds) == kTvmErrorNoError && seconds >= 0.0 && seconds < 10.0,
        "elapsed seconds %f", seconds);

  memset(random, 0, sizeof(random));
  CHECK(TVMPlatformGenerateRandom(random, sizeof(random)) == kTvmErrorNoError, "random");
  for (i = 0; i < sizeof(random); i++) {
    nonzero += random[i] != 0;
  }
  CHECK(nonzero > 0, "random bytes are not all zero");
}

int main(void) {
  test_crc();
  test_framer_vectors();
  test_framer_states();
  test_unframer_vectors();
  test_unframer_short_packet();
  test_unframer_recovery();
  test_nonces();
  test_session_messages();
  test_handshake_trace();
  test_simultaneous_start();
  test_session_rules();
  test_transport_loop();
  test_platform();
  printf("%d checks, %d failures\n", g_checks, g_failures);
  return g_failures == 0 ? 0 : 1;
}
