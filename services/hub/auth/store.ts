/**
 * `AuthStore`: users (scrypt hashes) and long-lived API tokens (SHA-256 of a 256-bit secret),
 * kept in `<state dir>/hub-auth.json` with mode `0600` (written to a temp file, then renamed).
 * Without a directory the store lives in memory (tests). A file changed by the CLI while the hub
 * runs is picked up on the next check (at most once per second).
 *
 * @module
 */
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import { join } from "node:path";

/** Roles of a user. `operator` may act on devices; `viewer` only reads. */
export type Role = "admin" | "operator" | "viewer";
/** Every role. */
export const ROLES: readonly Role[] = ["admin", "operator", "viewer"];

/** A user as stored. */
export interface UserRecord {
  name: string;
  role: Role;
  hash: string;
  created: string;
}

/** A token as stored (never the secret itself). */
export interface TokenRecord {
  id: string;
  name: string;
  scopes: string[];
  hash: string;
  created: string;
  lastUsed: string | null;
  createdBy: string;
}

/** A token as listed: no hash. */
export type TokenView = Omit<TokenRecord, "hash">;

interface FileShape {
  version: 1;
  users: UserRecord[];
  tokens: TokenRecord[];
}

/** Name of the file in the state dir. */
export const AUTH_FILE = "hub-auth.json";
const NAME = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$/;
/** A scope: `read`, `act`, `admin` or `push:<node>`. */
export const SCOPE = /^(read|act|admin|push:[a-z0-9][a-z0-9_-]{0,63})$/;

/** Why `name` is not a valid user or token name, or null. */
export function nameProblem(name: unknown): string | null {
  if (typeof name !== "string" || !NAME.test(name)) {
    return "must be 1-64 letters, digits, '.', '_', '@' or '-', starting with a letter or digit";
  }
  return null;
}

function sha256(s: string): Buffer {
  return createHash("sha256").update(s).digest();
}

/** Split `hvt_<id>_<secret>`. */
function parseToken(token: string): { id: string; secret: string } | null {
  const m = token.match(/^hvt_([0-9a-f]{12})_([A-Za-z0-9_-]{43})$/);
  return m ? { id: m[1], secret: m[2] } : null;
}

/** Users and API tokens, persisted when a directory is given. */
export class AuthStore {
  #file: string | null;
  #data: FileShape = { version: 1, users: [], tokens: [] };
  /**
   * The file's text as last read or written. Change detection compares text, not mtime: two writes
   * within one coarse kernel timestamp tick (a CLI create then revoke) carry the same mtime.
   */
  #text = "";
  #checkedAt = -Infinity;
  #dirtyUse = false;
  #useTimer: ReturnType<typeof setTimeout> | null = null;

  /** @param dir state dir, or null for memory only */
  constructor(dir: string | null) {
    this.#file = dir ? join(dir, AUTH_FILE) : null;
    this.#load();
  }

  /** Path of the file, or null in memory. */
  get file(): string | null {
    return this.#file;
  }

  #load(): void {
    if (!this.#file) return;
    let text: string;
    try {
      text = Deno.readTextFileSync(this.#file);
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) return;
      throw new Error(`Cannot read ${this.#file}: ${(e as Error).message}`);
    }
    let parsed: FileShape;
    try {
      parsed = JSON.parse(text);
    } catch (e) {
      throw new Error(`Cannot read ${this.#file}: malformed JSON (${(e as Error).message})`);
    }
    if (!parsed || !Array.isArray(parsed.users) || !Array.isArray(parsed.tokens)) {
      throw new Error(`Cannot read ${this.#file}: expected { users: [], tokens: [] }`);
    }
    this.#data = { version: 1, users: parsed.users, tokens: parsed.tokens };
    this.#text = text;
  }

