// Server logging: stderr only (stdout belongs to whoever launched us), Python logging's
// `LEVEL:name:message` shape.

export interface ServerLog {
  debug(message: string): void;
  info(message: string): void;
  error(message: string): void;
}

export const silentLog: ServerLog = { debug() {}, info() {}, error() {} };

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
    debug: (m) => {
      if (debug) write("DEBUG", m);
    },
    info: (m) => write("INFO", m),
    error: (m) => write("ERROR", m),
  };
}
