// Command-line flags, modelled on ntopng's (-i repeated), turned into the same
// shape as the config file so one resolver applies both.
import { parseArgs } from 'node:util';
import { ConfigError, DEFAULTS, DEFAULT_INTERFACES, type ConfigFile } from './config.ts';

export const USAGE = `flowbridge: process-aware flows from eBPF events (ZMQ) merged with captured traffic

Usage: flowbridge [options]          (npm start -- [options])
       flowbridge push --offline --target <desc> --begin <s> --end <s> [--config F --data-dir D --pcap-dir P]
                                     push a stored range through a push target (push --help)
       flowbridge agent --zmq tcp://collector:5556c [--source-id N] [--counters-interval S]
                                     this host's connections with their processes (eBPF), sent
                                     to a collector (agent --help)

Interfaces (repeat -i; ids are assigned in this order, from 0):
  -i, --interface <value>      a ZMQ interface: endpoint list as in ntopng, comma separated
                                 tcp://*:5556c   trailing 'c': bind, producers connect (collector mode)
                                 tcp://host:5556 connect to a producer that binds
                                 ipc:///run/flows.sock, zmq://... (alias of tcp://)
                               a packet interface: a capture device (lo, eth0, veth1)
                               or pcap:<file> to replay a capture file as an interface
                               default: ${DEFAULT_INTERFACES.join(' and ')}
      --bpf <iface>=<filter>   BPF capture filter of a packet interface (libpcap syntax)
      --mirrored <iface>       mark a packet interface "Mirrored Traffic" (repeatable)
      --companion <zmq>=<iface>  deliver the events of a ZMQ interface to a mirrored interface
                               too (loopback events excepted); repeatable

Recording (continuous, per packet interface; extraction through the API and pages):
      --record <iface>=<size>  record every packet of <iface> (whole packets) in a ring of
                               at most <size> on disk: 500MB, 2GiB or bytes; repeatable
      --pcap-dir <dir>         where recordings go: <dir>/<interface id>/ (default <data-dir>/pcap)
      --conditional-pcap <iface>=<size>
                               keep the packets of flows with an IDS alert on <iface>, from the
                               packets that fired it to the flow's end, once per flow, in a store
                               of at most <size> (oldest data goes first); repeatable

Collector:
      --curve                  encrypt ZMQ with CURVE; the key pair is created once in the
                               data directory and the public key is printed for producers
      --max-flows <n>          flows per interface table (default ${DEFAULTS.flowTable.maxFlows})
      --idle-timeout <s>       flow idle timeout in seconds (default ${DEFAULTS.flowTable.idleTimeoutSeconds})
      --grace <s>              how long closed flows stay resolvable by late events (default ${DEFAULTS.flowTable.graceSeconds})
      --queue-bound <n>        events waiting per interface before drops are counted (default ${DEFAULTS.dispatch.queueBound})
      --community-id-seed <n>  Community ID seed of every flow, 0-65535 (default 0, as Suricata and Zeek)

Alerts (Suricata EVE records of event_type "alert", joined to their flows by Community ID or 5-tuple):
      --eve-file <path>        follow this eve.json (rotation and truncation followed; the
                               position is kept in the data directory across restarts; the
                               first start reads from the end: old alerts' flows are gone)
      --eve-socket <path>      listen on this unix socket for Suricata's EVE unix_stream output
                               (several writers at once); POST /api/v1/alerts takes them too

Web and API:
      --http <host:port>       REST API, web pages and /metrics (default ${DEFAULTS.http})
      --api-token <token>      require "Authorization: Bearer <token>" for changes and
                               for packet downloads (also FLOWBRIDGE_API_TOKEN). With users
                               (config file "users", or POST /api/v1/users) every call needs
                               a credential, and this token is an admin without capture or pcap
      --protect-reads          with a token and no users: reads need it too (except /healthz)
      --top-processes <n>      per-process metric series kept, the rest summed as "other"
                               (default ${DEFAULTS.metrics.topProcesses})

General:
      --no-agent               do not run the host agent (flowbridge agent) beside the collector;
                               it runs by default when the host allows it (root, bpftrace, tracefs)
      --data-dir <dir>         settings and keys (default ${DEFAULTS.dataDir})
      --config <file>          JSON configuration (schemas/config.schema.json); flags override it
  -h, --help                   this text
  -V, --version                the version

Examples:
  flowbridge -i tcp://*:5556c -i lo -i eth1 --mirrored eth1 --companion 'tcp://*:5556c=eth1'
  ebpflowexport -z tcp://127.0.0.1:5556c     (the producer side)
`;

export interface CliRequest {
  help: boolean;
  /** Run the host agent beside the collector (default; --no-agent turns it off). */
  agent: boolean;
  version: boolean;
  configFile?: string;
  flags: ConfigFile;
}

