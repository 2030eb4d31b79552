import assert from "node:assert/strict";
import { verifyBundle } from "./verify.ts";
import { PluginError } from "./errors.ts";

const refused = (code: string, pattern: RegExp) =>
  assert.throws(
    () => verifyBundle("p", code),
    (e: unknown) => e instanceof PluginError && pattern.test(e.message),
  );

Deno.test("verifyBundle() accepts a plain module and property names that look like globals", () => {
  verifyBundle(
    "p",
    "const o = { eval: 1, Function: 2 }; o.eval; class A { eval() {} } export default { poll() { return [o]; } };",
  );
});

Deno.test("verifyBundle() refuses dynamic import, import declarations, re-exports and import.meta", () => {
  refused(
    "export default {};\nawait import('./x.js');",
    /^Cannot load plugin "p": dynamic import\(\) is not allowed \(bundle line 2\)$/,
  );
  refused(
    "import x from 'file:///etc/passwd'; export default x;",
    /an import declaration is left after bundling/,
  );
  refused("export * from './x.js';", /a re-export from another module/);
  refused("export { a } from './x.js';", /a re-export from another module/);
  refused("export default import.meta.url;", /import\.meta is not allowed/);
});

Deno.test("verifyBundle() refuses eval and the Function constructor", () => {
  refused("export default eval('1');", /eval is not allowed/);
  refused("const e = eval; export default e;", /eval is not allowed/);
  refused("export default new Function('return 1');", /the Function constructor is not allowed/);
  refused("export default Function('return 1');", /the Function constructor is not allowed/);
});

Deno.test("verifyBundle() names a syntax error", () => {
  refused("export default {", /^Cannot verify plugin "p": bundle does not parse: /);
});
