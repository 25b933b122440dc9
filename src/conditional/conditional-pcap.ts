// Conditional pcap in the main process: which packet interfaces keep the packets of
// alerted flows (settings saved, applied to their captures), telling an interface's
// capture the flows an alert matched on it, and the figures of every store.
import { RECORD_HEADER_BYTES } from '../recording/pcap-format.ts';
import type { PacketInterface } from '../interfaces/interface.ts';
import type { InterfaceRegistry } from '../interfaces/registry.ts';
import type { StoredAlert } from '../model/alert.ts';
import type { ConditionalInterfaceStats, ConditionalSinkSettings, ConditionalSinkStats, ConditionalStats } from '../model/conditional.ts';
import { ConditionalSettingsError, ConditionalSettingsStore, patchRequest, sinkSettings, type ConditionalRequest } from './conditional-settings.ts';

/** What a packet interface offers the conditional store (packet-interface.ts). */
export interface ConditionalInterface extends PacketInterface {
  conditionalSettings(): ConditionalSinkSettings | undefined;
  setConditional(settings: ConditionalSinkSettings | undefined): Promise<void>;
  alertFlows(keys: readonly string[]): string[];
  conditional(): ConditionalSinkStats | undefined;
}

export interface ConditionalPcapOptions {
  dataDir: string;
  /** From the config file and --conditional-pcap: applied on top of the saved settings. */
  configured?: ConditionalRequest;
}

export class ConditionalPcap {
  readonly problems: string[] = [];
  readonly #dataDir: string;
  readonly #store: ConditionalSettingsStore;
  #request: ConditionalRequest;
  #registry: InterfaceRegistry | undefined;
  #alertsApplied = 0;

  constructor(o: ConditionalPcapOptions) {
    this.#dataDir = o.dataDir;
    this.#store = new ConditionalSettingsStore(o.dataDir);
    const saved = this.#store.load();
    if (saved.problem) this.problems.push(saved.problem);
    this.#request = { ...saved.request, ...o.configured };
  }

  /** What interface `name` runs its conditional store with at start (undefined: none). */
  settingsFor(name: string): ConditionalSinkSettings | undefined {
    return sinkSettings(this.#dataDir, name, this.#request[name]);
  }

  attach(registry: InterfaceRegistry): void {
    this.#registry = registry;
    const unknown = Object.keys(this.#request).filter((n) => !this.#interface(n));
    if (unknown.length) this.problems.push(`conditional pcap: ${unknown.join(', ')} ${unknown.length > 1 ? 'are' : 'is'} not a packet interface of this collector; ignored`);
  }

  /** Interface name → store bound (bytes). */
  settings(): ConditionalRequest {
    return { ...this.#request };
  }

  /** Applies a PATCH body (throws ConditionalSettingsError, changing nothing); saved, then applied. */
  async change(body: unknown): Promise<ConditionalRequest> {
    const next = patchRequest(body, this.#request);
    const names = this.#packetInterfaces().map((i) => i.name);
    for (const n of Object.keys(next)) {
      if (!names.includes(n)) throw new ConditionalSettingsError(`interface ${JSON.stringify(n)} is not a packet interface of this collector (${names.join(', ') || 'none'})`);
    }
    this.#request = next;
    this.#store.save(next);
    for (const iface of this.#packetInterfaces()) await iface.setConditional(this.settingsFor(iface.name));
    return this.settings();
  }

  /** An alert was matched: its flows on interfaces with a store are kept from now on (once per flow). */
  matched(alert: StoredAlert): void {
    for (const f of alert.flows) {
      const iface = this.#interface(f.interface);
      if (!iface?.conditionalSettings()) continue;
      iface.alertFlows([f.key]);
      this.#alertsApplied++;
    }
  }

  /** The interface and its store directory, when `name` keeps alerted flows. */
  storeOf(name: string): { iface: ConditionalInterface; dir: string } | undefined {
    const iface = this.#interface(name);
    const s = iface?.conditionalSettings();
    return iface && s ? { iface, dir: s.dir } : undefined;
  }

  /** The interfaces with a store, in id order. */
  interfaces(): ConditionalInterface[] {
    return this.#packetInterfaces().filter((i) => i.conditionalSettings());
  }

  stats(): ConditionalStats {
    const interfaces: ConditionalInterfaceStats[] = [];
    for (const iface of this.interfaces()) {
      const s = iface.conditionalSettings()!;
      const reported = iface.conditional() ?? {
        store: { enabled: true, state: 'stopped', since: 0, packets: 0, bytes: 0, files: 0, diskBytes: 0, maxDiskBytes: s.maxDiskBytes, deletedFiles: 0, dropped: {}, log: [] },
        alertedFlows: 0, maxFlows: s.maxFlows, flowsAlerted: 0, flowsEnded: 0, flowsRefused: 0,
        lookback: { packets: 0, bytes: 0, maxBytes: s.lookbackBytes, maxMs: s.lookbackMs, written: 0, evicted: 0 },
      };
      interfaces.push({ interface: iface.name, interfaceId: iface.id, dir: s.dir, capturedBytes: iface.capture().bytes, ...reported });
    }
    // Packet bytes, as captured bytes are: the store's count includes each record's 16-byte header.
    const storedBytes = interfaces.reduce((n, i) => n + i.store.bytes - RECORD_HEADER_BYTES * i.store.packets, 0);
    const capturedBytes = interfaces.reduce((n, i) => n + i.capturedBytes, 0);
    return {
      settings: this.settings(), interfaces, alertsApplied: this.#alertsApplied, storedBytes, capturedBytes,
      storedShare: capturedBytes > 0 ? storedBytes / capturedBytes : 0,
      rotations: interfaces.reduce((n, i) => n + i.store.deletedFiles, 0),
    };
  }

  #packetInterfaces(): ConditionalInterface[] {
    return (this.#registry?.packetInterfaces() ?? []) as ConditionalInterface[];
  }

  #interface(name: string): ConditionalInterface | undefined {
    return this.#packetInterfaces().find((i) => i.name === name);
  }
}
