// `npm start` runs the agent beside the collector when the host allows it: it connects to
// the first ZMQ interface that binds (collector mode) on this host, so the lo flows show
// this machine's processes. It says at start whether the agent runs and why not.
import type { FlowbridgeConfig } from '../config.ts';
import { parseEndpoints } from '../collector/endpoint.ts';
import { HostAgentUnavailable, startAgent, type RunningAgent } from './agent.ts';

/** Where a local agent sends: the collector-mode endpoint as seen from this host, or why there is none. */
export function localCollectorEndpoint(config: FlowbridgeConfig): { endpoint: string } | { reason: string } {
  for (const spec of config.interfaces) {
    if (spec.kind !== 'zmq') continue;
    let endpoints;
    try { endpoints = parseEndpoints(spec.endpoints); } catch { continue; }
    for (const e of endpoints) {
      if (e.mode !== 'bind') continue;
      const tcp = /^tcp:\/\/(.*):(\d+)$/.exec(e.address);
      if (tcp) {
        const host = tcp[1] === '*' || tcp[1] === '0.0.0.0' ? '127.0.0.1' : tcp[1] === '[::]' ? '[::1]' : tcp[1];
        return { endpoint: `tcp://${host}:${tcp[2]}c` };
      }
      return { endpoint: `${e.address}c` };
    }
  }
  return { reason: 'no ZMQ interface in collector mode (tcp://*:PORTc) to send to' };
}

export async function startAgentBesideCollector(config: FlowbridgeConfig, curveServerKey: string | undefined, log: (line: string) => void): Promise<RunningAgent | undefined> {
  const target = localCollectorEndpoint(config);
  if ('reason' in target) {
    log(`agent: not started: ${target.reason}`);
    return undefined;
  }
  try {
    const agent = await startAgent({ zmq: target.endpoint, curveServerKey, log });
    log(`agent: running beside the collector, sending this host's connections to ${target.endpoint} (--no-agent turns it off)`);
    return agent;
  } catch (err) {
    const why = err instanceof HostAgentUnavailable ? `missing ${err.missing.join('; ')}` : (err as Error).message;
    log(`agent: not started: ${why}. Flows have processes only from other producers (npm run demo publishes sample events); --no-agent silences this`);
    return undefined;
  }
}
