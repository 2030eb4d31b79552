/**
 * Password hashing with scrypt from `node:crypto` (a slow, memory-hard KDF; no home-made crypto).
 * Stored form: `scrypt$<N>$<r>$<p>$<salt b64url>$<hash b64url>`.
 *
 * @module
 */
import { randomBytes, scrypt, timingSafeEqual } from "node:crypto";

/** scrypt cost: N = 2^15, r = 8, p = 1 (≈ 32 MiB, tens of ms per guess on a Pi). */
const N = 32768;
const R = 8;
const P = 1;
const KEY_LEN = 32;
const MAX_MEM = 64 * 1024 * 1024;

/** Shortest password accepted. */
export const MIN_PASSWORD_LENGTH = 10;

function derive(password: string, salt: Buffer, n: number, r: number, p: number): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    scrypt(
      password,
      salt,
      KEY_LEN,
      { N: n, r, p, maxmem: MAX_MEM },
      (err, key) => err ? reject(err) : resolve(key),
    )
  );
}

/**
 * Hash `password` with a fresh random salt.
 *
 * @returns the stored form `scrypt$N$r$p$salt$hash`
 */
export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const key = await derive(password, salt, N, R, P);
  return `scrypt$${N}$${R}$${P}$${salt.toString("base64url")}$${key.toString("base64url")}`;
}

/**
 * Check `password` against a stored hash in constant time.
 *
 * @returns false for a wrong password or a malformed stored hash
 */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const parts = stored.split("$");
  if (parts.length !== 6 || parts[0] !== "scrypt") return false;
  const [n, r, p] = parts.slice(1, 4).map(Number);
  if (![n, r, p].every((x) => Number.isInteger(x) && x > 0) || n > 1 << 20) return false;
  const salt = Buffer.from(parts[4], "base64url");
  const expected = Buffer.from(parts[5], "base64url");
  let key: Buffer;
  try {
    key = await derive(password, salt, n, r, p);
  } catch {
    return false; // parameters scrypt refuses (N not a power of two, memory over the cap)
  }
  return key.length === expected.length && timingSafeEqual(key, expected);
}

/** A stored hash of a random password: verified against for unknown users so timing does not tell. */
export const DUMMY_HASH = `scrypt$${N}$${R}$${P}$${randomBytes(16).toString("base64url")}$${
  randomBytes(KEY_LEN).toString("base64url")
}`;

/**
 * Why `password` is not acceptable, or null.
 *
 * @example
 * ```ts
 * import { passwordProblem } from "./passwords.ts";
 * console.assert(passwordProblem("short") !== null);
 * ```
 */
export function passwordProblem(password: unknown): string | null {
  if (typeof password !== "string") return "must be a string";
  if (password.length < MIN_PASSWORD_LENGTH) return `must be at least ${MIN_PASSWORD_LENGTH} characters`;
  if (password.length > 1024) return "must be at most 1024 characters";
  return null;
}
