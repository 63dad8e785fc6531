// A Project API server driven line by line, for the checks that send what a client never would.
import { createStreamChannel, type Channel } from "../channel/index.js";
import { describeExit, type ServerExit, type ServerProcess } from "../client/index.js";
import { CheckFailure, expect, show } from "./checks.js";

/** How long one raw check waits for a reply or an exit before calling it a failure. */
export const RAW_WAIT_MS = 5000;

export class RawServer {
  private readonly channel: Channel;

  constructor(private readonly server: ServerProcess) {
    this.channel = createStreamChannel(server.fromServer, server.toServer);
  }

  send(text: string | Uint8Array): Promise<void> {
    return new Promise((res, reject) =>
      this.server.toServer.write(text, (error) =>
        error ? reject(new CheckFailure(`write failed: ${error.message}`)) : res(),
      ),
    );
  }

  endInput(): void {
    this.server.toServer.end();
  }

  /** The next line, undefined at EOF, or "timeout". */
  async readLine(): Promise<string | undefined | "timeout"> {
    const read = this.channel.readLine().then(
      (line) => ({ line }),
      () => ({ line: undefined }),
    );
    const outcome = await within(read, RAW_WAIT_MS);
    return outcome ? outcome.line : "timeout";
  }

  async reply(): Promise<Record<string, unknown>> {
    const line = await this.readLine();
    if (line === "timeout") throw new CheckFailure(`no reply within ${RAW_WAIT_MS} ms`);
    if (line === undefined) {
      const exit = this.server.exit ?? (await within(this.server.exited, 500));
      throw new CheckFailure(
        `no reply; the server closed its pipe${exit ? ` and exited with ${describeExit(exit)}` : ""}`,
      );
    }
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      throw new CheckFailure(`the reply is not JSON: ${show(line)}`);
    }
    if (typeof value !== "object" || value === null || Array.isArray(value))
      throw new CheckFailure(`the reply is not an object: ${show(line)}`);
    return value as Record<string, unknown>;
  }

  waitExit(): Promise<ServerExit | undefined> {
    return within(this.server.exited, RAW_WAIT_MS);
  }

  async stop(): Promise<void> {
    await this.server.stop();
  }
}

/** A server_info_query request line (without its line end). */
export function infoRequest(id: unknown): string {
  return JSON.stringify({ jsonrpc: "2.0", method: "server_info_query", params: { tvm_version: "0" }, id });
}

/** Checks an error reply: the code, the reference's message, the id, and `data` as the reference sends it. */
export function expectError(
  reply: Record<string, unknown>,
  code: number,
  message: string,
  id: unknown,
): void {
  expect(reply.jsonrpc === "2.0", `reply has jsonrpc ${show(reply.jsonrpc)}`);
  expect(reply.id === id, `reply id is ${show(reply.id)}; want ${show(id)}`);
  const error = reply.error as Record<string, unknown> | undefined;
  expect(typeof error === "object" && error !== null, `reply has no error object: ${show(reply)}`);
  expect(
    error.code === code,
    `error code ${show(error.code)}; want ${code} (message ${show(error.message)})`,
  );
  expect(error.message === message, `error message ${show(error.message)}; want ${show(message)}`);
  if (code === -32000) {
    const data = error.data as Record<string, unknown> | null;
    expect(
      data && typeof data.traceback === "string",
      `error data ${show(error.data)}; want {"traceback": "..."}`,
    );
  } else {
    expect(error.data === null, `error data ${show(error.data)}; want null`);
  }
}

/** The promise's value, or undefined when it takes longer than `ms`. */
export async function within<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<undefined>((res) => (timer = setTimeout(res, ms, undefined)));
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
}
