// This node's dispatch settings in the shared bucket (dispatch-bucket.ts), both ways:
// a change made here (REST, the interface page, flags at start) is written to the
// bucket, and a change another node made to a key this node also owns is adopted here.
// The keys a node owns:
//   capture node  mirrored.<device>     per captured device, present while it is marked mirrored
//   ingest node   companion.<zmq name>  per ZMQ interface, the companion's name while one is chosen
// Which side wins, per key, at every (re)connect (the start included) and after every
// change on either side, with the value and bucket revision this node last wrote or
// adopted kept in <data-dir>/dispatch-bucket.json:
//   1. the node's value is not the one it last synced: the node changed it since (while
//      NATS was unreachable, or before a restart): written, whatever the bucket holds;
//   2. else the bucket's entry has a later revision than the one last synced, with
//      another value: another node changed it since (ingest nodes sharing a ZMQ interface
//      name share its companion): adopted here, and saved as a change of this node;
//   3. else (no entry, an older revision: a recreated bucket): the node's value is written.
// A node's own changes therefore win over a stale entry, and an untouched node follows
// the newest one. Passes run one at a time and read the bucket afresh.
import type { KV } from '@nats-io/kv';
import { loadState, saveState } from '../runtime/state-file.ts';

/** One key this node owns: its value here now, and how another node's value is applied here. */
export interface OwnedSetting {
  key: string;
  /** null: none (not marked, no companion). */
  value: string | null;
  /** Applies another node's value on this node; throws when this node refuses it. */
  adopt(value: string | null): void;
  /** Values that mean the same (a mirrored mark is the same whoever wrote it). */
  same?(a: string | null, b: string | null): boolean;
}

export interface DispatchSyncStats {
  /** Values this node wrote to the bucket (put or deleted). */
  written: number;
  /** Other nodes' values applied on this node. */
  adopted: number;
  /** Other nodes' values this node could not apply (lastError says why). */
  refused: number;
  /** Owned keys whose change here is not in the bucket yet. */
  pending: number;
  lastError?: string;
}

interface Synced {
  value: string | null;
  revision: number;
}

const RETRY_MS = 1_000;

export class DispatchSync {
  readonly #path: string;
  readonly #owned: () => OwnedSetting[];
  readonly #log: (line: string) => void;
  readonly #synced: Map<string, Synced>;
  /** key → revision whose value this node refused (counted once; tried again when the bucket changes, never overwritten). */
  readonly #refusedAt = new Map<string, number>();
  readonly #stats = { written: 0, adopted: 0, refused: 0 };
  #lastError: string | undefined;
  #kv: KV | undefined;
  #running = false;
  #again = false;

  constructor(path: string, owned: () => OwnedSetting[], log: (line: string) => void = () => {}) {
    this.#path = path;
    this.#owned = owned;
    this.#log = log;
    const { value, problem } = loadState(path, {} as Record<string, Synced>, asSynced, 'a {"<key>": {"value": string | null, "revision": number}} object', 'dispatch bucket revisions');
    if (problem) log(`flowbridge: NATS: ${problem}`);
    this.#synced = new Map(Object.entries(value));
  }

  /** The bucket after a (re)connect: a pass over every owned key. */
  attach(kv: KV): Promise<void> {
    this.#kv = kv;
    return this.sync();
  }

  /** The connection is gone: changes wait for the next attach. */
  detach(): void {
    this.#kv = undefined;
  }

