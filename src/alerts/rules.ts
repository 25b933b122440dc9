// flowbridge's own alert rules, on the merged events: what an IDS cannot see (the
// process, user, container and parent behind a connection) can raise alerts too. A rule
// matches any of process (path or name), user, container (id or name), parent, server
// host or net and port, and event type; with a count within a window it fires when one
// process (or, without one, one client) does it that often ("five failed connects of one
// process in 10 s"). A firing becomes an EVE-style alert on the event's flow, stored and
// joined like any other alert.
import { BlockList, isIP } from 'node:net';
import { basename } from 'node:path';
import type { AlertFlowRef, EveRecord } from '../model/alert.ts';
import type { SocketEvent, SocketEventType } from '../model/event.ts';
import { tupleKey } from '../flows/flow-key.ts';
import { loadState, saveState } from '../runtime/state-file.ts';

export const EVENT_TYPES: readonly SocketEventType[] = ['ACCEPT', 'CONNECT', 'CONNECT_FAILED', 'CLOSE', 'RETRANSMIT', 'SEND', 'RECV'];

export interface AlertRule {
  /** The alert's signature id (unique among rules). */
  signatureId: number;
  /** The alert's text. */
  signature: string;
  /** 1 (high) to 3 (low), as Suricata's. */
  severity: number;
  match: {
    process?: string;
    user?: string;
    container?: string;
    parent?: string;
    /** An address or a CIDR net. */
    server?: string;
    serverPort?: number;
    eventType?: SocketEventType;
  };
  /** Fires at this many matching events of one process within `windowSeconds` (default 1: every match). */
  count?: number;
  windowSeconds?: number;
}

export class RuleError extends Error {}

const MATCH_KEYS = ['process', 'user', 'container', 'parent', 'server', 'serverPort', 'eventType'];
const RULE_KEYS = ['signatureId', 'signature', 'severity', 'match', 'count', 'windowSeconds'];
/** Processes (per rule) whose recent matches are remembered; past this the least recent is forgotten (counted). */
const MAX_SUBJECTS = 10_000;

/** Checks a rule written by a person; throws RuleError saying what is accepted. */
export function alertRule(input: unknown): AlertRule {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) throw new RuleError(`a rule is an object with ${RULE_KEYS.join(', ')}`);
  const v = input as Record<string, unknown>;
  const unknown = Object.keys(v).filter((k) => !RULE_KEYS.includes(k));
  if (unknown.length) throw new RuleError(`unknown rule field ${unknown.join(', ')} (accepted: ${RULE_KEYS.join(', ')})`);
  if (!Number.isInteger(v.signatureId) || (v.signatureId as number) < 1) throw new RuleError(`signatureId ${JSON.stringify(v.signatureId)}: a whole number of at least 1`);
  const where = `rule ${v.signatureId}`;
  if (typeof v.signature !== 'string' || v.signature.trim() === '') throw new RuleError(`${where}: signature (the alert's text) is required`);
  const severity = v.severity ?? 2;
  if (!Number.isInteger(severity) || (severity as number) < 1 || (severity as number) > 3) throw new RuleError(`${where}: severity ${JSON.stringify(severity)}: 1, 2 or 3`);
  const m = v.match;
  if (typeof m !== 'object' || m === null || Array.isArray(m)) throw new RuleError(`${where}: match is required: an object with any of ${MATCH_KEYS.join(', ')}`);
  const match = m as AlertRule['match'] & Record<string, unknown>;
  const bad = Object.keys(match).filter((k) => !MATCH_KEYS.includes(k));
  if (bad.length) throw new RuleError(`${where}: unknown match field ${bad.join(', ')} (accepted: ${MATCH_KEYS.join(', ')})`);
  if (Object.keys(match).length === 0) throw new RuleError(`${where}: match names nothing: give any of ${MATCH_KEYS.join(', ')}`);
  for (const k of ['process', 'user', 'container', 'parent'] as const) {
    if (match[k] !== undefined && (typeof match[k] !== 'string' || match[k] === '')) throw new RuleError(`${where}: match.${k} must be text`);
  }
  if (match.server !== undefined && !serverMatcher(match.server)) throw new RuleError(`${where}: match.server ${JSON.stringify(match.server)} is not an address or a CIDR net (10.0.0.0/8, fd00::/8)`);
  if (match.serverPort !== undefined && (!Number.isInteger(match.serverPort) || match.serverPort < 0 || match.serverPort > 65535)) throw new RuleError(`${where}: match.serverPort: 0 to 65535`);
  if (match.eventType !== undefined && !EVENT_TYPES.includes(match.eventType)) throw new RuleError(`${where}: match.eventType ${JSON.stringify(match.eventType)} is not one of ${EVENT_TYPES.join(', ')}`);
  const count = v.count ?? 1;
  if (!Number.isInteger(count) || (count as number) < 1 || (count as number) > 100_000) throw new RuleError(`${where}: count: a whole number from 1 to 100000`);
  const windowSeconds = v.windowSeconds ?? 60;
  if (typeof windowSeconds !== 'number' || !(windowSeconds > 0) || windowSeconds > 86_400) throw new RuleError(`${where}: windowSeconds: more than 0, at most 86400`);
  return { signatureId: v.signatureId as number, signature: v.signature.trim(), severity: severity as number, match: { ...match }, count: count as number, windowSeconds };
}

