// firmware/models.c: the per-model glue C, generated from the Model Library Format metadata.
// For each model it declares the generated entry points, describes the inputs and outputs, and
// fills one `mtvm_model_t` (runtime/include/microtvm/model.h) that main.c registers with the
// RPC server; docs/runtime.md describes the descriptor field by field.
import { ServerError } from "microtvm/protocol";
import { DLDataTypeCode, parseDType, sanitizeName } from "microtvm/mlf";
import type { MlfModule, MlfTensor } from "microtvm/mlf";
import type { InspectedModel } from "./model.js";

/** The DLDataType codes the runtime's tensor tables can name, by their DLPack constants. */
const DL_CODES: Record<number, string> = {
  [DLDataTypeCode.Int]: "kDLInt",
  [DLDataTypeCode.UInt]: "kDLUInt",
  [DLDataTypeCode.Float]: "kDLFloat",
  [DLDataTypeCode.Bfloat]: "kDLBfloat",
  [DLDataTypeCode.OpaqueHandle]: "kDLOpaqueHandle",
};

/** A C string literal for any text (non-ASCII and control bytes as octal escapes). */
export function cString(text: string): string {
  let out = '"';
  for (const byte of Buffer.from(text, "utf8")) {
    if (byte === 0x22 || byte === 0x5c) out += `\\${String.fromCharCode(byte)}`;
    else if (byte >= 0x20 && byte < 0x7f && byte !== 0x3f) out += String.fromCharCode(byte);
    else out += `\\${byte.toString(8).padStart(3, "0")}`; // also '?', so no trigraph can form
  }
  return `${out}"`;
}

/** A C identifier made from a model name (unique per model in this file). */
function ident(name: string): string {
  const clean = sanitizeName(name).replace(/[^A-Za-z0-9_]/g, "_");
  return /^[A-Za-z_]/.test(clean) ? clean : `m_${clean}`;
}

function dtypeInitializer(tensor: MlfTensor, model: string): string {
  let d;
  try {
    d = parseDType(tensor.dtype);
  } catch {
    d = undefined;
  }
  const code = d && DL_CODES[d.code];
  if (!d || !code)
    throw new ServerError(
      `model ${model}: tensor ${tensor.name} has a dtype the runtime cannot describe: ${tensor.dtype}`,
    );
  return `{${code}, ${d.bits}, ${d.lanes}}`;
}

/** The shape arrays of every input and output, then the two tensor tables (docs/runtime.md). */
function tensorTables(id: string, mod: MlfModule): string[] {
  const lines: string[] = [];
  const groups = [
    ["inputs", mod.inputs],
    ["outputs", mod.outputs],
  ] as const;
  for (const [kind, tensors] of groups) {
    tensors.forEach((t, i) => {
      const dims = t.shape.length > 0 ? t.shape.map((n) => `INT64_C(${n})`).join(", ") : "INT64_C(1)";
      lines.push(`static const int64_t ${id}_${kind}_${i}_shape[] = {${dims}};`);
    });
  }
  for (const [kind, tensors] of groups) {
    if (tensors.length === 0) {
      lines.push(`static const mtvm_tensor_info_t* const ${id}_${kind} = NULL;`);
      continue;
    }
    lines.push(`static const mtvm_tensor_info_t ${id}_${kind}[] = {`);
    tensors.forEach((t, i) => {
      lines.push(
        `    {${cString(t.name)}, ${dtypeInitializer(t, mod.name)}, ${t.shape.length}, ${id}_${kind}_${i}_shape},`,
      );
    });
    lines.push("};");
  }
  return lines;
}

/**
 * The C-interface wrapper: data pointers in argument order → the header's structs → <prefix>_run.
 * External USMP pools (`struct <prefix>_workspace_pools`) become static buffers here: workspace
 * pools sized by `_WORKSPACE_POOL_SIZE`, constant pools filled from `_CONSTANT_POOL_DATA`. When
 * USMP placed the inputs and outputs inside the pools (`<prefix>_map_inputs`), the wrapper copies
 * them in and out of the places those functions name.
 */
