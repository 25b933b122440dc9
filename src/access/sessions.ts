// Page sessions after a password sign-in: the cookie holds a random secret, the server
// keeps only its SHA-256 with the user's name and an expiry, in memory (a restart signs
// everyone out). Bounded: past the bound the oldest session goes first, counted.
import { randomBytes } from 'node:crypto';
import { sha256 } from './tokens.ts';

const PREFIX = 'fbs_';

export class Sessions {
  private readonly byHash = new Map<string, { user: string; expires: number }>();
  dropped = 0;

  constructor(readonly max = 1000, readonly ttlMs = 12 * 3600_000) {}

  /** A new session for `user`: the secret to put in the cookie. */
  open(user: string): string {
    const secret = `${PREFIX}${randomBytes(32).toString('base64url')}`;
    this.byHash.set(sha256(secret), { user, expires: Date.now() + this.ttlMs });
    for (const key of this.byHash.keys()) {
      if (this.byHash.size <= this.max) break;
      this.byHash.delete(key);
      this.dropped++;
    }
    return secret;
  }

  /** The user of a live session, or undefined. (Lookup by hash: the map never holds a secret.) */
  user(secret: string): string | undefined {
    if (!secret.startsWith(PREFIX)) return undefined;
    const key = sha256(secret);
    const s = this.byHash.get(key);
    if (!s) return undefined;
    if (s.expires < Date.now()) {
      this.byHash.delete(key);
      return undefined;
    }
    return s.user;
  }

  /** Ends every session of `user` (deleted, or password changed). */
  endAll(user: string): void {
    for (const [key, s] of this.byHash) if (s.user === user) this.byHash.delete(key);
  }

  close(secret: string): void {
    this.byHash.delete(sha256(secret));
  }

  stats() {
    return { size: this.byHash.size, max: this.max, dropped: this.dropped };
  }
}
