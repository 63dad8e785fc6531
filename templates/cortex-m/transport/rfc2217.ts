// The client side of RFC 2217 (Telnet Com Port Control Option) that a board's serial port served
// over the network needs: telnet option negotiation (BINARY both ways, SUPPRESS-GO-AHEAD,
// COM-PORT-OPTION), the line settings (baud rate, 8 data bits, no parity, 1 stop bit, no flow
// control) with the server's confirmation of the baud rate, and IAC (0xFF) escaping of data both
// ways. Line-state and modem-state notifications are read and ignored.

export const IAC = 255;
const DONT = 254;
const DO = 253;
const WONT = 252;
const WILL = 251;
const SB = 250;
const SE = 240;

const OPT_BINARY = 0;
const OPT_SGA = 3;
const OPT_COM_PORT = 44;

// COM-PORT-OPTION commands (client to server); the server answers each with the code + 100.
const SET_BAUDRATE = 1;
const SET_DATASIZE = 2;
const SET_PARITY = 3;
const SET_STOPSIZE = 4;
const SET_CONTROL = 5;
const SERVER_OFFSET = 100;
const PARITY_NONE = 1;
const STOPSIZE_1 = 1;
const CONTROL_NO_FLOW = 1;

/** Options this client wants on (both directions). */
const WANTED = new Set([OPT_BINARY, OPT_SGA, OPT_COM_PORT]);

type State = "data" | "iac" | "option" | "sb" | "sb-iac";

export class Rfc2217Codec {
  private state: State = "data";
  private command = 0;
  private subnegotiation: number[] = [];
  /** Options we have asked for or agreed to, so that a repeated request gets no second answer. */
  private readonly sentWill = new Set<number>();
  private readonly sentDo = new Set<number>();
  private comPortRefused = false;
  private confirmedBaud: number | undefined;
  private waiter: (() => void) | undefined;
  private cancelled = false;

  constructor(private readonly send: (bytes: Buffer) => void) {}

  /** Data bytes with every 0xFF doubled (IAC IAC). */
  static escape(data: Uint8Array): Buffer {
    let count = 0;
    for (const b of data) if (b === IAC) count++;
    if (count === 0) return Buffer.from(data.buffer, data.byteOffset, data.length);
    const out = Buffer.alloc(data.length + count);
    let j = 0;
    for (const b of data) {
      out[j++] = b;
      if (b === IAC) out[j++] = IAC;
    }
    return out;
  }

  /** Negotiates the options and sets the line; resolves once the server confirmed the baud rate. */
  async configure(baud: number, confirmMs: number): Promise<void> {
    this.will(OPT_BINARY);
    this.do(OPT_BINARY);
    this.will(OPT_SGA);
    this.do(OPT_SGA);
    this.will(OPT_COM_PORT);
    const baudBytes = Buffer.alloc(4);
    baudBytes.writeUInt32BE(baud);
    this.subcommand(SET_BAUDRATE, baudBytes);
    this.subcommand(SET_DATASIZE, Buffer.from([8]));
    this.subcommand(SET_PARITY, Buffer.from([PARITY_NONE]));
    this.subcommand(SET_STOPSIZE, Buffer.from([STOPSIZE_1]));
    this.subcommand(SET_CONTROL, Buffer.from([CONTROL_NO_FLOW]));
    const deadline = Date.now() + confirmMs;
    while (this.confirmedBaud === undefined) {
      if (this.comPortRefused) {
        throw new Error(
          "the server refused the RFC 2217 COM-PORT-OPTION (it is a plain telnet or raw port?); use socket:// for a raw TCP port",
        );
      }
      if (this.cancelled) throw new Error("the connection closed during RFC 2217 negotiation");
      const left = deadline - Date.now();
      if (left <= 0) {
        throw new Error(
          `the server did not confirm the baud rate within ${confirmMs / 1000} s: is it an RFC 2217 server (ser2net: accepter telnet(rfc2217),tcp,...)? For a raw TCP port use socket://`,
        );
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiter = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
    if (this.confirmedBaud !== baud) {
      throw new Error(`the server set ${this.confirmedBaud} baud instead of ${baud}`);
    }
  }

  /** Stops a configure() in progress. */
  cancel(): void {
    this.cancelled = true;
    this.waiter?.();
  }

  /** Takes bytes from the server; returns the data bytes among them (telnet commands removed). */
  receive(chunk: Buffer): Buffer {
    const out = Buffer.alloc(chunk.length);
    let n = 0;
    for (const b of chunk) {
      switch (this.state) {
        case "data":
          if (b === IAC) this.state = "iac";
          else out[n++] = b;
          break;
        case "iac":
          if (b === IAC) {
            out[n++] = IAC;
            this.state = "data";
          } else if (b === WILL || b === WONT || b === DO || b === DONT) {
            this.command = b;
            this.state = "option";
          } else if (b === SB) {
            this.subnegotiation = [];
            this.state = "sb";
          } else {
            this.state = "data"; // NOP, GA, DM ...: nothing to do
          }
          break;
        case "option":
          this.negotiate(this.command, b);
          this.state = "data";
          break;
        case "sb":
          if (b === IAC) this.state = "sb-iac";
          else this.subnegotiation.push(b);
          break;
        case "sb-iac":
          if (b === IAC) {
            this.subnegotiation.push(IAC);
            this.state = "sb";
          } else {
            if (b === SE) this.onSubnegotiation(this.subnegotiation);
            this.state = "data";
          }
          break;
      }
    }
    return out.subarray(0, n);
  }

  private negotiate(command: number, option: number): void {
    if (command === DO) {
      if (WANTED.has(option)) this.will(option);
      else this.reply(WONT, option);
    } else if (command === WILL) {
      if (option === OPT_BINARY || option === OPT_SGA) this.do(option);
      else if (option !== OPT_COM_PORT) this.reply(DONT, option);
    } else if (command === DONT && option === OPT_COM_PORT) {
      this.comPortRefused = true;
      this.waiter?.();
    }
  }

  private onSubnegotiation(bytes: number[]): void {
    if (bytes[0] !== OPT_COM_PORT) return;
    if (bytes[1] === SET_BAUDRATE + SERVER_OFFSET && bytes.length >= 6) {
      this.confirmedBaud = Buffer.from(bytes.slice(2, 6)).readUInt32BE(0);
      this.waiter?.();
    }
  }

  private will(option: number): void {
    if (this.sentWill.has(option)) return;
    this.sentWill.add(option);
    this.reply(WILL, option);
  }

  private do(option: number): void {
    if (this.sentDo.has(option)) return;
    this.sentDo.add(option);
    this.reply(DO, option);
  }

  private reply(command: number, option: number): void {
    this.send(Buffer.from([IAC, command, option]));
  }

  private subcommand(code: number, value: Buffer): void {
    this.send(
      Buffer.concat([
        Buffer.from([IAC, SB, OPT_COM_PORT, code]),
        Rfc2217Codec.escape(value),
        Buffer.from([IAC, SE]),
      ]),
    );
  }
}