  /** Re-read the file when another process (the CLI) changed it; at most once per second. */
  refresh(): void {
    if (!this.#file || performance.now() - this.#checkedAt < 1000) return;
    this.#sync();
  }

  /** Re-read the file now when its content changed. @returns true when it was re-read */
  #sync(): boolean {
    if (!this.#file) return false;
    this.#checkedAt = performance.now();
    let text: string;
    try {
      text = Deno.readTextFileSync(this.#file);
    } catch {
      return false; // Deleted or unreadable: keep what is in memory.
    }
    if (text === this.#text) return false;
    this.#load();
    return true;
  }

  #save(): void {
    if (!this.#file) return;
    const tmp = `${this.#file}.${crypto.randomUUID()}.tmp`;
    const text = JSON.stringify(this.#data, null, 2) + "\n";
    Deno.writeTextFileSync(tmp, text, { mode: 0o600 });
    Deno.chmodSync(tmp, 0o600);
    Deno.renameSync(tmp, this.#file);
    this.#text = text;
  }

  // --- users

  /** Number of users. */
  get userCount(): number {
    return this.#data.users.length;
  }

  /** All users, without hashes. */
  users(): Array<Omit<UserRecord, "hash">> {
    return this.#data.users.map(({ hash: _, ...u }) => u);
  }

  /** The user called `name`, or undefined. */
  user(name: string): UserRecord | undefined {
    return this.#data.users.find((u) => u.name === name);
  }

  /**
   * Add a user with an already computed password hash.
   *
   * @throws {Error} when the name is taken
   */
  addUser(name: string, role: Role, hash: string): void {
    this.#sync();
    if (this.user(name)) throw new Error(`Cannot create user '${name}': it exists`);
    this.#data.users.push({ name, role, hash, created: new Date().toISOString() });
    this.#save();
  }

  /** Remove a user. @returns false when there was none */
  removeUser(name: string): boolean {
    this.#sync();
    const before = this.#data.users.length;
    this.#data.users = this.#data.users.filter((u) => u.name !== name);
    if (this.#data.users.length === before) return false;
    this.#save();
    return true;
  }

  // --- tokens

  /** Number of API tokens. */
  get tokenCount(): number {
    return this.#data.tokens.length;
  }

  /** Tokens without hashes. */
  tokens(): TokenView[] {
    return this.#data.tokens.map(({ hash: _, ...t }) => t);
  }

  /**
   * Create a token. The secret is returned once and never stored.
   *
   * @returns the token string `hvt_<id>_<secret>` and its record view
   */
  createToken(name: string, scopes: string[], createdBy: string): { token: string; view: TokenView } {
    this.#sync();
    const id = randomBytes(6).toString("hex");
    const secret = randomBytes(32).toString("base64url");
    const rec: TokenRecord = {
      id,
      name,
      scopes: [...new Set(scopes)],
      hash: sha256(secret).toString("hex"),
      created: new Date().toISOString(),
      lastUsed: null,
      createdBy,
    };
    this.#data.tokens.push(rec);
    this.#save();
    const { hash: _, ...view } = rec;
    return { token: `hvt_${id}_${secret}`, view };
  }

  /** Revoke by id or name. @returns the revoked tokens' views */
  revokeToken(idOrName: string): TokenView[] {
    this.#sync();
    const gone = this.#data.tokens.filter((t) => t.id === idOrName || t.name === idOrName);
    if (!gone.length) return [];
    this.#data.tokens = this.#data.tokens.filter((t) => !gone.includes(t));
    this.#save();
    return gone.map(({ hash: _, ...t }) => t);
  }

  /**
   * Find the record of a presented token (constant-time hash compare) and stamp its last use.
   *
   * @returns the record, or null for an unknown or wrong token
   */
  verifyToken(token: string): TokenRecord | null {
    const parsed = parseToken(token);
    if (!parsed) return null;
    this.refresh();
    const rec = this.#data.tokens.find((t) => t.id === parsed.id);
    const got = sha256(parsed.secret);
    const want = rec ? Buffer.from(rec.hash, "hex") : sha256("no such token");
    if (!(got.length === want.length && timingSafeEqual(got, want)) || !rec) return null;
    rec.lastUsed = new Date().toISOString();
    this.#markUsed();
    return rec;
  }

  /** Persist last-used times at most every 30 s (a token used per request must not write per request). */
  #markUsed(): void {
    this.#dirtyUse = true;
    if (this.#useTimer || !this.#file) return;
    this.#useTimer = setTimeout(() => this.flush(), 30_000);
    Deno.unrefTimer(this.#useTimer as unknown as number);
  }

  /** Write pending last-used times now. */
  flush(): void {
    if (this.#useTimer) clearTimeout(this.#useTimer);
    this.#useTimer = null;
    if (!this.#dirtyUse) return;
    this.#dirtyUse = false;
    // Changed by the CLI meanwhile: its version wins over last-used stamps.
    if (this.#sync()) return;
    try {
      this.#save();
    } catch {
      // The next change writes them.
    }
  }
}
