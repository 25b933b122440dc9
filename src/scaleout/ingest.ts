// The ingest role: the ZMQ interfaces' normalised events go to the capture nodes that
// must see them, through JetStream subjects by target (flowbridge.events.<device>),
// following the dispatch rules (reference/dispatch.md) with the shared bucket's view:
//   name       the event's interface name is a device a capture node captures
//   companion  the ZMQ interface's companion, when that device is marked mirrored
// once per target (rule 4). Loopback events stay on this node: a loopback address on
// another machine is another host's loopback, so no capture node may merge them.
import type { CollectedEvent, SocketEvent } from '../model/event.ts';
import { isLoopback } from '../model/address.ts';
import { encodeEnvelope, type EventEnvelope } from './event-envelope.ts';
import type { DispatchView } from './dispatch-bucket.ts';
import type { Outbox } from './outbox.ts';
import { subjectToken } from './settings.ts';

/** Why an event went to no capture node (it is still accounted home, on this node). */
export type NotPublishedReason = 'loopback' | 'no-target' | 'no-capture-node' | 'buffer-full';

export interface IngestStats {
  /** Devices capture nodes announced (events by name go only to these). */
  targets: string[];
  /** Devices capture nodes mark mirrored now (a companion must be one of these). */
  mirrored: string[];
  /** ZMQ interface → mirrored device its events also go to (announced and marked mirrored). */
  companions: Record<string, string>;
  published: { name: number; companion: number };
  notPublished: Record<NotPublishedReason, number>;
}

/** Events per message at most (a collector hand-off batch holds up to 512). */
const MAX_EVENTS_PER_MESSAGE = 512;

export class IngestPublisher {
  readonly #node: string;
  readonly #view: DispatchView;
  readonly #outbox: Outbox;
  readonly #boot = Date.now().toString(36);
  #seq = 0;
  readonly #published = { name: 0, companion: 0 };
  readonly #not: Record<NotPublishedReason, number> = { loopback: 0, 'no-target': 0, 'no-capture-node': 0, 'buffer-full': 0 };

  constructor(node: string, view: DispatchView, outbox: Outbox) {
    this.#node = node;
    this.#view = view;
    this.#outbox = outbox;
  }

  /** A batch a ZMQ interface accepted (after its home accounting): one message per target and route. Never throws for an event. */
  publish(zmqName: string, events: readonly CollectedEvent[], now = Date.now()): void {
    const companion = this.#view.companions.get(subjectToken(zmqName));
    const activeCompanion = companion !== undefined && this.#view.mirrored.has(companion) ? companion : undefined;
    const out = new Map<string, SocketEvent[]>();
    for (const event of events) {
      if (event.kind !== 'flow' && event.kind !== 'netstat') continue;
      this.#route(event, activeCompanion, out);
    }
    for (const [key, batch] of out) {
      const [route, target] = key.split(' ') as [EventEnvelope['route'], string];
      for (let i = 0; i < batch.length; i += MAX_EVENTS_PER_MESSAGE) this.#send(target, route, batch.slice(i, i + MAX_EVENTS_PER_MESSAGE), `${this.#node}/${zmqName}`, now);
    }
  }

  stats(): IngestStats {
    const companions = Object.fromEntries([...this.#view.companions].filter(([, d]) => this.#view.mirrored.has(d)));
    return { targets: [...this.#view.targets].sort(), mirrored: [...this.#view.mirrored].sort(), companions, published: { ...this.#published }, notPublished: { ...this.#not } };
  }

  #route(event: SocketEvent, companion: string | undefined, out: Map<string, SocketEvent[]>): void {
    if (isLoopback(event.client.ip) || isLoopback(event.server.ip)) {
      this.#not.loopback++;
      return;
    }
    const named = event.ifName === undefined ? undefined : subjectToken(event.ifName);
    const byName = named !== undefined && this.#view.targets.has(named) ? named : undefined;
    const add = (key: string) => {
      const batch = out.get(key);
      if (batch) batch.push(event);
      else out.set(key, [event]);
    };
    if (byName) add(`name ${byName}`);
    if (companion && companion !== byName) add(`companion ${companion}`);
    if (!byName && !companion) this.#not[named === undefined ? 'no-target' : 'no-capture-node']++;
  }

  #send(target: string, route: EventEnvelope['route'], events: SocketEvent[], via: string, now: number): void {
    const id = `${this.#node}.${this.#boot}.${++this.#seq}`;
    const envelope: EventEnvelope = { id, via, receivedAt: now, route, events };
    const ok = this.#outbox.push({ kind: 'events', subject: `flowbridge.events.${target}`, data: encodeEnvelope(envelope), msgId: id });
    if (ok) this.#published[route] += events.length;
    else this.#not['buffer-full'] += events.length;
  }
}
