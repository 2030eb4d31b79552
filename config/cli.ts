/**
 * The command line: `main.ts <mode> [flags]`, parsed strictly with `node:util` `parseArgs`.
 * Every mode has its own usage text naming each flag and environment variable; an unknown flag
 * or a stray word is a {@link UsageError} (exit 2) naming it, with a did-you-mean hint.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { closest } from "./_hint.ts";

/** What `main.ts` can run. */
export const MODES = ["start", "broker", "hub"] as const;
/** One of {@link MODES}. */
export type Mode = typeof MODES[number];

/** A parsed command line. */
export interface Cli {
  mode: Mode;
  /** `--config PATH`. */
  config?: string;
  /** `--port N` (hub and start only), as typed: the loader validates it. */
  port?: string;
  /** `--help` / `-h`: print {@link usage} and exit 0. */
  help: boolean;
  /** `--version` / `-V`: print the version and exit 0. */
  version: boolean;
}

/** A command-line mistake: print the message (one line) and exit 2. */
export class UsageError extends Error {
  override name = "UsageError";
}

interface Flag {
  name: string;
  short?: string;
  value?: string;
  help: string;
}

const COMMON: Flag[] = [
  {
    name: "config",
    short: "c",
    value: "PATH",
    help: "configuration file (default: config/host.toml, ../config/host.toml, built-in defaults)",
  },
  { name: "help", short: "h", help: "print this help and exit" },
  { name: "version", short: "V", help: "print the version and exit" },
];
const PORT: Flag = {
  name: "port",
  short: "p",
  value: "N",
  help: "HTTP port of the hub (overrides PORT and hub.port; 0 = any free port)",
};

const FLAGS: Record<Mode, Flag[]> = {
  start: [COMMON[0], PORT, ...COMMON.slice(1)],
  broker: COMMON,
  hub: [COMMON[0], PORT, ...COMMON.slice(1)],
};

const SUMMARY: Record<Mode, string> = {
  start: "broker and hub in one process: owns the hardware, runs the plugins, serves the dashboard",
  broker: "the hardware owner alone: buses, plugins, scheduler; no HTTP port",
  hub: "the hub alone: HTTP API, live feed, MCP and dashboard; never opens a bus",
};

const ENV: Record<Mode, [string, string][]> = {
  start: [
    ["PORT", "HTTP port of the hub (below --port)"],
    ["REDIS_URL", "Redis for shared state and events (overrides shm.redis_url)"],
    ["HARVESTER_PLUGINS_DIR", "plugin tree to load instead of plugins/"],
    ["HARVESTER_LOCK_DIR", "where bus locks live (default: state dir, /run/lock/harvester on linux)"],
  ],
  broker: [
    ["REDIS_URL", "Redis for shared state, events and commands (overrides shm.redis_url)"],
    ["HARVESTER_PLUGINS_DIR", "plugin tree to load instead of plugins/"],
    ["HARVESTER_LOCK_DIR", "where bus locks live (default: state dir, /run/lock/harvester on linux)"],
  ],
  hub: [
    ["PORT", "HTTP port (below --port)"],
    ["REDIS_URL", "Redis to read snapshots and events from and send commands through"],
  ],
};

/**
 * The help text of one mode, or of the whole program when `mode` is absent.
 *
 * @example
 * ```ts
 * import { usage } from "./cli.ts";
 * console.assert(usage("hub").includes("--port"));
 * ```
 */
export function usage(mode?: Mode): string {
  if (!mode) {
    return [
      "Usage: main.ts <mode> [options]",
      "",
      "Modes:",
      ...MODES.map((m) => `  ${m.padEnd(8)}${SUMMARY[m]}`),
      `  ${
        "token".padEnd(8)
      }create, list or revoke the hub's API tokens: token create <name> --scope read|act|admin`,
      "",
      "Run 'main.ts <mode> --help' for the options of a mode. Without a mode, 'start' runs.",
      "",
      ...optionLines(FLAGS.start),
      "",
      "Environment:",
      ...envLines(ENV.start),
    ].join("\n");
  }
  return [
    `Usage: main.ts ${mode} [options]`,
    "",
    SUMMARY[mode][0].toUpperCase() + SUMMARY[mode].slice(1) + ".",
    "",
    ...optionLines(FLAGS[mode]),
    "",
    "Environment:",
    ...envLines(ENV[mode]),
  ].join("\n");
}

