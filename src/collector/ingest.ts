// One ZMQ interface's ingest pipeline, free of any socket: a multipart message in,
// normalised events out. Frames → header → inflate → JSON/TLV → field ids → schema →
// normalise. Anything wrong is counted by reason with a sample kept; nothing throws.
import type { CollectedEvent } from '../model/event.ts';
import type { CollectorStats, RejectReason } from '../model/exporter.ts';
import type { Bound } from '../model/telemetry.ts';
import { FieldIds, MAX_LEARNED_FIELDS } from './events/field-ids.ts';
import { parseHeader } from './wire/header.ts';
import { NormaliseError, normaliseCounters, normaliseListeningPorts, orientSocketRecord, SOCKET_KEYS, socketEvent, socketExtra, type OrientedSocket } from './events/normalise.ts';
import { MAX_JSON_DEPTH, MAX_PAYLOAD_BYTES, nestedDeeperThan, parseRecords, payloadData } from './wire/payload.ts';
import { ScannedRecords } from './events/scanned-records.ts';
import socketSchema from '../../schemas/socket-event.schema.json' with { type: 'json' };
import { payloadExcerpt, recordExcerpt, SampleRing } from './samples.ts';
import { MAX_SOURCES, SourceTable } from './sources.ts';
import { compileValidators, describeSchemaErrors, type Validators } from './events/validate.ts';
import type { BatchPacker } from './handoff.ts';

export { SAMPLE_COUNT } from './samples.ts';

/**
 * The topics flowbridge reads, matched as prefixes like the SUB socket's
 * subscriptions (so `ebpf`, a raw struct for Wireshark, is never one of them).
 * Counters use these names, a bounded set of labels whatever producers send.
 */
export const TOPICS = ['flow', 'event', 'counter', 'template', 'option', 'hello', 'listening-ports', 'snmp-ifaces', 'message'] as const;
let lastTopic: { topic: string; route: string | undefined } = { topic: '', route: undefined };
/** The topic flowbridge reads that `topic` starts with (the last answer kept: producers repeat their topic). */
function topicOf(topic: string): string | undefined {
  if (topic !== lastTopic.topic) lastTopic = { topic, route: TOPICS.find((t) => topic.startsWith(t)) };
  return lastTopic.route;
}
/** The topic label of rejections that happened before a topic could be read. */
export const NO_TOPIC = '-';

/** Why a record that passed its schema was still refused. */
type Refusal = { reason: 'schema' | 'json'; detail: string };
const TOO_DEEP: Refusal = { reason: 'json', detail: `additional fields nested deeper than ${MAX_JSON_DEPTH}` };
function normaliseRefusal(err: unknown): Refusal {
  if (!(err instanceof NormaliseError)) throw err;
  return { reason: 'schema', detail: err.message };
}

/** Topics that carry producer information but no events for flowbridge. */
const INFORMATIONAL = new Set<string>(['event', 'option', 'hello', 'snmp-ifaces', 'message']);

/**
 * Where accepted events go: the hand-off's packer (which packs socket records without
 * building their objects), or a plain array (handy in tests).
 */
export type EventSink = Pick<BatchPacker, 'add' | 'addSocketRecord'> | CollectedEvent[];

export class Ingest {
  readonly interfaceId: number;
  readonly sources: SourceTable;
  readonly #validators: Validators = compileValidators();
  readonly #fieldIds = new FieldIds();
  readonly #maxPayload: number;
  readonly #messages: Record<string, number> = {};
  readonly #events: Record<string, number> = {};
  readonly #rejected: Partial<Record<RejectReason, number>> = {};
  readonly #rejectedByTopic: Record<string, Partial<Record<RejectReason, number>>> = {};
  readonly #samples = new SampleRing();
  /** Source keys by endpoint, then source id (v1–v3, a number) or peer (v0, a string). */
  readonly #keys = new Map<string, Map<number | string, string>>();

  /** The native scanner's path for socket payloads, or why there is none. */
  readonly scanned: ScannedRecords | string;

