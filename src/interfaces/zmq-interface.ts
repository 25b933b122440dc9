// A ZMQ interface: a collector (one or more endpoints, one receive thread) whose
// events are dispatched, and a flow table where they show as (almost) regular flows.
import { ZmqCollector } from '../collector/collector.ts';
import type { CurveKeys } from '../collector/curve.ts';
import type { CollectedEvent } from '../model/event.ts';
import type { CollectorStats } from '../model/exporter.ts';
import { FlowTable, type FlowTableOptions } from '../flows/flow-table.ts';
import { HostInterfaceTable } from './host-interfaces.ts';
import type { InterfaceStatus, ZmqInterface as ZmqInterfaceApi } from './interface.ts';
import { ListeningPortsTable } from './listening-ports.ts';

export interface ZmqInterfaceOptions {
  id: number;
  name: string;
  endpoints: string;
  curve?: CurveKeys;
  flowTable?: Partial<FlowTableOptions>;
  /** Decode threads (collector.ts); 1 when not given: the receive thread decodes. */
  decodeThreads?: number;
}

export class ZmqInterface implements ZmqInterfaceApi {
  readonly kind = 'zmq' as const;
  readonly id: number;
  readonly name: string;
  readonly endpoints: string;
  readonly flows: FlowTable;
  readonly hostCounters = new HostInterfaceTable();
  readonly listeningPorts = new ListeningPortsTable();
  readonly collector: ZmqCollector;
  #status: InterfaceStatus = { state: 'stopped' };

  /** `onEvents` receives every accepted batch: dispatch routes it (this interface included). */
  constructor(options: ZmqInterfaceOptions, onEvents: (events: CollectedEvent[]) => void) {
    this.id = options.id;
    this.name = options.name;
    this.endpoints = options.endpoints;
    this.flows = new FlowTable(options.flowTable);
    this.collector = new ZmqCollector({ interfaceId: options.id, endpoints: options.endpoints, curve: options.curve, decodeThreads: options.decodeThreads }, onEvents);
  }

  status(): InterfaceStatus {
    const failure = this.collector.failure;
    if (failure && this.#status.state === 'running') return { state: 'error', error: failure };
    return { ...this.#status };
  }

  collectorStats(): CollectorStats {
    return this.collector.stats();
  }

  async start(): Promise<void> {
    this.#status = { state: 'starting' };
    try {
      await this.collector.start();
      this.#status = { state: 'running' };
    } catch (err) {
      this.#status = { state: 'error', error: (err as Error).message };
      throw err;
    }
  }

  async stop(): Promise<void> {
    await this.collector.stop();
    this.#status = { state: 'stopped' };
  }
}
