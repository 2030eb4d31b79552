/**
 * The MQTT bridge against a real Mosquitto (password file, persistence) and the real service as a
 * child process: readings on the documented topics, Home Assistant discovery checked against HA's
 * documented schema, commands from HA through the command path, availability by Last Will, and a
 * Mosquitto restart that loses nothing beyond what is reported. `mosquitto_sub` is the independent
 * reader of the first test.
 *
 * @module
 */
import assert from "node:assert/strict";
import mqtt from "mqtt";
import { startMosquitto } from "./_mosquitto.ts";
import { ROOT, startService, waitFor } from "./e2e/_helpers.ts";

const USER = "ha";
const PASSWORD = "s3cret-pass";

function toml(dir: string, node: string, url: string, extra = ""): string {
  return `[polling]\ninterval_seconds = 0.5\n\n[cluster]\nnode_id = "${node}"\n\n` +
    `[shm]\nbackend = "file"\nfile_dir = "${dir}/shm"\n\n[hub]\nhost = "127.0.0.1"\ntoken = "mq-token"\n\n` +
    `[buzzer]\nmin_interval_ms = 0\n\n[state]\ndir = "${dir}"\n\n` +
    `[mqtt]\nurl = "${url}"\nusername = "${USER}"\npassword = "${PASSWORD}"\nhomeassistant = true\ntoken = "mq-token"\n${extra}`;
}

