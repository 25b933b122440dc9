// flowbridge beyond one machine (issue 16): the NATS connection, the bounded outbox,
// and what this node's role publishes or consumes. Role `all` (with --nats) and
// `capture` export merged flows, alerts and process summaries; `ingest` publishes
// events by target (ingest.ts); `capture` consumes the events of its devices
// (capture-consumer.ts). src/flowbridge.ts wires it; nothing here merges or routes itself.
import { join } from 'node:path';
import type { StoredAlert } from '../model/alert.ts';
import type { Flow } from '../flows/flow-entry.ts';
import type { ProcessList } from '../views/process-summary.ts';
import type { CollectedEvent } from '../model/event.ts';
import type { InterfaceSettings } from '../dispatch/settings-store.ts';
import { CaptureConsumers, type CapturedDevice, type ConsumerStats } from './capture-consumer.ts';
import { NatsLink, type LinkStats, type Ready } from './connection.ts';
import { DispatchBucket } from './dispatch-bucket.ts';
import { DispatchSync, type DispatchSyncStats, type OwnedSetting } from './dispatch-sync.ts';
import { IngestPublisher, type IngestStats } from './ingest.ts';
import { encodeRecord, type AlertExportRecord, type ProcessesExportRecord } from './export-record.ts';
import { FlowExport, type FlowExportStats } from './flow-export.ts';
import { Outbox, type OutboxStats } from './outbox.ts';
import { Rate } from './rate.ts';
import { subjectToken, type NatsSettings } from './settings.ts';

export interface ScaleOutOptions {
  settings: NatsSettings;
  log?: (line: string) => void;
  communityIdSeed: number;
  idleTimeoutMs: number;
  /** Events older than this when they reach a capture node are late. */
  graceMs: number;
  /** Packet interfaces: their merged flows are exported; a capture node consumes their events. */
  interfaces: () => CapturedDevice[];
  /** Where this node keeps the bucket revisions it last synced (dispatch-sync.ts). */
  dataDir: string;
  /** The node's mirrored marks and companions (src/dispatch/companions.ts): shared through the bucket both ways. */
  dispatchSettings?: DispatchSettingsSource;
  /** The ZMQ interfaces' names (an ingest node's companion keys). */
  zmqInterfaces?: () => string[];
  /** The processes summary across interfaces (published every export interval). */
  processes?: () => ProcessList;
}

/** What the bucket needs of the node's settings: CompanionSettings is one. */
export interface DispatchSettingsSource {
  snapshot(): InterfaceSettings;
  onChange(listener: () => void): void;
  change(ref: string, change: { mirrored?: boolean; companion?: string | null }): unknown;
}

export interface ScaleOutStats {
  node: string;
  role: NatsSettings['role'];
  format: NatsSettings['exportFormat'];
  connection: LinkStats;
  outbox: OutboxStats;
  /** Messages acknowledged by JetStream per second, over the last seconds. */
  publishRate: number;
  flows: FlowExportStats;
  alerts: number;
  processSummaries: number;
  /** Ingest nodes: events published by route, and why others were not. */
  ingest?: IngestStats;
  /** Capture and ingest nodes: the node's mirrored marks or companions written to and adopted from the bucket. */
  dispatchSettings?: DispatchSyncStats;
  /** Capture nodes: one durable consumer per device. */
  consumers?: ConsumerStats[];
  /** Events merged per second from the consumers, over the last seconds. */
  consumeRate?: number;
}

export class ScaleOut {
  readonly settings: NatsSettings;
  readonly link: NatsLink;
  readonly outbox: Outbox;
  readonly flows: FlowExport;
  readonly #o: ScaleOutOptions;
  readonly #bootId = Date.now().toString(36);
  readonly #publishRate = new Rate();
  readonly #bucket: DispatchBucket;
  readonly #sync: DispatchSync | undefined;
  readonly #ingest: IngestPublisher | undefined;
  #consumers: CaptureConsumers | undefined;
  readonly #consumeRate = new Rate();
  #alerts = 0;
  #summaries = 0;
  #timer: NodeJS.Timeout | undefined;

