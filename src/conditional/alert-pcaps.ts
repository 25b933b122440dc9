// The seed's extraction workflow for one alert: upload the alert record (→ a file name),
// extract (the flow's packets read from the conditional store by the recording reader,
// in an extraction thread, into a file under a temporary name), retrieve (pending,
// ready or failed, with packets and bytes), download. Bounded: past `maxEntries` the
// oldest upload and its file go; at most `maxRunning` extractions run at once, the
// others wait their turn.
import { createHash } from 'node:crypto';
import { mkdirSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Worker } from 'node:worker_threads';
import { findAlertFlows } from '../alerts/alert-join.ts';
import type { AlertStore } from '../alerts/alert-store.ts';
import { ACCEPTED, parseEveRecord } from '../alerts/eve.ts';
import type { AlertFlowRef, EveRecord } from '../model/alert.ts';
import type { ExtractionMessage } from '../recording/extraction-protocol.ts';
import { startExtractionThread } from '../recording/extraction-thread.ts';
import type { ExtractionQuery } from '../recording/reader.ts';
import type { ConditionalPcap } from './conditional-pcap.ts';

/** An upload the API refuses (400), or a name it does not know (404), or a download not ready (409). */
export class AlertPcapError extends Error {
  constructor(message: string, readonly status: 400 | 404 | 409) {
    super(message);
  }
}

export type AlertPcapStatus = 'uploaded' | 'pending' | 'ready' | 'failed';

export interface AlertPcap {
  filename: string;
  uploadedAt: number;
  /** The flow the record names, where its packets are kept. */
  interface: string;
  flow: string;
  /** How the flow was found: a flow in the table (by Community ID or 5-tuple), or the record's 5-tuple alone. */
  by: 'community-id' | '5-tuple' | 'record';
  signatureId?: number;
  status: AlertPcapStatus;
  packets: number;
  bytes: number;
  error?: string;
  emptyReason?: string;
}

/** Far enough ahead that every packet of a flow still going is in the window. */
const FUTURE_NS = 86_400_000_000_000n;
const MAX_EXTRACT_BYTES = 4 * 1024 ** 3;

/** The whole store for one flow: every stored packet of `key`. */
export function flowQuery(key: string, nowMs = Date.now()): ExtractionQuery {
  return { beginNs: 0n, endNs: BigInt(nowMs) * 1_000_000n + FUTURE_NS, flows: new Set([key]) };
}

/** The flow a record names on the interfaces with a store: the flow in a table, else the alert store's match, else the record's 5-tuple. */
export function resolveFlow(ref: AlertFlowRef, record: EveRecord, conditional: ConditionalPcap, alerts: AlertStore | undefined, seed = 0): { interface: string; flow: string; by: AlertPcap['by'] } {
  const stores = conditional.interfaces();
  if (stores.length === 0) throw new AlertPcapError('no interface keeps alerted flows: choose some with PATCH /api/v1/conditional-pcap {"interfaces": ["eth1"], "maxDiskBytes": "500MB"} or --conditional-pcap eth1=500MB', 409);
  const found = findAlertFlows(ref, stores, seed);
  if ('flows' in found) return { interface: found.flows[0].interface, flow: found.flows[0].key, by: found.flows[0].by };
  // The flow left the table: an alert stored with this record knows where it was.
  const same = JSON.stringify(record);
  for (const a of alerts?.list({ flowId: record.flow_id, limit: 1000 }).alerts ?? []) {
    const f = a.flows.find((m) => stores.some((s) => s.name === m.interface));
    if (f && JSON.stringify(a.record) === same) return { interface: f.interface, flow: f.key, by: f.by };
  }
  return { interface: stores[0].name, flow: ref.tuple, by: 'record' };
}

export interface AlertPcapsOptions {
  dir: string;
  conditional: ConditionalPcap;
  alerts?: AlertStore;
  communityIdSeed?: number;
  maxEntries?: number;
  maxRunning?: number;
}

export class AlertPcaps {
  readonly dir: string;
  readonly maxEntries: number;
  readonly maxRunning: number;
  readonly #o: AlertPcapsOptions;
  /** Insertion order: oldest first. */
  readonly #entries = new Map<string, AlertPcap>();
  readonly #queue: string[] = [];
  readonly #running = new Map<string, Worker>();
  #evicted = 0;

  constructor(o: AlertPcapsOptions) {
    this.#o = o;
    this.dir = o.dir;
    this.maxEntries = o.maxEntries ?? 1000;
    this.maxRunning = o.maxRunning ?? 2;
    // Uploads live in memory: files of an earlier run have no entry and go.
    rmSync(o.dir, { recursive: true, force: true });
    mkdirSync(o.dir, { recursive: true });
  }

