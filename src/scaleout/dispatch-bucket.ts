// Dispatch rules across nodes, shared through a JetStream key-value bucket:
//   target.<device>        a capture node captures this device (it consumes its events)
//   mirrored.<device>      the device is marked "Mirrored Traffic" (dispatch rule 3)
//   companion.<zmq name>   the mirrored device a ZMQ interface's events also go to
// Capture nodes announce their devices and marks; ingest nodes announce the companions
// they were configured with; every node watches the bucket and routes by what it holds now.
import { Kvm, type KV } from '@nats-io/kv';
import type { Ready } from './connection.ts';
import { DISPATCH_BUCKET } from './streams.ts';
import { subjectToken } from './settings.ts';

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

  constructor(replicas: number) {
    this.#replicas = replicas;
  }

  /** Opens (or creates) the bucket and watches it; called on every (re)connect. */
  async open(ready: Ready): Promise<KV> {
    const kv = await new Kvm(ready.nc).create(DISPATCH_BUCKET, { replicas: this.#replicas, history: 1 });
    this.#kv = kv;
    if (!this.#watching) {
      this.#watching = true;
      void this.#watch(kv);
    }
    return kv;
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
      for await (const e of it) {
        const [kind, ...rest] = e.key.split('.');
        const name = rest.join('.');
        const removed = e.operation !== 'PUT';
        if (kind === 'target') removed ? this.view.targets.delete(name) : this.view.targets.add(name);
        else if (kind === 'mirrored') removed ? this.view.mirrored.delete(name) : this.view.mirrored.add(name);
        else if (kind === 'companion') removed ? this.view.companions.delete(name) : this.view.companions.set(name, subjectToken(e.string()));
      }
    } catch {
      // Ended by an error: the next open (a reconnect or announce retry) watches again.
    } finally {
      this.#watching = false;
    }
  }
}