function pairs(values: string[] | undefined, flag: string, example: string): Record<string, string> | undefined {
  if (!values) return undefined;
  const out: Record<string, string> = {};
  for (const v of values) {
    // Split at the last '=' that follows the name: ZMQ names contain no '=', filters may.
    const at = v.indexOf('=');
    if (at <= 0 || at === v.length - 1) throw new ConfigError(`${flag} ${JSON.stringify(v)}: expected <name>=<value>, as in ${flag} ${example}`);
    out[v.slice(0, at)] = v.slice(at + 1);
  }
  return out;
}

function positiveInt(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value) || Number(value) < 1) throw new ConfigError(`${flag} ${JSON.stringify(value)}: expected a whole number of at least 1`);
  return Number(value);
}

function seconds(value: string | undefined, flag: string, allowZero: boolean): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n < 0 || (!allowZero && n === 0)) {
    throw new ConfigError(`${flag} ${JSON.stringify(value)}: expected a number of seconds${allowZero ? '' : ' above 0'}`);
  }
  return n;
}

/** The keys that were given, or undefined when none was: so the file's values show through. */
function definedOnly<T extends object>(group: T): Partial<T> | undefined {
  const entries = Object.entries(group).filter(([, value]) => value !== undefined);
  return entries.length ? (Object.fromEntries(entries) as Partial<T>) : undefined;
}

function seed(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d{1,5}$/.test(value) || Number(value) > 65535) throw new ConfigError(`--community-id-seed ${JSON.stringify(value)}: expected a whole number from 0 to 65535`);
  return Number(value);
}

function nonEmpty(value: string | undefined, flag: string): string | undefined {
  if (value !== undefined && value.trim() === '') throw new ConfigError(`${flag} needs a path`);
  return value;
}

/** --record <iface>=<max disk space>, repeatable. */
function recordFlags(values: string[] | undefined): ConfigFile['recording'] {
  const sizes = pairs(values, '--record', 'eth1=500MB');
  return sizes && Object.fromEntries(Object.entries(sizes).map(([iface, size]) => [iface, { maxDiskSpace: size }]));
}

export function parseCli(argv: string[], env: NodeJS.ProcessEnv = process.env): CliRequest {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        interface: { type: 'string', short: 'i', multiple: true },
        bpf: { type: 'string', multiple: true },
        mirrored: { type: 'string', multiple: true },
        companion: { type: 'string', multiple: true },
        record: { type: 'string', multiple: true },
        'conditional-pcap': { type: 'string', multiple: true },
        'pcap-dir': { type: 'string' },
        curve: { type: 'boolean' },
        'max-flows': { type: 'string' },
        'idle-timeout': { type: 'string' },
        grace: { type: 'string' },
        'queue-bound': { type: 'string' },
        'community-id-seed': { type: 'string' },
        'eve-file': { type: 'string' },
        'eve-socket': { type: 'string' },
        http: { type: 'string' },
        'api-token': { type: 'string' },
        'protect-reads': { type: 'boolean' },
        'top-processes': { type: 'string' },
        'data-dir': { type: 'string' },
        config: { type: 'string' },
        'no-agent': { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
        version: { type: 'boolean', short: 'V' },
      },
    });
  } catch (err) {
    throw new ConfigError(`${(err as Error).message}. Run with --help for the accepted options.`);
  }
  const v = parsed.values;
  const maxFlows = positiveInt(v['max-flows'], '--max-flows');
  const idle = seconds(v['idle-timeout'], '--idle-timeout', false);
  const grace = seconds(v.grace, '--grace', true);
  const queueBound = positiveInt(v['queue-bound'], '--queue-bound');
  const top = positiveInt(v['top-processes'], '--top-processes');
  const flags: ConfigFile = {
    interfaces: v.interface,
    bpf: pairs(v.bpf, '--bpf', "eth0='tcp port 443'"),
    mirrored: v.mirrored,
    companions: pairs(v.companion, '--companion', "'tcp://*:5556c=eth1'"),
    curve: v.curve,
    http: v.http,
    apiToken: v['api-token'] ?? (env.FLOWBRIDGE_API_TOKEN || undefined),
    protectReads: v['protect-reads'],
    dataDir: v['data-dir'],
    pcapDir: v['pcap-dir'],
    communityIdSeed: seed(v['community-id-seed']),
    eveFile: nonEmpty(v['eve-file'], '--eve-file'),
    eveSocket: nonEmpty(v['eve-socket'], '--eve-socket'),
    recording: recordFlags(v.record),
    conditionalPcap: pairs(v['conditional-pcap'], '--conditional-pcap', 'eth1=500MB'),
    flowTable: definedOnly({ maxFlows, idleTimeoutSeconds: idle, graceSeconds: grace }),
    dispatch: queueBound ? { queueBound } : undefined,
    metrics: top ? { topProcesses: top } : undefined,
  };
  return { help: v.help ?? false, version: v.version ?? false, agent: !v['no-agent'], configFile: v.config, flags };
}
