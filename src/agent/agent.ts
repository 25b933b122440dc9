// The host agent: bpftrace → parse → enrich → bounded queue → ZMQ PUB, plus the
// periodic extras (netstat snapshot, interface counters) when asked for.
import { BPFTRACE_PROGRAM, parseEventLine, READY_LINE } from './bpftrace-program.ts';
import { cachedLookup, flowRecord, type Enrichment } from './flow-record.ts';
import { preflight } from './preflight.ts';
import { AgentPublisher, type PublisherStats } from './publisher.ts';
import { RouteDevices } from './route-device.ts';
import { BpftraceSupervisor } from './supervisor.ts';

export interface AgentOptions {
  /** ZMQ endpoint: trailing 'c' connects to a collector in collector mode, else binds. */
  zmq: string;
  sourceId?: number;
  queueBound?: number;
  curveServerKey?: string;
  bpftrace?: string;
  /** Backoff before restarting bpftrace (ms), doubling up to 30 s. */
  minBackoffMs?: number;
  /** Interface counters from /proc/net/dev every this many seconds (0 or absent: off). */
  countersInterval?: number;
  log?: (line: string) => void;
}

export interface AgentStats extends PublisherStats {
  events: number;
  unparsed: number;
  restarts: number;
}

export class HostAgentUnavailable extends Error {
  constructor(readonly missing: string[]) {
    super(`the agent cannot run here: missing ${missing.join('; ')}`);
  }
}

export interface RunningAgent {
  publisher: AgentPublisher;
  supervisor: BpftraceSupervisor;
  stats(): AgentStats;
  /** Resolves once bpftrace has attached (after a restart too). */
  attached(): Promise<void>;
  stop(): Promise<void>;
}

export async function startAgent(o: AgentOptions): Promise<RunningAgent> {
  const log = o.log ?? ((l: string) => process.stderr.write(`${l}\n`));
  const check = preflight(o.bpftrace);
  for (const note of check.notes) log(`agent: ${note}`);
  if (!check.ok) throw new HostAgentUnavailable(check.missing);

  const publisher = await AgentPublisher.open({ endpoint: o.zmq, sourceId: o.sourceId, queueBound: o.queueBound, curveServerKey: o.curveServerKey });
  const routes = new RouteDevices();
  const enrich: Enrichment = { device: (remote, local) => routes.deviceFor(remote, local), lookup: cachedLookup() };
  let events = 0;
  let unparsed = 0;
  let waiters: (() => void)[] = [];
  const supervisor = new BpftraceSupervisor({
    bpftrace: check.bpftrace!,
    program: BPFTRACE_PROGRAM,
    readyLine: READY_LINE,
    minBackoffMs: o.minBackoffMs,
    log,
    onAttached: () => {
      for (const w of waiters) w();
      waiters = [];
    },
    onLine: (line) => {
      const ev = parseEventLine(line);
      if (!ev) {
        unparsed++;
        return;
      }
      events++;
      publisher.publish('flow', flowRecord(ev, enrich));
    },
  });
  supervisor.start();
  log(`agent: publishing to ${o.zmq} (source_id ${publisher.sourceId})`);
  return {
    publisher,
    supervisor,
    stats: () => ({ ...publisher.stats(), events, unparsed, restarts: supervisor.restarts }),
    attached: () => (supervisor.attached ? Promise.resolve() : new Promise((r) => waiters.push(r))),
    stop: async () => {
      await supervisor.stop();
      publisher.close();
    },
  };
}
