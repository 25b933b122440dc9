// A monitored packet interface: a live capture device (`lo`, `eth1`) or a capture
// file replayed as if live (`pcap:/path`), feeding its own flow table. One that
// cannot be opened reports why and leaves the other interfaces alone.
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { CountersEvent } from '../model/event.ts';
import { TSX_LOADER } from '../runtime/ts-worker.ts';
import type { CaptureCommand, CaptureConfig, CaptureMessage } from './capture-protocol.ts';
import { FlowTable, type FlowTableOptions } from './flow-table.ts';
import type { CaptureCounters, InterfaceStatus, PacketInterface as PacketInterfaceApi } from './interface.ts';

export interface PacketInterfaceOptions {
  id: number;
  name: string;
  /** Live capture device; or */
  device?: string;
  /** a capture file to replay. */
  file?: string;
  /** BPF filter (libpcap syntax). */
  filter?: string;
  flowTable?: Partial<FlowTableOptions>;
}

export class PacketInterface implements PacketInterfaceApi {
  readonly kind = 'packet' as const;
  readonly id: number;
  readonly name: string;
  readonly device: string;
  readonly flows: FlowTable;
  readonly hostCounters = new Map<string, CountersEvent>();
  readonly #options: PacketInterfaceOptions;
  #child: ChildProcess | undefined;
  #status: InterfaceStatus = { state: 'stopped' };
  #counters: CaptureCounters = { packets: 0, bytes: 0, errors: {} };
  #finished: Promise<void> | undefined;

  constructor(options: PacketInterfaceOptions) {
    if ((options.device === undefined) === (options.file === undefined)) throw new Error(`interface ${options.name}: give a device or a file`);
    this.#options = options;
    this.id = options.id;
    this.name = options.name;
    this.device = options.device ?? options.file!;
    this.flows = new FlowTable(options.flowTable);
  }

  status(): InterfaceStatus {
    return { ...this.#status };
  }

  capture(): CaptureCounters {
    return { ...this.#counters, errors: { ...this.#counters.errors } };
  }

  /** For a replayed file: resolves once every packet has been read and applied. */
  replayed(): Promise<void> {
    return this.#finished ?? Promise.resolve();
  }

  start(): Promise<void> {
    const o = this.#options;
    const config: CaptureConfig = {
      source: o.device !== undefined ? { device: o.device } : { file: o.file! },
      filter: o.filter,
      maxInflightBatches: 16,
      maxBatchFlows: 65_536,
    };
    this.#status = { state: 'starting' };
    const child = fork(fileURLToPath(new URL('./capture-process.ts', import.meta.url)), [], {
      execArgv: ['--import', TSX_LOADER],
      env: { ...process.env, FLOWBRIDGE_CAPTURE: JSON.stringify(config) },
      serialization: 'advanced',
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    this.#child = child;
    const send = (c: CaptureCommand) => {
      if (child.connected) child.send(c);
    };
    let finish: () => void = () => {};
    this.#finished = o.file !== undefined ? new Promise((resolve) => (finish = resolve)) : undefined;
    return new Promise((resolve, reject) => {
      child.on('message', (m: CaptureMessage) => {
        switch (m.type) {
          case 'ready':
            this.#status = { state: 'running' };
            resolve();
            break;
          case 'error':
            this.#status = { state: 'error', error: m.message };
            reject(new Error(m.message));
            finish();
            break;
          case 'batch':
            try {
              this.flows.applyPackets(m.deltas);
            } finally {
              send({ type: 'applied' });
            }
            this.#counters = m.counters;
            break;
          case 'finished':
            this.#counters = m.counters;
            finish();
            break;
        }
      });
      child.on('error', (err) => {
        this.#status = { state: 'error', error: `capture on ${this.device} failed: ${err.message}` };
        reject(err);
        finish();
      });
      child.on('exit', (code, signal) => {
        this.#child = undefined;
        if (this.#status.state === 'running' || this.#status.state === 'starting') {
          this.#status = { state: 'error', error: `capture on ${this.device} ended unexpectedly (${signal ?? `exit code ${code}`})` };
          reject(new Error(this.#status.error));
          finish();
        }
      });
    });
  }

  async stop(): Promise<void> {
    const child = this.#child;
    if (!child) return;
    this.#status = { state: 'stopped' };
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    if (child.connected) child.send({ type: 'stop' } satisfies CaptureCommand);
    const timer = setTimeout(() => child.kill('SIGKILL'), 2_000);
    await exited;
    clearTimeout(timer);
  }
}
