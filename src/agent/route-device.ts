// The interface a connection uses: 'lo' for loopback addresses, else the device of the
// route to the remote address (`ip route get`), cached per address.
import { execFileSync } from 'node:child_process';
import { isIPv4 } from 'node:net';

export function isLoopback(address: string): boolean {
  const a = address.toLowerCase();
  return a.startsWith('127.') || a === '::1' || a.startsWith('::ffff:127.');
}

export class RouteDevices {
  readonly #cache = new Map<string, string | undefined>();
  readonly #bound: number;

  constructor(bound = 4096) {
    this.#bound = bound;
  }

  deviceFor(remote: string, local?: string): string | undefined {
    if (isLoopback(remote) || (local !== undefined && isLoopback(local))) return 'lo';
    if (this.#cache.has(remote)) return this.#cache.get(remote);
    let device: string | undefined;
    try {
      const out = execFileSync('ip', [isIPv4(remote) ? '-4' : '-6', 'route', 'get', remote], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 2000 });
      device = / dev (\S+)/.exec(out)?.[1];
    } catch { /* no route */ }
    if (this.#cache.size >= this.#bound) this.#cache.delete(this.#cache.keys().next().value!);
    this.#cache.set(remote, device);
    return device;
  }
}
