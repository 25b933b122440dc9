// The capture of one packet interface, in its own process: libpcap fills the kernel
// ring, packets are read in batches (capture-records.ts), decoded and aggregated per
// flow here, and the collector only applies per-flow deltas every 100 ms.
// A process rather than a worker thread: native capture code that crashes takes
// down this capture only, and the collector's event loop never waits on it.
import type { CaptureCounters } from '../model/flow-delta.ts';
import { isLoopbackDevice } from '../model/loopback-device.ts';
import type { PacketRecords } from './capture-records.ts';
import type { Pcap } from '../native/libpcap.ts';
import type { CaptureSinks } from './capture-sinks.ts';
import { PacketBatch } from './packet-batch.ts';
import { decodeFrame, decodesLinkType, FragmentPorts, newDecodedPacket } from './packet-decoder.ts';
import { neededSnaplen, type CaptureCommand, type CaptureConfig, type CaptureMessage } from './capture-protocol.ts';

const FLUSH_EVERY_MS = 100;
/** How long a live capture sleeps when the ring had nothing more. */
const POLL_IDLE_MS = 10;
/** Longest a packet waits in a partly filled ring block before it can be read. */
const RING_BLOCK_TIMEOUT_MS = 50;
/** Record memory: a live read takes ~15 K packets of a 256-byte snapshot; files may have 256 KiB ones. */
const LIVE_RECORD_BYTES = 4 * 1024 * 1024;
/** A recording reads whole packets: room for ~500 of 64 KiB, or tens of thousands of small ones. */
const RECORDING_RECORD_BYTES = 32 * 1024 * 1024;
const FILE_RECORD_BYTES = 16 * 1024 * 1024;

const config = JSON.parse(process.env.FLOWBRIDGE_CAPTURE ?? '{}') as CaptureConfig;
/** Sends `m` to the collector; once it has gone, nothing (its 'disconnect' completes the files and ends this process). */
const post = (m: CaptureMessage) => {
  // With a callback a closed channel is an error passed to it, never an 'error' event that would end this process before its files are complete.
  if (process.connected) process.send!(m, () => {});
};
/** Sends a last message, then ends this process (once it is written: large batches take a while). */
const postLast = (m: CaptureMessage) => {
  if (process.connected) process.send!(m, () => process.connected && process.disconnect());
};

/** Batches sent and not yet applied by the collector: the hand-off's fill level. */
let inflight = 0;
let stopping = false;
/** Wakes a replay waiting for room in the hand-off, or for its pace. */
let wake: (() => void) | undefined;
const stopHandlers: (() => void)[] = [];
/** Stops reading, completes the sinks' files, sends the last batch and ends. */
function stop(): void {
  if (stopping) return;
  stopping = true;
  for (const h of stopHandlers) h();
}
process.on('message', (m: CaptureCommand) => {
  if (m.type === 'applied') inflight--;
  else if (m.type === 'stop') stop();
  else if (m.type === 'sinks') {
    config.recording = m.recording;
    config.push = m.push;
    config.ondemand = m.ondemand;
    config.conditional = m.conditional;
    if (opened) void configureSinks(opened);
  } else if (m.type === 'conditional-flows') {
    sinks?.conditionalFlows(m.alerted, m.ended);
  }
  wake?.();
});
// The collector going away (killed, even) ends the capture: its files are completed first.
process.on('disconnect', () => {
  try {
    closeSinks();
  } finally {
    process.exit(0);
  }
});
// A stop of the whole process group (Ctrl-C) is the collector's to order: it sends 'stop'.
process.on('SIGINT', () => {});
// SIGTERM to this process alone ends it cleanly (files completed); the collector starts it again.
process.on('SIGTERM', stop);

const counters: CaptureCounters = { packets: 0, bytes: 0, errors: {} };
const batch = new PacketBatch(config.maxBatchFlows);
const packet = newDecodedPacket();
const fragments = new FragmentPorts();
/** The recording and push targets, once the capture is open (they need the link type). */
let sinks: CaptureSinks | undefined;
let opened: Pcap | undefined;

