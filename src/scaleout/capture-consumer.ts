// The capture role's intake: for each captured device, a durable JetStream consumer of
// flowbridge.events.<device>. Each event is merged into that interface's flow table as
// dispatch would (rule 6) and acknowledged after the merge, so a node that stops or
// crashes resumes where its consumer left off. An event older than the grace period is
// counted late and not merged (its flow may be gone, and a new one with its ports would
// be the wrong flow); a redelivery of a message this node already took (merged or
// counted late: its acknowledgement was lost, say with the server that carried it) is
// acknowledged and counted, not taken twice. The ids taken are kept in the data
// directory, so that a redelivery after a restart of the node is recognised too.
import { join } from 'node:path';
import { LRUCache } from 'lru-cache';
import { AckPolicy, DeliverPolicy, type ConsumerMessages, type JsMsg } from '@nats-io/jetstream';
import type { FlowTableApi } from '../interfaces/interface.ts';
import { loadState, saveState } from '../runtime/state-file.ts';
import type { NatsLink, Ready } from './connection.ts';
import { decodeEnvelope } from './event-envelope.ts';
import { STREAMS } from './streams.ts';
import { subjectToken } from './settings.ts';

export interface CapturedDevice {
  /** The interface name (flows records and metrics). */
  name: string;
  device: string;
  flows: FlowTableApi;
}

/** Events (or, for undecodable and not-an-envelope, messages) acknowledged without a merge. */
export type ConsumeSkipReason = 'late' | 'redelivered' | 'undecodable' | 'not-an-envelope' | 'not-an-event' | 'merge-error';

export interface ConsumerStats {
  interface: string;
  /** Durable consumer name. */
  consumer: string;
  subject: string;
  running: boolean;
  merged: number;
  skipped: Record<ConsumeSkipReason, number>;
  /** Ids of the messages taken that are remembered to recognise a redelivery (the oldest forgotten past the bound). */
  takenIds: { size: number; bound: number };
  /** Messages in the stream for this device not yet delivered, and delivered but not yet acknowledged (last look). */
  lag?: { pending: number; ackPending: number; at: number };
  lastError?: string;
}

/** Ids of messages taken (merged or late) remembered per device (a redelivery after a lost ack is recognised). */
const TAKEN_IDS = 100_000;
const LAG_POLL_MS = 2_000;
/** The ids taken are written to the data directory this often when new ones came, and at stop. */
const SAVE_TAKEN_MS = 5_000;

class DeviceConsumer {
  /** What it counts as it goes (the remembered ids are told by snapshot()). */
  readonly #stats: Omit<ConsumerStats, 'takenIds'>;
  readonly #device: CapturedDevice;
  readonly #graceMs: number;
  readonly #taken = new LRUCache<string, true>({ max: TAKEN_IDS });
  readonly #takenFile: string;
  #takenChanged = false;
  readonly #saver: NodeJS.Timeout;
  #messages: ConsumerMessages | undefined;
  #stopping = false;

  constructor(device: CapturedDevice, graceMs: number, stateDir: string, log: (line: string) => void) {
    this.#device = device;
    this.#graceMs = graceMs;
    const token = subjectToken(device.device);
    this.#takenFile = join(stateDir, `nats-taken-${token}.json`);
    const loaded = loadState<string[]>(this.#takenFile, [], (v) => (Array.isArray(v) && v.every((id) => typeof id === 'string') ? v : undefined), 'a list of message ids', 'the ids of event messages taken');
    if (loaded.problem) log(`flowbridge: NATS: ${loaded.problem}`);
    for (const id of loaded.value) this.#taken.set(id, true);
    this.#saver = setInterval(() => this.#saveTaken(), SAVE_TAKEN_MS).unref();
    this.#stats = {
      interface: device.name, consumer: `capture_${token}`, subject: `flowbridge.events.${token}`, running: false, merged: 0,
      skipped: { late: 0, redelivered: 0, undecodable: 0, 'not-an-envelope': 0, 'not-an-event': 0, 'merge-error': 0 },
    };
  }

