// The receive loop of one ZMQ interface, in its own thread (like ntopng: one ZMQ
// interface, one thread). It blocks in libzmq, runs the ingest pipeline and posts
// batches of normalised events to the main thread. The hand-off is bounded: when
// the main thread falls behind, batches are dropped and counted, never queued forever.
import { parentPort, workerData } from 'node:worker_threads';
import { needsIpv6, parseEndpoints, type ZmqEndpoint } from './endpoint.ts';
import { BatchPacker, transferListOf } from './handoff.ts';
import { Ingest, TOPICS } from './ingest.ts';
import { MonitorSocket, Poller, SubSocket, ZMQ_DONTWAIT, ZMQ_IPV6, ZMQ_MAXMSGSIZE, ZMQ_RCVHWM, ZMQ_RCVTIMEO, ZmqContext, ZmqError } from '../native/libzmq.ts';
import { ConnectionCounts, MONITORED_EVENTS } from './connections.ts';
import { CONTROL, type WorkerConfig, type WorkerMessage } from './worker-protocol.ts';

const NO_BYTES = Buffer.alloc(0);
const ENODEV = 19;
const BATCH_EVENTS = 512;
const BATCH_MAX_AGE_MS = 5;
const STATS_EVERY_MS = 250;
/** How long a receive waits before the loop looks at its control flags (and flushes a partial batch). */
const RECEIVE_TIMEOUT_MS = 20;
/** With several endpoints: messages taken from one socket before the next gets its turn. */
const FAIR_SHARE = 64;

const config = workerData as WorkerConfig;
const control = new Int32Array(config.control);
const port = parentPort!;
const post = (m: WorkerMessage, transfer?: ArrayBuffer[]) => port.postMessage(m, transfer);

/** One endpoint of the interface, the SUB socket that reads it and the monitor of its connections. */
interface Input {
  endpoint: ZmqEndpoint;
  socket: SubSocket;
  monitor: MonitorSocket;
  connections: ConnectionCounts;
}

function open(ctx: ZmqContext): Input[] {
  return parseEndpoints(config.endpoints).map((endpoint) => {
    const socket = ctx.subSocket();
    socket.setInt(ZMQ_RCVTIMEO, RECEIVE_TIMEOUT_MS, 'ZMQ_RCVTIMEO');
    socket.setInt(ZMQ_RCVHWM, config.receiveHwm, 'ZMQ_RCVHWM');
    // A memory guard: libzmq disconnects a peer sending a larger frame. Frames between
    // the payload limit and this are received and counted as 'oversize'.
    socket.setInt64(ZMQ_MAXMSGSIZE, config.maxFrameBytes, 'ZMQ_MAXMSGSIZE');
    if (needsIpv6(endpoint)) socket.setInt(ZMQ_IPV6, 1, 'ZMQ_IPV6');
    if (config.curveSecretKey) socket.curveServer(config.curveSecretKey);
    for (const topic of TOPICS) socket.subscribe(topic);
    // Before bind/connect, so that no connection goes unseen.
    const monitor = ctx.monitor(socket, MONITORED_EVENTS);
    try {
      if (endpoint.mode === 'bind') socket.bind(endpoint.address);
      else socket.connect(endpoint.address);
    } catch (err) {
      const why = err instanceof ZmqError ? err.reason : (err as Error).message;
      // libzmq binds to an address, '*' or an interface name, never to a host name.
      const hint = err instanceof ZmqError && err.errno === ENODEV && endpoint.mode === 'bind' ? ' (bind to an IP address, * or an interface name)' : '';
      throw new Error(`cannot ${endpoint.mode} ${endpoint.spec}: ${why}${hint}`);
    }
    return { endpoint, socket, monitor, connections: new ConnectionCounts() };
  });
}