/** Makes the sinks the configuration asks for (loaded only when some are). */
async function configureSinks(pcap: Pcap): Promise<void> {
  if (!sinks && !config.recording && !config.push?.length && !config.ondemand && !config.conditional) return;
  if (!sinks) {
    const { CaptureSinks } = await import('./capture-sinks.ts');
    sinks ??= new CaptureSinks(pcap.dlt, pcap.snaplen, pcap.nanoseconds);
  }
  sinks.configure(config);
}
let sinksClosed = false;
/** Completes the sinks' files (once: every way this process ends comes here). */
function closeSinks(): void {
  if (sinksClosed) return;
  sinksClosed = true;
  sinks?.close();
}
let reportedOverflow = 0;
let reportedPackets = -1;
let reportedSinks = '';

/** Reports why the capture cannot run (or go on), then ends this process. */
function fail(message: string): void {
  postLast({ type: 'error', message });
}

function countError(reason: string, n = 1): void {
  counters.errors[reason] = (counters.errors[reason] ?? 0) + n;
}

/** Decodes and aggregates the records read, up to a record later than `until` (pacing). */
function consume(records: PacketRecords, dlt: number, until = Infinity): void {
  for (;;) {
    try {
      while ((until === Infinity || (records.peekTimestamp() ?? Infinity) <= until) && records.next()) {
        counters.packets++;
        counters.bytes += records.length;
        const failure = decodeFrame(records.bytes, records.offset, records.caplen, records.length, dlt, packet, fragments);
        let slot = -1;
        if (failure === undefined) slot = batch.add(records.bytes, packet, records.timestamp);
        else countError(failure);
        sinks?.add(records.bytes, records.recordOffset, records.caplen, records.length, records.timestamp, slot, batch);
      }
      return;
    } catch {
      // A bug of ours met by this packet: count it and go on with the next one.
      countError('internal-error');
    }
  }
}

/** Posts the batch unless the collector is behind: then it keeps aggregating (bounded by the batch). */
function flush(force = false): void {
  const message = takeBatch(force);
  if (message) post(message);
}

function takeBatch(force: boolean): CaptureMessage | undefined {
  // The sinks write out and rotate on the capture's clock, whether or not the collector keeps up.
  sinks?.tick();
  if (batch.overflow > reportedOverflow) {
    countError('batch-full', batch.overflow - reportedOverflow);
    reportedOverflow = batch.overflow;
  }
  if (!force && inflight >= config.maxInflightBatches) return undefined;
  // An idle interface still reports a recording that paused, resumed, rotated or logged, and push splits closing.
  const report = sinks?.report() ?? {};
  const rec = report.recording;
  const cond = report.conditional;
  const sinkNews = `${rec ? `${rec.state}|${rec.files}|${rec.deletedFiles}|${rec.log.length}|${rec.log[rec.log.length - 1]}` : ''}|${(report.push ?? []).map((p) => `${p.state}${p.files}${p.currentFile}${p.error}`).join()}|${report.ondemand ? `${report.ondemand.runId}${report.ondemand.state}${report.ondemand.pieces.length}${report.ondemand.overwritten}${report.ondemand.error}` : ''}|${cond ? `${cond.alertedFlows}|${cond.store.files}|${cond.store.deletedFiles}|${cond.store.packets}` : ''}`;
  if (!force && batch.size === 0 && counters.packets === reportedPackets && sinkNews === reportedSinks) return undefined;
  reportedPackets = counters.packets;
  reportedSinks = sinkNews;
  inflight++;
  return { type: 'batch', deltas: batch.take(), counters: { ...counters, errors: { ...counters.errors } }, ...report };
}

/** The native side, loaded here so that a missing libpcap is reported like any other reason. */
type Native = { Pcap: typeof Pcap; PacketRecords: typeof PacketRecords };

async function open(what: string, pcapOf: (native: Native) => Pcap, recordBytes: number): Promise<{ pcap: Pcap; records: PacketRecords } | undefined> {
  let pcap: Pcap | undefined;
  try {
    const native: Native = { ...(await import('../native/libpcap.ts')), ...(await import('./capture-records.ts')) };
    pcap = pcapOf(native);
    if (config.filter) pcap.setFilter(config.filter);
    if (!decodesLinkType(pcap.dlt)) {
      throw new Error(`link type ${pcap.dlt} is not supported (Ethernet, Linux cooked v1/v2, raw IP and BSD loopback are)`);
    }
    opened = pcap;
    await configureSinks(pcap);
    return { pcap, records: new native.PacketRecords(pcap, recordBytes) };
  } catch (err) {
    pcap?.close();
    fail(`${what}: ${(err as Error).message}`);
    return undefined;
  }
}

