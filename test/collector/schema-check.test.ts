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
import { FLOW_FIXTURES, mutated } from './mutations.ts';

const SEED = Number(process.env.FUZZ_SEED ?? 20261202);
const VARIANTS = 20_000;

const validators = compileValidators();
const socket = validators['socket-event'];

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
