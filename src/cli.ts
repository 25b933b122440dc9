// Command-line flags, modelled on ntopng's (-i repeated), turned into the same
// shape as the config file so one resolver applies both.
import { parseArgs } from 'node:util';
import { ConfigError, DEFAULTS, DEFAULT_INTERFACES, type ConfigFile } from './config.ts';
import { parseByteSize, BYTE_SIZE_ACCEPTED } from './model/byte-size.ts';
import { WEB_LIMIT_DEFAULTS } from './model/web.ts';

/** Default bound of a stop on SIGTERM/SIGINT (seconds). */
export const STOP_TIMEOUT_SECONDS = 10;

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
      --decode-threads <n>     threads decoding each ZMQ interface's messages, 1-16 (default: cores less 2,
                               from 1 to 4; 1: the receive thread decodes); a source stays on one thread
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
      --https-cert <file>      serve the pages and the API over HTTPS with this PEM certificate
      --https-key <file>       ... and this PEM private key (both, or neither)
      --max-body <size>        largest request body (default 1MiB; POST /api/v1/alerts and the
                               conditional pcap upload take 16MiB); larger ones get 413
      --headers-timeout <s>    a client must send its request head within <s> (default ${WEB_LIMIT_DEFAULTS.headersTimeoutSeconds})
      --request-timeout <s>    a client must send its whole request within <s> (default ${WEB_LIMIT_DEFAULTS.requestTimeoutSeconds})
      --keep-alive-timeout <s> an idle kept-alive connection is closed after <s> (default ${WEB_LIMIT_DEFAULTS.keepAliveTimeoutSeconds})
      --max-pcap-streams-per-user <n>
                               packet downloads one user streams at once (default ${WEB_LIMIT_DEFAULTS.maxPcapStreamsPerUser}); more get 429
      --max-extractions-per-user <n>
                               extraction jobs one user has queued or running (default ${WEB_LIMIT_DEFAULTS.maxExtractionsPerUser}); more get 429
      --top-processes <n>      per-process metric series kept, the rest summed as "other"
                               (default ${DEFAULTS.metrics.topProcesses})

