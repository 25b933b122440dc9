// The socket-free ingest pipeline (one multipart message in, events out): every
// fixture and quirk in every framing, JSON and TLV twins, every rejection reason with
// its sample, and the per-source accounting.
import { deflateSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { Ingest, SAMPLE_COUNT } from '../../src/collector/ingest.ts';
import { MAX_PAYLOAD_BYTES } from '../../src/collector/wire/payload.ts';
import { SOURCE_IDLE_MS } from '../../src/collector/sources.ts';
import type { CollectedEvent, SocketEvent } from '../../src/model/event.ts';
import type { RejectReason } from '../../src/model/exporter.ts';
import { fixture } from '../support/fixtures.ts';
import { encodeHeader, encodeTlv, message, rawMessage } from '../support/producer.ts';
import { allCases, expectedEvent } from './expected.ts';
import { framings } from './live.ts';

const ENDPOINT = 'tcp://127.0.0.1:5556c';
const run = (ingest: Ingest, frames: Buffer[], now?: number, peer?: string) => {
  const out: CollectedEvent[] = [];
  ingest.message(frames, ENDPOINT, peer, out, now);
  return out;
};

describe('every fixture and quirk, JSON and TLV, in every framing', () => {
  it('gives the event reference/events.md describes, field by field', () => {
    const ingest = new Ingest(0);
    for (const c of allCases()) {
      for (const f of framings()) {
        expect(run(ingest, message(c.topic, c.record, f)), `${c.name}, ${f.label}`).toEqual([c.expected]);
        expect(run(ingest, message(c.topic, [c.record, c.record], f)), `${c.name}, ${f.label}, batch`).toEqual([c.expected, c.expected]);
      }
    }
    expect(ingest.stats().rejected).toEqual({});
  });

  it('a TLV record and its JSON twin give equal events', () => {
    const ingest = new Ingest(0);
    for (const c of allCases()) {
      const json = run(ingest, rawMessage(c.topic, Buffer.from(JSON.stringify(c.record)), { layout: 3 }));
      const tlv = run(ingest, rawMessage(c.topic, encodeTlv([c.record]), { layout: 3, tlv: true }));
      expect(tlv, c.name).toEqual(json);
    }
  });

  it('a fractional numeric timestamp (JSON: TLV floats are 32-bit)', () => {
    const [e] = run(new Ingest(0), message('flow', { ...fixture('ebpflowexport-accept'), timestamp: 1716912346.000812 }));
    expect(e).toEqual(expectedEvent('ebpflowexport-accept'));
  });

  it('the size fields are hints: wrong ones change nothing', () => {
    const ingest = new Ingest(0);
    const payload = deflateSync(Buffer.from(JSON.stringify(fixture('nprobe-mini-connect'))));
    const v3 = encodeHeader(3, 'flow', { compressed: true, size: 0xffffffff, uncompressedSize: 1 });
    const v2 = encodeHeader(2, 'flow', { size: 3 });
    expect(run(ingest, [v3, payload])).toEqual([expectedEvent('nprobe-mini-connect')]);
    expect(run(ingest, [v2, Buffer.concat([Buffer.from([0]), payload])])).toEqual([expectedEvent('nprobe-mini-connect')]);
  });
});

describe('rejections: counted by reason and topic, with a sample', () => {
  const flow = fixture('ebpflowexport-connect-docker');
  const v0 = (topic = 'flow') => encodeHeader(0, topic);

  it.each<[string, RejectReason, string, RegExp, () => Buffer[]]>([
    ['one frame', 'frame-count', '', /1 frames/, () => [v0()]],
    ['three frames', 'frame-count', '', /3 frames/, () => [v0(), Buffer.from('{}'), Buffer.from('{}')]],
    ['no frame', 'frame-count', '', /0 frames/, () => []],
    ['a 33-byte header', 'header-length', '', /33 bytes/, () => [Buffer.alloc(33), Buffer.from('{}')]],
    ['a truncated v3 header', 'header-length', '', /30 bytes/, () => [encodeHeader(3, 'flow').subarray(0, 30), Buffer.from('{}')]],
    ['publisher version 5', 'header-version', '', /version 5/, () => { const h = encodeHeader(2, 'flow'); h[16] = 5; return [h, Buffer.from('{}')]; }],
    ['an unknown topic', 'topic', 'ebpf', /"ebpf"/, () => [v0('ebpf'), Buffer.from('x')]],
    ['129 KiB', 'oversize', 'flow', /131072/, () => [v0(), Buffer.alloc(MAX_PAYLOAD_BYTES + 1, 0x20)]],
    ['a broken zlib stream', 'inflate', 'flow', /zlib/, () => [v0(), Buffer.from([0, 0x78, 0x9c, 1, 2, 3])]],
    ['a v3 zlib flag over plain text', 'inflate', 'flow', /zlib/, () => [encodeHeader(3, 'flow', { compressed: true }), Buffer.from(JSON.stringify(flow))]],
    ['50 MB of zeros, compressed', 'inflate-bomb', 'flow', /131072/, () => [v0(), Buffer.concat([Buffer.from([0]), deflateSync(Buffer.alloc(50 * 1024 * 1024))])]],
    ['one byte past the cap, compressed', 'inflate-bomb', 'counter', /131072/, () => [encodeHeader(3, 'counter', { compressed: true }), deflateSync(Buffer.alloc(MAX_PAYLOAD_BYTES + 1, 0x20))]],
    ['invalid UTF-8', 'utf8', 'flow', /UTF-8/, () => [v0(), Buffer.from([0x7b, 0x22, 0xff, 0x22, 0x3a, 0x31, 0x7d])]],
    ['a surrogate in UTF-8', 'utf8', 'flow', /UTF-8/, () => [v0(), Buffer.from([0x7b, 0x22, 0xed, 0xa0, 0x80, 0x22, 0x3a, 0x31, 0x7d])]],
    ['truncated JSON', 'json', 'flow', /JSON|Unexpected|Expected/, () => [v0(), Buffer.from('{"PROTOCOL":')]],
    ['a JSON number', 'json', 'flow', /object or array/, () => [v0(), Buffer.from('42')]],
    ['an array of numbers', 'json', 'flow', /only objects/, () => [v0(), Buffer.from('[1,2]')]],
    ['arrays 1000 deep', 'json', 'flow', /only objects/, () => [v0(), Buffer.from('['.repeat(1000) + ']'.repeat(1000))]],
    ['an additional field 1000 deep', 'json', 'flow', /nested deeper than 16/, () => [v0(), Buffer.from(JSON.stringify(flow).slice(0, -1) + ',"X":' + '{"a":'.repeat(1000) + '1' + '}'.repeat(1000) + '}')]],
    ['malformed TLV', 'tlv', 'flow', /key type 15/, () => [encodeHeader(3, 'flow', { tlv: true }), Buffer.from([1, 1, 0xf2, 0])]],
    ['TLV without its magic', 'tlv', 'flow', /not an nDPI TLV buffer/, () => [encodeHeader(1, 'flow', { version: 3 }), Buffer.from('{"PROTOCOL":6}')]],
    ['a port as text', 'schema', 'flow', /^\/L4_SRC_PORT must be integer$/, () => [v0(), Buffer.from(JSON.stringify({ ...flow, L4_SRC_PORT: '54348' }))]],
    ['an unknown event type', 'schema', 'flow', /TCP_EVENT_TYPE.*ACCEPT, CONNECT/, () => [v0(), Buffer.from(JSON.stringify({ ...flow, TCP_EVENT_TYPE: 'OPEN' }))]],
    ['no addresses', 'schema', 'flow', /required/, () => [v0(), Buffer.from(JSON.stringify({ PROTOCOL: 6, L4_SRC_PORT: 1, L4_DST_PORT: 2 }))]],
    ['a process without PID', 'schema', 'flow', /LOCAL_PROCESS.*PID/, () => [v0(), Buffer.from(JSON.stringify({ ...flow, LOCAL_PROCESS: { UID: 0 } }))]],
    ['an IPv6 zone id', 'schema', 'flow', /IPV6_SRC_ADDR.*ipv6/, () => [v0(), Buffer.from(JSON.stringify({ ...fixture('ebpflowexport-udp-send-ipv6-k8s'), IPV6_SRC_ADDR: 'fe80::1%eth0' }))]],
    ['counters with a negative counter', 'schema', 'counter', /ifInOctets/, () => [v0('counter'), Buffer.from(JSON.stringify({ ...fixture('counters-veth'), ifInOctets: -5 }))]],
    ['counters with deviceIP over u32', 'schema', 'counter', /deviceIP/, () => [v0('counter'), Buffer.from(JSON.stringify({ ...fixture('counters-veth'), deviceIP: 2 ** 32 }))]],
    ['a listening port out of range', 'schema', 'listening-ports', /port/, () => [v0('listening-ports'), Buffer.from(JSON.stringify({ 'listening-ports': { tcp4: [{ port: 70000 }] } }))]],
  ])('%s → %s', (_name, reason, topic, detail, frames) => {
    const ingest = new Ingest(7);
    expect(run(ingest, frames(), 1_000_000)).toEqual([]);
    const s = ingest.stats(1_000_000);
    expect(s.rejected).toEqual({ [reason]: 1 });
    // Counted under the topic it matched: a bounded set of labels ('-' when there was none).
    expect(s.rejectedByTopic).toEqual({ [topic === '' || topic === 'ebpf' ? '-' : topic]: { [reason]: 1 } });
    expect(s.samples).toHaveLength(1);
    expect(s.samples[0]).toMatchObject({ at: 1_000_000, interfaceId: 7, reason, topic, source: expect.stringContaining(ENDPOINT) });
    expect(s.samples[0].detail).toMatch(detail);
    expect(s.samples[0].excerpt.length).toBeLessThanOrEqual(512);
    expect(s.samples[0].excerpt).toMatch(/^[\x20-\x7e]*$/);
    // Nothing stalls: the next valid message is accepted.
    expect(run(ingest, message('flow', flow))).toEqual([expectedEvent('ebpflowexport-connect-docker')]);
  });

  it('schema failures count per record: the valid records of the batch are delivered', () => {
    const ingest = new Ingest(0);
    const good = fixture('ebpflowexport-retransmit');
    const out = run(ingest, message('flow', [good, { ...good, PROTOCOL: 1 }, good, { ...good, L4_DST_PORT: -1 }, { ...good, RETRAN_PKTS: 'x' }], { layout: 3, tlv: false }));
    expect(out).toEqual([expectedEvent('ebpflowexport-retransmit'), expectedEvent('ebpflowexport-retransmit')]);
    expect(ingest.stats().rejected).toEqual({ schema: 3 });
    expect(ingest.stats().events).toEqual({ flow: 2 });
  });

  it('keeps the last 32 samples, newest first, each excerpt printable and at most 512 characters', () => {
    const ingest = new Ingest(0);
    const total = SAMPLE_COUNT * 2 + 5;
    for (let i = 0; i < total; i++) run(ingest, [encodeHeader(0, 'flow'), Buffer.from(`{"n":${i},"pad":"\u00e9${'x'.repeat(600)}`)], 1000 + i);
    const { samples, rejected } = ingest.stats(2000);
    expect(rejected).toEqual({ json: total });
    expect(SAMPLE_COUNT).toBe(32);
    expect(samples).toHaveLength(32);
    expect(samples.map((s) => s.at)).toEqual(Array.from({ length: 32 }, (_, i) => 1000 + total - 1 - i));
    expect(samples[0].excerpt.startsWith(`{"n":${total - 1},"pad":"..xxx`)).toBe(true);
    for (const s of samples) {
      expect(s.excerpt).toHaveLength(512);
      expect(s.excerpt).toMatch(/^[\x20-\x7e]*$/);
    }
  });

  it('informational topics are counted and never decoded', () => {
    const ingest = new Ingest(0);
    for (const topic of ['event', 'option', 'hello', 'snmp-ifaces', 'message']) expect(run(ingest, [encodeHeader(0, topic), Buffer.from([0xff, 0, 1])])).toEqual([]);
    const s = ingest.stats();
    expect(s.rejected).toEqual({});
    expect(s.messages).toEqual({ event: 1, option: 1, hello: 1, 'snmp-ifaces': 1, message: 1 });
  });
});

describe('per-source accounting', () => {
  const r = fixture('ebpflowexport-retransmit');
  it('counts gaps, restarts and the u32 wrap per source_id; idle sources expire, the loss total stays', () => {
    const ingest = new Ingest(0);
    const send = (sourceId: number, msgId: number, now: number) => run(ingest, message('flow', r, { layout: 3, sourceId, msgId }), now);
    for (const id of [1, 2, 5, 6, 10]) send(1, id, 1000); // 2 + 3 lost
    for (const id of [100, 101, 3, 4]) send(2, id, 1000); // restart at 3
    for (const id of [0xfffffffe, 0xffffffff, 0, 1]) send(3, id, 1000); // wraps, nothing lost
    for (const id of [0xffffffff, 2]) send(4, id, 1000); // wraps, 0 and 1 lost
    let s = ingest.stats(1000);
    const by = (id: string) => s.exporters.find((e) => e.sourceId === id);
    expect(by('1')).toEqual({ interfaceId: 0, endpoint: ENDPOINT, sourceId: '1', headerVersion: 3, messages: 5, events: 5, lostMessages: 5, restarts: 0, firstSeen: 1000, lastSeen: 1000 });
    expect(by('2')).toMatchObject({ lostMessages: 0, restarts: 1 });
    expect(by('3')).toMatchObject({ lostMessages: 0, restarts: 0 });
    expect(by('4')).toMatchObject({ lostMessages: 2, restarts: 0 });
    expect(s.lostMessages).toBe(7);

    send(1, 11, 1000 + SOURCE_IDLE_MS);
    s = ingest.stats(1000 + SOURCE_IDLE_MS + 1);
    expect(s.exporters.map((e) => e.sourceId)).toEqual(['1']);
    expect(by('1')).toMatchObject({ messages: 6, lostMessages: 5, lastSeen: 1000 + SOURCE_IDLE_MS });
    expect(s.lostMessages).toBe(7);
    // A source that comes back after expiring starts afresh: no loss counted across the silence.
    send(2, 50, 1000 + SOURCE_IDLE_MS + 2);
    expect(ingest.stats(1000 + SOURCE_IDLE_MS + 2).exporters.find((e) => e.sourceId === '2')).toMatchObject({ messages: 1, lostMessages: 0, restarts: 0 });
  });

  it('v0 producers are told apart by their connection', () => {
    const ingest = new Ingest(0);
    run(ingest, message('flow', r), 1, '10.0.0.1');
    run(ingest, message('flow', r), 1, '10.0.0.2');
    run(ingest, message('flow', r), 1, '10.0.0.2');
    run(ingest, message('flow', r), 1);
    expect(ingest.stats(1).exporters.map((e) => [e.sourceId, e.messages, e.headerVersion])).toEqual([['10.0.0.1', 1, 0], ['10.0.0.2', 2, 0], [ENDPOINT, 1, 0]]);
  });
});

describe('bad input never escapes the pipeline as an exception', () => {
  const counted = (frames: Buffer[]) => {
    const ingest = new Ingest(0);
    let out: CollectedEvent[] = [];
    let thrown: unknown;
    try {
      out = run(ingest, frames);
    } catch (err) {
      thrown = err;
    }
    return { thrown: thrown === undefined ? undefined : String(thrown), out, rejected: ingest.stats().rejected };
  };

  it('a counters record whose container is null is rejected, not thrown', () => {
    // The schema describes LOCAL_CONTAINER, but any *CONTAINER key is read as the container.
    for (const key of ['LOCAL_CONTAINER', 'REMOTE_CONTAINER', 'CONTAINER']) {
      const { LOCAL_CONTAINER: _, ...counters } = fixture('counters-veth');
      const result = counted(message('counter', { ...counters, [key]: null }));
      expect(result, key).toEqual({ thrown: undefined, out: [], rejected: { schema: 1 } });
    }
  });

  it('deep JSON in a record that fails its schema is counted, not thrown', () => {
    for (const depth of [1000, 5000, 20000]) {
      const deep = '['.repeat(depth) + ']'.repeat(depth);
      expect(counted(message('flow', {})).rejected, 'control').toEqual({ schema: 1 });
      const result = counted([encodeHeader(0, 'flow'), Buffer.from(`{"PROTOCOL":1,"EXTRA":${deep}}`)]);
      expect(result.thrown, `${depth} levels`).toBeUndefined();
      expect(Object.keys(result.rejected), `${depth} levels`).toEqual([expect.stringMatching(/^(schema|json)$/)]);
    }
  });

  it('an event is never delivered without its ports (SRC/DST addresses without ports, LOCAL/REMOTE complete)', () => {
    const record = { ...fixture('nprobe-mini-connect'), IPV4_SRC_ADDR: '10.0.0.1', IPV4_DST_ADDR: '10.0.0.2' };
    const { thrown, out, rejected } = counted(message('flow', record));
    expect(thrown).toBeUndefined();
    for (const e of out as SocketEvent[]) {
      expect(Number.isInteger(e.client.port), JSON.stringify(e.client)).toBe(true);
      expect(Number.isInteger(e.server.port), JSON.stringify(e.server)).toBe(true);
    }
    expect(out.length + (rejected.schema ?? 0)).toBe(1);
  });

  it('a TLV record with a "__proto__" key gives what its JSON twin gives', () => {
    // TLV keys are data, like JSON's: a "__proto__" block must not become the record's prototype.
    const json = Buffer.from('{"IPV4_SRC_ADDR":"10.0.0.1","IPV4_DST_ADDR":"10.0.0.2","L4_SRC_PORT":40000,"L4_DST_PORT":443,"__proto__":{"PROTOCOL":6,"TCP_EVENT_TYPE":"CONNECT"}}');
    const s = (text: string) => [0, text.length, ...Buffer.from(text)];
    const tlv = Buffer.from([
      1, 1,
      0xbb, ...s('IPV4_SRC_ADDR'), ...s('10.0.0.1'), 0xbb, ...s('IPV4_DST_ADDR'), ...s('10.0.0.2'),
      0xb3, ...s('L4_SRC_PORT'), 0x9c, 0x40, 0xb3, ...s('L4_DST_PORT'), 0x01, 0xbb,
      0xbc, ...s('__proto__'), 0xb2, ...s('PROTOCOL'), 6, 0xbb, ...s('TCP_EVENT_TYPE'), ...s('CONNECT'), 0x0d,
      0x01,
    ]);
    expect(Object.keys(JSON.parse(json.toString()))).toContain('__proto__');
    const fromJson = counted(rawMessage('flow', json, { layout: 3 }));
    const fromTlv = counted(rawMessage('flow', tlv, { layout: 3, tlv: true }));
    expect(fromJson).toMatchObject({ thrown: undefined, out: [], rejected: { schema: 1 } }); // PROTOCOL is required at the top
    expect(fromTlv).toEqual(fromJson);
  });
});
