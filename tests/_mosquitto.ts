/**
 * Test helper: a real Mosquitto broker on a free loopback port with a password file and
 * persistence in a temp dir (so persistent sessions survive a restart). `tests/setup.sh`
 * installs `mosquitto` and `mosquitto-clients`; nothing here fakes them.
 *
 * @module
 */
import { freePort } from "./_redis.ts";

/** Debian puts the broker in /usr/sbin, which a user's PATH may lack. */
const MOSQUITTO = (() => {
  try {
    return Deno.statSync("/usr/sbin/mosquitto").isFile ? "/usr/sbin/mosquitto" : "mosquitto";
  } catch {
    return "mosquitto";
  }
})();

/** A running mosquitto child. */
export interface Mosquitto {
  port: number;
  url: string;
  dir: string;
  /** SIGTERM (Mosquitto saves its sessions) and wait. */
  stop(): Promise<void>;
  /** Start again on the same port with the same sessions. */
  start(): Promise<void>;
  /** Stop for good and remove the temp dir. */
  close(): Promise<void>;
}

async function waitForPort(port: number, timeoutMs: number): Promise<void> {
  const until = performance.now() + timeoutMs;
  while (performance.now() < until) {
    try {
      (await Deno.connect({ hostname: "127.0.0.1", port })).close();
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 25));
    }
  }
  throw new Error(`Cannot reach mosquitto: nothing listens on 127.0.0.1:${port} after ${timeoutMs} ms`);
}

/** Start mosquitto with one user (`users` maps name → password). */
export async function startMosquitto(users: Record<string, string>, port = freePort()): Promise<Mosquitto> {
  const dir = await Deno.makeTempDir({ prefix: "harvester-mqtt-" });
  const pw = `${dir}/passwords`;
  await Deno.writeTextFile(pw, "");
  for (const [user, password] of Object.entries(users)) {
    const r = await new Deno.Command("mosquitto_passwd", {
      args: ["-b", pw, user, password],
      stderr: "piped",
    })
      .output();
    if (!r.success) throw new Error(`Cannot add MQTT user ${user}: ${new TextDecoder().decode(r.stderr)}`);
  }
  await Deno.writeTextFile(
    `${dir}/mosquitto.conf`,
    [
      `listener ${port} 127.0.0.1`,
      "allow_anonymous false",
      `password_file ${pw}`,
      "persistence true",
      `persistence_location ${dir}/`,
      "max_queued_messages 10000",
      `log_dest file ${dir}/mosquitto.log`,
      // As root Mosquitto would drop to the `mosquitto` user, who cannot read this private temp dir.
      ...(Deno.uid() === 0 ? ["user root"] : []),
      "",
    ].join("\n"),
  );
  let child: Deno.ChildProcess | null = null;
  const start = async () => {
    child = new Deno.Command(MOSQUITTO, {
      args: ["-c", `${dir}/mosquitto.conf`],
      stdout: "null",
      stderr: "null",
    })
      .spawn();
    await waitForPort(port, 5000);
  };
  const stop = async () => {
    const c = child as Deno.ChildProcess | null;
    child = null;
    if (!c) return;
    try {
      c.kill("SIGTERM");
    } catch { /* gone */ }
    await c.status;
  };
  await start();
  return {
    port,
    url: `mqtt://127.0.0.1:${port}`,
    dir,
    stop,
    start,
    close: async () => {
      await stop();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    },
  };
}