function cInterfaceWrapper(mod: MlfModule, id: string): { lines: string[]; include: string } {
  const header = mod.header;
  if (!header || !mod.codegen.header) {
    throw new ServerError(
      `model ${mod.name} uses TVM's C interface but its archive has no header (codegen/host/include)`,
    );
  }
  if (header.devices.length > 0) {
    throw new ServerError(
      `model ${mod.name} needs external devices (${header.devices.join(", ")}: struct ${header.prefix}_devices), ` +
        "which are accelerator drivers (such as an NPU) the host template cannot provide; " +
        "export the model for the CPU only (without the accelerator's BYOC target)",
    );
  }
  if (header.inputs.length !== mod.inputs.length || header.outputs.length !== mod.outputs.length) {
    throw new ServerError(
      `model ${mod.name}: the header declares ${header.inputs.length} inputs and ${header.outputs.length} outputs, ` +
        `the metadata ${mod.inputs.length} and ${mod.outputs.length}`,
    );
  }
  const p = header.prefix;
  const upper = p.toUpperCase();
  const lines: string[] = [];
  for (const pool of header.workspacePools) {
    const workspace = `${upper}_${pool.toUpperCase()}_WORKSPACE_POOL_SIZE`;
    const constant = `${upper}_${pool.toUpperCase()}_CONSTANT_POOL_SIZE`;
    const data = `${upper}_${pool.toUpperCase()}_CONSTANT_POOL_DATA`;
    if (header.macros.has(constant)) {
      if (!header.defines.has(data)) {
        throw new ServerError(
          `model ${mod.name}: constant pool ${pool} has a size but no contents (expected #define ${data})`,
        );
      }
      lines.push(`static uint8_t ${id}_pool_${pool}[${constant}] __attribute__((aligned(16))) = {${data}};`);
    } else if (header.macros.has(workspace)) {
      lines.push(`static uint8_t ${id}_pool_${pool}[${workspace}] __attribute__((aligned(16)));`);
    } else {
      throw new ServerError(
        `model ${mod.name}: no size for pool ${pool} (expected #define ${workspace} or ${constant})`,
      );
    }
  }
  const hasPools = header.workspacePools.length > 0;
  if (header.ioInPools && !hasPools) {
    throw new ServerError(
      `model ${mod.name} maps its inputs and outputs into workspace pools, but the header declares no pools`,
    );
  }
  lines.push(`static int32_t ${id}_run_c(void* const* inputs, void* const* outputs) {`);
  if (hasPools) {
    lines.push(`  struct ${p}_workspace_pools pools;`);
    for (const pool of header.workspacePools) lines.push(`  pools.${pool} = ${id}_pool_${pool};`);
  }
  if (header.ioInPools) {
    // The tensors live at fixed places inside the pools: copy in, run, copy out.
    lines.push(
      `  struct ${p}_inputs in = ${p}_map_inputs(&pools);`,
      `  struct ${p}_outputs out = ${p}_map_outputs(&pools);`,
    );
    header.inputs.forEach((member, i) =>
      lines.push(`  memcpy(in.${member}, inputs[${i}], ${mod.inputs[i]!.bytes});`),
    );
    lines.push(`  int32_t rc = ${p}_run(&pools);`);
    header.outputs.forEach((member, i) =>
      lines.push(`  memcpy(outputs[${i}], out.${member}, ${mod.outputs[i]!.bytes});`),
    );
    lines.push("  return rc;", "}");
  } else {
    lines.push(`  struct ${p}_inputs in;`, `  struct ${p}_outputs out;`);
    header.inputs.forEach((member, i) => lines.push(`  in.${member} = inputs[${i}];`));
    header.outputs.forEach((member, i) => lines.push(`  out.${member} = outputs[${i}];`));
    if (header.inputs.length === 0) lines.push("  (void)inputs;");
    if (header.outputs.length === 0) lines.push("  (void)outputs;");
    lines.push(`  return ${p}_run(${["&in", "&out", ...(hasPools ? ["&pools"] : [])].join(", ")});`, "}");
  }
  const include = mod.codegen.header.split("/").pop()!;
  return { lines, include };
}

