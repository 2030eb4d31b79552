/**
 * libgpiod v2 (`libgpiod.so.3`) is not installable on Debian 12, so its binding cannot be
 * loaded here, let alone run against a chip. What can be checked: every symbol the binding
 * declares exists in the v2 header with the FFI types its C prototype implies on LP64
 * (x86_64, arm64), and the enum values it passes match the header's. The prototypes below are
 * copied from libgpiod 2.x `include/gpiod.h`. v2 stays unproven on hardware (README).
 */
import assert from "node:assert/strict";
import { DIRECTION, EDGE, EVENT_RISING, V2 } from "./gpiod_v2.ts";

const HEADER = `
struct gpiod_chip *gpiod_chip_open(const char *path);
void gpiod_chip_close(struct gpiod_chip *chip);
struct gpiod_chip_info *gpiod_chip_get_info(struct gpiod_chip *chip);
struct gpiod_line_info *gpiod_chip_get_line_info(struct gpiod_chip *chip, unsigned int offset);
struct gpiod_line_request *gpiod_chip_request_lines(struct gpiod_chip *chip, struct gpiod_request_config *req_cfg, struct gpiod_line_config *line_cfg);
void gpiod_chip_info_free(struct gpiod_chip_info *info);
const char *gpiod_chip_info_get_name(struct gpiod_chip_info *info);
size_t gpiod_chip_info_get_num_lines(struct gpiod_chip_info *info);
void gpiod_line_info_free(struct gpiod_line_info *info);
const char *gpiod_line_info_get_consumer(struct gpiod_line_info *info);
struct gpiod_line_settings *gpiod_line_settings_new(void);
void gpiod_line_settings_free(struct gpiod_line_settings *settings);
int gpiod_line_settings_set_direction(struct gpiod_line_settings *settings, enum gpiod_line_direction direction);
int gpiod_line_settings_set_edge_detection(struct gpiod_line_settings *settings, enum gpiod_line_edge edge);
int gpiod_line_settings_set_output_value(struct gpiod_line_settings *settings, enum gpiod_line_value value);
struct gpiod_line_config *gpiod_line_config_new(void);
void gpiod_line_config_free(struct gpiod_line_config *config);
int gpiod_line_config_add_line_settings(struct gpiod_line_config *config, const unsigned int *offsets, size_t num_offsets, struct gpiod_line_settings *settings);
struct gpiod_request_config *gpiod_request_config_new(void);
void gpiod_request_config_free(struct gpiod_request_config *config);
void gpiod_request_config_set_consumer(struct gpiod_request_config *config, const char *consumer);
void gpiod_line_request_release(struct gpiod_line_request *request);
enum gpiod_line_value gpiod_line_request_get_value(struct gpiod_line_request *request, unsigned int offset);
int gpiod_line_request_set_value(struct gpiod_line_request *request, unsigned int offset, enum gpiod_line_value value);
int gpiod_line_request_wait_edge_events(struct gpiod_line_request *request, int64_t timeout_ns);
int gpiod_line_request_read_edge_events(struct gpiod_line_request *request, struct gpiod_edge_event_buffer *buffer, size_t max_events);
enum gpiod_edge_event_type gpiod_edge_event_get_event_type(struct gpiod_edge_event *event);
uint64_t gpiod_edge_event_get_timestamp_ns(struct gpiod_edge_event *event);
struct gpiod_edge_event_buffer *gpiod_edge_event_buffer_new(size_t capacity);
void gpiod_edge_event_buffer_free(struct gpiod_edge_event_buffer *buffer);
struct gpiod_edge_event *gpiod_edge_event_buffer_get_event(struct gpiod_edge_event_buffer *buffer, unsigned long index);
`;

/** Enum bodies from the same header (values start at 1 and count up). */
const ENUMS = {
  gpiod_line_direction: ["AS_IS", "INPUT", "OUTPUT"],
  gpiod_line_edge: ["NONE", "RISING", "FALLING", "BOTH"],
  gpiod_edge_event_type: ["RISING_EDGE", "FALLING_EDGE"],
};

