// The fast path generated from the event schemas (schema-check.ts) may only ever say
// "certainly valid" for records ajv accepts: checked on every fixture and on seeded
// mutations of them (wrong types, bounds, lengths in UTF-16 and in code points,
// addresses, enums, missing and nested fields), and the validator the collector uses
// decides exactly as ajv alone does.
import { describe, expect, it } from 'vitest';
import { compileValidators } from '../../src/collector/events/validate.ts';
import { compileSchemaCheck } from '../../src/collector/events/schema-check.ts';
import { fixture } from '../support/fixtures.ts';
import { prng } from './live.ts';

const FLOW_FIXTURES = [
  'ebpflowexport-accept', 'ebpflowexport-connect-docker', 'ebpflowexport-connect-failed', 'ebpflowexport-retransmit',
  'ebpflowexport-udp-recv', 'ebpflowexport-udp-send-ipv6-k8s', 'netstat-established', 'nprobe-mini-connect',
];
const SEED = Number(process.env.FUZZ_SEED ?? 20261202);
const VARIANTS = 20_000;

const validators = compileValidators();
const socket = validators['socket-event'];

/** Values that sit on or just past what the schema's keywords allow. */
const POOL: unknown[] = [
  '54348', 70000, 65535, 65536, 0, -0, -1, 1.5, 4, 6, 17, 1, JSON.parse('1e999'), 1e21, null, true, false, [], {}, [1], '',
  'x'.repeat(64), 'x'.repeat(65), '€'.repeat(65), '😀'.repeat(40), '😀'.repeat(65), 'é'.repeat(256), 'é'.repeat(257),
  '1.2.3.4', '999.1.1.1', '01.2.3.4', '1.2.3.4 ', '::1', 'fe80::1%eth0', '2001:db8::1', '2001:DB8:0:0::1', '::ffff:1.2.3.4', '1.2.3',
  '1700000000', '1700000000.123', '1700000000.1234567890', '1234567890123', '.5', '1e9', 1700000000.5,
  'ACCEPT', 'CONNECT', 'CLOSE', 'OPEN', 'accept', 'ESTABLISHED', 'LISTEN', 'SYN-SENT', 'established',
  { PID: 1 }, { PID: 1.5 }, { UID: 0 }, { PID: 7, UID_NAME: 5 }, { DOCKER: { ID: 'x' } }, { K8S: { POD: 5 } }, { K8S: { NS: 'n'.repeat(257) } }, { CONN_STATE: 'LISTEN', RTT: -1 },
];

function paths(value: unknown, prefix: string[] = []): string[][] {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return [];
  return Object.entries(value).flatMap(([k, v]) => [[...prefix, k], ...paths(v, [...prefix, k])]);
}

function mutated(base: Record<string, unknown>, rand: () => number): Record<string, unknown> {
  const r = structuredClone(base);
  const names = [...paths(r), ...Object.keys((socket.ajv.schema as { properties: object }).properties).map((k) => [k])];
  const changes = 1 + Math.floor(rand() * 3);
  for (let c = 0; c < changes; c++) {
    const path = names[Math.floor(rand() * names.length)];
    let parent = r as Record<string, unknown>;
    for (const k of path.slice(0, -1)) {
      const next = parent[k];
      if (typeof next !== 'object' || next === null || Array.isArray(next)) break;
      parent = next as Record<string, unknown>;
    }
    const last = path[path.length - 1];
    if (rand() < 0.2) delete parent[last];
    else parent[last] = structuredClone(POOL[Math.floor(rand() * POOL.length)]);
  }
  return r;
}

