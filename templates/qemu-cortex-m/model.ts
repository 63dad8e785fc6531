// What the qemu-cortex-m template checks in a Model Library Format archive, beside the checks of
// every template (../common/model.ts): C sources build for every board; object files only if
// they are ARM code; C that uses the DSP instructions only for a core that has them (Cortex-M4
// and M7, not the M3 of mps2-an385).
import { ServerError } from "microtvm/protocol";
import { scanPortability } from "microtvm/mlf";
import type { MlfModel, PortabilityFinding } from "microtvm/mlf";
import { inspectModelArchive, type InspectedModel } from "../common/model.js";
import { qemuBoard, type QemuBoardName } from "./qemu.js";

/** Boards whose core has the DSP extension (SMLAD, QADD8, SXTB16 ...). */
const DSP_BOARDS: ReadonlySet<QemuBoardName> = new Set(["mps2-an386", "mps2-an500"]);

/**
 * DSP instructions by their ACLE names (lower case, from <arm_acle.h>), as TVM's Cortex-M
 * kernels call them; scanPortability finds the CMSIS spellings (__SMLAD) and the header itself.
 */
const ACLE_DSP =
  /\b__(smlad|smladx|smlald|smlaldx|smlsd|smlsdx|smuad|smuadx|smusd|smusdx|qadd8|qadd16|qsub8|qsub16|qasx|qsax|shadd8|shadd16|sadd8|sadd16|ssub8|ssub16|uadd8|uadd16|usub8|usub16|sxtb16|sxtab16|uxtb16|uxtab16|ssat16|usat16|sel|qadd|qsub|smlabb|smlabt|smlatb|smlatt|smulbb|smulbt|smultb|smultt|smlawb|smlawt|smulwb|smulwt)\s*\(/;
/** Headers of libraries this project does not ship (CMSIS-DSP, CMSIS-NN, CMSIS-Core, Helium). */
const UNSHIPPED_HEADER =
  /(arm_math\.h|arm_nnfunctions\.h|arm_nnsupportfunctions\.h|cmsis_compiler\.h|cmsis_gcc\.h|arm_mve\.h|arm_neon\.h)/;

export interface DspUse {
  file: string;
  line: number;
  match: string;
}

/** Where the model's C calls DSP instructions (CMSIS or ACLE names); empty for portable C. */
export function findDspUse(model: MlfModel, findings: readonly PortabilityFinding[]): DspUse[] {
  const uses: DspUse[] = findings
    .filter((f) => f.kind === "arm-intrinsic" || f.kind === "arm-builtin")
    .map((f) => ({ file: f.file, line: f.line, match: f.match }));
  for (const mod of model.modules) {
    for (const file of mod.codegen.sources) {
      if (!/\.(c|h|cc|cpp)$/.test(file)) continue;
      model
        .read(file)
        .toString("latin1")
        .split("\n")
        .forEach((text, i) => {
          const m = ACLE_DSP.exec(text);
          if (m) uses.push({ file, line: i + 1, match: m[0].replace(/\s*\($/, "") });
        });
    }
  }
  return uses;
}

function describe(uses: readonly { file: string; line: number; match: string }[]): string {
  const shown = uses
    .slice(0, 3)
    .map((u) => `${u.file}:${u.line} ${u.match}`)
    .join("; ");
  return uses.length > 3 ? `${shown} and ${uses.length - 3} more` : shown;
}

/** Opens and validates the archive and checks that `board` can build and run its code. */
export function inspectModelForBoard(path: string, board: QemuBoardName): Promise<InspectedModel> {
  const cpu = qemuBoard(board).cpu;
  return inspectModelArchive(path, {
    template: "this template",
    ignoredSources: /\.h$/,
    checkObject(moduleName, object) {
      if (object.machine === "arm") return;
      const what =
        object.machine === "not-elf" ? "an object file that is not ELF" : `${object.machine} machine code`;
      throw new ServerError(
        `the model ${moduleName} contains ${what} (${object.file}); the qemu-cortex-m template links ARM Thumb ` +
          `code for the ${cpu} only. Export the model with TVM's C target (tvmc compile --target c ` +
          `--output-format mlf) or with an LLVM target for this core (-mcpu=${cpu} -mtriple=thumbv7em-none-eabi).`,
      );
    },
    checkCode(model) {
      const findings = scanPortability(model);
      const unshipped = findings.filter((f) => f.kind === "arm-header" && UNSHIPPED_HEADER.test(f.match));
      if (unshipped.length > 0) {
        throw new ServerError(
          `the model's C includes headers of libraries this template does not provide: ${describe(unshipped)}. ` +
            "The template builds TVM's generated C with the compiler's own <arm_acle.h>; export the model " +
            "without CMSIS-NN/CMSIS-DSP offloading.",
        );
      }
      const dsp = findDspUse(model, findings);
      if (dsp.length > 0 && !DSP_BOARDS.has(board)) {
        throw new ServerError(
          `the model's C uses ARM DSP instructions (${describe(dsp)}), which the ${cpu} of ${board} does not ` +
            `have (no DSP extension); generate the project for mps2-an386 (Cortex-M4) or mps2-an500 (Cortex-M7), ` +
            `or export the model for the Cortex-M3 without the DSP schedules (target -mcpu=cortex-m3).`,
        );
      }
    },
  });
}
