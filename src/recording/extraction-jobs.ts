// Extraction jobs: long extractions run in the background, off the main thread, a few
// at a time, each into pcap files under `<data-dir>/extractions/<id>/`. Jobs are
// bounded in number and in result size, and their state survives a restart: a job
// that was running when flowbridge stopped is marked failed with that reason, a
// queued one runs.
import { mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Worker } from 'node:worker_threads';
import { loadState, saveState } from '../runtime/state-file.ts';
import { extractionQuery, type ExtractionRequest } from './extraction-request.ts';
import type { ExtractionMessage } from './extraction-protocol.ts';
import { startExtractionThread } from './extraction-thread.ts';
import type { EmptyReason } from './reader.ts';

export type JobStatus = 'queued' | 'running' | 'completed' | 'failed' | 'stopped';

export interface ExtractionJobView {
  id: string;
  interface: number;
  request: ExtractionRequest;
  /** Flow keys the request's process/user/container resolved to when it was made. */
  flows?: string[];
  status: JobStatus;
  /** Epoch ms. */
  created: number;
  started?: number;
  finished?: number;
  packets?: number;
  bytes: number;
  files: { id: string; name: string; bytes: number }[];
  error?: string;
  emptyReason?: EmptyReason;
  /** The result reached the bound on a job's size and was cut there. */
  limitReached?: boolean;
}

export interface ExtractionJobsOptions {
  /** `<data-dir>/extractions`. */
  dir: string;
  /** The recording directory of an interface id (undefined: it does not record). */
  recordingDir(interfaceId: number): string | undefined;
  maxConcurrent?: number;
  maxJobs?: number;
  maxResultBytes?: number;
  partBytes?: number;
}

/** A job request refused: too many jobs, an unknown job or file. `status` is the HTTP answer. */
export class JobError extends Error {
  constructor(message: string, readonly status: 404 | 409 | 429) {
    super(message);
  }
}

const STATE = 'jobs.json';
const DEFAULTS = { maxConcurrent: 2, maxJobs: 100, maxResultBytes: 4 * 1024 ** 3, partBytes: 256 * 1024 ** 2 };

export class ExtractionJobs {
  readonly #o: Required<ExtractionJobsOptions>;
  readonly #jobs = new Map<string, ExtractionJobView>();
  readonly #running = new Map<string, Worker>();
  #nextId = 1;
  /** Set when the saved state could not be read. */
  readonly problem: string | undefined;

