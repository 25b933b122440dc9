// An extraction as a person asks for it (REST query, ntopng's URLs, a job, the page's
// dialog): a window in epoch seconds and optional filters, checked here with messages
// that say what is accepted. Host and port become BPF (libpcap is the authority on
// the syntax); process, user and container become flow keys, resolved by the caller
// against what the flow table and the recording's tags know.
import { isIP } from 'node:net';
import { checkFilter, ExtractionError, type ExtractionQuery } from './reader.ts';

export interface ExtractionRequest {
  /** Epoch seconds, fractions allowed (text keeps nanoseconds exact). */
  begin: string;
  end: string;
  bpf?: string;
  host?: string;
  port?: number;
  /** A flows API key: proto|ipA|portA|ipB|portB[|vlan]. */
  flow?: string;
  /** Process path, name or PID. */
  process?: string;
  user?: string;
  container?: string;
}

export const REQUEST_KEYS = ['begin', 'end', 'bpf', 'host', 'port', 'flow', 'process', 'user', 'container'] as const;

/** Seconds since the epoch as exact nanoseconds: "1700000000.123456789" → 1700000000123456789n. */
export function secondsToNs(text: string, what: string): bigint {
  const m = /^\s*(\d{1,12})(?:\.(\d{1,9})\d*)?\s*$/.exec(text);
  if (!m) throw new ExtractionError(`${what} ${JSON.stringify(text)} is not a time: give epoch seconds, fractions allowed (e.g. 1764623400.25)`);
  return BigInt(m[1]) * 1_000_000_000n + BigInt((m[2] ?? '').padEnd(9, '0'));
}

const FLOW_KEY = /^\d{1,3}\|[0-9a-fA-F:.]+\|\d{1,5}\|[0-9a-fA-F:.]+\|\d{1,5}(\|\d{1,4})?$/;

/** Reads a request from query-string-like values; throws ExtractionError saying what is wrong. */
export function extractionRequest(input: Record<string, unknown>): ExtractionRequest {
  const unknown = Object.keys(input).filter((k) => !(REQUEST_KEYS as readonly string[]).includes(k) && input[k] !== undefined);
  if (unknown.length) throw new ExtractionError(`unknown parameter ${unknown.join(', ')}: accepted are ${REQUEST_KEYS.join(', ')}`);
  const text = (k: string): string | undefined => {
    const v = input[k];
    if (v === undefined || v === null || v === '') return undefined;
    if (typeof v === 'number') return String(v);
    if (typeof v !== 'string') throw new ExtractionError(`${k} must be text or a number`);
    return v;
  };
  const begin = text('begin');
  const end = text('end');
  if (begin === undefined || end === undefined) throw new ExtractionError('begin and end are required: the window in epoch seconds (fractions allowed)');
  const r: ExtractionRequest = { begin, end };
  const bpf = text('bpf');
  if (bpf !== undefined) r.bpf = bpf;
  const host = text('host');
  if (host !== undefined) {
    if (!isIP(host)) throw new ExtractionError(`host ${JSON.stringify(host)} is not an IPv4 or IPv6 address`);
    r.host = host;
  }
  const port = text('port');
  if (port !== undefined) {
    if (!/^\d{1,5}$/.test(port) || Number(port) > 65535) throw new ExtractionError(`port ${JSON.stringify(port)}: expected a number from 0 to 65535`);
    r.port = Number(port);
  }
  const flow = text('flow');
  if (flow !== undefined) {
    if (!FLOW_KEY.test(flow)) throw new ExtractionError(`flow ${JSON.stringify(flow)} is not a flow key: proto|ipA|portA|ipB|portB[|vlan], as the flows API shows it`);
    r.flow = flow;
  }
  for (const k of ['process', 'user', 'container'] as const) {
    const v = text(k);
    if (v !== undefined) r[k] = v;
  }
  const b = secondsToNs(r.begin, 'begin');
  const e = secondsToNs(r.end, 'end');
  if (b > e) throw new ExtractionError(`begin (${r.begin}) is after end (${r.end})`);
  if (r.bpf !== undefined) checkFilter(r.bpf);
  return r;
}

/** The BPF a request asks for: its own filter, and host and port folded in. */
export function requestBpf(r: ExtractionRequest): string | undefined {
  const parts: string[] = [];
  if (r.bpf) parts.push(`(${r.bpf})`);
  if (r.host) parts.push(`host ${r.host}`);
  if (r.port !== undefined) parts.push(`port ${r.port}`);
  return parts.length ? parts.join(' and ') : undefined;
}

/** Whether the request selects flows by who made them (so the caller must resolve flow keys). */
export const selectsBySocket = (r: ExtractionRequest) => r.process !== undefined || r.user !== undefined || r.container !== undefined;

/** The reader's query: window, BPF, and the flow keys (`flows`: resolved by the caller for process/user/container). */
export function extractionQuery(r: ExtractionRequest, flows?: ReadonlySet<string>): ExtractionQuery {
  const q: ExtractionQuery = { beginNs: secondsToNs(r.begin, 'begin'), endNs: secondsToNs(r.end, 'end') };
  const bpf = requestBpf(r);
  if (bpf) q.bpf = bpf;
  let keys = flows;
  if (r.flow) keys = keys ? new Set([...keys].filter((k) => k === r.flow)) : new Set([r.flow]);
  if (keys) q.flows = keys;
  return q;
}
