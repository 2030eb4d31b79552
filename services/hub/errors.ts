/**
 * Errors the hub raises and the one place (`onError`) that maps every typed error to an HTTP
 * status and a JSON body `{ error, field?, problem? }`.
 *
 * @module
 */
import type { Context } from "hono";
import { HTTPException } from "hono/http-exception";
import { z } from "zod";
import { HalError } from "../../hal/errors.ts";
import type { CommandResult } from "../link/mod.ts";

/** A request the hub refuses: status, message and the offending field. */
export class RequestError extends Error {
  override name = "RequestError";
  constructor(
    readonly status: 400 | 401 | 403 | 404 | 409 | 413 | 429 | 503,
    message: string,
    readonly field?: string,
    readonly problem?: string,
  ) {
    super(message);
  }
}

/** A command that reached no broker or failed there. */
export class CommandError extends Error {
  override name = "CommandError";
  constructor(readonly node: string, readonly result: CommandResult) {
    super(result.error ?? `Cannot run command on node "${node}": failed`);
  }
}

const COMMAND_STATUS = {
  timeout: 504,
  unreachable: 503,
  rejected: 400,
  failed: 502,
  not_found: 404,
  rate_limited: 429,
} as const;
const HAL_STATUS: Record<string, number> = {
  address_nak: 502,
  bus_busy: 503,
  timeout: 504,
  not_supported: 501,
  io: 502,
  permission: 403,
  not_found: 404,
};

/**
 * Turn a zod error into `{ error, field, problem }` naming the first bad field.
 *
 * @param where `body` or `query` (used in the message)
 * @param what the command the body is for (`buzzer`): messages then read `buzzer.pattern: is required`
 */
export function zodToRequestError(
  err: z.ZodError,
  where: string,
  what?: string,
  input?: unknown,
): RequestError {
  const issue = err.issues[0];
  let path = issue?.path.map(String).join(".") ?? "";
  if (issue?.code === "unrecognized_keys") path = [...issue.path.map(String), ...issue.keys].join(".");
  const field = path || where;
  const missing = input !== undefined && issue !== undefined && issue.code !== "unrecognized_keys" &&
    path !== "" && valueAt(input, issue.path) === undefined;
  const problem = issue?.code === "unrecognized_keys"
    ? "is not a known field"
    : missing
    ? "is required"
    : (issue?.message ?? "is invalid");
  const named = what ? `${what}.${field}` : field;
  return new RequestError(
    400,
    what ? `${named}: ${problem}` : `Cannot accept ${where}: '${field}' ${problem}`,
    field,
    problem,
  );
}

function valueAt(value: unknown, path: readonly PropertyKey[]): unknown {
  let v = value;
  for (const seg of path) {
    if (v === null || typeof v !== "object") return undefined;
    v = (v as Record<PropertyKey, unknown>)[seg];
  }
  return v;
}

/**
 * Parse `value` with `schema` or throw a 400 {@link RequestError}.
 *
 * @throws {RequestError} naming the first bad field
 */
export function validate<T extends z.ZodType>(
  schema: T,
  value: unknown,
  where: string,
  what?: string,
): z.infer<T> {
  const r = schema.safeParse(value);
  if (!r.success) throw zodToRequestError(r.error, where, what, value);
  return r.data;
}

/** The hub's `app.onError`: typed errors to status codes, everything else to 500. */
export function onError(
  err: Error,
  c: Context,
  log: (level: "error", message: string) => void = (_, m) => console.error(m),
): Response {
  if (err instanceof RequestError) {
    return c.json({ error: err.message, field: err.field ?? null, problem: err.problem ?? null }, err.status);
  }
  if (err instanceof z.ZodError) {
    const e = zodToRequestError(err, "request");
    return c.json({ error: e.message, field: e.field, problem: e.problem }, 400);
  }
  if (err instanceof CommandError) {
    const status = COMMAND_STATUS[err.result.code ?? "failed"] ?? 502;
    if (status === 429) {
      c.header("Retry-After", String(Math.max(1, Math.ceil((err.result.retryAfterMs ?? 1000) / 1000))));
    }
    return c.json({
      ok: false,
      node: err.node,
      error: err.message,
      code: err.result.code ?? "failed",
      result: err.result,
    }, status);
  }
  if (err instanceof HalError) {
    return c.json({ error: err.message, code: err.code }, (HAL_STATUS[err.code] ?? 502) as 502);
  }
  if (err.name === "CapabilityError") return c.json({ error: err.message }, 403);
  if (err.name === "PluginError") return c.json({ error: err.message }, 502);
  if (err instanceof HTTPException) {
    const res = err.getResponse();
    const message = err.message || res.statusText || `HTTP ${err.status}`;
    return c.json({ error: message }, err.status);
  }
  // One line: the message and where it was thrown, never a multi-line trace in the journal.
  const where = String(err?.stack ?? "").split("\n").find((l) => l.trim().startsWith("at "))?.trim() ?? "";
  log(
    "error",
    `hub: unhandled error on ${c.req.method} ${c.req.path}: ${err?.message ?? err}${
      where ? ` (${where})` : ""
    }`,
  );
  return c.json({ error: `Cannot handle ${c.req.method} ${c.req.path}: internal error` }, 500);
}
