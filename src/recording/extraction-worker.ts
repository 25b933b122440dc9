// One extraction, in its own thread: the main thread (capture hand-off, merge, API)
// never waits on disk reads or filters. Streamed: a chunk is produced only when the
// main thread asks for the next one, so memory stays at one chunk whatever the
// result's size and a client that stops reading stops the extraction. To a file:
// written under a temporary name, split into parts, renamed when complete.
import { closeSync, openSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import { FILE_HEADER_BYTES } from './pcap-format.ts';
import { extract, ExtractionError, type ExtractionResult } from './reader.ts';
import type { ExtractionCommand, ExtractionJob, ExtractionMessage } from './extraction-protocol.ts';

const job = workerData as ExtractionJob;
const post = (m: ExtractionMessage, transfer: ArrayBuffer[] = []) => parentPort!.postMessage(m, transfer);

function failed(err: unknown): void {
  post({ type: 'error', message: (err as Error).message, badRequest: err instanceof ExtractionError });
}

function stream(): void {
  const chunks = extract(job.dir, job.query);
  parentPort!.on('message', (c: ExtractionCommand) => {
    if (c.type !== 'more') return;
    try {
      const n = chunks.next();
      if (n.done) {
        post({ type: 'end', result: n.value });
        return;
      }
      const bytes = new Uint8Array(n.value); // a copy this thread can give away
      post({ type: 'chunk', bytes }, [bytes.buffer as ArrayBuffer]);
    } catch (err) {
      failed(err);
    }
  });
  post({ type: 'ready' });
}

/** Writes the result into `<base>-<n>.pcap` parts of at most `partBytes`, stopping at `maxBytes`. */
function toFiles(output: NonNullable<ExtractionJob['output']>): void {
  const files: { name: string; bytes: number }[] = [];
  let header: Uint8Array | undefined;
  let fd: number | undefined;
  let tmp = '';
  let partBytes = 0;
  let total = 0;
  let limitReached = false;
  let result: ExtractionResult | undefined;
  const closePart = () => {
    if (fd === undefined) return;
    closeSync(fd);
    const name = `${output.base}-${files.length + 1}.pcap`;
    renameSync(tmp, `${output.dir}/${name}`);
    files.push({ name, bytes: partBytes });
    fd = undefined;
  };
  const openPart = () => {
    tmp = `${output.dir}/.${output.base}-${files.length + 1}.pcap.part`;
    fd = openSync(tmp, 'w', 0o640);
    writeSync(fd, header!);
    partBytes = header!.length;
  };
  try {
    const chunks = extract(job.dir, job.query);
    let lastProgress = 0;
    for (;;) {
      const n = chunks.next();
      if (n.done) {
        result = n.value;
        break;
      }
      let bytes = n.value;
      if (!header) {
        header = bytes.slice(0, FILE_HEADER_BYTES);
        bytes = bytes.subarray(FILE_HEADER_BYTES);
      }
      // Parts split at chunk boundaries, which are record boundaries.
      if (fd !== undefined && partBytes + bytes.length > output.partBytes) closePart();
      if (total + bytes.length > output.maxBytes) {
        limitReached = true;
        break;
      }
      if (fd === undefined) openPart();
      writeSync(fd!, bytes);
      partBytes += bytes.length;
      total += bytes.length;
      if (Date.now() - lastProgress > 250) {
        lastProgress = Date.now();
        post({ type: 'progress', bytes: total });
      }
    }
    if (fd === undefined && files.length === 0 && header) openPart(); // an empty result is still a pcap
    closePart();
    post({ type: 'done', files, result: result ?? { packets: -1, bytes: total, filesRead: 0, bytesRead: 0 }, limitReached });
  } catch (err) {
    if (fd !== undefined) {
      closeSync(fd);
      try {
        unlinkSync(tmp);
      } catch {
        // gone
      }
    }
    failed(err);
  }
}

if (job.output) toFiles(job.output);
else stream();
