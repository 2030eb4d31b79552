/**
 * The host walks a plugin folder itself before any tool (manifest reader, resolver, bundler)
 * opens a file in it: special files (FIFOs, devices, sockets) would block or never end a read,
 * symlinks that leave the folder would bring in files from elsewhere, and huge files or folders
 * would stall bundling. Only `lstat` and directory listings are used, never an open of a file.
 *
 * @module
 */
import { join, relative, resolve, sep as SEPARATOR } from "node:path";

/** Bounds of one plugin folder. */
export interface FolderLimits {
  /** Largest single file in bytes. */
  maxFileBytes: number;
  /** Most entries (files and folders) in the whole tree. */
  maxEntries: number;
  /** Deepest nesting of folders. */
  maxDepth: number;
  /** Largest total size of its files in bytes. */
  maxTotalBytes: number;
}

/** Defaults: far above any real sensor driver. */
export const DEFAULT_FOLDER_LIMITS: FolderLimits = {
  maxFileBytes: 1 << 20,
  maxEntries: 256,
  maxDepth: 8,
  maxTotalBytes: 8 << 20,
};

function kind(info: Deno.FileInfo): string {
  if (info.isFifo) return "a FIFO";
  if (info.isSocket) return "a socket";
  if (info.isCharDevice) return "a character device";
  if (info.isBlockDevice) return "a block device";
  return "not a regular file";
}

/**
 * Walk a plugin folder and say what is wrong with it, naming the file.
 *
 * @param dir the plugin folder
 * @param limits size and count bounds
 * @returns undefined when the folder is fine, else `<relative path>: <why>`
 */
export async function checkPluginFolder(
  dir: string,
  limits: FolderLimits = DEFAULT_FOLDER_LIMITS,
): Promise<string | undefined> {
  const root = resolve(dir);
  let realRoot: string;
  try {
    realRoot = await Deno.realPath(root);
  } catch (e) {
    return `.: cannot be read (${(e as Error).message})`;
  }
  let entries = 0;
  let total = 0;
  const name = (p: string) => relative(realRoot, p) || ".";
  const inside = (p: string) => p === realRoot || p.startsWith(realRoot + SEPARATOR);
  const walk = async (d: string, depth: number): Promise<string | undefined> => {
    if (depth > limits.maxDepth) return `${name(d)}: nested deeper than ${limits.maxDepth} folders`;
    for await (const f of Deno.readDir(d)) {
      const p = join(d, f.name);
      if (++entries > limits.maxEntries) {
        return `${name(d)}: more than ${limits.maxEntries} files and folders`;
      }
      let info = await Deno.lstat(p);
      if (info.isSymlink) {
        let target: string;
        try {
          target = await Deno.realPath(p);
        } catch {
          return `${name(p)}: a symlink that resolves nowhere`;
        }
        if (!inside(target)) return `${name(p)}: a symlink that leaves the plugin folder`;
        info = await Deno.lstat(target);
        if (info.isDirectory) continue; // walked where it really is
      }
      if (info.isDirectory) {
        const why = await walk(p, depth + 1);
        if (why) return why;
      } else if (!info.isFile) {
        return `${name(p)}: ${kind(info)}, not a regular file`;
      } else {
        if (info.size > limits.maxFileBytes) {
          return `${name(p)}: ${info.size} bytes, more than ${limits.maxFileBytes}`;
        }
        total += info.size;
        if (total > limits.maxTotalBytes) {
          return `${name(p)}: the folder holds more than ${limits.maxTotalBytes} bytes`;
        }
      }
    }
    return undefined;
  };
  try {
    return await walk(realRoot, 0);
  } catch (e) {
    return `.: cannot be walked (${(e as Error).message})`;
  }
}
