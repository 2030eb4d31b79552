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
    text = new TextDecoder("utf-8", { fatal: true }).decode(await Deno.readFile(path));
  } catch (e) {
    if (e instanceof TypeError) {
      const at = firstInvalidUtf8(await Deno.readFile(path));
      throw new ConfigError(`${name}: line ${at.line}: not valid UTF-8 (byte 0x${at.byte.toString(16)})`, {
        file: name,
        line: at.line,
        cause: e,
      });
    }
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

/** Where the first byte that breaks UTF-8 sits (1-based line), found by decoding line by line. */
function firstInvalidUtf8(bytes: Uint8Array): { line: number; byte: number } {
  const strict = new TextDecoder("utf-8", { fatal: true });
  let line = 1;
  let start = 0;
  for (let i = 0; i <= bytes.length; i++) {
    if (i === bytes.length || bytes[i] === 0x0a) {
      try {
        strict.decode(bytes.subarray(start, i));
      } catch {
        const bad = bytes.subarray(start, i).find((b) => b >= 0x80) ?? 0;
        return { line, byte: bad };
      }
      line++;
      start = i + 1;
    }
  }
  return { line: 1, byte: 0 };
}
