// Routes every collected event to the interfaces that must see it (reference/dispatch.md):
//   home       the ZMQ interface that received it (rule 1)
//   name       the packet interface whose device the event names (rule 2)
//   companion  the mirrored companion of the ZMQ interface, never for loopback (rule 3)
// each interface at most once (rule 4); counters events go home and by name only
// (rule 5). Socket events wait in one bounded queue per interface before they are
// merged (rule 6); a full queue drops the event and counts it (rule 7).
import type { MonitoredInterface, PacketInterface, ZmqInterface } from '../interfaces/interface.ts';
import type { InterfaceRegistry } from '../interfaces/registry.ts';
import { isLoopback } from '../model/address.ts';
import type { CollectedEvent, CountersEvent, SocketEvent } from '../model/event.ts';
import { isLoopbackDevice } from '../model/loopback-device.ts';
import type { CompanionSettings } from './companions.ts';
import { EventQueue } from './event-queue.ts';

export type Route = 'home' | 'name' | 'companion';
/** `queue-full`: the interface's queue was at its bound; `merge-error`: the flow table refused the event (a bug, counted rather than crashing). */
export type DropReason = 'queue-full' | 'merge-error';

export interface DispatchOptions {
  /** Socket events waiting per interface before new ones are dropped. */
  queueBound?: number;
  /** Events merged per interface per turn of the event loop (keeps the API responsive); a queue this long is merged at once. */
  drainBatch?: number;
}

export interface InterfaceDispatchStats {
  interfaceId: number;
  delivered: Record<Route, number>;
  dropped: Record<DropReason, number>;
  queueSize: number;
  queueBound: number;
}

interface Target {
  iface: MonitoredInterface;
  queue: EventQueue;
  delivered: Record<Route, number>;
  dropped: Record<DropReason, number>;
}

export class Dispatcher {
  readonly #registry: InterfaceRegistry;
  readonly #companions: CompanionSettings;
  readonly #queueBound: number;
  readonly #drainBatch: number;
  readonly #targets = new Map<number, Target>();
  readonly #loopbackDevice = new Map<string, boolean>();
  #drainScheduled = false;
  #lastMergeError: string | undefined;

  constructor(registry: InterfaceRegistry, companions: CompanionSettings, options: DispatchOptions = {}) {
    this.#registry = registry;
    this.#companions = companions;
    this.#queueBound = options.queueBound ?? 65_536;
    this.#drainBatch = options.drainBatch ?? 4_096;
  }

  /** Routes a batch of events received by `from`. Never throws for a bad event. */
  dispatch(from: ZmqInterface, events: readonly CollectedEvent[]): void {
    const home = this.#target(from);
    for (const event of events) {
      switch (event.kind) {
        case 'flow':
        case 'netstat':
          this.#routeSocketEvent(from, home, event);
          break;
        case 'counters':
          this.#routeCounters(home, event);
          break;
        case 'listening-ports':
          from.listeningPorts.set(event.instanceName ?? event.addresses[0] ?? 'unknown', event);
          home.delivered.home++;
          break;
      }
    }
    // A queue holding a turn's worth of events, or past half its bound, is merged now: the
    // caller (the collector hand-off) then waits, and its own bounded queue pushes back,
    // before events are dropped here. Events merged young die young: a queue left to fill
    // to half its bound between turns held ~32 K events that every young-generation
    // collection copied, and the main thread fell behind at 400 K events/s with a fifth
    // of its time to spare (bench, ingest (b)).
    for (const t of this.#targets.values()) if (t.queue.size >= this.#drainBatch || t.queue.size > t.queue.bound / 2) this.#drain(t, t.queue.size);
    this.#scheduleDrain();
  }

  /** Per monitored interface, in registry order (zeros for one nothing was routed to yet). */
  stats(): InterfaceDispatchStats[] {
    return this.#registry.list().map((iface) => this.#target(iface)).map((t) => ({
      interfaceId: t.iface.id,
      delivered: { ...t.delivered },
      dropped: { ...t.dropped },
      queueSize: t.queue.size,
      queueBound: t.queue.bound,
    }));
  }

  /** The last merge failure, for operators (undefined when there was none). */
  get lastMergeError(): string | undefined {
    return this.#lastMergeError;
  }

  /** Merges everything queued now (tests and shutdown use it; normally draining is scheduled). */
  flush(): void {
    for (const t of this.#targets.values()) this.#drain(t, Infinity);
  }

  #routeSocketEvent(from: ZmqInterface, home: Target, event: SocketEvent): void {
    this.#enqueue(home, event, from.name, 'home');
    const loopback = isLoopback(event.client.ip) || isLoopback(event.server.ip);
    const byName = event.ifName === undefined ? undefined : this.#registry.packetByDevice(event.ifName);
    // Loopback events go by name only to a loopback interface: they cannot cross any other wire.
    if (byName && (!loopback || this.#isLoopbackDevice(byName))) {
      this.#enqueue(this.#target(byName), event, from.name, 'name');
    }
    if (loopback) return;
    const companion = this.#companions.activeCompanion(from.id);
    if (companion && companion !== byName) this.#enqueue(this.#target(companion), event, from.name, 'companion');
  }

  #routeCounters(home: Target, event: CountersEvent): void {
    home.iface.hostCounters.set(event);
    home.delivered.home++;
    const named = event.ifName === undefined ? undefined : this.#registry.packetByDevice(event.ifName);
    if (named) {
      named.hostCounters.set(event);
      this.#target(named).delivered.name++;
    }
  }

  #enqueue(target: Target, event: SocketEvent, via: string, route: Route): void {
    if (target.queue.push(event, via)) target.delivered[route]++;
    else target.dropped['queue-full']++;
  }

  #target(iface: MonitoredInterface): Target {
    let t = this.#targets.get(iface.id);
    if (!t) {
      t = {
        iface,
        queue: new EventQueue(this.#queueBound),
        delivered: { home: 0, name: 0, companion: 0 },
        dropped: { 'queue-full': 0, 'merge-error': 0 },
      };
      this.#targets.set(iface.id, t);
    }
    return t;
  }

  #scheduleDrain(): void {
    if (this.#drainScheduled) return;
    this.#drainScheduled = true;
    setImmediate(() => {
      this.#drainScheduled = false;
      let pending = false;
      for (const t of this.#targets.values()) {
        this.#drain(t, this.#drainBatch);
        if (t.queue.size > 0) pending = true;
      }
      if (pending) this.#scheduleDrain();
    });
  }

  #drain(t: Target, max: number): void {
    const flows = t.iface.flows;
    // One clock reading per turn, not one per event (a turn takes a few milliseconds at most).
    const now = Date.now();
    t.queue.drain(max, (event, via) => {
      try {
        flows.applyEvent(event, via, now);
      } catch (err) {
        t.dropped['merge-error']++;
        this.#lastMergeError = `${t.iface.name}: ${(err as Error).message}`;
      }
    });
  }

  #isLoopbackDevice(iface: PacketInterface): boolean {
    let known = this.#loopbackDevice.get(iface.device);
    if (known === undefined) {
      known = isLoopbackDevice(iface.device);
      this.#loopbackDevice.set(iface.device, known);
    }
    return known;
  }
}
