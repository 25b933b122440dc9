// One ZMQ interface fed by several endpoints: every event arrives, and each exporter
// is named by the endpoint it came in on; endpoints that cannot be opened are
// refused at start, by name.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ZmqCollector } from '../../src/collector/collector.ts';
import type { CollectedEvent } from '../../src/model/event.ts';
import { fixture } from '../support/fixtures.ts';
import { Producer, untilConnected } from '../support/producer.ts';
import { waitFor } from '../support/wait.ts';

const opened: (() => unknown)[] = [];
afterEach(async () => {
  for (const close of opened.splice(0).reverse()) await close();
});

describe('several endpoints, one interface', () => {
  it('names each exporter by the endpoint its messages came in on, and hands every event over', async () => {
    const ipc = join(mkdtempSync(join(tmpdir(), 'fb-endpoints-')), 'in.sock');
    const endpoints = `tcp://127.0.0.1:15900c, ipc://${ipc}c`;
    const received: CollectedEvent[] = [];
    const c = new ZmqCollector({ interfaceId: 4, endpoints }, (events) => received.push(...events));
    await c.start();
    opened.push(() => c.stop());
    const viaTcp = Producer.connect('tcp://127.0.0.1:15900');
    const viaIpc = Producer.connect(`ipc://${ipc}`);
    opened.push(() => viaTcp.close(), () => viaIpc.close());
    // Each producer proves its own subscription with its own informational topic.
    await untilConnected(() => viaTcp.send('hello', {}), () => (c.stats().messages.hello ?? 0) > 0);
    await untilConnected(() => viaIpc.send('message', {}), () => (c.stats().messages.message ?? 0) > 0);

    // The same source_id on both endpoints: two exporters, not one with a broken sequence.
    await viaTcp.send('flow', fixture('ebpflowexport-accept'), { layout: 3, sourceId: 7, msgId: 1 });
    await viaIpc.send('flow', fixture('nprobe-mini-connect'), { layout: 3, sourceId: 7, msgId: 100 });
    await viaTcp.send('flow', fixture('ebpflowexport-connect-docker'), { layout: 0 });
    await waitFor(() => received.length === 3, 'three events');

    expect(received.map((e) => (e.kind === 'flow' ? e.ifName : '')).sort()).toEqual(['cbr0', 'ens3', 'eth0']);
    const stats = await c.refreshStats();
    const flows = stats.exporters.filter((e) => e.events > 0).map(({ endpoint, sourceId, events, lostMessages, restarts }) => ({ endpoint, sourceId, events, lostMessages, restarts }));
    expect(flows).toEqual(expect.arrayContaining([
      { endpoint: 'tcp://127.0.0.1:15900c', sourceId: '7', events: 1, lostMessages: 0, restarts: 0 },
      { endpoint: `ipc://${ipc}c`, sourceId: '7', events: 1, lostMessages: 0, restarts: 0 },
      { endpoint: 'tcp://127.0.0.1:15900c', sourceId: '127.0.0.1', events: 1, lostMessages: 0, restarts: 0 }, // v0: known by its connection
    ]));
    expect(stats.interfaceId).toBe(4);
  });
});

describe('IPv6', () => {
  it('binds an IPv6 address and knows a v0 producer by its IPv6 address', async () => {
    const events: CollectedEvent[] = [];
    const c = new ZmqCollector({ interfaceId: 0, endpoints: 'tcp://[::1]:15905c' }, (batch) => events.push(...batch));
    await c.start();
    opened.push(() => c.stop());
    const p = Producer.connect('tcp://[::1]:15905', (s) => (s.ipv6 = true));
    opened.push(() => p.close());
    await untilConnected(() => p.send('hello', {}), () => (c.stats().messages.hello ?? 0) > 0);
    await p.send('flow', fixture('ebpflowexport-udp-send-ipv6-k8s'));
    await waitFor(() => events.length === 1, 'the event');
    expect((await c.refreshStats()).exporters).toEqual([expect.objectContaining({ endpoint: 'tcp://[::1]:15905c', sourceId: '::1', events: 1 })]);
  });
});

describe('endpoints that cannot be opened', () => {
  it('start() rejects naming the endpoint and the reason, and the port stays usable', async () => {
    const first = new ZmqCollector({ interfaceId: 0, endpoints: 'tcp://127.0.0.1:15901c' }, () => {});
    await first.start();
    opened.push(() => first.stop());
    const second = new ZmqCollector({ interfaceId: 1, endpoints: 'tcp://127.0.0.1:15902c,tcp://127.0.0.1:15901c' }, () => {});
    await expect(second.start()).rejects.toThrow(/ZMQ interface 1: cannot bind tcp:\/\/127\.0\.0\.1:15901c: Address already in use/);
    // The endpoint opened before the failure was closed again.
    const third = new ZmqCollector({ interfaceId: 2, endpoints: 'tcp://127.0.0.1:15902c' }, () => {});
    await third.start();
    opened.push(() => third.stop());
  });

  it('binding a host name says what libzmq binds to', async () => {
    const c = new ZmqCollector({ interfaceId: 3, endpoints: 'tcp://localhost:15904c' }, () => {});
    await expect(c.start()).rejects.toThrow(/cannot bind tcp:\/\/localhost:15904c: No such device \(bind to an IP address, \* or an interface name\)/);
  });

  it('a malformed endpoint is refused before anything starts, saying what is accepted', () => {
    expect(() => new ZmqCollector({ interfaceId: 0, endpoints: 'tcp://127.0.0.1:15903c,udp://x:1' }, () => {})).toThrow(
      /"udp:\/\/x:1" is not valid \(accepted: tcp:\/\/host:port, tcp:\/\/\*:port, ipc:\/\/path, zmq:\/\/host:port; a trailing c binds/,
    );
  });
});
