// The alerts received, newest first, bounded: past the bound the oldest is evicted
// and counted. Looked up by id, filtered by signature, Suricata flow_id and Community ID.
import type { AlertBound, StoredAlert } from '../model/alert.ts';

export const DEFAULT_ALERT_STORE_BOUND = 10_000;

export interface AlertFilter {
  signatureId?: number;
  flowId?: number;
  communityId?: string;
  /** Only these statuses. */
  status?: StoredAlert['status'];
  limit?: number;
}

export class AlertStore {
  readonly max: number;
  /** Insertion order (oldest first); Map keeps it and gives lookups by id. */
  readonly #byId = new Map<string, StoredAlert>();
  #evicted = 0;
  #nextId = 1;

  constructor(max = DEFAULT_ALERT_STORE_BOUND) {
    this.max = max;
  }

  /** Stores a new alert under the next id; evicts the oldest when full. Returns what is stored. */
  add(alert: Omit<StoredAlert, 'id'>, onEvicted?: (a: StoredAlert) => void): StoredAlert {
    const stored: StoredAlert = { id: String(this.#nextId++), ...alert };
    this.#byId.set(stored.id, stored);
    while (this.#byId.size > this.max) {
      const oldest = this.#byId.values().next().value as StoredAlert;
      this.#byId.delete(oldest.id);
      this.#evicted++;
      onEvicted?.(oldest);
    }
    return stored;
  }

  get(id: string): StoredAlert | undefined {
    return this.#byId.get(id);
  }

  /** Newest first; `total` is the count before the limit. */
  list(filter: AlertFilter = {}): { total: number; alerts: StoredAlert[] } {
    const all = [...this.#byId.values()];
    const alerts: StoredAlert[] = [];
    let total = 0;
    const limit = filter.limit ?? 100;
    for (let i = all.length - 1; i >= 0; i--) {
      const a = all[i];
      if (filter.signatureId !== undefined && a.record.alert?.signature_id !== filter.signatureId) continue;
      if (filter.flowId !== undefined && a.record.flow_id !== filter.flowId) continue;
      if (filter.communityId !== undefined && a.record.community_id !== filter.communityId && !a.flows.some((f) => f.communityId === filter.communityId)) continue;
      if (filter.status !== undefined && a.status !== filter.status) continue;
      total++;
      if (alerts.length < limit) alerts.push(a);
    }
    return { total, alerts };
  }

  stats(): AlertBound {
    return { size: this.#byId.size, max: this.max, dropped: this.#evicted };
  }
}
