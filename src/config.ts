// The collector's configuration: defaults, the --config file (checked against
// schemas/config.schema.json) and the command-line flags on top, resolved into one
// value the pipeline is built from. Bad input says what was wrong and what is accepted.
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join, resolve } from 'node:path';
import { createSecureContext } from 'node:tls';
import { Ajv } from 'ajv';
import configSchema from '../schemas/config.schema.json' with { type: 'json' };
import { alertRule, type AlertRule } from './alerts/rules.ts';
import type { PushTargetSpec } from './model/push.ts';
import type { UserInput } from './model/access.ts';
import { WEB_LIMIT_DEFAULTS, type WebLimits } from './model/web.ts';
import { pushTargetSpec } from './push/target.ts';
import { conditionalRequest, ConditionalSettingsError, type ConditionalRequest } from './conditional/conditional-settings.ts';
import { recordingRequest, RecordingSettingsError, type RecordingInput, type RecordingRequest } from './recording/settings.ts';
import { natsSettings, NatsSettingsError, type NatsInput, type NatsSettings } from './scaleout/settings.ts';

export type InterfaceSpec =
  | { kind: 'zmq'; name: string; endpoints: string }
  | { kind: 'packet'; name: string; device: string; filter?: string }
  | { kind: 'pcap-file'; name: string; file: string; filter?: string };

export interface FlowbridgeConfig {
  interfaces: InterfaceSpec[];
  http: { host: string; port: number };
  /** Serve the pages and the API over HTTPS with these PEM files (absolute). */
  https?: { cert: string; key: string };
  /** Bounds of the web side (src/model/web.ts). */
  web: WebLimits;
  dataDir: string;
  mirrored: string[];
  companions: Record<string, string>;
  curve: boolean;
  apiToken?: string;
  protectReads: boolean;
  flowTable: { maxFlows: number; idleTimeoutSeconds: number; graceSeconds: number };
  dispatch: { queueBound: number };
  /** Decode threads per ZMQ interface (--decode-threads; 1: the receive thread decodes). */
  decodeThreads: number;
  metrics: { topProcesses: number };
  /** Recordings go to `<pcapDir>/<interface id>/`. */
  pcapDir: string;
  /** Recording requested by interface name (config file and --record); saved changes apply on top. */
  recording: Record<string, RecordingRequest>;
  /** Push targets from the config file (saved runtime changes apply on top by desc). */
  pushTargets: PushTargetSpec[];
  /** Community ID seed of every flow. */
  communityIdSeed: number;
  /** Suricata eve.json followed for alerts (absolute). */
  eveFile?: string;
  /** Conditional pcap: interface name → store bound in bytes (config file and --conditional-pcap). */
  conditionalPcap: ConditionalRequest;
  /** Users from the config file (users.json keeps the changes made over the API). */
  users: UserInput[];
  /** Unix socket Suricata's EVE unix_stream output writes alerts to (absolute). */
  eveSocket?: string;
  /** flowbridge's own alert rules on merged events (config file; changes over the API are saved in the data dir). */
  alertRules: AlertRule[];
  /** Scale-out through NATS JetStream (--nats); absent: one process, no NATS. */
  nats?: NatsSettings;
}

/** The file's shape (every key optional); the schema is what enforces it. */
export interface ConfigFile {
  interfaces?: string[];
  http?: string;
  https?: Partial<{ cert: string; key: string }>;
  web?: Partial<WebLimits>;
  dataDir?: string;
  mirrored?: string[];
  companions?: Record<string, string>;
  bpf?: Record<string, string>;
  curve?: boolean;
  apiToken?: string;
  protectReads?: boolean;
  flowTable?: Partial<FlowbridgeConfig['flowTable']>;
  dispatch?: Partial<FlowbridgeConfig['dispatch']>;
  metrics?: Partial<FlowbridgeConfig['metrics']>;
  pcapDir?: string;
  recording?: Record<string, RecordingInput>;
  pushTargets?: unknown[];
  communityIdSeed?: number;
  decodeThreads?: number;
  conditionalPcap?: Record<string, string | number>;
  eveFile?: string;
  eveSocket?: string;
  users?: UserInput[];
  rules?: unknown[];
  nats?: NatsInput;
}