/** The FFI types a C type may be bound as on LP64. */
function ffiTypes(c: string): string[] {
  const t = c.replace(/\bconst\b/g, "").replace(/\s+/g, " ").trim();
  if (t.endsWith("*")) return t === "char *" || t === "unsigned int *" ? ["buffer", "pointer"] : ["pointer"];
  const scalar: Record<string, string> = {
    "void": "void",
    "int": "i32",
    "unsigned int": "u32",
    "size_t": "usize",
    "unsigned long": "u64",
    "int64_t": "i64",
    "uint64_t": "u64",
    "bool": "bool",
  };
  if (t.startsWith("enum ")) return ["i32"];
  const f = scalar[t];
  if (!f) throw new Error(`Cannot map C type '${c}'`);
  return f === "usize" || f === "u64" ? ["usize", "u64"] : [f];
}

interface Prototype {
  result: string;
  params: string[];
}

function parse(header: string): Map<string, Prototype> {
  const out = new Map<string, Prototype>();
  for (const line of header.trim().split("\n")) {
    const m = line.match(/^(.*?)\b(gpiod_\w+)\((.*)\);$/);
    if (!m) throw new Error(`Cannot parse prototype: ${line}`);
    const params = m[3] === "void"
      ? []
      : m[3].split(",").map((p) => p.trim().replace(/\s*\b\w+$/, "").trim());
    out.set(m[2], { result: m[1].trim(), params });
  }
  return out;
}

/** Mismatches between a symbol table and the prototypes. */
function mismatches(
  table: Record<string, { parameters: readonly string[]; result: string; name?: string }>,
  protos: Map<string, Prototype>,
): string[] {
  const bad: string[] = [];
  for (const [key, def] of Object.entries(table)) {
    const name = def.name ?? key;
    const p = protos.get(name);
    if (!p) {
      bad.push(`${name}: not in the v2 header`);
      continue;
    }
    if (!ffiTypes(p.result).includes(def.result)) bad.push(`${name}: result ${def.result} for C ${p.result}`);
    if (p.params.length !== def.parameters.length) {
      bad.push(`${name}: ${def.parameters.length} parameters, C has ${p.params.length}`);
      continue;
    }
    p.params.forEach((c, i) => {
      if (!ffiTypes(c).includes(def.parameters[i])) {
        bad.push(`${name}: parameter ${i} ${def.parameters[i]} for C ${c}`);
      }
    });
  }
  return bad;
}

Deno.test("libgpiod v2 binding matches the v2 header's prototypes (LP64)", () => {
  const protos = parse(HEADER);
  assert.deepEqual(mismatches(V2, protos), []);
  // The check can fail: a wrong width, a missing parameter and an invented symbol are caught.
  const broken = {
    ...V2,
    gpiod_line_request_wait_edge_events: { parameters: ["pointer", "i32"], result: "i32" },
    gpiod_chip_get_line_info: { parameters: ["pointer"], result: "pointer" },
    gpiod_chip_get_label: { parameters: ["pointer"], result: "pointer" },
  };
  assert.deepEqual(mismatches(broken, protos), [
    "gpiod_line_request_wait_edge_events: parameter 1 i32 for C int64_t",
    "gpiod_chip_get_line_info: 1 parameters, C has 2",
    "gpiod_chip_get_label: not in the v2 header",
  ]);
});

Deno.test("libgpiod v2 binding passes the header's enum values", () => {
  const value = (e: keyof typeof ENUMS, name: string) => ENUMS[e].indexOf(name) + 1;
  assert.equal(DIRECTION.input, value("gpiod_line_direction", "INPUT"));
  assert.equal(DIRECTION.output, value("gpiod_line_direction", "OUTPUT"));
  assert.equal(EDGE.none, value("gpiod_line_edge", "NONE"));
  assert.equal(EDGE.rising, value("gpiod_line_edge", "RISING"));
  assert.equal(EDGE.falling, value("gpiod_line_edge", "FALLING"));
  assert.equal(EDGE.both, value("gpiod_line_edge", "BOTH"));
  assert.equal(EVENT_RISING, value("gpiod_edge_event_type", "RISING_EDGE"));
});