  /**
   * A bucket entry changed: a pass when it is a key this node owns at another revision
   * than it holds, or while a value is refused (a mirrored mark may make it acceptable).
   */
  entry(key: string, revision: number): void {
    if (this.#refusedAt.size > 0) void this.sync();
    else if (this.#synced.get(key)?.revision !== revision && this.#owned().some((o) => o.key === key)) void this.sync();
  }

  /** One pass over the owned keys (after a local change, or an entry that changed); never throws. */
  async sync(): Promise<void> {
    if (this.#running) {
      this.#again = true;
      return;
    }
    this.#running = true;
    try {
      do {
        this.#again = false;
        const kv = this.#kv;
        if (!kv) return;
        try {
          for (const o of this.#owned()) await this.#one(kv, o);
        } catch (err) {
          this.#lastError = (err as Error).message;
          // Not through (a timeout, a leader election): again shortly while connected.
          setTimeout(() => { if (this.#kv === kv) void this.sync(); }, RETRY_MS).unref();
          return;
        }
      } while (this.#again);
    } finally {
      this.#running = false;
    }
  }

  stats(): DispatchSyncStats {
    const pending = this.#owned().filter((o) => !same(o, o.value, this.#synced.get(o.key)?.value ?? null)).length;
    return { ...this.#stats, pending, ...(this.#lastError ? { lastError: this.#lastError } : {}) };
  }

  async #one(kv: KV, o: OwnedSetting): Promise<void> {
    const last = this.#synced.get(o.key) ?? { value: null, revision: 0 };
    const entry = await kv.get(o.key);
    const there = entry && entry.operation === 'PUT' ? entry.string() : null;
    const revision = entry?.revision ?? 0;
    if (same(o, there, o.value)) {
      if (revision !== last.revision || !same(o, last.value, o.value)) this.#record(o.key, { value: o.value, revision });
    } else if (!same(o, o.value, last.value) || revision <= last.revision) {
      await this.#write(kv, o);                                       // rules 1 and 3
    } else {
      this.#adopt(o, there, revision);                                // rule 2
    }
  }

  async #write(kv: KV, o: OwnedSetting): Promise<void> {
    let revision: number;
    if (o.value === null) {
      await kv.delete(o.key);
      revision = (await kv.get(o.key))?.revision ?? 0;
    } else revision = await kv.put(o.key, o.value);
    this.#stats.written++;
    this.#record(o.key, { value: o.value, revision });
  }

  #adopt(o: OwnedSetting, value: string | null, revision: number): void {
    const before = this.#synced.get(o.key);
    // Recorded first: the change it causes here finds this node in step and writes nothing back.
    this.#synced.set(o.key, { value, revision });
    try {
      o.adopt(value);
      this.#stats.adopted++;
      this.#record(o.key, { value, revision });
      this.#log(`flowbridge: NATS: ${o.key} is ${value ?? 'none'} as another node set it in the dispatch bucket (revision ${revision}); applied here`);
    } catch (err) {
      if (before) this.#synced.set(o.key, before);
      else this.#synced.delete(o.key);
      if (this.#refusedAt.get(o.key) === revision) return;
      this.#refusedAt.set(o.key, revision);
      this.#stats.refused++;
      this.#lastError = `${o.key} = ${value ?? 'none'} from the dispatch bucket (revision ${revision}) not applied: ${(err as Error).message}`;
      this.#log(`flowbridge: NATS: ${this.#lastError}`);
    }
  }

  #record(key: string, s: Synced): void {
    this.#synced.set(key, s);
    this.#refusedAt.delete(key);
    try {
      saveState(this.#path, Object.fromEntries(this.#synced));
    } catch (err) {
      this.#lastError = `cannot save ${this.#path}: ${(err as Error).message}`;
    }
  }
}

function same(o: OwnedSetting, a: string | null, b: string | null): boolean {
  return o.same ? o.same(a, b) : a === b;
}

function asSynced(v: unknown): Record<string, Synced> | undefined {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return undefined;
  const out: Record<string, Synced> = {};
  for (const [k, s] of Object.entries(v as Record<string, unknown>)) {
    const { value, revision } = (s ?? {}) as Record<string, unknown>;
    if ((value !== null && typeof value !== 'string') || typeof revision !== 'number') return undefined;
    out[k] = { value, revision };
  }
  return out;
}
