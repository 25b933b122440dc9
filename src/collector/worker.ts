// The receive loop of one ZMQ interface, in its own thread (like ntopng: one ZMQ
// interface, one thread). It blocks in libzmq, runs the ingest pipeline and posts
// batches of normalised events to the main thread. The hand-off is bounded: when
// the main thread falls behind, batches are dropped and counted, never queued forever.
import { parentPort, workerData } from 'node:worker_threads';
import { parseEndpoints } from './endpoint.ts';
import { BatchPacker, transferListOf } from './handoff.ts';
import { Ingest, TOPICS } from './ingest.ts';
import { SubSocket, ZMQ_MAXMSGSIZE, ZMQ_RCVHWM, ZMQ_RCVTIMEO } from './libzmq.ts';
import { CONTROL, type WorkerConfig, type WorkerMessage } from './worker-protocol.ts';

const NO_BYTES = Buffer.alloc(0);
const BATCH_EVENTS = 512;
const BATCH_MAX_AGE_MS = 5;
const STATS_EVERY_MS = 250;
/** How long a blocking receive waits before the loop looks at its control flags. */
const RECEIVE_TIMEOUT_MS = 20;

const config = workerData as WorkerConfig;
const control = new Int32Array(config.control);
const port = parentPort!;
const post = (m: WorkerMessage, transfer?: ArrayBuffer[]) => port.postMessage(m, transfer);

function open(): SubSocket {
  const socket = new SubSocket();
  try {
    socket.setInt(ZMQ_RCVTIMEO, RECEIVE_TIMEOUT_MS, 'ZMQ_RCVTIMEO');
    socket.setInt(ZMQ_RCVHWM, config.receiveHwm, 'ZMQ_RCVHWM');
    // A memory guard: libzmq disconnects a peer sending a larger frame. Frames between
    // the payload limit and this are received and counted as 'oversize'.
    socket.setInt64(ZMQ_MAXMSGSIZE, config.maxFrameBytes, 'ZMQ_MAXMSGSIZE');
    if (config.curveSecretKey) socket.curveServer(config.curveSecretKey);
    for (const topic of TOPICS) socket.subscribe(topic);
    for (const e of parseEndpoints(config.endpoints)) {
      if (e.mode === 'bind') socket.bind(e.address);
      else socket.connect(e.address);
    }
    return socket;
  } catch (err) {
    socket.close();
    throw err;
  }
}

function run(socket: SubSocket): void {
  const ingest = new Ingest(config.interfaceId, config.maxPayloadBytes);
  const endpoint = config.endpoints;
  const headerBuf = Buffer.alloc(64);
  const payloadBuf = Buffer.alloc(config.maxPayloadBytes + 1);
  const batch = new BatchPacker();
  let batchStarted = 0;
  let lastStats = 0;

  const flush = (now: number) => {
    if (batch.count === 0) return;
    if (Atomics.load(control, CONTROL.inflight) >= config.maxInflightBatches) {
      ingest.reject('handoff-full', 'flow', endpoint, `${batch.count} events dropped: dispatch is ${config.maxInflightBatches} batches behind`, undefined, now, batch.count);
      batch.clear();
    } else {
      Atomics.add(control, CONTROL.inflight, 1);
      const packed = batch.take();
      post({ type: 'events', batch: packed }, transferListOf(packed));
    }
  };

  while (Atomics.load(control, CONTROL.stop) === 0) {
    // The header frame comes with the sender's address: v0 headers carry no source id,
    // so their producers are told apart by connection.
    const header = socket.recvWithPeer(headerBuf);
    const n = header ? header.size : -1;
    const now = Date.now();
    if (header) {
      // Drain the whole multipart message whatever it holds; judge it afterwards.
      // A frame longer than its buffer arrives truncated, and its length says so.
      const frames: Buffer[] = [Buffer.from(headerBuf.subarray(0, Math.min(n, headerBuf.length)))];
      while (socket.more()) {
        const m = socket.recvInto(payloadBuf);
        if (m < 0) break;
        // Only the payload frame is kept; further frames only count.
        frames.push(frames.length === 1 ? payloadBuf.subarray(0, Math.min(m, payloadBuf.length)) : NO_BYTES);
      }
      if (batch.count === 0) batchStarted = now;
      try {
        ingest.message(frames, endpoint, header.peer, batch, now);
      } catch (err) {
        // Input must never stop the receive loop, not even through a bug of ours.
        ingest.reject('internal-error', '', endpoint, (err as Error).stack ?? String(err), frames[1], now);
      }
    }
    if (batch.count >= BATCH_EVENTS || (batch.count > 0 && (n < 0 || now - batchStarted >= BATCH_MAX_AGE_MS))) flush(now);
    if (now - lastStats >= STATS_EVERY_MS || Atomics.exchange(control, CONTROL.statsRequested, 0) === 1) {
      flush(now);
      lastStats = now;
      post({ type: 'stats', stats: ingest.stats(now) });
    }
  }
  flush(Date.now());
  post({ type: 'stats', stats: ingest.stats() });
}

let socket: SubSocket | undefined;
try {
  socket = open();
  post({ type: 'ready' });
} catch (err) {
  post({ type: 'error', message: (err as Error).message });
}
if (socket) {
  try {
    run(socket);
  } finally {
    socket.close();
  }
}
