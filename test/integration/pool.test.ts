// The firmware's memory pool follows the model archive: sized from the generated C's workspace
// allocations (or metadata.json's bytes when the code cannot be read), the executor's tensors or
// the graph's storage, and the runtime's own buffers, page by page, plus the margin; the
// workspace_size_bytes option wins; an archive that says too little falls back to the default
// and says so.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openMlf, writeMlf } from "../../src/mlf/index.js";
import { sharedFixture } from "../helpers/paths.js";
import {
  POOL_MARGIN_PERCENT,
  archivePoolSize,
  choosePoolSize,
  poolMargin,
  workspaceNeed,
  type PoolPlatform,
} from "../../templates/common/pool.js";

const CORTEX_M: PoolPlatform = { pageBytes: 256, pointerBytes: 4, packetBytes: 16384 };
const MICROBIT: PoolPlatform = { pageBytes: 256, pointerBytes: 4, packetBytes: 512 };
const HOST: PoolPlatform = { pageBytes: 256, pointerBytes: 8, packetBytes: 131072 };
const FALLBACK = { bytes: 1 << 20, what: "the default" };

let work: string;
before(() => {
  work = mkdtempSync(join(tmpdir(), "microtvm-pool-"));
});
after(() => rmSync(work, { recursive: true, force: true }));

const part = (need: { parts: { what: string; bytes: number }[] }, what: RegExp) =>
  need.parts.find((p) => what.test(p.what))?.bytes;

/** A v7 AOT archive whose main allocates `sizes` (constants, or a computed size when null). */
async function archiveAllocating(
  name: string,
  sizes: (number | null)[],
  metadataBytes: number,
): Promise<string> {
  const path = join(work, `${name}.tar`);
  const calls = sizes
    .map(
      (s, i) =>
        `  void* sid_${i} = TVMBackendAllocWorkspace(1, 0, ${s === null ? "(uint64_t)(n * 4)" : `(uint64_t)${s}`}, 0, 8);\n` +
        `  if (sid_${i} == NULL) return -1;\n`,
    )
    .join("");
  const frees = sizes.map((_, i) => `  TVMBackendFreeWorkspace(1, 0, sid_${i});\n`).join("");
  await writeMlf({
    sources: [
      {
        name: "default_lib0.c",
        content:
          '#include <stdint.h>\n#include <tvm/runtime/c_backend_api.h>\n#include "tvmgen_default.h"\n' +
          "int32_t tvmgen_default___tvm_main__(int8_t* a, int32_t* out) {\n  int32_t n = a[0];\n" +
          calls +
          "  out[0] = n;\n" +
          frees +
          "  return 0;\n}\n" +
          "int32_t tvmgen_default_run(struct tvmgen_default_inputs* inputs, struct tvmgen_default_outputs* outputs) {\n" +
          "  return tvmgen_default___tvm_main__((int8_t*)inputs->a, (int32_t*)outputs->out);\n}\n",
      },
    ],
    inputs: [{ name: "a", dtype: "int8", shape: [4] }],
    outputs: [{ name: "out", dtype: "int32", shape: [1] }],
    workspaceBytes: metadataBytes,
    operatorFunctions: [{ name: "tvmgen_default_fused_add", workspaceBytes: 0 }],
    exportDatetime: "2024-01-01 00:00:00Z",
    output: path,
  });
  return path;
}

test("AOT (MLF v5): the main function's allocations from the generated C, page by page with their headers", async (t) => {
  const path = sharedFixture(t, "yes-no-kws-aot-v5", "model.tar");
  if (!path) return;
  const need = workspaceNeed(await openMlf(path), CORTEX_M);
  // tvmgen_default_run_model allocates 8000, 4000, 16 and 16 bytes; each takes a 32-byte header
  // and whole 256-byte pages: 8192 + 4096 + 256 + 256.
  assert.equal(part(need, /^main function workspace/), 12800);
  // The conv2d allocates 5336 (PaddedInput) and 4 bytes: 5632 with headers and pages.
  assert.equal(part(need, /^largest operator workspace/), 5376 + 256);
  assert.ok(part(need, /^AOT executor and its 2 input\/output arrays/));
  assert.equal(part(need, /^RPC server and reply buffer/), 256 + 16384);
  assert.equal(
    need.bytes,
    need.parts.reduce((s, p) => s + p.bytes, 0),
  );
  assert.match(need.notes.join("\n"), /4 allocation\(s\) in the main function.*metadata: main 21312 bytes/);
});

