/**
 * `main.ts token create|list|revoke`: manage long-lived API tokens in the state dir's
 * `hub-auth.json` (a running hub picks changes up within a second). The secret is printed once,
 * alone on stdout, so `TOKEN=$(main.ts token create ci --scope read)` works.
 *
 *     token create <name> [--scope read|act|admin|push:<node>]...   (default scope: read)
 *     token list
 *     token revoke <id|name>
 *
 * @module
 */
import { isAbsolute, resolve } from "node:path";
import { parseArgs } from "node:util";
import { nameProblem, SCOPE } from "./store.ts";
import { AuthStore } from "./store.ts";

/** Where the CLI writes: stdout for results, stderr for messages. */
export interface CliIo {
  out(line: string): void;
  err(line: string): void;
}

const USAGE =
  "usage: token create <name> [--scope read|act|admin|push:<node>]... | token list | token revoke <id|name>";

/**
 * Run the token CLI.
 *
 * @param args arguments after `token` (`--config`/`--port` are ignored here, the caller loads the config)
 * @param config the loaded configuration (only `state.dir` is read)
 * @returns the exit code: 0 done, 1 nothing to revoke, 2 bad usage
 */
export function runTokenCli(
  args: string[],
  config: { state: { dir: string } },
  io: CliIo = { out: (l) => console.log(l), err: (l) => console.error(l) },
): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      allowPositionals: true,
      options: {
        scope: { type: "string", multiple: true, short: "s" },
        config: { type: "string" },
        port: { type: "string" },
      },
    });
  } catch (e) {
    io.err(`Cannot run token command: ${(e as Error).message}`);
    io.err(USAGE);
    return Promise.resolve(2);
  }
  const [verb, target] = parsed.positionals;
  const dir = isAbsolute(config.state.dir) ? config.state.dir : resolve(Deno.cwd(), config.state.dir);
  try {
    Deno.mkdirSync(dir, { recursive: true });
  } catch {
    // Reported by the store below.
  }
  let store: AuthStore;
  try {
    store = new AuthStore(dir);
  } catch (e) {
    io.err((e as Error).message);
    return Promise.resolve(1);
  }
  if (verb === "create") {
    const np = nameProblem(target);
    if (np) {
      io.err(`Cannot create token: name ${target === undefined ? "is missing" : `'${target}' ${np}`}`);
      return Promise.resolve(2);
    }
    const scopes = parsed.values.scope?.length ? parsed.values.scope : ["read"];
    const wrong = scopes.find((s) => !SCOPE.test(s));
    if (wrong) {
      io.err(`Cannot create token: scope '${wrong}' is not read, act, admin or push:<node>`);
      return Promise.resolve(2);
    }
    const { token, view } = store.createToken(target!, scopes, "cli");
    io.err(`created token ${view.id} '${view.name}' (${view.scopes.join(", ")}); it is shown once:`);
    io.out(token);
    return Promise.resolve(0);
  }
  if (verb === "list") {
    io.out(["id", "name", "scopes", "created", "last used", "by"].join("\t"));
    for (const t of store.tokens()) {
      io.out([t.id, t.name, t.scopes.join(","), t.created, t.lastUsed ?? "never", t.createdBy].join("\t"));
    }
    return Promise.resolve(0);
  }
  if (verb === "revoke") {
    if (!target) {
      io.err("Cannot revoke token: give its id or name");
      return Promise.resolve(2);
    }
    const gone = store.revokeToken(target);
    if (!gone.length) {
      io.err(`Cannot revoke token '${target}': no such token`);
      return Promise.resolve(1);
    }
    io.err(`revoked ${gone.map((t) => `${t.id} '${t.name}'`).join(", ")}`);
    return Promise.resolve(0);
  }
  io.err(`Cannot run token command: unknown verb ${verb === undefined ? "(none)" : `'${verb}'`}`);
  io.err(USAGE);
  return Promise.resolve(2);
}
