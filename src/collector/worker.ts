// The receive loop of one ZMQ interface, in its own thread (like ntopng: one ZMQ
// interface, one thread). It waits in libzmq, runs the ingest pipeline and posts
// batches of normalised events to the main thread. The hand-off is bounded: when
// the main thread falls behind, batches are dropped and counted, never queued forever.
// With decode threads (--decode-threads > 1), it only receives: each message goes
// whole into the shared-memory ring of the decode thread its source belongs to
// (decode-worker.ts), which ingests it and posts the batches itself.
import { parentPort, workerData } from 'node:worker_threads';
import { needsIpv6, parseEndpoints, type ZmqEndpoint } from './endpoint.ts';
import { HEADER_KEPT, RingWriter } from './frame-ring.ts';
import { HandoffSender } from './handoff-sender.ts';
import { shardOf } from './shard.ts';
import { Ingest, TOPICS } from './ingest.ts';
import { MessageBatch } from '../native/zmq-batch.ts';
import { MonitorSocket, Poller, SubSocket, ZMQ_DONTWAIT, ZMQ_IPV6, ZMQ_MAXMSGSIZE, ZMQ_RCVHWM, ZMQ_RCVTIMEO, ZmqContext, ZmqError } from '../native/libzmq.ts';
import { ConnectionCounts, MONITORED_EVENTS } from './connections.ts';
import { CONTROL, type WorkerConfig, type WorkerMessage } from './worker-protocol.ts';

const NO_BYTES = Buffer.alloc(0);
const ENODEV = 19;
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

