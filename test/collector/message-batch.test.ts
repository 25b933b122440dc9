// Whole ZMQ messages many per native call (native/zmq-receive.c, MessageBatch), over
// real sockets: each message arrives as it was sent, frame for frame, with the
// sender's address for v0 headers only, an oversize payload cut where its size shows
// it, further frames counted, and a batch never larger than asked.
import { afterEach, describe, expect, it } from 'vitest';
import { MessageBatch } from '../../src/native/zmq-batch.ts';
import { Poller, ZmqContext, type SubSocket } from '../../src/native/libzmq.ts';
import { freePort } from '../support/nats.ts';
import { encodeHeader, Producer } from '../support/producer.ts';

const HEADER_CAP = 64;
const PAYLOAD_CAP = 1001;
let cleanup: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanup.reverse()) c();
  cleanup = [];
});

async function pair(): Promise<{ producer: Producer; sub: SubSocket }> {
  const port = await freePort();
  const producer = await Producer.bind(`tcp://127.0.0.1:${port}`);
  const ctx = new ZmqContext();
  const sub = ctx.subSocket();
  sub.subscribe('');
  sub.connect(`tcp://127.0.0.1:${port}`);
  cleanup.push(() => producer.close(), () => ctx.term());
  return { producer, sub };
}

/** Receives until `count` messages arrived (libzmq delivers what the producer sent in order). */
async function receiveAll(batch: MessageBatch, sub: SubSocket, count: number, maxPerCall: number) {
  const got: { frames: Buffer[]; peer: string | undefined }[] = [];
  const poller = new Poller([sub]);
  const deadline = Date.now() + 10_000;
  while (got.length < count && Date.now() < deadline) {
    if (poller.wait(0) === 0) {
      await new Promise((r) => setTimeout(r, 5));
      continue;
    }
    const n = batch.receive(sub);
    expect(n).toBeLessThanOrEqual(maxPerCall);
    for (let k = 0; k < n; k++) got.push({ frames: batch.frames(k).map((f) => Buffer.from(f)), peer: batch.peer(k) });
  }
  return got;
}

describe('MessageBatch', () => {
  it('receives whole messages as sent, many per call', async () => {
    const batch = MessageBatch.open(16, HEADER_CAP, PAYLOAD_CAP);
    expect(batch, 'flowbridge\'s native library is built').toBeDefined();
    const { producer, sub } = await pair();
    // Through the slow joiner: probes until one arrives.
    const probe = [Buffer.from('probe')];
    for (let seen = 0; seen === 0;) {
      await producer.sendRaw(probe);
      await new Promise((r) => setTimeout(r, 20));
      seen = batch!.receive(sub);
    }
    await new Promise((r) => setTimeout(r, 100));
    while (batch!.receive(sub) > 0);

    const v0 = encodeHeader(0, 'flow', { size: 7 });
    const v3 = encodeHeader(3, 'flow', { sourceId: 9, msgId: 4 });
    const sent: Buffer[][] = [
      [v0, Buffer.from('{"a":1}')],
      [v3, Buffer.from('[{"b":2}]')],
      [v3], // a header alone
      [v3, Buffer.from('x'), Buffer.from('third'), Buffer.from('fourth')], // further frames
      [v3, Buffer.alloc(5000, 0x61)], // oversize for this batch's payload room
      [Buffer.alloc(200, 0x62), Buffer.from('p')], // a header longer than its room
      [v3, Buffer.alloc(0)], // an empty payload
    ];
    const rounds = 10;
    for (let r = 0; r < rounds; r++) for (const m of sent) await producer.sendRaw(m);
    const got = await receiveAll(batch!, sub, sent.length * rounds, 16);
    expect(got).toHaveLength(sent.length * rounds);
    for (const [i, g] of got.entries()) {
      const m = sent[i % sent.length];
      expect(g.frames.length, `message ${i}`).toBe(m.length);
      expect(g.frames[0]).toEqual(m[0].subarray(0, HEADER_CAP));
      if (m.length > 1) expect(g.frames[1]).toEqual(m[1].subarray(0, PAYLOAD_CAP));
      for (const f of g.frames.slice(2)) expect(f.length).toBe(0);
      // The sender's address only for v0 headers (40 bytes), which carry no source id.
      expect(g.peer).toBe(m[0].length === 40 ? '127.0.0.1' : undefined);
    }
    // The oversize payload is longer than any payload the pipeline accepts: its cut shows it.
    expect(got[4].frames[1].length).toBe(PAYLOAD_CAP);
  });

  it('returns 0 when nothing is queued', async () => {
    const batch = MessageBatch.open(4, HEADER_CAP, PAYLOAD_CAP)!;
    const { sub } = await pair();
    expect(batch.receive(sub)).toBe(0);
  });
});
