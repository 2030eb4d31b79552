/**
 * {@link GpiodTable} over libgpiod v2 (`libgpiod.so.3`, Pi OS trixie): settings → line config →
 * request config → `gpiod_chip_request_lines`, one request per line here.
 *
 * @module
 */
import { cString, errno } from "./_libc.ts";
import type { GpiodMode, GpiodTable } from "./gpiod.ts";

/** The v2 symbols and their FFI signatures (checked against gpiod.h v2 in gpiod_v2_test.ts). */
export const V2 = {
  gpiod_chip_open: { parameters: ["buffer"], result: "pointer" },
  gpiod_chip_close: { parameters: ["pointer"], result: "void" },
  gpiod_chip_get_info: { parameters: ["pointer"], result: "pointer" },
  gpiod_chip_info_get_name: { parameters: ["pointer"], result: "pointer" },
  gpiod_chip_info_get_num_lines: { parameters: ["pointer"], result: "usize" },
  gpiod_chip_info_free: { parameters: ["pointer"], result: "void" },
  gpiod_line_settings_new: { parameters: [], result: "pointer" },
  gpiod_line_settings_free: { parameters: ["pointer"], result: "void" },
  gpiod_line_settings_set_direction: { parameters: ["pointer", "i32"], result: "i32" },
  gpiod_line_settings_set_edge_detection: { parameters: ["pointer", "i32"], result: "i32" },
  gpiod_line_settings_set_output_value: { parameters: ["pointer", "i32"], result: "i32" },
  gpiod_line_config_new: { parameters: [], result: "pointer" },
  gpiod_line_config_free: { parameters: ["pointer"], result: "void" },
  gpiod_line_config_add_line_settings: {
    parameters: ["pointer", "buffer", "usize", "pointer"],
    result: "i32",
  },
  gpiod_request_config_new: { parameters: [], result: "pointer" },
  gpiod_request_config_free: { parameters: ["pointer"], result: "void" },
  gpiod_request_config_set_consumer: { parameters: ["pointer", "buffer"], result: "void" },
  gpiod_chip_request_lines: { parameters: ["pointer", "pointer", "pointer"], result: "pointer" },
  gpiod_line_request_release: { parameters: ["pointer"], result: "void" },
  gpiod_line_request_get_value: { parameters: ["pointer", "u32"], result: "i32" },
  gpiod_line_request_set_value: { parameters: ["pointer", "u32", "i32"], result: "i32" },
  gpiod_line_request_wait_edge_events: { parameters: ["pointer", "i64"], result: "i32", nonblocking: true },
  gpiod_edge_event_buffer_new: { parameters: ["usize"], result: "pointer" },
  gpiod_edge_event_buffer_free: { parameters: ["pointer"], result: "void" },
  gpiod_line_request_read_edge_events: { parameters: ["pointer", "pointer", "usize"], result: "i32" },
  gpiod_edge_event_buffer_get_event: { parameters: ["pointer", "u64"], result: "pointer" },
  gpiod_edge_event_get_event_type: { parameters: ["pointer"], result: "i32" },
  gpiod_edge_event_get_timestamp_ns: { parameters: ["pointer"], result: "u64" },
  gpiod_chip_get_line_info: { parameters: ["pointer", "u32"], result: "pointer" },
  gpiod_line_info_get_consumer: { parameters: ["pointer"], result: "pointer" },
  gpiod_line_info_free: { parameters: ["pointer"], result: "void" },
} as const satisfies Deno.ForeignLibraryInterface;

/** enum values from gpiod.h (v2): `gpiod_line_direction`, `gpiod_line_edge`, `gpiod_edge_event_type`. */
export const DIRECTION = { input: 2, output: 3 } as const;
export const EDGE = { none: 1, rising: 2, falling: 3, both: 4 } as const;
export const EVENT_RISING = 1;

interface V2Line {
  request: Deno.PointerObject;
  offset: number;
  events: Deno.PointerValue;
}

