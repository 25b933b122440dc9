// The capture of one packet interface, in its own process: `cap` (live, libpcap)
// calls into JavaScript once per packet, so the per-packet work (decode, aggregate
// per flow) stays here, and the collector only applies per-flow deltas every 100 ms.
// A process, not a worker thread: `cap` delivers packets on the default libuv loop,
// which in a worker thread is the wrong isolate's (the process aborts).
import cap from 'cap';
import type { CaptureCounters } from './interface.ts';
import { PcapFile } from './libpcap.ts';
import { PacketBatch } from './packet-batch.ts';
import { decodePacket, dltFromCapName } from './packet-decoder.ts';
import type { CaptureCommand, CaptureConfig, CaptureMessage } from './capture-protocol.ts';

const FLUSH_EVERY_MS = 100;
const SNAPLEN = 65_535;
/** Kernel buffer for live capture. */
const KERNEL_BUFFER_BYTES = 16 * 1024 * 1024;

const config = JSON.parse(process.env.FLOWBRIDGE_CAPTURE ?? '{}') as CaptureConfig;
const post = (m: CaptureMessage) => process.send!(m);
/** Batches sent and not yet acknowledged by the flow table: the hand-off's fill level. */
let inflight = 0;
const stopHandlers: (() => void)[] = [];
process.on('message', (m: CaptureCommand) => {
  if (m.type === 'applied') inflight--;
  else if (m.type === 'stop') for (const h of stopHandlers) h();
});
// The collector going away ends the capture.
process.on('disconnect', () => process.exit(0));

const counters: CaptureCounters = { packets: 0, bytes: 0, errors: {} };
const batch = new PacketBatch(config.maxBatchFlows);
let reportedOverflow = 0;
/** cap copies every packet into this one Buffer: it must stay referenced for the capture's life. */
const captureBuffer = Buffer.alloc(SNAPLEN);

/** Reports why the capture cannot run, then ends this process. */
function fail(message: string): void {
  post({ type: 'error', message });
  process.disconnect();
}

function countError(reason: string, n = 1): void {
  counters.errors[reason] = (counters.errors[reason] ?? 0) + n;
}

function packet(data: Uint8Array, caplen: number, length: number, dlt: number, now: number): void {
  counters.packets++;
  counters.bytes += length;
  const info = decodePacket(data, caplen, length, dlt);
  if (typeof info === 'string') {
    if (info !== 'non-ip') countError(info);
    return;
  }
  batch.add(info, now);
}

/** Posts the batch unless the main thread is behind: then it keeps aggregating (bounded by the batch). */
function flush(force = false): void {
  if (batch.overflow > reportedOverflow) {
    countError('batch-full', batch.overflow - reportedOverflow);
    reportedOverflow = batch.overflow;
  }
  if (!force && inflight >= config.maxInflightBatches) return;
  const deltas = batch.take();
  if (deltas.length === 0 && !force) return;
  inflight++;
  post({ type: 'batch', deltas, counters: { ...counters, errors: { ...counters.errors } } });
}

function live(device: string): void {
  const c = new cap.Cap();
  const buffer = captureBuffer;
  let linkType: string;
  try {
    linkType = c.open(device, config.filter ?? '', KERNEL_BUFFER_BYTES, buffer);
  } catch (err) {
    fail(`cannot open capture on ${device}: ${(err as Error).message}`);
    return;
  }
  const dlt = dltFromCapName(linkType);
  if (dlt === undefined) {
    c.close();
    fail(`cannot capture on ${device}: link type ${linkType} is not supported (Ethernet, Linux cooked, raw IP, BSD loopback are)`);
    return;
  }
  c.setMinBytes?.(0);
  c.on('packet', (nbytes: number, truncated: boolean) => {
    if (truncated) countError('truncated-capture');
    packet(buffer, nbytes, nbytes, dlt, Date.now());
  });
  const timer = setInterval(() => flush(), FLUSH_EVERY_MS);
  stopHandlers.push(() => {
    clearInterval(timer);
    c.close();
    flush(true);
    process.disconnect();
  });
  post({ type: 'ready', dlt });
}

function replay(file: string): void {
  let pcap: PcapFile;
  try {
    pcap = new PcapFile(file, config.filter);
  } catch (err) {
    fail(`cannot replay ${file}: ${(err as Error).message}`);
    return;
  }
  post({ type: 'ready', dlt: pcap.dlt });
  try {
    // "As if live": packets are stamped as they are read, so flows age like live ones.
    for (let p = pcap.next(), n = 1; p; p = pcap.next(), n++) {
      packet(p.data, p.caplen, p.length, pcap.dlt, Date.now());
      if (n % 10_000 === 0) flush(true);
    }
  } catch (err) {
    countError('file-read');
    post({ type: 'error', message: `reading ${file}: ${(err as Error).message}` });
  } finally {
    pcap.close();
  }
  flush(true);
  post({ type: 'finished', counters });
  stopHandlers.push(() => process.disconnect());
}

if ('device' in config.source) live(config.source.device);
else replay(config.source.file);
