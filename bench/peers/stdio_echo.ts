/**
 * Peer for the capability-call bench's transport row: echoes stdin to stdout the way a sandbox
 * process speaks (plain `Deno.stdin.read`, `Deno.stdout.writeSync`, no permission needed).
 * `deno run bench/peers/stdio_echo.ts`.
 *
 * @module
 */
const buf = new Uint8Array(64 * 1024);
for (let n = await Deno.stdin.read(buf); n !== null; n = await Deno.stdin.read(buf)) {
  const data = buf.subarray(0, n);
  let off = 0;
  while (off < data.length) off += Deno.stdout.writeSync(data.subarray(off));
}