/** The config file's alert rules, checked; a bad one is a ConfigError naming it. */
function configRules(inputs: unknown[]): AlertRule[] {
  const rules: AlertRule[] = [];
  for (const input of inputs) {
    let rule: AlertRule;
    try {
      rule = alertRule(input);
    } catch (err) {
      throw new ConfigError(`config file rules: ${(err as Error).message}`);
    }
    if (rules.some((r) => r.signatureId === rule.signatureId)) throw new ConfigError(`config file rules: rule ${rule.signatureId} is given twice: signatureId must be unique`);
    rules.push(rule);
  }
  return rules;
}

/** What `npm start` runs with no flags: a ZMQ collector endpoint and capture on loopback. */
export const DEFAULT_INTERFACES = ['tcp://*:5556c', 'lo'];

export const DEFAULTS = {
  http: '127.0.0.1:3000',
  dataDir: './data',
  flowTable: { maxFlows: 1_000_000, idleTimeoutSeconds: 180, graceSeconds: 30 },
  dispatch: { queueBound: 65_536 },
  metrics: { topProcesses: 20 },
} as const;

/** A configuration a person got wrong: the message says what and what is accepted. */
export class ConfigError extends Error {}

const validateFile = new Ajv({ allErrors: true, strict: true }).compile<ConfigFile>(configSchema);

/**
 * Decode threads per ZMQ interface when not told: the cores left beside the receive
 * thread and the main thread (which dispatches and merges), from 1 (the receive thread
 * decodes, as on 2 cores) to 4.
 */
export function defaultDecodeThreads(cores = availableParallelism()): number {
  return Math.min(4, Math.max(1, cores - 2));
}

export function readConfigFile(path: string): ConfigFile {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(`cannot read config file ${path}: ${(err as Error).message}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new ConfigError(`config file ${path} is not valid JSON: ${(err as Error).message}`);
  }
  if (!validateFile(parsed)) {
    const problems = (validateFile.errors ?? []).map((e) => {
      const where = e.instancePath || '(top level)';
      const extra = e.keyword === 'additionalProperties' ? ` '${(e.params as { additionalProperty: string }).additionalProperty}'` : '';
      return `${where} ${e.message}${extra}`;
    });
    const accepted = Object.keys(configSchema.properties).join(', ');
    throw new ConfigError(`config file ${path} is invalid: ${problems.join('; ')} (accepted keys: ${accepted})`);
  }
  return parsed;
}

const ZMQ_SCHEMES = /^(tcp|ipc|zmq):\/\//;

/** Classifies an -i value the way ntopng does: endpoint list, pcap:<file>, or a device name. */
export function interfaceSpec(value: string, bpf: Record<string, string>): InterfaceSpec {
  const v = value.trim();
  if (v === '') throw new ConfigError('an interface (-i) cannot be empty: give a ZMQ endpoint (tcp://*:5556c), a device (lo) or pcap:<file>');
  if (ZMQ_SCHEMES.test(v)) return { kind: 'zmq', name: v, endpoints: v };
  if (v.includes('://')) {
    throw new ConfigError(`interface ${v}: unknown scheme; ZMQ endpoints start with tcp://, ipc:// or zmq://`);
  }
  if (v.startsWith('pcap:')) {
    const file = v.slice('pcap:'.length);
    if (!file) throw new ConfigError('interface pcap: needs a file name, as in pcap:/tmp/trace.pcap');
    return { kind: 'pcap-file', name: v, file: resolve(file), filter: bpf[v] };
  }
  if (!/^[A-Za-z0-9_.:@-]{1,15}$/.test(v)) {
    throw new ConfigError(`interface ${v} is not a valid device name (at most 15 letters, digits, '.', '-', '_', '@', ':')`);
  }
  return { kind: 'packet', name: v, device: v, filter: bpf[v] };
}

