import assert from "node:assert/strict";
import { loadConfig } from "./loader.ts";
import { loadPermissions } from "./permissions.ts";

const dir = new URL(".", import.meta.url).pathname;
const load = (name: string) => loadConfig({ configPath: `${dir}${name}`, env: {} });
const FIRST_PARTY = ["bme680", "dht22", "system-monitor", "oled", "anima"];

Deno.test("config/host.toml is the embedded default: sim, standalone, shm auto, five plugins enabled", async () => {
  const { config } = await load("host.toml");
  assert.equal(config.hal.backend, "sim");
  assert.equal(config.cluster.role, "standalone");
  assert.equal(config.shm.backend, "auto");
  assert.deepEqual(Object.keys(config.plugins).sort(), [...FIRST_PARTY].sort());
  for (const id of FIRST_PARTY) assert.equal(config.plugins[id].enabled, true, id);
  assert.equal(config.polling.interval_seconds, 2);
  assert.equal(config.leds.count, 11);
  assert.equal(config.buzzer.pin, 17);
  assert.equal(config.logging.level, "info");
  assert.equal(config.events.stream_maxlen, 10000);
  assert.equal(config.hub.port, 3000);
  // `deno task start` on a laptop: loopback, readings visible without a login, actions need one.
  assert.deepEqual([config.hub.host, config.hub.public_read], ["127.0.0.1", true]);
  assert.equal(config.scheduler.hot_celsius, 75);
  assert.equal(config.sensors.bme680_address, 0x77);
  assert.equal(config.sensors.oled_address, 0x3c);
  assert.equal(config.state.dir, "state");
});

Deno.test("config/hub.toml is a LAN hub on linux with Redis, spoke tokens, login required, no local sensors", async () => {
  const { config } = await load("hub.toml");
  assert.equal(config.cluster.role, "hub");
  assert.equal(config.hal.backend, "linux");
  assert.equal(config.shm.backend, "redis");
  assert.equal(config.hub.host, "0.0.0.0");
  assert.equal(config.hub.public_read, false);
  // No shipped default password: the hub refuses to start until a user or token exists.
  assert.equal(config.hub.token, undefined);
  assert.deepEqual(Object.keys(config.cluster.spoke_tokens), ["pi4-node-1"]);
  assert.equal(config.plugins.bme680.enabled, false);
  assert.equal(config.plugins["system-monitor"].enabled, true);
});

