// Timeouts a Project API client may send (timeout_sec up to 1e308) against the templates' firmware
// process: clamped to what Node's timers hold, so no 1 ms poll loop and no TimeoutOverflowWarning.
import { test } from "node:test";
import assert from "node:assert/strict";
import { FirmwareProcess } from "../../templates/common/firmware-process.js";
import { clampTimerMs, MAX_TIMER_MS, timeoutMs } from "../../src/protocol/index.js";

test("timeoutMs clamps to 2^31-1 ms and maps negative, NaN and zero to 0", () => {
  assert.equal(timeoutMs(1e308), MAX_TIMER_MS);
  assert.equal(timeoutMs(Infinity), MAX_TIMER_MS);
  assert.equal(timeoutMs(2.5), 2500);
  assert.equal(timeoutMs(-1), 0);
  assert.equal(timeoutMs(Number.NaN), 0);
  assert.equal(clampTimerMs(Infinity), MAX_TIMER_MS);
});

test("firmware process: a read with timeout_sec 1e308 waits for data without polling or warnings", async (t) => {
  const warnings: Error[] = [];
  const onWarning = (w: Error) => warnings.push(w);
  process.on("warning", onWarning);
  const fw = await FirmwareProcess.start("cat", process.cwd(), { info() {}, error() {} });
  t.after(async () => {
    process.off("warning", onWarning);
    await fw.close();
  });
  const cpuBefore = process.cpuUsage();
  let settled = false;
  const pending = fw.read(4, 1e308).finally(() => (settled = true));
  await new Promise((r) => setTimeout(r, 500));
  assert.equal(settled, false, "still waiting");
  const cpu = process.cpuUsage(cpuBefore);
  assert.ok(cpu.user + cpu.system < 200_000, `no busy loop (${cpu.user + cpu.system} µs of CPU in 500 ms)`);
  await fw.write(new TextEncoder().encode("ok"), 1e308);
  assert.equal(new TextDecoder().decode(await pending), "ok");
  assert.deepEqual(
    warnings.filter((w) => w.name === "TimeoutOverflowWarning"),
    [],
  );
});
