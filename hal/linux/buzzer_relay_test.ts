import assert from "node:assert/strict";
import type { GpioChip, GpioOutputLine } from "../gpio.ts";
import { LinuxBuzzerRelay } from "./buzzer_relay.ts";

function fakeChip(log: string[]): GpioChip {
  const unused = () => {
    throw new Error("unused");
  };
  return {
    name: "fake",
    lines: 28,
    requestOutput(line: number, _c: string, initial: boolean): GpioOutputLine {
      log.push(`request ${line} ${initial ? 1 : 0}`);
      let value = initial;
      return {
        line,
        get value() {
          return value;
        },
        write: (v) => {
          value = v;
          log.push(`write ${v ? 1 : 0}`);
        },
        release: () => void log.push("release"),
      };
    },
    requestInput: unused,
    requestEdge: unused,
    close: () => {},
  };
}

Deno.test("LinuxBuzzerRelay drives the relay line active low, requested once", () => {
  const log: string[] = [];
  const buzzer = new LinuxBuzzerRelay(() => fakeChip(log), 17);
  assert.deepEqual(log, []); // lazy
  buzzer.on(true);
  assert.equal(buzzer.sounding, true);
  buzzer.on(false);
  assert.equal(buzzer.sounding, false);
  buzzer.close();
  assert.deepEqual(log, ["request 17 1", "write 0", "write 1", "write 1", "release"]);
});
