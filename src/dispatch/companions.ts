// "Mirrored Traffic" marks and "Companion Interface" choices (dispatch rules 3 and 8).
// Every change is checked first and either applied and saved whole, or refused
// with a message that says what was wrong and what is accepted.
import type { MonitoredInterface, PacketInterface, ZmqInterface } from '../interfaces/interface.ts';
import type { InterfaceRegistry } from '../interfaces/registry.ts';
import type { Problem } from '../model/telemetry.ts';
import type { InterfaceSettings, SettingsStore } from './settings-store.ts';

/** A refused change: nothing was modified. */
export class SettingsError extends Error {
  constructor(
    message: string,
    /** 404 when the interface does not exist, 400 otherwise. */
    readonly status: 400 | 404 = 400,
  ) {
    super(message);
  }
}

export interface SettingsChange {
  mirrored?: boolean;
  companion?: string | null;
}

/**
 * Scale-out ingest nodes: a companion is a device another node captures (shared through
 * the NATS bucket, src/scaleout/), chosen when that node marks it mirrored.
 */
export interface RemoteMirrored {
  /** Whether a capture node marks this device mirrored now. */
  has(name: string): boolean;
  /** Those devices, for messages. */
  list(): string[];
}

export interface ChangeResult {
  /** Things worth telling the operator (e.g. a companion that no longer receives events). */
  notes: string[];
}

export class CompanionSettings {
  readonly #registry: InterfaceRegistry;
  readonly #store: SettingsStore | undefined;
  #mirrored = new Set<string>();
  /** ZMQ interface name → companion interface name. */
  #companions = new Map<string, string>();
  /** ZMQ interface id → companion to deliver to now (chosen AND mirrored). */
  #active = new Map<number, PacketInterface>();
  readonly #remote: (() => RemoteMirrored | undefined) | undefined;
  readonly #listeners: ((settings: InterfaceSettings) => void)[] = [];

  constructor(registry: InterfaceRegistry, store?: SettingsStore, remote?: () => RemoteMirrored | undefined) {
    this.#registry = registry;
    this.#store = store;
    this.#remote = remote;
  }

  /** Told the settings after each change applied and saved (REST, pages): the scale-out bucket follows them. */
  onChange(listener: (settings: InterfaceSettings) => void): void {
    this.#listeners.push(listener);
  }