describe('schema fast path', () => {
  it('is generated for flow events and accepts every flow fixture without ajv', () => {
    expect(socket.fast).toBeTypeOf('function');
    for (const name of FLOW_FIXTURES) expect(socket.fast!(fixture(name)), name).toBe(true);
  });

  it('never accepts what ajv rejects, and the collector decides as ajv does, on mutated fixtures', () => {
    const rand = prng(SEED);
    let fastAccepted = 0;
    let rejected = 0;
    for (let i = 0; i < VARIANTS; i++) {
      const record = mutated(fixture(FLOW_FIXTURES[i % FLOW_FIXTURES.length]), rand);
      const byAjv = socket.ajv(record) as boolean;
      const fast = socket.fast!(record);
      if (fast && !byAjv) expect.fail(`fast path accepted what ajv rejects: ${JSON.stringify(record)} (${JSON.stringify(socket.ajv.errors)})`);
      expect(socket(record)).toBe(byAjv);
      if (fast) fastAccepted++;
      if (!byAjv) rejected++;
    }
    // Both sides of the line were exercised, and the fast path took most valid records.
    expect(rejected).toBeGreaterThan(VARIANTS / 10);
    expect(fastAccepted).toBeGreaterThan((VARIANTS - rejected) / 2);
  });

  it('refuses the examples ajv refuses, with ajv\'s error', () => {
    for (const bad of [
      { L4_SRC_PORT: '54348' }, { L4_SRC_PORT: 70000 }, { PROTOCOL: 1 }, { IPV4_SRC_ADDR: '999.1.1.1' }, { TCP_EVENT_TYPE: 'OPEN' },
      { LOCAL_PROCESS: { UID: 0 } }, { LOCAL_PROCESS: { PID: -1 } }, { timestamp: 'yesterday' }, { IPV4_DST_ADDR: undefined }, { INTERFACE_NAME: '€'.repeat(65) },
    ]) {
      const record = { ...fixture('ebpflowexport-connect-docker'), ...bad };
      expect(socket(record), JSON.stringify(bad)).toBe(false);
      expect(socket.errors?.[0]?.message, JSON.stringify(bad)).toMatch(/must /);
    }
  });

  it('reads records of any shape as ajv does: a required name left undefined, a name another prototype holds, an own __proto__ key', () => {
    const base = fixture('ebpflowexport-connect-docker');
    const { L4_SRC_PORT: _, ...withoutPort } = base;
    const records: Record<string, unknown>[] = [
      { ...base, PROTOCOL: undefined },
      Object.setPrototypeOf({ ...withoutPort }, { L4_SRC_PORT: 70000 }) as Record<string, unknown>,
      Object.setPrototypeOf({ ...withoutPort }, { L4_SRC_PORT: 443 }) as Record<string, unknown>,
      JSON.parse(JSON.stringify(base).replace('{', '{"__proto__":{"PROTOCOL":1},')) as Record<string, unknown>,
      Object.assign(Object.create(null) as Record<string, unknown>, base),
    ];
    for (const [i, record] of records.entries()) {
      const byAjv = socket.ajv(record) as boolean;
      if (socket.fast!(record)) expect(byAjv, `record ${i}`).toBe(true);
      expect(socket(record), `record ${i}`).toBe(byAjv);
    }
    expect(socket(records[0])).toBe(false);
    expect(socket(records[1])).toBe(false);
    // A plain record is the fast path's own, however it was built.
    expect(socket.fast!(records[4])).toBe(true);
  });

  it('accepts a name longer in UTF-16 units than in code points (ajv decides)', () => {
    const record = { ...fixture('ebpflowexport-connect-docker'), INTERFACE_NAME: '😀'.repeat(40) };
    expect(socket.fast!(record)).toBe(false);
    expect(socket(record)).toBe(true);
  });

  it('leaves to ajv alone a schema with a keyword it does not handle', () => {
    expect(compileSchemaCheck({ type: 'object', additionalProperties: false }, {})).toBeUndefined();
    expect(compileSchemaCheck({ type: ['string', 'number'] }, {})).toBeUndefined();
    expect(compileSchemaCheck({ oneOf: [{ type: 'integer' }, { type: 'number' }] }, {})).toBeUndefined();
    expect(compileSchemaCheck({ type: 'string', format: 'hostname' }, {})).toBeUndefined();
    expect(validators['listening-ports'].fast).toBeUndefined();
    expect(validators['listening-ports'](fixture('listening-ports'))).toBe(true);
  });
});
