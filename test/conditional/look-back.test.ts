// The look-back ring: bounded by bytes, age and count; a flow's packets come out once,
// oldest first, byte for byte, across wrap-arounds.
import { expect, it } from 'vitest';
import { LookBack } from '../../src/conditional/look-back.ts';

function record(tag: string, length: number): Buffer {
  const b = Buffer.alloc(16 + length, 0x61);
  b.writeUInt32LE(length, 8);
  b.write(tag, 16);
  return b;
}

it('keeps the most recent packets within its bytes, hands a flow\'s out once and in order', () => {
  const lb = new LookBack(4096, 10_000);
  const sent: { key: string; tag: string; len: number }[] = [];
  for (let i = 0; i < 400; i++) {
    const key = i % 3 === 0 ? 'A' : 'B';
    const len = 60 + ((i * 37) % 300);
    const tag = `${key}${i}:`;
    sent.push({ key, tag, len });
    lb.add(record(tag, len), 0, len, len, 1000 + i, key);
    expect(lb.bytes).toBeLessThanOrEqual(4096);
  }
  const got: string[] = [];
  lb.take('A', (p) => got.push(lb.memory.subarray(p.at + 16, p.at + 16 + p.caplen).toString('latin1').split(':')[0] + ':'));
  // The newest of A are there, in order, ending with the last A sent; nothing of B.
  const lastA = sent.filter((s) => s.key === 'A').map((s) => s.tag);
  expect(got.length).toBeGreaterThan(0);
  expect(got).toEqual(lastA.slice(lastA.length - got.length));
  expect(lb.take('A', () => {})).toBe(0);
  expect(lb.evicted).toBeGreaterThan(0);
});

it('forgets packets older than its age', () => {
  const lb = new LookBack(1 << 20, 2_000);
  lb.add(record('old', 100), 0, 100, 100, 1_000, 'F');
  lb.add(record('new', 100), 0, 100, 100, 5_000, 'F');
  const got: number[] = [];
  lb.take('F', (p) => got.push(p.tsMs));
  expect(got).toEqual([5_000]);
});
