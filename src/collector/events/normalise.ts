// Validated producer records → the one event model (src/model/event.ts).
// Absorbs the real producers' differences: libebpfflow's SRC/DST and nprobe_mini's
// LOCAL/REMOTE naming, IF_NAME vs INTERFACE_NAME, string or numeric timestamps,
// Docker and Kubernetes containers. Values are shown as sent: no PID/TID "fixes".
import { ipv4FromU32 } from '../../model/address.ts';
import { serverByWellKnownPort } from '../../model/orientation.ts';
import { canonicalAddress } from './address-memo.ts';
import type {
  ContainerInfo, CountersEvent, Endpoint, ListeningPort, ListeningPortsEvent, ProcessInfo, SideInfo, SocketEvent, SocketEventType,
} from '../../model/event.ts';

export type Raw = Record<string, unknown>;

/** A record that passed the schema but still cannot be an event (e.g. a non-canonical address). */
export class NormaliseError extends Error {}

/** The socket record fields normalisation reads; any other is an additional field (socketExtra). */
export const SOCKET_KEYS: ReadonlySet<string> = new Set([
  'timestamp', 'INTERFACE_NAME', 'IF_NAME', 'IP_PROTOCOL_VERSION', 'PROTOCOL', 'TCP_EVENT_TYPE', 'UDP_EVENT_TYPE',
  'IPV4_SRC_ADDR', 'IPV4_DST_ADDR', 'IPV6_SRC_ADDR', 'IPV6_DST_ADDR', 'L4_SRC_PORT', 'L4_DST_PORT',
  'IPV4_LOCAL_ADDR', 'IPV4_REMOTE_ADDR', 'IPV6_LOCAL_ADDR', 'IPV6_REMOTE_ADDR', 'L4_LOCAL_PORT', 'L4_REMOTE_PORT',
  'NW_LATENCY_MS', 'RETRAN_PKTS', 'EXPORTER_IPV4_ADDRESS', 'TID',
  'LOCAL_PROCESS', 'REMOTE_PROCESS', 'LOCAL_FATHER_PROCESS', 'REMOTE_FATHER_PROCESS', 'LOCAL_CONTAINER', 'REMOTE_CONTAINER', 'TCP',
]);

const COUNTERS_KEYS = new Set([
  'deviceIP', 'ifIndex', 'ifName', 'ifType', 'ifSpeed', 'ifDirection', 'ifAdminStatus', 'ifOperStatus',
  'ifInOctets', 'ifInPackets', 'ifInErrors', 'ifOutOctets', 'ifOutPackets', 'ifOutErrors', 'ifPromiscuousMode',
]);

function extraOf(r: Raw, known: ReadonlySet<string>, isKnown: (k: string) => boolean = () => false): Record<string, unknown> | undefined {
  let extra: Record<string, unknown> | undefined;
  for (const k in r) {
    if (known.has(k) || isKnown(k)) continue;
    extra ??= {};
    // A "__proto__" key is data like any other: assigning it would set the prototype instead.
    if (k === '__proto__') Object.defineProperty(extra, k, { value: r[k], enumerable: true, writable: true, configurable: true });
    else extra[k] = r[k];
  }
  return extra;
}

function processOf(v: unknown): ProcessInfo | undefined {
  if (v === undefined) return undefined;
  const p = v as Raw;
  const out: ProcessInfo = { pid: p.PID as number };
  if (p.TID !== undefined) out.tid = p.TID as number;
  if (p.UID !== undefined) out.uid = p.UID as number;
  if (p.UID_NAME !== undefined) out.user = p.UID_NAME as string;
  if (p.GID !== undefined) out.gid = p.GID as number;
  if (p.GID_NAME !== undefined) out.group = p.GID_NAME as string;
  if (p.PROCESS_PATH !== undefined) out.path = p.PROCESS_PATH as string;
  if (p.PROCESS_CMDLINE !== undefined) out.cmdline = p.PROCESS_CMDLINE as string;
  if (p.VM_SIZE !== undefined) out.vmSizeKb = p.VM_SIZE as number;
  if (p.VM_PEAK !== undefined) out.vmPeakKb = p.VM_PEAK as number;
  return out;
}

