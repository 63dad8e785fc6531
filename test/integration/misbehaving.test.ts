// The client against servers that break the protocol on purpose (test/fixtures/servers/misbehaving):
// every failure is a clear error, pending calls fail at once, and no process is left behind.
import { test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import {
  ConnectionShutdownError,
  MalformedReplyError,
  MismatchedIdError,
  ProjectApiClient,
  RequestTimeoutError,
  ServerExitedError,
  UnsupportedProtocolVersionError,
  type ClientOptions,
} from "../../src/client/index.js";
import { repoRoot } from "../helpers/paths.js";
import { survivors } from "../helpers/processes.js";

const servers = join(repoRoot, "test", "fixtures", "servers", "misbehaving");

/** Launches one misbehaving server, runs `body`, closes, and checks that every pid is gone. */
async function withServer(
  mode: string,
  body: (client: ProjectApiClient, pids: number[]) => Promise<void>,
  options: ClientOptions = {},
): Promise<void> {
  const client = await ProjectApiClient.launch(join(servers, mode), options);
  const pids = [client.process!.pid];
  try {
    await body(client, pids);
  } finally {
    await client.close();
    assert.deepEqual(await survivors(pids), [], `${mode}: processes still alive after close()`);
  }
}

test("a server that crashes on start: the first call fails with its exit code and stderr", async () => {
  await withServer("crash-on-start", async (client) => {
    const started = Date.now();
    await assert.rejects(client.serverInfoQuery(), (e: unknown) => {
      assert.ok(e instanceof ServerExitedError, String(e));
      assert.equal(e.exit.exitCode, 3);
      assert.match(e.message, /exited with exit code 3/);
      assert.match(e.message, /cannot start \(configuration missing\)/);
      return true;
    });
    assert.ok(Date.now() - started < 3000, "reported promptly");
  });
});

test("a server that exits in the middle of a request: the call fails at once, naming the method", async () => {
  await withServer("exit-mid-request", async (client) => {
    const pending = client.build();
    const queued = client.flash();
    await assert.rejects(pending, (e: unknown) => {
      assert.ok(e instanceof ServerExitedError, String(e));
      assert.match(e.message, /exit code 7 while waiting for the reply to build/);
      assert.match(e.stderrTail, /giving up during build/);
      return true;
    });
    await assert.rejects(
      queued,
      (e: unknown) => e instanceof ConnectionShutdownError && e.message === "connection already closed",
    );
  });
});

test("a server killed by a signal: the error names the signal", async () => {
  await withServer("signal-mid-request", async (client) => {
    await assert.rejects(
      client.build(),
      (e: unknown) => e instanceof ServerExitedError && /signal SIGKILL/.test(e.message),
    );
  });
});

test("a reply that is not JSON is a MalformedReplyError", async () => {
  await withServer("not-json", async (client) => {
    await assert.rejects(
      client.serverInfoQuery(),
      (e: unknown) => e instanceof MalformedReplyError && /this is not json/.test(e.message),
    );
    await assert.rejects(client.build(), ConnectionShutdownError);
  });
});

test("a reply with the wrong id is a MismatchedIdError", async () => {
  await withServer("wrong-id", async (client) => {
    await assert.rejects(client.serverInfoQuery(), MismatchedIdError);
  });
});

test("replies without id, with error: null, or not an object are MalformedReplyError", async () => {
  for (const mode of ["no-id", "error-null", "not-object"]) {
    await withServer(mode, async (client) => {
      await assert.rejects(client.serverInfoQuery(), MalformedReplyError, mode);
    });
  }
});

test("a server speaking another protocol version is refused", async () => {
  await withServer("wrong-protocol-version", async (client) => {
    await assert.rejects(client.serverInfoQuery(), UnsupportedProtocolVersionError);
  });
});

test("an answer after the time limit: RequestTimeoutError, and the late answer is never used", async () => {
  await withServer(
    "late-reply",
    async (client) => {
      const started = Date.now();
      await assert.rejects(
        client.serverInfoQuery(),
        (e: unknown) => e instanceof RequestTimeoutError && e.timeoutMs === 300,
      );
      assert.ok(Date.now() - started < 1400, "failed before the late answer arrived");
      await assert.rejects(client.serverInfoQuery(), ConnectionShutdownError);
    },
    { requestTimeouts: { server_info_query: 300 } },
  );
});

test("a server that ignores EOF and SIGTERM is killed by the ladder", async () => {
  const client = await ProjectApiClient.launch(join(servers, "ignore-sigterm"), {
    stop: { graceMs: 200, termMs: 300 },
  });
  const pid = client.process!.pid;
  await client.serverInfoQuery();
  const started = Date.now();
  await client.close();
  const elapsed = Date.now() - started;
  assert.equal(client.process!.exit?.signal, "SIGKILL");
  assert.ok(elapsed >= 450, `the ladder waited for EOF and SIGTERM first (${elapsed} ms)`);
  assert.match(client.process!.stderrTail(), /ignoring SIGTERM/);
  assert.deepEqual(await survivors([pid]), []);
  await client.close();
});

test("a server whose child keeps the pipe open: its death is still reported at once, and the child is ended", async () => {
  await withServer("grandchild", async (client, pids) => {
    await client.serverInfoQuery();
    const grandchild = Number(/grandchild pid (\d+)/.exec(client.process!.stderrTail())?.[1]);
    assert.ok(grandchild > 0, "the server reported its child's pid");
    pids.push(grandchild);
    const started = Date.now();
    await assert.rejects(
      client.build(),
      (e: unknown) => e instanceof ServerExitedError && /exit code 5/.test(e.message),
    );
    assert.ok(Date.now() - started < 2000, "no wait for an EOF that never comes");
  });
});

test("close() ends a server that honours EOF without any signal; a second close() is a no-op", async () => {
  const client = await ProjectApiClient.launch(join(servers, "wrong-protocol-version"));
  await assert.rejects(client.serverInfoQuery(), UnsupportedProtocolVersionError);
  await client.close();
  await client.close();
  assert.deepEqual(client.process!.exit, { exitCode: 0, signal: null });
  assert.deepEqual(await survivors([client.process!.pid]), []);
});
