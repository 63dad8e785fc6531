// One connection to a project's device: open_transport, the session handshake, and a minRPC
// client whose every request is one Normal message and whose reply is the next one.
import type { GeneratedProject, ProjectOptions } from "../client/index.js";
import type { TransportTimeouts } from "../protocol/index.js";
import { RemoteRuntime, RpcClient, packetChannelOverMessages, type RpcTraceEvent } from "../rpc/index.js";
import { describeFrameDrop, Session, type SessionTimeouts } from "../session/index.js";
import { ProjectByteTransport } from "./transport.js";

export interface DeviceConnectionOptions {
  /** Options for open_transport (the project's own are used when absent). */
  projectOptions?: ProjectOptions;
  /** Device log lines (Log messages), without trailing newline. */
  onLog?: (text: string) => void;
  /** Seconds to wait for each RPC reply; default: the session_established_timeout the server reported. */
  replyTimeoutSec?: number;
  /** Seconds for the handshake (overrides session_start_timeout_sec when given). */
  startTimeoutSec?: number;
  /** A line for each damaged frame the session dropped (before or after it was established). */
  onDrop?: (text: string) => void;
  /** Called after every RPC exchange. */
  trace?: (event: RpcTraceEvent) => void;
}

/** An open session to the device of a generated project, with an RPC client on it. */
export class DeviceConnection {
  private closed: Promise<void> | undefined;

  private constructor(
    readonly transport: ProjectByteTransport,
    readonly session: Session,
    readonly client: RpcClient,
    readonly runtime: RemoteRuntime,
    /** What open_transport reported. */
    readonly transportTimeouts: TransportTimeouts,
    /** What the session uses. */
    readonly sessionTimeouts: SessionTimeouts,
  ) {}

  /**
   * open_transport, then the session handshake with the timeouts the server reported. On any
   * failure the transport is closed again before the error is thrown.
   */
  static async open(
    project: GeneratedProject,
    options: DeviceConnectionOptions = {},
  ): Promise<DeviceConnection> {
    const projectTransport = project.transport(options.projectOptions);
    const transportTimeouts = await projectTransport.open();
    const transport = new ProjectByteTransport(projectTransport);
    try {
      const timeouts: SessionTimeouts = { ...transportTimeouts };
      if (options.startTimeoutSec !== undefined) timeouts.sessionStartTimeoutSec = options.startTimeoutSec;
      if (options.replyTimeoutSec !== undefined)
        timeouts.sessionEstablishedTimeoutSec = options.replyTimeoutSec;
      const session = new Session(transport, { timeouts });
      if (options.onLog) {
        const onLog = options.onLog;
        session.on("log", (text) => onLog(text.replace(/\r?\n$/, "")));
      }
      const onDrop = options.onDrop;
      if (onDrop)
        session.on("drop", (drop) =>
          onDrop(
            `dropped ${describeFrameDrop(drop)} ${session.established ? "after the session was established" : "before the session was established (line noise at start is normal)"}`,
          ),
        );
      await session.open();
      const client = new RpcClient(packetChannelOverMessages(session), {
        ...(options.replyTimeoutSec !== undefined ? { timeoutMs: options.replyTimeoutSec * 1000 } : {}),
        ...(options.trace ? { trace: options.trace } : {}),
      });
      return new DeviceConnection(
        transport,
        session,
        client,
        new RemoteRuntime(client),
        transportTimeouts,
        timeouts,
      );
    } catch (error) {
      await transport.close();
      throw error;
    }
  }

  /**
   * Ends the session: the transport is closed (close_transport ends the firmware on the host
   * template). As in TVM, no kShutdown is sent: the device is reset by closing, and a device that
   * stopped answering could not take one anyway. Idempotent; never throws.
   */
  close(): Promise<void> {
    this.closed ??= this.session.close().catch(() => undefined);
    return this.closed;
  }
}
