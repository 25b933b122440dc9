// Every fixture and every producer quirk, in every framing a producer uses (header
// layout v0-v3 x zlib or not x JSON or TLV x one record per message or batched), over
// real ZMQ sockets in each way a collector meets its producers: it binds (tcp, `c`
// suffix), it connects to a producer that binds, and over ipc. The events that come out
// are checked field by field against what reference/events.md says they mean.
import { describe, expect, it } from 'vitest';
import type { CollectedEvent } from '../../src/model/event.ts';
import type { Producer } from '../support/producer.ts';
import { waitFor } from '../support/wait.ts';
import { allCases, type Case, expectedEvent, type Topic } from './expected.ts';
import { framings, ipcPath, joined, liveSockets, type Live } from './live.ts';
import { fixture } from '../support/fixtures.ts';

const live = liveSockets();

/** Source id per header layout (v0 has none: it is known by its connection). */
const SOURCE_OF_LAYOUT = [undefined, 11, 12, 13] as const;

interface Sent {
  expected: CollectedEvent[];
  labels: string[];
  /** Messages sent per layout (v1-v3 carry msg_id; ids are consecutive per source). */
  messagesByLayout: number[];
}

/** Sends every case in every framing, singly and batched per topic; returns what must come out, in order. */
async function sendEverything(p: Producer): Promise<Sent> {
  const cases = allCases();
  const sent: Sent = { expected: [], labels: [], messagesByLayout: [0, 0, 0, 0] };
  const msgIds = [0, 0, 0, 0];
  const send = async (topic: Topic, list: Case[], framing: ReturnType<typeof framings>[number], batched: boolean) => {
    const l = framing.layout;
    const records = list.map((c) => c.record);
    await p.send(topic, batched ? records : records[0], { ...framing, sourceId: SOURCE_OF_LAYOUT[l], msgId: ++msgIds[l] });
    sent.messagesByLayout[l]++;
    for (const c of list) {
      sent.expected.push(c.expected);
      sent.labels.push(`${c.name} (${framing.label}, ${batched ? `batch of ${list.length}` : 'single'})`);
    }
  };
  for (const framing of framings()) {
    for (const c of cases) await send(c.topic, [c], framing, false);
    for (const topic of ['flow', 'counter', 'listening-ports'] as Topic[]) {
      await send(topic, cases.filter((c) => c.topic === topic), framing, true);
    }
  }
  return sent;
}

async function checkDelivery({ c, events }: Live, sent: Sent, v0SourceId: RegExp): Promise<void> {
  await waitFor(() => events.length >= sent.expected.length, `${sent.expected.length} events`, 20_000);
  // Order is kept on one connection: nothing lost, nothing extra, nothing changed.
  expect(events).toHaveLength(sent.expected.length);
  for (let i = 0; i < events.length; i++) expect(events[i], sent.labels[i]).toEqual(sent.expected[i]);

  const stats = await c.refreshStats();
  expect(stats.rejected).toEqual({});
  expect(stats.lostMessages).toBe(0);
  const kinds: Record<string, number> = {};
  for (const e of sent.expected) kinds[e.kind] = (kinds[e.kind] ?? 0) + 1;
  expect(stats.events).toEqual(kinds);
  for (const layout of [1, 2, 3]) {
    expect(stats.exporters.find((e) => e.sourceId === String(SOURCE_OF_LAYOUT[layout])), `exporter of v${layout}`).toMatchObject({
      headerVersion: layout, messages: sent.messagesByLayout[layout], lostMessages: 0, restarts: 0,
    });
  }
  // v0 headers carry no source id: the producer is known by its connection.
  const v0 = stats.exporters.filter((e) => e.headerVersion === 0);
  expect(v0).toHaveLength(1);
  expect(v0[0].sourceId).toMatch(v0SourceId);
  expect(v0[0].messages).toBeGreaterThanOrEqual(sent.messagesByLayout[0]);
}

