// The hand-off codec between the collector thread and the main thread: whatever the
// collector accepted arrives unchanged.
import { MessageChannel, receiveMessageOnPort } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { BatchPacker, transferListOf, unpackBatch, type PackedBatch } from '../../src/collector/handoff.ts';
import { normaliseCounters, normaliseListeningPorts, normaliseSocketEvent } from '../../src/collector/events/normalise.ts';
import type { CollectedEvent, SocketEvent } from '../../src/model/event.ts';
import { fixture } from '../support/fixtures.ts';

const SOCKET_FIXTURES = ['ebpflowexport-accept', 'ebpflowexport-connect-docker', 'ebpflowexport-connect-failed', 'ebpflowexport-retransmit', 'ebpflowexport-udp-recv', 'ebpflowexport-udp-send-ipv6-k8s', 'netstat-established', 'nprobe-mini-connect'];

/** Posts a batch through a real MessagePort, as the worker does, and reads it back. */
function overAPort(batch: PackedBatch): PackedBatch {
  const { port1, port2 } = new MessageChannel();
  port1.postMessage(batch, transferListOf(batch));
  const received = receiveMessageOnPort(port2)!.message as PackedBatch;
  port1.close();
  return received;
}

/** Every optional field of the model present, on both sides. */
const everything: SocketEvent = {
  kind: 'netstat', timestamp: 1716912345.123456, ifName: 'eth0', ipVersion: 6, protocol: 6, eventType: 'CLOSE',
  client: { ip: 'fd00::1', port: 40000 }, server: { ip: '::ffff:127.0.0.1', port: 443 }, localSide: 'server',
  local: {
    process: { pid: 1, tid: 2, uid: 3, user: 'u', gid: 4, group: 'g', path: '/p', cmdline: 'c', vmSizeKb: 5, vmPeakKb: 6 },
    parent: { pid: 7 },
    container: { runtime: 'k8s', id: 'i', name: 'n', pod: 'p', namespace: 'ns' },
  },
  remote: { process: { pid: 8, path: '/r' }, parent: { pid: 9, user: 'ü' }, container: { id: 'only-id' } },
  latencyMs: 0.5, retransmittedPackets: 3, exporterIp: '10.0.0.1', tid: 11,
  tcp: { state: 'ESTABLISHED', segsIn: 1, segsOut: 2, unackSegments: 3, retransmittedPackets: 4, lostPackets: 5, rttMs: 6.5, rttVarianceMs: 7.5, bytesReceived: 2 ** 40, bytesAcked: 9 },
  extra: { CUSTOM: [1, { deep: 'x' }], EMPTY: null },
};

describe('hand-off codec', () => {
  it('delivers every fixture, every optional field and the rare kinds unchanged', () => {
    const sent: CollectedEvent[] = [
      ...SOCKET_FIXTURES.map((n) => normaliseSocketEvent(fixture(n))),
      everything,
      normaliseCounters(fixture('counters-veth')),
      normaliseListeningPorts(fixture('listening-ports')),
      { ...everything, kind: 'flow', local: {}, remote: {}, tcp: {}, extra: undefined },
    ];
    const packer = new BatchPacker();
    for (const event of sent) packer.add(event);
    expect(packer.count).toBe(sent.length);

    const events = unpackBatch(overAPort(packer.take()));
    expect(events).toEqual(sent);
    // Absent optional fields stay absent (not present-but-undefined).
    expect(Object.keys((events[3] as SocketEvent).local)).toEqual([]);
    expect('ifName' in events[0]).toBe(true);
    expect('latencyMs' in events[0]).toBe(false);
    expect(packer.count).toBe(0); // take() starts an empty batch
  });

  it('grows past its first buffer and starts clean after a dropped batch', () => {
    const packer = new BatchPacker();
    const event = normaliseSocketEvent(fixture('ebpflowexport-connect-docker'));
    packer.add(normaliseSocketEvent(fixture('nprobe-mini-connect')));
    packer.clear();
    for (let i = 0; i < 2000; i++) packer.add({ ...event, timestamp: i });
    const events = unpackBatch(overAPort(packer.take()));
    expect(events).toHaveLength(2000);
    expect(events.map((e) => (e as SocketEvent).timestamp)).toEqual(Array.from({ length: 2000 }, (_, i) => i));
    expect(events[1999]).toEqual({ ...event, timestamp: 1999 });
  });

  it('keeps every unknown key as an additional field, "__proto__" included, as data', () => {
    const text = JSON.stringify(fixture('nprobe-mini-connect')).slice(0, -1) + ',"__proto__":{"polluted":1},"CUSTOM":"x"}';
    const packer = new BatchPacker();
    packer.add(normaliseSocketEvent(JSON.parse(text)));
    const [event] = unpackBatch(overAPort(packer.take())) as SocketEvent[];
    expect(Object.entries(event.extra!)).toEqual([['__proto__', { polluted: 1 }], ['CUSTOM', 'x']]);
    expect(Object.getPrototypeOf(event.extra)).toBe(Object.prototype);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});
