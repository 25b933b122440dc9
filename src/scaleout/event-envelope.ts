// An event on its way from an ingest node to a capture node: the normalised event as the
// collector made it, which ZMQ interface of which node received it (the flow's `via`),
// when, by which dispatch rule, and an id unique across the cluster (the publish's
// message id and the capture node's guard against a redelivery merged twice).
import { Packr } from 'msgpackr';
import type { SocketEvent } from '../model/event.ts';

export interface EventEnvelope {
  /** `<node>.<boot>.<sequence>`: unique per event and target. */
  id: string;
  /** `<node>/<ZMQ interface name>` that received it. */
  via: string;
  /** Epoch ms when the ingest node received it: an event older than the grace period when it arrives is late. */
  receivedAt: number;
  route: 'name' | 'companion';
  event: SocketEvent;
}

const packr = new Packr({ useRecords: false, moreTypes: false });

export function encodeEnvelope(e: EventEnvelope): Uint8Array {
  return packr.pack(e);
}

/** The envelope, or a reason it is not one (counted by the capture node, never thrown). */
export function decodeEnvelope(data: Uint8Array): EventEnvelope | 'undecodable' | 'not-an-event' {
  let e: Partial<EventEnvelope>;
  try {
    e = packr.unpack(data) as Partial<EventEnvelope>;
  } catch {
    return 'undecodable';
  }
  const ev = e?.event;
  if (typeof e?.id !== 'string' || typeof e.via !== 'string' || typeof e.receivedAt !== 'number' || !ev || (ev.kind !== 'flow' && ev.kind !== 'netstat') || !ev.client || !ev.server || !ev.local || !ev.remote) return 'not-an-event';
  return e as EventEnvelope;
}
