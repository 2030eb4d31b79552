/**
 * The `--v8-flags=…` of a `deno.json` task, so tests that run the service as the task does
 * follow the task instead of a copy of its flags.
 *
 * @module
 */
import denoJson from "../deno.json" with { type: "json" };

/** The `--v8-flags=…` argument of task `name` (`start`, `hub`, `broker`), as a one-element list. */
export function taskV8Flags(name: "start" | "hub" | "broker"): string[] {
  const task = (denoJson.tasks as Record<string, string>)[name];
  if (task === undefined) throw new Error(`Cannot read V8 flags: deno.json has no task '${name}'`);
  const flag = task.split(/\s+/).find((a) => a.startsWith("--v8-flags="));
  if (flag === undefined) {
    throw new Error(`Cannot read V8 flags: task '${name}' sets no --v8-flags (${task})`);
  }
  return [flag];
}