/**
 * Bind libgpiod v2.
 *
 * @throws {Error} when `libgpiod.so.3` cannot be loaded
 */
export function gpiodV2(path = "libgpiod.so.3"): GpiodTable {
  const s = Deno.dlopen(path, V2).symbols;
  return {
    version: 2,
    chipOpen(p) {
      const chip = s.gpiod_chip_open(cString(p));
      if (chip === null) return null;
      const info = s.gpiod_chip_get_info(chip);
      let name = p, lines = 0;
      if (info !== null) {
        const n = s.gpiod_chip_info_get_name(info);
        if (n !== null) name = Deno.UnsafePointerView.getCString(n);
        lines = Number(s.gpiod_chip_info_get_num_lines(info));
        s.gpiod_chip_info_free(info);
      }
      return { handle: chip, name, lines };
    },
    chipClose: (chip) => s.gpiod_chip_close(chip as Deno.PointerObject),
    requestLine(chip, offset, consumer, mode: GpiodMode, initial) {
      const settings = s.gpiod_line_settings_new();
      const lineCfg = s.gpiod_line_config_new();
      const reqCfg = s.gpiod_request_config_new();
      try {
        if (settings === null || lineCfg === null || reqCfg === null) return null;
        s.gpiod_line_settings_set_direction(settings, mode === "output" ? DIRECTION.output : DIRECTION.input);
        if (mode === "output") s.gpiod_line_settings_set_output_value(settings, initial);
        if (mode !== "input" && mode !== "output") {
          s.gpiod_line_settings_set_edge_detection(settings, EDGE[mode]);
        }
        if (s.gpiod_line_config_add_line_settings(lineCfg, Uint32Array.of(offset), 1n, settings) < 0) {
          return null;
        }
        s.gpiod_request_config_set_consumer(reqCfg, cString(consumer));
        const request = s.gpiod_chip_request_lines(chip as Deno.PointerObject, reqCfg, lineCfg);
        if (request === null) return null;
        const events = mode === "input" || mode === "output" ? null : s.gpiod_edge_event_buffer_new(1n);
        return { request, offset, events } satisfies V2Line;
      } finally {
        if (settings !== null) s.gpiod_line_settings_free(settings);
        if (lineCfg !== null) s.gpiod_line_config_free(lineCfg);
        if (reqCfg !== null) s.gpiod_request_config_free(reqCfg);
      }
    },
    getValue: (l) => s.gpiod_line_request_get_value((l as V2Line).request, (l as V2Line).offset),
    setValue: (l, v) => s.gpiod_line_request_set_value((l as V2Line).request, (l as V2Line).offset, v),
    waitEdge: (l, timeoutNs) => s.gpiod_line_request_wait_edge_events((l as V2Line).request, timeoutNs),
    readEdge(l) {
      const line = l as V2Line;
      if (line.events === null) return null;
      if (s.gpiod_line_request_read_edge_events(line.request, line.events, 1n) < 1) return null;
      const ev = s.gpiod_edge_event_buffer_get_event(line.events, 0n);
      if (ev === null) return null;
      return {
        rising: s.gpiod_edge_event_get_event_type(ev) === EVENT_RISING,
        timestampNs: BigInt(s.gpiod_edge_event_get_timestamp_ns(ev)),
      };
    },
    release(l) {
      const line = l as V2Line;
      s.gpiod_line_request_release(line.request);
      if (line.events !== null) s.gpiod_edge_event_buffer_free(line.events);
    },
    errno,
    lineConsumer(chip, offset) {
      const info = s.gpiod_chip_get_line_info(chip as Deno.PointerObject, offset);
      if (info === null) return null;
      try {
        const c = s.gpiod_line_info_get_consumer(info);
        return c === null ? null : Deno.UnsafePointerView.getCString(c);
      } finally {
        s.gpiod_line_info_free(info);
      }
    },
  };
}
