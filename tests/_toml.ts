/**
 * Test helper: the config a flow test starts the real service with. A small sim node on loopback
 * (0.5 s cycle, file snapshots in `<dir>/shm`, state in `<dir>`), with per-test sections merged in
 * and raw TOML appended. One place instead of a template per test file.
 *
 * @module
 */
import { tomlValue } from "../config/reference.ts";

/** Sections of a config: `{ hub: { token: "t" }, "plugins.dht22": { cadence_seconds: 0.5 } }`. */
export type Sections = Record<string, Record<string, unknown>>;

/**
 * Render a service config for `node` under `dir`.
 *
 * @param sections values merged over the defaults (a section set to `{}` is kept, `null` removes it)
 * @param extra raw TOML appended at the end
 */
export function serviceToml(
  node: string,
  dir: string,
  sections: Record<string, Record<string, unknown> | null> = {},
  extra = "",
): string {
  const base: Sections = {
    polling: { interval_seconds: 0.5 },
    hal: { backend: "sim" },
    cluster: { node_id: node },
    hub: { host: "127.0.0.1" },
    shm: { backend: "file", file_dir: `${dir}/shm` },
    state: { dir },
  };
  const merged: Sections = { ...base };
  for (const [name, values] of Object.entries(sections)) {
    if (values === null) delete merged[name];
    else merged[name] = { ...(merged[name] ?? {}), ...values };
  }
  const out: string[] = [];
  for (const [name, values] of Object.entries(merged)) {
    out.push(`[${name}]`);
    for (const [k, v] of Object.entries(values)) if (v !== undefined) out.push(`${k} = ${tomlValue(v)}`);
    out.push("");
  }
  return out.join("\n") + extra;
}