Deno.test("config/spoke.toml pushes to a hub with a token and per-plugin settings", async () => {
  const { config } = await load("spoke.toml");
  assert.equal(config.cluster.role, "spoke");
  assert.equal(config.cluster.node_id, "pi4-node-1");
  assert.match(config.cluster.hub_url ?? "", /^http:\/\//);
  assert.ok(config.cluster.token);
  assert.equal(config.plugins.bme680.isolation, "process");
  assert.deepEqual(config.plugins.bme680.settings, { burn_in_seconds: 300 });
});

Deno.test("config/pizero.toml keeps plugins in one trusted worker, few and slow", async () => {
  const { config } = await load("pizero.toml");
  const enabled = Object.entries(config.plugins).filter(([, p]) => p.enabled);
  assert.ok(enabled.length < FIRST_PARTY.length);
  for (const [, p] of enabled) assert.equal(p.isolation, "trusted");
  assert.ok(config.polling.interval_seconds >= 5);
  assert.ok(config.events.buffer_max <= 1000);
});

Deno.test("config/permissions.toml covers the five first-party plugins", async () => {
  const perms = await loadPermissions(`${dir}permissions.toml`);
  assert.deepEqual(Object.keys(perms).sort(), [...FIRST_PARTY].sort());
});

/** The unit as installed, with ExecStart's deno pointed at this machine's Deno so verify can run it. */
async function installedCopy(
  unit: string,
): Promise<{ path: string; text: string; cleanup: () => Promise<void> }> {
  const text = await Deno.readTextFile(`${dir}${unit}`);
  const tmp = await Deno.makeTempDir({ prefix: "harvester-unit-" });
  const path = `${tmp}/${unit}`;
  await Deno.writeTextFile(path, text.replaceAll("/usr/local/bin/deno", Deno.realPathSync(Deno.execPath())));
  return { path, text, cleanup: () => Deno.remove(tmp, { recursive: true }) };
}

async function systemdAnalyze(...args: string[]): Promise<{ code: number; out: string }> {
  const r = await new Deno.Command("systemd-analyze", { args, stdout: "piped", stderr: "piped" }).output();
  const dec = new TextDecoder();
  return { code: r.code, out: dec.decode(r.stdout) + dec.decode(r.stderr) };
}

for (const unit of ["harvester-broker.service", "harvester-hub.service"]) {
  const mode = unit.includes("broker") ? "broker" : "hub";
  Deno.test(`config/${unit}: systemd-analyze verify is clean and security scores at most 3.0`, async () => {
    const { path, text, cleanup } = await installedCopy(unit);
    try {
      const verify = await systemdAnalyze("verify", "--man=no", path);
      assert.equal(verify.code, 0, verify.out);
      assert.equal(verify.out.trim(), "", `verify warns: ${verify.out}`);
      const security = await systemdAnalyze("security", "--offline=true", "--no-pager", path);
      const score = Number(/Overall exposure level for \S+: ([\d.]+)/.exec(security.out)?.[1]);
      assert.ok(
        score <= 3.0,
        `exposure ${score} > 3.0:\n${security.out.split("\n").filter((l) => l.includes("✗")).join("\n")}`,
      );
      const lines = text.split("\n").map((l) => l.trim());
      for (
        const line of [
          "KillMode=mixed",
          "RuntimeDirectory=harvester",
          "StateDirectory=harvester",
          "Restart=on-failure",
        ]
      ) {
        assert.ok(lines.includes(line), `${unit} lacks ${line}`);
      }
      // Deno directly, no `deno task` wrapper; the config it names is a real-hardware example in this repo.
      const exec = lines.find((l) => l.startsWith("ExecStart="))!;
      assert.match(
        exec,
        new RegExp(
          `^ExecStart=/usr/local/bin/deno run .*/opt/harvester/main\\.ts ${mode} --config /opt/harvester/config/(\\S+)$`,
        ),
      );
      assert.doesNotMatch(exec, /deno task/);
      const named = /--config \/opt\/harvester\/config\/(\S+)$/.exec(exec)![1];
      const { config } = await load(named);
      assert.equal(config.hal.backend, "linux", `${named} drives real hardware`);
      assert.ok(!lines.some((l) => l.startsWith("MemoryDenyWriteExecute")), "V8 needs W+X memory");
    } finally {
      await cleanup();
    }
  });
}

Deno.test("config/harvester-broker.service allows exactly the bus device groups", async () => {
  const text = await Deno.readTextFile(`${dir}harvester-broker.service`);
  const allowed = [...text.matchAll(/^DeviceAllow=(\S+) (\S+)$/gm)].map((m) => `${m[1]} ${m[2]}`);
  assert.deepEqual(allowed, [
    "char-i2c rw",
    "char-gpiochip rw",
    "char-spi rw",
    "char-ttyAMA rw",
    "char-ttyS rw",
  ]);
  const hub = await Deno.readTextFile(`${dir}harvester-hub.service`);
  assert.doesNotMatch(hub, /^DeviceAllow=/m, "the hub never opens a bus");
});

for (const mode of ["broker", "hub"] as const) {
  Deno.test(`config/harvester-${mode}.service runs with the V8 flags of \`deno task ${mode}\``, async () => {
    const unit = await Deno.readTextFile(`${dir}harvester-${mode}.service`);
    const exec = unit.split("\n").find((l) => l.startsWith("ExecStart="));
    assert.ok(exec, "the unit has an ExecStart= line");
    const denoJson = JSON.parse(await Deno.readTextFile(`${dir}../deno.json`));
    const flagsOf = (cmd: string) => cmd.split(/\s+/).find((a) => a.startsWith("--v8-flags="));
    assert.equal(flagsOf(exec), flagsOf(denoJson.tasks[mode]));
  });
}
