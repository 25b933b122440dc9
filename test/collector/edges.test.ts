// The ZMQ edges of a collector over real sockets: producers connecting and leaving as
// libzmq's socket monitor reports them, a frame over libzmq's 16 MiB guard (which
// libzmq answers by dropping the sender), and a receive thread that dies.
import { afterEach, describe, expect, it } from 'vitest';
import { ZmqCollector } from '../../src/collector/collector.ts';
import type { CollectedEvent } from '../../src/model/event.ts';
import { fixture } from '../support/fixtures.ts';
import { startWithFlags } from '../support/flowbridge.ts';
import { encodeHeader, Producer, untilSubscribed } from '../support/producer.ts';
import { waitFor } from '../support/wait.ts';

const cleanup: (() => unknown)[] = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

async function collector(endpoints: string) {
  const events: CollectedEvent[] = [];
  const c = new ZmqCollector({ interfaceId: 0, endpoints }, (batch) => events.push(...batch));
  await c.start();
  cleanup.push(() => c.stop());
  return { c, events };
}

function producer(endpoint: string): Producer {
  const p = Producer.connect(endpoint);
  cleanup.push(() => p.close());
  return p;
}

const connections = async (c: ZmqCollector, endpoint: string) => (await c.refreshStats()).connections[endpoint] ?? {};

describe('producer connections', () => {
  it('counts a producer connecting and leaving, per endpoint', async () => {
    const endpoint = 'tcp://127.0.0.1:15560c';
    const { c } = await collector(endpoint);
    const p = Producer.connect('tcp://127.0.0.1:15560');
    await untilSubscribed(p, () => c.stats().messages);
    expect(await connections(c, endpoint)).toMatchObject({ accepted: 1 });
    p.close();
    await waitFor(async () => (await connections(c, endpoint)).disconnected === 1, 'the disconnect to be counted');
    const seen = await connections(c, endpoint);
    expect(seen).toEqual({ accepted: 1, disconnected: 1 });
    expect((await c.refreshStats()).rejected.oversize).toBeUndefined();
  });

  it('counts a 20 MB frame as oversize, and keeps receiving the other producer of the endpoint', async () => {
    const endpoint = 'tcp://127.0.0.1:15561c';
    const { c, events } = await collector(endpoint);
    const good = producer('tcp://127.0.0.1:15561');
    const big = producer('tcp://127.0.0.1:15561');
    await untilSubscribed(good, () => c.stats().messages, 'hello');
    await untilSubscribed(big, () => c.stats().messages, 'message');

    void big.sendRaw([encodeHeader(0, 'flow'), Buffer.alloc(20 * 1024 * 1024, 0x20)]).catch(() => {});
    await waitFor(async () => (await connections(c, endpoint)).oversize === 1, 'the oversize frame to be counted', 20_000);
    const stats = await c.refreshStats();
    expect(stats.rejected.oversize).toBe(1);
    expect(stats.samples[0]).toMatchObject({ reason: 'oversize', source: endpoint });
    expect(stats.samples[0].detail).toMatch(/16777216-byte guard/);

    const event = fixture('ebpflowexport-accept');
    await good.send('flow', event);
    await waitFor(() => events.length === 1, 'the good producer\'s event');
    // The cut producer was not counted as leaving on its own.
    expect((await connections(c, endpoint)).disconnected ?? 0).toBe(0);
  });
});

describe('a receive thread that dies', () => {
  it('is restarted with backoff, counted, shown as a failure until it runs again, and counts carry over', async () => {
    const { c, events } = await collector('tcp://127.0.0.1:15562c');
    const p = producer('tcp://127.0.0.1:15562');
    await untilSubscribed(p, () => c.stats().messages);
    await p.send('flow', fixture('ebpflowexport-accept'));
    await waitFor(() => events.length === 1, 'the first event');
    const before = await c.refreshStats();
    expect(before.events.flow).toBe(1);
    expect(before.threadRestarts).toBe(0);

    c.injectFault();
    await waitFor(() => c.failure, 'the failure to show');
    expect(c.failure).toMatch(/told to fail.*restart 1 in \d+ ms/);
    await waitFor(() => c.failure === undefined, 'the thread to run again');
    expect(c.stats().threadRestarts).toBe(1);

    // The producer reconnects to the new socket by itself; messages before the subscription are PUB's to drop.
    await untilSubscribed(p, () => c.stats().messages, 'message');
    await p.send('flow', fixture('ebpflowexport-accept'));
    await waitFor(() => events.length === 2, 'an event after the restart');
    const after = await c.refreshStats();
    // Counted before the restart, and after it.
    expect(after.events.flow).toBe(2);
    expect(after.threadRestarts).toBe(1);
  });
});

describe('in the running collector', () => {
  it('shows connections and thread restarts in /metrics, and a dead receive thread as the interface\'s problem until it runs again', async () => {
    const endpoint = 'tcp://127.0.0.1:15566c';
    const fb = await startWithFlags(['-i', endpoint]);
    cleanup.push(() => fb.stop());
    const zmq = fb.registry.zmqInterfaces()[0];
    const p = Producer.connect('tcp://127.0.0.1:15566');
    await untilSubscribed(p, () => zmq.collectorStats().messages);
    p.close();
    await waitFor(() => zmq.collectorStats().connections[endpoint]?.disconnected === 1, 'the disconnect');

    const collector = (zmq as unknown as { collector: ZmqCollector }).collector;
    collector.injectFault();
    const problems = async () => ((await (await fb.api('/api/v1/status')).json()) as { problems: { interfaceId?: number; text: string }[] }).problems;
    const shown = await waitFor(async () => (await problems()).find((x) => x.interfaceId === zmq.id), 'the problem to show');
    expect(shown.text).toMatch(/collector thread ended \(told to fail \(fault injection\)\); restart 1 in \d+ ms/);
    await waitFor(async () => !(await problems()).some((x) => x.interfaceId === zmq.id), 'the problem to go once the thread runs again');

    const metrics = await (await fb.api('/metrics')).text();
    const line = (name: string, labels: string) => new RegExp(`^${name}\\{${labels}\\} (\\d+)$`, 'm').exec(metrics)?.[1];
    expect(line('flowbridge_zmq_connections_total', `interface="${endpoint}",endpoint="${endpoint}",event="accepted"`)).toBe('1');
    expect(line('flowbridge_zmq_connections_total', `interface="${endpoint}",endpoint="${endpoint}",event="disconnected"`)).toBe('1');
    expect(line('flowbridge_zmq_thread_restarts_total', `interface="${endpoint}"`)).toBe('1');
  });
});