export function parseHostPort(value: string, what: string): { host: string; port: number } {
  const m = /^(\[([0-9a-fA-F:.]+)\]|[^:\s]+):(\d{1,5})$/.exec(value);
  const port = m ? Number(m[3]) : NaN;
  if (!m || port < 0 || port > 65535) {
    throw new ConfigError(`${what} ${JSON.stringify(value)} is not host:port (e.g. 127.0.0.1:3000, [::1]:3000, 0.0.0.0:3000)`);
  }
  return { host: m[2] ?? m[1], port };
}

/** The config file's users: names unique, a deny beats a grant (both kept, so the page shows the deny). */
function configUsers(users: UserInput[]): UserInput[] {
  const seen = new Set<string>();
  for (const u of users) {
    if (seen.has(u.name)) throw new ConfigError(`user ${u.name} is given twice: names must be unique`);
    if (u.name === 'token' || u.name === 'anonymous') throw new ConfigError(`user name ${u.name} is reserved (it names the --api-token and unauthenticated calls in the audit log)`);
    seen.add(u.name);
  }
  return users;
}

function conditionalPcapOf(input: Record<string, string | number>, interfaces: InterfaceSpec[], names: Set<string>): ConditionalRequest {
  for (const name of Object.keys(input)) {
    const spec = interfaces.find((i) => i.name === name);
    if (!spec || spec.kind === 'zmq') throw new ConfigError(`conditional pcap for ${name}: not a packet interface of this collector (${[...names].join(', ')})`);
  }
  try {
    return conditionalRequest(input);
  } catch (err) {
    if (err instanceof ConditionalSettingsError) throw new ConfigError(err.message);
    throw err;
  }
}

/** --https-cert and --https-key: both or neither, each a readable file. */
function httpsOf(given: Partial<{ cert: string; key: string }>): { cert: string; key: string } | undefined {
  if (given.cert === undefined && given.key === undefined) return undefined;
  if (given.cert === undefined || given.key === undefined) {
    throw new ConfigError(`${given.cert === undefined ? '--https-key' : '--https-cert'} needs ${given.cert === undefined ? '--https-cert' : '--https-key'} too: HTTPS takes a certificate and its private key (PEM files), or neither for plain HTTP`);
  }
  const paths = { cert: resolve(given.cert), key: resolve(given.key) };
  const pem = Object.fromEntries(Object.entries(paths).map(([what, path]) => {
    try {
      return [what, readFileSync(path)];
    } catch (err) {
      throw new ConfigError(`--https-${what} ${path} cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}): give a PEM file flowbridge may read`);
    }
  }));
  try {
    createSecureContext({ cert: pem.cert, key: pem.key });
  } catch (err) {
    throw new ConfigError(`--https-cert ${paths.cert} and --https-key ${paths.key} are not a PEM certificate and its private key (${(err as Error).message})`);
  }
  return paths;
}

