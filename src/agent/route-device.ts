// The interface a connection uses: 'lo' for loopback addresses, else the device of the
// route to the remote address (`ip route get`), cached per address; and the address this
// host sends from to a remote (the route's `src`), for sockets bound to any address.
import { execFileSync } from 'node:child_process';
import { isIPv4 } from 'node:net';

export function isLoopback(address: string): boolean {
  const a = address.toLowerCase();
  return a.startsWith('127.') || a === '::1' || a.startsWith('::ffff:127.');
}

interface Route {
  device?: string;
  source?: string;
}

export class RouteDevices {
  readonly #cache = new Map<string, Route>();
  readonly #bound: number;

  constructor(bound = 4096) {
    this.#bound = bound;
  }

  get size(): number {
    return this.#cache.size;
  }

  deviceFor(remote: string, local?: string): string | undefined {
    if (isLoopback(remote) || (local !== undefined && isLoopback(local))) return 'lo';
    return this.#route(remote).device;
  }

  /** The source address of packets to `remote`; a loopback destination is its own source. */
  sourceFor(remote: string): string | undefined {
    if (isLoopback(remote)) return remote;
    return this.#route(remote).source;
  }

  #route(remote: string): Route {
    const cached = this.#cache.get(remote);
    if (cached) return cached;
    const route: Route = {};
    try {
      const out = execFileSync('ip', [isIPv4(remote) ? '-4' : '-6', 'route', 'get', remote], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 2000 });
      route.device = / dev (\S+)/.exec(out)?.[1];
      route.source = / src (\S+)/.exec(out)?.[1];
    } catch { /* no route */ }
    if (this.#cache.size >= this.#bound) this.#cache.delete(this.#cache.keys().next().value!);
    this.#cache.set(remote, route);
    return route;
  }
}
