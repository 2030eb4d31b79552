import assert from "node:assert/strict";
import { HalError } from "../errors.ts";
import { LinuxSystemInfo } from "./system_info.ts";

Deno.test("LinuxSystemInfo reads temperature, usage delta, memory and uptime", async () => {
  const dir = await Deno.makeTempDir({ prefix: "sysinfo_" });
  try {
    await Deno.mkdir(`${dir}/zone`);
    await Deno.writeTextFile(`${dir}/zone/temp`, "48312\n");
    await Deno.writeTextFile(`${dir}/uptime`, "12345.67 40000.00\n");
    await Deno.writeTextFile(
      `${dir}/meminfo`,
      "MemTotal:        1024000 kB\nMemFree: 1 kB\nMemAvailable:     512000 kB\n",
    );
    await Deno.writeTextFile(`${dir}/stat`, "cpu  100 0 100 700 100 0 0 0 0 0\ncpu0 1 2 3 4\n");
    const info = new LinuxSystemInfo({ proc: dir, thermalZone: `${dir}/zone` });
    assert.equal(await info.cpuTemperatureC(), 48.312);
    assert.equal(await info.uptimeSeconds(), 12345.67);
    assert.deepEqual(await info.memory(), { totalMb: 1000, usedMb: 500, availableMb: 500 });
    assert.equal(await info.cpuUsagePct(), 20); // since boot: 200 busy of 1000
    await Deno.writeTextFile(`${dir}/stat`, "cpu  160 0 140 750 150 0 0 0 0 0\n");
    assert.equal(await info.cpuUsagePct(), 50); // delta: 100 busy of 200
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("LinuxSystemInfo names the missing file", async () => {
  const info = new LinuxSystemInfo({ proc: "/nonexistent/proc", thermalZone: "/nonexistent/zone" });
  await assert.rejects(info.cpuTemperatureC(), (e: unknown) => {
    assert.ok(e instanceof HalError);
    assert.equal(e.code, "not_found");
    assert.equal(e.message, "Cannot read CPU temperature from /nonexistent/zone/temp: no such device");
    return true;
  });
});

Deno.test("LinuxSystemInfo reads this machine's /proc", async () => {
  const info = new LinuxSystemInfo();
  const mem = await info.memory();
  assert.ok(mem.totalMb > 0 && mem.availableMb > 0 && mem.usedMb >= 0, JSON.stringify(mem));
  assert.ok((await info.uptimeSeconds()) > 0);
  const usage = await info.cpuUsagePct();
  assert.ok(usage >= 0 && usage <= 100, String(usage));
});