/** Merges defaults, file and flags (flags win) into the configuration the pipeline runs with. */
export function resolveConfig(file: ConfigFile, flags: ConfigFile): FlowbridgeConfig {
  const pick = <K extends keyof ConfigFile>(k: K): ConfigFile[K] => (flags[k] !== undefined ? flags[k] : file[k]);
  const bpf = { ...file.bpf, ...flags.bpf };
  const interfaces = (pick('interfaces') ?? DEFAULT_INTERFACES).map((v) => interfaceSpec(v, bpf));
  const names = new Set<string>();
  for (const i of interfaces) {
    if (names.has(i.name)) throw new ConfigError(`interface ${i.name} is given twice`);
    names.add(i.name);
  }
  for (const name of Object.keys(bpf)) {
    const spec = interfaces.find((i) => i.name === name);
    if (!spec || spec.kind === 'zmq') throw new ConfigError(`BPF filter for ${name}: not a packet interface of this collector (${[...names].join(', ')})`);
  }
  const recording: Record<string, RecordingRequest> = {};
  for (const [name, input] of Object.entries({ ...file.recording, ...flags.recording })) {
    const spec = interfaces.find((i) => i.name === name);
    if (!spec || spec.kind === 'zmq') throw new ConfigError(`recording for ${name}: not a packet interface of this collector (${[...names].join(', ')})`);
    try {
      recording[name] = recordingRequest({ ...file.recording?.[name], ...input });
    } catch (err) {
      if (err instanceof RecordingSettingsError) throw new ConfigError(`recording for ${name}: ${err.message}`);
      throw err;
    }
  }
  const pushTargets: PushTargetSpec[] = [];
  for (const input of file.pushTargets ?? []) {
    let spec: PushTargetSpec;
    try {
      spec = pushTargetSpec(input);
    } catch (err) {
      throw new ConfigError((err as Error).message);
    }
    const iface = interfaces.find((i) => i.name === spec.interface);
    if (!iface || iface.kind === 'zmq') throw new ConfigError(`push target ${spec.desc}: interface ${spec.interface} is not a packet interface of this collector (${[...names].join(', ')})`);
    if (pushTargets.some((t) => t.desc === spec.desc)) throw new ConfigError(`push target ${spec.desc} is given twice: desc must be unique`);
    pushTargets.push(spec);
  }
  const dataDir = resolve(pick('dataDir') ?? DEFAULTS.dataDir);
  const https = httpsOf({ ...file.https, ...flags.https });
  const config: FlowbridgeConfig = {
    interfaces,
    http: parseHostPort(pick('http') ?? DEFAULTS.http, '--http'),
    ...(https ? { https } : {}),
    web: { ...WEB_LIMIT_DEFAULTS, ...file.web, ...flags.web },
    dataDir,
    mirrored: [...(file.mirrored ?? []), ...(flags.mirrored ?? [])],
    companions: { ...file.companions, ...flags.companions },
    curve: pick('curve') ?? false,
    apiToken: pick('apiToken'),
    protectReads: pick('protectReads') ?? false,
    flowTable: { ...DEFAULTS.flowTable, ...file.flowTable, ...flags.flowTable },
    dispatch: { ...DEFAULTS.dispatch, ...file.dispatch, ...flags.dispatch },
    metrics: { ...DEFAULTS.metrics, ...file.metrics, ...flags.metrics },
    pcapDir: resolve(pick('pcapDir') ?? join(dataDir, 'pcap')),
    recording,
    pushTargets,
    communityIdSeed: pick('communityIdSeed') ?? 0,
    decodeThreads: pick('decodeThreads') ?? defaultDecodeThreads(),
    conditionalPcap: conditionalPcapOf({ ...file.conditionalPcap, ...flags.conditionalPcap }, interfaces, names),
    users: configUsers(file.users ?? []),
    alertRules: configRules(file.rules ?? []),
  };
  const eveFile = pick('eveFile');
  const eveSocket = pick('eveSocket');
  if (eveFile !== undefined) config.eveFile = resolve(eveFile);
  if (eveSocket !== undefined) config.eveSocket = resolve(eveSocket);
  if (config.eveFile !== undefined && config.eveFile === config.eveSocket) throw new ConfigError('--eve-file and --eve-socket name the same path: give the file Suricata writes, or the socket it connects to');
  try {
    const nats = natsSettings({ ...file.nats, ...flags.nats });
    if (nats) config.nats = nats;
  } catch (err) {
    if (err instanceof NatsSettingsError) throw new ConfigError(err.message);
    throw err;
  }
  if (config.protectReads && !config.apiToken) throw new ConfigError('protectReads needs an apiToken (--api-token or FLOWBRIDGE_API_TOKEN)');
  if (config.apiToken !== undefined && config.apiToken.length < 8) throw new ConfigError('the API token must be at least 8 characters');
  return config;
}