/** `mosquitto_sub -v` for `seconds`: topic → last payload. */
async function subscribeAll(port: number, topics: string[], seconds: number): Promise<Map<string, string>> {
  const out = await new Deno.Command("mosquitto_sub", {
    args: [
      "-h",
      "127.0.0.1",
      "-p",
      String(port),
      "-u",
      USER,
      "-P",
      PASSWORD,
      "-v",
      "-W",
      String(seconds),
      ...topics
        .flatMap((t) => ["-t", t]),
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const seen = new Map<string, string>();
  for (const line of new TextDecoder().decode(out.stdout).split("\n")) {
    const space = line.indexOf(" ");
    if (space > 0) seen.set(line.slice(0, space), line.slice(space + 1));
    else if (line) seen.set(line, "");
  }
  return seen;
}

/**
 * Home Assistant's MQTT discovery schema, as documented for the entity kinds we announce, and the
 * device class and unit each first-party field must carry (units: HA's allowed units per class).
 */
const HA_UNITS: Record<string, string[]> = {
  temperature: ["°C", "°F", "K"],
  humidity: ["%"],
  atmospheric_pressure: ["cbar", "bar", "hPa", "mmHg", "inHg", "kPa", "mbar", "Pa", "psi"],
  data_size: ["bit", "kbit", "Mbit", "Gbit", "B", "kB", "MB", "GB", "TB", "KiB", "MiB", "GiB", "TiB"],
  duration: ["d", "h", "min", "s", "ms"],
};
const REQUIRED: Record<string, string[]> = {
  sensor: ["name", "unique_id", "state_topic", "availability", "device"],
  button: ["name", "unique_id", "command_topic", "availability", "device"],
  light: ["name", "unique_id", "command_topic", "state_topic", "schema", "availability", "device"],
  text: ["name", "unique_id", "command_topic", "state_topic", "availability", "device"],
};
/** sensor_field → [device_class | null, unit | null, state_class | null]. */
const FIRST_PARTY: Record<string, [string | null, string | null, string | null]> = {
  bme680_temperature: ["temperature", "°C", "measurement"],
  bme680_humidity: ["humidity", "%", "measurement"],
  bme680_pressure: ["atmospheric_pressure", "hPa", "measurement"],
  bme680_gas_resistance: [null, "Ω", "measurement"],
  bme680_iaq: [null, "IAQ", "measurement"],
  bme680_iaq_status: [null, null, null],
  dht22_temperature: ["temperature", "°C", "measurement"],
  dht22_humidity: ["humidity", "%", "measurement"],
  dht22_alarm: [null, null, null],
  system_cpu_temp: ["temperature", "°C", "measurement"],
  system_cpu_usage: [null, "%", "measurement"],
  system_memory_used_mb: ["data_size", "MiB", "measurement"],
  system_memory_total_mb: ["data_size", "MiB", "measurement"],
  system_uptime_seconds: ["duration", "s", "measurement"],
  anima_warmth: [null, null, "measurement"],
  anima_name: [null, null, null],
  anima_awakenings: [null, null, "total_increasing"],
};

async function withClient<T>(url: string, id: string, fn: (c: mqtt.MqttClient) => Promise<T>): Promise<T> {
  const c = await mqtt.connectAsync(url, {
    username: USER,
    password: PASSWORD,
    clientId: id,
    reconnectPeriod: 0,
  });
  try {
    return await fn(c);
  } finally {
    await c.endAsync();
  }
}

async function events(url: string, type: string): Promise<{ data: Record<string, unknown> }[]> {
  const res = await fetch(`${url}/api/events?type=${type}&limit=50`, {
    headers: { authorization: "Bearer mq-token" },
  });
  return (await res.json()).events;
}

Deno.test({
  name:
    "MQTT: readings on the documented topics, HA discovery per its schema, HA commands reach the hardware",
  sanitizeResources: false,
  fn: async () => {
    const broker = await startMosquitto({ [USER]: PASSWORD });
    const dir = await Deno.makeTempDir({ prefix: "harvester-mqtt-svc-" });
    const node = "mq-hub";
    // An admin token (audit events are for admins), made with the CLI before the hub starts.
    await Deno.writeTextFile(`${dir}/cli.toml`, toml(dir, node, broker.url));
    const made = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        "main.ts",
        "token",
        "create",
        "auditor",
        "--scope",
        "admin",
        "--config",
        `${dir}/cli.toml`,
      ],
      cwd: ROOT,
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.ok(made.success, new TextDecoder().decode(made.stderr));
    const admin = new TextDecoder().decode(made.stdout).trim();
    const svc = await startService({ name: "mqtt", toml: toml(dir, node, broker.url) });
    try {
      await waitFor("the bridge's connect line", () => svc.output().includes("MQTT connected"), 15_000);
      await waitFor("all four first-party sensors on the hub", async () => {
        const { readings } =
          await (await fetch(`${svc.url}/api/readings`, { headers: { authorization: "Bearer mq-token" } }))
            .json();
        return ["bme680", "dht22", "system", "anima"].every((s) =>
          readings.some((r: { id: string }) => r.id === `${node}:${s}`)
        );
      }, 20_000);
      const seen = await subscribeAll(broker.port, ["harvester/#", "homeassistant/#"], 4);

      // States: JSON with every field and the reading's timestamp.
      for (const sensor of ["bme680", "dht22", "system", "anima"]) {
        const payload = seen.get(`harvester/${node}/${sensor}/state`);
        assert.ok(payload, `no state for ${sensor}: ${[...seen.keys()].join(", ")}`);
        const state = JSON.parse(payload);
        assert.match(state.timestamp, /^\d{4}-\d\d-\d\dT/);
      }
      const bme = JSON.parse(seen.get(`harvester/${node}/bme680/state`)!);
      assert.ok(bme.temperature > 10 && bme.temperature < 35 && bme.pressure > 900, JSON.stringify(bme));
      assert.equal(seen.get(`harvester/${node}/availability`), "online");

      // Discovery: valid JSON with HA's required keys, and the right class and unit per field.
      const configs = [...seen].filter(([t]) => t.startsWith("homeassistant/") && t.endsWith("/config"));
      for (const [topic, payload] of configs) {
        const kind = topic.split("/")[1];
        const c = JSON.parse(payload);
        for (const key of REQUIRED[kind] ?? []) assert.ok(key in c, `${topic} lacks ${key}`);
        assert.deepEqual(c.device.identifiers, [`harvester_${node}`]);
        assert.equal(c.device.manufacturer, "HARVESTER");
        assert.ok(c.device.sw_version, "sw_version");
        for (const a of c.availability) assert.match(a.topic, /^harvester\/[a-z0-9-]+\/availability$/);
        if (c.device_class) {
          assert.ok(
            HA_UNITS[c.device_class],
            `${topic}: device_class ${c.device_class} is not one we checked`,
          );
          assert.ok(
            HA_UNITS[c.device_class].includes(c.unit_of_measurement),
            `${topic}: unit ${c.unit_of_measurement}`,
          );
        }
      }
      for (const [object, [cls, unit, stateClass]] of Object.entries(FIRST_PARTY)) {
        const payload = seen.get(`homeassistant/sensor/${node}/${object}/config`);
        assert.ok(payload, `no discovery for ${object}`);
        const c = JSON.parse(payload);
        assert.equal(c.device_class ?? null, cls, `${object} device_class`);
        assert.equal(c.unit_of_measurement ?? null, unit, `${object} unit`);
        assert.equal(c.state_class ?? null, stateClass, `${object} state_class`);
        assert.equal(c.state_topic, `harvester/${node}/${object.split("_")[0]}/state`);
        assert.match(c.value_template, /^\{\{ value_json\.[a-z_]+ \}\}$/);
      }
      for (const p of ["single", "triple", "long"]) {
        const c = JSON.parse(seen.get(`homeassistant/button/${node}/buzzer_${p}/config`)!);
        assert.equal(c.payload_press, p);
        assert.equal(c.command_topic, `harvester/${node}/buzzer/set`);
      }
      const led = JSON.parse(seen.get(`homeassistant/light/${node}/led_3/config`)!);
      assert.deepEqual([led.schema, led.supported_color_modes], ["json", ["rgb"]]);
      assert.ok(seen.has(`homeassistant/text/${node}/name/config`), "the name as a text entity");

      // Commands from HA go through the command path and are audited.
      await withClient(broker.url, "test-ha", async (c) => {
        await c.publishAsync(`harvester/${node}/buzzer/set`, "single", { qos: 1 });
        await c.publishAsync(
          `harvester/${node}/led/7/set`,
          JSON.stringify({ state: "ON", color: { r: 0, g: 0, b: 255 } }),
          {
            qos: 1,
          },
        );
        await c.publishAsync(`harvester/${node}/buzzer/set`, "siren", { qos: 1 });
      });
      await waitFor(
        "the buzzer played in the sim",
        async () => (await events(svc.url, "buzzer")).length > 0,
        10_000,
      );
      await waitFor("LED 7 blue", async () => {
        const { nodes } =
          await (await fetch(`${svc.url}/api/nodes`, { headers: { authorization: "Bearer mq-token" } }))
            .json();
        return nodes.find((n: { id: string }) => n.id === node)?.leds[7] === "#0000ff";
      }, 10_000);
      // LEDs 1-3 are the plugins' (permissions.toml); 7 is free for the user.
      const audit = await waitFor("the audit of HA's commands", async () => {
        const e = (await events(svc.url, "command")).filter((x) =>
          (x as { type?: string }).type === "command"
        );
        return e.length >= 2 ? e : null;
      }, 10_000);
      assert.ok(audit!.every((e) => e.data.by === `mqtt:harvester-${node}`), JSON.stringify(audit));
      // …and, like REST, audited as the bridge's own token (hub.token here: read + act).
      const audits = await waitFor("the audit of HA's commands", async () => {
        const res = await fetch(`${svc.url}/api/events?type=audit.&limit=50`, {
          headers: { authorization: `Bearer ${admin}` },
        });
        const e = ((await res.json()).events as { type: string; data: Record<string, unknown> }[])
          .filter((x) => x.data.via === "mqtt");
        return e.length >= 2 ? e : null;
      }, 10_000);
      assert.ok(audits!.some((e) => e.type === "audit.buzzer" && e.data.ok === true), JSON.stringify(audits));
      assert.ok(audits!.every((e) => /^token:/.test(String(e.data.actor))), JSON.stringify(audits));
      const refused = await events(svc.url, "command.refused");
      assert.match(String(refused[0]?.data.reason), /buzzer pattern must be single, triple or long/);
      const ledState = await subscribeAll(broker.port, [`harvester/${node}/led/7/state`], 2);
      assert.deepEqual(JSON.parse(ledState.get(`harvester/${node}/led/7/state`)!).color, {
        r: 0,
        g: 0,
        b: 255,
      });
      // /health shows the bridge: ok while connected, degraded (not down: the node still works) when away.
      const mqttHealth = async () => (await (await fetch(`${svc.url}/health`)).json()).components?.mqtt;
      assert.equal((await mqttHealth())?.status, "ok");
      await broker.stop();
      const away = await waitFor("mqtt degraded in /health", async () => {
        const m = await mqttHealth();
        return m?.status === "degraded" ? m : null;
      }, 15_000);
      assert.ok(away!.reason, "with the reason");
      assert.equal((await fetch(`${svc.url}/health`)).status, 200, "the node can still do its job");
    } finally {
      await svc.stop();
      await broker.close();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
    // A clean stop says offline itself (no Last Will is sent then).
  },
});

Deno.test({
  name: "MQTT: availability flips to offline by Last Will when the broker process is killed, and back",
  sanitizeResources: false,
  fn: async () => {
    const broker = await startMosquitto({ [USER]: PASSWORD });
    const dir = await Deno.makeTempDir({ prefix: "harvester-mqtt-svc-" });
    const node = "mq-spoke";
    const config = toml(dir, node, broker.url);
    const watch = mqtt.connect(broker.url, { username: USER, password: PASSWORD, clientId: "watch" });
    const seen: string[] = [];
    watch.on("message", (_t, p) => seen.push(new TextDecoder().decode(p)));
    await new Promise<void>((r) => watch.on("connect", () => r()));
    await watch.subscribeAsync(`harvester/${node}/availability`, { qos: 1 });
    let svc = await startService({ name: "mqtt-lwt", mode: "broker", toml: config, waitHealth: false });
    try {
      await waitFor("online", () => seen.at(-1) === "online", 20_000);
      await svc.stop(true); // SIGKILL: no goodbye, only the Last Will
      await waitFor("offline by Last Will", () => seen.at(-1) === "offline", 15_000);
      svc = await startService({ name: "mqtt-lwt2", mode: "broker", toml: config, waitHealth: false });
      await waitFor("online again", () => seen.at(-1) === "online", 20_000);
      assert.deepEqual(seen.filter((v, i) => v !== seen[i - 1]), ["online", "offline", "online"]);
    } finally {
      await svc.stop();
      await watch.endAsync();
      await broker.close();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  },
});

Deno.test({
  name:
    "MQTT: a Mosquitto restart loses no event beyond what the bridge reports, and a bad password is one line",
  sanitizeResources: false,
  fn: async () => {
    const broker = await startMosquitto({ [USER]: PASSWORD });
    const dir = await Deno.makeTempDir({ prefix: "harvester-mqtt-svc-" });
    const node = "mq-restart";
    const config = toml(dir, node, broker.url, "events = true\nbuffer_max = 5\nqos = 1\n");
    // A persistent session: Mosquitto keeps what arrives for it across its own restart.
    const reader = mqtt.connect(broker.url, {
      username: USER,
      password: PASSWORD,
      clientId: "restart-reader",
      clean: false,
      reconnectPeriod: 300,
    });
    reader.on("error", () => {});
    const seqs = new Set<number>();
    let reported = 0;
    reader.on("message", (_t, p) => {
      const e = JSON.parse(new TextDecoder().decode(p));
      seqs.add(e.seq);
      if (e.type === "mqtt.dropped") reported += e.data.events;
    });
    await new Promise<void>((r) => reader.once("connect", () => r()));
    await reader.subscribeAsync(`harvester/${node}/events/#`, { qos: 1 });
    const svc = await startService({ name: "mqtt-restart", mode: "broker", toml: config, waitHealth: false });
    try {
      await waitFor("events over MQTT", () => seqs.size > 10, 20_000);
      await broker.stop();
      await new Promise((r) => setTimeout(r, 3000)); // ~6 cycles of events, more than the buffer holds
      await broker.start();
      await waitFor("the bridge back", () => /MQTT at .* is back after/.test(svc.output()), 30_000);
      await waitFor("the loss reported", () => reported > 0, 15_000);
      const settled = Math.max(...seqs) + 20;
      await waitFor("20 more events", () => Math.max(...seqs) >= settled, 20_000);
      const max = Math.max(...seqs);
      const min = Math.min(...seqs);
      let missing = 0;
      for (let s = min; s <= max; s++) if (!seqs.has(s)) missing++;
      assert.ok(missing > 0, "the outage outlasted the buffer, so something was lost");
      assert.equal(missing, reported, `lost ${missing} events, the bridge reported ${reported}`);
      assert.equal(svc.output().match(/connection lost/g)?.length, 1, "one line when it goes");
      assert.equal(svc.output().match(/is back after/g)?.length, 1, "one line when it returns");
    } finally {
      await svc.stop();
      await reader.endAsync(true);
    }
    // Refused credentials: one clear line, however often the bridge retries.
    const bad = await startService({
      name: "mqtt-badpw",
      mode: "broker",
      toml: toml(dir, "mq-badpw", broker.url).replace(PASSWORD, "wrong"),
      waitHealth: false,
    });
    try {
      await waitFor(
        "the refusal",
        () => svc.output() !== null && bad.output().includes("Cannot use MQTT"),
        15_000,
      );
      await new Promise((r) => setTimeout(r, 3000));
      const lines = bad.output().split("\n").filter((l) => l.includes("Cannot use MQTT"));
      assert.equal(lines.length, 1, lines.join("\n"));
      assert.match(
        lines[0],
        /Cannot use MQTT at mqtt:\/\/127\.0\.0\.1:\d+: not authorized — check \[mqtt\] username and password/,
      );
    } finally {
      await bad.stop();
      await broker.close();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  },
});
