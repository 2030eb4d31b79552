/**
 * The kernel tests' side of the USB/IP emulator: load the kernel modules, start
 * `emulator.ts` as a child process, send it commands, wait for the kernel to bind a driver.
 *
 * @module
 */

const here = new URL(".", import.meta.url).pathname;

/** Load kernel modules from the host's /lib/modules (the guest runs in the host root). */
export async function modprobe(...modules: string[]): Promise<void> {
  for (const m of modules) {
    const r = await new Deno.Command("modprobe", { args: [m], stderr: "piped" }).output();
    if (r.code !== 0) {
      throw new Error(`Cannot load module ${m}: ${new TextDecoder().decode(r.stderr).trim()}`);
    }
  }
}

/** Poll `probe` until it returns a value, or throw after `ms` naming `what`. */
export async function waitFor<T>(what: string, ms: number, probe: () => T | undefined): Promise<T> {
  const deadline = performance.now() + ms;
  for (;;) {
    const v = probe();
    if (v !== undefined) return v;
    if (performance.now() > deadline) throw new Error(`Cannot find ${what} within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** A running emulator process. */
export class Emulator {
  readonly #child: Deno.ChildProcess;
  readonly #writer: WritableStreamDefaultWriter<Uint8Array>;
  readonly #lines: AsyncIterator<string>;
  #id = 0;
  #chain: Promise<unknown> = Promise.resolve();

  private constructor(child: Deno.ChildProcess) {
    this.#child = child;
    this.#writer = child.stdin.getWriter();
    this.#lines = lines(child.stdout);
  }

  /**
   * Start the emulator with devices like `tiny-usb:0` and wait until they are attached.
   *
   * @throws {Error} when it does not report ready within 60 s
   */
  static async start(...devices: string[]): Promise<Emulator> {
    const child = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--allow-all",
        "--no-check",
        "--no-lock",
        "--no-config",
        `${here}emulator.ts`,
        ...devices,
      ],
      stdin: "piped",
      stdout: "piped",
      stderr: "inherit",
    }).spawn();
    const emu = new Emulator(child);
    const first = await emu.#next(60_000);
    if (!first.ready) throw new Error(`Cannot start emulator: ${JSON.stringify(first)}`);
    return emu;
  }

  /** Send one command and return its reply (commands are answered in order). */
  call<T = Record<string, unknown>>(cmd: string, args: Record<string, unknown> = {}): Promise<T> {
    const run = async () => {
      const id = ++this.#id;
      await this.#writer.write(new TextEncoder().encode(`${JSON.stringify({ id, cmd, ...args })}\n`));
      for (;;) {
        const reply = await this.#next(30_000);
        if (reply.fault) throw new Error(`Emulator fault: ${reply.fault}`);
        if (reply.id !== id) continue;
        if (reply.error) throw new Error(`Emulator refused ${cmd}: ${reply.error}`);
        return reply as T;
      }
    };
    const result = this.#chain.then(run, run);
    this.#chain = result.catch(() => {});
    return result;
  }

  /** Detach the devices (stdin closes) and wait for the process to end. */
  async stop(): Promise<void> {
    await this.#writer.close().catch(() => {});
    const deadline = setTimeout(() => this.#child.kill("SIGKILL"), 10_000);
    await this.#child.status;
    clearTimeout(deadline);
    await this.#lines.return?.();
  }

  async #next(
    ms: number,
  ): Promise<Record<string, unknown> & { id?: number; ready?: boolean; fault?: string; error?: string }> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`Cannot hear from emulator within ${ms} ms`)), ms);
    });
    try {
      const r = await Promise.race([this.#lines.next(), timeout]);
      if (r.done) throw new Error("Cannot hear from emulator: it exited");
      return JSON.parse(r.value);
    } finally {
      clearTimeout(timer);
    }
  }
}

async function* lines(stream: ReadableStream<Uint8Array>): AsyncGenerator<string> {
  const decoder = new TextDecoder();
  let buf = "";
  for await (const chunk of stream) {
    buf += decoder.decode(chunk, { stream: true });
    let nl;
    while ((nl = buf.indexOf("\n")) >= 0) {
      yield buf.slice(0, nl);
      buf = buf.slice(nl + 1);
    }
  }
}

/** The I2C adapter whose sysfs name starts with `prefix`, as its bus number. */
export function i2cAdapter(prefix: string): number | undefined {
  try {
    for (const e of Deno.readDirSync("/sys/class/i2c-adapter")) {
      const name = Deno.readTextFileSync(`/sys/class/i2c-adapter/${e.name}/name`);
      if (name.startsWith(prefix)) {
        const n = Number(e.name.slice("i2c-".length));
        try {
          Deno.statSync(`/dev/i2c-${n}`);
          return n;
        } catch {
          return undefined; // node not created yet
        }
      }
    }
  } catch { /* class not there yet */ }
  return undefined;
}
