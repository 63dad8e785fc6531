// A real TVM model on an emulated Cortex-M: the yes/no keyword-spotting MLF (AOT, int8, C
// sources) in a qemu-cortex-m project per board, built with arm-none-eabi-gcc and run under QEMU
// through the device API (openDevice → loadModel → run, and infer pipelined) on the four recorded samples; outputs
// match TensorFlow's, and the firmware carries the build stamp of the build that made it.
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { assertNothingLeft } from "../helpers/processes.js";
import { repoRoot, sharedFixture } from "../helpers/paths.js";
import { requireCommand } from "../helpers/tools.js";
import { createProject, openDevice, readBuildStamp, readTensorFile } from "../../src/device/index.js";
import { QEMU_BOARD_NAMES } from "../../templates/qemu-cortex-m/qemu.js";

const work = mkdtempSync(join(tmpdir(), "microtvm-qemu-model-"));

after(async () => {
  // Every QEMU started here has a project of the work directory in its command line.
  await assertNothingLeft(work);
  rmSync(work, { recursive: true, force: true });
});

test("the yes/no keyword model runs on every emulated board and matches TensorFlow", async (t) => {
  if (
    !requireCommand(t, "arm-none-eabi-gcc", "Debian: gcc-arm-none-eabi libnewlib-arm-none-eabi") ||
    !requireCommand(t, "make", "Debian: make") ||
    !requireCommand(t, "qemu-system-arm", "Debian: qemu-system-arm")
  )
    return;
  assert.ok(
    existsSync(join(repoRoot, "templates", "qemu-cortex-m", "microtvm_api_server.js")),
    "templates/qemu-cortex-m/microtvm_api_server.js is missing: run `npm run build` first",
  );
  const archive = sharedFixture(t, "yes-no-kws-aot-v5", "model.tar");
  const samples = sharedFixture(t, "kws-samples");
  if (archive === undefined || samples === undefined) return;
  const expected = JSON.parse(readFileSync(join(samples, "expected.json"), "utf8")) as {
    max_abs_difference_exclusive: number;
    samples: Record<string, number[]>;
  };

  for (const board of QEMU_BOARD_NAMES) {
    await t.test(board, async () => {
      const dir = await createProject(archive, join(work, board), {
        template: "qemu-cortex-m",
        options: { board },
      });
      const device = await openDevice(dir);
      try {
        assert.equal(device.build.built, true, "a new project is built");
        assert.equal(
          await device.firmwareBuildStamp(),
          readBuildStamp(dir)?.digest,
          "the firmware returns the digest of the stamp its build wrote",
        );
        const model = await device.loadModel();
        assert.deepEqual(
          model.model.inputs.map((i) => i.name),
          ["Reshape_1"],
        );
        for (const [name, want] of Object.entries(expected.samples)) {
          const input = await readTensorFile(join(samples, `${name}.bin`), model.model.inputs[0]!);
          const { outputs } = await model.run({ Reshape_1: input });
          const out = outputs[0]!;
          // The same inference pipelined over the UART (input, run and output in one burst).
          assert.deepEqual(
            await model.infer({ Reshape_1: input }),
            outputs,
            `${board} ${name}: infer() agrees`,
          );
          const got = Array.from(new Int8Array(out.data.buffer, out.data.byteOffset, out.data.length));
          assert.equal(got.length, want.length);
          got.forEach((value, i) =>
            assert.ok(
              Math.abs(value - want[i]!) < expected.max_abs_difference_exclusive,
              `${board} ${name}: got ${got.join(",")}, TensorFlow says ${want.join(",")}`,
            ),
          );
        }
        const timing = await model.measure(2, 1);
        t.diagnostic(`${board}: one inference ${(timing.deviceSec[0]! * 1e3).toFixed(3)} ms of device time`);
      } finally {
        await device.close();
      }
    });
  }
});
