// The flow table's index: least recently updated out first, bounded, every removal told with its reason.
import { expect, it } from 'vitest';
import { RecencyIndex, type RemovalReason } from '../../src/flows/flow-recency.ts';

interface Entry { key: string; newer: Entry | undefined; older: Entry | undefined }
const entry = (key: string): Entry => ({ key, newer: undefined, older: undefined });

it('keeps entries in the order they were last used, evicts the least recent when full, and tells why each left', () => {
  const removed: [string, RemovalReason][] = [];
  const index = new RecencyIndex<Entry>(3, (v, key, reason) => {
    expect(v.key).toBe(key);
    // A removed entry is out of the list: nothing reaches the rest of the index through it.
    expect([v.newer, v.older]).toEqual([undefined, undefined]);
    removed.push([key, reason]);
  });
  for (const k of ['a', 'b', 'c']) index.set(entry(k));
  const newestFirst = () => { const keys: string[] = []; index.forEach((v) => keys.push(v.key)); return keys; };
  expect(newestFirst()).toEqual(['c', 'b', 'a']);
  expect(index.get('a')?.key).toBe('a');
  expect(newestFirst()).toEqual(['a', 'c', 'b']);
  // peek leaves the order alone.
  expect(index.peek('b')?.key).toBe('b');
  expect([...index.oldestFirst()].map(([k]) => k)).toEqual(['b', 'c', 'a']);
  index.set(entry('d'));
  expect(removed).toEqual([['b', 'evict']]);
  expect(index.size).toBe(3);
  expect(index.peek('b')).toBeUndefined();
  index.set(entry('c'));
  expect(removed.at(-1)).toEqual(['c', 'set']);
  expect(newestFirst()).toEqual(['c', 'd', 'a']);
  expect(index.delete('d')).toBe(true);
  expect(index.delete('d')).toBe(false);
  expect(removed.at(-1)).toEqual(['d', 'delete']);
  expect(newestFirst()).toEqual(['c', 'a']);
  expect([...index.oldestFirst()].map(([k]) => k)).toEqual(['a', 'c']);
  index.delete('a');
  index.delete('c');
  expect(newestFirst()).toEqual([]);
  expect([...index.oldestFirst()]).toEqual([]);
  index.set(entry('e'));
  expect(newestFirst()).toEqual(['e']);
  expect(() => new RecencyIndex<Entry>(0, () => {})).toThrow(/at least 1/);
});
