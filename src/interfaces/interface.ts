// What every monitored interface offers to dispatch, the API and the exporters.
import type { CaptureCounters } from '../model/flow-delta.ts';
import type { SocketEvent } from '../model/event.ts';
import type { CollectorStats } from '../model/exporter.ts';
import type { FlowQuery, FlowQueryResult, FlowRecord, FlowTableStats, ProcessTraffic } from '../model/flow.ts';
import type { PushSinkConfig, PushTargetStats } from '../model/push.ts';
import type { RecordingSettings, RecordingStats } from '../model/recording.ts';
import type { OnDemandSinkConfig, OnDemandSinkStats } from '../model/ondemand.ts';
import type { InterfaceStatus } from '../model/telemetry.ts';
import type { OwnerFilter } from '../recording/flow-tags.ts';
import type { HostInterfaceTable } from './host-interfaces.ts';
import type { ListeningPortsTable } from './listening-ports.ts';
import type { FlowSource } from '../flows/flow-entry.ts';

export type { InterfaceStatus } from '../model/telemetry.ts';

export type InterfaceKind = 'zmq' | 'packet';

/** Flow table operations every interface supports (implemented by flow-table.ts); `forEach` feeds the views (src/views/). */
export interface FlowTableApi extends FlowSource {
  /** Merges a socket event into the flow with the same direction-free key (creating it if needed). */
  applyEvent(event: SocketEvent, via: string, nowMs?: number): void;
  query(q: FlowQuery): FlowQueryResult;
  /** The flow with this direction-free tuple key (no VLAN), as the API shows it (an alert's join). */
  recordByTuple(tuple: string): FlowRecord | undefined;
  stats(): FlowTableStats;
  /** Top processes by bytes; the rest summed under `other` when `top` is given. */
  processTraffic(top?: number): ProcessTraffic[];
  /** Drops flows past their idle timeout / grace period. Called periodically. */
  expire(nowMs?: number): void;
}

export interface MonitoredInterface {
  /** Small stable numeric id (like ntopng's ifid), assigned in CLI order. */
  readonly id: number;
  /** The name as given (`tcp://*:5556c`, `lo`, `pcap:/tmp/x.pcap`). */
  readonly name: string;
  readonly kind: InterfaceKind;
  readonly flows: FlowTableApi;
  status(): InterfaceStatus;
  /** The counters events whose ifName is this interface (for ZMQ, all its exporters'), by host and ifName (dispatch rule 5). */
  readonly hostCounters: HostInterfaceTable;
  start(): Promise<void>;
  stop(): Promise<void>;
}

export interface PacketInterface extends MonitoredInterface {
  readonly kind: 'packet';
  /** The capture device name (`lo`), or the file of a `pcap:` interface. */
  readonly device: string;
  capture(): CaptureCounters;
  /** The continuous recording's state and counters (`enabled: false` when off). */
  recording(): RecordingStats;
  recordingSettings(): RecordingSettings | undefined;
  /** Turns recording on, changes it, or (undefined) turns it off; the capture reopens. */
  setRecording(settings: RecordingSettings | undefined): Promise<void>;
  /** The push targets of this interface's packets (none: []). */
  setPushTargets(targets: PushSinkConfig[]): Promise<void>;
  /** What each push target last reported. */
  pushStats(): PushTargetStats[];
  /** A live device (on-demand capture needs one), not a replayed file. */
  readonly live: boolean;
  /** Starts (config) or stops (undefined) the on-demand capture sink; a stop resolves once its pieces are complete. */
  setOnDemandCapture(config: OnDemandSinkConfig | undefined): Promise<void>;
  /** What the on-demand capture sink last reported. */
  onDemandStats(): OnDemandSinkStats | undefined;
  /** Keys of recorded flows (in the table or tagged) whose process, user or container match. */
  recordedFlowKeys(filter: OwnerFilter, fromMs: number, toMs: number): Set<string>;
}

export interface ZmqInterface extends MonitoredInterface {
  readonly kind: 'zmq';
  /** The ntopng-style endpoint list it was started with (`tcp://*:5556c,ipc:///tmp/x`). */
  readonly endpoints: string;
  /** Collector counters, exporters and rejected samples (latest snapshot). */
  collectorStats(): CollectorStats;
  /** Latest listening-ports announcement per host (instance name or first address). */
  readonly listeningPorts: ListeningPortsTable;
}
