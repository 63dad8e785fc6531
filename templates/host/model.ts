// The host template's checks of a Model Library Format archive, beside the ones every template
// makes (../common/model.ts): object files for another CPU and ARM-only C stay out.
import { ServerError } from "microtvm/protocol";
import { scanPortability } from "microtvm/mlf";
import { inspectModelArchive, type InspectedModel } from "../common/model.js";

export { extractModel, packedEntrySlots, packedEntryUnsetArguments } from "../common/model.js";

/** The ELF machine name (as src/mlf reports it) of the CPU this server runs on. */
export function hostMachine(): string {
  const names: Record<string, string> = {
    x64: "x86_64",
    ia32: "x86",
    arm64: "aarch64",
    arm: "arm",
    riscv64: "riscv",
    ppc64: "powerpc64",
    mips: "mips",
  };
  return names[process.arch] ?? process.arch;
}

const EXPORT_AS_C =
  "to run the model on this machine, export it again with TVM's C target " +
  "(tvmc compile --target c --output-format mlf) so it carries C sources.";
const OTHER_TEMPLATE = `The qemu-cortex-m template is the one that fits ARM (Cortex-M) code; ${EXPORT_AS_C}`;

/** What to do about object code for `machine`: only 32-bit Arm code has a template that fits. */
function adviceFor(machine: string): string {
  return machine === "arm" ? OTHER_TEMPLATE : `No built-in template runs ${machine} code; ${EXPORT_AS_C}`;
}

/** Opens and validates the archive and checks that this machine can build and run its code. */
export function inspectModel(path: string): Promise<InspectedModel> {
  const host = hostMachine();
  return inspectModelArchive(path, {
    template: "the host template",
    checkObject(moduleName, object) {
      if (object.machine === host) return;
      const what =
        object.machine === "not-elf"
          ? "an object file this template cannot read (not ELF)"
          : `${object.machine} machine code`;
      throw new ServerError(
        `the model ${moduleName} contains ${what} (${object.file}); the host template compiles and runs code for this ` +
          `${host} machine only. ${adviceFor(object.machine)}`,
      );
    },
    checkCode(model) {
      const findings = scanPortability(model);
      if (findings.length === 0) return;
      const shown = findings
        .slice(0, 3)
        .map((f) => `${f.file}:${f.line} ${f.match} (${f.kind})`)
        .join("; ");
      const more = findings.length > 3 ? ` and ${findings.length - 3} more` : "";
      throw new ServerError(
        `the model's C code is ARM-only and cannot be compiled for this ${host} machine: ${shown}${more}. ${OTHER_TEMPLATE}`,
      );
    },
  });
}
