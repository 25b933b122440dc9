// The hand-off codec between the collector thread and the main thread: whatever the
// collector accepted arrives unchanged. Socket records are packed straight from what the
// producer sent (BatchPacker.addSocketRecord), never through the event objects, so what
// arrives must be exactly the event normaliseSocketEvent makes of the same record:
// checked on every fixture, on a record with every optional field, and on seeded variants
// of them with fields and sub-fields left out.
import { MessageChannel, receiveMessageOnPort } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { BatchPacker, transferListOf, unpackBatch, type PackedBatch } from '../../src/collector/handoff.ts';
import {
  normaliseCounters, normaliseListeningPorts, normaliseSocketEvent, NormaliseError, orientSocketRecord, socketExtra, type Raw,
} from '../../src/collector/events/normalise.ts';
import { compileValidators } from '../../src/collector/events/validate.ts';
import type { SocketEvent } from '../../src/model/event.ts';
import { fixture } from '../support/fixtures.ts';
import { prng } from './live.ts';

const SOCKET_FIXTURES = ['ebpflowexport-accept', 'ebpflowexport-connect-docker', 'ebpflowexport-connect-failed', 'ebpflowexport-retransmit', 'ebpflowexport-udp-recv', 'ebpflowexport-udp-send-ipv6-k8s', 'netstat-established', 'nprobe-mini-connect'];

const process = (pid: number) => ({
  PID: pid, TID: pid + 1, UID: 1000, UID_NAME: 'alice', GID: 100, GID_NAME: 'users', PROCESS_PATH: '/usr/bin/curl',
  PROCESS_CMDLINE: 'curl https://example.com', VM_SIZE: 1024, VM_PEAK: 2048,
});
/** Every optional field the socket schema knows, on both sides. */
const EVERYTHING: Raw = {
  timestamp: '1716912345.123456', INTERFACE_NAME: 'eth0', IF_NAME: 'eth1', IP_PROTOCOL_VERSION: 6, PROTOCOL: 6,
  TCP_EVENT_TYPE: 'CLOSE', IPV6_SRC_ADDR: 'fd00::1', IPV6_DST_ADDR: '::ffff:127.0.0.1', L4_SRC_PORT: 40000, L4_DST_PORT: 443,
  NW_LATENCY_MS: 0.5, RETRAN_PKTS: 2, EXPORTER_IPV4_ADDRESS: '192.0.2.1', TID: 77,
  LOCAL_PROCESS: process(10), LOCAL_FATHER_PROCESS: { PID: 1, UID_NAME: 'ü' }, LOCAL_CONTAINER: { DOCKER: { ID: 'abc', NAME: 'web' } },
  REMOTE_PROCESS: process(20), REMOTE_FATHER_PROCESS: process(2), REMOTE_CONTAINER: { ID: 'x', NAME: 'y', K8S: { ID: 'k', NAME: 'n', POD: 'p', NS: 'ns' } },
  TCP: { CONN_STATE: 'ESTABLISHED', SEGS_IN: 1, SEGS_OUT: 2, UNACK_SEGMENTS: 3, RETRAN_PKTS: 4, LOST_PKTS: 5, RTT: 6.5, RTT_VARIANCE: 7.5, BYTES_RCVD: 2 ** 40, BYTES_ACKED: 9 },
  CUSTOM_TAG: 'x', CUSTOM_LIST: [1, { deep: true }], EMPTY: null,
};
/** Addresses and ports only, an empty TCP block. */
const BARE: Raw = { PROTOCOL: 6, timestamp: 1716912345, IPV4_LOCAL_ADDR: '10.0.0.1', IPV4_REMOTE_ADDR: '10.0.0.2', L4_LOCAL_PORT: 40000, L4_REMOTE_PORT: 80, TCP: {} };

/** Posts a batch through a real MessagePort, as the worker does, and reads it back. */
function overAPort(batch: PackedBatch): PackedBatch {
  const { port1, port2 } = new MessageChannel();
  port1.postMessage(batch, transferListOf(batch));
  const received = receiveMessageOnPort(port2)!.message as PackedBatch;
  port1.close();
  return received;
}

const addRecord = (packer: BatchPacker, r: Raw) => packer.addSocketRecord(r, orientSocketRecord(r), socketExtra(r));

/**
 * The record with each field, and each field of its nested objects, left out at random;
 * never its timestamp (without one, each path reads the clock at its own instant).
 */
function thinned(r: Raw, rand: () => number): Raw {
  const out: Raw = {};
  for (const [k, v] of Object.entries(r)) {
    if (k !== 'timestamp' && rand() < 0.2) continue;
    out[k] = v && typeof v === 'object' && !Array.isArray(v) ? thinned(v as Raw, rand) : v;
  }
  return out;
}