async function live(device: string): Promise<void> {
  const opened = await open(`cannot open capture on ${device}`, ({ Pcap }) => Pcap.live(device, {
    snaplen: neededSnaplen(config), bufferBytes: config.bufferBytes, promiscuous: config.promiscuous, timeoutMs: RING_BLOCK_TIMEOUT_MS,
    inboundOnly: isLoopbackDevice(device),
  }), neededSnaplen(config) > config.snaplen ? RECORDING_RECORD_BYTES : LIVE_RECORD_BYTES);
  if (!opened) return;
  const { pcap, records } = opened;
  if (stopping) {
    // Stopped while opening.
    records.close();
    pcap.close();
    process.disconnect();
    return;
  }
  let pump: NodeJS.Timeout | NodeJS.Immediate | undefined;
  const read = () => {
    const n = records.read();
    consume(records, pcap.dlt);
    if (records.failure !== undefined) {
      flush(true);
      fail(`capture on ${device} stopped: ${records.failure}`);
      return;
    }
    // A full read means more is waiting: read again right after letting messages through.
    pump = n >= records.maxPerRead ? setImmediate(read) : setTimeout(read, POLL_IDLE_MS);
  };
  const flusher = setInterval(() => {
    counters.kernelDrops = pcap.kernelDrops();
    flush();
  }, FLUSH_EVERY_MS);
  stopHandlers.push(() => {
    clearTimeout(pump as NodeJS.Timeout);
    clearImmediate(pump as NodeJS.Immediate);
    clearInterval(flusher);
    counters.kernelDrops = pcap.kernelDrops();
    records.close();
    pcap.close();
    closeSinks();
    postLast(takeBatch(true)!);
  });
  post({ type: 'ready', dlt: pcap.dlt, snaplen: pcap.snaplen });
  read();
}

const pause = (ms: number) => new Promise<void>((resolve) => {
  const timer = setTimeout(resolve, ms);
  wake = () => {
    clearTimeout(timer);
    resolve();
  };
});

async function replay(file: string): Promise<void> {
  const opened = await open(`cannot replay ${file}`, ({ Pcap }) => Pcap.file(file), FILE_RECORD_BYTES);
  if (!opened) return;
  const { pcap, records } = opened;
  post({ type: 'ready', dlt: pcap.dlt, snaplen: pcap.snaplen });
  let fileStart: number | undefined;
  let wallStart = 0;
  while (!stopping) {
    // A file can wait: unlike live traffic, nothing is lost by reading it later.
    if (inflight >= config.maxInflightBatches) {
      await pause(FLUSH_EVERY_MS);
      continue;
    }
    let next = records.peekTimestamp();
    if (next === undefined) {
      const n = records.read();
      if (records.failure !== undefined) {
        // A damaged or cut-short file: what was read stays, the rest is counted as unreadable.
        consume(records, pcap.dlt);
        countError(/truncated/i.test(records.failure) ? 'file-truncated' : 'file-read');
        break;
      }
      if (n === 0) break;
      next = records.peekTimestamp()!;
    }
    let until = Infinity;
    if (config.pace) {
      if (fileStart === undefined) {
        fileStart = next;
        wallStart = Date.now();
      }
      until = fileStart + (Date.now() - wallStart);
      if (next > until) {
        flush();
        await pause(Math.min(next - until, FLUSH_EVERY_MS));
        continue;
      }
    }
    consume(records, pcap.dlt, until);
    flush(true);
    await new Promise((resolve) => setImmediate(resolve));
  }
  records.close();
  pcap.close();
  closeSinks();
  flush(true);
  postLast({ type: 'finished', counters, ...sinks?.report() });
}

if ('device' in config.source) void live(config.source.device);
else void replay(config.source.file);
