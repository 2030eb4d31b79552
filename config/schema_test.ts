import assert from "node:assert/strict";
import { ConfigError } from "./errors.ts";
import { defaultConfig, hostNodeId, parseConfig, pluginConfig } from "./schema.ts";
import { parseToml } from "./_toml.ts";
import { closest } from "./_hint.ts";

const FILE = "config/host.toml";

/** Parse TOML text and assert the exact one-line error. */
function rejects(toml: string, message: string) {
  assert.throws(() => parseConfig(parseToml(toml, FILE), FILE), (e: unknown) => {
    assert.ok(e instanceof ConfigError, `expected ConfigError, got ${e}`);
    assert.equal(e.message, message);
    assert.ok(!e.message.includes("\n"), "one line");
    return true;
  });
}

Deno.test("defaultConfig() fills every section with the documented defaults", () => {
  const c = defaultConfig();
  assert.equal(c.polling.interval_seconds, 2);
  assert.deepEqual(c.hal, {
    backend: "sim",
    i2c_buses: [1],
    gpio_chip: 0,
    i2c_force: false,
    spi_bus: 0,
    uart_path: "/dev/serial0",
  });
  assert.deepEqual(c.leds, { count: 11, pin: 18, brightness: 0.3 });
  assert.deepEqual(c.buzzer, { pin: 17, active_low: true, min_interval_ms: 1000 });
  assert.deepEqual(c.logging, { level: "info", show_sensor_data: false, format: "text" });
  assert.equal(c.cluster.role, "standalone");
  assert.equal(c.cluster.node_id, hostNodeId(Deno.hostname()));
  assert.equal(c.shm.file_dir, undefined);
  assert.deepEqual(c.cluster.spoke_tokens, {});
  assert.equal(c.shm.backend, "auto");
  assert.equal(c.events.stream_maxlen, 10000);
  assert.deepEqual(c.hub, {
    port: 3000,
    host: "127.0.0.1",
    cors_origins: [],
    body_limit_bytes: 1_048_576,
    public_read: false,
    allowed_hosts: [],
    session_hours: 12,
    header_timeout_ms: 10_000,
    request_timeout_ms: 60_000,
    idle_timeout_ms: 30_000,
    max_connections_per_client: 32,
  });
  assert.equal(c.scheduler.hot_celsius, 75);
  assert.equal(c.scheduler.soft_celsius, 60);
  assert.deepEqual(c.sensors, { dht22_pin: 4, bme680_address: 0x77, oled_address: 0x3c });
  assert.deepEqual(c.plugins, {});
  assert.equal(c.state.dir, "state");
});

Deno.test("parseConfig() reads plugin tables with settings and pluginConfig() defaults absent ones", () => {
  const c = parseConfig(
    parseToml(
      `[plugins.bme680]\npriority = 0.9\nisolation = "process"\n[plugins.bme680.settings]\nburn_in_seconds = 60\n`,
      FILE,
    ),
    FILE,
  );
  assert.deepEqual(c.plugins.bme680, {
    enabled: true,
    priority: 0.9,
    isolation: "process",
    settings: { burn_in_seconds: 60 },
  });
  assert.deepEqual(pluginConfig(c, "oled"), { enabled: true, isolation: "shared", settings: {} });
  assert.equal(pluginConfig(c, "bme680").priority, 0.9);
});

Deno.test("parseConfig() accepts a spoke with hub_url and token, and a hub with spoke tokens", () => {
  const spoke = parseConfig(
    parseToml(
      `[cluster]\nrole = "spoke"\nnode_id = "pi-1"\nhub_url = "http://hub:3000"\ntoken = "t"\n`,
      FILE,
    ),
    FILE,
  );
  assert.equal(spoke.cluster.hub_url, "http://hub:3000");
  const hub = parseConfig(
    parseToml(`[cluster]\nrole = "hub"\nhub_url = ""\nspoke_tokens = { pi-1 = "t" }\n`, FILE),
    FILE,
  );
  assert.deepEqual(hub.cluster.spoke_tokens, { "pi-1": "t" });
});

Deno.test("parseConfig() names file, key and problem: wrong type", () => {
  rejects(
    `[polling]\ninterval_seconds = "fast"`,
    `${FILE}: polling.interval_seconds: must be a number 0.1..2147483, got "fast"`,
  );
});

