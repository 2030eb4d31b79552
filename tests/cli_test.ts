/**
 * The command line and start-up as a person meets them: `main.ts` as a real child process.
 * Help and version exit 0, mistakes exit 2 with one line, nothing touches hardware (or counts an
 * awakening) before the arguments, the config and the port are good, and the ready line says
 * where the dashboard is and why each backend was chosen.
 *
 * @module
 */
import assert from "node:assert/strict";
import { freePort, ROOT, runMain, startService, waitFor } from "./e2e/_helpers.ts";
import { serviceToml } from "./_toml.ts";

const run = runMain;

function toml(dir: string, extra = ""): string {
  return serviceToml(`cli-${crypto.randomUUID().slice(0, 8)}`, dir, { hal: null }, extra);
}

Deno.test("--help prints each mode's usage on stdout and exits 0; --version prints the version", async () => {
  const version = JSON.parse(await Deno.readTextFile(`${ROOT}deno.json`)).version;
  for (const mode of ["start", "broker", "hub"]) {
    const r = await run([mode, "--help"]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`^Usage: main\\.ts ${mode} \\[options\\]`));
    for (const word of ["--config", "--help", "--version", "REDIS_URL"]) {
      assert.ok(r.stdout.includes(word), word);
    }
    assert.equal(r.stdout.includes("--port"), mode !== "broker");
    assert.equal(r.stderr, "", "help touches nothing else");
  }
  const top = await run(["-h"]);
  assert.equal(top.code, 0);
  assert.match(top.stdout, /^Usage: main\.ts <mode> \[options\]/);
  const v = await run(["--version"]);
  assert.equal(v.code, 0);
  assert.match(
    v.stdout,
    new RegExp(`^harvester ${version.replaceAll(".", "\\.")} \\(deno \\d+\\.\\d+\\.\\d+\\)\\n$`),
  );
});

