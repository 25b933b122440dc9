// The users: defined in the config file and changed by admins over the API, kept in
// <data-dir>/users.json (written atomically) with secrets only as hashes. A user the
// config file defines is added at start unless users.json already has it (saved
// changes win) or an admin deleted it. Bounded: at most MAX_USERS users and
// MAX_TOKENS tokens each; a request past a bound is refused, naming it.
import { join } from 'node:path';
import { chmodSync } from 'node:fs';
import { PERMISSIONS, ROLES, type StoredUser, type UserInput, type UserView } from '../model/access.ts';
import { loadState, saveState } from '../runtime/state-file.ts';
import { hashPassword, isPasswordHash, verifyPassword } from './password.ts';
import { effectivePermissions } from './permission.ts';
import { Sessions } from './sessions.ts';
import { matchesHash, newToken, tokenId } from './tokens.ts';

export const MAX_USERS = 1000;
export const MAX_TOKENS = 100;
const NAME = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$/;
const MIN_PASSWORD = 8;

/** A refused change: the message names what is wrong and what is accepted. */
export class UserError extends Error {
  constructor(message: string, readonly status: 400 | 404 | 409 = 400) {
    super(message);
  }
}

interface UsersFile {
  users: StoredUser[];
  /** Config users an admin deleted: not added again at the next start. */
  removed: string[];
}

const FIELDS = ['name', 'roles', 'grants', 'deny', 'password'];

function list<T extends string>(v: unknown, field: string, accepted: readonly T[], user: string): T[] {
  if (!Array.isArray(v) || v.some((x) => !accepted.includes(x as T))) {
    throw new UserError(`user ${user}: ${field} must be a list of ${accepted.join(', ')} (got ${JSON.stringify(v)})`);
  }
  return [...new Set(v as T[])];
}

/** Checks a create or change body; `partial`: a PATCH (every field optional, name not accepted). */
export function userInput(body: unknown, partial: boolean, name?: string): Partial<UserInput> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new UserError('the body must be a JSON object: { "name", "roles": ["viewer" | "operator" | "admin"], "grants"?: ["capture" | "pcap"], "deny"?: [...], "password"? }');
  }
  const b = body as Record<string, unknown>;
  const accepted = partial ? FIELDS.filter((f) => f !== 'name') : FIELDS;
  for (const k of Object.keys(b)) if (!accepted.includes(k)) throw new UserError(`unknown field ${k} (accepted: ${accepted.join(', ')})`);
  const who = name ?? (typeof b.name === 'string' ? b.name : '?');
  const out: Partial<UserInput> = {};
  if (!partial) {
    if (typeof b.name !== 'string' || !NAME.test(b.name)) throw new UserError(`name ${JSON.stringify(b.name ?? null)} is not a user name (1-64 letters, digits, '.', '_', '@', '-', starting with a letter or digit)`);
    if (b.name === 'token' || b.name === 'anonymous') throw new UserError(`name ${b.name} is reserved (it names the --api-token and unauthenticated calls in the audit log)`);
    out.name = b.name;
    if (b.roles === undefined) throw new UserError(`user ${who}: roles is required: a list of ${ROLES.join(', ')} (may be empty)`);
  }
  if (b.roles !== undefined) out.roles = list(b.roles, 'roles', ROLES, who);
  if (b.grants !== undefined) out.grants = list(b.grants, 'grants', PERMISSIONS, who);
  if (b.deny !== undefined) out.deny = list(b.deny, 'deny', PERMISSIONS, who);
  if (b.password !== undefined && b.password !== null) {
    if (typeof b.password !== 'string' || b.password.length < MIN_PASSWORD) throw new UserError(`user ${who}: password must be a string of at least ${MIN_PASSWORD} characters`);
    out.password = b.password;
  }
  if (partial && b.password === null) out.password = '';
  if (partial && Object.keys(b).length === 0) throw new UserError(`nothing to change: give roles, grants, deny and/or password`);
  return out;
}

export const userView = (u: StoredUser): UserView => ({
  name: u.name, roles: u.roles, grants: u.grants, deny: u.deny, permissions: effectivePermissions(u.grants, u.deny),
  password: u.passwordHash !== undefined, tokens: u.tokens.map((t) => ({ id: t.id, createdAt: t.createdAt })), source: u.source,
});

const shapeOk = (v: unknown): UsersFile | undefined => {
  const f = v as UsersFile;
  return f && Array.isArray(f.users) && Array.isArray(f.removed) && f.users.every((u) => typeof u.name === 'string' && Array.isArray(u.roles) && Array.isArray(u.tokens)) ? f : undefined;
};

export class UserStore {
  readonly path: string;
  readonly sessions = new Sessions();
  /** Start-up notes: plain-text passwords hashed, an unreadable file moved aside. */
  readonly notes: string[] = [];
  readonly problems: string[] = [];
  private state: UsersFile;

