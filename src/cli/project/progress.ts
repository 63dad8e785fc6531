// Progress of long steps on stderr: plain lines, or a spinner when stderr is a terminal.

const SPINNER = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"];

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}

/**
 * Reports long steps on stderr. On a terminal a spinner line redraws in place; elsewhere (pipes,
 * CI logs) each step prints one line when it starts and one when it ends, nothing in between.
 */
export class Progress {
  private spinnerTimer: ReturnType<typeof setInterval> | undefined;
  private spinnerLine = "";
  private readonly tty: boolean;

  constructor(
    private readonly stream: NodeJS.WriteStream = process.stderr,
    private readonly quiet = false,
  ) {
    this.tty = stream.isTTY === true && process.env.CI === undefined;
  }

  /** Runs `work` as a named step, reporting its start, its end and how long it took. */
  async step<T>(label: string, work: () => Promise<T>): Promise<T> {
    const started = Date.now();
    this.start(label, started);
    try {
      const result = await work();
      this.finish(`${label}: done in ${seconds(Date.now() - started)}`, "✓");
      return result;
    } catch (error) {
      this.finish(`${label}: failed after ${seconds(Date.now() - started)}`, "✗");
      throw error;
    }
  }

  /** Prints text (for example forwarded server output) without garbling a spinner line. */
  log(text: string): void {
    if (this.quiet || text.length === 0) return;
    this.clearSpinner();
    this.stream.write(text.endsWith("\n") ? text : `${text}\n`);
    this.drawSpinner();
  }

  private start(label: string, started: number): void {
    if (this.quiet) return;
    if (!this.tty) {
      this.stream.write(`${label}...\n`);
      return;
    }
    let frame = 0;
    const draw = () => {
      const elapsed = Math.floor((Date.now() - started) / 1000);
      this.spinnerLine = `${SPINNER[frame++ % SPINNER.length]} ${label}${elapsed > 0 ? ` (${elapsed} s)` : ""}`;
      this.drawSpinner();
    };
    draw();
    this.spinnerTimer = setInterval(draw, 100);
    this.spinnerTimer.unref();
  }

  private finish(line: string, mark: string): void {
    if (this.quiet) return;
    if (this.spinnerTimer) clearInterval(this.spinnerTimer);
    this.spinnerTimer = undefined;
    this.clearSpinner();
    this.spinnerLine = "";
    this.stream.write(this.tty ? `${mark} ${line}\n` : `${line}\n`);
  }

  private drawSpinner(): void {
    if (this.tty && this.spinnerLine) this.stream.write(`\r\x1b[2K${this.spinnerLine}`);
  }

  private clearSpinner(): void {
    if (this.tty && this.spinnerLine) this.stream.write("\r\x1b[2K");
  }
}