  /** Takes an alert record (a JSON value); returns its entry (the same record gives the same file name). */
  upload(value: unknown): AlertPcap {
    const parsed = parseEveRecord(value);
    if (parsed.kind === 'skipped') throw new AlertPcapError(`the record has event_type ${JSON.stringify(parsed.eventType)}: upload an alert record, ${ACCEPTED}`, 400);
    if (parsed.kind === 'rejected') throw new AlertPcapError(`the record is not a usable alert: ${parsed.detail}; upload ${ACCEPTED}`, 400);
    const filename = `alert-${createHash('sha256').update(JSON.stringify(parsed.record)).digest('hex').slice(0, 20)}.pcap`;
    const known = this.#entries.get(filename);
    if (known) return known;
    const where = resolveFlow(parsed.flow, parsed.record, this.#o.conditional, this.#o.alerts, this.#o.communityIdSeed);
    const entry: AlertPcap = { filename, uploadedAt: Date.now(), ...where, status: 'uploaded', packets: 0, bytes: 0 };
    if (typeof parsed.record.alert?.signature_id === 'number') entry.signatureId = parsed.record.alert.signature_id;
    this.#entries.set(filename, entry);
    while (this.#entries.size > this.maxEntries) {
      const oldest = this.#entries.keys().next().value as string;
      this.#forget(oldest);
      this.#evicted++;
    }
    return entry;
  }

  /** Starts (or queues) the extraction; again after it ended: extracted anew (the flow may have grown). */
  extract(filename: string): AlertPcap {
    const e = this.get(filename);
    if (e.status === 'pending') return e;
    e.status = 'pending';
    delete e.error;
    delete e.emptyReason;
    this.#queue.push(filename);
    this.#next();
    return e;
  }

  get(filename: string): AlertPcap {
    const e = this.#entries.get(filename);
    if (!e) throw new AlertPcapError(`no upload ${JSON.stringify(filename)}: upload the alert record with POST /api/v1/conditional-pcap/upload (the last ${this.maxEntries} uploads are kept)`, 404);
    return e;
  }

  /** The file of a ready extraction. */
  file(filename: string): { path: string; bytes: number; entry: AlertPcap } {
    const e = this.get(filename);
    if (e.status === 'uploaded') throw new AlertPcapError(`${filename} is not extracted: POST /api/v1/conditional-pcap/${filename}/extract first`, 409);
    if (e.status === 'pending') throw new AlertPcapError(`${filename} is being extracted: retry when GET /api/v1/conditional-pcap/${filename}/retrieve says ready`, 409);
    if (e.status === 'failed') throw new AlertPcapError(`the extraction of ${filename} failed: ${e.error ?? 'unknown reason'}`, 409);
    return { path: join(this.dir, filename), bytes: e.bytes, entry: e };
  }

  list(): AlertPcap[] {
    return [...this.#entries.values()].reverse();
  }

  stats(): { size: number; max: number; dropped: number; running: number; queued: number } {
    return { size: this.#entries.size, max: this.maxEntries, dropped: this.#evicted, running: this.#running.size, queued: this.#queue.length };
  }

  async close(): Promise<void> {
    this.#queue.length = 0;
    await Promise.all([...this.#running.values()].map((w) => w.terminate()));
    this.#running.clear();
  }

  #forget(filename: string): void {
    this.#entries.delete(filename);
    const q = this.#queue.indexOf(filename);
    if (q >= 0) this.#queue.splice(q, 1);
    void this.#running.get(filename)?.terminate();
    this.#running.delete(filename);
    rmSync(join(this.dir, filename), { force: true });
  }

  #next(): void {
    while (this.#running.size < this.maxRunning && this.#queue.length > 0) this.#run(this.#queue.shift()!);
  }

  #run(filename: string): void {
    const e = this.#entries.get(filename);
    if (!e) return;
    const store = this.#o.conditional.storeOf(e.interface);
    if (!store) {
      this.#end(e, { error: `${e.interface} keeps no alerted flows any more (PATCH /api/v1/conditional-pcap)` });
      return;
    }
    const base = `.${filename}-${Date.now()}`;
    const worker = startExtractionThread({ dir: store.dir, query: flowQuery(e.flow), output: { dir: this.dir, base, partBytes: MAX_EXTRACT_BYTES, maxBytes: MAX_EXTRACT_BYTES } });
    this.#running.set(filename, worker);
    let settled = false;
    const finish = (outcome: { error?: string; done?: Extract<ExtractionMessage, { type: 'done' }> }) => {
      if (settled) return;
      settled = true;
      if (this.#running.get(filename) === worker) this.#running.delete(filename);
      void worker.terminate();
      if (this.#entries.get(filename) !== e) {
        for (const f of outcome.done?.files ?? []) rmSync(join(this.dir, f.name), { force: true });
      } else this.#end(e, outcome);
      this.#next();
    };
    worker.on('message', (m: ExtractionMessage) => {
      if (m.type === 'done') finish({ done: m });
      else if (m.type === 'error') finish({ error: m.message });
    });
    worker.on('error', (err) => finish({ error: err.message }));
    worker.on('exit', () => finish({ error: 'the extraction thread ended before it was done' }));
  }

  #end(e: AlertPcap, outcome: { error?: string; done?: Extract<ExtractionMessage, { type: 'done' }> }): void {
    const done = outcome.done;
    if (!done || outcome.error) {
      e.status = 'failed';
      e.error = outcome.error ?? 'no result';
      return;
    }
    if (done.limitReached || done.files.length !== 1) {
      for (const f of done.files) rmSync(join(this.dir, f.name), { force: true });
      e.status = 'failed';
      e.error = `the flow's pcap is larger than ${MAX_EXTRACT_BYTES} bytes`;
      return;
    }
    // The thread wrote it under a hidden name; the entry's name appears only complete.
    renameSync(join(this.dir, done.files[0].name), join(this.dir, e.filename));
    e.status = 'ready';
    e.packets = done.result.packets;
    e.bytes = done.files[0].bytes;
    if (done.result.emptyReason) e.emptyReason = done.result.emptyReason;
  }
}
