// The push targets of this collector: from the config file and changes made at runtime
// (kept in `<data-dir>/push-targets.json`), checked before anything changes (the
// interface, the BPF, the path, the rclone remote), handed to the capture of their
// interface as sinks, with an uploader per rclone target. A target that cannot run
// reports why; the others keep running.
import { accessSync, constants, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { PacketInterface } from '../interfaces/interface.ts';
import type { InterfaceRegistry } from '../interfaces/registry.ts';
import type { PushSinkConfig, PushTargetSpec, PushTargetStats, PushUploadStats } from '../model/push.ts';
import { extractionRequest, secondsToNs } from '../recording/extraction-request.ts';
import { checkFilter } from '../recording/reader.ts';
import { makeDirs } from '../runtime/make-dirs.ts';
import { loadState, saveState } from '../runtime/state-file.ts';
import { PushLog, pushLogPath, readPushLog } from './push-log.ts';
import { OfflineJobError, OfflinePushes, type OfflinePushView } from './offline-jobs.ts';
import type { OfflineThreadData } from './offline-worker.ts';
import { checkRemote, RcloneUploader } from './rclone.ts';
import { DEFAULT_SPOOL_BYTES, parseSplit, pathParts, PushTargetError, pushTargetSpec } from './target.ts';

export interface PushTargetView extends PushTargetSpec {
  stats: PushTargetStats;
  upload?: PushUploadStats;
  log?: string;
}

/** A refused change or an unknown target; `status` is the HTTP answer. */
export class PushRequestError extends PushTargetError {
  constructor(message: string, readonly status: 400 | 404 | 409 | 429) {
    super(message);
  }
}

const STATE = 'push-targets.json';


/** A checked target in the form a person writes it (what is saved, and what a change applies to). */
function asInput(spec: PushTargetSpec): Record<string, unknown> {
  const { spoolBytes, ...rest } = spec;
  return spoolBytes === undefined ? rest : { ...rest, spoolSize: spoolBytes };
}
const MAX_TARGETS = 64;

export class PushTargets {
  readonly problems: string[] = [];
  readonly logDir: string;
  readonly #dataDir: string;
  readonly #specs = new Map<string, PushTargetSpec>();
  /** Each target's log since it started (the uploader writes its lines there too). */
  readonly #logs = new Map<string, PushLog>();
  readonly #offline = new OfflinePushes();
  readonly #uploaders = new Map<string, RcloneUploader>();
  #registry: InterfaceRegistry | undefined;

  /** `configured`: from the config file, by desc, on top of the saved ones. */
  constructor(dataDir: string, configured: PushTargetSpec[]) {
    this.#dataDir = dataDir;
    this.logDir = join(dataDir, 'log');
    const { value, problem } = loadState<unknown[]>(join(dataDir, STATE), [], (v) => (Array.isArray(v) ? v : undefined), 'a list of push targets', 'push targets');
    if (problem) this.problems.push(problem);
    for (const saved of value) {
      try {
        const spec = pushTargetSpec(saved);
        this.#specs.set(spec.desc, spec);
      } catch (err) {
        this.problems.push(`a saved push target was left out: ${(err as Error).message}`);
      }
    }
    for (const spec of configured) this.#specs.set(spec.desc, spec);
  }

  /** The sinks of the targets of interface `name` (for its capture's first start). */
  sinksFor(name: string): PushSinkConfig[] {
    return [...this.#specs.values()].filter((s) => s.interface === name).map((s) => this.sinkConfig(s));
  }

  /** Starts every target on its interface (a target whose interface is gone reports it). */
  async attach(registry: InterfaceRegistry): Promise<void> {
    this.#registry = registry;
    for (const spec of this.#specs.values()) this.#startUploader(spec);
    await this.#apply();
  }

  list(): PushTargetView[] {
    return [...this.#specs.values()].map((s) => this.#view(s));
  }

  get(desc: string): PushTargetView {
    return this.#view(this.#spec(desc));
  }

  log(desc: string, lines?: number): { file?: string; lines: string[] } {
    this.#spec(desc);
    return readPushLog(this.logDir, desc, lines);
  }

  async create(input: unknown): Promise<PushTargetView> {
    const spec = pushTargetSpec(input);
    if (this.#specs.has(spec.desc)) throw new PushRequestError(`push target ${spec.desc} exists already: change it with PATCH /api/v1/push-targets/${spec.desc}`, 409);
    if (this.#specs.size >= MAX_TARGETS) throw new PushRequestError(`there are already ${MAX_TARGETS} push targets, the most this collector runs`, 400);
    await this.#check(spec);
    this.#specs.set(spec.desc, spec);
    this.#save();
    this.#startUploader(spec);
    await this.#apply();
    return this.get(spec.desc);
  }

  async update(desc: string, patch: unknown): Promise<PushTargetView> {
    const current = this.#spec(desc);
    if (typeof patch !== 'object' || patch === null || Array.isArray(patch)) throw new PushRequestError('the body must be a JSON object of the fields to change', 400);
    if ('desc' in patch && (patch as { desc: unknown }).desc !== desc) throw new PushRequestError('desc names the target and cannot change: delete it and create another', 400);
    const spec = pushTargetSpec({ ...asInput(current), ...patch });
    await this.#check(spec);
    this.#specs.set(desc, spec);
    this.#save();
    this.#stopUploader(desc);
    this.#startUploader(spec);
    await this.#apply();
    return this.get(desc);
  }

  async remove(desc: string): Promise<void> {
    this.#spec(desc);
    this.#specs.delete(desc);
    this.#save();
    this.#stopUploader(desc);
    await this.#apply();
  }

  /** A target as configured (404 when there is none of that desc). */
  find(desc: string): PushTargetSpec {
    return this.#spec(desc);
  }

  /**
   * Queues an offline push of the stored range `{ begin, end }` (epoch seconds) of the
   * target's interface's recording through the target (its BPF, split, names and path).
   */
  offline(desc: string, body: unknown): OfflinePushView {
    const spec = this.#spec(desc);
    const where = `push target ${desc}`;
    if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new PushRequestError(`${where}: an offline push needs a JSON object { "begin", "end" }: the stored range in epoch seconds, fractions allowed`, 400);
    const unknown = Object.keys(body).filter((k) => k !== 'begin' && k !== 'end');
    if (unknown.length) throw new PushRequestError(`${where}: unknown field ${unknown.join(', ')} (an offline push takes begin and end, epoch seconds; the filter is the target's)`, 400);
    const b = body as { begin?: unknown; end?: unknown };
    let range;
    try {
      range = extractionRequest({ begin: b.begin, end: b.end });
    } catch (err) {
      throw new PushRequestError(`${where}: ${(err as Error).message}`, 400);
    }
    const iface = this.#iface(spec);
    if (!iface) throw new PushRequestError(`${where}: interface ${JSON.stringify(spec.interface)} is not a packet interface of this collector`, 400);
    const dir = iface.recordingSettings()?.dir;
    if (!dir) throw new PushRequestError(`${where}: interface ${spec.interface} does not record, so nothing is stored to push: turn its recording on (PATCH /api/v1/interfaces/${iface.id}/recording {"enabled": true})`, 400);
    try {
      return this.#offline.create(desc, range.begin, range.end, this.offlineWork(spec, dir, secondsToNs(range.begin, 'begin'), secondsToNs(range.end, 'end')));
    } catch (err) {
      if (err instanceof OfflineJobError) throw new PushRequestError(`${where}: ${err.message}`, err.status as 429);
      throw err;
    }
  }

  offlineJob(desc: string, id: string): OfflinePushView {
    this.#spec(desc);
    try {
      return this.#offline.get(desc, id);
    } catch (err) {
      if (err instanceof OfflineJobError) throw new PushRequestError(err.message, 404);
      throw err;
    }
  }

  offlineJobs(desc: string): { jobs: OfflinePushView[]; evicted: number } {
    this.#spec(desc);
    return { jobs: this.#offline.list(desc), evicted: this.#offline.evicted };
  }

  /** What an offline push thread needs: the recording, the range, the target's sink (and its remote directory). */
  offlineWork(spec: PushTargetSpec, dir: string, beginNs: bigint, endNs: bigint): OfflineThreadData {
    const work: OfflineThreadData = { dir, beginNs: String(beginNs), endNs: String(endNs), sink: this.sinkConfig(spec) };
    if (spec.mode === 'rclone') work.remoteDir = pathParts(spec.path).dir;
    return work;
  }

  /** An uploader for `desc`'s spool (the CLI's offline push runs one of its own). */
  uploader(spec: PushTargetSpec): RcloneUploader {
    mkdirSync(this.#spoolDir(spec.desc), { recursive: true });
    return new RcloneUploader(this.#spoolDir(spec.desc), pathParts(spec.path).dir, spec.spoolBytes ?? DEFAULT_SPOOL_BYTES, () => this.#logs.get(spec.desc));
  }

  stop(): void {
    this.#offline.stop();
    for (const desc of [...this.#uploaders.keys()]) this.#stopUploader(desc);
  }

  /** The sink configuration of a target (where its splits go, its log). */
  sinkConfig(spec: PushTargetSpec): PushSinkConfig {
    const { dir, prefix } = pathParts(spec.path);
    let log = this.#logs.get(spec.desc);
    if (!log) {
      const now = Date.now();
      log = new PushLog(pushLogPath(this.logDir, spec.desc, now), now);
      this.#logs.set(spec.desc, log);
    }
    const logPath = log.path;
    return {
      desc: spec.desc, mode: spec.mode, split: parseSplit(spec.split, spec.desc), fileName: spec.fileName, filterBpf: spec.filterBpf,
      dir: spec.mode === 'rclone' ? this.#spoolDir(spec.desc) : dir, prefix, spoolBytes: spec.spoolBytes ?? DEFAULT_SPOOL_BYTES, logPath,
    };
  }

  #spoolDir(desc: string): string {
    return join(this.#dataDir, 'push', desc, 'spool');
  }

  #spec(desc: string): PushTargetSpec {
    const spec = this.#specs.get(desc);
    if (!spec) throw new PushRequestError(`no push target ${JSON.stringify(desc)} (there are: ${[...this.#specs.keys()].join(', ') || 'none'})`, 404);
    return spec;
  }

  #iface(spec: PushTargetSpec): PacketInterface | undefined {
    const iface = this.#registry?.resolve(spec.interface);
    return iface?.kind === 'packet' ? (iface as PacketInterface) : undefined;
  }

  /** Everything that can be known wrong before a target starts; throws PushRequestError naming it. */
  async #check(spec: PushTargetSpec): Promise<void> {
    const where = `push target ${spec.desc}`;
    if (!this.#iface(spec)) {
      const names = this.#registry?.packetInterfaces().map((p) => p.name).join(', ') || 'none';
      throw new PushRequestError(`${where}: interface ${JSON.stringify(spec.interface)} is not a packet interface of this collector (${names})`, 400);
    }
    if (spec.filterBpf) {
      try {
        checkFilter(spec.filterBpf);
      } catch (err) {
        throw new PushRequestError(`${where}: ${(err as Error).message}`, 400);
      }
    }
    if (spec.mode === 'file') {
      const { dir } = pathParts(spec.path);
      try {
        makeDirs(dir);
        accessSync(dir, constants.W_OK);
      } catch (err) {
        throw new PushRequestError(`${where}: cannot write to ${dir} (${(err as Error).message})`, 400);
      }
    } else {
      const why = await checkRemote(spec.path.slice(0, spec.path.indexOf(':')));
      if (why) throw new PushRequestError(`${where}: ${why}`, 400);
    }
  }

  #startUploader(spec: PushTargetSpec): void {
    if (spec.mode !== 'rclone') return;
    this.#uploaders.set(spec.desc, this.uploader(spec));
  }

  #stopUploader(desc: string): void {
    this.#uploaders.get(desc)?.stop();
    this.#uploaders.delete(desc);
  }

  /** Hands each packet interface the sinks of its targets. */
  async #apply(): Promise<void> {
    for (const iface of this.#registry?.packetInterfaces() ?? []) {
      const mine = [...this.#specs.values()].filter((s) => this.#iface(s) === iface);
      await iface.setPushTargets(mine.map((s) => this.sinkConfig(s)));
    }
  }

  #view(spec: PushTargetSpec): PushTargetView {
    const iface = this.#iface(spec);
    const reported = iface?.pushStats().find((p) => p.desc === spec.desc);
    const stats: PushTargetStats = reported ?? {
      desc: spec.desc, state: iface ? 'stopped' : 'failed', files: 0, bytes: 0, packets: 0, filteredOut: 0, dropped: {},
      ...(iface ? {} : { error: `interface ${spec.interface} is not a packet interface of this collector` }),
    };
    const view: PushTargetView = { ...spec, stats };
    const upload = this.#uploaders.get(spec.desc)?.stats();
    if (upload) view.upload = upload;
    const log = this.#logs.get(spec.desc);
    if (log) view.log = log.path;
    return view;
  }

  #save(): void {
    saveState(join(this.#dataDir, STATE), [...this.#specs.values()].map(asInput));
  }
}
