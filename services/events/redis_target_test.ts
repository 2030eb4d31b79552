import assert from "node:assert/strict";
import { maskTarget, parseRedisTarget, sentinelUrl } from "./redis_target.ts";

Deno.test("parseRedisTarget() reads direct and Sentinel URLs and names what is wrong", () => {
  assert.deepEqual(parseRedisTarget("redis://10.0.0.2:6379"), {
    kind: "direct",
    url: "redis://10.0.0.2:6379",
  });
  assert.deepEqual(parseRedisTarget("redis+sentinel://:s3cret@a:26379,[::1]:26380/harvester/2"), {
    kind: "sentinel",
    sentinels: [{ host: "a", port: 26379 }, { host: "::1", port: 26380 }],
    master: "harvester",
    username: undefined,
    password: "s3cret",
    db: 2,
    sentinelPassword: undefined,
  });
  const t = parseRedisTarget(sentinelUrl(["h:1"], "m", { password: "p@ss" }) + "#sentinel-password=x%2Fy");
  assert.equal(t.kind === "sentinel" && t.password, "p@ss");
  assert.equal(t.kind === "sentinel" && t.sentinelPassword, "x/y");
  assert.throws(() => parseRedisTarget("http://x"), /is not redis:\/\/, rediss:\/\/ or redis\+sentinel:\/\//);
  assert.throws(() => parseRedisTarget("redis+sentinel://a:1"), /names no master/);
  assert.throws(() => parseRedisTarget("redis+sentinel://a/m"), /sentinel 'a' is not host:port/);
  assert.throws(() => parseRedisTarget("redis+sentinel://a:1/m/x"), /database 'x' is not a number/);
  assert.equal(
    maskTarget("redis+sentinel://:pw@a:1/m#sentinel-password=z"),
    "redis+sentinel://***@a:1/m#sentinel-password=***",
  );
});
