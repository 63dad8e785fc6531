// What the cortex-m template checks in a Model Library Format archive, beside the checks of every
// template (../common/model.ts): object files only if they are ARM code, and no headers of
// libraries the project does not ship (CMSIS-NN, CMSIS-DSP).
import { ServerError } from "microtvm/protocol";
import { scanPortability } from "microtvm/mlf";
import { inspectModelArchive, type InspectedModel } from "../common/model.js";
import { BOARDS, type BoardName } from "./boards.js";

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
      const unshipped = scanPortability(model).filter(
        (f) => f.kind === "arm-header" && UNSHIPPED_HEADER.test(f.match),
      );
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