Deno.test("parseConfig() names file, key and problem: out of range", () => {
  rejects(
    `[polling]\ninterval_seconds = 0.05`,
    `${FILE}: polling.interval_seconds: must be a number 0.1..2147483, got 0.05`,
  );
  rejects(`[hub]\nport = 70000`, `${FILE}: hub.port: must be an integer 0..65535, got 70000`);
  rejects(`[leds]\nbrightness = 1.5`, `${FILE}: leds.brightness: must be a number 0..1, got 1.5`);
});

Deno.test("parseConfig() names file, key and problem: unknown key with a hint", () => {
  rejects(
    `[polling]\nintervall_seconds = 2`,
    `${FILE}: polling.intervall_seconds: unknown key (did you mean "interval_seconds"?)`,
  );
  rejects(
    `[hal]\nbackend = "sim"\n[leds]\ncuont = 3`,
    `${FILE}: leds.cuont: unknown key (did you mean "count"?)`,
  );
  rejects(
    `[cluster]\nrole = "hub"\n[polling]\n[sensor]\ndht22_pin = 4`,
    `${FILE}: sensor: unknown key (did you mean "sensors"?)`,
  );
  rejects(
    `[wifi]\nssid = "x"`,
    `${FILE}: wifi: unknown key (known keys: polling, hal, leds, buzzer, logging, cluster, shm, events, hub, mqtt, history, sandbox, scheduler, sensors, plugins, state, limits)`,
  );
});

Deno.test("parseConfig() names file, key and problem: bad enum", () => {
  rejects(`[hal]\nbackend = "gpio"`, `${FILE}: hal.backend: must be one of "linux", "sim", got "gpio"`);
  rejects(
    `[cluster]\nrole = "master"`,
    `${FILE}: cluster.role: must be one of "hub", "spoke", "standalone", got "master"`,
  );
  rejects(
    `[shm]\nbackend = "disk"`,
    `${FILE}: shm.backend: must be one of "auto", "redis", "file", "memory", got "disk"`,
  );
});

Deno.test("parseConfig() names file, key and problem: spoke without hub_url or token", () => {
  rejects(
    `[cluster]\nrole = "spoke"`,
    `${FILE}: cluster.hub_url: required when cluster.role is "spoke" (e.g. hub_url = "http://hub.local:3000")`,
  );
  rejects(
    `[cluster]\nrole = "spoke"\nhub_url = "http://hub:3000"`,
    `${FILE}: cluster.token: required when cluster.role is "spoke" (the hub's cluster.spoke_tokens entry for this node)`,
  );
  rejects(
    `[cluster]\nrole = "spoke"\nhub_url = "ftp://hub"`,
    `${FILE}: cluster.hub_url: must be an http(s) URL, got "ftp://hub"`,
  );
});

Deno.test("parseConfig() names file, key and problem: bad node_id and spoke token ids", () => {
  rejects(
    `[cluster]\nnode_id = "Pi Kitchen"`,
    `${FILE}: cluster.node_id: must be a slug of lowercase letters, digits and "-" (e.g. "pi-kitchen"), got "Pi Kitchen"`,
  );
  rejects(
    `[cluster.spoke_tokens]\n"Pi_1" = "t"`,
    `${FILE}: cluster.spoke_tokens.Pi_1: invalid node id "Pi_1" (lowercase letters, digits and "-")`,
  );
});

Deno.test("parseConfig() names file, key and problem: plugin tables", () => {
  rejects(
    `[plugins.bme680]\npriority = -0.1`,
    `${FILE}: plugins.bme680.priority: must be a number 0..1, got -0.1`,
  );
  rejects(
    `[plugins.Bad_Id]\nenabled = true`,
    `${FILE}: plugins.Bad_Id: invalid plugin id "Bad_Id" (lowercase letters, digits, "-" and "_", starting with a letter, at most 63)`,
  );
  rejects(
    `[plugins.oled]\npriorty = 0.5`,
    `${FILE}: plugins.oled.priorty: unknown key (did you mean "priority"?)`,
  );
  rejects(
    `[plugins.oled]\nisolation = "vm"`,
    `${FILE}: plugins.oled.isolation: must be one of "trusted", "shared", "process", got "vm"`,
  );
  rejects(`[plugins]\noled = true`, `${FILE}: plugins.oled: must be a table, got true`);
});

