/**
 * The dashboard: `GET /` serves `index.html` as it is on disk — the same bytes for everyone, no
 * credential in it (the script asks `/auth/session`); `GET /assets/<path>` serves files under the
 * dashboard folder with resolution that cannot leave it.
 *
 * @module
 */
import { extname, join, normalize, resolve, sep } from "node:path";
import type { Context } from "hono";
import { RequestError } from "./errors.ts";

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json; charset=utf-8",
  ".map": "application/json; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ico": "image/x-icon",
  ".woff2": "font/woff2",
  ".txt": "text/plain; charset=utf-8",
  ".LICENSE": "text/plain; charset=utf-8",
};

/**
 * Resolve `rel` (URL-decoded) under `root`, or null when it would escape it.
 *
 * @param root dashboard folder
 * @param rel path after `/assets/`
 */
export function safeJoin(root: string, rel: string): string | null {
  let decoded: string;
  try {
    decoded = decodeURIComponent(rel);
  } catch {
    return null;
  }
  if (decoded.includes("\0") || decoded.includes("\\")) return null;
  const base = resolve(root);
  const full = resolve(join(base, normalize("/" + decoded)));
  return full.startsWith(base + sep) ? full : null;
}

/** `GET /` handler. */
export async function serveIndex(c: Context, dir: string | undefined): Promise<Response> {
  if (!dir) throw new RequestError(404, "Cannot serve dashboard: no dashboard folder configured");
  let html: string;
  try {
    html = await Deno.readTextFile(join(dir, "index.html"));
  } catch {
    throw new RequestError(404, `Cannot serve dashboard: ${join(dir, "index.html")} not found`);
  }
  c.header("cache-control", "no-store");
  return c.html(html);
}

/** `GET /assets/*` handler. */
export async function serveAsset(c: Context, dir: string | undefined): Promise<Response> {
  const rel = c.req.path.replace(/^\/assets\//, "");
  const file = dir ? safeJoin(dir, rel) : null;
  if (!file) {
    throw new RequestError(404, `Cannot serve asset '${rel}': not found`, "path", "is outside the dashboard");
  }
  let data: Uint8Array;
  try {
    const st = await Deno.stat(file);
    if (!st.isFile) throw new Error("not a file");
    data = await Deno.readFile(file);
  } catch {
    throw new RequestError(404, `Cannot serve asset '${rel}': not found`, "path", "does not exist");
  }
  const ext = extname(file) || "";
  c.header("content-type", TYPES[ext] ?? "application/octet-stream");
  c.header("cache-control", "no-cache");
  c.header("x-content-type-options", "nosniff");
  return c.body(data as Uint8Array<ArrayBuffer>);
}
