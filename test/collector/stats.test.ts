// What the collector tells operators beyond events: rejections by topic and reason,
// and how full its bounded tables are (size, bound, and what the bound cost).
import { describe, expect, it } from 'vitest';
import { MAX_LEARNED_FIELDS } from '../../src/collector/events/field-ids.ts';
import { encodeHeader } from '../../src/collector/wire/header.ts';
import { Ingest, NO_TOPIC } from '../../src/collector/ingest.ts';
import { MAX_SOURCES, SOURCE_IDLE_MS } from '../../src/collector/sources.ts';
import type { CollectedEvent } from '../../src/model/event.ts';
import { fixture } from '../support/fixtures.ts';

const frames = (topic: string, payload: unknown, o: { layout?: 0 | 3; sourceId?: number; msgId?: number } = {}) => [
  encodeHeader({ layout: o.layout ?? 0, topic, sourceId: o.sourceId, msgId: o.msgId }),
  Buffer.from(typeof payload === 'string' ? payload : JSON.stringify(payload)),
];

describe('collector stats', () => {
  it('counts rejections by topic and reason; labels stay the subscribed topics whatever producers write', () => {
    const ingest = new Ingest(0);
    const out: CollectedEvent[] = [];
    ingest.message(frames('flow', { ...fixture('ebpflowexport-accept'), L4_SRC_PORT: 'x' }), 'e', undefined, out);
    ingest.message(frames('flow-v2-custom', '{oops'), 'e', undefined, out);
    ingest.message(frames('counter', { ...fixture('counters-veth'), ifIndex: -1 }), 'e', undefined, out);
    ingest.message([Buffer.alloc(7)], 'e', undefined, out);
    ingest.message([Buffer.alloc(7), Buffer.alloc(1)], 'e', undefined, out);
    const s = ingest.stats();
    expect(s.rejectedByTopic).toEqual({
      flow: { schema: 1, json: 1 },
      counter: { schema: 1 },
      [NO_TOPIC]: { 'frame-count': 1, 'header-length': 1 },
    });
    expect(s.rejected).toEqual({ schema: 2, json: 1, 'frame-count': 1, 'header-length': 1 });
    expect(out).toEqual([]);
  });

  it('reports the exporters table and the learned field ids with their bounds, and what the bounds forgot', () => {
    const ingest = new Ingest(0);
    const t0 = 1_000_000;
    for (let id = 0; id < MAX_SOURCES + 5; id++) ingest.message(frames('hello', {}, { layout: 3, sourceId: id, msgId: 1 }), 'e', undefined, [], t0);
    const template = Object.fromEntries(Array.from({ length: MAX_LEARNED_FIELDS + 3 }, (_, i) => [String(10_000 + i), `FIELD_${i}`]));
    ingest.message(frames('template', template), 'e', undefined, [], t0);
    let s = ingest.stats(t0);
    // MAX_SOURCES + 5 sources, and the template's sender makes one more.
    expect(s.bounds.exporters).toEqual({ size: MAX_SOURCES, max: MAX_SOURCES, dropped: 6 });
    expect(s.bounds.learnedFieldIds).toEqual({ size: MAX_LEARNED_FIELDS, max: MAX_LEARNED_FIELDS, dropped: 3 });
    expect(s.exporters).toHaveLength(MAX_SOURCES);
    // Idle sources leave on their own.
    s = ingest.stats(t0 + SOURCE_IDLE_MS + 1);
    expect(s.bounds.exporters.size).toBe(0);
    expect(s.exporters).toEqual([]);
  });
});
