// The normalised event model: what the collector hands to dispatch, whatever the
// producer, header version or encoding. Field names follow the field (flows have a
// client and a server; the socket owner is on the local side of the host that sent it).

/** The kinds of event flowbridge understands. */
export type EventKind = 'flow' | 'netstat' | 'counters' | 'listening-ports';

/** Socket event types as producers send them (TCP_EVENT_TYPE / UDP_EVENT_TYPE). */
export type SocketEventType = 'ACCEPT' | 'CONNECT' | 'CONNECT_FAILED' | 'CLOSE' | 'RETRANSMIT' | 'SEND' | 'RECV';

/** IANA protocol numbers we build flows for from events. */
export type IpProtocol = 6 | 17;

export interface Endpoint {
  /** Canonical text form: dotted quad for IPv4, RFC 5952 for IPv6. */
  ip: string;
  port: number;
}

/** A process as the producer described it (LOCAL_PROCESS and friends). Shown as sent. */
export interface ProcessInfo {
  pid: number;
  tid?: number;
  uid?: number;
  /** UID_NAME */
  user?: string;
  gid?: number;
  /** GID_NAME */
  group?: string;
  /** PROCESS_PATH */
  path?: string;
  /** PROCESS_CMDLINE */
  cmdline?: string;
  vmSizeKb?: number;
  vmPeakKb?: number;
}

export interface ContainerInfo {
  runtime?: 'docker' | 'k8s';
  id?: string;
  name?: string;
  /** Kubernetes pod name */
  pod?: string;
  /** Kubernetes namespace */
  namespace?: string;
}

/** The TCP block of a netstat event: absolute (cumulative) counters at snapshot time. */
export interface TcpSnapshot {
  state?: string;
  segsIn?: number;
  segsOut?: number;
  unackSegments?: number;
  retransmittedPackets?: number;
  lostPackets?: number;
  rttMs?: number;
  rttVarianceMs?: number;
  bytesReceived?: number;
  bytesAcked?: number;
}

/** What one host said about one of its sockets. */
export interface SideInfo {
  process?: ProcessInfo;
  parent?: ProcessInfo;
  container?: ContainerInfo;
}

/**
 * A flow or netstat event about one socket. `client` is the connecting side
 * (TCP) or the side that is not the service (UDP); `localSide` says which of
 * the two is the host that produced the event, and so whose `local` process it is.
 */
export interface SocketEvent {
  kind: 'flow' | 'netstat';
  /** Seconds since the epoch, with fraction (producer's user-space clock). */
  timestamp: number;
  /** INTERFACE_NAME, or the older IF_NAME. */
  ifName?: string;
  ipVersion: 4 | 6;
  protocol: IpProtocol;
  eventType?: SocketEventType;
  client: Endpoint;
  server: Endpoint;
  /** Which endpoint belongs to the host that sent the event. */
  localSide: 'client' | 'server';
  /** LOCAL_PROCESS / LOCAL_FATHER_PROCESS / LOCAL_CONTAINER */
  local: SideInfo;
  /** REMOTE_PROCESS / REMOTE_FATHER_PROCESS / REMOTE_CONTAINER */
  remote: SideInfo;
  /** NW_LATENCY_MS (CONNECT only) */
  latencyMs?: number;
  /** RETRAN_PKTS of a RETRANSMIT event */
  retransmittedPackets?: number;
  /** The netstat TCP block. */
  tcp?: TcpSnapshot;
  /** EXPORTER_IPV4_ADDRESS */
  exporterIp?: string;
  /** The top-level TID */
  tid?: number;
  /** Keys not understood, kept as sent. */
  extra?: Record<string, unknown>;
}

/** An interface counters update (topic `counter`). Counters are cumulative per (device, ifIndex). */
export interface CountersEvent {
  kind: 'counters';
  /** deviceIP as a dotted quad, whichever form was sent. */
  deviceIp: string;
  ifIndex: number;
  ifName?: string;
  ifType?: number;
  ifSpeed?: number;
  ifDirection?: string;
  adminUp?: boolean;
  operUp?: boolean;
  promiscuous?: boolean;
  inOctets: number;
  inPackets: number;
  inErrors: number;
  outOctets: number;
  outPackets: number;
  outErrors: number;
  container?: ContainerInfo;
  extra?: Record<string, unknown>;
}

export interface ListeningPort {
  protocol: 'tcp' | 'udp';
  ipVersion: 4 | 6;
  port: number;
  process?: string;
  package?: string;
}

/** Listening sockets of one host (topic `listening-ports`). */
export interface ListeningPortsEvent {
  kind: 'listening-ports';
  instanceName?: string;
  addresses: string[];
  ports: ListeningPort[];
}

export type CollectedEvent = SocketEvent | CountersEvent | ListeningPortsEvent;