function serverMatcher(server: string): ((ip: string) => boolean) | undefined {
  const [addr, bits] = server.split('/');
  const family = isIP(addr);
  if (!family) return undefined;
  const type = family === 4 ? 'ipv4' : 'ipv6';
  const list = new BlockList();
  if (bits === undefined) list.addAddress(addr, type);
  else {
    const prefix = Number(bits);
    if (!/^\d+$/.test(bits) || prefix > (family === 4 ? 32 : 128)) return undefined;
    list.addSubnet(addr, prefix, type);
  }
  return (ip) => {
    const f = isIP(ip);
    return f !== 0 && list.check(ip, f === 4 ? 'ipv4' : 'ipv6');
  };
}

const named = (path: string | undefined, want: string) => path !== undefined && (path === want || basename(path) === want);

/** True when the event matches every part of the rule's match. */
export function ruleMatches(rule: AlertRule, e: SocketEvent): boolean {
  const m = rule.match;
  const p = e.local.process;
  if (m.eventType !== undefined && e.eventType !== m.eventType) return false;
  if (m.process !== undefined && !(named(p?.path, m.process) || (/^\d+$/.test(m.process) && p?.pid === Number(m.process)))) return false;
  if (m.user !== undefined && p?.user !== m.user && !(/^\d+$/.test(m.user) && p?.uid === Number(m.user))) return false;
  if (m.parent !== undefined && !named(e.local.parent?.path, m.parent)) return false;
  if (m.container !== undefined) {
    const c = e.local.container;
    if (!c || !(c.name === m.container || c.id === m.container || (m.container.length >= 12 && c.id?.startsWith(m.container)))) return false;
  }
  if (m.serverPort !== undefined && e.server.port !== m.serverPort) return false;
  if (m.server !== undefined && !serverMatcher(m.server)!(e.server.ip)) return false;
  return true;
}

/** The alert a firing rule raises, on the event's flow, as Suricata would write it. */
export function ruleAlert(rule: AlertRule, e: SocketEvent, count: number, nowMs: number): { record: EveRecord; flow: AlertFlowRef } {
  const p = e.local.process;
  const record: EveRecord = {
    event_type: 'alert',
    timestamp: new Date(nowMs).toISOString(),
    src_ip: e.client.ip, src_port: e.client.port, dest_ip: e.server.ip, dest_port: e.server.port,
    proto: e.protocol === 6 ? 'TCP' : 'UDP',
    alert: { action: 'allowed', gid: 0, signature_id: rule.signatureId, rev: 1, signature: rule.signature, category: 'flowbridge rule', severity: rule.severity },
    flowbridge: { rule: rule.signatureId, matchedEvents: count, eventType: e.eventType, process: p, user: p?.user, container: e.local.container },
  };
  return { record, flow: { protocol: e.protocol, src: e.client, dest: e.server, tuple: tupleKey(e.protocol, e.client, e.server) } };
}