function run(inputs: Input[], ingest: Ingest): void {
  const headerBuf = Buffer.alloc(HEADER_KEPT);
  const payloadBuf = Buffer.alloc(config.maxPayloadBytes + 1);
  const rings = (config.decodeRings ?? []).map((r) => new RingWriter(r));
  // With decode threads, they hand events over: this thread's hand-off stays unused (bound 0).
  const sender = new HandoffSender({ control, maxInflight: rings.length > 0 ? 0 : config.maxInflightBatches, ingest, post, where: config.endpoints });
  const stopping = () => Atomics.load(control, CONTROL.stop) !== 0;
  let now = Date.now();

  /** Receives and ingests one whole multipart message; false when none was waiting. */
  const receive = ({ endpoint, socket }: Input, _index: number, flags: number): boolean => {
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
    ingestOne(frames, endpoint.spec, header.peer);
    return true;
  };

  /** Runs the ingest pipeline on one whole message, whose frames it is done with when it returns. */
  const ingestOne = (frames: Buffer[], endpoint: string, peer: string | undefined): void => {
    sender.before(now);
    try {
      ingest.message(frames, endpoint, peer, sender.batch, now);
    } catch (err) {
      // Input must never stop the receive loop, not even through a bug of ours.
      ingest.reject('internal-error', '', endpoint, (err as Error).stack ?? String(err), frames[1], now);
    }
    sender.after(now);
  };

  /**
   * With decode threads: receives one whole message straight into the ring of the
   * decode thread its source belongs to (shard.ts); false when none was waiting.
   */
  const forward = ({ endpoint, socket }: Input, index: number, flags: number): boolean => {
    const header = socket.recvWithPeer(headerBuf, flags);
    if (!header) return false;
    const ring = ringFor(headerBuf, header.size, header.peer, index);
    const area = ring ? ring.begin(index, headerBuf, header.size, header.peer, payloadBuf.length) : payloadBuf;
    let frames = 1;
    let payloadSize = 0;
    for (let more = header.more; more; more = socket.more()) {
      const m = socket.recvInto(frames === 1 ? area : payloadBuf);
      if (m < 0) break;
      if (frames === 1) payloadSize = m;
      frames++;
    }
    if (ring) ring.commit(frames, payloadSize, Math.min(payloadSize, payloadBuf.length));
    else leftUndecoded(endpoint);
    return true;
  };

  /** Counts a message received while stopping with no room in its decode thread's ring. */
  const leftUndecoded = (endpoint: ZmqEndpoint) => ingest.reject('handoff-full', '', endpoint.spec, 'stopping: a message left undecoded', undefined, Date.now());

  /**
   * The ring of the decode thread this message's source belongs to (shard.ts), with room
   * reserved for the largest message; undefined when stopping and there is none.
   */
  const ringFor = (header: Buffer, headerSize: number, peer: string | undefined, index: number): RingWriter | undefined => {
    const ring = rings[shardOf(header, headerSize, peer, index, rings.length)];
    // No room: the decode thread is behind; libzmq queues meanwhile (its receive high-water mark).
    let open = ring.reserve(payloadBuf.length);
    while (!open && !stopping()) {
      ring.waitForRoom(RECEIVE_TIMEOUT_MS);
      open = ring.reserve(payloadBuf.length);
    }
    return open ? ring : undefined;
  };

  /** With decode threads: the messages queued on one socket, many per native call, each copied into its ring. */
  const forwardBatch = ({ endpoint, socket }: Input, index: number, b: MessageBatch): void => {
    const n = b.receive(socket);
    for (let k = 0; k < n; k++) {
      const frames = b.frames(k);
      const size = b.sizes(k);
      const peer = b.peer(k);
      const ring = ringFor(frames[0], size.header, peer, index);
      if (!ring) {
        leftUndecoded(endpoint);
        continue;
      }
      const area = ring.begin(index, frames[0], size.header, peer, payloadBuf.length);
      const stored = frames.length > 1 ? frames[1].copy(area) : 0;
      ring.commit(size.frames, size.payload, stored);
    }
  };
  const take = rings.length > 0 ? forward : receive;

  // Messages come many per native call when flowbridge's library is built.
  const batch = MessageBatch.open(FAIR_SHARE, HEADER_KEPT, payloadBuf.length);
  /** Receives and ingests the messages queued on one socket, up to FAIR_SHARE. */
  const receiveBatch = ({ endpoint, socket }: Input, b: MessageBatch): void => {
    const n = b.receive(socket);
    if (n > 0) now = Date.now();
    for (let k = 0; k < n; k++) ingestOne(b.frames(k), endpoint.spec, b.peer(k));
  };

  /** Counts what the socket monitor saw; a producer libzmq cut mid-frame is an oversize frame. */
  const monitorEvents = ({ endpoint, monitor, connections }: Input) => {
    for (let e = monitor.next(); e; e = monitor.next()) {
      if (connections.seen(e) === 'oversize') {
        ingest.reject('oversize', '', endpoint.spec, `a frame over libzmq's ${config.maxFrameBytes}-byte guard (ZMQ_MAXMSGSIZE): libzmq closed the producer's connection`, undefined, Date.now());
      }
    }
  };
  const connections = () => ({ connections: Object.fromEntries(inputs.map((i) => [i.endpoint.spec, { ...i.connections.counts }])) });

  // Every SUB socket, then every monitor: one wait covers data and connection events.
  const poller = new Poller([...inputs.map((i) => i.socket), ...inputs.map((i) => i.monitor)]);
  while (!stopping()) {
    if (Atomics.load(control, CONTROL.fail) === 1) throw new Error('told to fail (fault injection)');
    const idle = poller.wait(RECEIVE_TIMEOUT_MS) === 0;
    for (let i = 0; !idle && i < inputs.length; i++) {
      if (poller.readable(i)) {
        if (batch && rings.length > 0) forwardBatch(inputs[i], i, batch);
        else if (batch) receiveBatch(inputs[i], batch);
        else for (let k = 0; k < FAIR_SHARE && take(inputs[i], i, ZMQ_DONTWAIT); k++);
      }
      if (poller.readable(inputs.length + i)) monitorEvents(inputs[i]);
    }
    now = Date.now();
    sender.tick(now, idle, connections);
  }
  for (const input of inputs) monitorEvents(input);
  sender.stats(Date.now(), connections);
}

const ctx = new ZmqContext();
const ingest = new Ingest(config.interfaceId, config.maxPayloadBytes);
let inputs: Input[] | undefined;
try {
  inputs = open(ctx);
  post({ type: 'ready' });
} catch (err) {
  post({ type: 'error', message: (err as Error).message });
}
try {
  if (inputs) run(inputs, ingest);
} finally {
  // Also when the thread dies: the native scanner's memory is not the isolate's, and the supervisor starts a new thread.
  ingest.close();
  for (const input of inputs ?? []) input.connections.close();
  ctx.term();
}