  constructor(dataDir: string, configured: UserInput[] = []) {
    this.path = join(dataDir, 'users.json');
    const loaded = loadState<UsersFile>(this.path, { users: [], removed: [] }, shapeOk, '{ users: [...], removed: [...] }', 'users');
    if (loaded.problem) this.problems.push(loaded.problem);
    this.state = loaded.value;
    let added = false;
    for (const input of configured) {
      if (this.find(input.name) || this.state.removed.includes(input.name)) continue;
      let passwordHash: string | undefined;
      if (input.password !== undefined) {
        if (isPasswordHash(input.password)) passwordHash = input.password;
        else {
          passwordHash = hashPassword(input.password);
          this.notes.push(`user ${input.name}: the config file gives a plain-text password; it is kept hashed in ${this.path}, but replace it in the config file by this hash: ${passwordHash}`);
        }
      }
      this.state.users.push({ name: input.name, roles: [...input.roles], grants: [...(input.grants ?? [])], deny: [...(input.deny ?? [])], passwordHash, tokens: [], source: 'config' });
      added = true;
    }
    if (added) this.save();
  }

  get size(): number {
    return this.state.users.length;
  }

  list(): UserView[] {
    return this.state.users.map(userView);
  }

  find(name: string): StoredUser | undefined {
    return this.state.users.find((u) => u.name === name);
  }

  get(name: string): StoredUser {
    const u = this.find(name);
    if (!u) throw new UserError(`no user ${JSON.stringify(name)} (see GET /api/v1/users)`, 404);
    return u;
  }

  create(body: unknown): UserView {
    const input = userInput(body, false) as UserInput;
    if (this.find(input.name)) throw new UserError(`user ${input.name} exists: change it with PATCH /api/v1/users/${input.name}`, 409);
    if (this.size >= MAX_USERS) throw new UserError(`at most ${MAX_USERS} users: delete one first`, 409);
    const user: StoredUser = {
      name: input.name, roles: input.roles, grants: input.grants ?? [], deny: input.deny ?? [],
      passwordHash: input.password ? hashPassword(input.password) : undefined, tokens: [], source: 'api',
    };
    this.state.users.push(user);
    this.state.removed = this.state.removed.filter((n) => n !== user.name);
    this.save();
    return userView(user);
  }

  update(name: string, body: unknown): UserView {
    const user = this.get(name);
    const input = userInput(body, true, name);
    const next: StoredUser = { ...user, roles: input.roles ?? user.roles, grants: input.grants ?? user.grants, deny: input.deny ?? user.deny };
    if (input.password !== undefined) next.passwordHash = input.password === '' ? undefined : hashPassword(input.password);
    this.state.users = this.state.users.map((u) => (u === user ? next : u));
    this.save();
    if (input.password !== undefined) this.sessions.endAll(name);
    return userView(next);
  }

  remove(name: string): void {
    const user = this.get(name);
    // With no users the older rule (the API token, or anyone on loopback) would apply again: never by accident.
    if (this.size === 1) throw new UserError(`${name} is the last user: with none, the API would fall back to the API token or loopback rule; create another user first`, 409);
    this.state.users = this.state.users.filter((u) => u !== user);
    if (user.source === 'config' && !this.state.removed.includes(name)) this.state.removed.push(name);
    this.save();
    this.sessions.endAll(name);
  }

  /** A new token for `name`: the token itself is returned once and never kept. */
  createToken(name: string): { id: string; token: string; createdAt: string } {
    const user = this.get(name);
    if (user.tokens.length >= MAX_TOKENS) throw new UserError(`user ${name} has ${MAX_TOKENS} tokens, the most kept: revoke one first`, 409);
    const { id, token, sha256 } = newToken();
    const createdAt = new Date().toISOString();
    user.tokens.push({ id, sha256, createdAt });
    this.save();
    return { id, token, createdAt };
  }

  revokeToken(name: string, id: string): void {
    const user = this.get(name);
    if (!user.tokens.some((t) => t.id === id)) throw new UserError(`user ${name} has no token ${JSON.stringify(id)} (see GET /api/v1/users)`, 404);
    user.tokens = user.tokens.filter((t) => t.id !== id);
    this.save();
    this.sessions.endToken(id);
  }

  /** The user a token of ours belongs to, or undefined. */
  byToken(token: string): StoredUser | undefined {
    const id = tokenId(token);
    if (!id) return undefined;
    for (const u of this.state.users) {
      const t = u.tokens.find((x) => x.id === id);
      if (t) return matchesHash(token, t.sha256) ? u : undefined;
    }
    return undefined;
  }

  /** The user when the password is theirs (always spends a scrypt, so a wrong name is not quicker). */
  async byPassword(name: string, password: string): Promise<StoredUser | undefined> {
    const u = this.find(name);
    const ok = await verifyPassword(password, u?.passwordHash ?? DUMMY);
    return ok && u?.passwordHash ? u : undefined;
  }

  private save(): void {
    saveState(this.path, this.state);
    chmodSync(this.path, 0o600);
  }
}

const DUMMY = hashPassword('not a password of anyone');