test("graph (MLF v4): every storage id the host allocates, linked parameters excluded; v5 object code from metadata", async (t) => {
  const graph = sharedFixture(t, "yes-no-kws-graph-v4", "model.tar");
  const llvm = sharedFixture(t, "conv1d-graph-llvm-v5", "archive.tar");
  if (!graph || !llvm) return;
  const g = workspaceNeed(await openMlf(graph), CORTEX_M);
  assert.match(
    g.parts.map((p) => p.what).join("\n"),
    /graph storage, \d+ tensor\(s\) \(linked parameters excluded\), for two executors/,
  );
  assert.equal(part(g, /^main function/), undefined, "a graph has no AOT main");
  const o = workspaceNeed(await openMlf(llvm), CORTEX_M);
  assert.match(
    o.notes.join("\n"),
    /workspace from metadata\.json \(object code\).*largest operator 448 bytes/,
  );
  // 448 bytes, assumed split into 4 allocations with a header and page rounding each.
  assert.equal(part(o, /^largest operator workspace/), Math.ceil((448 + 4 * (32 + 255)) / 256) * 256);
  assert.match(o.parts.map((p) => p.what).join("\n"), /graph storage, \d+ tensor\(s\), for two executors$/m);
});

test("the pool follows the archive: two archives, two sizes; a bigger allocation, a bigger pool", async (t) => {
  const kws = sharedFixture(t, "yes-no-kws-aot-v5", "model.tar");
  const sine = sharedFixture(t, "sine-aot-v5-crt", "sine.tar");
  if (!kws || !sine) return;
  for (const platform of [CORTEX_M, MICROBIT, HOST]) {
    const a = await archivePoolSize(kws, null, platform, FALLBACK);
    const b = await archivePoolSize(sine, null, platform, FALLBACK);
    assert.equal(a.source, "archive");
    assert.equal(b.source, "archive");
    assert.ok(a.bytes > b.bytes, `kws ${a.bytes} > sine ${b.bytes}`);
    assert.equal(a.bytes, a.needBytes! + a.marginBytes);
    // The margin is taken on everything but the RPC server and its reply buffer (known exactly).
    const need = workspaceNeed(await openMlf(kws), platform);
    const fixed = part(need, /^RPC server and reply buffer/)!;
    assert.equal(need.fixedBytes, fixed);
    assert.equal(a.marginBytes, poolMargin(need, 256));
    assert.equal(a.marginBytes, Math.ceil(((a.needBytes! - fixed) * POOL_MARGIN_PERCENT) / 100 / 256) * 256);
    assert.match(
      a.lines[0]!,
      new RegExp(
        `^memory pool: ${a.bytes} bytes, sized from the model archive: ${a.needBytes} needed \\+ ${a.marginBytes} margin ` +
          `\\(${POOL_MARGIN_PERCENT}% of the ${a.needBytes! - fixed} besides the reply buffer\\)$`,
      ),
    );
  }
  // MLF v7, written here: 10000 bytes more of workspace in main, 10000 (+ page rounding) more pool need.
  const small = await archivePoolSize(
    await archiveAllocating("small", [1000], 1000),
    null,
    CORTEX_M,
    FALLBACK,
  );
  const big = await archivePoolSize(
    await archiveAllocating("big", [1000, 10000], 11000),
    null,
    CORTEX_M,
    FALLBACK,
  );
  assert.equal(big.needBytes! - small.needBytes!, Math.ceil((10000 + 32) / 256) * 256);
  assert.ok(big.bytes > small.bytes);
});

test("sizes the C computes at run time: metadata's bytes with assumed allocations, said in the output", async () => {
  const path = await archiveAllocating("computed", [null], 3000);
  const pool = await archivePoolSize(path, null, CORTEX_M, FALLBACK);
  assert.equal(pool.source, "archive");
  assert.match(
    pool.lines.join("\n"),
    /workspace from metadata\.json \(the C computes sizes at run time\): main 3000 bytes/,
  );
  const need = workspaceNeed(await openMlf(path), CORTEX_M);
  assert.ok(part(need, /^main function workspace/)! >= 3000 + 32);
});

test("workspace_size_bytes wins, with a warning when below the archive's need; an unreadable archive falls back", async (t) => {
  const kws = sharedFixture(t, "yes-no-kws-aot-v5", "model.tar");
  if (!kws) return;
  const chosen = await archivePoolSize(kws, 1 << 20, CORTEX_M, FALLBACK);
  assert.deepEqual([chosen.bytes, chosen.source, chosen.lines.length], [1 << 20, "option", 1]);
  assert.match(chosen.lines[0]!, /^memory pool: 1048576 bytes, from the option workspace_size_bytes$/);
  const small = await archivePoolSize(kws, 8192, CORTEX_M, FALLBACK);
  assert.equal(small.bytes, 8192);
  assert.match(
    small.lines[1]!,
    /warning: the model archive needs about \d+ bytes; a smaller pool may fail at run with "out of memory"/,
  );

  const missing = await archivePoolSize(join(work, "absent.tar"), null, CORTEX_M, FALLBACK);
  assert.equal(missing.source, "default");
  assert.equal(missing.bytes, FALLBACK.bytes);
  assert.match(
    missing.lines[0]!,
    /memory pool: 1048576 bytes, the default: the model archive did not say enough to size it \(.*absent\.tar.*\); set workspace_size_bytes to choose/,
  );

  const thrown = choosePoolSize(
    null,
    () => {
      throw new Error("model default: metadata.json lists no operator functions");
    },
    CORTEX_M,
    FALLBACK,
  );
  assert.equal(thrown.source, "default");
  assert.match(thrown.lines[0]!, /lists no operator functions/);
});
