/**
 * Last in the kernel suite (the glob sorts it last): print what ran on what, from the rows the
 * other kernel files recorded with `proven()`. It fails when a file recorded nothing, so a
 * silently skipped path shows up as a failure rather than a missing row.
 */
import assert from "node:assert/strict";
import { provenFile, type ProvenRow } from "./proven.ts";

Deno.test("kernel suite: what ran on what", () => {
  let rows: ProvenRow[] = [];
  try {
    rows = Deno.readTextFileSync(provenFile()).trim().split("\n").filter(Boolean).map((l) => JSON.parse(l));
  } catch { /* no rows */ }
  const cols = ["adapter", "driver", "functionality", "proven"] as const;
  const width = cols.map((c) => Math.max(c.length, ...rows.map((r) => r[c].length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(width[i])).join(" | ")} |`;
  console.log(
    [
      "what ran on what (real kernel drivers under QEMU):",
      line([...cols]),
      `|${width.map((w) => "-".repeat(w + 2)).join("|")}|`,
      ...rows.map((r) => line(cols.map((c) => r[c]))),
    ].join("\n"),
  );
  const drivers = rows.map((r) => r.driver).join(" ");
  for (const d of ["i2c-stub", "i2c-piix4", "i2c-tiny-usb", "main.ts broker", "gpio-viperboard", "cp210x"]) {
    assert.match(drivers, new RegExp(d), `no row for ${d}`);
  }
});
