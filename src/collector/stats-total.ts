// One ZMQ interface's counters across its threads and their restarts: a thread that
// died took its counters with it, so what it had counted is carried and added to
// what the threads running now count (counters never go backwards in the API or
// /metrics). Tables (exporters, samples, bounds) are the running threads' own.
import type { CollectorStats } from '../model/exporter.ts';

type Counts = Record<string, number | undefined>;

function addCounts<T extends Counts>(a: T, b: T): T {
  const out: Counts = { ...a };
  for (const [k, v] of Object.entries(b)) out[k] = (out[k] ?? 0) + (v ?? 0);
  return out as T;
}

function addNested<T extends Counts>(a: Record<string, T>, b: Record<string, T>): Record<string, T> {
  const out: Record<string, T> = { ...a };
  for (const [k, v] of Object.entries(b)) out[k] = out[k] ? addCounts(out[k], v) : { ...v };
  return out;
}

/** The counters of `a` and `b` added; tables of `b`; bounds added (threads of one run each have their own; an ended run leaves only its drops). */
export function addStats(a: CollectorStats, b: CollectorStats): CollectorStats {
  const bound = (x: CollectorStats['bounds']['exporters'], y: CollectorStats['bounds']['exporters']) => ({ size: x.size + y.size, max: x.max + y.max, dropped: x.dropped + y.dropped });
  return {
    ...b,
    messages: addCounts(a.messages, b.messages),
    events: addCounts(a.events, b.events),
    rejected: addCounts(a.rejected, b.rejected),
    rejectedByTopic: addNested(a.rejectedByTopic, b.rejectedByTopic),
    lostMessages: a.lostMessages + b.lostMessages,
    connections: addNested(a.connections, b.connections),
    threadRestarts: a.threadRestarts + b.threadRestarts,
    exporters: [...a.exporters, ...b.exporters],
    samples: [...a.samples, ...b.samples].sort((x, y) => y.at - x.at).slice(0, Math.max(a.samples.length, b.samples.length)),
    bounds: {
      exporters: bound(a.bounds.exporters, b.bounds.exporters),
      learnedFieldIds: bound(a.bounds.learnedFieldIds, b.bounds.learnedFieldIds),
      handoffBatches: bound(a.bounds.handoffBatches, b.bounds.handoffBatches),
      internedStrings: bound(a.bounds.internedStrings, b.bounds.internedStrings),
    },
    decoding: { scanner: b.decoding.scanner, scanned: a.decoding.scanned + b.decoding.scanned, fallbacks: addCounts(a.decoding.fallbacks, b.decoding.fallbacks) },
  };
}

/** What a thread that ended leaves behind: its counters only (its tables went with it). */
export function countersOnly(s: CollectorStats): CollectorStats {
  const none = { size: 0, max: 0, dropped: 0 };
  return {
    ...s, exporters: [],
    bounds: {
      exporters: { ...none, dropped: s.bounds.exporters.dropped }, learnedFieldIds: { ...none, dropped: s.bounds.learnedFieldIds.dropped },
      handoffBatches: { ...none, dropped: s.bounds.handoffBatches.dropped }, internedStrings: { ...none, dropped: s.bounds.internedStrings.dropped },
    },
  };
}