export function containerOf(v: unknown): ContainerInfo | undefined {
  if (v === undefined) return undefined;
  const c = v as Raw;
  const out: ContainerInfo = {};
  if (typeof c.ID === 'string') out.id = c.ID;
  if (typeof c.NAME === 'string') out.name = c.NAME;
  const docker = c.DOCKER as Raw | undefined;
  const k8s = c.K8S as Raw | undefined;
  if (docker) {
    out.runtime = 'docker';
    if (typeof docker.ID === 'string') out.id = docker.ID;
    if (typeof docker.NAME === 'string') out.name = docker.NAME;
  }
  if (k8s) {
    out.runtime = 'k8s';
    if (typeof k8s.ID === 'string') out.id = k8s.ID;
    if (typeof k8s.NAME === 'string') out.name = k8s.NAME;
    if (typeof k8s.POD === 'string') out.pod = k8s.POD;
    if (typeof k8s.NS === 'string') out.namespace = k8s.NS;
  }
  return out;
}

const SIDE_KEYS = {
  LOCAL: { process: 'LOCAL_PROCESS', parent: 'LOCAL_FATHER_PROCESS', container: 'LOCAL_CONTAINER' },
  REMOTE: { process: 'REMOTE_PROCESS', parent: 'REMOTE_FATHER_PROCESS', container: 'REMOTE_CONTAINER' },
} as const;

function sideOf(r: Raw, prefix: 'LOCAL' | 'REMOTE'): SideInfo {
  const keys = SIDE_KEYS[prefix];
  const side: SideInfo = {};
  const process = processOf(r[keys.process]);
  const parent = processOf(r[keys.parent]);
  const container = containerOf(r[keys.container]);
  if (process) side.process = process;
  if (parent) side.parent = parent;
  if (container) side.container = container;
  return side;
}

function endpoint(ip: unknown, port: unknown): Endpoint {
  const canonical = canonicalAddress(ip as string);
  if (canonical === undefined) throw new NormaliseError(`address ${JSON.stringify(ip)} is not a valid IP address`);
  return { ip: canonical, port: port as number };
}

/**
 * The two endpoints of one naming family (`SRC`/`DST` or `LOCAL`/`REMOTE`) when it is
 * complete: both ports, and both addresses of one IP version. Undefined otherwise.
 */
function addressPair(r: Raw, family: NamingFamily): [Endpoint, Endpoint] | undefined {
  const portA = r[family.ports[0]];
  const portB = r[family.ports[1]];
  if (portA === undefined || portB === undefined) return undefined;
  for (const [a, b] of family.addresses) {
    const ipA = r[a];
    const ipB = r[b];
    if (ipA !== undefined && ipB !== undefined) return [endpoint(ipA, portA), endpoint(ipB, portB)];
  }
  return undefined;
}

interface NamingFamily {
  ports: [string, string];
  addresses: [string, string][];
}
const SRC_DST: NamingFamily = { ports: ['L4_SRC_PORT', 'L4_DST_PORT'], addresses: [['IPV4_SRC_ADDR', 'IPV4_DST_ADDR'], ['IPV6_SRC_ADDR', 'IPV6_DST_ADDR']] };
const LOCAL_REMOTE: NamingFamily = { ports: ['L4_LOCAL_PORT', 'L4_REMOTE_PORT'], addresses: [['IPV4_LOCAL_ADDR', 'IPV4_REMOTE_ADDR'], ['IPV6_LOCAL_ADDR', 'IPV6_REMOTE_ADDR']] };

/**
 * Is the local socket the client, when no TCP event type says so? A listening socket
 * is a server. Otherwise the well-known port rule decides (src/model/orientation.ts),
 * as it does for packets; failing that, for a netstat TCP snapshot the lower port is
 * the service's, and for UDP the sender is the client, as for packets (`localSent`:
 * the local host sent what the event reports).
 */
function localIsClientByPorts(local: Endpoint, remote: Endpoint, tcpState: unknown, localSent: boolean): boolean {
  if (tcpState === 'LISTEN') return false;
  const server = serverByWellKnownPort(local.port, remote.port);
  if (server !== undefined) return server === 'b';
  if (tcpState !== undefined && local.port !== remote.port) return local.port > remote.port;
  return localSent;
}

export function timestampOf(v: unknown): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'string') return Number(v);
  return Date.now() / 1000;
}

/**
 * What a socket record says once its endpoints are oriented: the part of normalisation
 * both forms of an event share, the object (normaliseSocketEvent) and the hand-off's
 * packed layout (BatchPacker.addSocketRecord, which reads the rest from the record).
 * Throws NormaliseError for a record that passed the schema but cannot be an event.
 */
