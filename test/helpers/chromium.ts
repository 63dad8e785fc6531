// Rendering a page in headless Chromium, as a user's browser would show it: the DOM after
// parsing and a PNG screenshot, decoded here so a test can look for the colours of its charts.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { inflateSync } from "node:zlib";
import type { TestContext } from "node:test";
import { haveCommand, requireCommand } from "./tools.js";

const BROWSERS = ["chromium", "chromium-browser", "google-chrome"];

/** The Chromium on PATH, or undefined after skipping the test (failing under MICROTVM_REQUIRE_TOOLCHAINS=1). */
export function requireChromium(t: TestContext): string | undefined {
  const found = BROWSERS.find(haveCommand);
  if (found) return found;
  requireCommand(t, "chromium", "Debian: chromium");
  return undefined;
}

/** Flags for a headless run that touches no network and no profile but a fresh one. */
function flags(profileDir: string): string[] {
  return [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    `--user-data-dir=${profileDir}`,
  ];
}

function run(browser: string, args: string[]): string {
  const profileDir = mkdtempSync(join(tmpdir(), "microtvm-chromium-"));
  try {
    const r = spawnSync(browser, [...flags(profileDir), ...args], {
      encoding: "utf8",
      timeout: 90_000,
      maxBuffer: 64 * 1024 * 1024,
      killSignal: "SIGKILL",
    });
    if (r.status !== 0)
      throw new Error(`${browser} failed (${r.status ?? r.signal}): ${r.stderr.slice(-2000)}`);
    return r.stdout;
  } finally {
    rmSync(profileDir, { recursive: true, force: true });
  }
}

/** The DOM Chromium built from the file. */
export function dumpDom(browser: string, file: string): string {
  return run(browser, ["--dump-dom", `file://${file}`]);
}

export interface Image {
  width: number;
  height: number;
  /** RGBA, 4 bytes per pixel. */
  rgba: Uint8Array;
}

/** A screenshot of the page at `width`×`height`. */
export function screenshot(browser: string, file: string, width = 1100, height = 1600): Image {
  const dir = mkdtempSync(join(tmpdir(), "microtvm-shot-"));
  try {
    const png = join(dir, "page.png");
    run(browser, [`--window-size=${width},${height}`, `--screenshot=${png}`, `file://${file}`]);
    return decodePng(readFileSync(png));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Decodes an 8-bit RGB or RGBA, non-interlaced PNG (what Chromium writes). */
export function decodePng(bytes: Buffer): Image {
  let offset = 8;
  let width = 0;
  let height = 0;
  let channels = 0;
  const data: Buffer[] = [];
  while (offset < bytes.length) {
    const length = bytes.readUInt32BE(offset);
    const type = bytes.toString("latin1", offset + 4, offset + 8);
    const body = bytes.subarray(offset + 8, offset + 8 + length);
    if (type === "IHDR") {
      width = body.readUInt32BE(0);
      height = body.readUInt32BE(4);
      if (body[8] !== 8 || (body[9] !== 2 && body[9] !== 6) || body[12] !== 0)
        throw new Error("only 8-bit RGB/RGBA non-interlaced PNGs are decoded");
      channels = body[9] === 6 ? 4 : 3;
    } else if (type === "IDAT") data.push(body);
    else if (type === "IEND") break;
    offset += 12 + length;
  }
  const raw = inflateSync(Buffer.concat(data));
  const stride = width * channels;
  const out = new Uint8Array(width * height * 4);
  const prev = new Uint8Array(stride);
  const line = new Uint8Array(stride);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)]!;
    const src = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1));
    for (let i = 0; i < stride; i++) {
      const a = i >= channels ? line[i - channels]! : 0;
      const b = prev[i]!;
      const c = i >= channels ? prev[i - channels]! : 0;
      let v = src[i]!;
      if (filter === 1) v += a;
      else if (filter === 2) v += b;
      else if (filter === 3) v += (a + b) >> 1;
      else if (filter === 4) {
        const p = a + b - c;
        const pa = Math.abs(p - a);
        const pb = Math.abs(p - b);
        const pc = Math.abs(p - c);
        v += pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
      }
      line[i] = v & 0xff;
    }
    for (let x = 0; x < width; x++) {
      out.set(line.subarray(x * channels, x * channels + 3), (y * width + x) * 4);
      out[(y * width + x) * 4 + 3] = channels === 4 ? line[x * channels + 3]! : 255;
    }
    prev.set(line);
  }
  return { width, height, rgba: out };
}

/** How many pixels are within `tolerance` of the colour `#rrggbb`. */
export function countColour(image: Image, hex: string, tolerance = 8): number {
  const r = parseInt(hex.slice(1, 3), 16);
  const g = parseInt(hex.slice(3, 5), 16);
  const b = parseInt(hex.slice(5, 7), 16);
  let n = 0;
  for (let i = 0; i < image.rgba.length; i += 4) {
    if (
      Math.abs(image.rgba[i]! - r) <= tolerance &&
      Math.abs(image.rgba[i + 1]! - g) <= tolerance &&
      Math.abs(image.rgba[i + 2]! - b) <= tolerance
    )
      n++;
  }
  return n;
}