describe('every fixture x header layout x zlib x JSON/TLV x single/batched', () => {
  it('collector binds (tcp://127.0.0.1:PORTc), the producer connects', async () => {
    const l = await live.collector('tcp://127.0.0.1:15510c');
    const p = live.producer('tcp://127.0.0.1:15510');
    await joined(p, l.c);
    const sent = await sendEverything(p);
    await checkDelivery(l, sent, /^127\.0\.0\.1$/);
    expect(l.c.stats().exporters[0].endpoint).toBe('tcp://127.0.0.1:15510c');
  });

  it('the producer binds, the collector connects (no c suffix)', async () => {
    const p = await live.boundProducer('tcp://127.0.0.1:15511');
    const l = await live.collector('tcp://127.0.0.1:15511');
    await joined(p, l.c);
    const sent = await sendEverything(p);
    await checkDelivery(l, sent, /^127\.0\.0\.1$/);
  });

  it('over ipc (the collector binds an ipc path)', async () => {
    const path = ipcPath('flows.sock');
    const l = await live.collector(`ipc://${path}c`);
    const p = live.producer(`ipc://${path}`);
    await joined(p, l.c);
    const sent = await sendEverything(p);
    await checkDelivery(l, sent, /.+/);
  });
});

describe('several endpoints feed one ZMQ interface', () => {
  it('zmq:// alias bound and an ipc producer connected to, in one comma-separated list', async () => {
    const path = ipcPath('producer.sock');
    const viaIpc = await live.boundProducer(`ipc://${path}`);
    const l = await live.collector(`zmq://127.0.0.1:15512c, ipc://${path}`);
    const viaTcp = live.producer('tcp://127.0.0.1:15512');
    // Each producer probes on its own topic: one's probes cannot answer for the other.
    await joined(viaTcp, l.c, 'hello');
    await joined(viaIpc, l.c, 'message');
    await viaTcp.send('flow', fixture('ebpflowexport-accept'), { layout: 3, sourceId: 1, msgId: 1 });
    await viaIpc.send('flow', fixture('nprobe-mini-connect'), { layout: 2, sourceId: 2, msgId: 1, compress: true });
    await viaIpc.send('counter', fixture('counters-veth'), { layout: 1, sourceId: 2, msgId: 2, tlv: true });
    await waitFor(() => l.events.length === 3, 'three events');
    const byKind = (e: CollectedEvent) => (e.kind === 'counters' ? 'c' : e.kind === 'flow' ? e.ifName ?? '' : '');
    expect([...l.events].sort((a, b) => byKind(a).localeCompare(byKind(b)))).toEqual([
      expectedEvent('counters-veth'), expectedEvent('nprobe-mini-connect'), expectedEvent('ebpflowexport-accept'),
    ]);
    const stats = await l.c.refreshStats();
    expect(stats.exporters.find((e) => e.sourceId === '1')).toMatchObject({ messages: 1, events: 1 });
    expect(stats.exporters.find((e) => e.sourceId === '2')).toMatchObject({ messages: 2, events: 2, lostMessages: 0 });
  });
});

describe('topics', () => {
  it('never subscribes to the raw ebpf topic nor to unknown ones; informational topics are counted, not events', async () => {
    const l = await live.collector('tcp://127.0.0.1:15513c');
    const p = live.producer('tcp://127.0.0.1:15513');
    await joined(p, l.c);
    for (const topic of ['ebpf', 'xflow', 'FLOW', 'snmp']) await p.send(topic, fixture('ebpflowexport-accept'));
    for (const topic of ['event', 'option', 'snmp-ifaces', 'message']) await p.send(topic, fixture('ebpflowexport-accept'), { layout: 2, sourceId: 5, msgId: 1 + ['event', 'option', 'snmp-ifaces', 'message'].indexOf(topic) });
    await p.send('template', { field: 57600, PEN: 35632, name: 'LOCAL_PROCESS' });
    // The record after them on the same connection is the barrier: everything before it has been handled.
    await p.send('flow', fixture('ebpflowexport-retransmit'), { layout: 2, sourceId: 5, msgId: 5 });
    await waitFor(() => l.events.length === 1, 'the flow event');
    expect(l.events).toEqual([expectedEvent('ebpflowexport-retransmit')]);
    const s = await l.c.refreshStats();
    expect(s.messages).toMatchObject({ event: 1, option: 1, 'snmp-ifaces': 1, message: 1, template: 1, flow: 1 });
    expect(Object.keys(s.messages).sort()).toEqual(['event', 'flow', 'hello', 'message', 'option', 'snmp-ifaces', 'template']);
    expect(s.rejected).toEqual({});
    expect(s.exporters.find((e) => e.sourceId === '5')).toMatchObject({ messages: 5, events: 1, lostMessages: 0 });
  });
});
