// Community ID v1 against the specification's own baseline (every protocol, both
// directions) and a second seed.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { addressBytes, communityId } from '../../src/model/community-id.ts';

interface Vector { proto: number; saddr: string; daddr: string; sport?: number; dport?: number; communityid: string }
const baseline = JSON.parse(readFileSync(new URL('../fixtures/community-id/baseline_deflt.json', import.meta.url), 'utf8')) as Vector[];

describe('Community ID', () => {
  it('gives every baseline vector of the spec (seed 0), in both directions', () => {
    expect(baseline.length).toBeGreaterThan(20);
    expect(new Set(baseline.map((v) => v.proto))).toEqual(new Set([1, 6, 17, 46, 58, 132]));
    for (const v of baseline) {
      expect(communityId(v.proto, v.saddr, v.sport ?? 0, v.daddr, v.dport ?? 0), JSON.stringify(v)).toBe(v.communityid);
    }
  });

  it('takes a seed', () => {
    expect(communityId(6, '1.2.3.4', 1122, '5.6.7.8', 3344)).toBe('1:wCb3OG7yAFWelaUydu0D+125CLM=');
    expect(communityId(6, '1.2.3.4', 1122, '5.6.7.8', 3344, 1)).toBe('1:HhA1B+6CoLbiKPEs5nhNYN4XWfk=');
    expect(communityId(6, '5.6.7.8', 3344, '1.2.3.4', 1122, 1)).toBe('1:HhA1B+6CoLbiKPEs5nhNYN4XWfk=');
  });

  it('reads addresses the way the wire has them', () => {
    expect(addressBytes('10.0.0.1')).toEqual(Buffer.from([10, 0, 0, 1]));
    expect(addressBytes('::1')).toEqual(Buffer.from([...Array(15).fill(0), 1]));
    expect(addressBytes('::ffff:127.0.0.1')).toEqual(Buffer.from([...Array(10).fill(0), 255, 255, 127, 0, 0, 1]));
    expect(addressBytes('fd00:10:244::7')!.toString('hex')).toBe('fd000010024400000000000000000007');
    expect(addressBytes('1::2::3')).toBeUndefined();
    expect(addressBytes('banana')).toBeUndefined();
  });
});