  /** `scan: false` reads every payload with JSON.parse (the path the scanner falls back to). */
  constructor(interfaceId: number, maxPayloadBytes = MAX_PAYLOAD_BYTES, o: { scan?: boolean } = {}) {
    this.interfaceId = interfaceId;
    this.sources = new SourceTable(interfaceId);
    this.#maxPayload = maxPayloadBytes;
    this.scanned = o.scan === false ? 'not asked for'
      : ScannedRecords.open(socketSchema, this.#validators['socket-event'].fastOwningEveryName, SOCKET_KEYS, maxPayloadBytes);
  }

  /**
   * Processes one multipart message received on `endpoint` from `peer` (the peer
   * address when libzmq tells it). Accepted events go to `sink`.
   */
  message(frames: Buffer[], endpoint: string, peer: string | undefined, sink: EventSink, now = Date.now()): void {
    const v0Source = peer ? this.#sourceKey(endpoint, peer, ' ') : endpoint;
    if (frames.length !== 2) {
      this.reject('frame-count', '', v0Source, `${frames.length} frames (a message is exactly a header and a payload)`, frames[0], now);
      return;
    }
    const [headerFrame, payload] = frames;
    const header = parseHeader(headerFrame);
    if ('error' in header) {
      this.reject(header.error, '', v0Source, header.detail, headerFrame, now);
      return;
    }
    const route = topicOf(header.topic);
    const sourceKey = header.sourceId === undefined ? v0Source : this.#sourceKey(endpoint, header.sourceId, ' #');
    if (route === undefined) {
      this.reject('topic', header.topic, sourceKey, `topic ${JSON.stringify(header.topic)} is not one flowbridge handles`, payload, now);
      return;
    }
    this.#messages[route] = (this.#messages[route] ?? 0) + 1;
    const sourceId = header.sourceId === undefined ? peer ?? endpoint : String(header.sourceId);
    const source = this.sources.message(sourceKey, endpoint, sourceId, header.layout, header.msgId, now);
    if (INFORMATIONAL.has(route)) return;

    const data = payloadData(header, payload, this.#maxPayload);
    if (!Buffer.isBuffer(data)) {
      this.reject(data.error, header.topic, sourceKey, data.detail, payload, now);
      return;
    }
    // Socket payloads in JSON go the scanner's way first; what it leaves, from the record
    // it was not sure of, goes the JSON.parse way below (whose verdicts are the ones).
    let from = 0;
    if (route === 'flow' && !header.tlv && typeof this.scanned === 'object') {
      const left = this.scanned.records(data, (record) => this.#socketRecord(record, source, sink, false) === undefined);
      if (left === undefined) return;
      from = left;
    }
    const records = parseRecords(header, data);
    if ('error' in records) {
      this.reject(records.error, header.topic, sourceKey, records.detail, payload, now);
      return;
    }
    for (let k = from; k < records.length; k++) {
      const raw = records[k];
      // A template is read as sent: its numeric keys are the ids it (re)defines.
      if (route === 'template') {
        this.#fieldIds.learn(raw);
        continue;
      }
      const record = this.#fieldIds.resolve(raw);
      const schema = route === 'flow' ? 'socket-event' : route === 'counter' ? 'counters-event' : 'listening-ports';
      const validate = this.#validators[schema];
      if (!validate(record)) {
        this.reject('schema', header.topic, sourceKey, describeSchemaErrors(validate.errors), recordExcerpt(record), now);
        continue;
      }
      const refusal = route === 'flow' ? this.#socketRecord(record, source, sink) : this.#otherRecord(route as 'counter' | 'listening-ports', record, source, sink);
      if (refusal) this.reject(refusal.reason, header.topic, sourceKey, refusal.detail, refusal.reason === 'schema' ? recordExcerpt(record) : undefined, now);
    }
  }

  /**
   * A validated socket record, oriented and checked, then packed straight from the record
   * (built, for an array). `mayHaveExtra` false: a scanned record, which has no additional fields.
   */
  #socketRecord(record: Record<string, unknown>, source: { events: number }, sink: EventSink, mayHaveExtra = true): Refusal | undefined {
    let o: OrientedSocket;
    try {
      o = orientSocketRecord(record);
    } catch (err) {
      return normaliseRefusal(err);
    }
    const extra = mayHaveExtra ? socketExtra(record) : undefined;
    if (extra && nestedDeeperThan(extra, MAX_JSON_DEPTH)) return TOO_DEEP;
    this.#accepted(o.kind, source);
    if (Array.isArray(sink)) sink.push(socketEvent(record, o, extra));
    else sink.addSocketRecord(record, o, extra);
    return undefined;
  }

  /** A validated counters or listening-ports record. */
  #otherRecord(route: 'counter' | 'listening-ports', record: Record<string, unknown>, source: { events: number }, sink: EventSink): Refusal | undefined {
    let event: CollectedEvent;
    try {
      event = route === 'counter' ? normaliseCounters(record) : normaliseListeningPorts(record);
    } catch (err) {
      return normaliseRefusal(err);
    }
    if ('extra' in event && event.extra && nestedDeeperThan(event.extra, MAX_JSON_DEPTH)) return TOO_DEEP;
    this.#accepted(event.kind, source);
    if (Array.isArray(sink)) sink.push(event);
    else sink.add(event);
    return undefined;
  }

  #accepted(kind: CollectedEvent['kind'], source: { events: number }): void {
    this.#events[kind] = (this.#events[kind] ?? 0) + 1;
    source.events++;
  }