function run(inputs: Input[]): void {
  const ingest = new Ingest(config.interfaceId, config.maxPayloadBytes);
  const headerBuf = Buffer.alloc(64);
  const payloadBuf = Buffer.alloc(config.maxPayloadBytes + 1);
  const batch = new BatchPacker();
  let batchStarted = 0;
  let lastStats = 0;
  let now = Date.now();
  let droppedBatches = 0;

  const flush = () => {
    if (batch.count === 0) return;
    if (Atomics.load(control, CONTROL.inflight) >= config.maxInflightBatches) {
      ingest.reject('handoff-full', 'flow', config.endpoints, `${batch.count} events dropped: dispatch is ${config.maxInflightBatches} batches behind`, undefined, now, batch.count);
      batch.clear();
      droppedBatches++;
    } else {
      Atomics.add(control, CONTROL.inflight, 1);
      const packed = batch.take();
      post({ type: 'events', batch: packed }, transferListOf(packed));
    }
  };

  const handoff = () => ({ size: Atomics.load(control, CONTROL.inflight), max: config.maxInflightBatches, dropped: droppedBatches });

  /** Receives and ingests one whole multipart message; false when none was waiting. */
  const receive = ({ endpoint, socket }: Input, flags: number): boolean => {
    // The header frame comes with the sender's address: v0 headers carry no source id,
    // so their producers are told apart by connection.
    const header = socket.recvWithPeer(headerBuf, flags);
    if (!header) return false;
    now = Date.now();
    // Drain the whole multipart message whatever it holds; judge it afterwards.
    // A frame longer than its buffer arrives truncated, and its length says so.
    // Frames are views of the receive buffers: ingest is done with them before the next receive.
    const frames: Buffer[] = [headerBuf.subarray(0, Math.min(header.size, headerBuf.length))];
    for (let more = header.more; more; more = socket.more()) {
      const m = socket.recvInto(payloadBuf);
      if (m < 0) break;
      // Only the payload frame is kept; further frames only count.
      frames.push(frames.length === 1 ? payloadBuf.subarray(0, Math.min(m, payloadBuf.length)) : NO_BYTES);
    }
    if (batch.count === 0) batchStarted = now;
    try {
      ingest.message(frames, endpoint.spec, header.peer, batch, now);
    } catch (err) {
      // Input must never stop the receive loop, not even through a bug of ours.
      ingest.reject('internal-error', '', endpoint.spec, (err as Error).stack ?? String(err), frames[1], now);
    }
    if (batch.count >= BATCH_EVENTS) flush();
    return true;
  };

  /** Counts what the socket monitor saw; a producer libzmq cut mid-frame is an oversize frame. */
  const monitorEvents = ({ endpoint, monitor, connections }: Input) => {
    for (let e = monitor.next(); e; e = monitor.next()) {
      if (connections.seen(e) === 'oversize') {
        ingest.reject('oversize', '', endpoint.spec, `a frame over libzmq's ${config.maxFrameBytes}-byte guard (ZMQ_MAXMSGSIZE): libzmq closed the producer's connection`, undefined, Date.now());
      }
    }
  };
  const connections = () => Object.fromEntries(inputs.map((i) => [i.endpoint.spec, { ...i.connections.counts }]));
  const snapshot = () => ({ ...ingest.stats(now, handoff()), connections: connections() });

  // Every SUB socket, then every monitor: one wait covers data and connection events.
  const poller = new Poller([...inputs.map((i) => i.socket), ...inputs.map((i) => i.monitor)]);
  while (Atomics.load(control, CONTROL.stop) === 0) {
    if (Atomics.load(control, CONTROL.fail) === 1) throw new Error('told to fail (fault injection)');
    const idle = poller.wait(RECEIVE_TIMEOUT_MS) === 0;
    for (let i = 0; !idle && i < inputs.length; i++) {
      if (poller.readable(i)) for (let k = 0; k < FAIR_SHARE && receive(inputs[i], ZMQ_DONTWAIT); k++);
      if (poller.readable(inputs.length + i)) monitorEvents(inputs[i]);
    }
    if (idle) now = Date.now();
    if (batch.count > 0 && (idle || now - batchStarted >= BATCH_MAX_AGE_MS)) flush();
    if (now - lastStats >= STATS_EVERY_MS || Atomics.exchange(control, CONTROL.statsRequested, 0) === 1) {
      flush();
      lastStats = now;
      post({ type: 'stats', stats: snapshot() });
    }
  }
  now = Date.now();
  flush();
  for (const input of inputs) monitorEvents(input);
  post({ type: 'stats', stats: snapshot() });
}

const ctx = new ZmqContext();
let inputs: Input[] | undefined;
try {
  inputs = open(ctx);
  post({ type: 'ready' });
} catch (err) {
  post({ type: 'error', message: (err as Error).message });
}
try {
  if (inputs) run(inputs);
} finally {
  for (const input of inputs ?? []) input.connections.close();
  ctx.term();
}
