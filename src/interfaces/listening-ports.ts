// The listening sockets each exporter host announced last (topic listening-ports).
// Each announcement replaces the host's previous one. Bounded twice: hosts (the least
// recently announcing is evicted) and ports per host (the rest are left out); both counted.
import { LRUCache } from 'lru-cache';
import type { ListeningPortsEvent } from '../model/event.ts';
import type { Bound, HostListeningPorts } from '../model/telemetry.ts';

export const MAX_LISTENING_HOSTS = 1024;
export const MAX_PORTS_PER_HOST = 1024;

export class ListeningPortsTable {
  readonly #maxHosts: number;
  readonly #maxPorts: number;
  #hostsEvicted = 0;
  #portsDropped = 0;
  readonly #hosts: LRUCache<string, HostListeningPorts>;

  constructor(maxHosts = MAX_LISTENING_HOSTS, maxPortsPerHost = MAX_PORTS_PER_HOST) {
    this.#maxHosts = maxHosts;
    this.#maxPorts = maxPortsPerHost;
    this.#hosts = new LRUCache({ max: maxHosts, dispose: (_v, _k, reason) => { if (reason === 'evict') this.#hostsEvicted++; } });
  }

  /** Takes a host's announcement; `host` is its instance name or first address (dispatch decides). */
  set(host: string, event: ListeningPortsEvent, nowMs = Date.now()): void {
    const portsDropped = Math.max(0, event.ports.length - this.#maxPorts);
    this.#portsDropped += portsDropped;
    this.#hosts.set(host, { host, addresses: event.addresses, ports: event.ports.slice(0, this.#maxPorts), portsDropped, lastReport: nowMs });
  }

  /** Every host, by name. */
  list(): HostListeningPorts[] {
    return [...this.#hosts.values()].sort((a, b) => a.host.localeCompare(b.host));
  }

  /** `hosts`: hosts kept; `portsPerHost`: the fullest host's ports against the per-host bound, and every port left out. */
  stats(): { hosts: Bound; portsPerHost: Bound } {
    let fullest = 0;
    for (const h of this.#hosts.values()) fullest = Math.max(fullest, h.ports.length);
    return {
      hosts: { size: this.#hosts.size, max: this.#maxHosts, dropped: this.#hostsEvicted },
      portsPerHost: { size: fullest, max: this.#maxPorts, dropped: this.#portsDropped },
    };
  }
}