Deno.test("parseConfig() names file, key and problem: addresses, lists, tables, cross-field", () => {
  rejects(
    `[sensors]\nbme680_address = 0x80`,
    `${FILE}: sensors.bme680_address: must be an I2C address 0x03..0x77, got 128 (0x80)`,
  );
  rejects(`[hal]\ni2c_buses = [1, "2"]`, `${FILE}: hal.i2c_buses[1]: must be an integer 0..255, got "2"`);
  rejects(`[hal]\ni2c_buses = 1`, `${FILE}: hal.i2c_buses: must be a list, got 1`);
  rejects(`polling = 3`, `${FILE}: polling: must be a table, got 3`);
  rejects(
    `[scheduler]\nsoft_celsius = 80`,
    `${FILE}: scheduler.soft_celsius: must be below scheduler.hot_celsius (75), got 80`,
  );
  rejects(
    `[shm]\nredis_url = "localhost:6379"`,
    `${FILE}: shm.redis_url: must be a redis://, rediss:// or redis+sentinel:// URL, got "localhost:6379"`,
  );
  rejects(
    `[shm]\nsentinels = ["10.0.0.5:26379"]`,
    `${FILE}: shm.master_name: required with shm.sentinels (the name in the sentinels' "sentinel monitor <name> …" line)`,
  );
  rejects(
    `[shm]\nsentinels = ["10.0.0.5"]\nmaster_name = "m"`,
    `${FILE}: shm.sentinels[0]: must be host:port, got "10.0.0.5"`,
  );
  rejects(
    `[shm]\nsentinels = ["a:1"]\nmaster_name = "m"\nredis_url = "redis://a:2"`,
    `${FILE}: shm.sentinels: set either shm.redis_url or shm.sentinels, not both`,
  );
  rejects(
    `[shm]\nmaster_name = "m"\nsentinels = [${Array.from({ length: 17 }, (_, i) => `"s${i}:1"`).join(", ")}]`,
    `${FILE}: shm.sentinels: must name at most 16 sentinels, got ["s0:1","s1:1","s2:1","s3:1","s4:1","s5:1","s6:1","s7:1",...`,
  );
  rejects(`[buzzer]\nactive_low = "yes"`, `${FILE}: buzzer.active_low: must be true or false, got "yes"`);
  rejects(
    `[logging]\nlevel = "verbose"`,
    `${FILE}: logging.level: must be one of "debug", "info", "warn", "error", got "verbose"`,
  );
});

Deno.test("parseToml() names file, line and column of a syntax error", () => {
  assert.throws(() => parseToml("[polling]\ninterval_seconds = = 2\n", FILE), (e: unknown) => {
    assert.ok(e instanceof ConfigError);
    assert.equal(e.message, `${FILE}: line 2, column 20: invalid TOML (invalid value)`);
    assert.equal(e.line, 2);
    assert.equal(e.column, 20);
    return true;
  });
});

Deno.test("closest() suggests near keys only", () => {
  assert.equal(closest("interval", ["interval_seconds"]), undefined);
  assert.equal(closest("Count", ["count", "pin"]), "count");
  assert.equal(closest("zzz", ["count", "pin"]), undefined);
});

Deno.test("hostNodeId() turns a host name into a node id, never 'local'", () => {
  assert.equal(hostNodeId("raspberrypi"), "raspberrypi");
  assert.equal(hostNodeId("Pi_Kitchen.local"), "pi-kitchen");
  assert.equal(hostNodeId("--"), "node");
  assert.equal(hostNodeId("a".repeat(80)).length, 63);
  assert.match(hostNodeId(), /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/);
});

