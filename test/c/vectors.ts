// Renders the golden vectors of test/vectors/session-framing.json as a C header for the C tests.
import { hex } from "../vectors/session-framing.js";
import type { SessionVectors } from "../vectors/session-framing.js";

function cBytes(name: string, hexText: string): string {
  const bytes = [...hex(hexText)].map((b) => `0x${b.toString(16).padStart(2, "0")}`);
  // C99 has no empty initialisers; a zero-length vector still gets one (unused) element.
  return `static const uint8_t ${name}[] = {${bytes.length > 0 ? bytes.join(", ") : "0"}};\n`;
}

function cString(text: string): string {
  if (/[^\x20-\x7e]/.test(text)) throw new Error(`vector name must be printable ASCII: ${text}`);
  return `"${text.replace(/\\/g, "\\\\").replace(/"/g, '\\"')}"`;
}

/** The vectors as a C header: arrays of structs plus the handshake constants. */
export function renderVectorsHeader(v: SessionVectors): string {
  let out = "/* Generated from test/vectors/session-framing.json by test/c/vectors.ts. */\n";
  out +=
    "#ifndef MTVM_TEST_VECTORS_H_\n#define MTVM_TEST_VECTORS_H_\n#include <stddef.h>\n#include <stdint.h>\n\n";
  out +=
    "typedef struct { const char* name; const uint8_t* data; size_t len; uint16_t crc; } crc_vector_t;\n";
  out +=
    "typedef struct { const char* name; const uint8_t* payload; size_t payload_len; int prefix; const uint8_t* wire; size_t wire_len; } frame_vector_t;\n";
  out +=
    "typedef struct { const char* name; uint16_t session_id; uint8_t type; const uint8_t* body; size_t body_len; int prefix; const uint8_t* wire; size_t wire_len; } session_vector_t;\n";
  out += "typedef struct { uint8_t from; uint8_t to; } nonce_vector_t;\n";
  out +=
    "typedef struct { int host_to_device; uint8_t type; const uint8_t* body; size_t body_len; const char* description; const uint8_t* wire; size_t wire_len; } handshake_step_t;\n\n";
  const len = (h: string) => h.length / 2;

  v.crc16.forEach((c, i) => (out += cBytes(`kCrcData${i}`, c.data)));
  out += `static const crc_vector_t kCrcVectors[] = {\n${v.crc16
    .map((c, i) => `  {${cString(c.name)}, kCrcData${i}, ${len(c.data)}, 0x${c.crc.toString(16)}},`)
    .join("\n")}\n};\n`;
  out += `static const size_t kCrcVectorCount = ${v.crc16.length};\n\n`;

  v.frames.forEach(
    (f, i) => (out += cBytes(`kFramePayload${i}`, f.payload) + cBytes(`kFrameWire${i}`, f.wire)),
  );
  out += `static const frame_vector_t kFrameVectors[] = {\n${v.frames
    .map(
      (f, i) =>
        `  {${cString(f.name)}, kFramePayload${i}, ${len(f.payload)}, ${f.prefix ? 1 : 0}, kFrameWire${i}, ${len(f.wire)}},`,
    )
    .join("\n")}\n};\n`;
  out += `static const size_t kFrameVectorCount = ${v.frames.length};\n\n`;

  v.session_messages.forEach(
    (m, i) => (out += cBytes(`kSessionBody${i}`, m.body) + cBytes(`kSessionWire${i}`, m.wire)),
  );
  out += `static const session_vector_t kSessionVectors[] = {\n${v.session_messages
    .map(
      (m, i) =>
        `  {${cString(m.name)}, 0x${m.session_id.toString(16)}, 0x${m.type.toString(16)}, kSessionBody${i}, ${len(m.body)}, ${m.prefix ? 1 : 0}, kSessionWire${i}, ${len(m.wire)}},`,
    )
    .join("\n")}\n};\n`;
  out += `static const size_t kSessionVectorCount = ${v.session_messages.length};\n\n`;

  out += `static const nonce_vector_t kNonceVectors[] = {\n${v.nonce_steps
    .map((n) => `  {0x${n.from.toString(16)}, 0x${n.to.toString(16)}},`)
    .join("\n")}\n};\n`;
  out += `static const size_t kNonceVectorCount = ${v.nonce_steps.length};\n\n`;

  const hs = v.handshake;
  hs.steps.forEach((s, i) => (out += cBytes(`kStepBody${i}`, s.body) + cBytes(`kStepWire${i}`, s.wire)));
  out += `static const handshake_step_t kHandshakeSteps[] = {\n${hs.steps
    .map(
      (s, i) =>
        `  {${s.direction === "host_to_device" ? 1 : 0}, 0x${s.type.toString(16)}, kStepBody${i}, ${len(s.body)}, ${cString(s.description)}, kStepWire${i}, ${len(s.wire)}},`,
    )
    .join("\n")}\n};\n`;
  out += `static const size_t kHandshakeStepCount = ${hs.steps.length};\n`;
  out += `static const uint8_t kHandshakeHostNonce = 0x${hs.host_nonce.toString(16)};\n`;
  out += `static const uint8_t kHandshakeDeviceNonce = 0x${hs.device_nonce.toString(16)};\n`;
  out += `static const uint16_t kHandshakeSessionId = 0x${hs.session_id.toString(16)};\n\n`;

  const sim = v.simultaneous_start;
  out += `static const uint8_t kSimultaneousAliceNonce = 0x${sim.alice_nonce.toString(16)};\n`;
  out += `static const uint8_t kSimultaneousBobNonce = 0x${sim.bob_nonce.toString(16)};\n`;
  out += `static const uint8_t kSimultaneousAliceInitNonce = 0x${sim.alice_init_nonce.toString(16)};\n`;
  out += `static const uint8_t kSimultaneousBobInitNonce = 0x${sim.bob_init_nonce.toString(16)};\n`;
  out += cBytes("kSimultaneousAliceReply", sim.alice_reply_wire);
  out += `static const size_t kSimultaneousAliceReplyLen = ${len(sim.alice_reply_wire)};\n`;
  out += `static const uint16_t kSimultaneousSessionId = 0x${sim.session_id.toString(16)};\n\n`;
  out += "#endif\n";
  return out;
}
