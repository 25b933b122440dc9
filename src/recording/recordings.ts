// The recordings of this collector: which packet interfaces record and how (saved
// settings, with the config file and flags on top at start), changes made at runtime
// (saved, then applied to the capture), the extraction jobs, and the one place an
// extraction request becomes a reader query for an interface.
import { join } from 'node:path';
import type { PacketInterface } from '../interfaces/interface.ts';
import type { InterfaceRegistry } from '../interfaces/registry.ts';
import type { ExtractionStats, RecordingSettings } from '../model/recording.ts';
import { ExtractionJobs } from './extraction-jobs.ts';
import { extractionQuery, selectsBySocket, secondsToNs, type ExtractionRequest } from './extraction-request.ts';
import { ExtractionError, type ExtractionQuery } from './reader.ts';
import { recordingRequest, recordingSettings, RecordingSettingsStore, type RecordingInput, type RecordingRequest } from './settings.ts';

/** A window longer than both the store's span and this is refused (it reads the whole store: a job is the way). */
const MIN_REFUSED_WINDOW_MS = 3_600_000;

export interface RecordingsOptions {
  dataDir: string;
  pcapDir: string;
  /** From the config file and --record, by interface name: applied on top of saved settings. */
  configured: Record<string, RecordingRequest>;
}

export class Recordings {
  readonly jobs: ExtractionJobs;
  readonly problems: string[] = [];
  readonly #store: RecordingSettingsStore;
  readonly #requests: Record<string, RecordingRequest>;
  readonly #pcapDir: string;
  #registry: InterfaceRegistry | undefined;
  readonly #streamed: Record<string, number> = {};
  #streamedBytes = 0;

  constructor(o: RecordingsOptions) {
    this.#pcapDir = o.pcapDir;
    this.#store = new RecordingSettingsStore(o.dataDir);
    const saved = this.#store.load();
    if (saved.problem) this.problems.push(saved.problem);
    this.#requests = { ...saved.requests, ...o.configured };
    this.jobs = new ExtractionJobs({ dir: join(o.dataDir, 'extractions'), recordingDir: (id) => this.#dirOf(id) });
    if (this.jobs.problem) this.problems.push(this.jobs.problem);
  }

  /** What interface `name` (id `id`) records with at start. */
  settingsFor(name: string, id: number): RecordingSettings | undefined {
    return recordingSettings(this.#requests[name], this.#pcapDir, id);
  }

  /** Known interfaces: queued extraction jobs can run. */
  attach(registry: InterfaceRegistry): void {
    this.#registry = registry;
    this.jobs.resume();
  }

  /** The operator's settings for an interface (undefined: never set). */
  request(iface: PacketInterface): RecordingRequest | undefined {
    return this.#requests[iface.name];
  }

  /** Changes an interface's recording (throws RecordingSettingsError, changing nothing); saved, then applied. */
  async change(iface: PacketInterface, input: RecordingInput): Promise<RecordingRequest> {
    const next = recordingRequest(input, this.#requests[iface.name]);
    this.#requests[iface.name] = next;
    this.#store.save(this.#requests);
    await iface.setRecording(recordingSettings(next, this.#pcapDir, iface.id));
    return next;
  }

  /**
   * The reader query for a checked request on `iface`: process, user and container
   * become the keys of the flows they made. Throws ExtractionError for a window the
   * store cannot answer sensibly.
   */
  query(iface: PacketInterface, r: ExtractionRequest): ExtractionQuery {
    const flows = this.flowKeys(iface, r);
    return extractionQuery(r, flows && new Set(flows));
  }

  /** Flow keys a request's process/user/container stand for (undefined when it names none). */
  flowKeys(iface: PacketInterface, r: ExtractionRequest): string[] | undefined {
    const span = iface.recording();
    const beginMs = Number(secondsToNs(r.begin, 'begin') / 1_000_000n);
    const endMs = Number(secondsToNs(r.end, 'end') / 1_000_000n);
    if (span.oldest !== undefined && span.newest !== undefined) {
      const stored = span.newest - span.oldest;
      if (endMs - beginMs > Math.max(stored, MIN_REFUSED_WINDOW_MS) && beginMs < span.oldest && endMs > span.newest) {
        throw new ExtractionError(`the window (${((endMs - beginMs) / 1000).toFixed(0)} s) is larger than the store, which holds ${new Date(span.oldest).toISOString()} to ${new Date(span.newest).toISOString()}: narrow it to that span`);
      }
    }
    if (!selectsBySocket(r)) return undefined;
    return [...iface.recordedFlowKeys({ process: r.process, user: r.user, container: r.container }, beginMs - 1, endMs + 1)];
  }

  /** Counts a streamed extraction's outcome (sent, empty, refused) and bytes. */
  countStreamed(outcome: 'sent' | 'empty' | 'refused', bytes = 0): void {
    this.#streamed[outcome] = (this.#streamed[outcome] ?? 0) + 1;
    this.#streamedBytes += bytes;
  }

  extractionStats(): ExtractionStats {
    const jobs: Record<string, number> = { queued: 0, running: 0, completed: 0, failed: 0, stopped: 0 };
    for (const j of this.jobs.list()) jobs[j.status]++;
    const b = this.jobs.bounds;
    return { streamed: { ...this.#streamed }, streamedBytes: this.#streamedBytes, jobs, maxJobs: b.maxJobs, maxConcurrentJobs: b.maxConcurrent };
  }

  #dirOf(interfaceId: number): string | undefined {
    const iface = this.#registry?.resolve(interfaceId);
    return iface?.kind === 'packet' ? (iface as PacketInterface).recordingSettings()?.dir : undefined;
  }
}
