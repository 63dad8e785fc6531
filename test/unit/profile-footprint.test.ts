// The pure parts of profiling and footprints: the device's timing table, naming and picking the
// AOT operators from it, the GNU ld map parser, and the self-contained HTML report.
import assert from "node:assert/strict";
import { test } from "node:test";
import { decodeProfileTable, ownerOf, parseLinkerMap, summariseAot } from "../../src/device/index.js";
import { renderReport } from "../../src/cli/report/html.js";

function table(
  records: { address: bigint; ticks: bigint; calls: number; depth: number }[],
  flags = 0,
): Uint8Array {
  const bytes = new Uint8Array(48 + records.length * 24);
  const view = new DataView(bytes.buffer);
  bytes.set(Buffer.from("MTPF"), 0);
  bytes[4] = 1;
  bytes[5] = flags;
  view.setUint16(6, records.length, true);
  view.setBigUint64(8, 25_000_000n, true);
  view.setBigUint64(16, 0x1001n, true);
  bytes.set(Buffer.from("SysTick"), 24);
  records.forEach((r, i) => {
    const o = 48 + i * 24;
    view.setBigUint64(o, r.address, true);
    view.setBigUint64(o + 8, r.ticks, true);
    view.setUint32(o + 16, r.calls, true);
    view.setUint16(o + 20, r.depth, true);
  });
  return bytes;
}

test("the device's timing table decodes, and the AOT main function's callees become the operators", () => {
  const names = new Map<bigint, string>([
    [0x100n, "tvmgen_default_run"],
    [0x200n, "tvmgen_default_run_model"],
    [0x300n, "tvmgen_default_fused_conv"],
    [0x400n, "tvmgen_default_fused_softmax"],
    [0x500n, "helper_inside_conv"],
  ]);
  const decoded = decodeProfileTable(
    table(
      [
        { address: 0x100n, ticks: 1000n, calls: 2, depth: 0 },
        { address: 0x200n, ticks: 980n, calls: 2, depth: 1 },
        { address: 0x400n, ticks: 100n, calls: 2, depth: 2 },
        { address: 0x300n, ticks: 800n, calls: 4, depth: 2 },
        { address: 0x500n, ticks: 300n, calls: 40, depth: 3 },
      ],
      1,
    ),
  );
  assert.equal(decoded.clockHz, 25_000_000);
  assert.equal(decoded.clockName, "SysTick");
  assert.equal(decoded.anchor, 0x1001n);
  assert.equal(decoded.truncated, true);
  const profile = summariseAot(decoded, (a) => names.get(a), 2, 1100 / 25e6);
  assert.deepEqual(
    profile.operators.map((o) => [o.name, o.calls, o.ticks]),
    [
      ["tvmgen_default_fused_conv", 2, 400],
      ["tvmgen_default_fused_softmax", 1, 50],
    ],
  );
  assert.equal(profile.entrySeconds, 490 / 25e6);
  assert.match(profile.method, /tvmgen_default_run_model/);
  assert.match(profile.notes.join(" "), /table was full/);
  assert.throws(() => decodeProfileTable(new Uint8Array(48)), /not a timing table/);
  assert.throws(() => decodeProfileTable(table([]).subarray(0, 47)), /not a timing table/);
});

test("the linker map gives every input section's object, size and output section", () => {
  const map = [
    "Memory Configuration",
    "",
    "Linker script and memory map",
    "",
    "LOAD build/obj/firmware_startup.c.o",
    ".text           0x000000c0     0x6ea0",
    " *(.text .text.*)",
    " .text.Reset_Handler",
    "                0x000000c0       0xbc build/obj/firmware_startup.c.o",
    "                0x000000c0                Reset_Handler",
    " .text          0x0000017c       0x40 /usr/lib/arm-none-eabi/lib/libc_nano.a(lib_a-memcpy.o)",
    " *fill*         0x000001bc        0x4 ",
    ".bss            0x20000000      0x110",
    " COMMON         0x20000000      0x100 build/obj/model_codegen_host_src_default_lib1.c.o",
    ".debug_info     0x00000000      0x999",
    " .debug_info    0x00000000      0x999 build/obj/runtime_src_registry.c.o",
    "OUTPUT(build/firmware.elf elf32-littlearm)",
    " .text          0x00000000      0x500 after-output.o",
  ].join("\n");
  const pieces = parseLinkerMap(map);
  assert.deepEqual(
    pieces.map((p) => [p.outputSection, p.inputSection, p.size, p.file]),
    [
      [".text", ".text.Reset_Handler", 0xbc, "build/obj/firmware_startup.c.o"],
      [".text", ".text", 0x40, "/usr/lib/arm-none-eabi/lib/libc_nano.a(lib_a-memcpy.o)"],
      [".text", "*fill*", 4, ""],
      [".bss", "COMMON", 0x100, "build/obj/model_codegen_host_src_default_lib1.c.o"],
      [".debug_info", ".debug_info", 0x999, "build/obj/runtime_src_registry.c.o"],
    ],
  );
  assert.equal(ownerOf("build/obj/model_codegen_host_src_default_lib1.c.o"), "model");
  assert.equal(ownerOf("build/obj/model/codegen/host/src/default_lib0.o"), "model");
  assert.equal(ownerOf("build/obj/runtime_src_registry.c.o"), "runtime");
  assert.equal(ownerOf("build/obj/runtime/src/host/platform_host.o"), "runtime");
  assert.equal(ownerOf("build/obj/firmware_models.c.o"), "platform");
  assert.equal(ownerOf("/usr/lib/arm-none-eabi/lib/libc_nano.a(lib_a-memcpy.o)"), "libraries");
  assert.equal(ownerOf("/usr/lib/gcc/x86_64-linux-gnu/12/crtbeginS.o"), "libraries");
  assert.equal(ownerOf(""), "other");
  assert.deepEqual(parseLinkerMap("not a map"), []);
});

test("the report is one self-contained page: no script, nothing fetched, names escaped", () => {
  const html = renderReport({
    title: "Profile of <model>",
    facts: [["project", "/tmp/a&b"]],
    profile: {
      unit: "SysTick ticks",
      rows: [
        { name: "op_<script>alert(1)</script>", calls: 1, value: 900, share: 0.9 },
        { name: "small", calls: 2, value: 100, share: 0.1 },
      ],
      totals: [["operators total", "1000 SysTick ticks"]],
      method: "hooks",
    },
    metrics: {
      title: "Metrics",
      columns: ["output", "max |diff|"],
      rows: [["0", "0"]],
      verdict: { ok: true, text: "PASS" },
    },
  });
  assert.doesNotMatch(html, /<script/i);
  assert.doesNotMatch(html, /\b(src|href)\s*=/i);
  assert.doesNotMatch(html, /@import|url\(/i);
  assert.match(html, /default-src 'none'/);
  assert.match(html, /op_&#60;script&#62;/);
  assert.equal((html.match(/<g class="operator"/g) ?? []).length, 2);
  assert.match(html, /<section id="metrics">[\s\S]*PASS/);
  assert.doesNotMatch(html, /id="memory"/, "no memory section without a footprint");
});
