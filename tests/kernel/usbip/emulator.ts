/**
 * The USB/IP emulator process, run in the guest by the kernel tests:
 *
 *   deno run --allow-all tests/kernel/usbip/emulator.ts tiny-usb:0 [viperboard:1] [cp210x:2]
 *
 * Each argument attaches one emulated device on that `vhci-hcd` port. It prints one JSON line
 * `{"ready":true}` once attached, then answers one JSON command per stdin line with one JSON
 * line on stdout (`{"id":…, …}`): the tests read the models' state (framebuffer, wire log,
 * GPIO levels, UART bytes) and steer them (stall an address, drive an input). Closing stdin
 * detaches every device and ends the process. A separate process, so the tests' own I/O
 * (including `"sync"` ioctls that block their thread) never stalls the device side.
 *
 * @module
 */
import { SimBme680 } from "../../../hal/sim/bme680.ts";
import { SimEnvironment } from "../../../hal/sim/environment.ts";
import { SimSsd1306 } from "../../../hal/sim/ssd1306.ts";
import { Eeprom24c32, TinyUsbAdapter } from "./tiny_usb.ts";
import { UsbIpDevice, type UsbModel } from "./usbip.ts";
import { Viperboard } from "./viperboard.ts";
import { Cp210x } from "./cp210x.ts";

type Handler = (args: Record<string, unknown>) => unknown;

const devices: UsbIpDevice[] = [];
const handlers = new Map<string, Handler>();

function tinyUsb(): UsbModel {
  const adapter = new TinyUsbAdapter();
  const bme = new SimBme680({ environment: new SimEnvironment({ seed: 16 }) });
  const oled = new SimSsd1306(0x3c);
  const eeprom = new Eeprom24c32(0x50);
  adapter.add(bme);
  adapter.add(oled);
  adapter.add(eeprom);
  handlers.set("i2c.log", () => ({ log: adapter.log, delayUs: adapter.delayUs }));
  handlers.set("i2c.clearLog", () => (adapter.log = [], {}));
  handlers.set("i2c.stall", (a) => {
    const addr = Number(a.addr);
    if (a.on) adapter.stalling.add(addr);
    else adapter.stalling.delete(addr);
    return {};
  });
  handlers.set("oled", () => ({ displayOn: oled.displayOn, framebuffer: [...oled.framebuffer()] }));
  handlers.set("bme680", () => ({ measurements: bme.measurements }));
  handlers.set("eeprom", (a) => ({
    bytes: [...eeprom.memory.subarray(Number(a.offset), Number(a.offset) + Number(a.length))],
  }));
  return adapter;
}

function viperboard(): UsbModel {
  const board = new Viperboard();
  handlers.set("gpio.state", () => board.state());
  handlers.set(
    "gpio.drive",
    (a) => (board.drive(String(a.bank) as "a" | "b", Number(a.line), Boolean(a.level)), {}),
  );
  return board;
}

function cp210x(dev: () => UsbIpDevice): UsbModel {
  const uart = new Cp210x(() => dev().pump());
  handlers.set("uart.state", () => uart.state());
  handlers.set("uart.send", (a) => (uart.send(Uint8Array.from(a.bytes as number[])), {}));
  handlers.set("uart.clear", () => (uart.clear(), {}));
  return uart;
}

for (const arg of Deno.args) {
  const [kind, port] = arg.split(":");
  const holder: { device?: UsbIpDevice } = {};
  const model = kind === "tiny-usb"
    ? tinyUsb()
    : kind === "viperboard"
    ? viperboard()
    : kind === "cp210x"
    ? cp210x(() => holder.device!)
    : undefined;
  if (!model) throw new Error(`Cannot start emulator: unknown device '${kind}'`);
  holder.device = new UsbIpDevice(model, Number(port));
  devices.push(holder.device);
}
handlers.set("counts", () => ({ counts: devices.map((d) => ({ port: d.port, ...d.counts, held: d.held })) }));

const encoder = new TextEncoder();
const say = (o: unknown) => Deno.stdout.writeSync(encoder.encode(`${JSON.stringify(o)}\n`));

const served: Promise<void>[] = [];
for (const d of devices) {
  d.attach();
  served.push(d.serve().catch((err) => void say({ fault: String(err) })));
}
say({ ready: true });

const decoder = new TextDecoder();
let pending = "";
for await (const chunk of Deno.stdin.readable) {
  pending += decoder.decode(chunk, { stream: true });
  if (pending.length > 1 << 20) throw new Error("Cannot read emulator command: line over 1 MiB");
  let nl;
  while ((nl = pending.indexOf("\n")) >= 0) {
    const line = pending.slice(0, nl);
    pending = pending.slice(nl + 1);
    const msg = JSON.parse(line) as { id: number; cmd: string } & Record<string, unknown>;
    const h = handlers.get(msg.cmd);
    try {
      if (!h) throw new Error(`unknown command '${msg.cmd}'`);
      say({ id: msg.id, ...(h(msg) as object) });
    } catch (err) {
      say({ id: msg.id, error: String(err) });
    }
    for (const d of devices) d.pump();
  }
}
for (const d of devices) d.detach();
await Promise.race([Promise.all(served), new Promise((r) => setTimeout(r, 2000))]);
Deno.exit(0);
