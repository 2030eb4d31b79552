/**
 * Floor peer for the capability-call bench: connects to the Unix socket given as the first
 * argument and echoes every newline-terminated frame back, with raw `read`/`write` (no streams,
 * no JSON). `deno run --allow-all bench/peers/unix_echo.ts <socket>`.
 *
 * @module
 */
const conn = await Deno.connect({ transport: "unix", path: Deno.args[0] });
const buf = new Uint8Array(64 * 1024);
for (;;) {
  const n = await conn.read(buf);
  if (n === null) break;
  let off = 0;
  while (off < n) off += await conn.write(buf.subarray(off, n));
}
