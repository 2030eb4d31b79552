/**
 * The recorder's one writer, in a worker thread: SQLite commits, WAL checkpoints, rollups and
 * pruning run here, so the hub's event loop only hands over each batch. Messages in:
 * `open` {options}, `record` {readings, lastEventId}, `close`; out: `state`, `log`, `closed`.
 *
 * @module
 */
import { Recorder, type RecorderOptions } from "./recorder.ts";
import type { ReadingRecord } from "../shm/snapshot.ts";

type In =
  | { t: "open"; options: Omit<RecorderOptions, "log" | "now"> }
  | { t: "record"; readings: ReadingRecord[]; lastEventId?: string }
  | { t: "close" };

const self = globalThis as unknown as {
  postMessage(m: unknown): void;
  onmessage: ((e: MessageEvent<In>) => void) | null;
  close(): void;
};

let rec: Recorder | null = null;
let last = "";

function report(): void {
  if (!rec) return;
  const s = rec.status();
  const key = `${s.state}|${s.reason}`;
  if (key === last) return;
  last = key;
  self.postMessage({ t: "state", state: s.state, reason: s.reason, since: s.since });
}

self.onmessage = (e) => {
  const m = e.data;
  try {
    if (m.t === "open") {
      rec = new Recorder({
        ...m.options,
        log: (level, message) => self.postMessage({ t: "log", level, message }),
      });
      report();
    } else if (m.t === "record") {
      rec?.record(m.readings, m.lastEventId);
      report();
    } else if (m.t === "close") {
      rec?.close();
      rec = null;
      self.postMessage({ t: "closed" });
      self.close();
    }
  } catch (err) {
    self.postMessage({
      t: "log",
      level: "error",
      message: `history writer: ${(err as Error).message ?? err}`,
    });
    self.postMessage({ t: "state", state: "degraded", reason: `not recording: ${(err as Error).message}` });
  }
};