function optionLines(flags: Flag[]): string[] {
  return [
    "Options:",
    ...flags.map((f) => {
      const left = `${f.short ? `-${f.short}, ` : "    "}--${f.name}${f.value ? ` ${f.value}` : ""}`;
      return `  ${left.padEnd(24)}${f.help}`;
    }),
  ];
}

function envLines(vars: [string, string][]): string[] {
  return vars.map(([name, help]) => `  ${name.padEnd(24)}${help}`);
}

/**
 * Parse `argv` (without the program name).
 *
 * @example
 * ```ts
 * import { parseCli } from "./cli.ts";
 * const cli = parseCli(["hub", "--port", "8080"]);
 * console.assert(cli.mode === "hub" && cli.port === "8080");
 * ```
 * @throws {UsageError} for an unknown mode, an unknown flag, a missing value or a stray word
 */
export function parseCli(argv: string[]): Cli {
  const first = argv[0];
  let mode: Mode = "start";
  let rest = argv;
  if (first !== undefined && !first.startsWith("-")) {
    if (!(MODES as readonly string[]).includes(first)) {
      const near = closest(first, MODES);
      throw new UsageError(
        `Unknown mode '${first}': ${near ? `did you mean '${near}'?` : `use ${MODES.join(", ")}`}` +
          " (see --help)",
      );
    }
    mode = first as Mode;
    rest = argv.slice(1);
  }
  const flags = FLAGS[mode];
  const options = Object.fromEntries(
    flags.map((
      f,
    ) => [f.name, { type: f.value ? "string" : "boolean", ...(f.short ? { short: f.short } : {}) }]),
  ) as Record<string, { type: "string" | "boolean"; short?: string }>;
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({ args: rest, options, strict: true, allowPositionals: false }));
  } catch (e) {
    throw new UsageError(explain(e as Error & { code?: string }, mode, flags));
  }
  for (const f of flags) {
    const v = values[f.name];
    if (f.value && typeof v === "string" && (v === "" || v.startsWith("--"))) {
      throw new UsageError(`Option '--${f.name}' needs a value: ${f.value}`);
    }
  }
  return {
    mode,
    config: values.config as string | undefined,
    port: values.port as string | undefined,
    help: values.help === true,
    version: values.version === true,
  };
}

/** Turn parseArgs' multi-sentence messages into one line naming the culprit. */
function explain(e: Error & { code?: string }, mode: Mode, flags: Flag[]): string {
  const names = flags.map((f) => f.name);
  if (e.code === "ERR_PARSE_ARGS_UNKNOWN_OPTION") {
    const opt = /'([^']+)'/.exec(e.message)?.[1] ?? "?";
    const bare = opt.replace(/^-+/, "").replace(/=.*$/, "");
    if (bare === "port" && mode === "broker") {
      return "Unknown option '--port' for broker: the broker serves no HTTP port (use 'start' or 'hub')";
    }
    const near = closest(bare, names);
    return `Unknown option '${opt}'${near ? `: did you mean '--${near}'?` : ` for ${mode} (see --help)`}`;
  }
  if (e.code === "ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL") {
    const word = /'([^']+)'/.exec(e.message)?.[1] ?? "?";
    return `Unexpected argument '${word}': ${mode} takes no words, only options (see --help)`;
  }
  if (e.code === "ERR_PARSE_ARGS_INVALID_OPTION_VALUE") {
    const opt = /--([a-z-]+)/.exec(e.message)?.[1];
    const f = flags.find((x) => x.name === opt);
    return f?.value ? `Option '--${f.name}' needs a value: ${f.value}` : `Option '--${opt}' takes no value`;
  }
  return `Cannot parse the command line: ${e.message.split("\n")[0]}`;
}
