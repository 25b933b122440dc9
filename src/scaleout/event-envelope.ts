// Events on their way from an ingest node to a capture node: a batch of normalised events
// as the collector made them (one message per target and received batch: a message per
// event would cost JetStream a replicated write and an acknowledgement each), which ZMQ
// interface of which node received them (the flows' `via`), when, by which dispatch rule,
// and an id unique across the cluster (the publish's message id and the capture node's
// guard against a redelivery merged twice).
import { Packr } from 'msgpackr';
import type { SocketEvent } from '../model/event.ts';

export interface EventEnvelope {
  /** `<node>.<boot>.<sequence>`: unique per message. */
  id: string;
  /** `<node>/<ZMQ interface name>` that received it. */
  via: string;
  /** Epoch ms when the ingest node received them: events older than the grace period when they arrive are late. */
  receivedAt: number;
  route: 'name' | 'companion';
  events: SocketEvent[];
}

const packr = new Packr({ useRecords: false, moreTypes: false });

export function encodeEnvelope(e: EventEnvelope): Uint8Array {
  return packr.pack(e);
}

const isSocketEvent = (ev: Partial<SocketEvent> | undefined): boolean =>
  !!ev && (ev.kind === 'flow' || ev.kind === 'netstat') && !!ev.client && !!ev.server && !!ev.local && !!ev.remote;

/** The envelope (its events that are socket events), or a reason it is not one (counted by the capture node, never thrown). */
export function decodeEnvelope(data: Uint8Array): { envelope: EventEnvelope; notEvents: number } | 'undecodable' | 'not-an-envelope' {
  let e: Partial<EventEnvelope>;
  try {
    e = packr.unpack(data) as Partial<EventEnvelope>;
  } catch {
    return 'undecodable';
  }
  if (typeof e?.id !== 'string' || typeof e.via !== 'string' || typeof e.receivedAt !== 'number' || !Array.isArray(e.events)) return 'not-an-envelope';
  const events = e.events.filter(isSocketEvent);
  return { envelope: { ...(e as EventEnvelope), events }, notEvents: e.events.length - events.length };
}
