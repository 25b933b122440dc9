// The thread of one offline push (offline.ts): reads the stored range and writes the
// target's splits, telling the main thread of each file as it completes.
import { parentPort, workerData } from 'node:worker_threads';
import { pushOffline, type OfflineFile, type OfflineOutcome, type OfflineWork } from './offline.ts';

export type OfflineThreadData = OfflineWork & { remoteDir?: string };

export type OfflineMessage =
  | { type: 'file'; file: OfflineFile }
  | { type: 'done'; outcome: OfflineOutcome }
  | { type: 'error'; message: string };

const work = workerData as OfflineThreadData;
const post = (m: OfflineMessage) => parentPort!.postMessage(m);
const finalName = (path: string) => (work.remoteDir === undefined ? path : `${work.remoteDir}${path.slice(path.lastIndexOf('/') + 1)}`);

try {
  post({ type: 'done', outcome: pushOffline(work, finalName, (file) => post({ type: 'file', file })) });
} catch (err) {
  post({ type: 'error', message: (err as Error).message });
}
