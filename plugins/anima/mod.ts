/**
 * Anima plugin (reference 000): the node as a creature. From each snapshot it derives four
 * feelings in 0..1 — warmth (room and CPU temperature), clarity (air quality), stability
 * (how little the readings varied over recent updates), presence (recent activity) — and
 * keeps an identity (creature id made once, a name, and awakenings counted at every start)
 * in the persisted state.
 *
 * Exports `update(snapshot)`, `poll()` (sensor `anima`) and the `set_name` command.
 *
 * @module
 */
import { definePlugin, type PluginContext, type Reading, type SnapshotView } from "../sdk/mod.ts";

/** The four feelings. */
export interface Feelings {
  warmth: number;
  clarity: number;
  stability: number;
  presence: number;
}

/** Who the creature is. */
export interface Identity {
  creature_id: string;
  name: string;
  awakenings: number;
}

/** State key of the identity. */
export const IDENTITY_KEY = "identity";
/** Name a newborn creature gets. */
export const DEFAULT_NAME = "Anima";
/** Updates the stability window holds. */
export const WINDOW = 20;
/** Half-life of activity, ms. */
export const ACTIVITY_HALF_LIFE_MS = 5 * 60_000;
/** A reading older than this (relative to the snapshot) does not count as present. */
export const FRESH_MS = 60_000;

const clamp01 = (v: number) => Math.min(1, Math.max(0, v));
const round3 = (v: number) => Math.round(v * 1000) / 1000;

/**
 * A creature id: `crypto.randomUUID()` where the sandbox has it, else a v4-shaped id from
 * `Math.random` and the clock (a name, not a secret, so that is enough).
 */
export function makeCreatureId(now: number): string {
  const c = (globalThis as { crypto?: { randomUUID?: () => string } }).crypto;
  if (typeof c?.randomUUID === "function") return c.randomUUID();
  const hex = Array.from({ length: 32 }, (_, i) => {
    const r = i < 8
      ? (Math.floor(now / 16 ** i) + Math.floor(Math.random() * 16)) % 16
      : Math.floor(Math.random() * 16);
    return (i === 12 ? 4 : i === 16 ? (r & 0x3) | 0x8 : r).toString(16);
  }).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/**
 * Check a new name: 1..32 printable characters (no control characters), not only spaces.
 *
 * @throws {TypeError} when it is not a string
 * @throws {RangeError} naming what is wrong otherwise
 */
export function validateName(name: unknown): string {
  if (typeof name !== "string") {
    throw new TypeError(
      `Cannot set name: "name" must be a string, got ${name === null ? "null" : typeof name}`,
    );
  }
  const trimmed = name.trim();
  const length = [...trimmed].length;
  if (length < 1 || length > 32) {
    throw new RangeError(`Cannot set name: "name" must be 1..32 characters, got ${length}`);
  }
  // Printable: no C0/C1 controls, no line or paragraph separators.
  const control = (c: number) => c < 0x20 || (c >= 0x7f && c <= 0x9f) || c === 0x2028 || c === 0x2029;
  if ([...trimmed].some((ch) => control(ch.codePointAt(0)!))) {
    throw new RangeError(`Cannot set name: "name" must contain printable characters only`);
  }
  return trimmed;
}

function isIdentity(v: unknown): v is Identity {
  const i = v as Identity;
  return typeof i === "object" && i !== null && typeof i.creature_id === "string" &&
    i.creature_id.length > 0 &&
    typeof i.name === "string" && Number.isInteger(i.awakenings) && i.awakenings >= 0;
}

type Values = Record<string, unknown>;

function find(snapshot: SnapshotView, sensor: string): Values | undefined {
  return snapshot.readings[`${snapshot.node}:${sensor}`]?.values ??
    Object.entries(snapshot.readings).find(([id]) => id.endsWith(`:${sensor}`))?.[1].values;
}

const numberOf = (v: unknown) => typeof v === "number" && Number.isFinite(v) ? v : null;

/** What one snapshot says about the room. */
interface Sample {
  roomC: number | null;
  humidity: number | null;
  cpuC: number | null;
  iaq: number | null;
}

function sample(snapshot: SnapshotView): Sample {
  const dht = find(snapshot, "dht22");
  const bme = find(snapshot, "bme680");
  const calibrating = bme?.iaq_status === "calibrating";
  return {
    roomC: numberOf(dht?.temperature) ?? numberOf(bme?.temperature),
    humidity: numberOf(dht?.humidity) ?? numberOf(bme?.humidity),
    cpuC: numberOf(find(snapshot, "system")?.cpu_temp),
    iaq: calibrating ? null : numberOf(bme?.iaq),
  };
}

/** Standard deviation of the non-null values, or null with fewer than two. */
function spread(values: (number | null)[]): number | null {
  const xs = values.filter((v): v is number => v !== null);
  if (xs.length < 2) return null;
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  return Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / xs.length);
}