export interface OrientedSocket {
  kind: SocketEvent['kind'];
  protocol: 6 | 17;
  ipVersion: 4 | 6;
  eventType: SocketEventType | undefined;
  client: Endpoint;
  server: Endpoint;
  localIsClient: boolean;
  /** The record's TCP block (a netstat snapshot), as sent. */
  tcpBlock: Raw | undefined;
}

export function orientSocketRecord(r: Raw): OrientedSocket {
  const protocol = r.PROTOCOL as 6 | 17;
  const eventType = (r.TCP_EVENT_TYPE ?? r.UDP_EVENT_TYPE) as SocketEventType | undefined;
  const tcpBlock = r.TCP as Raw | undefined;
  const kind = tcpBlock !== undefined && eventType === undefined ? 'netstat' : 'flow';
  // The schema asks for at least one complete naming family; use the one that is.
  const srcDst = addressPair(r, SRC_DST);
  const localRemote = srcDst ? undefined : addressPair(r, LOCAL_REMOTE);

  // Work out which endpoint is the local host's and which is the client.
  const tcpState = tcpBlock === undefined ? undefined : tcpBlock.CONN_STATE ?? 'unknown';
  let local: Endpoint;
  let remote: Endpoint;
  let localIsClient: boolean;
  if (srcDst) {
    // libebpfflow: SRC is the TCP client, so for ACCEPT the local host is DST (the server),
    // and for CONNECT, CONNECT_FAILED, CLOSE and RETRANSMIT it is SRC. Received UDP
    // packets are labelled SEND too, without a local process: there the local host is DST.
    const [src, dst] = srcDst;
    const received = eventType === 'ACCEPT' || eventType === 'RECV' || (protocol === 17 && eventType === 'SEND' && r.LOCAL_PROCESS === undefined);
    local = received ? dst : src;
    remote = received ? src : dst;
    if (protocol === 6 && eventType !== undefined) localIsClient = eventType !== 'ACCEPT';
    else localIsClient = localIsClientByPorts(local, remote, tcpState, !received);
  } else if (localRemote) {
    // nprobe_mini names the sides: CONNECT means the local host is the client, ACCEPT the server.
    [local, remote] = localRemote;
    if (protocol === 6 && eventType !== undefined) localIsClient = eventType !== 'ACCEPT';
    else localIsClient = localIsClientByPorts(local, remote, tcpState, eventType !== 'RECV');
  } else {
    throw new NormaliseError('no complete pair of addresses and ports (SRC/DST or LOCAL/REMOTE, both IPv4 or both IPv6)');
  }

  // The addresses decide; a producer that says otherwise is wrong, and says so in the sample.
  const ipVersion = local.ip.includes(':') ? 6 : 4;
  if (r.IP_PROTOCOL_VERSION !== undefined && r.IP_PROTOCOL_VERSION !== ipVersion) {
    throw new NormaliseError(`IP_PROTOCOL_VERSION ${String(r.IP_PROTOCOL_VERSION)} with IPv${ipVersion} addresses`);
  }
  return {
    kind, protocol, ipVersion, eventType, tcpBlock, localIsClient,
    client: localIsClient ? local : remote,
    server: localIsClient ? remote : local,
  };
}

/** The record's fields no schema names, kept as they were sent (undefined when none). */
export function socketExtra(r: Raw): Record<string, unknown> | undefined {
  return extraOf(r, SOCKET_KEYS);
}

