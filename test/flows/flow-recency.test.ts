// The flow table's eviction order: least recently used out first, bounded, every removal told with its reason.
import { expect, it } from 'vitest';
import { RecencyList, type RemovalReason } from '../../src/flows/flow-recency.ts';

interface Entry { name: string; newer: Entry | undefined; older: Entry | undefined }
const entry = (name: string): Entry => ({ name, newer: undefined, older: undefined });

it('keeps entries in the order they were last used, evicts the least recent when full, and tells why each left', () => {
  const removed: [string, RemovalReason][] = [];
  const list = new RecencyList<Entry>(3, (v, reason) => {
    // A removed entry is out of the list: nothing reaches the rest of it through it.
    expect([v.newer, v.older]).toEqual([undefined, undefined]);
    removed.push([v.name, reason]);
  });
  const [a, b, c, d] = ['a', 'b', 'c', 'd'].map(entry);
  for (const e of [a, b, c]) list.add(e);
  const newestFirst = () => { const names: string[] = []; list.forEach((v) => names.push(v.name)); return names; };
  expect(newestFirst()).toEqual(['c', 'b', 'a']);
  list.touch(a);
  expect(newestFirst()).toEqual(['a', 'c', 'b']);
  expect([...list.oldestFirst()].map((v) => v.name)).toEqual(['b', 'c', 'a']);
  list.add(d);
  expect(removed).toEqual([['b', 'evict']]);
  expect(list.size).toBe(3);
  list.touch(c);
  expect(newestFirst()).toEqual(['c', 'd', 'a']);
  list.remove(d);
  expect(removed.at(-1)).toEqual(['d', 'delete']);
  // What is not in the list is not taken twice, and nothing else moves.
  list.remove(d);
  list.remove(b);
  expect(removed).toHaveLength(2);
  expect(list.size).toBe(2);
  expect(newestFirst()).toEqual(['c', 'a']);
  expect([...list.oldestFirst()].map((v) => v.name)).toEqual(['a', 'c']);
  list.remove(a);
  list.remove(c);
  expect(newestFirst()).toEqual([]);
  expect([...list.oldestFirst()]).toEqual([]);
  list.add(b);
  expect(newestFirst()).toEqual(['b']);
  expect(() => new RecencyList<Entry>(0, () => {})).toThrow(/at least 1/);
});