/** The rules and their counts; `fire` takes each alert a rule raises. Changes are saved in `savePath` when given. */
export class AlertRules {
  #rules: AlertRule[] = [];
  readonly #savePath: string | undefined;
  /** Set when the saved rules could not be read. */
  readonly problem: string | undefined;
  /** `${signatureId}|${subject}` → times of its recent matches (ms), oldest first. */
  readonly #recent = new Map<string, number[]>();
  #forgotten = 0;
  readonly #fire: (alert: { record: EveRecord; flow: AlertFlowRef }) => void;

  /** `configured`: the config file's rules; rules saved by an earlier change replace those with their signatureId. */
  constructor(configured: AlertRule[], fire: (alert: { record: EveRecord; flow: AlertFlowRef }) => void, savePath?: string) {
    this.#fire = fire;
    this.#savePath = savePath;
    const byId = new Map(configured.map((r) => [r.signatureId, r]));
    if (savePath) {
      const { value, problem } = loadState<unknown[]>(savePath, [], (v) => (Array.isArray(v) ? v : undefined), 'a list of rules', 'alert rules');
      this.problem = problem;
      for (const saved of value) {
        try {
          const rule = alertRule(saved);
          byId.set(rule.signatureId, rule);
        } catch (err) {
          this.problem = `a saved alert rule was left out: ${(err as Error).message}`;
        }
      }
    }
    this.#rules = [...byId.values()];
  }

  /** Whether any rule is set (events are not looked at otherwise). */
  get active(): boolean {
    return this.#rules.length > 0;
  }

  list(): AlertRule[] {
    return [...this.#rules];
  }

  /** Replaces the rules (checked by alertRule); their counts start again. */
  set(rules: AlertRule[]): void {
    const ids = new Set<number>();
    for (const r of rules) {
      if (ids.has(r.signatureId)) throw new RuleError(`rule ${r.signatureId} is given twice: signatureId must be unique`);
      ids.add(r.signatureId);
    }
    this.#rules = [...rules];
    this.#recent.clear();
    if (this.#savePath) saveState(this.#savePath, this.#rules);
  }

  stats() {
    return { count: this.#rules.length, subjects: { size: this.#recent.size, max: MAX_SUBJECTS, dropped: this.#forgotten } };
  }

  /** Checks merged events against every rule. */
  evaluate(events: readonly SocketEvent[], nowMs = Date.now()): void {
    if (this.#rules.length === 0) return;
    for (const e of events) {
      for (const rule of this.#rules) {
        if (!ruleMatches(rule, e)) continue;
        const count = rule.count ?? 1;
        if (count === 1) {
          this.#fire(ruleAlert(rule, e, 1, nowMs));
          continue;
        }
        const p = e.local.process;
        const key = `${rule.signatureId}|${p ? `${p.pid}|${p.path ?? ''}` : e.client.ip}`;
        const since = nowMs - (rule.windowSeconds ?? 60) * 1000;
        const times = (this.#recent.get(key) ?? []).filter((t) => t > since);
        times.push(nowMs);
        this.#recent.delete(key); // re-inserted last: the map is kept in least-recent-first order
        if (times.length >= count) {
          this.#fire(ruleAlert(rule, e, times.length, nowMs));
          continue; // counting starts again after a firing
        }
        this.#recent.set(key, times);
        if (this.#recent.size > MAX_SUBJECTS) {
          this.#recent.delete(this.#recent.keys().next().value!);
          this.#forgotten++;
        }
      }
    }
  }
}
