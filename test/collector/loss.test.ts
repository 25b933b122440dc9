// Loss accounting over real sockets (reference/wire-format.md, "Loss accounting"):
// msg_id increases by one per message per source_id; a gap of d means d - 1 lost, a
// smaller id a restart, and the u32 wrap from 0xffffffff to 0 is no loss.
import { describe, expect, it } from 'vitest';
import { fixture } from '../support/fixtures.ts';
import { encodeHeader, type SendOptions } from '../support/producer.ts';
import { waitFor } from '../support/wait.ts';
import { joined, liveSockets } from './live.ts';

const live = liveSockets();

describe('msg_id gaps and restarts over the wire', () => {
  it('counts lost messages and restarts per source_id, in every layout and byte order', async () => {
    const { c, events } = await live.collector('tcp://127.0.0.1:15520c');
    const p = live.producer('tcp://127.0.0.1:15520');
    await joined(p, c);
    const record = fixture('ebpflowexport-retransmit');
    let expectedEvents = 0;
    const send = async (o: SendOptions, ids: number[]) => {
      for (const msgId of ids) {
        await p.send('flow', record, { ...o, msgId });
        expectedEvents++;
      }
    };
    // v3: two gaps, 3 + 3 lost.
    await send({ layout: 3, sourceId: 77 }, [10, 11, 15, 16, 20]);
    // v2: a restart (smaller id), then a gap of 2 after it: 1 lost.
    await send({ layout: 2, sourceId: 78 }, [1, 2, 3, 1, 2, 4]);
    // u32 wrap-around without loss, and with a gap across the wrap (0xfffffffd -> 1: 0xfffffffe, 0xffffffff, 0 lost).
    await send({ layout: 3, sourceId: 79 }, [0xfffffffe, 0xffffffff, 0, 1, 2]);
    await send({ layout: 2, sourceId: 80 }, [0xfffffffd, 1]);
    // v1 with version byte 1 stores msg_id little-endian: 255, 256, 258 is one lost, not a restart.
    await send({ layout: 1, version: 1, sourceId: 81 }, [255, 256, 258]);
    // v1 with version byte 2 stores it big-endian; its source_id is a single byte.
    await send({ layout: 1, version: 2, sourceId: 82 }, [0x01000000, 0x01000001, 0x01000003]);
    // Two sources interleaved do not disturb each other.
    for (const id of [1, 2, 3, 4]) {
      await send({ layout: 3, sourceId: 83 }, [id]);
      await send({ layout: 3, sourceId: 84 }, [id * 2]);
    }
    // Several restarts.
    await send({ layout: 3, sourceId: 85 }, [50, 51, 1, 2, 1, 7]);
    await waitFor(() => events.length === expectedEvents, `${expectedEvents} events`);

    const stats = await c.refreshStats();
    const row = (id: number) => stats.exporters.find((e) => e.sourceId === String(id));
    expect(row(77)).toMatchObject({ headerVersion: 3, messages: 5, events: 5, lostMessages: 6, restarts: 0 });
    expect(row(78)).toMatchObject({ headerVersion: 2, messages: 6, lostMessages: 1, restarts: 1 });
    expect(row(79)).toMatchObject({ messages: 5, lostMessages: 0, restarts: 0 });
    expect(row(80)).toMatchObject({ messages: 2, lostMessages: 3, restarts: 0 });
    expect(row(81)).toMatchObject({ headerVersion: 1, messages: 3, lostMessages: 1, restarts: 0 });
    expect(row(82)).toMatchObject({ headerVersion: 1, messages: 3, lostMessages: 1, restarts: 0 });
    expect(row(83)).toMatchObject({ messages: 4, lostMessages: 0, restarts: 0 });
    expect(row(84)).toMatchObject({ messages: 4, lostMessages: 3, restarts: 0 });
    expect(row(85)).toMatchObject({ messages: 6, lostMessages: 5, restarts: 2 });
    expect(stats.lostMessages).toBe(6 + 1 + 3 + 1 + 1 + 3 + 5);
    for (const e of stats.exporters) expect(e.endpoint).toBe('tcp://127.0.0.1:15520c');
  });

  it('every message of a source counts for its sequence: rejected payloads and informational topics are not losses', async () => {
    const { c, events } = await live.collector('tcp://127.0.0.1:15521c');
    const p = live.producer('tcp://127.0.0.1:15521');
    await joined(p, c, 'message');
    const record = fixture('nprobe-mini-connect');
    const o = { layout: 3 as const, sourceId: 90 };
    await p.send('flow', record, { ...o, msgId: 1 });
    await p.sendFrames([encodeHeader(3, 'flow', { sourceId: 90, msgId: 2 }), Buffer.from('{"not json')]);
    await p.send('hello', {}, { ...o, msgId: 3 });
    await p.send('flow', { ...record, PROTOCOL: 'tcp' }, { ...o, msgId: 4 }); // schema
    await p.send('flow', record, { ...o, msgId: 5 });
    await waitFor(() => events.length === 2, 'two events');
    const stats = await c.refreshStats();
    expect(stats.exporters.find((e) => e.sourceId === '90')).toMatchObject({ messages: 5, events: 2, lostMessages: 0, restarts: 0 });
    expect(stats.rejected).toEqual({ json: 1, schema: 1 });
  });

  it('v0 headers carry no msg_id: their producer is listed by connection, with no loss figures', async () => {
    const { c, events } = await live.collector('tcp://127.0.0.1:15522c');
    const p = live.producer('tcp://127.0.0.1:15522');
    await joined(p, c);
    for (let i = 0; i < 5; i++) await p.send('flow', fixture('ebpflowexport-accept'), { layout: 0 });
    await waitFor(() => events.length === 5, 'five events');
    const stats = await c.refreshStats();
    expect(stats.exporters).toHaveLength(1);
    expect(stats.exporters[0]).toMatchObject({ headerVersion: 0, sourceId: '127.0.0.1', events: 5, lostMessages: 0, restarts: 0 });
    expect(stats.lostMessages).toBe(0);
  });
});
