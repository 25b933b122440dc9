// IDS alerts in flowbridge: Suricata EVE records from a followed eve.json, a unix
// socket and the REST API become stored alerts joined to their flows. Other event
// types are skipped and counted by type; what cannot be read is counted by reason with
// the last few lines kept; nothing a sender writes stops a reader.
import { join } from 'node:path';
import { payloadExcerpt } from '../collector/samples.ts';
import { ALERT_SOURCES, type AlertFlowRef, type AlertRejectReason, type AlertRejectedSample, type AlertSource, type AlertStats, type EveRecord, type StoredAlert, type UnmatchedReason } from '../model/alert.ts';
import { AlertJoin, type JoinInterface } from './alert-join.ts';
import { AlertStore, DEFAULT_ALERT_STORE_BOUND } from './alert-store.ts';
import { parseEveLine } from './eve.ts';
import { EveFileFollower } from './eve-file.ts';
import { EveSocket } from './eve-socket.ts';
import type { LineSink } from './line-splitter.ts';

export interface AlertsOptions {
  dataDir: string;
  /** Follow this eve.json (--eve-file). */
  eveFile?: string;
  /** Listen on this unix socket (--eve-socket). */
  eveSocket?: string;
  /** The interfaces alerts join flows on (the packet interfaces). */
  interfaces: () => JoinInterface[];
  communityIdSeed?: number;
  storeBound?: number;
  /** How long an alert waits for its flow (default 5 s). */
  waitMs?: number;
  maxPending?: number;
  /** EVE file poll interval (default 250 ms). */
  pollMs?: number;
  maxLineBytes?: number;
  /** Told of each alert matched to its flows (the conditional store keeps those flows). */
  onMatched?: (alert: StoredAlert) => void;
}

const SAMPLES = 32;
/** Distinct signatures and event types counted one by one; past these, under "other". */
const MAX_SIGNATURES = 10_000;
const MAX_EVENT_TYPES = 64;
const SHOWN_SIGNATURES = 100;

export class Alerts {
  readonly store: AlertStore;
  readonly join: AlertJoin;
  readonly #file: EveFileFollower | undefined;
  readonly #socket: EveSocket | undefined;
  readonly #bySource = Object.fromEntries(ALERT_SOURCES.map((s) => [s, 0])) as Record<AlertSource, number>;
  readonly #bySignature = new Map<number, { signature?: string; count: number }>();
  #otherSignatures = 0;
  readonly #skipped = new Map<string, number>();
  readonly #rejected: Partial<Record<AlertRejectReason, number>> = {};
  readonly #samples: AlertRejectedSample[] = [];
  #matched = 0;
  readonly #unmatched: Partial<Record<UnmatchedReason, number>> = {};
  /** Problems found at start (a socket that cannot listen, an unreadable position file). */
  readonly problems: string[] = [];

  constructor(options: AlertsOptions) {
    this.store = new AlertStore(options.storeBound ?? DEFAULT_ALERT_STORE_BOUND);
    this.join = new AlertJoin({
      interfaces: options.interfaces, communityIdSeed: options.communityIdSeed, waitMs: options.waitMs, maxPending: options.maxPending,
      onSettled: (a) => {
        if (a.status === 'matched') {
          this.#matched++;
          options.onMatched?.(a);
        }
        else if (a.unmatchedReason) this.#unmatched[a.unmatchedReason] = (this.#unmatched[a.unmatchedReason] ?? 0) + 1;
      },
    });
    if (options.eveFile) {
      this.#file = new EveFileFollower({ path: options.eveFile, statePath: join(options.dataDir, 'eve-file-position.json'), sink: this.#sink('eve-file'), pollMs: options.pollMs, maxLineBytes: options.maxLineBytes });
      if (this.#file.problem) this.problems.push(this.#file.problem);
    }
    if (options.eveSocket) this.#socket = new EveSocket({ path: options.eveSocket, sink: this.#sink('eve-socket'), maxLineBytes: options.maxLineBytes });
  }

  /** Starts the file follower and the socket; a socket that cannot listen is a problem, not a failure. */
  async start(): Promise<void> {
    this.#file?.start();
    if (this.#socket) {
      try {
        await this.#socket.start();
      } catch (err) {
        this.problems.push((err as Error).message);
      }
    }
  }

  async stop(): Promise<void> {
    this.join.stop();
    await Promise.all([this.#file?.stop(), this.#socket?.stop()]);
  }

  /** Takes alerts already checked (eve.ts); stores each and joins it to its flow. */
  accept(alerts: { record: EveRecord; flow: AlertFlowRef }[], source: AlertSource, now = Date.now()): StoredAlert[] {
    return alerts.map(({ record, flow }) => {
      this.#bySource[source]++;
      this.#countSignature(record);
      const stored = this.store.add({ receivedAt: now, source, record, status: 'pending', flows: [] });
      this.join.submit(stored, flow, now);
      return stored;
    });
  }

  /** One line from the network: an alert, a skipped event type, or counted as refused. */
  takeLine(line: string, source: AlertSource): void {
    const parsed = parseEveLine(line);
    if (parsed.kind === 'alert') this.accept([parsed], source);
    else if (parsed.kind === 'skipped') this.#skip(parsed.eventType);
    else this.#reject(source, parsed.reason, parsed.detail, Buffer.from(line.slice(0, 512), 'utf8'));
  }

  stats(): AlertStats {
    const bySignature = [...this.#bySignature].map(([signatureId, s]) => ({ signatureId, ...s }))
      .sort((a, b) => b.count - a.count).slice(0, SHOWN_SIGNATURES);
    const s: AlertStats = {
      bySource: { ...this.#bySource },
      bySignature,
      skippedByEventType: Object.fromEntries(this.#skipped),
      rejected: { ...this.#rejected },
      samples: [...this.#samples].reverse(),
      matched: this.#matched,
      unmatched: { ...this.#unmatched },
      pending: this.join.stats(),
      store: this.store.stats(),
    };
    if (this.#otherSignatures) s.bySignature.push({ signatureId: -1, signature: '(other signatures)', count: this.#otherSignatures });
    if (this.#file) s.file = this.#file.stats();
    if (this.#socket) s.socket = this.#socket.stats();
    return s;
  }

  #sink(source: AlertSource): LineSink {
    return {
      line: (text) => this.takeLine(text, source),
      tooLong: (excerpt) => this.#reject(source, 'line-too-long', 'the line is longer than the bound and was cut', excerpt),
    };
  }

  #countSignature(record: EveRecord): void {
    const id = record.alert?.signature_id;
    if (typeof id !== 'number') return;
    const entry = this.#bySignature.get(id);
    if (entry) entry.count++;
    else if (this.#bySignature.size < MAX_SIGNATURES) this.#bySignature.set(id, { signature: record.alert?.signature, count: 1 });
    else this.#otherSignatures++;
  }

  #skip(eventType: string): void {
    const key = this.#skipped.has(eventType) || this.#skipped.size < MAX_EVENT_TYPES ? eventType : '(other)';
    this.#skipped.set(key, (this.#skipped.get(key) ?? 0) + 1);
  }

  #reject(source: AlertSource, reason: AlertRejectReason, detail: string, excerpt: Buffer): void {
    this.#rejected[reason] = (this.#rejected[reason] ?? 0) + 1;
    this.#samples.push({ at: Date.now(), source, reason, detail, excerpt: payloadExcerpt(excerpt) });
    if (this.#samples.length > SAMPLES) this.#samples.shift();
  }
}
