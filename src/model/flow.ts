// A flow as operators see it: built from packets, from events, or from both.
import type { ContainerInfo, Endpoint, ProcessInfo, SideInfo, SocketEventType, TcpSnapshot } from './event.ts';

/** How a flow came to be known. */
export type SeenBy = 'packets' | 'events';

/** A short summary of one event merged into a flow (the flow keeps the last few). */
export interface FlowEventNote {
  timestamp: number;
  kind: 'flow' | 'netstat';
  eventType?: SocketEventType;
  /** Name of the ZMQ interface the event came through. */
  via: string;
  pid?: number;
}

/** One flow of a flow table, as the REST API returns it. */
export interface FlowRecord {
  /** Direction-free key: `proto|ipA|portA|ipB|portB|vlan` with the endpoints in a fixed order. */
  key: string;
  /** Community ID v1 of the flow (with the collector's seed): what an IDS alert names it by. */
  communityId: string;
  /** IANA protocol number (6 TCP, 17 UDP, 1 ICMP, 58 ICMPv6, ...). */
  protocol: number;
  protocolName: string;
  ipVersion: 4 | 6;
  vlan?: number;
  client: Endpoint;
  server: Endpoint;
  /** Packets and bytes seen on the wire (packet interfaces), client→server and server→client. */
  packets: number;
  bytes: number;
  clientToServer: { packets: number; bytes: number };
  serverToClient: { packets: number; bytes: number };
  /** Epoch milliseconds. */
  firstSeen: number;
  lastSeen: number;
  seenBy: SeenBy[];
  /** The process that owns the client or server socket on the host that reported it. */
  process?: ProcessInfo;
  parent?: ProcessInfo;
  container?: ContainerInfo;
  /** Which side `process` is on (the client's is shown when both are known). */
  processSide?: 'client' | 'server';
  /** What the hosts at each end reported about their socket (both ends may be monitored hosts). */
  sides?: { client?: SideInfo; server?: SideInfo };
  lastEvent?: SocketEventType | 'NETSTAT';
  latencyMs?: number;
  /** TCP state: from netstat snapshots, else from packets (SYN, FIN, RST). */
  tcp?: TcpSnapshot & { flags?: string };
  retransmittedPackets?: number;
  /** Deltas accumulated from netstat counters (cumulative counters turned into traffic). */
  netstat?: { segsIn: number; segsOut: number; bytesReceived: number; bytesAcked: number; resets: number };
  recentEvents: FlowEventNote[];
  /** Closed (FIN/RST or CLOSE event) and kept resolvable for the grace period. */
  closed: boolean;
}

export type FlowSort = 'bytes' | 'packets' | 'lastSeen' | 'firstSeen';

/** Filters of GET /api/v1/interfaces/:id/flows. */
export interface FlowQuery {
  /** Matches client or server IP (canonical form). */
  host?: string;
  /** Matches client or server port. */
  port?: number;
  /** Substring of process path (case-insensitive), or an exact PID. */
  process?: string;
  /** A Community ID (`1:...`). */
  communityId?: string;
  limit?: number;
  sort?: FlowSort;
}

export interface FlowQueryResult {
  total: number;
  flows: FlowRecord[];
}

/** Size and health of a flow table (for /metrics and the API). */
export interface FlowTableStats {
  active: number;
  bound: number;
  bySeen: { packets: number; events: number; both: number };
  /** Flows pushed out because the table was full. */
  evicted: number;
  /** Flows removed after their idle timeout or grace period. */
  expired: number;
}

/** Bytes and packets per process name across a table (the merged per-process view). */
export interface ProcessTraffic {
  process: string;
  bytes: number;
  packets: number;
}
