// Suricata EVE JSON, one record per line: which records are alerts, and what flow an
// alert names (protocol, the two endpoints, the direction-free key, the Community ID).
// Errors are values: a reader counts them by reason and goes on.
import { canonicalIp } from '../model/address.ts';
import type { AlertFlowRef, AlertRejectReason, EveRecord } from '../model/alert.ts';
import { tupleKey } from '../flows/flow-key.ts';

export type EveParse =
  | { kind: 'alert'; record: EveRecord; flow: AlertFlowRef }
  | { kind: 'skipped'; eventType: string }
  | { kind: 'rejected'; reason: AlertRejectReason; detail: string };

/** Suricata's protocol names (it writes unknown protocols as their number, e.g. "047"). */
const PROTOCOLS: Record<string, number> = { tcp: 6, udp: 17, icmp: 1, 'ipv6-icmp': 58, icmpv6: 58, sctp: 132, gre: 47, esp: 50 };
const WITH_PORTS = new Set([6, 17, 132]);
const COMMUNITY_ID = /^1:[A-Za-z0-9+/]{27}=$/;

/** What a usable alert record needs, for messages to people. */
export const ACCEPTED =
  'an EVE record with event_type "alert", an "alert" object, src_ip and dest_ip (IP addresses), proto (TCP, UDP, ICMP, IPv6-ICMP, SCTP or a protocol number) and, for TCP, UDP and SCTP, src_port and dest_port (0-65535); community_id ("1:" and 28 base64 characters) is optional';

function protocolNumber(proto: unknown): number | undefined {
  if (typeof proto === 'number') return Number.isInteger(proto) && proto >= 0 && proto <= 255 ? proto : undefined;
  if (typeof proto !== 'string') return undefined;
  if (/^\d{1,3}$/.test(proto)) return Number(proto) <= 255 ? Number(proto) : undefined;
  return PROTOCOLS[proto.toLowerCase()];
}

const isPort = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= 65535;

/** The flow an alert record names, or why it names none. */
export function alertFlow(r: EveRecord): AlertFlowRef | { reason: AlertRejectReason; detail: string } {
  const src = typeof r.src_ip === 'string' ? canonicalIp(r.src_ip) : undefined;
  const dest = typeof r.dest_ip === 'string' ? canonicalIp(r.dest_ip) : undefined;
  if (!src || !dest) return { reason: 'no-5-tuple', detail: `src_ip ${JSON.stringify(r.src_ip)} and dest_ip ${JSON.stringify(r.dest_ip)} must both be IP addresses` };
  if (src.includes(':') !== dest.includes(':')) return { reason: 'no-5-tuple', detail: `src_ip ${src} and dest_ip ${dest} are not of one IP version` };
  const protocol = protocolNumber(r.proto);
  if (protocol === undefined) return { reason: 'no-5-tuple', detail: `proto ${JSON.stringify(r.proto)} is not a protocol name (TCP, UDP, ICMP, IPv6-ICMP, SCTP) or number` };
  let srcPort = 0;
  let destPort = 0;
  if (WITH_PORTS.has(protocol)) {
    if (!isPort(r.src_port) || !isPort(r.dest_port)) {
      return { reason: 'no-5-tuple', detail: `src_port ${JSON.stringify(r.src_port)} and dest_port ${JSON.stringify(r.dest_port)} must be port numbers (0-65535) for proto ${String(r.proto)}` };
    }
    srcPort = r.src_port;
    destPort = r.dest_port;
  }
  const flow: AlertFlowRef = { protocol, src: { ip: src, port: srcPort }, dest: { ip: dest, port: destPort }, tuple: tupleKey(protocol, { ip: src, port: srcPort }, { ip: dest, port: destPort }) };
  if ((protocol === 1 || protocol === 58) && isPort(r.icmp_type) && isPort(r.icmp_code)) flow.icmp = { type: r.icmp_type, code: r.icmp_code };
  if (r.community_id !== undefined) {
    if (typeof r.community_id !== 'string' || !COMMUNITY_ID.test(r.community_id)) {
      return { reason: 'bad-community-id', detail: `community_id ${JSON.stringify(r.community_id)} is not a Community ID v1 ("1:" and 28 base64 characters)` };
    }
    flow.communityId = r.community_id;
  }
  return flow;
}

/** One decoded EVE value: an alert with its flow, another event type, or refused. */
export function parseEveRecord(value: unknown): EveParse {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return { kind: 'rejected', reason: 'not-an-object', detail: 'an EVE record is a JSON object' };
  const r = value as EveRecord;
  if (typeof r.event_type !== 'string' || r.event_type === '') return { kind: 'rejected', reason: 'no-event-type', detail: 'the record has no event_type (a string)' };
  if (r.event_type !== 'alert') return { kind: 'skipped', eventType: r.event_type };
  if (typeof r.alert !== 'object' || r.alert === null || Array.isArray(r.alert)) return { kind: 'rejected', reason: 'no-alert-object', detail: 'an alert record has an "alert" object (signature_id, signature, ...)' };
  const flow = alertFlow(r);
  if ('reason' in flow) return { kind: 'rejected', ...flow };
  return { kind: 'alert', record: r, flow };
}

/** One line of eve.json (without its newline). */
export function parseEveLine(line: string): EveParse {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch (err) {
    return { kind: 'rejected', reason: 'bad-json', detail: (err as Error).message };
  }
  return parseEveRecord(value);
}