Scale-out (NATS JetStream; without --nats one process does everything):
      --nats <url,...>         NATS servers (nats://10.0.0.5:4222,nats://10.0.0.6:4222): merged
                               flows, alerts and process summaries are published to JetStream
      --role <role>            all (default): everything here; ingest: receive ZMQ, publish
                               events by target; capture: capture, merge the events of these
                               devices from JetStream, publish merged flows
      --node-name <name>       this node in subjects and message ids (default: the host name)
      --export-format <f>      msgpack (default) or json
      --export-interval <s>    a live flow is published again after this long (default 60)
      --nats-buffer <n>        records kept while NATS is unreachable (default 100000)
      --nats-replicas <n>      replicas of the streams flowbridge creates (default: servers given, at most 3)
      --nats-user <u>  --nats-password <p> (or FLOWBRIDGE_NATS_PASSWORD)
      --nats-token <t> (or FLOWBRIDGE_NATS_TOKEN)
      --nats-nkey <seed file>  --nats-creds <creds file>  --nats-tls-ca <CA PEM file>

General:
      --no-agent               do not run the host agent (flowbridge agent) beside the collector;
                               it runs by default when the host allows it (root, bpftrace, tracefs)
      --data-dir <dir>         settings and keys (default ${DEFAULTS.dataDir})
      --stop-timeout <s>       on SIGTERM or SIGINT, stop intake, flush queues and complete files
                               within <s> seconds, then exit saying what was not flushed (default ${STOP_TIMEOUT_SECONDS})
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
  /** How long a stop on SIGTERM/SIGINT may take before the process exits anyway (--stop-timeout). */
  stopTimeoutSeconds: number;
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

function bodySize(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const bytes = parseByteSize(value);
  if (bytes === undefined || bytes < 1024) throw new ConfigError(`--max-body ${JSON.stringify(value)}: expected at least 1KiB, as ${BYTE_SIZE_ACCEPTED}`);
  return bytes;
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
        'decode-threads': { type: 'string' },
        'eve-file': { type: 'string' },
        'eve-socket': { type: 'string' },
        http: { type: 'string' },
        'api-token': { type: 'string' },
        'protect-reads': { type: 'boolean' },
        'https-cert': { type: 'string' },
        'https-key': { type: 'string' },
        'max-body': { type: 'string' },
        'headers-timeout': { type: 'string' },
        'request-timeout': { type: 'string' },
        'keep-alive-timeout': { type: 'string' },
        'max-pcap-streams-per-user': { type: 'string' },
        'max-extractions-per-user': { type: 'string' },
        'top-processes': { type: 'string' },
        'data-dir': { type: 'string' },
        config: { type: 'string' },
        'no-agent': { type: 'boolean' },
        'stop-timeout': { type: 'string' },
        nats: { type: 'string' },
        role: { type: 'string' },
        'node-name': { type: 'string' },
        'export-format': { type: 'string' },
        'export-interval': { type: 'string' },
        'nats-buffer': { type: 'string' },
        'nats-replicas': { type: 'string' },
        'nats-user': { type: 'string' },
        'nats-password': { type: 'string' },
        'nats-token': { type: 'string' },
        'nats-nkey': { type: 'string' },
        'nats-creds': { type: 'string' },
        'nats-tls-ca': { type: 'string' },
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
    https: definedOnly({ cert: nonEmpty(v['https-cert'], '--https-cert'), key: nonEmpty(v['https-key'], '--https-key') }),
    web: definedOnly({
      maxBodyBytes: bodySize(v['max-body']),
      headersTimeoutSeconds: seconds(v['headers-timeout'], '--headers-timeout', false),
      requestTimeoutSeconds: seconds(v['request-timeout'], '--request-timeout', false),
      keepAliveTimeoutSeconds: seconds(v['keep-alive-timeout'], '--keep-alive-timeout', false),
      maxPcapStreamsPerUser: positiveInt(v['max-pcap-streams-per-user'], '--max-pcap-streams-per-user'),
      maxExtractionsPerUser: positiveInt(v['max-extractions-per-user'], '--max-extractions-per-user'),
    }),
    dataDir: v['data-dir'],
    pcapDir: v['pcap-dir'],
    communityIdSeed: seed(v['community-id-seed']),
    decodeThreads: positiveInt(v['decode-threads'], '--decode-threads'),
    eveFile: nonEmpty(v['eve-file'], '--eve-file'),
    eveSocket: nonEmpty(v['eve-socket'], '--eve-socket'),
    recording: recordFlags(v.record),
    conditionalPcap: pairs(v['conditional-pcap'], '--conditional-pcap', 'eth1=500MB'),
    flowTable: definedOnly({ maxFlows, idleTimeoutSeconds: idle, graceSeconds: grace }),
    dispatch: queueBound ? { queueBound } : undefined,
    metrics: top ? { topProcesses: top } : undefined,
    nats: definedOnly({
      servers: v.nats?.split(','),
      role: v.role,
      node: v['node-name'],
      exportFormat: v['export-format'],
      exportIntervalSeconds: seconds(v['export-interval'], '--export-interval', false),
      bufferBound: positiveInt(v['nats-buffer'], '--nats-buffer'),
      replicas: positiveInt(v['nats-replicas'], '--nats-replicas'),
      user: v['nats-user'],
      password: v['nats-password'] ?? (env.FLOWBRIDGE_NATS_PASSWORD || undefined),
      token: v['nats-token'] ?? (env.FLOWBRIDGE_NATS_TOKEN || undefined),
      nkeyFile: nonEmpty(v['nats-nkey'], '--nats-nkey'),
      credsFile: nonEmpty(v['nats-creds'], '--nats-creds'),
      tlsCa: nonEmpty(v['nats-tls-ca'], '--nats-tls-ca'),
    }),
  };
  const stopTimeoutSeconds = seconds(v['stop-timeout'], '--stop-timeout', false) ?? STOP_TIMEOUT_SECONDS;
  return { help: v.help ?? false, version: v.version ?? false, agent: !v['no-agent'], stopTimeoutSeconds, configFile: v.config, flags };
}
