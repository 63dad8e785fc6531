// What the cortex-m template checks in a Model Library Format archive, beside the checks of every
// template (../common/model.ts): object files only if they are ARM code, and no headers of
// libraries the project does not ship (CMSIS-NN, CMSIS-DSP).
import { ServerError } from "microtvm/protocol";
import { scanPortability } from "microtvm/mlf";
import { inspectModelArchive, type InspectedModel } from "../common/model.js";
import { BOARDS, type BoardName } from "./boards.js";

/** DSP instructions by their ACLE names, as TVM's Cortex-M schedules call them. */
const ACLE_DSP =
  /\b__(smlad|smladx|smlald|smlaldx|smlsd|smlsdx|smuad|smuadx|smusd|smusdx|qadd8|qadd16|qsub8|qsub16|qasx|qsax|shadd8|shadd16|sadd8|sadd16|ssub8|ssub16|uadd8|uadd16|usub8|usub16|sxtb16|sxtab16|uxtb16|uxtab16|ssat16|usat16|sel|qadd|qsub)\s*\(/;

const UNSHIPPED_HEADER =
  /(arm_math\.h|arm_nnfunctions\.h|arm_nnsupportfunctions\.h|cmsis_compiler\.h|cmsis_gcc\.h|arm_mve\.h|arm_neon\.h)/;

export async function inspectModelForBoard(path: string, name: BoardName): Promise<InspectedModel> {
  const b = BOARDS[name];
  const cpu = b.cflags.find((f) => f.startsWith("-mcpu="))?.slice(6) ?? "cortex-m";
  return inspectModelArchive(path, {
    template: "the cortex-m template",
    ignoredSources: /\.h$/,
    checkObject(moduleName, object) {
      if (object.machine === "arm") return;
      const what =
        object.machine === "not-elf" ? "an object file that is not ELF" : `${object.machine} machine code`;
      throw new ServerError(
        `the model ${moduleName} contains ${what} (${object.file}); the cortex-m template links ARM Thumb ` +
          `code for the ${cpu} of ${name} only. Export the model with TVM's C target (tvmc compile --target c ` +
          `--output-format mlf) or with an LLVM target for this core (-mcpu=${cpu}).`,
      );
    },
    checkCode(model) {
      const findings = scanPortability(model);
      if (cpu === "cortex-m0") {
        // ARMv6-M has no DSP extension: TVM's DSP schedules cannot run there.
        const dsp = findings.filter((f) => f.kind === "arm-intrinsic" || f.kind === "arm-builtin");
        for (const mod of model.modules) {
          for (const file of mod.codegen.sources) {
            if (!/\.(c|h)$/.test(file)) continue;
            const m = ACLE_DSP.exec(model.read(file).toString("latin1"));
            if (m)
              dsp.push({ kind: "arm-intrinsic", file, line: 0, match: m[0] } as (typeof findings)[number]);
          }
        }
        if (dsp.length > 0) {
          throw new ServerError(
            `the model's C uses ARM DSP instructions (${dsp.map((f) => `${f.match.trim()} in ${f.file}`).join(", ")}), ` +
              `which the Cortex-M0 of ${name} does not have; export the model without the Cortex-M DSP ` +
              "schedules (plain C target), or use a Cortex-M4/M7 board",
          );
        }
      }
      const unshipped = findings.filter((f) => f.kind === "arm-header" && UNSHIPPED_HEADER.test(f.match));
      if (unshipped.length > 0) {
        throw new ServerError(
          `the model's C includes headers of libraries this template does not provide: ` +
            `${unshipped.map((f) => `${f.match} (${f.file}:${f.line})`).join(", ")}. Export the model without ` +
            "CMSIS-NN/CMSIS-DSP offloading.",
        );
      }
    },
  });
}
