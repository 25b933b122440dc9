// IDS alerts (Suricata EVE `event_type: "alert"` records) as flowbridge keeps them:
// where each came from, the record itself, and the flow it names on the packet
// interfaces (joined by Community ID, else by the direction-free 5-tuple).
import type { Endpoint, ProcessInfo } from './event.ts';

/** Where an alert arrived from: --eve-file, --eve-socket, POST /api/v1/alerts, or one of flowbridge's own rules. */
export type AlertSource = 'eve-file' | 'eve-socket' | 'api' | 'rule';
export const ALERT_SOURCES: readonly AlertSource[] = ['eve-file', 'eve-socket', 'api', 'rule'];

/** A Suricata EVE record: kept as it came; only the fields read here are typed. */
export interface EveRecord {
  event_type: string;
  timestamp?: string;
  flow_id?: number;
  src_ip?: string;
  src_port?: number;
  dest_ip?: string;
  dest_port?: number;
  proto?: string | number;
  community_id?: string;
  icmp_type?: number;
  icmp_code?: number;
  alert?: { signature_id?: number; signature?: string; gid?: number; rev?: number; severity?: number; category?: string; action?: string };
  [field: string]: unknown;
}

/** What an alert names its flow by, checked and canonical. */
export interface AlertFlowRef {
  /** IANA protocol number. */
  protocol: number;
  src: Endpoint;
  dest: Endpoint;
  /** Direction-free tuple key (flows/flow-key.ts); ICMP with ports 0, as the flow table keys it. */
  tuple: string;
  communityId?: string;
  /** ICMP: the record's icmp_type and icmp_code (the flow table keys ICMP without them). */
  icmp?: { type: number; code: number };
}

/** A flow an alert joined, as it was when joined. */
export interface MatchedFlow {
  /** The packet interface's name. */
  interface: string;
  interfaceId: number;
  key: string;
  communityId: string;
  protocol: number;
  client: Endpoint;
  server: Endpoint;
  process?: ProcessInfo;
  /** How it was found: the record's community_id agreed, or (no community_id) the 5-tuple. */
  by: 'community-id' | '5-tuple';
}

/**
 * pending: no flow yet, retried for a short while; matched: `flows` holds one flow per
 * packet interface that has it; unmatched: given up (`unmatchedReason` says why).
 */
export type AlertStatus = 'pending' | 'matched' | 'unmatched';
export type UnmatchedReason = 'no-flow' | 'community-id-differs' | 'pending-queue-full';

export interface StoredAlert {
  id: string;
  /** Epoch milliseconds when flowbridge received it. */
  receivedAt: number;
  source: AlertSource;
  record: EveRecord;
  status: AlertStatus;
  flows: MatchedFlow[];
  unmatchedReason?: UnmatchedReason;
}

/** Why a line or record from the network was not taken as an alert. */
export type AlertRejectReason = 'bad-json' | 'not-an-object' | 'no-event-type' | 'no-alert-object' | 'no-5-tuple' | 'bad-community-id' | 'line-too-long' | 'not-utf8';

export interface AlertRejectedSample {
  /** Epoch milliseconds. */
  at: number;
  source: AlertSource;
  reason: AlertRejectReason;
  detail: string;
  /** The start of the line, printable. */
  excerpt: string;
}

export interface AlertBound {
  size: number;
  max: number;
  dropped: number;
}

export interface AlertStats {
  /** Alerts taken, by source. */
  bySource: Record<AlertSource, number>;
  /** Alerts taken, by `alert.signature_id` (the most frequent first, at most 100 shown). */
  bySignature: { signatureId: number; signature?: string; count: number }[];
  /** Records of other event types, skipped, by event type. */
  skippedByEventType: Record<string, number>;
  /** Lines or records refused, by reason. */
  rejected: Partial<Record<AlertRejectReason, number>>;
  /** The last refused lines. */
  samples: AlertRejectedSample[];
  matched: number;
  /** Alerts given up on, by reason. */
  unmatched: Partial<Record<UnmatchedReason, number>>;
  /** Alerts waiting for their flow now. */
  pending: AlertBound;
  /** The alert store: its size, bound and evictions. */
  store: AlertBound;
  /** The EVE file follower, when --eve-file is given. */
  file?: EveFileStats;
  /** The EVE socket, when --eve-socket is given. */
  socket?: EveSocketStats;
}

export interface EveFileStats {
  path: string;
  /** starting: not looked at yet; waiting-for-file: it does not exist (yet). */
  state: 'starting' | 'waiting-for-file' | 'following' | 'error';
  error?: string;
  inode?: number;
  offset: number;
  lines: number;
  rotations: number;
  truncations: number;
}

export interface EveSocketStats {
  path: string;
  state: 'listening' | 'error' | 'stopped';
  error?: string;
  clients: AlertBound;
  connections: number;
  lines: number;
}
