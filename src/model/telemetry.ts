// What the running pipeline tells its readers (the REST API, the pages, /metrics):
// one read-only view, built in src/flowbridge.ts from each stage's own stats().
// Readers depend on this file, never on each other.
import type { CaptureCounters } from './flow-delta.ts';
import type { AlertStats } from './alert.ts';
import type { ConditionalStats } from './conditional.ts';
import type { ExtractionStats, RecordingStats } from './recording.ts';
import type { ContainerInfo } from './event.ts';
import type { CollectorStats } from './exporter.ts';
import type { FlowTableStats, ProcessTraffic } from './flow.ts';
import type { ProcessDetail, ProcessList, ProcessQuery } from '../views/process-summary.ts';
import type { TrafficHistory } from '../views/traffic-history.ts';
import type { ScaleOutStats } from '../scaleout/scaleout.ts';

/** Something an operator should see now; `interfaceId` when it is about one interface. */
export interface Problem {
  interfaceId?: number;
  text: string;
}

/** A bounded table, queue or store: how full it is, its bound, and how often the bound bit. */
export interface Bound {
  size: number;
  max: number;
  /** Entries refused or evicted because the bound was reached. */
  dropped: number;
}

export interface InterfaceStatus {
  state: 'starting' | 'running' | 'error' | 'stopped';
  /** A clear sentence when state is `error` (e.g. "cannot open eth9: no such device"). */
  error?: string;
  /** Times its capture process (or receive thread) was started again after it ended on its own; absent before the first. */
  restarts?: number;
}

/** Events routed to one interface (dispatch rules 1–4, 7). */
export interface DispatchStats {
  delivered: Record<string, number>;
  dropped: Record<string, number>;
  queueSize: number;
  queueBound: number;
}

/** One direction of a host interface's counters; `drops` only when the host reports them. */
export interface DirectionCounters {
  bytes: number;
  packets: number;
  errors: number;
  drops?: number;
}

/**
 * One interface of an exporter host, from its latest counters event (cumulative, as
 * the host sent them) and the rates between its last two reports.
 */
export interface HostInterfaceCounters {
  /** The exporter host (deviceIP). */
  host: string;
  ifName: string;
  ifIndex: number;
  speed?: number;
  adminUp?: boolean;
  operUp?: boolean;
  container?: ContainerInfo;
  in: DirectionCounters;
  out: DirectionCounters;
  /** Per second between the last two reports; null until there are two. A counter that went back is a reset: its rate counts from zero. */
  rates: { in: DirectionCounters; out: DirectionCounters; intervalSeconds: number } | null;
  /** Reports received, and how many of them had a counter go backwards. */
  reports: number;
  resets: number;
  /** Epoch milliseconds of the latest report. */
  lastReport: number;
}

export interface ListeningSocket {
  protocol: 'tcp' | 'udp';
  ipVersion: 4 | 6;
  port: number;
  process?: string;
  package?: string;
}

/** The listening sockets a host announced last. */
export interface HostListeningPorts {
  /** The instance name, or the host's first address. */
  host: string;
  addresses: string[];
  ports: ListeningSocket[];
  /** Ports left out because the host announced more than the per-host bound. */
  portsDropped: number;
  /** Epoch milliseconds of the announcement. */
  lastReport: number;
}

export interface InterfaceTelemetry {
  id: number;
  name: string;
  kind: 'zmq' | 'packet';
  status: InterfaceStatus;
  flows: FlowTableStats;
  dispatch: DispatchStats;
  /** Packet interfaces. */
  capture?: CaptureCounters & { device: string };
  /** Packet interfaces: the continuous recording (`enabled: false` when off). */
  recording?: RecordingStats;
  /** ZMQ interfaces. */
  collector?: CollectorStats & { endpoints: string };
  /** The interface's bounded tables other than the flow table and dispatch queue, by name. */
  tables: Record<string, Bound>;
}

export interface Telemetry {
  /** Epoch milliseconds. */
  readonly startedAt: number;
  interfaces(): InterfaceTelemetry[];
  /** Host interface counters of a ZMQ interface (undefined for other interfaces). */
  hostInterfaces(interfaceId: number): HostInterfaceCounters[] | undefined;
  /** Listening ports announced to a ZMQ interface (undefined for other interfaces). */
  listeningPorts(interfaceId: number): HostListeningPorts[] | undefined;
  /** Traffic of the active flows by owning process: the top processes per interface, the rest as `other`. */
  processTraffic(interfaceId: number): ProcessTraffic[];
  /** Processes across interfaces, the top ones (the same bound as processTraffic) and the rest summed (src/views/process-summary.ts). */
  processes?(q: ProcessQuery): ProcessList;
  /** One process by key with its flows (at most flowLimit); undefined when no flow names it now. */
  process?(key: string, flowLimit: number): ProcessDetail | undefined;
  /** Per interface and per top process: 1 s buckets for 10 minutes, 1 min buckets for 24 h (src/views/traffic-history.ts). */
  history?: TrafficHistory;
  /** Extractions streamed and jobs (absent when recording is not part of this pipeline). */
  extractions?(): ExtractionStats;
  /** IDS alerts taken, joined and refused (absent when alerts are not part of this pipeline). */
  alerts?(): AlertStats;
  /** Scale-out through NATS JetStream: connection, outbox, exports, ingest or consumers (absent without --nats). */
  scaleout?(): ScaleOutStats;
  /** Conditional pcap: the stores of alerted flows (absent when not part of this pipeline). */
  conditional?(): ConditionalStats;
  problems(): Problem[];
}
