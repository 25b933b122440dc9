// Page sessions after a sign-in, with a password or with a token: the cookie holds a
// random session id, never the token; the server keeps only its SHA-256 with the user's
// name, how they signed in (and which token) and an expiry, in memory (a restart signs
// everyone out). A session ends at sign-out, at its expiry, and when its user is
// removed, its user's password changes or the token it was opened with is revoked.
// Bounded: past the bound the oldest session goes first, counted.
import { randomBytes } from 'node:crypto';
import { sha256 } from './tokens.ts';

const PREFIX = 'fbs_';

/** How a session was opened: a user's password, a user's token (by id), or the --api-token. */
export type SessionOrigin = { kind: 'password' } | { kind: 'token'; tokenId: string } | { kind: 'api-token' };

export type Session = SessionOrigin & { user: string; expires: number };

export class Sessions {
  private readonly byHash = new Map<string, Session>();
  dropped = 0;

  constructor(readonly max = 1000, readonly ttlMs = 12 * 3600_000) {}

  /** A new session for `user`: the id to put in the cookie. */
  open(user: string, origin: SessionOrigin = { kind: 'password' }, ttlMs = this.ttlMs): string {
    const secret = `${PREFIX}${randomBytes(32).toString('base64url')}`;
    this.byHash.set(sha256(secret), { ...origin, user, expires: Date.now() + ttlMs });
    for (const key of this.byHash.keys()) {
      if (this.byHash.size <= this.max) break;
      this.byHash.delete(key);
      this.dropped++;
    }
    return secret;
  }

  /** A live session, or undefined. (Lookup by hash: the map never holds a session id.) */
  session(secret: string): Session | undefined {
    if (!secret.startsWith(PREFIX)) return undefined;
    const key = sha256(secret);
    const s = this.byHash.get(key);
    if (!s) return undefined;
    if (s.expires < Date.now()) {
      this.byHash.delete(key);
      return undefined;
    }
    return s;
  }

  /** Ends every session of `user` (deleted, or password changed). */
  endAll(user: string): void {
    for (const [key, s] of this.byHash) if (s.user === user && s.kind !== 'api-token') this.byHash.delete(key);
  }

  /** Ends the sessions opened with a user's token (revoked). */
  endToken(tokenId: string): void {
    for (const [key, s] of this.byHash) if (s.kind === 'token' && s.tokenId === tokenId) this.byHash.delete(key);
  }

  close(secret: string): void {
    this.byHash.delete(sha256(secret));
  }

  stats() {
    return { size: this.byHash.size, max: this.max, dropped: this.dropped };
  }
}
