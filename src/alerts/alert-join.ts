// The join of an alert to its flow: candidates by the direction-free 5-tuple key on
// each packet interface given (the alert's src/dest are the packet that fired, not
// the flow's client/server), then, when the record carries a community_id, only a
// candidate whose Community ID agrees. An alert whose flow is not (yet) in a table
// (the capture hands flows over in batches) waits a short while in a bounded queue
// and is retried; then it is kept as unmatched.
import { communityId } from '../model/community-id.ts';
import type { AlertBound, AlertFlowRef, MatchedFlow, StoredAlert, UnmatchedReason } from '../model/alert.ts';
import type { FlowRecord } from '../model/flow.ts';

/** An interface whose flows alerts may join (the packet interfaces, or those a setting names). */
export interface JoinInterface {
  readonly id: number;
  readonly name: string;
  readonly flows: { recordByTuple(tuple: string): FlowRecord | undefined };
}

export interface AlertJoinOptions {
  /** The interfaces to look in, asked at each attempt (they may change). */
  interfaces: () => JoinInterface[];
  /** Community ID seed of the flow tables (ICMP alerts are checked with it). */
  communityIdSeed?: number;
  /** How long an alert waits for its flow (default 5 s). */
  waitMs?: number;
  /** How often waiting alerts are retried (default 200 ms). */
  retryMs?: number;
  /** Alerts waiting at most; past it the oldest is given up (default 10 000). */
  maxPending?: number;
  /** Told when an alert is settled (matched or unmatched). */
  onSettled?: (alert: StoredAlert) => void;
}

type Attempt = { flows: MatchedFlow[] } | { reason: UnmatchedReason };

/** One attempt: the flows on `interfaces` the alert names. */
export function findAlertFlows(ref: AlertFlowRef, interfaces: JoinInterface[], seed = 0): Attempt {
  const flows: MatchedFlow[] = [];
  let differs = false;
  // ICMP flows are keyed (and their Community ID computed) without type and code: check
  // the record's community_id against its own tuple instead.
  const icmpAgrees = ref.icmp && ref.communityId !== undefined
    ? communityId(ref.protocol, ref.src.ip, ref.icmp.type, ref.dest.ip, ref.icmp.code, seed) === ref.communityId
    : undefined;
  for (const iface of interfaces) {
    const f = iface.flows.recordByTuple(ref.tuple);
    if (!f) continue;
    if (ref.communityId !== undefined && (icmpAgrees ?? f.communityId === ref.communityId) === false) {
      differs = true;
      continue;
    }
    const m: MatchedFlow = {
      interface: iface.name, interfaceId: iface.id, key: f.key, communityId: f.communityId, protocol: f.protocol,
      client: f.client, server: f.server, by: ref.communityId !== undefined ? 'community-id' : '5-tuple',
    };
    if (f.process) m.process = f.process;
    flows.push(m);
  }
  if (flows.length) return { flows };
  return { reason: differs ? 'community-id-differs' : 'no-flow' };
}

interface Waiting {
  alert: StoredAlert;
  ref: AlertFlowRef;
  until: number;
}

export class AlertJoin {
  readonly #o: Required<Omit<AlertJoinOptions, 'onSettled'>> & Pick<AlertJoinOptions, 'onSettled'>;
  /** Insertion order = oldest first. */
  readonly #waiting = new Map<string, Waiting>();
  #givenUp = 0;
  #timer: NodeJS.Timeout | undefined;

  constructor(options: AlertJoinOptions) {
    const o = options;
    this.#o = { interfaces: o.interfaces, onSettled: o.onSettled, communityIdSeed: o.communityIdSeed ?? 0, waitMs: o.waitMs ?? 5_000, retryMs: o.retryMs ?? 200, maxPending: o.maxPending ?? 10_000 };
  }

  /** Joins now, or leaves the alert pending and retries it until its wait is over. */
  submit(alert: StoredAlert, ref: AlertFlowRef, now = Date.now()): void {
    if (this.#attempt(alert, ref, false)) return;
    alert.status = 'pending';
    this.#waiting.set(alert.id, { alert, ref, until: now + this.#o.waitMs });
    while (this.#waiting.size > this.#o.maxPending) {
      const oldest = this.#waiting.values().next().value as Waiting;
      this.#waiting.delete(oldest.alert.id);
      this.#givenUp++;
      this.#settle(oldest.alert, { reason: 'pending-queue-full' });
    }
    this.#timer ??= setInterval(() => this.retry(), this.#o.retryMs).unref();
  }

  /** Retries every waiting alert; those past their wait end unmatched. */
  retry(now = Date.now()): void {
    for (const [id, w] of this.#waiting) {
      if (this.#attempt(w.alert, w.ref, now >= w.until)) this.#waiting.delete(id);
    }
    if (this.#waiting.size === 0) this.#stopTimer();
  }

  stats(): AlertBound {
    return { size: this.#waiting.size, max: this.#o.maxPending, dropped: this.#givenUp };
  }

  stop(): void {
    this.#stopTimer();
  }

  #stopTimer(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** True when settled (matched, or unmatched because `last`). */
  #attempt(alert: StoredAlert, ref: AlertFlowRef, last: boolean): boolean {
    const result = findAlertFlows(ref, this.#o.interfaces(), this.#o.communityIdSeed);
    if ('reason' in result && !last) return false;
    this.#settle(alert, result);
    return true;
  }

  #settle(alert: StoredAlert, result: Attempt): void {
    if ('flows' in result) {
      alert.status = 'matched';
      alert.flows = result.flows;
      delete alert.unmatchedReason;
    } else {
      alert.status = 'unmatched';
      alert.unmatchedReason = result.reason;
    }
    this.#o.onSettled?.(alert);
  }
}
