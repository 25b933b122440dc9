// Offline pushes as jobs (POST /api/v1/push-targets/:desc/offline): each runs in a
// worker thread (offline-worker.ts), one at a time, the rest queued. Jobs are kept in
// memory, at most MAX_JOBS of them: a new one evicts the oldest finished job (counted),
// and is refused when every kept job is still queued or running.
import type { Worker } from 'node:worker_threads';
import type { PushTargetStats } from '../model/push.ts';
import type { EmptyReason } from '../recording/reader.ts';
import { startTsWorker } from '../runtime/ts-worker.ts';
import type { OfflineFile } from './offline.ts';
import type { OfflineMessage, OfflineThreadData } from './offline-worker.ts';

const WORKER = new URL('./offline-worker.ts', import.meta.url);

export type OfflineStatus = 'queued' | 'running' | 'completed' | 'failed';

export interface OfflinePushView {
  id: string;
  target: string;
  /** The range as asked (epoch seconds, fractions allowed), both ends included. */
  begin: string;
  end: string;
  status: OfflineStatus;
  /** Epoch ms. */
  created: number;
  started?: number;
  finished?: number;
  /** Packets pushed (taken by the target's BPF) and bytes of the files written. */
  packets: number;
  bytes: number;
  /** Completed splits: path (FILE) or remote:dir/name (RCLONE, uploaded by the target's uploader). */
  files: OfflineFile[];
  /** The sink's counters at the end: filteredOut, dropped by reason. */
  stats?: PushTargetStats;
  /** Records of the range read from the recording. */
  read?: number;
  emptyReason?: EmptyReason;
  error?: string;
}

/** Too many jobs (429) or an unknown one (404). */
export class OfflineJobError extends Error {
  constructor(message: string, readonly status: 404 | 429) {
    super(message);
  }
}

export const MAX_JOBS = 100;
const MAX_CONCURRENT = 1;

export class OfflinePushes {
  readonly #jobs = new Map<string, { view: OfflinePushView; work: OfflineThreadData }>();
  readonly #running = new Map<string, Worker>();
  #nextId = 1;
  #stopped = false;
  /** Finished jobs forgotten to keep MAX_JOBS. */
  evicted = 0;

  create(target: string, begin: string, end: string, work: OfflineThreadData): OfflinePushView {
    if (this.#jobs.size >= MAX_JOBS) {
      const oldest = [...this.#jobs.values()].find((j) => j.view.status === 'completed' || j.view.status === 'failed');
      if (!oldest) throw new OfflineJobError(`there are already ${MAX_JOBS} offline pushes queued or running, the most this collector keeps: wait for them to finish`, 429);
      this.#jobs.delete(oldest.view.id);
      this.evicted++;
    }
    const id = String(this.#nextId++);
    const view: OfflinePushView = { id, target, begin, end, status: 'queued', created: Date.now(), packets: 0, bytes: 0, files: [] };
    this.#jobs.set(id, { view, work });
    this.#schedule();
    return this.get(target, id);
  }

  get(target: string, id: string): OfflinePushView {
    const job = this.#jobs.get(id);
    if (!job || job.view.target !== target) throw new OfflineJobError(`push target ${target} has no offline push ${JSON.stringify(id)} (it has: ${this.list(target).map((j) => j.id).join(', ') || 'none'})`, 404);
    return structuredClone(job.view);
  }

  list(target: string): OfflinePushView[] {
    return [...this.#jobs.values()].filter((j) => j.view.target === target).map((j) => structuredClone(j.view));
  }

  /** Ends the running threads (their jobs fail, saying so). */
  stop(): void {
    this.#stopped = true;
    for (const [id, worker] of [...this.#running]) {
      this.#finish(id, { status: 'failed', error: 'flowbridge stopped while this offline push ran' });
      void worker.terminate();
    }
  }

  #schedule(): void {
    if (this.#stopped) return;
    for (const { view, work } of this.#jobs.values()) {
      if (this.#running.size >= MAX_CONCURRENT) return;
      if (view.status === 'queued') this.#start(view, work);
    }
  }

  #start(view: OfflinePushView, work: OfflineThreadData): void {
    const worker = startTsWorker(WORKER, work);
    view.status = 'running';
    view.started = Date.now();
    this.#running.set(view.id, worker);
    worker.on('message', (m: OfflineMessage) => {
      if (this.#running.get(view.id) !== worker) return;
      if (m.type === 'file') {
        view.files.push(m.file);
        view.packets += m.file.packets;
        view.bytes += m.file.bytes;
      } else if (m.type === 'done') {
        const o = m.outcome;
        this.#finish(view.id, { status: 'completed', files: o.files, packets: o.packets, bytes: o.bytes, stats: o.stats, read: o.read, ...(o.emptyReason ? { emptyReason: o.emptyReason } : {}) });
      } else this.#finish(view.id, { status: 'failed', error: m.message });
    });
    worker.on('error', (err) => {
      if (this.#running.get(view.id) === worker) this.#finish(view.id, { status: 'failed', error: err.message });
    });
  }

  #finish(id: string, how: Partial<OfflinePushView>): void {
    const job = this.#jobs.get(id);
    const worker = this.#running.get(id);
    this.#running.delete(id);
    if (job) Object.assign(job.view, how, { finished: Date.now() });
    void worker?.terminate();
    this.#schedule();
  }
}