  async start(ready: Ready): Promise<void> {
    if (this.#stats.running || this.#stopping) return;
    this.#stats.running = true;
    try {
      await ready.jsm.consumers.add(STREAMS.events.name, {
        durable_name: this.#stats.consumer, filter_subject: this.#stats.subject, ack_policy: AckPolicy.Explicit,
        deliver_policy: DeliverPolicy.All, ack_wait: 30e9, max_ack_pending: 1_000,
      });
      const consumer = await ready.js.consumers.get(STREAMS.events.name, this.#stats.consumer);
      this.#messages = await consumer.consume({ max_messages: 100, expires: 2_000 });
      void this.#pollLag(ready);
      for await (const m of this.#messages) this.#take(m);
    } catch (err) {
      this.#stats.lastError = (err as Error).message;
    } finally {
      this.#stats.running = false;
      this.#messages = undefined;
    }
    // Ended by an error, not by stop(): again shortly (the link tells again on reconnect too).
    if (!this.#stopping) setTimeout(() => void this.start(ready), 500).unref();
  }

  snapshot(): ConsumerStats {
    return { ...this.#stats, skipped: { ...this.#stats.skipped }, takenIds: { size: this.#taken.size, bound: TAKEN_IDS } };
  }

  async stop(): Promise<void> {
    this.#stopping = true;
    await this.#messages?.close();
    clearInterval(this.#saver);
    this.#saveTaken();
  }

  /** Oldest first, so that a load keeps the newest when the bound is smaller. */
  #saveTaken(): void {
    if (!this.#takenChanged) return;
    this.#takenChanged = false;
    try {
      saveState(this.#takenFile, [...this.#taken.rkeys()]);
    } catch (err) {
      this.#stats.lastError = `cannot keep the ids taken in ${this.#takenFile}: ${(err as Error).message}`;
    }
  }

  #took(m: JsMsg, id: string): void {
    this.#taken.set(id, true);
    this.#takenChanged = true;
    m.ack();
  }

  #take(m: JsMsg): void {
    const decoded = decodeEnvelope(m.data);
    if (typeof decoded === 'string') {
      this.#stats.skipped[decoded]++;
      m.term();
      return;
    }
    const { envelope: e, notEvents } = decoded;
    this.#stats.skipped['not-an-event'] += notEvents;
    // A redelivery after a lost ack, or a copy the stream stored twice: taken once only.
    if (this.#taken.has(e.id)) {
      this.#stats.skipped.redelivered += e.events.length;
      m.ack();
      return;
    }
    const now = Date.now();
    if (now - e.receivedAt > this.#graceMs) {
      this.#stats.skipped.late += e.events.length;
      this.#took(m, e.id);
      return;
    }
    for (const event of e.events) {
      try {
        this.#device.flows.applyEvent(event, e.via, now);
        this.#stats.merged++;
      } catch (err) {
        this.#stats.skipped['merge-error']++;
        this.#stats.lastError = (err as Error).message;
      }
    }
    this.#took(m, e.id);
  }

  async #pollLag(ready: Ready): Promise<void> {
    while (this.#stats.running && !this.#stopping) {
      try {
        const info = await ready.jsm.consumers.info(STREAMS.events.name, this.#stats.consumer);
        this.#stats.lag = { pending: info.num_pending, ackPending: info.num_ack_pending, at: Date.now() };
      } catch { /* next time */ }
      await new Promise((r) => setTimeout(r, LAG_POLL_MS).unref());
    }
  }
}

export class CaptureConsumers {
  readonly #consumers: DeviceConsumer[];

  /** `stateDir` keeps the ids of the messages taken across restarts. */
  constructor(link: NatsLink, devices: CapturedDevice[], graceMs: number, stateDir: string, log: (line: string) => void = () => {}) {
    this.#consumers = devices.map((d) => new DeviceConsumer(d, graceMs, stateDir, log));
    link.onChange((ready) => {
      if (ready) for (const c of this.#consumers) void c.start(ready);
    });
  }

  stats(): ConsumerStats[] {
    return this.#consumers.map((c) => c.snapshot());
  }

  /** Stops taking events; what was merged is acknowledged (the connection's drain sends the acks). */
  async stop(): Promise<void> {
    await Promise.all(this.#consumers.map((c) => c.stop()));
  }
}
