/**
 * {@link GpiodTable} over libgpiod v1 (`libgpiod.so.2`, Debian 12 / Pi OS bookworm).
 *
 * @module
 */
import { cString, errno } from "./_libc.ts";
import type { GpiodMode, GpiodTable } from "./gpiod.ts";

const V1 = {
  gpiod_chip_open: { parameters: ["buffer"], result: "pointer" },
  gpiod_chip_close: { parameters: ["pointer"], result: "void" },
  gpiod_chip_name: { parameters: ["pointer"], result: "pointer" },
  gpiod_chip_num_lines: { parameters: ["pointer"], result: "u32" },
  gpiod_chip_get_line: { parameters: ["pointer", "u32"], result: "pointer" },
  gpiod_line_request_input: { parameters: ["pointer", "buffer"], result: "i32" },
  gpiod_line_request_output: { parameters: ["pointer", "buffer", "i32"], result: "i32" },
  gpiod_line_request_rising_edge_events: { parameters: ["pointer", "buffer"], result: "i32" },
  gpiod_line_request_falling_edge_events: { parameters: ["pointer", "buffer"], result: "i32" },
  gpiod_line_request_both_edges_events: { parameters: ["pointer", "buffer"], result: "i32" },
  gpiod_line_get_value: { parameters: ["pointer"], result: "i32" },
  gpiod_line_set_value: { parameters: ["pointer", "i32"], result: "i32" },
  gpiod_line_release: { parameters: ["pointer"], result: "void" },
  gpiod_line_event_wait: { parameters: ["pointer", "buffer"], result: "i32", nonblocking: true },
  gpiod_line_event_read: { parameters: ["pointer", "buffer"], result: "i32" },
  gpiod_line_update: { parameters: ["pointer"], result: "i32" },
  gpiod_line_consumer: { parameters: ["pointer"], result: "pointer" },
} as const satisfies Deno.ForeignLibraryInterface;

/** `GPIOD_LINE_EVENT_RISING_EDGE` */
const RISING = 1;

/**
 * Bind libgpiod v1.
 *
 * @throws {Error} when `libgpiod.so.2` cannot be loaded
 */
export function gpiodV1(path = "libgpiod.so.2"): GpiodTable {
  const s = Deno.dlopen(path, V1).symbols;
  const timespec = new BigInt64Array(2);
  const event = new ArrayBuffer(24); // struct gpiod_line_event { struct timespec ts; int event_type; }
  return {
    version: 1,
    chipOpen(p) {
      const chip = s.gpiod_chip_open(cString(p));
      if (chip === null) return null;
      const name = s.gpiod_chip_name(chip);
      return {
        handle: chip,
        name: name === null ? p : Deno.UnsafePointerView.getCString(name),
        lines: s.gpiod_chip_num_lines(chip),
      };
    },
    chipClose: (chip) => s.gpiod_chip_close(chip as Deno.PointerObject),
    requestLine(chip, offset, consumer, mode: GpiodMode, initial) {
      const line = s.gpiod_chip_get_line(chip as Deno.PointerObject, offset);
      if (line === null) return null;
      const c = cString(consumer);
      const rc = mode === "input"
        ? s.gpiod_line_request_input(line, c)
        : mode === "output"
        ? s.gpiod_line_request_output(line, c, initial)
        : mode === "rising"
        ? s.gpiod_line_request_rising_edge_events(line, c)
        : mode === "falling"
        ? s.gpiod_line_request_falling_edge_events(line, c)
        : s.gpiod_line_request_both_edges_events(line, c);
      return rc < 0 ? null : line;
    },
    getValue: (line) => s.gpiod_line_get_value(line as Deno.PointerObject),
    setValue: (line, v) => s.gpiod_line_set_value(line as Deno.PointerObject, v),
    waitEdge(line, timeoutNs) {
      timespec[0] = timeoutNs / 1_000_000_000n;
      timespec[1] = timeoutNs % 1_000_000_000n;
      return s.gpiod_line_event_wait(line as Deno.PointerObject, timespec);
    },
    readEdge(line) {
      if (s.gpiod_line_event_read(line as Deno.PointerObject, new Uint8Array(event)) < 0) return null;
      const v = new DataView(event);
      return {
        rising: v.getInt32(16, true) === RISING,
        timestampNs: v.getBigInt64(0, true) * 1_000_000_000n + v.getBigInt64(8, true),
      };
    },
    release: (line) => s.gpiod_line_release(line as Deno.PointerObject),
    errno,
    lineConsumer(chip, offset) {
      const line = s.gpiod_chip_get_line(chip as Deno.PointerObject, offset);
      if (line === null || s.gpiod_line_update(line) < 0) return null; // re-read the kernel's line info
      const c = s.gpiod_line_consumer(line);
      return c === null ? null : Deno.UnsafePointerView.getCString(c);
    },
  };
}
