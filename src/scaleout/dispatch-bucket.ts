// Dispatch rules across nodes, shared through a JetStream key-value bucket:
//   target.<device>        a capture node captures this device (it consumes its events)
//   mirrored.<device>      the device is marked "Mirrored Traffic" (dispatch rule 3)
//   companion.<zmq name>   the mirrored device a ZMQ interface's events also go to
// Capture nodes announce their devices; their mirrored marks and ingest nodes' companions
// follow every change of the node's settings (flags, REST, the interface page) both ways
// (dispatch-sync.ts); every node watches the bucket and routes by what it holds now.
import { Kvm, type KV } from '@nats-io/kv';
import type { Ready } from './connection.ts';
import { DISPATCH_BUCKET } from './streams.ts';
import { subjectToken } from './settings.ts';

/** How long an open waits for the watch to hold the bucket's values. */
const LOAD_WAIT_MS = 5_000;

export interface DispatchView {
  /** Device tokens some capture node consumes. */
  targets: Set<string>;
  mirrored: Set<string>;
  /** ZMQ interface token → device token. */
  companions: Map<string, string>;
}

export class DispatchBucket {
  readonly view: DispatchView = { targets: new Set(), mirrored: new Set(), companions: new Map() };
  #kv: KV | undefined;
  #watching = false;
  readonly #replicas: number;
  readonly #entryListeners: ((key: string, revision: number) => void)[] = [];
  /** Resolved once the watch has delivered every key's value at its start. */
  #initialised!: () => void;
  readonly #loaded = new Promise<void>((resolve) => { this.#initialised = resolve; });

  constructor(replicas: number) {
    this.#replicas = replicas;
  }

  /** Opens (or creates) the bucket and watches it; called on every (re)connect. Resolves once the view holds the bucket (or after a few seconds). */
  async open(ready: Ready): Promise<KV> {
    const kv = await new Kvm(ready.nc).create(DISPATCH_BUCKET, { replicas: this.#replicas, history: 1 });
    this.#kv = kv;
    if (!this.#watching) {
      this.#watching = true;
      void this.#watch(kv);
    }
    await Promise.race([this.#loaded, new Promise((r) => setTimeout(r, LOAD_WAIT_MS).unref())]);
    return kv;
  }

  /** Told each entry as the watch sees it, after the view took it. */
  onEntry(listener: (key: string, revision: number) => void): void {
    this.#entryListeners.push(listener);
  }

  /** The mirrored devices as an ingest node's settings check a companion against them. */
  get remoteMirrored(): { has(name: string): boolean; list(): string[] } {
    const mirrored = this.view.mirrored;
    return { has: (name) => mirrored.has(subjectToken(name)), list: () => [...mirrored].sort() };
  }

  async announce(entries: Record<string, string>): Promise<void> {
    const kv = this.#kv;
    if (!kv) return;
    for (const [k, v] of Object.entries(entries)) await kv.put(k, v);
  }

  async #watch(kv: KV): Promise<void> {
    try {
      // Every key's last value first, then each change: the view follows the bucket.
      const it = await kv.watch();
      if ((await kv.status()).values === 0) this.#initialised();
      for await (const e of it) {
        const [kind, ...rest] = e.key.split('.');
        const name = rest.join('.');
        const removed = e.operation !== 'PUT';
        if (kind === 'target') removed ? this.view.targets.delete(name) : this.view.targets.add(name);
        else if (kind === 'mirrored') removed ? this.view.mirrored.delete(name) : this.view.mirrored.add(name);
        else if (kind === 'companion') removed ? this.view.companions.delete(name) : this.view.companions.set(name, subjectToken(e.string()));
        // The start's last value is the first marked as an update.
        if (e.isUpdate) this.#initialised();
        for (const listener of this.#entryListeners) listener(e.key, e.revision);
      }
    } catch {
      // Ended by an error: the next open (a reconnect or announce retry) watches again.
    } finally {
      this.#watching = false;
    }
  }
}
