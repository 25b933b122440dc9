// Several decode threads behind one receive thread (--decode-threads), over real ZMQ
// sockets: every source's events arrive in the order it sent them, and its msg_id
// loss accounting is exact, whichever thread decoded it; a dying decode thread is
// restarted like the receive thread.
import { describe, expect, it } from 'vitest';
import { ZmqCollector } from '../../src/collector/collector.ts';
import { parseCli } from '../../src/cli.ts';
import { defaultDecodeThreads, resolveConfig } from '../../src/config.ts';
import type { CollectedEvent, SocketEvent } from '../../src/model/event.ts';
import { fixture } from '../support/fixtures.ts';
import { untilSubscribed } from '../support/producer.ts';
import { waitFor } from '../support/wait.ts';
import { liveSockets } from './live.ts';

const live = liveSockets();

const SOURCES = 6;
const MESSAGES = 300;
/** Each source skips these msg_ids (counted as lost): source s skips every (10 + s)-th id. */
const skipped = (source: number, id: number) => id % (10 + source) === 0;

/** An ACCEPT whose client (the SRC side) names the source by address and the message by port. */
function event(source: number, seq: number): Record<string, unknown> {
  return { ...fixture('ebpflowexport-accept'), IPV4_SRC_ADDR: `10.0.0.${source}`, L4_SRC_PORT: 10_000 + seq };
}

const bySource = (events: CollectedEvent[]) => {
  const seen = new Map<string, number[]>();
  for (const e of events as SocketEvent[]) {
    const list = seen.get(e.client.ip) ?? [];
    list.push(e.client.port - 10_000);
    seen.set(e.client.ip, list);
  }
  return seen;
};

describe('decode threads', () => {
  it('keep each source in order and its msg_id losses exact, sources interleaved (3 decode threads)', async () => {
    const { c, events } = await live.collector('tcp://127.0.0.1:15563c', { decodeThreads: 3 });
    expect(c.decodeThreads).toBe(3);
    const producers = Array.from({ length: SOURCES }, () => live.producer('tcp://127.0.0.1:15563'));
    for (const [i, p] of producers.entries()) await untilSubscribed(p, () => c.stats().messages, i % 2 === 0 ? 'hello' : 'message');

    // All sources at once, each in its own order; every message of a source carries two events (a JSON array).
    const expected = new Map<string, number[]>();
    let sent = 0;
    await Promise.all(producers.map(async (p, i) => {
      const source = i + 1;
      const seqs: number[] = [];
      for (let id = 1; id <= MESSAGES; id++) {
        if (skipped(source, id)) continue;
        await p.send('flow', [event(source, 2 * id), event(source, 2 * id + 1)], { layout: 3, sourceId: source, msgId: id });
        seqs.push(2 * id, 2 * id + 1);
        sent += 2;
      }
      expected.set(`10.0.0.${source}`, seqs);
    }));
    await waitFor(() => events.length === sent, `${sent} events`, 20_000);

    const seen = bySource(events);
    for (const [ip, seqs] of expected) expect(seen.get(ip), ip).toEqual(seqs);
    const stats = await c.refreshStats();
    let lost = 0;
    for (let source = 1; source <= SOURCES; source++) {
      // Ids skipped before the last one sent are gaps the collector can see.
      const last = Math.max(...Array.from({ length: MESSAGES }, (_, k) => k + 1).filter((id) => !skipped(source, id)));
      const gaps = Array.from({ length: last }, (_, k) => k + 1).filter((id) => skipped(source, id)).length;
      lost += gaps;
      expect(stats.exporters.find((e) => e.sourceId === String(source)), `source ${source}`).toMatchObject({ lostMessages: gaps, restarts: 0, events: expected.get(`10.0.0.${source}`)!.length });
    }
    expect(stats.lostMessages).toBe(lost);
    expect(stats.events.flow).toBe(sent);
    // Each decode thread has its own hand-off: their bounds add up.
    expect(stats.bounds.handoffBatches.max).toBe(3 * 256);
  });

  it('judge bad frames as the receive thread would, and a decode thread that dies restarts the run', async () => {
    const { c, events } = await live.collector('tcp://127.0.0.1:15564c', { decodeThreads: 2 });
    const p = live.producer('tcp://127.0.0.1:15564');
    await untilSubscribed(p, () => c.stats().messages);
    await p.sendRaw([Buffer.from('flow')]);
    await p.send('flow', '{"not": "an event"', { layout: 3, sourceId: 9, msgId: 1 });
    await p.send('flow', event(1, 1), { layout: 3, sourceId: 9, msgId: 2 });
    await waitFor(() => events.length === 1, 'the good event');
    expect((await c.refreshStats()).rejected).toMatchObject({ 'frame-count': 1, json: 1 });

    c.injectFault(1 + (events.length % 2));
    await waitFor(() => c.failure, 'the failure to show');
    await waitFor(() => c.failure === undefined, 'the threads to run again');
    expect(c.stats().threadRestarts).toBe(1);
    await untilSubscribed(p, () => c.stats().messages, 'message');
    await p.send('flow', event(1, 2), { layout: 3, sourceId: 9, msgId: 3 });
    await waitFor(() => events.length === 2, 'an event after the restart');
    expect((await c.refreshStats()).rejected).toMatchObject({ 'frame-count': 1, json: 1 });
  });
});

describe('--decode-threads', () => {
  it('defaults to the cores left beside the receive and main threads (1 to 4); the flag wins over the file; bad values are refused', () => {
    expect([1, 2, 3, 4, 6, 8, 64].map((cores) => defaultDecodeThreads(cores))).toEqual([1, 1, 1, 2, 4, 4, 4]);
    expect(resolveConfig({ decodeThreads: 2 }, parseCli(['--decode-threads', '3'], {}).flags).decodeThreads).toBe(3);
    expect(resolveConfig({ decodeThreads: 2 }, parseCli([], {}).flags).decodeThreads).toBe(2);
    expect(() => parseCli(['--decode-threads', '0'], {})).toThrow(/--decode-threads "0": expected a whole number of at least 1/);
    expect(() => new ZmqCollector({ interfaceId: 0, endpoints: 'tcp://127.0.0.1:15565c', decodeThreads: 17 }, () => {})).toThrow(/decode threads: a whole number from 1 to 16/);
  });
});
