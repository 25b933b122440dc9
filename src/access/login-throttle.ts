// Failed sign-ins slow a guesser down: per client address and per user name, the first
// FREE failures within WINDOW are answered as usual; each failure past them locks the
// key for BASE·2^(n−FREE), at most MAX. While locked, sign-ins are answered 429 with
// Retry-After without checking the credential. Attempts still being checked count too,
// so a guesser sending many at once gets no more than FREE checked either. A success
// clears the user name's count; an address's count ages out with the window. Bounded:
// at most `maxKeys` keys, the oldest going first, counted.

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
  /** Attempts being checked now, by key (as many as sign-ins in flight). */
  readonly #pending = new Map<string, number>();
  readonly o: ThrottleOptions;
  dropped = 0;

  constructor(options: Partial<ThrottleOptions> = {}) {
    this.o = { ...THROTTLE_DEFAULTS, ...options };
  }

  /**
   * Starts an attempt: refused (whole seconds to wait, and the keys that refuse) while a
   * key is locked or has as many attempts in flight as failures left before its lock;
   * else `end` must be called once with how it ended.
   */
  begin(keys: string[], now = Date.now()): { refused: { seconds: number; locked: string[] } } | { end: (outcome: 'failed' | 'succeeded', userKeyToClear?: string) => void } {
    let seconds = 0;
    const locked: string[] = [];
    for (const key of keys) {
      const e = this.#live(key, now);
      const pending = this.#pending.get(key) ?? 0;
      if (e && e.lockedUntil > now) seconds = Math.max(seconds, Math.ceil((e.lockedUntil - now) / 1000));
      else if ((e?.failures ?? 0) + pending >= this.o.free) seconds = Math.max(seconds, 1);
      else continue;
      locked.push(key);
    }
    if (locked.length) return { refused: { seconds, locked } };
    for (const key of keys) this.#pending.set(key, (this.#pending.get(key) ?? 0) + 1);
    let ended = false;
    return {
      end: (outcome, userKeyToClear) => {
        if (ended) return;
        ended = true;
        for (const key of keys) {
          const left = (this.#pending.get(key) ?? 1) - 1;
          if (left > 0) this.#pending.set(key, left);
          else this.#pending.delete(key);
        }
        if (outcome === 'failed') this.failed(keys);
        else if (userKeyToClear) this.#entries.delete(userKeyToClear);
      },
    };
  }

  /** Counts a failure against each key; past the free ones it locks the key. */
  private failed(keys: string[], now = Date.now()): void {
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
