// Merged flows leave the collector as records: a live flow is published again every
// export interval while it changes (long flows are seen before they end), and once
// more, final, when it leaves its table (closed and past the grace period, idle,
// evicted, or at shutdown). What the flow has learned by then, its process included,
// is in that last record. Each record's message id is the flow's identity and update
// number: publishing it twice stores it once.
import { flowRecord } from '../flows/flow-record.ts';
import type { Flow, FlowSource } from '../flows/flow-entry.ts';
import { encodeRecord, type FlowExportReason, type FlowExportRecord } from './export-record.ts';
import type { Outbox } from './outbox.ts';
import { subjectToken, type ExportFormat } from './settings.ts';

export interface ExportedInterface {
  name: string;
  flows: FlowSource;
}

export interface FlowExportOptions {
  node: string;
  format: ExportFormat;
  intervalMs: number;
  idleTimeoutMs: number;
  communityIdSeed: number;
  outbox: Outbox;
  /** The packet interfaces whose merged flows are exported. */
  interfaces: () => ExportedInterface[];
}

export interface FlowExportStats {
  updates: number;
  finals: Record<Exclude<FlowExportReason, 'update'>, number>;
  /** Flows with at least one record published and still in a table. */
  tracked: number;
}

interface Exported {
  update: number;
  exportedAt: number;
  lastSeen: number;
  final: boolean;
}

export class FlowExport {
  readonly #o: FlowExportOptions;
  /** Keyed by the table's own flow object: gone with it, so bounded by the tables' bounds. */
  #state = new WeakMap<Flow, Exported>();
  #tracked = 0;
  #updates = 0;
  readonly #finals = { closed: 0, idle: 0, evicted: 0, shutdown: 0 };
  #timer: NodeJS.Timeout | undefined;

  constructor(options: FlowExportOptions) {
    this.#o = options;
  }

  start(): void {
    // A quarter of the interval: a flow is published between one and 1.25 intervals after its last record.
    this.#timer = setInterval(() => this.sweep(), Math.max(250, this.#o.intervalMs / 4));
    this.#timer.unref();
  }

  /** Publishes every live flow that changed and was last published an interval ago (or never, and is that old). */
  sweep(now = Date.now()): void {
    for (const iface of this.#o.interfaces()) {
      iface.flows.forEach((flow) => {
        const st = this.#state.get(flow);
        if (st?.final) return;
        const since = st ? st.exportedAt : flow.firstSeen;
        if (now - since < this.#o.intervalMs) return;
        if (st && st.lastSeen === flow.lastSeen) return;
        this.#publish(iface.name, flow, 'update', now);
      });
    }
  }

  /** A flow left an interface's table: its final record. */
  removed(iface: string, flow: Flow, now = Date.now()): void {
    const reason: FlowExportReason = flow.closedAt !== undefined ? 'closed' : now - flow.lastSeen >= this.#o.idleTimeoutMs ? 'idle' : 'evicted';
    this.#publish(iface, flow, reason, now);
  }

  /** At shutdown: every flow still in a table gets its final record. */
  finish(now = Date.now()): void {
    if (this.#timer) clearInterval(this.#timer);
    for (const iface of this.#o.interfaces()) iface.flows.forEach((flow) => this.#publish(iface.name, flow, 'shutdown', now));
  }

  stats(): FlowExportStats {
    return { updates: this.#updates, finals: { ...this.#finals }, tracked: this.#tracked };
  }

  #publish(iface: string, flow: Flow, reason: FlowExportReason, now: number): void {
    let st = this.#state.get(flow);
    if (st?.final) return;
    if (!st) {
      st = { update: 0, exportedAt: now, lastSeen: flow.lastSeen, final: false };
      this.#state.set(flow, st);
      this.#tracked++;
    }
    st.update++;
    st.exportedAt = now;
    st.lastSeen = flow.lastSeen;
    const final = reason !== 'update';
    if (final) {
      st.final = true;
      this.#tracked--;
      this.#finals[reason]++;
    } else this.#updates++;
    const record: FlowExportRecord = {
      recordType: 'flow', node: this.#o.node, interface: iface, update: st.update, final, reason, exportedAt: now,
      flow: flowRecord(flow, this.#o.communityIdSeed),
    };
    const token = subjectToken(iface);
    this.#o.outbox.push({
      kind: 'flows',
      subject: `flowbridge.flows.${this.#o.node}.${token}`,
      data: encodeRecord(record, this.#o.format),
      msgId: `${this.#o.node}.${token}.${flow.key}.${flow.firstSeen}.${st.update}`,
    });
  }
}
