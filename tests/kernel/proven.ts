/**
 * The kernel suite's record of what ran on what: each kernel test file appends a row once its
 * checks passed, and `zz_table_kernel.ts` (last in the glob) prints them as a table, so the
 * output says at a glance which paths went through real kernel drivers.
 *
 * @module
 */

/** One proven path. */
export interface ProvenRow {
  /** The device the kernel drove (an emulated chip, an emulated USB adapter). */
  adapter: string;
  /** The kernel driver(s) in the path. */
  driver: string;
  /** What the kernel reported the adapter can do. */
  functionality: string;
  /** The kinds of transfer / operation hal/linux completed through it. */
  proven: string;
}

/** Where the rows go (the guest's writable scratch). */
export function provenFile(): string {
  return `${Deno.env.get("TMPDIR") ?? "/tmp"}/harvester_kernel_proven.jsonl`;
}

/** Record a proven path. */
export function proven(row: ProvenRow): void {
  Deno.writeTextFileSync(provenFile(), `${JSON.stringify(row)}\n`, { append: true });
}
