// Packets carry payloads: the routes that return them are known by path, need the API
// token whenever one is set (reads included, whatever --protect-reads says), and each
// download leaves an audit line: who, from where, what was asked, how much was sent.
import { appendFileSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';

const PACKET_ROUTES = [
  /^\/api\/v1\/interfaces\/[^/]+\/pcap$/,
  /^\/api\/v1\/extractions\/[^/]+\/files\/[^/]+$/,
  /^\/api\/v1\/captures\/[^/]+$/,
  /^\/api\/v1\/conditional-pcap\/[^/]+\/download$/,
  /^\/api\/v1\/alerts\/[^/]+\/pcap$/,
  /^\/lua\/rest\/v2\/get\/pcap\/live_extraction\.lua$/,
  /^\/lua\/live_traffic_extraction\.lua$/,
];

/** True for a route that returns packet payloads. */
export const carriesPackets = (path: string): boolean => PACKET_ROUTES.some((r) => r.test(path));

export interface AuditEntry {
  /** `token` when the caller gave the API token, else `anonymous` (no token is configured). */
  who: string;
  address?: string;
  route: string;
  interface?: string;
  request?: unknown;
  /** Packets and bytes sent, when known when the line is written. */
  packets?: number;
  bytes?: number;
  outcome: string;
}

/** Appends one JSON line per packet download to `<data-dir>/audit.log`. */
export class AuditLog {
  readonly path: string;

  constructor(path: string) {
    this.path = path;
    mkdirSync(dirname(path), { recursive: true });
  }

  write(entry: AuditEntry): void {
    appendFileSync(this.path, JSON.stringify({ time: new Date().toISOString(), ...entry }) + '\n', { mode: 0o600 });
  }
}