  constructor(options: ScaleOutOptions) {
    this.#o = options;
    this.settings = options.settings;
    this.link = new NatsLink(options.settings, options.log);
    this.outbox = new Outbox(this.link, options.settings.bufferBound);
    this.flows = new FlowExport({
      node: options.settings.node, format: options.settings.exportFormat, intervalMs: options.settings.exportIntervalSeconds * 1000,
      idleTimeoutMs: options.idleTimeoutMs, communityIdSeed: options.communityIdSeed, outbox: this.outbox, interfaces: options.interfaces,
    });
    this.#bucket = new DispatchBucket(options.settings.replicas);
    if (this.settings.role === 'ingest') this.#ingest = new IngestPublisher(this.settings.node, this.#bucket.view, this.outbox);
    if (this.settings.role !== 'all') {
      const sync = new DispatchSync(join(options.dataDir, 'dispatch-bucket.json'), () => this.#owned(), options.log);
      this.#sync = sync;
      options.dispatchSettings?.onChange(() => void sync.sync());
      this.#bucket.onEntry((key, revision) => sync.entry(key, revision));
      this.link.onChange((ready) => {
        if (ready) void this.#announce(ready);
        else sync.detach();
      });
    }
  }

  /** An ingest node's settings check a companion against these: devices capture nodes mark mirrored (the bucket). */
  get remoteMirrored(): { has(name: string): boolean; list(): string[] } | undefined {
    return this.settings.role === 'ingest' ? this.#bucket.remoteMirrored : undefined;
  }

  /** The bucket keys this node's settings own (dispatch-sync.ts): a capture node's marks, an ingest node's companions. */
  #owned(): OwnedSetting[] {
    const source = this.#o.dispatchSettings;
    if (!source) return [];
    const now = source.snapshot();
    if (this.settings.role === 'capture') {
      return this.#o.interfaces().map((d) => ({
        key: `mirrored.${subjectToken(d.device)}`,
        value: now.mirrored.includes(d.name) ? this.settings.node : null,
        adopt: (v) => source.change(d.name, { mirrored: v !== null }),
        // Marked is marked, whichever capture node wrote it.
        same: (a, b) => (a === null) === (b === null),
      }));
    }
    return (this.#o.zmqInterfaces?.() ?? []).map((z) => ({
      key: `companion.${subjectToken(z)}`,
      value: now.companions[z] ?? null,
      adopt: (v) => source.change(z, { companion: v }),
    }));
  }

  /** The bucket on every (re)connect: the devices this node captures, then its marks or companions (dispatch-sync.ts); tried until it is done. */
  async #announce(ready: Ready): Promise<void> {
    for (let attempt = 1; this.link.ready === ready; attempt++) {
      if (await this.#announceOnce(ready, attempt)) return;
      await new Promise((r) => setTimeout(r, 500).unref());
    }
  }

  async #announceOnce(ready: Ready, attempt: number): Promise<boolean> {
    try {
      const kv = await this.#bucket.open(ready);
      const entries: Record<string, string> = {};
      if (this.settings.role === 'capture') {
        for (const d of this.#o.interfaces()) entries[`target.${subjectToken(d.device)}`] = this.settings.node;
      }
      await this.#bucket.announce(entries);
      // Marks and companions: the node's or the bucket's, by the rule of dispatch-sync.ts.
      await this.#sync?.attach(kv);
      return true;
    } catch (err) {
      if (attempt === 1) this.#o.log?.(`flowbridge: NATS: cannot share dispatch settings through the bucket yet (${(err as Error).message}); trying again`);
      return false;
    }
  }

  /** Ingest nodes: a batch of events a ZMQ interface accepted, published to the capture nodes that must see them. */
  ingest(zmqName: string, events: readonly CollectedEvent[]): void {
    this.#ingest?.publish(zmqName, events);
  }

  /** Exports merged flows (roles all and capture). */
  get exportsFlows(): boolean {
    return this.settings.role !== 'ingest';
  }

  /** Connects in the background and starts the periodic exports; resolves at once. */
  start(): void {
    this.link.open();
    if (!this.exportsFlows) return;
    if (this.settings.role === 'capture') this.#consumers = new CaptureConsumers(this.link, this.#o.interfaces(), this.#o.graceMs, this.#o.dataDir, this.#o.log);
    this.flows.start();
    if (this.#o.processes) {
      this.#timer = setInterval(() => this.publishProcesses(), this.settings.exportIntervalSeconds * 1000);
      this.#timer.unref();
    }
  }

  /** A flow left the table of packet interface `iface`. */
  flowRemoved(iface: string, flow: Flow): void {
    if (this.exportsFlows) this.flows.removed(iface, flow);
  }

  /** An alert joined to its flow. */
  alert(alert: StoredAlert): void {
    if (!this.exportsFlows) return;
    const record: AlertExportRecord = { recordType: 'alert', node: this.settings.node, exportedAt: Date.now(), alert };
    this.#alerts++;
    this.outbox.push({ kind: 'alerts', subject: `flowbridge.alerts.${this.settings.node}`, data: encodeRecord(record, this.settings.exportFormat), msgId: `${this.settings.node}.alert.${this.#bootId}.${alert.id}` });
  }

  publishProcesses(now = Date.now()): void {
    if (!this.#o.processes) return;
    const record: ProcessesExportRecord = { recordType: 'processes', node: this.settings.node, exportedAt: now, processes: this.#o.processes() };
    this.#summaries++;
    this.outbox.push({ kind: 'processes', subject: `flowbridge.processes.${this.settings.node}`, data: encodeRecord(record, this.settings.exportFormat), msgId: `${this.settings.node}.processes.${this.#bootId}.${this.#summaries}` });
  }

  stats(): ScaleOutStats {
    const outbox = this.outbox.stats();
    const published = Object.values(outbox.published).reduce((a, b) => a + b, 0);
    return {
      node: this.settings.node, role: this.settings.role, format: this.settings.exportFormat,
      connection: this.link.stats(), outbox, publishRate: this.#publishRate.read(published),
      flows: this.flows.stats(), alerts: this.#alerts, processSummaries: this.#summaries,
      ...(this.#ingest ? { ingest: this.#ingest.stats() } : {}),
      ...(this.#sync ? { dispatchSettings: this.#sync.stats() } : {}),
      ...(this.#consumers ? this.#consumerStats(this.#consumers) : {}),
    };
  }

  #consumerStats(c: CaptureConsumers): Pick<ScaleOutStats, 'consumers' | 'consumeRate'> {
    const consumers = c.stats();
    return { consumers, consumeRate: this.#consumeRate.read(consumers.reduce((n, s) => n + s.merged, 0)) };
  }

  /** What an operator must know: not connected, records dropped. */
  problems(): string[] {
    const s = this.link.stats();
    const out: string[] = [];
    if (s.state !== 'connected') out.push(`NATS ${s.state} since ${new Date(s.since).toISOString()}${s.lastError ? ` (${s.lastError})` : ''}: ${this.outbox.size} records buffered of at most ${this.outbox.bound}`);
    const dropped = Object.values(this.outbox.stats().dropped).reduce((a, b) => a + b, 0);
    if (dropped > 0) out.push(`NATS outbox full: ${dropped} records dropped`);
    return out;
  }

  /** Final records of the flows still in the tables, a last chance to publish what waits, then the connection closes. */
  async stop(flushTimeoutMs = 5_000): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    await this.#consumers?.stop();
    if (this.exportsFlows) this.flows.finish();
    if (this.link.ready) await this.outbox.flushed(flushTimeoutMs);
    if (this.outbox.size > 0) this.#o.log?.(`flowbridge: NATS: ${this.outbox.size} records were not published before the stop (${this.link.stats().state})`);
    await this.link.close();
  }
}
