import assert from "node:assert/strict";
import { ConfigError } from "./errors.ts";
import { grantFor, loadPermissions, parsePermissions } from "./permissions.ts";
import { parseToml } from "./_toml.ts";

const FILE = "config/permissions.toml";
const EXAMPLE = new URL("./permissions.toml", import.meta.url).pathname;

function rejects(toml: string, message: string) {
  assert.throws(() => parsePermissions(parseToml(toml, FILE), FILE), (e: unknown) => {
    assert.ok(e instanceof ConfigError, `expected ConfigError, got ${e}`);
    assert.equal(e.message, message);
    return true;
  });
}

Deno.test("loadPermissions() reads the example file and grantFor() maps it", async () => {
  const perms = await loadPermissions(EXAMPLE);
  assert.deepEqual(grantFor(perms, "bme680"), {
    i2c: [0x77],
    gpio: [],
    leds: [2],
    buzzer: true,
    spi: false,
    uart: [],
    dht22: [],
    systemInfo: false,
    state: true,
  });
  assert.deepEqual(grantFor(perms, "dht22").dht22, [4]);
  assert.deepEqual(grantFor(perms, "dht22").leds, [1]);
  assert.equal(grantFor(perms, "dht22").buzzer, true);
  assert.equal(grantFor(perms, "system-monitor").systemInfo, true);
  assert.deepEqual(grantFor(perms, "system-monitor").leds, [3]);
  assert.deepEqual(grantFor(perms, "oled").i2c, [0x3c]);
  assert.equal(grantFor(perms, "oled").buzzer, false);
  assert.equal(grantFor(perms, "anima").state, true);
  assert.deepEqual(grantFor(perms, "anima").i2c, []);
});

Deno.test("grantFor() gives nothing to unknown ids, inherited names included", () => {
  const perms = parsePermissions({}, FILE);
  const none = {
    i2c: [],
    gpio: [],
    leds: [],
    buzzer: false,
    spi: false,
    uart: [],
    dht22: [],
    systemInfo: false,
    state: false,
  };
  assert.deepEqual(grantFor(perms, "ghost"), none);
  assert.deepEqual(grantFor(perms, "constructor"), none);
  assert.deepEqual(grantFor(perms, "__proto__"), none);
});

Deno.test("grantFor() returns copies the caller cannot use to widen the grant", () => {
  const perms = parsePermissions({ oled: { allow_i2c: [0x3c] } }, FILE);
  grantFor(perms, "oled").i2c.push(0x77);
  assert.deepEqual(grantFor(perms, "oled").i2c, [0x3c]);
});

Deno.test("parsePermissions() rejects bad addresses, pins, keys and ids with one line", () => {
  rejects(
    `[oled]\nallow_i2c = [0x3c, 0x80]`,
    `${FILE}: oled.allow_i2c[1]: must be an I2C address 0x03..0x77, got 128 (0x80)`,
  );
  rejects(
    `[oled]\nallow_i2c = ["0x3c"]`,
    `${FILE}: oled.allow_i2c[0]: must be an I2C address 0x03..0x77, got "0x3c"`,
  );
  rejects(`[dht22]\nallow_gpio = [300]`, `${FILE}: dht22.allow_gpio[0]: must be an integer 0..255, got 300`);
  rejects(`[dht22]\nbuzzer = 1`, `${FILE}: dht22.buzzer: must be true or false, got 1`);
  rejects(`[dht22]\nallow_i2s = [1]`, `${FILE}: dht22.allow_i2s: unknown key (did you mean "allow_i2c"?)`);
  rejects(
    `[Bad.Plugin]\nstate = true`,
    `${FILE}: Bad: invalid plugin id "Bad" (lowercase letters, digits, "-" and "_", starting with a letter, at most 63)`,
  );
  rejects(`oled = true`, `${FILE}: oled: must be a table, got true`);
});

Deno.test("loadPermissions() names a missing file", async () => {
  await assert.rejects(() => loadPermissions("/nonexistent/permissions.toml"), {
    name: "ConfigError",
    message: "Cannot read /nonexistent/permissions.toml: file not found",
  });
});