Deno.test("parseConfig() refuses values a timer, a bus list or a listener cannot hold", () => {
  rejects(
    "[hal]\ni2c_buses = []\n",
    `${FILE}: hal.i2c_buses: must name at least one bus (e.g. [1] for /dev/i2c-1), got []`,
  );
  rejects(
    "[polling]\ninterval_seconds = 2200000\n",
    `${FILE}: polling.interval_seconds: must be a number 0.1..2147483, got 2200000`,
  );
  rejects(
    "[plugins.bme680]\ncadence_seconds = 1e9\n",
    `${FILE}: plugins.bme680.cadence_seconds: must be a number 0.1..2147483, got 1000000000`,
  );
  rejects(
    "[cluster]\npush_interval_seconds = 3000000\n",
    `${FILE}: cluster.push_interval_seconds: must be a number 0.1..2147483, got 3000000`,
  );
  rejects(
    "[plugins.oled]\ndeadline_ms = 2147483648\n",
    `${FILE}: plugins.oled.deadline_ms: must be an integer 1..2147483647, got 2147483648`,
  );
  rejects(
    '[hub]\nhost = "not a host!"\n',
    `${FILE}: hub.host: must be an IP address or host name (e.g. "127.0.0.1", "0.0.0.0", "::"), got "not a host!"`,
  );
  rejects(
    '[hub]\nhost = "999.1.1.1"\n',
    `${FILE}: hub.host: must be an IP address or host name (e.g. "127.0.0.1", "0.0.0.0", "::"), got "999.1.1.1"`,
  );
  for (const ok of ["0.0.0.0", "127.0.0.1", "::", "::1", "pi-hub.local", "localhost"]) {
    assert.equal(parseConfig(parseToml(`[hub]\nhost = "${ok}"\n`, FILE), FILE).hub.host, ok);
  }
});

Deno.test("parseConfig() refuses absurdly long strings naming the key and the length", () => {
  rejects(
    `[hal]\nuart_path = "${"x".repeat(5000)}"\n`,
    `${FILE}: hal.uart_path: must be at most 4096 characters, got 5000`,
  );
  rejects(
    `[hub]\ntoken = "${"t".repeat(100000)}"\n`,
    `${FILE}: hub.token: must be at most 4096 characters, got 100000`,
  );
});

Deno.test("plugin ids follow one grammar in config, manifests and permissions", async () => {
  const { PLUGIN_ID } = await import("../plugins/sdk/mod.ts");
  const { PLUGIN_ID: manifestId } = await import("../services/plugin_host/manifest.ts");
  assert.equal(manifestId, PLUGIN_ID);
  for (const id of ["bme680", "system-monitor", "big_message"]) {
    assert.ok(PLUGIN_ID.test(id), id);
    parseConfig(parseToml(`[plugins.${id}]\nenabled = true\n`, FILE), FILE);
  }
  for (const id of ["9lives", "Upper", "-x", "a".repeat(64)]) assert.ok(!PLUGIN_ID.test(id), id);
  rejects(
    "[plugins.9lives]\nenabled = true\n",
    `${FILE}: plugins.9lives: invalid plugin id "9lives" (lowercase letters, digits, "-" and "_", starting with a letter, at most 63)`,
  );
});

Deno.test("[mqtt]: off by default; a bad URL or topic is refused at start, naming the key", () => {
  assert.equal(defaultConfig().mqtt.url, undefined);
  assert.equal(defaultConfig().mqtt.base_topic, "harvester");
  rejects(
    '[mqtt]\nurl = "http://broker:1883"\n',
    `${FILE}: mqtt.url: must be an mqtt://, mqtts://, ws:// or wss:// URL, got "http://broker:1883"`,
  );
  rejects(
    '[mqtt]\nbase_topic = "home/#"\n',
    `${FILE}: mqtt.base_topic: must be a topic without wildcards (e.g. "harvester"), got "home/#"`,
  );
  rejects("[mqtt]\nqos = 3\n", `${FILE}: mqtt.qos: must be an integer 0..2, got 3`);
  assert.equal(
    parseConfig({ mqtt: { url: "mqtts://ha.local:8883", base_topic: "home/harvester" } }, FILE).mqtt.qos,
    1,
  );
});

Deno.test("[sandbox]: the policy a manifest is clamped to comes from config", () => {
  assert.deepEqual(defaultConfig().sandbox, {
    max_priority: 0.8,
    min_cadence_seconds: 1,
    max_deadline_ms: 10_000,
  });
  const c = parseConfig(
    { sandbox: { max_priority: 0.5, min_cadence_seconds: 5, max_deadline_ms: 2000 } },
    FILE,
  );
  assert.deepEqual(c.sandbox, { max_priority: 0.5, min_cadence_seconds: 5, max_deadline_ms: 2000 });
  rejects("[sandbox]\nmax_priority = 2\n", `${FILE}: sandbox.max_priority: must be a number 0..1, got 2`);
});
