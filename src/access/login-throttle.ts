// Failed sign-ins slow a guesser down: per client address and per user name, the first
// FREE failures within WINDOW are answered as usual; each failure past them locks the
// key for BASE·2^(n−FREE), at most MAX. While locked, sign-ins are answered 429 with
// Retry-After without checking the credential. A success clears the user name's count;
// an address's count ages out with the window. Bounded: at most `maxKeys` keys, the
// oldest going first, counted.

export interface ThrottleOptions {
  /** Failures taken within the window before a lock. */
  free: number;
  windowMs: number;
  /** The first lock; each further failure doubles it. */
  baseMs: number;
  maxMs: number;
  maxKeys: number;
}

export const THROTTLE_DEFAULTS: ThrottleOptions = { free: 5, windowMs: 15 * 60_000, baseMs: 2_000, maxMs: 15 * 60_000, maxKeys: 10_000 };

interface Entry {
  failures: number;
  last: number;
  lockedUntil: number;
}

/** A key of the throttle: a client address or a user name. */
export const addressKey = (address: string | undefined) => `address ${address ?? 'unknown'}`;
export const userKey = (name: string) => `user ${name}`;

export class LoginThrottle {
  readonly #entries = new Map<string, Entry>();
  readonly o: ThrottleOptions;
  dropped = 0;

  constructor(options: Partial<ThrottleOptions> = {}) {
    this.o = { ...THROTTLE_DEFAULTS, ...options };
  }

  /** Whole seconds until every one of `keys` may try again (0: now), and the keys locked now. */
  retryAfter(keys: string[], now = Date.now()): { seconds: number; locked: string[] } {
    let seconds = 0;
    const locked: string[] = [];
    for (const key of keys) {
      const e = this.#live(key, now);
      if (e && e.lockedUntil > now) {
        seconds = Math.max(seconds, Math.ceil((e.lockedUntil - now) / 1000));
        locked.push(key);
      }
    }
    return { seconds, locked };
  }

  /** Counts a failure against each key; past the free ones it locks the key. */
  failed(keys: string[], now = Date.now()): void {
    for (const key of keys) {
      const e = this.#live(key, now) ?? { failures: 0, last: now, lockedUntil: 0 };
      e.failures++;
      e.last = now;
      if (e.failures >= this.o.free) e.lockedUntil = now + Math.min(this.o.maxMs, this.o.baseMs * 2 ** Math.min(30, e.failures - this.o.free));
      this.#entries.delete(key); // re-inserted: the map stays in order of last use
      this.#entries.set(key, e);
    }
    for (const key of this.#entries.keys()) {
      if (this.#entries.size <= this.o.maxKeys) break;
      this.#entries.delete(key);
      this.dropped++;
    }
  }

  succeeded(key: string): void {
    this.#entries.delete(key);
  }

  stats() {
    return { size: this.#entries.size, max: this.o.maxKeys, dropped: this.dropped };
  }

  /** The key's entry unless it aged out (no failure within the window and no lock left). */
  #live(key: string, now: number): Entry | undefined {
    const e = this.#entries.get(key);
    if (e && now - e.last > this.o.windowMs && e.lockedUntil <= now) {
      this.#entries.delete(key);
      return undefined;
    }
    return e;
  }
}
