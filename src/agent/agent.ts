// The host agent: bpftrace → parse → enrich → bounded queue → ZMQ PUB, plus the
// periodic extras (netstat snapshot, interface counters) when asked for.
import { statSync } from 'node:fs';
import { BPFTRACE_PROGRAM, parseEventLine, READY_LINE } from './bpftrace-program.ts';
import { counterRecords } from './counters.ts';
import { cachedLookup, flowRecordJson, netstatRecord, processFragments, type Enrichment } from './flow-record.ts';
import { netstatSnapshot } from './netstat.ts';
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
  /** A netstat snapshot every this many seconds (default 30; 0: only when a collector subscribes). */
  netstatInterval?: number;
  log?: (line: string) => void;
}

export interface AgentStats extends PublisherStats {
  events: number;
  /** Events bpftrace said it lost (its perf buffer was full: "Lost N events"). */
  lost: number;
  unparsed: number;
  restarts: number;
  netstatSnapshots: number;
}

/** The agent's network namespace (the inode /proc/self/ns/net names), 0 when unreadable. */
function ownNetns(): number {
  try { return statSync('/proc/self/ns/net').ino; } catch { return 0; }
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

  const routes = new RouteDevices();
  const enrich: Enrichment = {
    device: (remote, local) => routes.deviceFor(remote, local),
    source: (remote) => routes.sourceFor(remote),
    lookup: cachedLookup(),
    fragments: processFragments(),
    netns: ownNetns(),
  };
  let snapshots = 0;
  const timers: NodeJS.Timeout[] = [];
  const sendNetstat = () => {
    snapshots++;
    for (const entry of netstatSnapshot()) publisher.publish('flow', netstatRecord(entry, enrich));
  };
  const sendCounters = () => {
    for (const record of counterRecords()) publisher.publish('counter', record);
  };
  // A collector that joins (or rejoins) gets the sockets already open at once: what is
  // published before its subscription arrives is lost (PUB/SUB's slow joiner).
  let pending: NodeJS.Timeout | undefined;
  const onSubscribe = (prefix: string) => {
    if (!'flow'.startsWith(prefix) || pending) return;
    pending = setTimeout(() => {
      pending = undefined;
      sendNetstat();
    }, 100);
  };
  const publisher = await AgentPublisher.open({ endpoint: o.zmq, sourceId: o.sourceId, queueBound: o.queueBound, curveServerKey: o.curveServerKey, onSubscribe });
  const netstatEvery = o.netstatInterval ?? 30;
  if (netstatEvery > 0) timers.push(setInterval(sendNetstat, netstatEvery * 1000));
  if (o.countersInterval) timers.push(setInterval(sendCounters, o.countersInterval * 1000));
  // Drops are reported as they happen (at most every 10 s), not only at the end.
  let reportedDrops = 0;
  timers.push(setInterval(() => {
    const { drops, bound } = publisher.stats();
    if (drops > reportedDrops) log(`agent: ${drops - reportedDrops} events dropped in the last 10 s (queue bound ${bound}; ${drops} in all)`);
    reportedDrops = drops;
  }, 10_000));
  let events = 0;
  let unparsed = 0;
  let lost = 0;
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
        const lostNow = /^Lost (\d+) events/.exec(line);
        if (lostNow) {
          lost += Number(lostNow[1]);
          log(`agent: bpftrace lost ${lostNow[1]} events (its buffer was full; ${lost} in all)`);
          return;
        }
        unparsed++;
        return;
      }
      events++;
      publisher.publish('flow', flowRecordJson(ev, enrich));
    },
  });
  supervisor.start();
  log(`agent: publishing to ${o.zmq} (source_id ${publisher.sourceId})`);
  return {
    publisher,
    supervisor,
    stats: () => ({ ...publisher.stats(), events, lost, unparsed, restarts: supervisor.restarts, netstatSnapshots: snapshots }),
    attached: () => (supervisor.attached ? Promise.resolve() : new Promise((r) => waiters.push(r))),
    stop: async () => {
      for (const t of timers) clearInterval(t);
      clearTimeout(pending);
      await supervisor.stop();
      publisher.close();
    },
  };
}
