// Packets carry payloads: the routes that return them are known by path, need the pcap
// permission (or, with no users configured, the API token whenever one is set), and
// each download leaves an audit line. The same audit log takes every sign-in, token,
// user and settings change: who, from where, what, on what, with which parameters, and
// how it ended. JSON lines in <data-dir>/audit.log, rotated by size to audit.log.1.
import { appendFileSync, existsSync, mkdirSync, readFileSync, renameSync, statSync } from 'node:fs';
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

/** True for a route that returns packet payloads (on GET). */
export const carriesPackets = (path: string): boolean => PACKET_ROUTES.some((r) => r.test(path));

export interface AuditEntry {
  /** The user's name; `token` for the API token; `anonymous` when no credential was needed or given. */
  user: string;
  /** What was done: `login`, `token.create`, `user.update`, `pcap.download`, `recording.change`, ... */
  action: string;
  /** What it was done to: a user, an interface, a job, a push target, the path. */
  target?: string;
  /** The request's parameters (secrets left out). */
  parameters?: unknown;
  /** `ok`, `sent`, `empty: <reason>`, `failed`, `denied: <why>`, or the HTTP status of a refusal. */
  result: string;
  address?: string;
  route?: string;
  interface?: string;
  /** Packets and bytes sent, when known when the line is written. */
  packets?: number;
  bytes?: number;
}

export type AuditLine = AuditEntry & { time: string };

/** Appends one JSON line per action; past `maxBytes` the file becomes audit.log.1 (replacing the one before). */
export class AuditLog {
  readonly path: string;
  readonly maxBytes: number;
  private bytes: number;
  rotations = 0;

  constructor(path: string, maxBytes = 10 * 1024 * 1024) {
    this.path = path;
    this.maxBytes = maxBytes;
    mkdirSync(dirname(path), { recursive: true });
    this.bytes = existsSync(path) ? statSync(path).size : 0;
  }

  write(entry: AuditEntry): void {
    const line = JSON.stringify({ time: new Date().toISOString(), ...entry }) + '\n';
    const size = Buffer.byteLength(line);
    if (this.bytes > 0 && this.bytes + size > this.maxBytes) {
      renameSync(this.path, `${this.path}.1`);
      this.bytes = 0;
      this.rotations++;
    }
    appendFileSync(this.path, line, { mode: 0o600 });
    this.bytes += size;
  }

  /** The newest `limit` lines, newest first (from audit.log, then audit.log.1). */
  recent(limit: number): AuditLine[] {
    const out: AuditLine[] = [];
    for (const file of [this.path, `${this.path}.1`]) {
      if (out.length >= limit || !existsSync(file)) continue;
      const lines = readFileSync(file, 'utf8').split('\n').filter((l) => l !== '');
      for (let i = lines.length - 1; i >= 0 && out.length < limit; i--) {
        try {
          out.push(JSON.parse(lines[i]) as AuditLine);
        } catch {
          // a line cut short by a crash: skipped
        }
      }
    }
    return out;
  }
}

/** `body` as it goes to the client, calling `sent(bytes)` once it has all gone (the audit line is written then). */
export function countedBody(body: ReadableStream<Uint8Array>, sent: (bytes: number) => void): ReadableStream<Uint8Array> {
  let bytes = 0;
  return body.pipeThrough(new TransformStream<Uint8Array, Uint8Array>({
    transform(chunk, controller) {
      bytes += chunk.length;
      controller.enqueue(chunk);
    },
    flush() {
      sent(bytes);
    },
  }));
}