function moduleGlue(
  mod: MlfModule,
  systemLibDeclared: { done: boolean },
): { lines: string[]; includes: string[]; id: string } {
  const id = `model_${ident(mod.name)}`;
  const lines: string[] = [
    `/* Model ${cString(mod.name)}: ${mod.executor} executor, ${mod.entryStyle} entry. */`,
  ];
  const includes: string[] = [];
  let entryKind = "MTVM_ENTRY_NONE";
  let runPacked = "NULL";
  let runC = "NULL";
  switch (mod.entryStyle) {
    case "packed":
      entryKind = "MTVM_ENTRY_PACKED";
      runPacked = mod.entryFunction;
      // `int`, the return type of TVMBackendPackedCFunc: on arm-none-eabi int32_t is long, and a
      // pointer to an int32_t function would not convert. The archive may spell the parameters
      // as void*; the ABI is the same.
      lines.push(
        `int ${mod.entryFunction}(TVMValue* args, int* type_codes, int num_args, TVMValue* out_ret_value,`,
        `    int* out_ret_tcode, void* resource_handle);`,
      );
      break;
    case "c-interface": {
      entryKind = "MTVM_ENTRY_C_INTERFACE";
      const wrapper = cInterfaceWrapper(mod, id);
      includes.push(wrapper.include);
      lines.push(...wrapper.lines);
      runC = `${id}_run_c`;
      break;
    }
    case "graph":
      if (!mod.systemLib) {
        throw new ServerError(
          `model ${mod.name} is a graph-executor model without a system library (TVMSystemLibEntryPoint); ` +
            'export it with Runtime("crt", {"system-lib": True}) so the host can find its operators',
        );
      }
      break;
  }
  let systemLib = "NULL";
  if (mod.systemLib) {
    if (!systemLibDeclared.done) {
      lines.push("const TVMModule* TVMSystemLibEntryPoint(void);");
      systemLibDeclared.done = true;
    }
    systemLib = "TVMSystemLibEntryPoint";
  }
  lines.push(...tensorTables(id, mod));
  lines.push(
    `static const mtvm_model_t ${id} = {`,
    `    ${cString(mod.name)},`,
    `    ${entryKind},`,
    `    ${runPacked},`,
    `    ${runC},`,
    `    ${mod.inputs.length},`,
    `    ${id}_inputs,`,
    `    ${mod.outputs.length},`,
    `    ${id}_outputs,`,
    `    ${mod.workspaceBytes},`,
    `    ${systemLib},`,
    "};",
  );
  return { lines, includes, id };
}

/** The text of firmware/models.c for `model`. */
export function renderModelsC(model: InspectedModel): string {
  const systemLibDeclared = { done: false };
  const parts = model.modules.map((mod) => moduleGlue(mod, systemLibDeclared));
  if (model.modules.filter((m) => m.systemLib).length > 1) {
    throw new ServerError(
      "more than one model in the archive is a system library (each defines TVMSystemLibEntryPoint); " +
        "the host template can link only one",
    );
  }
  const includes = [...new Set(parts.flatMap((p) => p.includes))].map((h) => {
    if (!/^[A-Za-z0-9_.-]+$/.test(h))
      throw new ServerError(`cannot include the model header ${JSON.stringify(h)}`);
    return `#include "${h}"`;
  });
  return [
    "/* SPDX-License-Identifier: Apache-2.0 */",
    "/* The models of this project, for the runtime. Generated by the microtvm host template from the",
    " * Model Library Format metadata (model.tar); regenerate the project instead of editing. */",
    "#include <stddef.h>",
    "#include <stdint.h>",
    "#include <string.h>",
    "",
    "#include <microtvm/model.h>",
    "",
    '#include "models.h"',
    ...(includes.length ? ["", ...includes] : []),
    "",
    ...parts.flatMap((p) => [...p.lines, ""]),
    "const mtvm_model_t* const microtvm_project_models[] = {",
    ...parts.map((p) => `    &${p.id},`),
    "};",
    `const size_t microtvm_project_model_count = ${parts.length};`,
    "",
  ].join("\n");
}