/** The event of a socket record; `extra` is socketExtra(r), which the caller may have checked. */
export function socketEvent(r: Raw, o: OrientedSocket, extra = socketExtra(r)): SocketEvent {
  const { tcpBlock, eventType } = o;
  const event: SocketEvent = {
    kind: o.kind,
    timestamp: timestampOf(r.timestamp),
    ipVersion: o.ipVersion,
    protocol: o.protocol,
    client: o.client,
    server: o.server,
    localSide: o.localIsClient ? 'client' : 'server',
    local: sideOf(r, 'LOCAL'),
    remote: sideOf(r, 'REMOTE'),
  };
  const ifName = (r.INTERFACE_NAME ?? r.IF_NAME) as string | undefined;
  if (ifName !== undefined) event.ifName = ifName;
  if (eventType !== undefined) event.eventType = eventType;
  if (r.NW_LATENCY_MS !== undefined) event.latencyMs = r.NW_LATENCY_MS as number;
  if (r.RETRAN_PKTS !== undefined) event.retransmittedPackets = r.RETRAN_PKTS as number;
  if (r.EXPORTER_IPV4_ADDRESS !== undefined) event.exporterIp = r.EXPORTER_IPV4_ADDRESS as string;
  if (r.TID !== undefined) event.tid = r.TID as number;
  if (tcpBlock) {
    event.tcp = {
      state: tcpBlock.CONN_STATE as string | undefined,
      segsIn: tcpBlock.SEGS_IN as number | undefined,
      segsOut: tcpBlock.SEGS_OUT as number | undefined,
      unackSegments: tcpBlock.UNACK_SEGMENTS as number | undefined,
      retransmittedPackets: tcpBlock.RETRAN_PKTS as number | undefined,
      lostPackets: tcpBlock.LOST_PKTS as number | undefined,
      rttMs: tcpBlock.RTT as number | undefined,
      rttVarianceMs: tcpBlock.RTT_VARIANCE as number | undefined,
      bytesReceived: tcpBlock.BYTES_RCVD as number | undefined,
      bytesAcked: tcpBlock.BYTES_ACKED as number | undefined,
    };
  }
  if (extra) event.extra = extra;
  return event;
}

export function normaliseSocketEvent(r: Raw): SocketEvent {
  return socketEvent(r, orientSocketRecord(r));
}

export function normaliseCounters(r: Raw): CountersEvent {
  const device = r.deviceIP;
  const event: CountersEvent = {
    kind: 'counters',
    deviceIp: typeof device === 'number' ? ipv4FromU32(device) : (device as string),
    ifIndex: r.ifIndex as number,
    inOctets: (r.ifInOctets as number | undefined) ?? 0,
    inPackets: (r.ifInPackets as number | undefined) ?? 0,
    inErrors: (r.ifInErrors as number | undefined) ?? 0,
    outOctets: (r.ifOutOctets as number | undefined) ?? 0,
    outPackets: (r.ifOutPackets as number | undefined) ?? 0,
    outErrors: (r.ifOutErrors as number | undefined) ?? 0,
  };
  if (r.ifName !== undefined) event.ifName = r.ifName as string;
  if (r.ifType !== undefined) event.ifType = r.ifType as number;
  if (r.ifSpeed !== undefined) event.ifSpeed = r.ifSpeed as number;
  if (r.ifDirection !== undefined) event.ifDirection = r.ifDirection as string;
  if (r.ifAdminStatus !== undefined) event.adminUp = r.ifAdminStatus === 'Up';
  if (r.ifOperStatus !== undefined) event.operUp = r.ifOperStatus === 'Up';
  if (r.ifPromiscuousMode !== undefined) event.promiscuous = Boolean(r.ifPromiscuousMode);
  // Producers attach the container under LOCAL_CONTAINER (or another *CONTAINER key).
  const containerKey = Object.keys(r).find((k) => k.endsWith('CONTAINER'));
  if (containerKey) event.container = containerOf(r[containerKey]);
  const extra = extraOf(r, COUNTERS_KEYS, (k) => k === containerKey);
  if (extra) event.extra = extra;
  return event;
}

const LISTEN_FAMILIES = [
  ['tcp4', 'tcp', 4],
  ['udp4', 'udp', 4],
  ['tcp6', 'tcp', 6],
  ['udp6', 'udp', 6],
] as const;

export function normaliseListeningPorts(r: Raw): ListeningPortsEvent {
  const lists = r['listening-ports'] as Record<string, { port: number; proc?: string; pkg?: string }[] | undefined>;
  const ports: ListeningPort[] = [];
  for (const [key, protocol, ipVersion] of LISTEN_FAMILIES) {
    for (const p of lists[key] ?? []) {
      const port: ListeningPort = { protocol, ipVersion, port: p.port };
      if (p.proc !== undefined) port.process = p.proc;
      if (p.pkg !== undefined) port.package = p.pkg;
      ports.push(port);
    }
  }
  const addresses = ((r['ip-addresses'] as string[] | undefined) ?? []).map((a) => canonicalAddress(a) ?? a);
  const event: ListeningPortsEvent = { kind: 'listening-ports', addresses, ports };
  if (typeof r['instance-name'] === 'string') event.instanceName = r['instance-name'];
  return event;
}
