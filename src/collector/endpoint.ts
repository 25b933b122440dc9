// ntopng's ZMQ endpoint syntax (reference/wire-format.md, "Sockets and endpoint syntax"):
// tcp://host:port or ipc://path, zmq:// as an alias of tcp://, several separated by
// commas; a trailing 'c' means collector mode: we bind and producers connect.
import { isIPv4 } from 'node:net';

export interface ZmqEndpoint {
  /** As written by the operator. */
  spec: string;
  /** What libzmq is given. */
  address: string;
  mode: 'bind' | 'connect';
}

const ACCEPTED = 'accepted: tcp://host:port, tcp://*:port, ipc://path, zmq://host:port; a trailing c binds (collector mode)';

export function parseEndpoint(spec: string): ZmqEndpoint {
  const s = spec.trim();
  const bind = s.endsWith('c');
  let address = bind ? s.slice(0, -1) : s;
  if (address.startsWith('zmq://')) address = `tcp://${address.slice('zmq://'.length)}`;
  const tcp = /^tcp:\/\/(\*|\[[0-9a-fA-F:.]+\]|[A-Za-z0-9_.-]+):(\d{1,5})$/.exec(address);
  if (tcp) {
    const port = Number(tcp[2]);
    if (port < 1 || port > 65535) throw new Error(`ZMQ endpoint ${spec}: port ${port} out of range 1-65535`);
    if (tcp[1] === '*' && !bind) throw new Error(`ZMQ endpoint ${spec}: '*' only makes sense when binding; add a trailing c (${address}c) or name the producer's host`);
    return { spec: s, address, mode: bind ? 'bind' : 'connect' };
  }
  if (/^ipc:\/\/.+$/.test(address)) return { spec: s, address, mode: bind ? 'bind' : 'connect' };
  throw new Error(`ZMQ endpoint ${JSON.stringify(spec)} is not valid (${ACCEPTED})`);
}

/**
 * Whether libzmq must be allowed IPv6 (ZMQ_IPV6) for this endpoint: an IPv6 literal,
 * or a host name to connect to (it may resolve to IPv6 only). Binding '*' or an IPv4
 * address stays IPv4, so producers keep being known by their dotted address.
 */
export function needsIpv6(e: ZmqEndpoint): boolean {
  const host = /^tcp:\/\/(.*):\d+$/.exec(e.address)?.[1];
  if (host === undefined || host === '*' || isIPv4(host)) return false;
  return host.startsWith('[') || e.mode === 'connect';
}

/** Parses a comma-separated list, as one ZMQ interface may be fed by several endpoints. */
export function parseEndpoints(list: string): ZmqEndpoint[] {
  const parts = list.split(',').map((p) => p.trim()).filter((p) => p !== '');
  if (parts.length === 0) throw new Error(`no ZMQ endpoint in ${JSON.stringify(list)} (${ACCEPTED})`);
  return parts.map(parseEndpoint);
}