describe('hand-off codec', () => {
  it('delivers every fixture, every optional field and the rare kinds unchanged', () => {
    const records = [...SOCKET_FIXTURES.map((n) => fixture(n)), EVERYTHING, BARE];
    const objects = [normaliseCounters(fixture('counters-veth')), normaliseListeningPorts(fixture('listening-ports'))];
    const packer = new BatchPacker();
    for (const r of records) addRecord(packer, r);
    for (const o of objects) packer.add(o);
    expect(packer.count).toBe(records.length + objects.length);

    const events = unpackBatch(overAPort(packer.take()));
    expect(events).toEqual([...records.map((r) => normaliseSocketEvent(r)), ...objects]);
    // Every optional field arrived, and absent ones stay absent (not present-but-undefined).
    const everything = events[SOCKET_FIXTURES.length] as SocketEvent;
    expect(Object.keys(everything).sort()).toEqual(['client', 'eventType', 'exporterIp', 'extra', 'ifName', 'ipVersion', 'kind', 'latencyMs', 'local', 'localSide', 'protocol', 'remote', 'retransmittedPackets', 'server', 'tcp', 'tid', 'timestamp']);
    expect(Object.keys(everything.tcp!)).toHaveLength(10);
    expect(Object.keys(everything.local.process!)).toHaveLength(10);
    const bare = events[SOCKET_FIXTURES.length + 1] as SocketEvent;
    expect([Object.keys(bare.local), Object.keys(bare.remote), Object.keys(bare.tcp!), 'ifName' in bare, 'extra' in bare]).toEqual([[], [], [], false, false]);
    expect(packer.count).toBe(0); // take() starts an empty batch
  });

  it('arrives as normaliseSocketEvent makes the event, on seeded variants with fields left out', () => {
    const validate = compileValidators()['socket-event'];
    const rand = prng(Number(globalThis.process.env.FUZZ_SEED ?? 20261202));
    const bases = [EVERYTHING, { ...EVERYTHING, TCP_EVENT_TYPE: undefined, PROTOCOL: 17 }, BARE, ...SOCKET_FIXTURES.map((n) => fixture(n))];
    let compared = 0;
    const kinds = new Set<string>();
    for (let i = 0; i < 10_000; i++) {
      const record = i < bases.length ? bases[i] : thinned(bases[i % bases.length], rand);
      if (!validate(record)) continue;
      let expected: SocketEvent;
      try {
        expected = normaliseSocketEvent(record);
      } catch (err) {
        // Refused by normalisation: refused the same way on the packed path (the same orientation).
        expect(err).toBeInstanceOf(NormaliseError);
        expect(() => orientSocketRecord(record)).toThrow((err as Error).message);
        continue;
      }
      const packer = new BatchPacker();
      addRecord(packer, record);
      expect(unpackBatch(overAPort(packer.take())), JSON.stringify(record)).toEqual([expected]);
      kinds.add(`${expected.kind} ${expected.protocol} ${expected.localSide}`);
      compared++;
    }
    expect(compared).toBeGreaterThan(1000);
    expect(kinds.size).toBeGreaterThanOrEqual(4);
  });

  it('grows past its first buffer and starts clean after a dropped batch', () => {
    const packer = new BatchPacker();
    const record = fixture('ebpflowexport-connect-docker');
    addRecord(packer, fixture('nprobe-mini-connect'));
    packer.clear();
    for (let i = 0; i < 2000; i++) addRecord(packer, { ...record, timestamp: i });
    const events = unpackBatch(overAPort(packer.take()));
    expect(events).toHaveLength(2000);
    expect(events.map((e) => (e as SocketEvent).timestamp)).toEqual(Array.from({ length: 2000 }, (_, i) => i));
    expect(events[1999]).toEqual(normaliseSocketEvent({ ...record, timestamp: 1999 }));
  });

  it('keeps every unknown key as an additional field, "__proto__" included, as data', () => {
    const text = JSON.stringify(fixture('nprobe-mini-connect')).slice(0, -1) + ',"__proto__":{"polluted":1},"CUSTOM":"x"}';
    const packer = new BatchPacker();
    addRecord(packer, JSON.parse(text));
    const [event] = unpackBatch(overAPort(packer.take())) as SocketEvent[];
    expect(Object.entries(event.extra!)).toEqual([['__proto__', { polluted: 1 }], ['CUSTOM', 'x']]);
    expect(Object.getPrototypeOf(event.extra)).toBe(Object.prototype);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});
