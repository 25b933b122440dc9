// The collector thread packs socket records straight from what producers sent
// (BatchPacker.addSocketRecord), without building the event objects first. That path must
// write exactly what packing the normalised event writes, slot for slot: checked on every
// fixture, on a record with every optional field, and on seeded variants of them with
// fields and sub-fields left out.
import { describe, expect, it } from 'vitest';
import { normaliseSocketEvent, NormaliseError, orientSocketRecord, socketExtra, type Raw } from '../../src/collector/events/normalise.ts';
import { compileValidators } from '../../src/collector/events/validate.ts';
import { BatchPacker, unpackBatch, type PackedBatch } from '../../src/collector/handoff.ts';
import { fixture } from '../support/fixtures.ts';
import { prng } from './live.ts';

const FLOW_FIXTURES = [
  'ebpflowexport-accept', 'ebpflowexport-connect-docker', 'ebpflowexport-connect-failed', 'ebpflowexport-retransmit',
  'ebpflowexport-udp-recv', 'ebpflowexport-udp-send-ipv6-k8s', 'netstat-established', 'nprobe-mini-connect',
];
const process = (pid: number) => ({
  PID: pid, TID: pid + 1, UID: 1000, UID_NAME: 'alice', GID: 100, GID_NAME: 'users', PROCESS_PATH: '/usr/bin/curl',
  PROCESS_CMDLINE: 'curl https://example.com', VM_SIZE: 1024, VM_PEAK: 2048,
});
/** Every optional field the socket schema knows, on both sides. */
const EVERYTHING: Raw = {
  timestamp: '1716912345.123456', INTERFACE_NAME: 'eth0', IF_NAME: 'eth1', IP_PROTOCOL_VERSION: 4, PROTOCOL: 6,
  TCP_EVENT_TYPE: 'CLOSE', IPV4_SRC_ADDR: '10.0.0.1', IPV4_DST_ADDR: '10.0.0.2', L4_SRC_PORT: 40000, L4_DST_PORT: 443,
  NW_LATENCY_MS: 0.5, RETRAN_PKTS: 2, EXPORTER_IPV4_ADDRESS: '192.0.2.1', TID: 77,
  LOCAL_PROCESS: process(10), LOCAL_FATHER_PROCESS: process(1), LOCAL_CONTAINER: { DOCKER: { ID: 'abc', NAME: 'web' } },
  REMOTE_PROCESS: process(20), REMOTE_FATHER_PROCESS: process(2), REMOTE_CONTAINER: { ID: 'x', NAME: 'y', K8S: { ID: 'k', NAME: 'n', POD: 'p', NS: 'ns' } },
  TCP: { CONN_STATE: 'ESTABLISHED', SEGS_IN: 1, SEGS_OUT: 2, UNACK_SEGMENTS: 3, RETRAN_PKTS: 4, LOST_PKTS: 5, RTT: 6.5, RTT_VARIANCE: 7.5, BYTES_RCVD: 2 ** 40, BYTES_ACKED: 9 },
  CUSTOM_TAG: 'x', CUSTOM_LIST: [1, { deep: true }],
};

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

const bytes = (b: PackedBatch) => Buffer.from(b.slots.buffer, b.slots.byteOffset, b.slots.byteLength);

describe('packing socket records straight from the record', () => {
  it('writes what packing the normalised event writes, slot for slot', () => {
    const validate = compileValidators()['socket-event'];
    const rand = prng(Number(globalThis.process.env.FUZZ_SEED ?? 20261202));
    const bases = [EVERYTHING, { ...EVERYTHING, TCP_EVENT_TYPE: undefined, PROTOCOL: 17 }, ...FLOW_FIXTURES.map((n) => fixture(n))];
    let compared = 0;
    const kinds = new Set<string>();
    for (let i = 0; i < 10_000; i++) {
      const base = bases[i % bases.length];
      const record = i < bases.length ? base : thinned(base, rand);
      if (!validate(record)) continue;
      let expected;
      try {
        expected = normaliseSocketEvent(record);
      } catch (err) {
        // Refused by normalisation: refused the same way on the packed path.
        expect(err).toBeInstanceOf(NormaliseError);
        expect(() => orientSocketRecord(record)).toThrow((err as Error).message);
        continue;
      }
      const viaEvent = new BatchPacker();
      viaEvent.add(expected);
      const viaRecord = new BatchPacker();
      viaRecord.addSocketRecord(record, orientSocketRecord(record), socketExtra(record));
      const a = viaEvent.take();
      const b = viaRecord.take();
      expect(bytes(b).equals(bytes(a)), JSON.stringify(record)).toBe(true);
      expect(b.strings).toEqual(a.strings);
      expect(b.objects).toEqual(a.objects);
      expect(unpackBatch(b)).toEqual([expected]);
      kinds.add(`${expected.kind} ${expected.protocol} ${expected.localSide}`);
      compared++;
    }
    expect(compared).toBeGreaterThan(1000);
    expect(kinds.size).toBeGreaterThanOrEqual(4);
  });
});
