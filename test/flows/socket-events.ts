// SocketEvents (the normalised model dispatch hands to interfaces) for flow table
// tests, without going through a collector: client/server are already oriented.
import type { SocketEvent } from '../../src/model/event.ts';

export interface SocketEventSpec extends Partial<Omit<SocketEvent, 'client' | 'server'>> {
  client: [ip: string, port: number];
  server: [ip: string, port: number];
  /** The local process's PID and path (LOCAL_PROCESS). */
  pid?: number;
  path?: string;
}

export function socketEvent(spec: SocketEventSpec): SocketEvent {
  const { client, server, pid, path, ...rest } = spec;
  const event: SocketEvent = {
    kind: 'flow',
    timestamp: 1_716_912_345.5,
    ipVersion: client[0].includes(':') ? 6 : 4,
    protocol: 6,
    client: { ip: client[0], port: client[1] },
    server: { ip: server[0], port: server[1] },
    localSide: 'client',
    local: {},
    remote: {},
    ...rest,
  };
  if (pid !== undefined) event.local = { ...event.local, process: { pid, ...(path ? { path } : {}) } };
  return event;
}