  constructor(options: ExtractionJobsOptions) {
    this.#o = { ...DEFAULTS, ...options };
    mkdirSync(this.#o.dir, { recursive: true });
    const { value, problem } = loadState<ExtractionJobView[]>(join(this.#o.dir, STATE), [], (v) => (Array.isArray(v) ? (v as ExtractionJobView[]) : undefined), 'a list of jobs', 'extraction jobs');
    this.problem = problem;
    for (const job of value) {
      if (job.status === 'running') {
        job.status = 'failed';
        job.error = 'flowbridge stopped while this job ran; its partial files were removed';
        job.finished = Date.now();
        this.#removeParts(job.id);
      }
      this.#jobs.set(job.id, job);
      this.#nextId = Math.max(this.#nextId, Number(job.id) + 1);
    }
    this.#save();
  }

  /** Starts the queued jobs (once the interfaces they read are known). */
  resume(): void {
    this.#schedule();
  }

  get bounds() {
    return { jobs: this.#jobs.size, maxJobs: this.#o.maxJobs, running: this.#running.size, maxConcurrent: this.#o.maxConcurrent, maxResultBytes: this.#o.maxResultBytes };
  }

  list(): ExtractionJobView[] {
    return [...this.#jobs.values()].map((j) => structuredClone(j));
  }

  get(id: string): ExtractionJobView {
    const job = this.#jobs.get(id);
    if (!job) throw new JobError(`no extraction job ${JSON.stringify(id)}`, 404);
    return structuredClone(job);
  }

  /** Queues an extraction (the request already checked); it starts when a slot is free. */
  create(interfaceId: number, request: ExtractionRequest, flows?: string[]): ExtractionJobView {
    if (this.#jobs.size >= this.#o.maxJobs) {
      throw new JobError(`there are already ${this.#jobs.size} extraction jobs (the bound is ${this.#o.maxJobs}): delete finished ones first`, 429);
    }
    const id = String(this.#nextId++);
    const job: ExtractionJobView = { id, interface: interfaceId, request, status: 'queued', created: Date.now(), bytes: 0, files: [] };
    if (flows) job.flows = flows;
    this.#jobs.set(id, job);
    this.#save();
    this.#schedule();
    return this.get(id);
  }

  /** Stops a queued or running job; what it wrote so far is removed. */
  async stop(id: string): Promise<ExtractionJobView> {
    const job = this.#jobs.get(id);
    if (!job) throw new JobError(`no extraction job ${JSON.stringify(id)}`, 404);
    if (job.status !== 'queued' && job.status !== 'running') throw new JobError(`extraction job ${id} is ${job.status}: only queued or running jobs can be stopped`, 409);
    const worker = this.#running.get(id);
    this.#running.delete(id);
    job.status = 'stopped';
    job.finished = Date.now();
    if (worker) await worker.terminate();
    this.#removeParts(id);
    this.#save();
    this.#schedule();
    return this.get(id);
  }

  /** Removes a job and its files (a running one is stopped first). */
  async delete(id: string): Promise<void> {
    const job = this.#jobs.get(id);
    if (!job) throw new JobError(`no extraction job ${JSON.stringify(id)}`, 404);
    if (job.status === 'running' || job.status === 'queued') await this.stop(id);
    this.#jobs.delete(id);
    rmSync(join(this.#o.dir, id), { recursive: true, force: true });
    this.#save();
  }

  /** Path and name of one of a job's files. */
  file(id: string, fileId: string): { path: string; name: string; bytes: number } {
    const job = this.#jobs.get(id);
    if (!job) throw new JobError(`no extraction job ${JSON.stringify(id)}`, 404);
    const f = job.files.find((x) => x.id === fileId);
    if (!f) throw new JobError(`extraction job ${id} has no file ${JSON.stringify(fileId)} (it has ${job.files.map((x) => x.id).join(', ') || 'none yet'})`, 404);
    return { path: join(this.#o.dir, id, f.name), name: f.name, bytes: f.bytes };
  }

  /** Stops the running jobs (they are marked failed at the next start, as after a crash). */
  async close(): Promise<void> {
    const workers = [...this.#running.values()];
    this.#running.clear();
    await Promise.all(workers.map((w) => w.terminate()));
  }

  #schedule(): void {
    for (const job of this.#jobs.values()) {
      if (this.#running.size >= this.#o.maxConcurrent) return;
      if (job.status === 'queued') this.#start(job);
    }
  }

  #start(job: ExtractionJobView): void {
    const dir = this.#o.recordingDir(job.interface);
    job.started = Date.now();
    if (!dir) {
      this.#finish(job, { status: 'failed', error: `interface ${job.interface} does not record (any more)` });
      return;
    }
    const out = join(this.#o.dir, job.id);
    mkdirSync(out, { recursive: true });
    const base = `${job.request.begin}-${job.request.end}`;
    const worker = startExtractionThread({
      dir,
      query: extractionQuery(job.request, job.flows ? new Set(job.flows) : undefined),
      output: { dir: out, base, partBytes: this.#o.partBytes, maxBytes: this.#o.maxResultBytes },
    });
    job.status = 'running';
    this.#running.set(job.id, worker);
    this.#save();
    worker.on('message', (m: ExtractionMessage) => {
      if (this.#running.get(job.id) !== worker) return;
      if (m.type === 'progress') job.bytes = m.bytes;
      else if (m.type === 'done') {
        job.files = m.files.map((f, i) => ({ id: String(i + 1), ...f }));
        job.bytes = m.files.reduce((n, f) => n + f.bytes, 0);
        const done: Partial<ExtractionJobView> = { status: 'completed' };
        if (m.result.packets >= 0) done.packets = m.result.packets;
        if (m.result.emptyReason) done.emptyReason = m.result.emptyReason;
        if (m.limitReached) done.limitReached = true;
        this.#finish(job, done);
      } else if (m.type === 'error') this.#finish(job, { status: 'failed', error: m.message });
    });
    worker.on('error', (err) => {
      if (this.#running.get(job.id) === worker) this.#finish(job, { status: 'failed', error: err.message });
    });
  }

  #finish(job: ExtractionJobView, how: Partial<ExtractionJobView>): void {
    const worker = this.#running.get(job.id);
    this.#running.delete(job.id);
    Object.assign(job, how, { finished: Date.now() });
    void worker?.terminate();
    this.#save();
    this.#schedule();
  }

  #removeParts(id: string): void {
    const dir = join(this.#o.dir, id);
    try {
      for (const name of readdirSync(dir)) rmSync(join(dir, name), { force: true });
    } catch {
      // nothing written yet
    }
  }

  #save(): void {
    saveState(join(this.#o.dir, STATE), [...this.#jobs.values()]);
  }
}
