// The main thread's side of an extraction thread (extraction-worker.ts).
import type { Worker } from 'node:worker_threads';
import { startTsWorker } from '../runtime/ts-worker.ts';
import type { ExtractionJob, ExtractionMessage } from './extraction-protocol.ts';
import { FILE_HEADER_BYTES } from './pcap-format.ts';
import { ExtractionError, type ExtractionResult } from './reader.ts';

const WORKER = new URL('./extraction-worker.ts', import.meta.url);

export function startExtractionThread(job: ExtractionJob): Worker {
  return startTsWorker(WORKER, job);
}

function next(worker: Worker): Promise<ExtractionMessage> {
  return new Promise((resolve, reject) => {
    const onMessage = (m: ExtractionMessage) => {
      if (m.type === 'progress') return;
      worker.off('error', onError);
      worker.off('message', onMessage);
      resolve(m);
    };
    const onError = (err: Error) => {
      worker.off('message', onMessage);
      reject(err);
    };
    worker.on('message', onMessage);
    worker.once('error', onError);
  });
}

function failure(m: ExtractionMessage): Error {
  if (m.type !== 'error') return new Error(`extraction thread said ${m.type} out of turn`);
  return m.badRequest ? new ExtractionError(m.message) : new Error(m.message);
}

export interface StreamedExtraction {
  /** The pcap, as it is read. Cancelling it (a client gone) stops the extraction. */
  body: ReadableStream<Uint8Array>;
  /** Known before the body when the result is empty (it then holds only the pcap header). */
  empty?: ExtractionResult;
}

/**
 * Starts a streamed extraction and waits for its first chunk, so that a bad request
 * or an empty result (with its reason) is known before a response is sent.
 */
export async function streamExtraction(job: Omit<ExtractionJob, 'output'>): Promise<StreamedExtraction> {
  const worker = startExtractionThread(job);
  const done = () => void worker.terminate();
  try {
    const ready = await next(worker);
    if (ready.type !== 'ready') throw failure(ready);
    worker.postMessage({ type: 'more' });
    const first = await next(worker);
    if (first.type !== 'chunk') throw failure(first);
    let empty: ExtractionResult | undefined;
    let ended = false;
    if (first.bytes.length === FILE_HEADER_BYTES) {
      // Only the header: the reader says so only at its end; the result tells why.
      worker.postMessage({ type: 'more' });
      const end = await next(worker);
      if (end.type !== 'end') throw failure(end);
      empty = end.result;
      ended = true;
    }
    let pending: Uint8Array | undefined = first.bytes;
    const body = new ReadableStream<Uint8Array>({
      async pull(controller) {
        if (pending) {
          controller.enqueue(pending);
          pending = undefined;
          if (ended) {
            controller.close();
            done();
          }
          return;
        }
        worker.postMessage({ type: 'more' });
        const m = await next(worker);
        if (m.type === 'chunk') controller.enqueue(m.bytes);
        else {
          if (m.type === 'end') controller.close();
          else controller.error(failure(m));
          done();
        }
      },
      cancel: done,
    });
    return { body, empty };
  } catch (err) {
    done();
    throw err;
  }
}