Deno.test("an unknown flag or a stray word exits 2 with one line naming it", async () => {
  const cases: [string[], string][] = [
    [["--prot", "3000"], "Unknown option '--prot': did you mean '--port'?"],
    [["hub", "--conifg", "x.toml"], "Unknown option '--conifg': did you mean '--config'?"],
    [
      ["broker", "--port", "3000"],
      "Unknown option '--port' for broker: the broker serves no HTTP port (use 'start' or 'hub')",
    ],
    [["start", "now"], "Unexpected argument 'now': start takes no words, only options (see --help)"],
    [["strat"], "Unknown mode 'strat': did you mean 'start'? (see --help)"],
  ];
  for (const [args, line] of cases) {
    const r = await run(args);
    assert.equal(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
    assert.equal(r.stderr, `${line}\n`);
    assert.equal(r.stdout, "");
  }
});

Deno.test("a busy port stops start-up before the broker touches hardware or counts an awakening", async () => {
  const dir = await Deno.makeTempDir({ prefix: "harvester-cli-" });
  const port = freePort();
  const holder = Deno.listen({ hostname: "127.0.0.1", port });
  try {
    await Deno.writeTextFile(`${dir}/host.toml`, toml(dir));
    const r = await run(["start", "--config", `${dir}/host.toml`, "--port", String(port)]);
    assert.equal(r.code, 1, r.stderr);
    assert.match(
      r.stderr,
      new RegExp(`Cannot start hub: port ${port} is in use \\(set --port or PORT\\)\\n$`),
    );
    assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
    assert.doesNotMatch(r.stderr, /awakens|starting on/);
    const left = [...Deno.readDirSync(dir)].map((e) => e.name).sort();
    assert.deepEqual(left.filter((n) => n !== "host.toml" && n !== "shm"), [], "no plugin state, no locks");
    const hub = await run(["hub", "--config", `${dir}/host.toml`], { PORT: String(port) });
    assert.equal(hub.code, 1);
    assert.match(hub.stderr, new RegExp(`Cannot start hub: port ${port} is in use`));
  } finally {
    holder.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("config mistakes found before start-up: an unknown plugin table, a world-writable snapshot dir", async () => {
  const dir = await Deno.makeTempDir({ prefix: "harvester-cli-" });
  try {
    await Deno.writeTextFile(`${dir}/typo.toml`, toml(dir, "\n[plugins.anmia]\nenabled = true\n"));
    const typo = await run(["start", "--config", `${dir}/typo.toml`, "--port", "0"]);
    assert.equal(typo.code, 2, typo.stderr);
    assert.match(
      typo.stderr,
      /typo\.toml: plugins\.anmia: no plugin 'anmia' under plugins\/ \(did you mean 'anima'\?\)\n$/,
    );
    await Deno.mkdir(`${dir}/open`, { mode: 0o777 });
    await Deno.chmod(`${dir}/open`, 0o1777);
    await Deno.writeTextFile(`${dir}/open.toml`, toml(dir).replace(`${dir}/shm`, `${dir}/open`));
    const open = await run(["broker", "--config", `${dir}/open.toml`]);
    assert.equal(open.code, 1, open.stderr);
    assert.match(
      open.stderr,
      /Cannot start broker: shm\.file_dir: Cannot use snapshot directory '[^']+\/open': writable by every user \(mode 1777\)/,
    );
    assert.doesNotMatch(open.stderr, /awakens/);
    await Deno.writeTextFile(`${dir}/plain-file`, "");
    await Deno.writeTextFile(
      `${dir}/state.toml`,
      toml(dir).replace(`dir = "${dir}"`, `dir = "${dir}/plain-file/state"`),
    );
    const state = await run(["broker", "--config", `${dir}/state.toml`]);
    assert.equal(state.code, 1, state.stderr);
    assert.match(state.stderr, /Cannot start broker: state\.dir: Cannot create '[^']+\/plain-file\/state': /);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the ready line names the dashboard and why each backend was chosen; the snapshot is private", async () => {
  const dir = await Deno.makeTempDir({ prefix: "harvester-cli-" });
  const closed = freePort();
  const auto = toml(dir).replace('backend = "file"', 'backend = "auto"');
  const svc = await startService({
    name: "ready",
    toml: auto,
    env: { REDIS_URL: `redis://127.0.0.1:${closed}` },
  });
  try {
    const line: string = await waitFor(
      "the ready line",
      () => svc.output().split("\n").find((l) => l.includes("ready:")) ?? "",
      15_000,
    );
    assert.match(line, new RegExp(`ready: dashboard on http://127\\.0\\.0\\.1:${svc.port}/; node cli-`));
    assert.match(
      line,
      /state: file .*\/shm\/cli-[0-9a-f]+\.json \(auto: Redis at redis:\/\/127\.0\.0\.1:\d+ unreachable: .*ECONNREFUSED/,
    );
    assert.match(
      line,
      /events: redis redis:\/\/127\.0\.0\.1:\d+ \(unreachable now: .*ECONNREFUSED.*; up to 10000 events wait for it\)/,
    );
    const node = /node (cli-[0-9a-f]+)/.exec(line)![1];
    const file = `${dir}/shm/${node}.json`;
    await waitFor("the snapshot file", () => Deno.stat(file).then(() => true, () => false), 10_000);
    assert.equal((await Deno.stat(file)).mode! & 0o777, 0o640, "snapshot readable by owner and group only");
    assert.equal((await Deno.stat(`${dir}/shm`)).mode! & 0o002, 0, "snapshot dir not world-writable");
  } finally {
    await svc.stop();
  }
  const plain = await startService({ name: "ready-plain", toml: toml(dir) });
  try {
    const line: string = await waitFor(
      "the ready line",
      () => plain.output().split("\n").find((l) => l.includes("ready:")) ?? "",
      15_000,
    );
    assert.match(line, /events: memory ring \(shm\.backend = "file"\)/);
  } finally {
    await plain.stop();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
});

Deno.test('logs: JSON lines with [logging] format = "json", journald priorities under systemd', async () => {
  const dir = await Deno.makeTempDir({ prefix: "harvester-cli-" });
  const svc = await startService({
    name: "json-logs",
    toml: toml(dir).replace("[polling]", '[logging]\nformat = "json"\n\n[polling]'),
    env: { JOURNAL_STREAM: "8:12345" },
  });
  try {
    await waitFor("the ready line", () => svc.output().includes("ready:"), 15_000);
  } finally {
    await svc.stop();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
  const lines = svc.output().split("\n").filter((l) => l !== "");
  assert.ok(lines.length > 3, svc.output());
  for (const l of lines) {
    const m = /^<([3467])>(\{.*\})$/.exec(l);
    assert.ok(m, `not a journald-prefixed JSON line: ${l}`);
    const rec = JSON.parse(m[2]);
    assert.equal(rec.priority, Number(m[1]));
    assert.ok(["error", "warn", "info", "debug"].includes(rec.level) && typeof rec.message === "string");
  }
  assert.ok(lines.some((l) => /"source":"anima"/.test(l)), "plugin lines go through the logger too");
  assert.ok(lines.some((l) => l.includes("stopping (SIGTERM)")), "so do the host's own");
});

Deno.test("README's command-line block is what --help prints", async () => {
  const readme = await Deno.readTextFile(`${ROOT}README.md`);
  const block = /```\n\$ deno run -A main\.ts --help\n([\s\S]*?)```/.exec(readme)?.[1];
  assert.ok(block, "README has the --help block");
  const r = await run(["--help"]);
  assert.equal(r.stdout, block, "regenerate the README block from main.ts --help");
});
