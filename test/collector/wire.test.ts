// The wire format: header layouts and byte orders, nDPI TLV, endpoint syntax, and the
// socket-free ingest pipeline's accounting of every kind of bad input.
import { deflateSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { parseEndpoints } from '../../src/collector/endpoint.ts';
import { encodeHeader, parseHeader } from '../../src/collector/wire/header.ts';
import { Ingest, SAMPLE_COUNT } from '../../src/collector/ingest.ts';
import { normaliseSocketEvent } from '../../src/collector/events/normalise.ts';
import { decodeTlv, encodeTlv } from '../../src/collector/wire/tlv.ts';
import type { CollectedEvent } from '../../src/model/event.ts';
import { fixture } from '../support/fixtures.ts';
import { message } from '../support/producer.ts';

describe('headers', () => {
  it('reads each layout with its byte orders', () => {
    expect(parseHeader(encodeHeader({ layout: 0, topic: 'flow', size: 10 }))).toMatchObject({ layout: 0, version: 0, topic: 'flow', tlv: false, compressed: 'maybe' });
    expect(parseHeader(encodeHeader({ layout: 1, topic: 'flow', msgId: 0x01020304, sourceId: 7 }))).toMatchObject({ layout: 1, msgId: 0x01020304, sourceId: 7 });
    // Version 1 of the 24-byte layout stores msg_id in host (little-endian) order.
    const v1 = encodeHeader({ layout: 1, topic: 'flow', msgId: 5, version: 1 });
    expect(v1.readUInt32LE(20)).toBe(5);
    expect(parseHeader(v1)).toMatchObject({ msgId: 5, version: 1 });
    expect(parseHeader(encodeHeader({ layout: 2, topic: 'counter', msgId: 99, sourceId: 123456 }))).toMatchObject({ layout: 2, topic: 'counter', msgId: 99, sourceId: 123456 });
    expect(parseHeader(encodeHeader({ layout: 2, topic: 'flow', version: 3 }))).toMatchObject({ tlv: true });
    const v3 = encodeHeader({ layout: 3, topic: 'flow', msgId: 0xfffffffe, sourceId: 42, tlv: true, compressed: true });
    expect(v3.readUInt32BE(28)).toBe(0xfffffffe);
    expect(parseHeader(v3)).toMatchObject({ layout: 3, version: 4, msgId: 0xfffffffe, sourceId: 42, tlv: true, compressed: true });
  });

  it('rejects unknown lengths and versions', () => {
    expect(parseHeader(Buffer.alloc(30))).toMatchObject({ error: 'header-length' });
    const v5 = encodeHeader({ layout: 2, topic: 'flow' });
    v5[16] = 5;
    expect(parseHeader(v5)).toMatchObject({ error: 'header-version' });
    const v3wrong = encodeHeader({ layout: 3, topic: 'flow' });
    v3wrong[16] = 2;
    expect(parseHeader(v3wrong)).toMatchObject({ error: 'header-version' });
  });
});

describe('nDPI TLV', () => {
  it('gives the same event as the JSON twin for every socket fixture', () => {
    for (const name of ['ebpflowexport-accept', 'ebpflowexport-connect-docker', 'ebpflowexport-udp-send-ipv6-k8s', 'netstat-established', 'nprobe-mini-connect']) {
      const json = fixture(name);
      const [decoded] = decodeTlv(encodeTlv([json]));
      expect(normaliseSocketEvent(decoded), name).toEqual(normaliseSocketEvent(json));
    }
  });

  it('carries several records, numeric keys, negative and 64-bit numbers, lists', () => {
    const records = [{ 8: '10.0.0.1', big: 2 ** 40, neg: -5, list: [1, 'a'] }, { PROTOCOL: 6 }];
    expect(decodeTlv(encodeTlv(records))).toEqual([{ '8': '10.0.0.1', big: 2 ** 40, neg: -5, list: [1, 'a'] }, { PROTOCOL: 6 }]);
  });

  it('refuses malformed buffers with a reason', () => {
    expect(() => decodeTlv(Buffer.from([2, 1]))).toThrow(/not an nDPI TLV buffer/);
    const ok = encodeTlv([{ NAME: 'hello' }]);
    expect(() => decodeTlv(ok.subarray(0, ok.length - 3))).toThrow(/truncated/);
    expect(() => decodeTlv(Buffer.from([1, 1, (9 << 4) | 2, 0, 1]))).toThrow(/key type 9/);
    expect(() => decodeTlv(Buffer.from([1, 1, (11 << 4) | 12, 0, 1, 0x41]))).toThrow(/missing end of block/);
  });
});

describe('endpoints', () => {
  it('accepts the ntopng forms', () => {
    expect(parseEndpoints('tcp://*:5556c, tcp://10.0.0.1:5557,ipc:///run/f.sockc,zmq://[::1]:5558')).toEqual([
      { spec: 'tcp://*:5556c', address: 'tcp://*:5556', mode: 'bind' },
      { spec: 'tcp://10.0.0.1:5557', address: 'tcp://10.0.0.1:5557', mode: 'connect' },
      { spec: 'ipc:///run/f.sockc', address: 'ipc:///run/f.sock', mode: 'bind' },
      { spec: 'zmq://[::1]:5558', address: 'tcp://[::1]:5558', mode: 'connect' },
    ]);
  });

  it('says what is wrong and what is accepted', () => {
    expect(() => parseEndpoints('udp://x:1')).toThrow(/not valid \(accepted: tcp:\/\/host:port/);
    expect(() => parseEndpoints('tcp://*:5556')).toThrow(/only makes sense when binding/);
    expect(() => parseEndpoints('tcp://h:0c')).toThrow(/out of range/);
    expect(() => parseEndpoints(' , ')).toThrow(/no ZMQ endpoint/);
  });
});

describe('ingest accounting', () => {
  const run = (ingest: Ingest, frames: Buffer[]) => {
    const out: CollectedEvent[] = [];
    ingest.message(frames, 'tcp://*:1c', undefined, out);
    return out;
  };
  const flow = fixture('ebpflowexport-connect-docker');

  it('counts each bad input by reason and keeps it as a sample', () => {
    const ingest = new Ingest(3);
    const header = encodeHeader({ layout: 0, topic: 'flow' });
    const cases: [Buffer[], string][] = [
      [[header], 'frame-count'],
      [[header, Buffer.from('{}'), Buffer.from('{}')], 'frame-count'],
      [[Buffer.alloc(33), Buffer.from('{}')], 'header-length'],
      [[encodeHeader({ layout: 0, topic: 'ebpf' }), Buffer.from('x')], 'topic'],
      [[header, Buffer.alloc(128 * 1024 + 1, 32)], 'oversize'],
      [[header, Buffer.concat([Buffer.from([0]), Buffer.from('not zlib')])], 'inflate'],
      [[header, Buffer.concat([Buffer.from([0]), deflateSync(Buffer.alloc(50 * 1024 * 1024))])], 'inflate-bomb'],
      [[header, Buffer.from([0x7b, 0xff, 0xfe, 0x7d])], 'utf8'],
      [[header, Buffer.from('{"a":')], 'json'],
      [[header, Buffer.from('['.repeat(1000) + ']'.repeat(1000))], 'json'],
      [[header, Buffer.from('42')], 'json'],
      [[header, Buffer.from(JSON.stringify({ ...flow, EXTRA: JSON.parse('{"a":'.repeat(100) + '1' + '}'.repeat(100)) }))], 'json'],
      [[encodeHeader({ layout: 3, topic: 'flow', tlv: true }), Buffer.from([1, 1, 0xf0])], 'tlv'],
      [[header, Buffer.from(JSON.stringify({ ...flow, L4_SRC_PORT: 'http' }))], 'schema'],
    ];
    for (const [frames, reason] of cases) expect(run(ingest, frames), reason).toEqual([]);
    const s = ingest.stats();
    expect(s.rejected).toEqual({ 'frame-count': 2, 'header-length': 1, topic: 1, oversize: 1, inflate: 1, 'inflate-bomb': 1, utf8: 1, json: 4, tlv: 1, schema: 1 });
    expect(s.samples[0]).toMatchObject({ interfaceId: 3, reason: 'schema', topic: 'flow', detail: '/L4_SRC_PORT must be integer', excerpt: expect.stringContaining('"L4_SRC_PORT":"http"') });
    expect(s.samples).toHaveLength(14);
    expect(run(ingest, message('flow', flow))).toHaveLength(1); // still accepting
  });

  it('keeps only the most recent samples, newest first', () => {
    const ingest = new Ingest(0);
    for (let i = 0; i < SAMPLE_COUNT + 10; i++) run(ingest, [encodeHeader({ layout: 0, topic: 'flow' }), Buffer.from(`{"n":${i}`)]);
    const { samples } = ingest.stats();
    expect(samples).toHaveLength(SAMPLE_COUNT);
    expect(samples[0].excerpt).toBe(`{"n":${SAMPLE_COUNT + 9}`);
    expect(samples[SAMPLE_COUNT - 1].excerpt).toBe('{"n":10');
  });

  it('counts lost messages from msg_id gaps, restarts, and u32 wrap-around as no loss', () => {
    const ingest = new Ingest(0);
    const send = (sourceId: number, msgId: number) => run(ingest, message('flow', flow, { layout: 3, sourceId, msgId }));
    for (const id of [1, 2, 5, 6, 10]) send(1, id); // lost 2 + 3
    for (const id of [100, 101, 3, 4]) send(2, id); // restart at 3
    for (const id of [0xfffffffe, 0xffffffff, 0, 1]) send(3, id); // wraps
    const s = ingest.stats();
    const by = (id: string) => s.exporters.find((e) => e.sourceId === id)!;
    expect(by('1')).toMatchObject({ messages: 5, events: 5, lostMessages: 5, restarts: 0, headerVersion: 3 });
    expect(by('2')).toMatchObject({ lostMessages: 0, restarts: 1 });
    expect(by('3')).toMatchObject({ lostMessages: 0, restarts: 0 });
    expect(s.lostMessages).toBe(5);
  });

  it('resolves numeric field ids, built in and learned from templates', () => {
    const ingest = new Ingest(0);
    run(ingest, message('template', [{ field: 168, PEN: 35632, name: 'LOCAL_PROCESS' }]));
    const numeric = { 4: 6, 8: '10.0.0.1', 12: '10.0.0.2', 7: 1000, 11: 80, 60: 4, TCP_EVENT_TYPE: 'CONNECT', '35632.168': { PID: 9, PROCESS_PATH: '/bin/nc' } };
    const [e] = run(ingest, message('flow', numeric));
    expect(e).toMatchObject({ client: { ip: '10.0.0.1', port: 1000 }, server: { ip: '10.0.0.2', port: 80 }, local: { process: { pid: 9, path: '/bin/nc' } } });
  });
});
