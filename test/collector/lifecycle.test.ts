// A collector's life with real sockets: stopped and started again it hears its
// producers again, a stopped collector frees its port, and a frame far over every
// limit costs the producer its connection, not the collector its health.
import { describe, expect, it } from 'vitest';
import { ZmqCollector } from '../../src/collector/collector.ts';
import type { CollectedEvent } from '../../src/model/event.ts';
import { fixture } from '../support/fixtures.ts';
import { encodeHeader } from '../support/producer.ts';
import { waitFor } from '../support/wait.ts';
import { expectedEvent } from './expected.ts';
import { joined, liveSockets } from './live.ts';

const live = liveSockets();

describe('stop and start', () => {
  it('a stopped collector can be started again, and hears its producer again', async () => {
    const events: CollectedEvent[] = [];
    const c = new ZmqCollector({ interfaceId: 4, endpoints: 'tcp://127.0.0.1:15550c' }, (batch) => events.push(...batch));
    live.defer(() => c.stop());
    const p = live.producer('tcp://127.0.0.1:15550');
    await c.start();
    await joined(p, c);
    await p.send('flow', fixture('ebpflowexport-accept'), { layout: 3, sourceId: 1, msgId: 1 });
    await waitFor(() => events.length === 1, 'the first event');
    await c.stop();
    expect(c.failure).toBeUndefined();
    await c.stop(); // twice is harmless

    await c.start();
    // The producer reconnects by itself; its subscription comes back with it.
    await joined(p, c, 'message');
    await p.send('flow', fixture('nprobe-mini-connect'), { layout: 3, sourceId: 1, msgId: 2 });
    await waitFor(() => events.length === 2, 'the event after the restart');
    expect(events).toEqual([expectedEvent('ebpflowexport-accept'), expectedEvent('nprobe-mini-connect')]);
    expect(c.failure).toBeUndefined();
    expect((await c.refreshStats()).interfaceId).toBe(4);
  });

  it('a second collector cannot take a bound port; once the first stops, it can', async () => {
    const first = await live.collector('tcp://127.0.0.1:15551c');
    const second = new ZmqCollector({ interfaceId: 1, endpoints: 'tcp://127.0.0.1:15551c' }, () => {});
    await expect(second.start()).rejects.toThrow(/tcp:\/\/127\.0\.0\.1:15551c.*(in use|Address)/);
    expect(second.stats().messages).toEqual({});
    await first.c.stop();
    const events: CollectedEvent[] = [];
    const third = new ZmqCollector({ interfaceId: 2, endpoints: 'tcp://127.0.0.1:15551c' }, (b) => events.push(...b));
    await third.start();
    live.defer(() => third.stop());
    const p = live.producer('tcp://127.0.0.1:15551');
    await joined(p, third);
    await p.send('counter', fixture('counters-veth'), { layout: 2, sourceId: 3, msgId: 1, compress: true });
    await waitFor(() => events.length === 1, 'the counters event');
    expect(events[0]).toEqual(expectedEvent('counters-veth'));
  });

  it('refuses a malformed endpoint list at once, saying what is accepted', () => {
    expect(() => new ZmqCollector({ interfaceId: 0, endpoints: 'udp://127.0.0.1:15552' }, () => {})).toThrow(/not valid \(accepted: tcp:\/\/host:port/);
    expect(() => new ZmqCollector({ interfaceId: 0, endpoints: 'tcp://127.0.0.1:15552c,tcp://*:15553' }, () => {})).toThrow(/only makes sense when binding/);
  });
});

describe('a frame over libzmq\'s memory guard', () => {
  it('disconnects that producer, which reconnects; the collector keeps collecting', async () => {
    const { c, events } = await live.collector('tcp://127.0.0.1:15554c');
    const p = live.producer('tcp://127.0.0.1:15554');
    let disconnects = 0;
    p.socket.events.on('disconnect', () => disconnects++);
    await joined(p, c);
    await p.sendFrames([encodeHeader(0, 'flow'), Buffer.alloc(17 * 1024 * 1024, 0x20)]);
    await waitFor(() => disconnects > 0, 'the producer to be disconnected');
    await joined(p, c, 'message');
    await p.send('flow', fixture('ebpflowexport-connect-docker'), { layout: 1, sourceId: 9, msgId: 1, tlv: true });
    await waitFor(() => events.length === 1, 'the event after the reconnection');
    expect(events).toEqual([expectedEvent('ebpflowexport-connect-docker')]);
    expect(c.failure).toBeUndefined();
  });
});