/** Warmth: a room from 15 °C (0) to 30 °C (1) weighs 70 %, a CPU from 40 °C to 80 °C 30 %. */
export function warmthOf(roomC: number | null, cpuC: number | null): number {
  const room = roomC === null ? null : clamp01((roomC - 15) / 15);
  const cpu = cpuC === null ? null : clamp01((cpuC - 40) / 40);
  if (room === null && cpu === null) return 0.5;
  if (room === null) return cpu!;
  if (cpu === null) return room;
  return 0.7 * room + 0.3 * cpu;
}

/** Clarity: IAQ 0 is perfectly clear, 300 and above is fog; unknown IAQ is neutral. */
export function clarityOf(iaq: number | null): number {
  return iaq === null ? 0.5 : clamp01(1 - iaq / 300);
}

/**
 * Stability: 1 minus the mean of each quantity's spread over its "restless" scale
 * (1.5 °C room, 7.5 %RH, 7.5 °C CPU, 50 IAQ); 1 when too few samples to tell.
 */
export function stabilityOf(window: readonly Sample[]): number {
  const parts = [
    [spread(window.map((s) => s.roomC)), 1.5],
    [spread(window.map((s) => s.humidity)), 7.5],
    [spread(window.map((s) => s.cpuC)), 7.5],
    [spread(window.map((s) => s.iaq)), 50],
  ].filter(([sd]) => sd !== null) as [number, number][];
  if (parts.length === 0) return 1;
  return clamp01(1 - parts.reduce((a, [sd, scale]) => a + sd / scale, 0) / parts.length);
}

function changed(a: Sample, b: Sample): boolean {
  const moved = (x: number | null, y: number | null, d: number) =>
    (x === null) !== (y === null) || (x !== null && Math.abs(x - y!) >= d);
  return moved(a.roomC, b.roomC, 0.1) || moved(a.humidity, b.humidity, 0.5) || moved(a.cpuC, b.cpuC, 1) ||
    moved(a.iaq, b.iaq, 2);
}

/** A fresh plugin instance (its own identity, window and activity). */
export function createAnimaPlugin() {
  let identity: Identity | null = null;
  let feelings: Feelings = { warmth: 0.5, clarity: 0.5, stability: 1, presence: 0 };
  const window: Sample[] = [];
  let activity = 0;
  let activityAt = 0;

  /** Add an impulse of activity, decaying what was there with the half-life. */
  function stir(now: number, amount: number): void {
    activity = activity * 0.5 ** (Math.max(0, now - activityAt) / ACTIVITY_HALF_LIFE_MS) + amount;
    activityAt = now;
  }

  async function save(ctx: PluginContext): Promise<void> {
    await ctx.state?.set(IDENTITY_KEY, identity);
  }

  return definePlugin({
    async init(ctx: PluginContext) {
      const saved = await ctx.state?.get(IDENTITY_KEY);
      if (saved !== undefined && !isIdentity(saved)) ctx.log.warn("Discarding a malformed saved identity");
      if (!ctx.state) ctx.log.warn("No state capability: identity and awakenings will not persist");
      const base = isIdentity(saved)
        ? saved
        : { creature_id: makeCreatureId(ctx.clock.now()), name: DEFAULT_NAME, awakenings: 0 };
      identity = { ...base, awakenings: base.awakenings + 1 };
      await save(ctx);
      stir(ctx.clock.now(), 1); // waking up is activity
      ctx.log.info(`${identity.name} awakens (awakening ${identity.awakenings})`);
    },

    update(ctx: PluginContext, snapshot: SnapshotView) {
      const now = ctx.clock.now();
      const s = sample(snapshot);
      const previous = window.at(-1);
      window.push(s);
      if (window.length > WINDOW) window.shift();
      if (previous && changed(previous, s)) stir(now, 0.5);
      else stir(now, 0);
      const snapAt = Date.parse(snapshot.timestamp);
      const others = Object.entries(snapshot.readings).filter(([id]) => !id.endsWith(":anima"));
      const fresh = others.filter(([, r]) => snapAt - Date.parse(r.timestamp) <= FRESH_MS).length;
      const freshness = others.length ? fresh / others.length : 0;
      feelings = {
        warmth: round3(warmthOf(s.roomC, s.cpuC)),
        clarity: round3(clarityOf(s.iaq)),
        stability: round3(stabilityOf(window)),
        presence: round3(clamp01(0.3 * freshness + 0.7 * (1 - Math.exp(-activity)))),
      };
    },

    poll(ctx: PluginContext): Reading[] {
      if (!identity) throw new Error(`Cannot poll plugin "${ctx.id}": init() has not completed`);
      return [{
        sensor: "anima",
        values: { ...feelings, ...identity },
        timestamp: ctx.clock.now(),
      }];
    },

    async command(ctx: PluginContext, name: string, args: Record<string, unknown>) {
      if (name !== "set_name") {
        throw new RangeError(`Cannot run command "${name}" on plugin "anima": unknown command`);
      }
      if (!identity) throw new Error(`Cannot set name: init() has not completed`);
      const next = validateName(args?.name);
      identity = { ...identity, name: next };
      await save(ctx);
      stir(ctx.clock.now(), 1); // being named is attention
      ctx.log.info(`Now called ${next}`);
      return { ...identity };
    },
  });
}

export default createAnimaPlugin();
