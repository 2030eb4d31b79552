/**
 * `GET /api/events`: a page of the event log, capped in bytes as well as count, with a
 * continuation cursor, and a 503 naming the reason when the log (Redis) cannot answer.
 *
 * @module
 */
import type { Context } from "hono";
import type { EventEnvelope, EventLog } from "../events/mod.ts";
import { validate } from "./errors.ts";
import { eventsQuery } from "./schemas.ts";

/** Default byte cap of one answer. */
export const EVENTS_ANSWER_MAX_BYTES = 1024 * 1024;

/** One page: the events that fit, and where to continue (`since=next`) when more matched. */
export interface EventsPage {
  events: EventEnvelope[];
  /** The last id returned when the answer was cut at its byte cap; null when complete. */
  next: string | null;
  truncated: boolean;
}

/**
 * Cut `events` (oldest first) to `maxBytes` of JSON. The first event is always kept so a
 * cursor always moves on (emitted events are far below any sane cap).
 */
export function capPage(events: EventEnvelope[], maxBytes: number): EventsPage {
  let bytes = 2;
  let n = 0;
  for (const e of events) {
    const size = JSON.stringify(e).length + 1;
    if (n > 0 && bytes + size > maxBytes) break;
    bytes += size;
    n++;
  }
  const truncated = n < events.length;
  return { events: events.slice(0, n), next: truncated ? (events[n - 1]?.id ?? null) : null, truncated };
}

/**
 * Answer `/api/events` from `log`.
 *
 * @param maxBytes byte cap of the answer
 * @param onUnavailable told the reason when the log cannot be read (health)
 * @param visible which event types this caller may see (audit events are for admins)
 */
export async function eventsRoute(
  c: Context,
  log: EventLog,
  maxBytes = EVENTS_ANSWER_MAX_BYTES,
  onUnavailable?: (reason: string | null) => void,
  visible: (type: string) => boolean = () => true,
): Promise<Response> {
  const q = validate(eventsQuery, c.req.query(), "query");
  let events: EventEnvelope[];
  try {
    events = await log.query({
      since: q.since || undefined,
      type: q.type || undefined,
      limit: q.limit ?? 100,
    });
  } catch (e) {
    const message = String((e as Error)?.message ?? e);
    if (e instanceof TypeError || e instanceof RangeError) {
      const field = e instanceof TypeError ? "since" : "limit";
      return c.json({ error: `Cannot accept query: '${field}' ${message}`, field, problem: message }, 400);
    }
    onUnavailable?.(message);
    return c.json({ error: `Cannot read events: ${message}`, reason: message }, 503, { "retry-after": "5" });
  }
  onUnavailable?.(null);
  return c.json(capPage(events.filter((e) => visible(e.type)), maxBytes));
}
