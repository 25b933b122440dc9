// The native scanner's path (native/json-scan.c, scanned-records.ts) must decide every
// payload exactly as the JSON.parse path does: the same events, field for field (-0
// and all), the same counters, rejections and samples. Checked on the fixtures and on
// seeded payloads written with the liberties JSON allows (escapes, whitespace, number
// forms, non-ASCII text) and with the faults producers make (duplicate and unknown
// keys, literals, truncation, bytes that are not UTF-8), against an Ingest that reads
// every payload with JSON.parse.
import { isDeepStrictEqual } from 'node:util';
import { deflateSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { Ingest } from '../../src/collector/ingest.ts';
import { MAX_INTERNED, openJsonScanner } from '../../src/native/json-scan.ts';
import { ScannedRecords } from '../../src/collector/events/scanned-records.ts';
import { SOCKET_KEYS } from '../../src/collector/events/normalise.ts';
import socketSchema from '../../schemas/socket-event.schema.json' with { type: 'json' };
import type { CollectedEvent } from '../../src/model/event.ts';
import { fixture } from '../support/fixtures.ts';
import { encodeHeader } from '../support/producer.ts';
import { prng } from './live.ts';
import { FLOW_FIXTURES, mutated } from './mutations.ts';

const SEED = Number(process.env.FUZZ_SEED ?? 20261202);
const PAYLOADS = 4_000;
const HEADER = encodeHeader(3, 'flow', { sourceId: 7 });
const COMPRESSED = encodeHeader(3, 'flow', { sourceId: 7, compressed: true });

/** JSON text of `value`, written with the liberties JSON allows (the parsed value is unchanged). */
function liberal(value: unknown, rand: () => number): string {
  const ws = () => [' ', '', '\n', '\t', '\r\n  '][Math.floor(rand() * 5)];
  if (typeof value === 'number') {
    if (!Number.isFinite(value) || rand() < 0.6) return JSON.stringify(value);
    if (Object.is(value, -0)) return ['-0', '-0.0', '-0e3'][Math.floor(rand() * 3)];
    if (Number.isInteger(value) && Math.abs(value) < 1e15) return [`${value}.0`, `${value}e0`, `${value * 10}E-1`, `${value}.000`][Math.floor(rand() * 4)];
    return value.toExponential().replace('e+', rand() < 0.5 ? 'e' : 'E+');
  }
  if (typeof value === 'string') {
    if (rand() < 0.5) return JSON.stringify(value);
    // Some characters escaped, as some producers (ebpflowexport: \/) write them.
    return `"${[...value].map((ch) => {
      const r = rand();
      if (ch === '"' || ch === '\\') return `\\${ch}`;
      if (ch === '/' && r < 0.5) return '\\/';
      if (r < 0.15) return [...ch].map((u) => `\\u${u.charCodeAt(0).toString(16).padStart(4, '0')}`).join('');
      return ch;
    }).join('')}"`;
  }
  if (Array.isArray(value)) return `[${ws()}${value.map((v) => liberal(v, rand)).join(`,${ws()}`)}${ws()}]`;
  if (typeof value === 'object' && value !== null) {
    return `{${ws()}${Object.entries(value).map(([k, v]) => `${JSON.stringify(k)}${ws()}:${ws()}${liberal(v, rand)}`).join(`,${ws()}`)}${ws()}}`;
  }
  return JSON.stringify(value);
}

/** A fault a producer may make in the payload's text. */
function faulty(text: string, rand: () => number): Buffer {
  const at = Math.floor(rand() * text.length);
  switch (Math.floor(rand() * 9)) {
    case 0: return Buffer.from(text.slice(0, at)); // truncated
    case 1: return Buffer.from(text.replace('"PROTOCOL"', '"PROTOCOL": 17, "PROTOCOL"')); // a key twice
    case 2: return Buffer.from(text.replace('{', rand() < 0.5 ? '{"SOMETHING_ELSE": [1, {"a": null}], ' : '{"8": "10.0.0.1", ')); // additional fields, field ids
    case 3: return Buffer.from(text.replace(/"PID": ?\d+/, '"PID": true')); // a literal
    case 4: { const b = Buffer.from(text); b[at] = [0xff, 0xc3, 0x80, 0x00, 0x22, 0x5c][Math.floor(rand() * 6)]; return b; } // a byte
    case 5: return Buffer.from(text.replace(/"L4_(SRC|LOCAL)_PORT": ?\d+/, '"L4_$1_PORT": 12345678901234567890')); // beyond 2^53
    case 6: return Buffer.from(text.replace(/"PID": ?\d+/, '"PID": 1e400')); // beyond a double
    case 7: return Buffer.from(`[${text}, 5]`); // not an object in the array
    default: return Buffer.from(`${text}${rand() < 0.5 ? ' ' : ' x'}`); // trailing space, trailing garbage
  }
}

/** A seeded payload: 1 to 6 mutated fixture records, as an array or a lone object, with or without a fault. */
function payload(rand: () => number): Buffer {
  const n = 1 + Math.floor(rand() * 6);
  const records = Array.from({ length: n }, () => {
    const base = fixture(FLOW_FIXTURES[Math.floor(rand() * FLOW_FIXTURES.length)]);
    return rand() < 0.5 ? base : mutated(base, rand);
  });
  // Text past ASCII in a field some of the time (a process path, an interface name).
  if (rand() < 0.2) records[0] = { ...records[0], INTERFACE_NAME: ['eth€0', 'wlan😀', 'é'.repeat(10)][Math.floor(rand() * 3)] };
  const text = liberal(n === 1 && rand() < 0.5 ? records[0] : records, rand);
  return rand() < 0.3 ? faulty(text, rand) : Buffer.from(text);
}

/** What an Ingest made of the messages: its events and everything its stats count. */
function outcome(ingest: Ingest, events: CollectedEvent[]) {
  const s = ingest.stats(0);
  return {
    events, messages: s.messages, accepted: s.events, rejected: s.rejected, rejectedByTopic: s.rejectedByTopic, lost: s.lostMessages,
    samples: s.samples.map(({ reason, detail, excerpt }) => ({ reason, detail, excerpt })),
  };
}

function both(messages: Buffer[][]) {
  const scanned = new Ingest(1);
  const parsed = new Ingest(1, undefined, { scan: false });
  const a: CollectedEvent[] = [];
  const b: CollectedEvent[] = [];
  for (const m of messages) {
    scanned.message(m, 'tcp://127.0.0.1:5556', undefined, a, 0);
    parsed.message(m, 'tcp://127.0.0.1:5556', undefined, b, 0);
  }
  return { scanned, parsed, a: outcome(scanned, a), b: outcome(parsed, b) };
}

describe('native scanner path', () => {
  // A record without a timestamp is stamped with the clock: the same instant for both paths.
  beforeAll(() => vi.useFakeTimers({ now: Date.UTC(2026, 11, 2), toFake: ['Date'] }));
  afterAll(() => vi.useRealTimers());

  it('is built, and reads every flow fixture itself, as JSON.parse reads them', () => {
    const { scanned, a, b } = both(FLOW_FIXTURES.map((name) => [HEADER, Buffer.from(JSON.stringify(fixture(name)))]));
    expect(scanned.stats(0).decoding).toEqual({ scanner: 'native', scanned: FLOW_FIXTURES.length, fallbacks: {} });
    expect(a.events).toHaveLength(FLOW_FIXTURES.length);
    expect(isDeepStrictEqual(a, b)).toBe(true);
  });

  it('decides as the JSON.parse path on seeded payloads, liberal and faulty, compressed or not', () => {
    const rand = prng(SEED);
    const messages = Array.from({ length: PAYLOADS }, () => {
      const p = payload(rand);
      return rand() < 0.1 ? [COMPRESSED, deflateSync(p)] : [HEADER, p];
    });
    const { scanned, a, b } = both(messages);
    if (!isDeepStrictEqual(a, b)) {
      // Say which message differs first, and how.
      for (const [i, m] of messages.entries()) {
        const one = both([m]);
        expect(one.a, `message ${i}: ${m[1].toString('latin1').slice(0, 400)}`).toStrictEqual(one.b);
      }
    }
    expect(isDeepStrictEqual(a, b)).toBe(true);
    // Both paths were exercised: many records were scanned (a mutated record sends the rest of
    // its payload the JSON.parse way), and each way of falling back happened.
    const { decoding } = scanned.stats(0);
    expect(decoding.scanned).toBeGreaterThan(a.events.length / 3);
    for (const reason of ['syntax', 'key', 'value', 'number', 'shape', 'record']) expect(decoding.fallbacks[reason], reason).toBeGreaterThan(0);
    expect(Object.values(a.rejected).reduce((x, y) => x + (y ?? 0), 0)).toBeGreaterThan(PAYLOADS / 20);
  });

  it('reads numbers and strings exactly as JSON.parse does, or leaves them to it', () => {
    const scanner = openJsonScanner(['n', 's'], 1 << 17);
    if (typeof scanner === 'string') throw new Error(scanner);
    const rand = prng(SEED + 1);
    const digits = (n: number) => Array.from({ length: n }, () => Math.floor(rand() * 10)).join('');
    let exact = 0;
    for (let i = 0; i < 20_000; i++) {
      const int = rand() < 0.1 ? '0' : `${1 + Math.floor(rand() * 9)}${digits(Math.floor(rand() * 17))}`;
      const text = `${rand() < 0.3 ? '-' : ''}${int}${rand() < 0.6 ? `.${digits(1 + Math.floor(rand() * 12))}` : ''}${rand() < 0.3 ? `e${rand() < 0.5 ? '-' : ''}${Math.floor(rand() * 30)}` : ''}`;
      const n = scanner.scan(Buffer.from(`{"n": ${text}}`));
      if (n < 0) continue; // left to JSON.parse ('number')
      expect(Object.is(scanner.tape[3], JSON.parse(text)), text).toBe(true);
      exact++;
    }
    expect(exact).toBeGreaterThan(10_000);
    for (const bad of ['01', '1.', '.5', '-', '1e', '+1', '0x10', 'NaN', '1.e3']) expect(scanner.scan(Buffer.from(`{"n": ${bad}}`)), bad).toBeLessThan(0);
    for (const bad of ['"a\\x"', '"\\u12G4"', '"tab\there"', '"\xff"']) expect(scanner.scan(Buffer.from(`{"s": ${bad}}`, 'latin1')), bad).toBeLessThan(0);
    scanner.close();
  });

  it('forgets its interned strings all at once when full, counts it, and goes on reading them right', () => {
    const scanned = new Ingest(1);
    const parsed = new Ingest(1, undefined, { scan: false });
    const base = fixture('ebpflowexport-connect-docker');
    const a: CollectedEvent[] = [];
    const b: CollectedEvent[] = [];
    const total = MAX_INTERNED + 5_000;
    for (let i = 0; i < total; i += 100) {
      // 100 records with a command line of their own each (distinct strings).
      const records = Array.from({ length: 100 }, (_, k) => ({ ...base, LOCAL_PROCESS: { PID: 7, PROCESS_CMDLINE: `run --n ${i + k}` } }));
      const p = Buffer.from(JSON.stringify(records));
      scanned.message([HEADER, p], 'e', undefined, a, 0);
      parsed.message([HEADER, p], 'e', undefined, b, 0);
    }
    expect(isDeepStrictEqual(a, b)).toBe(true);
    const s = scanned.stats(0);
    expect(s.decoding.scanned).toBe(a.length);
    expect(s.bounds.internedStrings.max).toBe(MAX_INTERNED);
    expect(s.bounds.internedStrings.dropped).toBeGreaterThanOrEqual(1);
    expect(s.bounds.internedStrings.size).toBeLessThanOrEqual(MAX_INTERNED);
  });

  it('starts the next payload clean when taking a record throws (a bug, which the caller counts)', () => {
    const records = ScannedRecords.open(socketSchema, () => true, SOCKET_KEYS, 1 << 17);
    if (typeof records === 'string') throw new Error(records);
    const docker = Buffer.from(JSON.stringify(fixture('ebpflowexport-connect-docker')));
    expect(() => records.records(docker, () => {
      throw new Error('a bug');
    })).toThrow('a bug');
    const seen: Record<string, unknown>[] = [];
    const netstat = Buffer.from(JSON.stringify(fixture('netstat-established')));
    expect(records.records(netstat, (r) => seen.push(structuredClone(r)) > 0)).toBeUndefined();
    // Nothing of the first payload's record is left in the second's.
    expect(seen[0].LOCAL_CONTAINER).toBeUndefined();
    expect(seen[0].LOCAL_FATHER_PROCESS).toBeUndefined();
    expect(seen[0].TCP).toMatchObject({ CONN_STATE: 'ESTABLISHED' });
    records.close();
  });

  it('says why payloads go through JSON.parse when asked to', () => {
    expect(new Ingest(1, undefined, { scan: false }).stats(0).decoding).toEqual({ scanner: 'not asked for', scanned: 0, fallbacks: {} });
  });
});
