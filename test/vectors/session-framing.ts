// The golden vectors of the framing and session layers, shared by the TS tests and (through a
// generated header) the C tests.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { repoRoot } from "../helpers/paths.js";

export interface CrcVector {
  name: string;
  data: string;
  crc: number;
}
export interface FrameVector {
  name: string;
  payload: string;
  prefix: boolean;
  wire: string;
}
export interface SessionMessageVector {
  name: string;
  session_id: number;
  type: number;
  body: string;
  prefix: boolean;
  wire: string;
}
export interface HandshakeStep {
  direction: "device_to_host" | "host_to_device";
  type: number;
  body: string;
  description: string;
  wire: string;
}
export interface SessionVectors {
  crc16: CrcVector[];
  frames: FrameVector[];
  session_messages: SessionMessageVector[];
  nonce_steps: { from: number; to: number }[];
  handshake: { host_nonce: number; device_nonce: number; session_id: number; steps: HandshakeStep[] };
  simultaneous_start: {
    alice_nonce: number;
    bob_nonce: number;
    alice_init_nonce: number;
    bob_init_nonce: number;
    alice_reply_wire: string;
    session_id: number;
  };
}

export const vectorsPath = join(repoRoot, "test", "vectors", "session-framing.json");

export function loadSessionVectors(): SessionVectors {
  return JSON.parse(readFileSync(vectorsPath, "utf8")) as SessionVectors;
}

export function hex(text: string): Uint8Array {
  if (text.length % 2 !== 0 || /[^0-9a-f]/i.test(text)) throw new Error(`not a hex string: ${text}`);
  return new Uint8Array(Buffer.from(text, "hex"));
}
