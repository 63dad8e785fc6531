// `npm run demo`: the example sine model, end to end on this machine. It generates a project
// from examples/sine-model/sine.tar with the host template (once, in the cache directory),
// builds the firmware with the system C compiler, starts it, and runs the model over the
// device session for a few x in [0, 2π], next to sin(x) and the model's own float reference.
import { spawnSync } from "node:child_process";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { formatMicros } from "../src/cli/inference/summary.js";
import { formatTable } from "../src/cli/output.js";
import { Progress } from "../src/cli/project/progress.js";
import {
  cachedProject,
  median,
  openDevice,
  templateDirectory,
  tensorFromValues,
  tensorValues,
  type Device,
} from "../src/device/index.js";
import { predict, trainSine } from "../examples/sine-model/model.js";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const archive = join(root, "examples", "sine-model", "sine.tar");
const POINTS = 9;

/** Six decimals, without a "-0.000000". */
function fixed(value: number): string {
  const text = value.toFixed(6);
  return text === "-0.000000" ? "0.000000" : text;
}

function requireTool(command: string, install: string): void {
  if (spawnSync("sh", ["-c", `command -v ${command}`], { stdio: "ignore" }).status !== 0) {
    console.error(`demo: ${command} was not found on PATH; install ${install} and run it again`);
    process.exit(1);
  }
}

async function demo(): Promise<void> {
  requireTool("cc", "a C compiler (Debian/Ubuntu: apt-get install gcc libc6-dev)");
  requireTool("make", "GNU make (Debian/Ubuntu: apt-get install make)");
  const progress = new Progress();
  const step = <T>(what: string, work: () => Promise<T>) => progress.step(what, work);
  const template = { name: "host", dir: templateDirectory("host"), builtIn: true };
  const cached = await cachedProject(archive, template, { step });
  console.log(`project: ${cached.dir}${cached.created ? " (generated now)" : " (from the cache)"}`);

  // Retraining is deterministic and gives the exact float32 weights that went into the C.
  const weights = trainSine();
  let device: Device | undefined;
  try {
    // Builds when the build stamp says the firmware is not current, flashes, starts the session.
    device = await openDevice(cached.dir, {
      step,
      onBuildSkipped: (reason) => progress.log(`not building the firmware: ${reason}`),
    });
    const session = await device.loadModel();
    const rows: string[][] = [];
    let worstSin = 0;
    let worstReference = 0;
    for (let i = 0; i < POINTS; i++) {
      const x = (2 * Math.PI * i) / (POINTS - 1);
      const { outputs } = await session.run([tensorFromValues([x], "float32", [1, 1])]);
      const y = Number(tensorValues(outputs[0]!)[0]);
      const reference = predict(weights, x);
      worstSin = Math.max(worstSin, Math.abs(y - Math.sin(x)));
      worstReference = Math.max(worstReference, Math.abs(y - reference));
      rows.push([
        x.toFixed(4),
        fixed(y),
        fixed(reference),
        fixed(Math.sin(x)),
        fixed(Math.abs(y - Math.sin(x))),
      ]);
    }
    const timing = await session.measure(10, 100);
    console.log("");
    console.log(formatTable(["x", "device y", "float reference", "sin(x)", "|y - sin(x)|"], rows));
    console.log("");
    console.log(`max |y - sin(x)|          ${worstSin.toFixed(6)}`);
    console.log(
      `max |y - float reference| ${worstReference === 0 ? "0 (bit-exact)" : worstReference.toExponential(2)}`,
    );
    console.log(
      `device time per inference ${formatMicros(median(timing.deviceSec) * 1e6)} (timed on the device)`,
    );
    console.log(`host round trip per run   ${formatMicros(median(timing.roundTripSec) * 1e6)}`);
    console.log("");
    const archiveArg = relative(process.cwd(), archive) || archive;
    console.log("next:");
    console.log(
      `  npx microtvm run ${archiveArg} --input x=FILE    (FILE: JSON such as [1.5], .npy or raw .bin)`,
    );
    console.log(`  npx microtvm inspect ${archiveArg}`);
  } finally {
    await device?.close();
  }
}

demo().catch((error: unknown) => {
  console.error(`demo failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
});
