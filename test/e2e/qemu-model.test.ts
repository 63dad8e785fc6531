// A real TVM model on an emulated Cortex-M: the yes/no keyword-spotting MLF (AOT, int8, C
// sources) compiled with arm-none-eabi-gcc into the qemu-cortex-m template's RPC firmware, with
// the model glue the host template generates from the MLF metadata, then run under QEMU through
// the host's AOT executor on the four recorded samples; outputs match TensorFlow's.
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, test } from "node:test";
import assert from "node:assert/strict";
import { ChildProcessTransport, Session } from "../../src/session/index.js";
import { AotExecutor, RemoteRuntime, RpcClient, packetChannelOverMessages } from "../../src/rpc/index.js";
import { repoRoot, sharedFixture } from "../helpers/paths.js";
import { requireCommand } from "../helpers/tools.js";
import { extractModel, inspectModel } from "../../templates/host/model.js";
import { renderModelsC } from "../../templates/host/glue.js";
import { QEMU_BOARD_NAMES, qemuCommand } from "../../templates/qemu-cortex-m/qemu.js";

const templateDir = join(repoRoot, "templates", "qemu-cortex-m");
const marker = `microtvm-qemu-model-test-${process.pid}-${randomBytes(4).toString("hex")}`;
const spawned: ChildProcessTransport[] = [];

afterEach(async () => {
  await Promise.all(spawned.splice(0).map((t) => t.close()));
  const left = spawnSync("pgrep", ["-a", "-f", marker], { encoding: "utf8" }).stdout.trim();
  assert.equal(left, "", "no QEMU of this test is left running");
});

test("the yes/no keyword model runs on every emulated board and matches TensorFlow", async (t) => {
  if (
    !requireCommand(t, "arm-none-eabi-gcc", "Debian: gcc-arm-none-eabi libnewlib-arm-none-eabi") ||
    !requireCommand(t, "make", "Debian: make") ||
    !requireCommand(t, "qemu-system-arm", "Debian: qemu-system-arm")
  )
    return;
  const archive = sharedFixture(t, "yes-no-kws-aot-v5", "model.tar");
  const samples = sharedFixture(t, "kws-samples");
  if (archive === undefined || samples === undefined) return;
  const expected = JSON.parse(readFileSync(join(samples, "expected.json"), "utf8")) as {
    max_abs_difference_exclusive: number;
    samples: Record<string, number[]>;
  };

  const work = mkdtempSync(join(tmpdir(), "microtvm-qemu-model-"));
  t.after(() => rmSync(work, { recursive: true, force: true }));
  const model = await inspectModel(archive);
  await extractModel(archive, join(work, "model"));
  writeFileSync(join(work, "models.c"), renderModelsC(model));

  for (const board of QEMU_BOARD_NAMES) {
    await t.test(board, async () => {
      const buildDir = join(work, board);
      const r = spawnSync(
        "make",
        [
          "-C",
          templateDir,
          `BOARD=${board}`,
          `BUILD_DIR=${buildDir}`,
          "APP=rpc",
          `EXTRA_SOURCES=${join(work, "models.c")}`,
          `MODEL_SOURCES=${model.cSources.map((s) => join(work, "model", s)).join(" ")}`,
          `EXTRA_CFLAGS=${model.includeDirs.map((d) => `-I${join(work, "model", d)}`).join(" ")}`,
        ],
        { encoding: "utf8", timeout: 300_000 },
      );
      assert.equal(r.status, 0, `make failed:\n${r.stdout}${r.stderr}`);

      const { command, args } = qemuCommand(board, join(buildDir, "firmware.elf"), {
        name: marker,
        icount: 0,
      });
      const transport = new ChildProcessTransport(command, args, { killGraceSec: 0.5 });
      spawned.push(transport);
      const session = new Session(transport, { timeouts: { retrySec: 1, startSec: 15, establishedSec: 30 } });
      await session.open();
      const runtime = new RemoteRuntime(
        new RpcClient(packetChannelOverMessages(session), { timeoutMs: 30_000 }),
      );
      const aot = await AotExecutor.create(runtime, { moduleName: "default" });
      assert.deepEqual(aot.inputNames, ["Reshape_1"]);
      for (const [name, want] of Object.entries(expected.samples)) {
        await aot.setInput("Reshape_1", new Uint8Array(readFileSync(join(samples, `${name}.bin`))));
        await aot.run();
        const out = await aot.getOutput(0);
        const got = Array.from(new Int8Array(out.data.buffer, out.data.byteOffset, out.data.length));
        assert.equal(got.length, want.length);
        got.forEach((value, i) =>
          assert.ok(
            Math.abs(value - want[i]!) < expected.max_abs_difference_exclusive,
            `${board} ${name}: got ${got.join(",")}, TensorFlow says ${want.join(",")}`,
          ),
        );
      }
      const timing = await aot.timeRun({ number: 1, repeat: 2 });
      t.diagnostic(
        `${board}: one inference ${(timing.results[0]! * 1e3).toFixed(3)} ms of virtual time (-icount shift=0)`,
      );
      await aot.dispose();
      await session.close();
    });
  }
});
