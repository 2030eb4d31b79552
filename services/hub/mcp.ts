/**
 * `/mcp`: the Model Context Protocol over streamable HTTP (stateless: one server per request,
 * JSON responses). Every request needs a bearer token with `read`; tools that act (`buzz`,
 * `set_led`, `set_name`, annotated `readOnlyHint: false`) need `act` and are audited. Browser
 * requests from foreign origins are refused.
 *
 * @module
 */
import { McpServer, ResourceTemplate } from "@modelcontextprotocol/sdk/server/mcp.js";
import { WebStandardStreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js";
import type { Context } from "hono";
import { z } from "zod";
import type { Command } from "../link/mod.ts";
import type { Principal } from "./auth/access.ts";
import type { HubCore } from "./core.ts";
import { parseTime, readHistory } from "./history_api.ts";

type ToolResult = { content: Array<{ type: "text"; text: string }>; isError?: boolean };

function json(value: unknown): ToolResult {
  return { content: [{ type: "text", text: JSON.stringify(value) }] };
}

function fail(message: string): ToolResult {
  return { content: [{ type: "text", text: message }], isError: true };
}

const nodeArg = z.string().max(64).optional().describe("Node id; default the hub's own node");

const READ = { readOnlyHint: true, destructiveHint: false, openWorldHint: false } as const;
const ACT = {
  readOnlyHint: false,
  destructiveHint: false,
  idempotentHint: false,
  openWorldHint: true,
} as const;

/** Build an MCP server for one request of `who`; the `act` scope unlocks the acting tools. */
export function buildMcpServer(core: HubCore, who: Principal): McpServer {
  const o = core.options;
  const server = new McpServer({ name: "harvester-hub", version: "1.0.0" });
  const nodeOf = (n?: string) => n ?? o.node;
  const act = async (what: string, node: string, command: Command): Promise<ToolResult> => {
    if (!who.scopes.has("act")) return fail(`Cannot ${what}: token '${who.name}' lacks the 'act' scope`);
    try {
      const result = await core.dispatch(node, command);
      core.access.audit(command.type, who, { node, command, ok: true, via: "mcp" });
      return json({ ok: true, node, result });
    } catch (e) {
      core.access.audit(command.type, who, {
        node,
        command,
        ok: false,
        via: "mcp",
        error: (e as Error).message,
      });
      return fail((e as Error).message);
    }
  };

  server.registerTool("get_state", {
    description: "Latest snapshot of a node: readings, plugins, LEDs, anima, identity",
    inputSchema: { node: nodeArg },
    annotations: READ,
  }, async ({ node }: { node?: string }) => {
    await core.refresh();
    const s = core.snapshot(nodeOf(node));
    return s
      ? json({ status: core.registry.status(s.node), snapshot: s })
      : fail(`Cannot get state of node "${nodeOf(node)}": unknown node`);
  });
  server.registerTool("get_readings", {
    description: "Current readings of all nodes (or one), ids node:sensor, with a stale flag",
    inputSchema: { node: nodeArg },
    annotations: READ,
  }, async ({ node }: { node?: string }) => {
    await core.refresh();
    const all = core.registry.readings();
    return json({ readings: node ? all.filter((r) => r.node === node) : all });
  });
  const rangeArgs = {
    from: z.string().max(40).optional().describe("ISO 8601 or relative (-24h, -7d); default -24h"),
    to: z.string().max(40).optional().describe("ISO 8601, relative or now; default now"),
  };
  server.registerTool(
    "get_history",
    {
      description: "Values of one sensor field over a time range, in buckets with min/max/mean/count " +
        "(from the hub's recorder; raw, 1-minute or 1-hour tier chosen by the step)",
      inputSchema: {
        sensor: z.string().min(1).max(160).describe("Sensor id node:sensor, e.g. pi4:bme680"),
        field: z.string().max(64).optional().describe("Field, e.g. temperature; default every numeric field"),
        ...rangeArgs,
        step: z.string().max(16).optional().describe("Bucket width: seconds or 30s, 5m, 1h, 1d"),
        aggregate: z.enum(["mean", "min", "max"]).optional().describe("Return one value per bucket"),
        limit: z.number().int().min(1).max(1000).optional().describe(
          "Without a recorder: points from the event log",
        ),
        since: z.string().max(64).optional(),
      },
      annotations: READ,
    },
    async (a: {
      sensor: string;
      field?: string;
      from?: string;
      to?: string;
      step?: string;
      aggregate?: "mean" | "min" | "max";
      limit?: number;
      since?: string;
    }) => {
      if (!o.history) {
        return json({ sensor: a.sensor, points: await core.history(a.sensor, a.limit ?? 100, a.since) });
      }
      try {
        const q = Object.fromEntries(
          Object.entries({ sensor: a.sensor, field: a.field, from: a.from, to: a.to, step: a.step }).filter((
            [, v],
          ) => v !== undefined),
        ) as Record<string, string>;
        const histories = readHistory(o.history, q);
        if (!a.aggregate) return json({ sensor: a.sensor, fields: histories });
        return json({
          sensor: a.sensor,
          aggregate: a.aggregate,
          fields: histories.map((h) => ({
            field: h.field,
            unit: h.unit,
            tier: h.tier,
            stepSeconds: h.stepSeconds,
            points: h.buckets.map((b) => ({ t: new Date(b.t).toISOString(), value: b[a.aggregate!] })),
          })),
        });
      } catch (e) {
        return fail((e as Error).message);
      }
    },
  );
  server.registerTool(
    "get_statistics",
    {
      description: "min, max, mean and count of one sensor field over a time range (the hub's recorder)",
      inputSchema: {
        sensor: z.string().min(1).max(160).describe("Sensor id node:sensor"),
        field: z.string().min(1).max(64).describe("Field, e.g. temperature"),
        ...rangeArgs,
      },
      annotations: READ,
    },
    (a: { sensor: string; field: string; from?: string; to?: string }) => {
      if (!o.history) {
        return fail("Cannot compute statistics: this hub records no history ([history] enabled = false)");
      }
      try {
        const [node, sensor] = a.sensor.split(":");
        const now = Date.now();
        const from = parseTime(a.from ?? "-24h", now);
        const to = parseTime(a.to ?? "now", now);
        if (from === null || to === null) {
          return fail("Cannot compute statistics: from/to must be ISO 8601 or relative (-24h)");
        }
        return json(o.history.statistics(node, sensor ?? "", a.field, from, to));
      } catch (e) {
        return fail((e as Error).message);
      }
    },
  );
  server.registerTool("list_plugins", {
    description: "Plugins of all nodes with status, restarts, last error and scheduler state",
    inputSchema: { node: nodeArg },
    annotations: READ,
  }, async ({ node }: { node?: string }) => {
    await core.refresh();
    const all = core.registry.plugins();
    return json({ plugins: node ? all.filter((p) => p.node === node) : all });
  });
  server.registerTool(
    "get_events",
    {
      description: "Recent events, filtered by type prefix",
      inputSchema: {
        type: z.string().max(64).optional(),
        since: z.string().max(64).optional(),
        limit: z.number().int().min(1).max(1000).optional(),
      },
      annotations: READ,
    },
    async ({ type, since, limit }: { type?: string; since?: string; limit?: number }) => {
      const events = await o.events.query({ type, since, limit: limit ?? 50 });
      return json({
        events: who.scopes.has("admin") ? events : events.filter((e) => !e.type.startsWith("audit.")),
      });
    },
  );
  server.registerTool(
    "buzz",
    {
      description: "Sound the buzzer (needs the 'act' scope)",
      inputSchema: { pattern: z.enum(["single", "triple", "long"]), node: nodeArg },
      annotations: ACT,
    },
    ({ pattern, node }: { pattern: "single" | "triple" | "long"; node?: string }) =>
      act("buzz", node ?? o.buzzerNode ?? o.node, { type: "buzzer", pattern }),
  );
  server.registerTool(
    "set_led",
    {
      description: "Set one LED of the strip (needs the 'act' scope)",
      annotations: { ...ACT, idempotentHint: true },
      inputSchema: {
        index: z.number().int().min(0).max(255),
        r: z.number().int().min(0).max(255),
        g: z.number().int().min(0).max(255),
        b: z.number().int().min(0).max(255),
        node: nodeArg,
      },
    },
    ({ index, r, g, b, node }: { index: number; r: number; g: number; b: number; node?: string }) =>
      act("set LED", nodeOf(node), { type: "led", index, r, g, b }),
  );
  server.registerTool(
    "set_name",
    {
      description: "Rename the node's creature (anima identity; needs the 'act' scope)",
      inputSchema: { name: z.string().trim().min(1).max(64), node: nodeArg },
      annotations: { ...ACT, destructiveHint: true, idempotentHint: true },
    },
    ({ name, node }: { name: string; node?: string }) =>
      act("set name", nodeOf(node), { type: "set_name", name }),
  );

  server.registerResource(
    "snapshot",
    new ResourceTemplate("harvester://snapshot/{node}", {
      list: () => ({
        resources: core.registry.ids().map((id) => ({
          uri: `harvester://snapshot/${id}`,
          name: `snapshot of ${id}`,
        })),
      }),
    }),
    { description: "Latest snapshot of a node", mimeType: "application/json" },
    async (uri: URL, { node }: Record<string, string | string[]>) => {
      await core.refresh();
      const id = String(node);
      const s = core.snapshot(id);
      if (!s) throw new Error(`Cannot read snapshot of node "${id}": unknown node`);
      return { contents: [{ uri: uri.href, mimeType: "application/json", text: JSON.stringify(s) }] };
    },
  );
  return server;
}

/** Answer one MCP request of `who` (stateless streamable HTTP): a fresh server per request. */
export async function handleMcp(c: Context, core: HubCore, who: Principal): Promise<Response> {
  const server = buildMcpServer(core, who);
  const transport = new WebStandardStreamableHTTPServerTransport({
    sessionIdGenerator: undefined,
    enableJsonResponse: true,
  });
  await server.connect(transport);
  try {
    return await transport.handleRequest(c.req.raw);
  } finally {
    await server.close();
  }
}
