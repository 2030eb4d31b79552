import assert from "node:assert/strict";
import { HalError } from "../errors.ts";
import { LinuxDht22, osErrno } from "./dht22.ts";

async function sysfs(files: Record<string, string>): Promise<string> {
  const root = await Deno.makeTempDir({ prefix: "iio_" });
  for (const [p, text] of Object.entries(files)) {
    await Deno.mkdir(`${root}/${p.split("/").slice(0, -1).join("/")}`, { recursive: true });
    await Deno.writeTextFile(`${root}/${p}`, text);
  }
  return root;
}

Deno.test("LinuxDht22.read() reads milli-units from the dht11 IIO device", async () => {
  const root = await sysfs({
    "iio:device0/name": "mcp3008\n",
    "iio:device1/name": "dht11@4\n",
    "iio:device1/in_temp_input": "23400\n",
    "iio:device1/in_humidityrelative_input": "45100\n",
  });
  try {
    assert.deepEqual(await new LinuxDht22({ root }).read(4), { temperatureC: 23.4, humidityPct: 45.1 });
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("LinuxDht22.read() without a dht11 device is not_found naming the overlay", async () => {
  const root = await sysfs({ "iio:device0/name": "other\n" });
  try {
    await assert.rejects(new LinuxDht22({ root }).read(17), (e: unknown) => {
      assert.ok(e instanceof HalError);
      assert.equal(e.code, "not_found");
      assert.match(
        e.message,
        /no dht11 IIO device under .* \(add dtoverlay=dht11,gpiopin=17\): no such device$/,
      );
      return true;
    });
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("LinuxDht22.read() reports a garbled value as io", async () => {
  const root = await sysfs({
    "d/name": "dht11\n",
    "d/in_temp_input": "oops\n",
    "d/in_humidityrelative_input": "1\n",
  });
  try {
    await assert.rejects(
      new LinuxDht22({ root, devices: { 4: "d" } }).read(4),
      /holds 'oops', not a number: input\/output error$/,
    );
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("osErrno() reads the errno from Deno's OS error messages", () => {
  assert.equal(osErrno(new Error("Connection timed out (os error 110)")), 110);
  assert.equal(osErrno(new Deno.errors.NotFound("x")), 2);
  assert.equal(osErrno(new Error("plain")), undefined);
});
