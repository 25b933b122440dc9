// Which decode thread a message goes to: always the same one for the same source, so
// that each source's messages are decoded in the order they arrived and its msg_id
// accounting (sources.ts) sees every message of it. A source is what the header names
// (source_id of v1–v3 layouts, by header length as wire-format.md lays them out), or,
// for v0 headers, which carry none, the producer's connection (its peer address).

export function shardOf(header: Buffer, headerSize: number, peer: string | undefined, endpoint: number, shards: number): number {
  if (shards === 1) return 0;
  let key: number;
  if (headerSize === 24 && header.length >= 24) key = header[17];
  else if (headerSize === 28 && header.length >= 28) key = header.readUInt32LE(24);
  else if (headerSize === 36 && header.length >= 36) key = header.readUInt32LE(32);
  else key = hash(peer ?? '');
  // Mix in the endpoint (a source id names a producer per endpoint) and spread the bits.
  key = Math.imul((key ^ (endpoint << 24)) >>> 0, 0x9e3779b1) >>> 0;
  return (key >>> 16) % shards;
}

function hash(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h >>> 0;
}
