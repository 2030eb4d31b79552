/**
 * Commands from a bridge (MQTT, …) under the same authorization as the REST API: the bridge
 * presents its own API token, which must hold `act`; every attempt is audited with who made it.
 *
 * @module
 */
import type { Command, CommandResult } from "../link/mod.ts";
import type { HubCore } from "./core.ts";
import { CommandError } from "./errors.ts";

/**
 * A sender that runs `command` on `node` as the holder of `token`.
 *
 * @param core the hub
 * @param token the bridge's API token (`main.ts token create ha --scope act`); absent refuses all
 * @param via who is asking, for the audit (`mqtt`)
 * @returns a function that never throws: failures and refusals are results
 */
export function actAs(
  core: HubCore,
  token: string | undefined,
  via: string,
): (node: string, command: Command) => Promise<CommandResult> {
  return async (node, command) => {
    const access = core.access;
    const who = token ? access.resolveToken(token) : { ok: false as const, reason: "no token is configured" };
    if (!who.ok || !access.has(who.principal, "act")) {
      const why = who.ok ? `token '${who.principal.name}' lacks the 'act' scope` : who.reason;
      access.audit(command.type, who.ok ? who.principal : via, { node, command, ok: false, via, error: why });
      return { id: "", ok: false, code: "rejected", error: `Cannot run ${command.type} from ${via}: ${why}` };
    }
    try {
      const result = await core.dispatch(node, command);
      access.audit(command.type, who.principal, { node, command, ok: true, via });
      return result;
    } catch (e) {
      const result: CommandResult = e instanceof CommandError
        ? e.result
        : { id: "", ok: false, code: "rejected", error: (e as Error).message ?? String(e) };
      access.audit(command.type, who.principal, { node, command, ok: false, via, error: result.error });
      return result;
    }
  };
}
