/**
 * Static check of a plugin bundle before it is sent to a sandbox: parse it with acorn and
 * refuse anything that could load or generate code at run time. The V8 flag
 * `--disallow-code-generation-from-strings` stops `eval` in the sandbox too; this check makes
 * the refusal early, named, and independent of the flag.
 *
 * @module
 */
import { parse } from "acorn";
import { PluginError } from "./errors.ts";

interface AstNode {
  type: string;
  start: number;
  [key: string]: unknown;
}

/** Node types that are refused wherever they appear, with the reason. */
const REFUSED: Record<string, string> = {
  ImportExpression: "dynamic import() is not allowed",
  ImportDeclaration: "an import declaration is left after bundling",
  ExportAllDeclaration: "a re-export from another module is left after bundling",
};

function lineOf(code: string, offset: number): number {
  let line = 1;
  for (let i = 0; i < offset && i < code.length; i++) if (code.charCodeAt(i) === 10) line++;
  return line;
}

function reason(node: AstNode, parent: AstNode | undefined, key: string): string | undefined {
  if (REFUSED[node.type]) return REFUSED[node.type];
  if (node.type === "ExportNamedDeclaration" && node.source) return REFUSED.ExportAllDeclaration;
  if (node.type === "MetaProperty" && (node.meta as AstNode & { name: string }).name === "import") {
    return "import.meta is not allowed";
  }
  if (node.type === "Identifier") {
    const name = (node as unknown as { name: string }).name;
    // A property key (`obj.eval`, `{ eval: 1 }`) is not a reference to the global.
    const isKey = parent && ((parent.type === "MemberExpression" && key === "property" && !parent.computed) ||
      (parent.type === "Property" && key === "key" && !parent.computed) ||
      (parent.type === "MethodDefinition" && key === "key") ||
      (parent.type === "PropertyDefinition" && key === "key"));
    if (!isKey && name === "eval") return "eval is not allowed";
    if (
      !isKey && name === "Function" && parent &&
      (parent.type === "CallExpression" || parent.type === "NewExpression") &&
      key === "callee"
    ) {
      return "the Function constructor is not allowed";
    }
  }
  return undefined;
}

/**
 * Refuse a bundle that imports, imports dynamically, uses `import.meta`, or generates code.
 *
 * @param plugin plugin id, for the message
 * @param code the bundled JavaScript
 * @throws {PluginError} naming the plugin, the line and the construct
 * @example
 * ```ts
 * import { verifyBundle } from "./verify.ts";
 * verifyBundle("demo", "export default { poll() { return []; } };");
 * ```
 */
export function verifyBundle(plugin: string, code: string): void {
  let ast: AstNode;
  try {
    ast = parse(code, { ecmaVersion: "latest", sourceType: "module" }) as unknown as AstNode;
  } catch (e) {
    throw new PluginError(
      plugin,
      `Cannot verify plugin "${plugin}": bundle does not parse: ${(e as Error).message}`,
      {
        cause: e,
      },
    );
  }
  const stack: [AstNode, AstNode | undefined, string][] = [[ast, undefined, ""]];
  while (stack.length > 0) {
    const [node, parent, key] = stack.pop()!;
    const why = reason(node, parent, key);
    if (why) {
      throw new PluginError(
        plugin,
        `Cannot load plugin "${plugin}": ${why} (bundle line ${lineOf(code, node.start)})`,
      );
    }
    for (const [k, v] of Object.entries(node)) {
      if (Array.isArray(v)) {
        for (const c of v) {
          if (c && typeof c === "object" && typeof c.type === "string") stack.push([c, node, k]);
        }
      } else if (v && typeof v === "object" && typeof (v as AstNode).type === "string") {
        stack.push([v as AstNode, node, k]);
      }
    }
  }
}
