// The capture role's intake: for each captured device, a durable JetStream consumer of
// flowbridge.events.<device>. Each event is merged into that interface's flow table as
// dispatch would (rule 6) and acknowledged after the merge, so a node that stops or
// crashes resumes where its consumer left off. An event older than the grace period is
// counted late and not merged (its flow may be gone, and a new one with its ports would
// be the wrong flow); a redelivery of an event this node already merged is acknowledged
// and counted, not merged twice.
import { LRUCache } from 'lru-cache';
import { AckPolicy, DeliverPolicy, type ConsumerMessages, type JsMsg } from '@nats-io/jetstream';
import type { FlowTableApi } from '../interfaces/interface.ts';
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
  /** Messages in the stream for this device not yet delivered, and delivered but not yet acknowledged (last look). */
  lag?: { pending: number; ackPending: number; at: number };
  lastError?: string;
}

/** Ids of merged messages remembered per device (a redelivery after a lost ack is recognised). */
const MERGED_IDS = 100_000;
const LAG_POLL_MS = 2_000;

class DeviceConsumer {
  readonly stats: ConsumerStats;
  readonly #device: CapturedDevice;
  readonly #graceMs: number;
  readonly #merged = new LRUCache<string, true>({ max: MERGED_IDS });
  #messages: ConsumerMessages | undefined;
  #stopping = false;

  constructor(device: CapturedDevice, graceMs: number) {
    this.#device = device;
    this.#graceMs = graceMs;
    const token = subjectToken(device.device);
    this.stats = {
      interface: device.name, consumer: `capture_${token}`, subject: `flowbridge.events.${token}`, running: false, merged: 0,
      skipped: { late: 0, redelivered: 0, undecodable: 0, 'not-an-envelope': 0, 'not-an-event': 0, 'merge-error': 0 },
    };
  }

  async start(ready: Ready): Promise<void> {
    if (this.stats.running || this.#stopping) return;
    this.stats.running = true;
    try {
      await ready.jsm.consumers.add(STREAMS.events.name, {
        durable_name: this.stats.consumer, filter_subject: this.stats.subject, ack_policy: AckPolicy.Explicit,
        deliver_policy: DeliverPolicy.All, ack_wait: 30e9, max_ack_pending: 1_000,
      });
      const consumer = await ready.js.consumers.get(STREAMS.events.name, this.stats.consumer);
      this.#messages = await consumer.consume({ max_messages: 100, expires: 2_000 });
      void this.#pollLag(ready);
      for await (const m of this.#messages) this.#take(m);
    } catch (err) {
      this.stats.lastError = (err as Error).message;
    } finally {
      this.stats.running = false;
      this.#messages = undefined;
    }
    // Ended by an error, not by stop(): again shortly (the link tells again on reconnect too).
    if (!this.#stopping) setTimeout(() => void this.start(ready), 500).unref();
  }

  async stop(): Promise<void> {
    this.#stopping = true;
    await this.#messages?.close();
  }

  #take(m: JsMsg): void {
    const decoded = decodeEnvelope(m.data);
    if (typeof decoded === 'string') {
      this.stats.skipped[decoded]++;
      m.term();
      return;
    }
    const { envelope: e, notEvents } = decoded;
    this.stats.skipped['not-an-event'] += notEvents;
    // A redelivery after a lost ack, or a copy the stream stored twice: merged once only.
    if (this.#merged.has(e.id)) {
      this.stats.skipped.redelivered += e.events.length;
      m.ack();
      return;
    }
    const now = Date.now();
    if (now - e.receivedAt > this.#graceMs) {
      this.stats.skipped.late += e.events.length;
      m.ack();
      return;
    }
    for (const event of e.events) {
      try {
        this.#device.flows.applyEvent(event, e.via, now);
        this.stats.merged++;
      } catch (err) {
        this.stats.skipped['merge-error']++;
        this.stats.lastError = (err as Error).message;
      }
    }
    this.#merged.set(e.id, true);
    m.ack();
  }

  async #pollLag(ready: Ready): Promise<void> {
    while (this.stats.running && !this.#stopping) {
      try {
        const info = await ready.jsm.consumers.info(STREAMS.events.name, this.stats.consumer);
        this.stats.lag = { pending: info.num_pending, ackPending: info.num_ack_pending, at: Date.now() };
      } catch { /* next time */ }
      await new Promise((r) => setTimeout(r, LAG_POLL_MS).unref());
    }
  }
}

export class CaptureConsumers {
  readonly #consumers: DeviceConsumer[];

  constructor(link: NatsLink, devices: CapturedDevice[], graceMs: number) {
    this.#consumers = devices.map((d) => new DeviceConsumer(d, graceMs));
    link.onChange((ready) => {
      if (ready) for (const c of this.#consumers) void c.start(ready);
    });
  }

  stats(): ConsumerStats[] {
    return this.#consumers.map((c) => ({ ...c.stats, skipped: { ...c.stats.skipped } }));
  }

  /** Stops taking events; what was merged is acknowledged (the connection's drain sends the acks). */
  async stop(): Promise<void> {
    await Promise.all(this.#consumers.map((c) => c.stop()));
  }
}
