// One decode thread of a ZMQ interface (--decode-threads > 1): reads the messages the
// receive thread put in its ring (frame-ring.ts), in arrival order, runs the ingest
// pipeline on them and posts batches of normalised events to the main thread through
// its own bounded hand-off. Every message of a source comes to the same decode thread
// (shard.ts), so its order and its msg_id accounting are exactly those of one thread.
import { parentPort, workerData } from 'node:worker_threads';
import { parseEndpoints } from './endpoint.ts';
import { RingReader } from './frame-ring.ts';
import { HandoffSender } from './handoff-sender.ts';
import { Ingest } from './ingest.ts';
import { CONTROL, type DecodeConfig, type WorkerMessage } from './worker-protocol.ts';

const NO_BYTES = Buffer.alloc(0);
/** How long an empty ring is waited on before the loop looks at its flags (and flushes a partial batch). */
const WAIT_MS = 20;

const config = workerData as DecodeConfig;
const control = new Int32Array(config.control);
const port = parentPort!;
const post = (m: WorkerMessage, transfer?: ArrayBuffer[]) => port.postMessage(m, transfer);
const endpoints = parseEndpoints(config.endpoints).map((e) => e.spec);
const ring = new RingReader(config.ring);
const ingest = new Ingest(config.interfaceId, config.maxPayloadBytes);
const sender = new HandoffSender({ control, maxInflight: config.maxInflightBatches, ingest, post, where: config.endpoints });

post({ type: 'ready' });
try {
  // Stops once asked to and the ring is empty (the receive thread has stopped first).
  for (;;) {
    if (Atomics.load(control, CONTROL.fail) === 1) throw new Error('told to fail (fault injection)');
    const r = ring.next();
    const now = Date.now();
    if (!r) {
      sender.tick(now, true);
      if (Atomics.load(control, CONTROL.stop) !== 0) break;
      ring.waitForRecord(WAIT_MS);
      continue;
    }
    const frames = r.frameCount <= 1 ? [r.header] : [r.header, r.payload];
    for (let k = 2; k < r.frameCount; k++) frames.push(NO_BYTES);
    const endpoint = endpoints[r.endpoint] ?? config.endpoints;
    sender.before(now);
    try {
      ingest.message(frames, endpoint, r.peer, sender.batch, now);
    } catch (err) {
      // Input must never stop the decode loop, not even through a bug of ours.
      ingest.reject('internal-error', '', endpoint, (err as Error).stack ?? String(err), r.payload, now);
    }
    ring.release();
    sender.after(now);
    sender.tick(now, false);
  }
  sender.stats(Date.now());
} finally {
  // Also when the thread dies: the native scanner's memory is not the isolate's.
  ingest.close();
}
