// The ingest bench's accounting: where every event the load generator sent ended up,
// read from the running pipeline's own counters. An event is either merged into the
// flow table, or appears in a counter (a rejection, a hand-off drop, a dispatch queue
// drop, a merge error, or a message the collector saw missing from the msg_id
// sequence); anything else is unaccounted loss, which only ZMQ's silent drops at its
// high-water marks should produce (v0 headers carry no msg_id to reveal them).
import type { Dispatcher } from '../src/dispatch/dispatcher.ts';
import type { ZmqInterface } from '../src/interfaces/zmq-interface.ts';

/** Cumulative counters of one ZMQ interface and its dispatch, at one moment. */
export interface Counters {
  /** Messages the collector received (every topic). */
  receivedMessages: number;
  /** Events the collector accepted (decoded, valid, normalised). */
  acceptedEvents: number;
  /** Rejections other than the hand-off's (schema, json, header, ...). */
  rejected: number;
  /** Events the collector dropped because the hand-off to dispatch was full. */
  handoffFull: number;
  /** Messages missing from the msg_id sequence (v1–v3 headers only). */
  gapLostMessages: number;
  /** Events merged into the interface's flow table. */
  merged: number;
  /** Events dropped because the interface's dispatch queue was full. */
  queueFull: number;
  /** Events the flow table refused (a bug, counted). */
  mergeErrors: number;
}

export async function readCounters(zmq: ZmqInterface, dispatcher: Dispatcher): Promise<Counters> {
  const c = await zmq.collector.refreshStats();
  const d = dispatcher.stats().find((x) => x.interfaceId === zmq.id);
  const sum = (r: Record<string, number | undefined>) => Object.values(r).reduce<number>((a, b) => a + (b ?? 0), 0);
  const handoffFull = c.rejected['handoff-full'] ?? 0;
  const mergeErrors = d?.dropped['merge-error'] ?? 0;
  return {
    receivedMessages: sum(c.messages),
    acceptedEvents: sum(c.events),
    rejected: sum(c.rejected) - handoffFull,
    handoffFull,
    gapLostMessages: c.lostMessages,
    // Delivered counts events queued for the flow table; those still queued, and
    // those the table refused, are not merged (yet).
    merged: (d?.delivered.home ?? 0) - (d?.queueSize ?? 0) - mergeErrors,
    queueFull: d?.dropped['queue-full'] ?? 0,
    mergeErrors,
  };
}

export function countersChanged(a: Counters, b: Counters): boolean {
  return (Object.keys(a) as (keyof Counters)[]).some((k) => a[k] !== b[k]);
}

/** One step's balance: what was sent against what the pipeline merged or counted. */
export interface Ledger {
  sentMessages: number;
  sentEvents: number;
  receivedMessages: number;
  merged: number;
  /** Events accounted for by a counter, by counter (gap losses converted to events). */
  counted: { rejected: number; handoffFull: number; queueFull: number; mergeErrors: number; gapLost: number };
  /** Sent, yet neither merged nor in any counter. */
  unaccounted: number;
}

export function balance(before: Counters, after: Counters, sentMessages: number, eventsPerMessage: number): Ledger {
  const d = (k: keyof Counters) => after[k] - before[k];
  const counted = {
    rejected: d('rejected'),
    handoffFull: d('handoffFull'),
    queueFull: d('queueFull'),
    mergeErrors: d('mergeErrors'),
    gapLost: d('gapLostMessages') * eventsPerMessage,
  };
  const sentEvents = sentMessages * eventsPerMessage;
  const merged = d('merged');
  return {
    sentMessages,
    sentEvents,
    receivedMessages: d('receivedMessages'),
    merged,
    counted,
    unaccounted: sentEvents - merged - Object.values(counted).reduce((a, b) => a + b, 0),
  };
}

export const countedTotal = (l: Ledger): number => Object.values(l.counted).reduce((a, b) => a + b, 0);
