// `flowbridge agent`: the host agent from the command line, running until a signal.
import { parseArgs } from 'node:util';
import { HostAgentUnavailable, startAgent, type RunningAgent } from './agent.ts';

export const AGENT_USAGE = `flowbridge agent: this host's TCP connections (eBPF through bpftrace) with their processes, published over ZMQ

Usage: flowbridge agent --zmq <endpoint> [options]      (needs root, or CAP_BPF + CAP_PERFMON)

      --zmq <endpoint>          tcp://collector:5556c   trailing 'c': connect to a collector in collector mode
                                tcp://*:5556            bind; a collector connects (flowbridge -i tcp://agent:5556)
      --source-id <n>           source_id of the v3 headers (default: the agent's pid)
      --counters-interval <s>   interface counters from /proc/net/dev every <s> seconds (0: off, default 0)
      --netstat-interval <s>    a netstat snapshot of open TCP sockets every <s> seconds (default 30;
                                one is also sent whenever a collector subscribes)
      --curve-server-key <key>  the collector's CURVE public key (Z85, 40 characters)
      --queue-bound <n>         events waiting for the socket before drops are counted (default 10000)
  -h, --help                    this text
`;

export interface AgentIo {
  out: (line: string) => void;
  err: (line: string) => void;
}

function wholeNumber(v: string | undefined, flag: string, min: number, max: number): number | undefined {
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v) || Number(v) < min || Number(v) > max) throw new Error(`${flag} ${JSON.stringify(v)}: expected a whole number from ${min} to ${max}`);
  return Number(v);
}

export interface AgentArgs {
  help: boolean;
  zmq?: string;
  sourceId?: number;
  countersInterval?: number;
  netstatInterval?: number;
  curveServerKey?: string;
  queueBound?: number;
}

export function parseAgentArgs(argv: string[]): AgentArgs {
  const { values } = parseArgs({
    args: argv, strict: true, allowPositionals: false,
    options: {
      zmq: { type: 'string' }, 'source-id': { type: 'string' }, 'counters-interval': { type: 'string' }, 'netstat-interval': { type: 'string' },
      'curve-server-key': { type: 'string' }, 'queue-bound': { type: 'string' }, help: { type: 'boolean', short: 'h' },
    },
  });
  const zmq = values.zmq;
  if (zmq !== undefined && !/^(tcp|zmq|ipc):\/\/.+/.test(zmq)) throw new Error(`--zmq ${JSON.stringify(zmq)}: expected tcp://host:port (trailing c to connect to a collector) or ipc://path`);
  const key = values['curve-server-key'];
  if (key !== undefined && key.length !== 40) throw new Error('--curve-server-key: expected the collector\'s public key, 40 Z85 characters');
  return {
    help: values.help ?? false,
    zmq,
    sourceId: wholeNumber(values['source-id'], '--source-id', 0, 0xffffffff),
    countersInterval: values['counters-interval'] === undefined ? undefined : wholeNumber(values['counters-interval'], '--counters-interval', 0, 86_400),
    netstatInterval: values['netstat-interval'] === undefined ? undefined : wholeNumber(values['netstat-interval'], '--netstat-interval', 0, 86_400),
    curveServerKey: key,
    queueBound: wholeNumber(values['queue-bound'], '--queue-bound', 1, 10_000_000),
  };
}

export async function agentCommand(argv: string[], io: AgentIo): Promise<number> {
  let args: AgentArgs;
  try {
    args = parseAgentArgs(argv);
  } catch (err) {
    io.err(`flowbridge agent: ${(err as Error).message}`);
    return 2;
  }
  if (args.help) {
    io.out(AGENT_USAGE);
    return 0;
  }
  if (!args.zmq) {
    io.err('flowbridge agent: --zmq is required, e.g. --zmq tcp://127.0.0.1:5556c');
    return 2;
  }
  let agent: RunningAgent;
  try {
    agent = await startAgent({ zmq: args.zmq, sourceId: args.sourceId, countersInterval: args.countersInterval, netstatInterval: args.netstatInterval, curveServerKey: args.curveServerKey, queueBound: args.queueBound, log: io.out });
  } catch (err) {
    if (err instanceof HostAgentUnavailable) {
      io.err(`flowbridge agent: ${err.message}`);
      return 3;
    }
    io.err(`flowbridge agent: ${(err as Error).message}`);
    return 1;
  }
  await new Promise<void>((resolve) => {
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
  });
  const s = agent.stats();
  io.out(`agent: stopping: ${s.events} events, ${s.sent} sent in ${s.messages} messages, ${s.drops} dropped, ${s.lost} lost by bpftrace, bpftrace restarted ${s.restarts} times`);
  await agent.stop();
  return 0;
}
