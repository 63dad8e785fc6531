// Server logging: stderr only (stdout belongs to whoever launched us), Python logging's
// `LEVEL:name:message` shape.

export interface ServerLog {
  /** False when debug() discards its message, so callers can skip building costly ones. */
  readonly debugEnabled?: boolean;
  debug(message: string): void;
  info(message: string): void;
  error(message: string): void;
}

export const silentLog: ServerLog = { debugEnabled: false, debug() {}, info() {}, error() {} };

/** A log writing to stderr; debug lines only when `debug` is true. */
export function createStderrLog(debug: boolean, name = "microtvm.server"): ServerLog {
  const write = (level: string, message: string) => {
    try {
      process.stderr.write(`${level}:${name}:${message}\n`);
    } catch {
      // stderr gone: nothing sensible left to do with a log line
    }
  };
  return {
    debugEnabled: debug,
    debug: (m) => {
      if (debug) write("DEBUG", m);
    },
    info: (m) => write("INFO", m),
    error: (m) => write("ERROR", m),
  };
}
