/** Folder-private: read and parse a TOML file with errors that name file, line and column. @module */
import { parse, TomlError } from "smol-toml";
import { ConfigError } from "./errors.ts";

/**
 * Read and parse `path`; `name` is how messages refer to the file.
 *
 * @throws {ConfigError} when the file cannot be read or is not valid TOML
 */
export async function readToml(path: string, name = path): Promise<Record<string, unknown>> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (e) {
    const why = e instanceof Deno.errors.NotFound
      ? "file not found"
      : e instanceof Deno.errors.PermissionDenied
      ? "permission denied"
      : e instanceof Error
      ? e.message
      : String(e);
    throw new ConfigError(`Cannot read ${name}: ${why}`, { file: name, cause: e });
  }
  return parseToml(text, name);
}

/**
 * Parse TOML text.
 *
 * @throws {ConfigError} `<name>: line L, column C: invalid TOML (<reason>)`
 */
export function parseToml(text: string, name: string): Record<string, unknown> {
  try {
    return parse(text) as Record<string, unknown>;
  } catch (e) {
    if (!(e instanceof TomlError)) throw e;
    const reason = e.message.split("\n")[0].replace(/^Invalid TOML document:\s*/, "");
    throw new ConfigError(`${name}: line ${e.line}, column ${e.column}: invalid TOML (${reason})`, {
      file: name,
      line: e.line,
      column: e.column,
      cause: e,
    });
  }
}