  /** What a ZMQ interface's companion may be now: local mirrored packet interfaces, and mirrored devices of other nodes. */
  companionChoices(): string[] {
    const local = this.#registry.packetInterfaces().filter((p) => this.#mirrored.has(p.name)).map((p) => p.name);
    return [...new Set([...local, ...(this.#remote?.()?.list() ?? [])])];
  }

  /**
   * Starts from saved settings (names that no longer exist are kept, so a
   * temporarily missing interface keeps its marks) and applies the ones given on
   * the command line or in the config file on top. Returns what to tell the operator.
   */
  init(saved: InterfaceSettings, configured: InterfaceSettings): string[] {
    const notes: string[] = [];
    this.#mirrored = new Set(saved.mirrored);
    this.#companions = new Map(Object.entries(saved.companions));
    for (const name of configured.mirrored) {
      const iface = this.#packet(name, 'mark as mirrored');
      this.#mirrored.add(iface.name);
    }
    for (const [zmq, companion] of Object.entries(configured.companions)) {
      const z = this.#zmq(zmq);
      // Another node's device: its mark arrives through the bucket after the start.
      if (this.#remote?.() && this.#registry.resolve(companion)?.kind !== 'packet') {
        this.#companions.set(z.name, companion);
        continue;
      }
      const c = this.#packet(companion, 'use as a companion');
      if (!this.#mirrored.has(c.name)) {
        throw new SettingsError(`${c.name} cannot be the companion of ${z.name}: it is not marked mirrored (add --mirrored ${c.name})`);
      }
      this.#companions.set(z.name, c.name);
    }
    this.#recompute();
    this.#save();
    notes.push(...this.problems().map((p) => p.text));
    return notes;
  }

  isMirrored(iface: MonitoredInterface): boolean {
    return this.#mirrored.has(iface.name);
  }

  /** The chosen companion's name, whether or not it is currently mirrored. */
  companionOf(zmq: MonitoredInterface): string | null {
    return this.#companions.get(zmq.name) ?? null;
  }

  /** The interface events of `zmqId` are delivered to as companion now, if any. Hot path. */
  activeCompanion(zmqId: number): PacketInterface | undefined {
    return this.#active.get(zmqId);
  }

  /** Present-tense problems an operator should see (pages and API show them), each about the ZMQ interface whose companion it is. */
  problems(): Problem[] {
    const out: Problem[] = [];
    for (const [zmq, companion] of this.#companions) {
      const z = this.#registry.byName(zmq);
      if (!z) continue;
      const remote = this.#registry.byName(companion) ? undefined : this.#remote?.();
      if (remote) {
        if (!remote.has(companion)) out.push({ interfaceId: z.id, text: `companion ${companion} of ${zmq} is not marked mirrored by any capture node: no events are delivered to it until it is` });
      } else if (!this.#registry.byName(companion)) {
        out.push({ interfaceId: z.id, text: `companion ${companion} of ${zmq} is not a monitored interface: no events are delivered to it` });
      } else if (!this.#mirrored.has(companion)) {
        out.push({ interfaceId: z.id, text: `companion ${companion} of ${zmq} is not marked mirrored: no events are delivered to it until it is` });
      }
    }
    return out;
  }

  /** Applies a PATCH-style change to one interface, or throws SettingsError and changes nothing. */
  change(ref: string | number, change: SettingsChange): ChangeResult {
    const iface = this.#registry.resolve(ref);
    if (!iface) throw new SettingsError(`no interface ${JSON.stringify(ref)}: use a numeric id or a name from GET /api/v1/interfaces`, 404);
    const mirrored = new Set(this.#mirrored);
    const companions = new Map(this.#companions);
    const notes: string[] = [];

    if (change.mirrored !== undefined) {
      if (iface.kind !== 'packet') {
        throw new SettingsError(`${iface.name} is a ZMQ interface: only packet interfaces can be marked mirrored`);
      }
      if (change.mirrored) mirrored.add(iface.name);
      else if (mirrored.delete(iface.name)) {
        for (const [zmq, companion] of companions) {
          if (companion === iface.name) {
            notes.push(`${iface.name} is no longer mirrored, so it stops receiving the events of ${zmq}, whose companion it remains`);
          }
        }
      }
    }
    if (change.companion !== undefined) {
      if (iface.kind !== 'zmq') {
        throw new SettingsError(`${iface.name} is a packet interface: only a ZMQ interface has a companion`);
      }
      if (change.companion === null) companions.delete(iface.name);
      else {
        const target = this.#registry.resolve(change.companion);
        const remote = this.#remote?.();
        const accepted = [...new Set([...mirrored, ...(remote?.list() ?? [])])].join(', ') || 'none: mark a packet interface mirrored first';
        if ((!target || target.kind !== 'packet') && remote?.has(change.companion)) companions.set(iface.name, change.companion);
        else if (!target || target.kind !== 'packet') {
          throw new SettingsError(`${change.companion} is not a monitored packet interface; mirrored interfaces: ${accepted}`);
        } else if (!mirrored.has(target.name)) {
          throw new SettingsError(`${target.name} is not marked mirrored, so it cannot be a companion; mirrored interfaces: ${accepted}`);
        } else companions.set(iface.name, target.name);
      }
    }

    const before = { mirrored: this.#mirrored, companions: this.#companions };
    this.#mirrored = mirrored;
    this.#companions = companions;
    try {
      this.#save();
    } catch (err) {
      this.#mirrored = before.mirrored;
      this.#companions = before.companions;
      throw new SettingsError(`could not save the change (${(err as Error).message}); nothing was changed`);
    }
    this.#recompute();
    const now = this.snapshot();
    for (const listener of this.#listeners) listener(now);
    return { notes };
  }

  snapshot(): InterfaceSettings {
    return { mirrored: [...this.#mirrored], companions: Object.fromEntries(this.#companions) };
  }

  #recompute(): void {
    this.#active.clear();
    for (const zmq of this.#registry.zmqInterfaces()) {
      const name = this.#companions.get(zmq.name);
      const target = name === undefined ? undefined : this.#registry.byName(name);
      if (target?.kind === 'packet' && this.#mirrored.has(target.name)) this.#active.set(zmq.id, target as PacketInterface);
    }
  }

  #save(): void {
    this.#store?.save(this.snapshot());
  }

  #packet(ref: string, what: string): PacketInterface {
    const iface = this.#registry.resolve(ref);
    const packets = this.#registry.packetInterfaces().map((i) => i.name).join(', ') || 'none';
    if (!iface || iface.kind !== 'packet') throw new SettingsError(`cannot ${what} ${ref}: not a monitored packet interface (packet interfaces: ${packets})`);
    return iface as PacketInterface;
  }

  #zmq(ref: string): ZmqInterface {
    const iface = this.#registry.resolve(ref);
    const zmqs = this.#registry.zmqInterfaces().map((i) => i.name).join(', ') || 'none';
    if (!iface || iface.kind !== 'zmq') throw new SettingsError(`${ref} is not a ZMQ interface (ZMQ interfaces: ${zmqs})`);
    return iface as ZmqInterface;
  }
}
