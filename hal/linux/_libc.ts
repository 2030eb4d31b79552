/**
 * The only native library `hal/linux` opens for buses: libc, through `Deno.dlopen`.
 * Opened lazily once per process. Blocking calls have a `…Nb` twin declared
 * `nonblocking: true` (runs on a pool thread, resolves a Promise).
 *
 * errno is thread-local: after a sync call it is read with `__errno_location()` on the same
 * thread. A nonblocking call runs on one of several pool threads (4 distinct ones seen in 200
 * calls here), so its errno cannot be read afterwards; callers recover it by repeating the
 * failed call synchronously (`LinuxI2cBus` in `"nonblocking"` mode), or avoid the pool and
 * make sync calls on a thread of their own (`LinuxI2cBus` in `"worker"` mode, its default).
 *
 * @module
 */

const SYMBOLS = {
  open: { parameters: ["buffer", "i32", "u32"], result: "i32" },
  close: { parameters: ["i32"], result: "i32" },
  ioctl: { parameters: ["i32", "u64", "pointer"], result: "i32" },
  ioctlNb: { name: "ioctl", parameters: ["i32", "u64", "pointer"], result: "i32", nonblocking: true },
  ioctlInt: { name: "ioctl", parameters: ["i32", "u64", "u64"], result: "i32" },
  read: { parameters: ["i32", "pointer", "usize"], result: "isize" },
  readNb: { name: "read", parameters: ["i32", "pointer", "usize"], result: "isize", nonblocking: true },
  write: { parameters: ["i32", "pointer", "usize"], result: "isize" },
  writeNb: { name: "write", parameters: ["i32", "pointer", "usize"], result: "isize", nonblocking: true },
  poll: { parameters: ["pointer", "u64", "i32"], result: "i32" },
  pollNb: { name: "poll", parameters: ["pointer", "u64", "i32"], result: "i32", nonblocking: true },
  flock: { parameters: ["i32", "i32"], result: "i32" },
  errnoLocation: { name: "__errno_location", parameters: [], result: "pointer" },
  posix_openpt: { parameters: ["i32"], result: "i32" },
  grantpt: { parameters: ["i32"], result: "i32" },
  unlockpt: { parameters: ["i32"], result: "i32" },
  ptsname: { parameters: ["i32"], result: "pointer" },
} as const satisfies Deno.ForeignLibraryInterface;

/** The libc symbols `hal/linux` uses. */
export type LibcSymbols = Deno.DynamicLibrary<typeof SYMBOLS>["symbols"];

/** open(2) flags (same values on x86_64 and arm64). */
export const O_RDONLY = 0;
export const O_RDWR = 2;
export const O_NOCTTY = 0o400;
export const O_NONBLOCK = 0o4000;
export const O_CLOEXEC = 0o2000000;

/** flock(2) operations. */
export const LOCK_EX = 2;
export const LOCK_NB = 4;

/** poll(2) event bits. */
export const POLLIN = 0x1;
export const POLLOUT = 0x4;

let library: Deno.DynamicLibrary<typeof SYMBOLS> | undefined;

/** libc symbols, opened on first use. */
export function libc(): LibcSymbols {
  library ??= Deno.dlopen("libc.so.6", SYMBOLS);
  return library.symbols;
}

/** errno of the calling thread, to be read right after a failed sync call. */
export function errno(): number {
  const p = libc().errnoLocation();
  return p === null ? 0 : new Deno.UnsafePointerView(p).getInt32();
}

/** Pointer to the start of a buffer, for struct fields and call arguments. */
export function ptr(buf: BufferSource): Deno.PointerValue {
  const view = buf instanceof ArrayBuffer ? new Uint8Array(buf) : buf;
  return Deno.UnsafePointer.of(view as Uint8Array<ArrayBuffer>);
}

/** Numeric address of a buffer, for writing pointers into structs. */
export function address(buf: BufferSource): bigint {
  return BigInt(Deno.UnsafePointer.value(ptr(buf)));
}

/** NUL-terminated UTF-8 for path arguments. */
export function cString(s: string): Uint8Array<ArrayBuffer> {
  return new TextEncoder().encode(`${s}\0`);
}

/**
 * Open a device node.
 *
 * @returns the fd, or `-errno` when the open failed
 */
export function openPath(path: string, flags: number): number {
  const fd = libc().open(cString(path), flags | O_CLOEXEC, 0);
  return fd < 0 ? -errno() : fd;
}

/** Close a file descriptor, ignoring errors (used on release paths). */
export function closeFd(fd: number): void {
  if (fd >= 0) libc().close(fd);
}
