import assert from "node:assert/strict";
import { MODES, parseCli, usage, UsageError } from "./cli.ts";

function refused(argv: string[]): string {
  try {
    parseCli(argv);
  } catch (e) {
    assert.ok(e instanceof UsageError, `expected a UsageError for ${argv.join(" ")}, got ${e}`);
    assert.ok(!e.message.includes("\n"), `one line, got ${JSON.stringify(e.message)}`);
    return e.message;
  }
  throw new Error(`parseCli(${JSON.stringify(argv)}) accepted a bad command line`);
}

Deno.test("parseCli() reads each mode's flags, short and long, with start as the default mode", () => {
  assert.deepEqual(parseCli([]), {
    mode: "start",
    config: undefined,
    port: undefined,
    help: false,
    version: false,
  });
  assert.deepEqual(parseCli(["hub", "--port", "8080", "--config=x.toml"]), {
    mode: "hub",
    config: "x.toml",
    port: "8080",
    help: false,
    version: false,
  });
  assert.equal(parseCli(["-p", "0"]).port, "0");
  assert.equal(parseCli(["broker", "-c", "b.toml"]).config, "b.toml");
  assert.equal(parseCli(["broker", "-h"]).help, true);
  assert.equal(parseCli(["--version"]).version, true);
  assert.equal(parseCli(["hub", "-V"]).version, true);
});

Deno.test("parseCli() names an unknown flag with a did-you-mean hint", () => {
  assert.equal(refused(["--prot", "3000"]), "Unknown option '--prot': did you mean '--port'?");
  assert.equal(refused(["hub", "--confg", "a.toml"]), "Unknown option '--confg': did you mean '--config'?");
  assert.equal(refused(["start", "--frobnicate"]), "Unknown option '--frobnicate' for start (see --help)");
  assert.match(
    refused(["broker", "--port", "3"]),
    /^Unknown option '--port' for broker: the broker serves no HTTP port/,
  );
});

Deno.test("parseCli() refuses stray words, unknown modes and missing values", () => {
  assert.equal(refused(["strat"]), "Unknown mode 'strat': did you mean 'start'? (see --help)");
  assert.match(refused(["deploy"]), /^Unknown mode 'deploy': use start, broker, hub/);
  assert.match(refused(["hub", "extra"]), /^Unexpected argument 'extra'/);
  assert.equal(refused(["hub", "--port"]), "Option '--port' needs a value: N");
  assert.equal(refused(["start", "--config", "--port", "3"]), "Option '--config' needs a value: PATH");
  assert.equal(refused(["--help=yes"]), "Option '--help' takes no value");
});

Deno.test("usage() lists every flag and environment variable of each mode", () => {
  for (const mode of MODES) {
    const text = usage(mode);
    assert.match(text, new RegExp(`^Usage: main\\.ts ${mode} \\[options\\]`));
    for (const flag of ["--config", "--help", "--version", "REDIS_URL"]) {
      assert.ok(text.includes(flag), `${mode}: ${flag}`);
    }
    assert.equal(text.includes("--port"), mode !== "broker", `${mode}: --port`);
    assert.equal(text.includes("PORT "), mode !== "broker", `${mode}: PORT`);
  }
  for (const mode of MODES) assert.ok(usage().includes(`  ${mode} `), `overview names ${mode}`);
});
