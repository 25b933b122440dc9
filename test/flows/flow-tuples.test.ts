// Flows found by tuple without a key string: every field compared, an untagged flow before a
// VLAN-tagged one, and flows whose tuples hash alike kept apart.
import { expect, it } from 'vitest';
import { newFlow, type Flow } from '../../src/flows/flow-entry.ts';
import { TupleIndex, tupleHash } from '../../src/flows/flow-tuples.ts';

const flow = (aIp: string, aPort: number, bIp: string, bPort: number, o: { protocol?: number; vlan?: number } = {}): Flow => {
  const protocol = o.protocol ?? 6;
  const tuple = `${protocol}|${aIp}|${aPort}|${bIp}|${bPort}`;
  return newFlow({ key: o.vlan === undefined ? tuple : `${tuple}|${o.vlan}`, tuple, protocol, ipVersion: 4, vlan: o.vlan, aIp, aPort, bIp, bPort, clientIsA: true, orientedBy: 'event', firstSeen: 0 });
};

it('finds a flow by every field of its tuple, the untagged one first, and forgets removed ones', () => {
  const index = new TupleIndex();
  const tagged42 = flow('10.0.0.1', 40000, '10.0.0.2', 53, { vlan: 42 });
  const tagged7 = flow('10.0.0.1', 40000, '10.0.0.2', 53, { vlan: 7 });
  const untagged = flow('10.0.0.1', 40000, '10.0.0.2', 53);
  const udp = flow('10.0.0.1', 40000, '10.0.0.2', 53, { protocol: 17 });
  index.add(tagged42);
  expect(index.find(6, '10.0.0.1', 40000, '10.0.0.2', 53)).toBe(tagged42);
  index.add(tagged7);
  expect(index.find(6, '10.0.0.1', 40000, '10.0.0.2', 53)).toBe(tagged7);
  index.add(untagged);
  index.add(udp);
  expect(index.find(6, '10.0.0.1', 40000, '10.0.0.2', 53)).toBe(untagged);
  expect(index.find(17, '10.0.0.1', 40000, '10.0.0.2', 53)).toBe(udp);
  expect(index.find(6, '10.0.0.1', 40001, '10.0.0.2', 53)).toBeUndefined();
  expect(index.find(6, '10.0.0.2', 40000, '10.0.0.1', 53)).toBeUndefined();
  expect(index.find(6, '10.0.0.1', 40000, '10.0.0.2', 54)).toBeUndefined();
  // Packets ask for their VLAN exactly.
  expect(index.findExact(6, '10.0.0.1', 40000, '10.0.0.2', 53, 42)).toBe(tagged42);
  expect(index.findExact(6, '10.0.0.1', 40000, '10.0.0.2', 53, undefined)).toBe(untagged);
  expect(index.findExact(6, '10.0.0.1', 40000, '10.0.0.2', 53, 8)).toBeUndefined();
  index.remove(untagged);
  expect(index.find(6, '10.0.0.1', 40000, '10.0.0.2', 53)).toBe(tagged7);
  index.remove(tagged7);
  index.remove(tagged42);
  expect(index.find(6, '10.0.0.1', 40000, '10.0.0.2', 53)).toBeUndefined();
  // Removing what is not there changes nothing.
  index.remove(tagged42);
  expect(index.find(17, '10.0.0.1', 40000, '10.0.0.2', 53)).toBe(udp);
});

it('keeps flows whose tuples hash alike apart', () => {
  // Two tuples with one 32-bit hash, found by trying addresses (a collision is expected within ~80 000).
  const ip = (i: number) => `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
  const seen = new Map<number, number>();
  let pair: [number, number] | undefined;
  for (let i = 0; !pair && i < 1 << 22; i++) {
    const h = tupleHash(6, ip(i), 40000, '198.51.100.1', 443);
    const other = seen.get(h);
    if (other !== undefined) pair = [other, i];
    else seen.set(h, i);
  }
  expect(pair).toBeDefined();
  const [x, y] = pair!.map((i) => flow(ip(i), 40000, '198.51.100.1', 443));
  const index = new TupleIndex();
  index.add(x);
  index.add(y);
  expect(index.find(6, x.aIp, 40000, '198.51.100.1', 443)).toBe(x);
  expect(index.find(6, y.aIp, 40000, '198.51.100.1', 443)).toBe(y);
  index.remove(x);
  expect(index.find(6, x.aIp, 40000, '198.51.100.1', 443)).toBeUndefined();
  expect(index.find(6, y.aIp, 40000, '198.51.100.1', 443)).toBe(y);
});