  /** Frees the native scanner (the thread is ending). */
  close(): void {
    if (typeof this.scanned === 'object') this.scanned.close();
  }

  /**
   * `${endpoint}${sep}${id}`, the same string object every time: the source table's
   * lookup then hashes nothing new per message. Bounded like the source table.
   */
  #sourceKey(endpoint: string, id: string | number, sep: string): string {
    let ids = this.#keys.get(endpoint);
    if (!ids) this.#keys.set(endpoint, (ids = new Map()));
    let key = ids.get(id);
    if (key === undefined) {
      if (ids.size >= MAX_SOURCES) ids.clear();
      key = `${endpoint}${sep}${id}`;
      ids.set(id, key);
    }
    return key;
  }

  /**
   * Counts a rejection by reason and topic and keeps a sample; `excerpt` is the raw
   * payload, or the refused record's excerpt. Also used for hand-off drops.
   */
  reject(reason: RejectReason, topic: string, source: string, detail: string, excerpt: Buffer | string | undefined, now = Date.now(), count = 1): void {
    this.#rejected[reason] = (this.#rejected[reason] ?? 0) + count;
    // Counted under the topic it matched, so labels stay a bounded set whatever producers send.
    const byTopic = (this.#rejectedByTopic[topicOf(topic) ?? NO_TOPIC] ??= {});
    byTopic[reason] = (byTopic[reason] ?? 0) + count;
    this.#samples.add({
      at: now, interfaceId: this.interfaceId, source, topic, reason, detail,
      excerpt: typeof excerpt === 'string' ? excerpt : payloadExcerpt(excerpt),
    });
  }

  /** A snapshot; the hand-off's fill level is the caller's to tell. */
  stats(now = Date.now(), handoffBatches: Bound = { size: 0, max: 0, dropped: 0 }): CollectorStats {
    this.sources.expire(now);
    const scanned = typeof this.scanned === 'object' ? this.scanned : undefined;
    const strings = scanned?.strings();
    return {
      interfaceId: this.interfaceId,
      messages: { ...this.#messages },
      events: { ...this.#events },
      rejected: { ...this.#rejected },
      lostMessages: this.sources.lostMessages,
      connections: {},
      threadRestarts: 0,
      exporters: this.sources.list(),
      samples: this.#samples.list(),
      rejectedByTopic: Object.fromEntries(Object.entries(this.#rejectedByTopic).map(([t, r]) => [t, { ...r }])),
      bounds: {
        exporters: { size: this.sources.size, max: MAX_SOURCES, dropped: this.sources.overflow },
        learnedFieldIds: { size: this.#fieldIds.size, max: MAX_LEARNED_FIELDS, dropped: this.#fieldIds.dropped },
        handoffBatches,
        internedStrings: strings ? { size: strings.size, max: strings.max, dropped: strings.resets } : { size: 0, max: 0, dropped: 0 },
      },
      decoding: scanned
        ? { scanner: 'native', scanned: scanned.scanned, fallbacks: { ...scanned.fallbacks } as Record<string, number> }
        : { scanner: this.scanned as string, scanned: 0, fallbacks: {} },
    };
  }
}
