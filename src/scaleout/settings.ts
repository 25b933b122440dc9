// What the scale-out part of the configuration says: where the NATS cluster is, how to
// authenticate (as NATS users expect: user/password, token, nkey seed or creds file,
// a TLS CA), this node's name and role, and how flows are exported. Turned into the
// client's connection options here, so the rest of src/scaleout/ never reads files.
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { credsAuthenticator, nkeyAuthenticator, type ConnectionOptions } from '@nats-io/transport-node';

/** `all`: one process does everything (the default); `ingest`: ZMQ in, events out; `capture`: events in, merged flows out. */
export type Role = 'all' | 'ingest' | 'capture';
export const ROLES: readonly Role[] = ['all', 'ingest', 'capture'];
export type ExportFormat = 'msgpack' | 'json';
export const EXPORT_FORMATS: readonly ExportFormat[] = ['msgpack', 'json'];

export interface NatsSettings {
  /** nats://host:port URLs of the cluster (any subset: the client learns the rest). */
  servers: string[];
  user?: string;
  password?: string;
  token?: string;
  /** A file holding an nkey seed (SU...). */
  nkeyFile?: string;
  /** A .creds file (JWT and seed), as `nsc` writes them. */
  credsFile?: string;
  /** PEM file of the CA that signed the servers' certificates (turns TLS on). */
  tlsCa?: string;
  /** This node's name in subjects and message ids (default: the host name). */
  node: string;
  role: Role;
  exportFormat: ExportFormat;
  /** A long flow is published again after this many seconds (its final record when it leaves the table). */
  exportIntervalSeconds: number;
  /** Records waiting while NATS is unreachable or slow; beyond this they are dropped and counted. */
  bufferBound: number;
  /** Stream replicas (1 for a single server, 3 for a cluster of three or more). */
  replicas: number;
}

export const NATS_DEFAULTS = { exportFormat: 'msgpack', exportIntervalSeconds: 60, bufferBound: 100_000, role: 'all' } as const;

/** A NATS subject token from a name: '.', '*', '>' and white space separate or match tokens, so they become '_'. */
export function subjectToken(name: string): string {
  const t = name.replace(/[.*>\s/\\:]+/g, '_');
  return t === '' ? '_' : t;
}

export function defaultNodeName(): string {
  return subjectToken(hostname());
}

/** The client's options: servers, credentials, TLS, and reconnecting forever. */
export function connectionOptions(s: NatsSettings): ConnectionOptions {
  const options: ConnectionOptions = {
    servers: s.servers,
    name: `flowbridge-${s.role}-${s.node}`,
    maxReconnectAttempts: -1,
    reconnectTimeWait: 500,
    // A first connect that fails rejects with its reason (refused, TLS, authorization), which
    // connection.ts reports and tries again: the collector runs and buffers meanwhile. (Waiting
    // inside the client instead kept a TLS failure silent: "connecting" forever, no reason.)
    waitOnFirstConnect: false,
    pingInterval: 5_000,
    maxPingOut: 2,
  };
  if (s.user !== undefined) options.user = s.user;
  if (s.password !== undefined) options.pass = s.password;
  if (s.token !== undefined) options.token = s.token;
  if (s.nkeyFile) options.authenticator = nkeyAuthenticator(new TextEncoder().encode(readFileSync(s.nkeyFile, 'utf8').trim()));
  if (s.credsFile) options.authenticator = credsAuthenticator(new Uint8Array(readFileSync(s.credsFile)));
  if (s.tlsCa) options.tls = { caFile: s.tlsCa };
  return options;
}

/** The `nats` key of the config file, and the --nats… flags in the same shape: every setting optional, role and format not yet checked. */
export type NatsInput = Partial<Omit<NatsSettings, 'role' | 'exportFormat'>> & { role?: string; exportFormat?: string };

/** A scale-out setting a person got wrong: the message names what is accepted. */
export class NatsSettingsError extends Error {}

const SERVER = /^((nats|tls|ws|wss):\/\/)?([^\s/:@]+(:[^\s/@]*)?@)?(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+)(:\d{1,5})?$/;

/** Checks and completes the scale-out settings; undefined when no NATS server is named (one process, no NATS). */
export function natsSettings(input: NatsInput): NatsSettings | undefined {
  const role = input.role ?? NATS_DEFAULTS.role;
  if (!ROLES.includes(role as Role)) throw new NatsSettingsError(`--role ${JSON.stringify(role)}: expected one of ${ROLES.join(', ')}`);
  const servers = (input.servers ?? []).map((s) => s.trim()).filter((s) => s !== '');
  if (servers.length === 0) {
    if (role !== 'all') throw new NatsSettingsError(`--role ${role} needs --nats <url,...>: ingest and capture nodes meet through a NATS JetStream cluster`);
    return undefined;
  }
  for (const s of servers) if (!SERVER.test(s)) throw new NatsSettingsError(`--nats ${JSON.stringify(s)}: expected a NATS URL such as nats://127.0.0.1:4222 or host:4222 (comma separated for several)`);
  const format = input.exportFormat ?? NATS_DEFAULTS.exportFormat;
  if (!EXPORT_FORMATS.includes(format as ExportFormat)) throw new NatsSettingsError(`--export-format ${JSON.stringify(format)}: expected ${EXPORT_FORMATS.join(' or ')}`);
  const node = input.node ?? defaultNodeName();
  if (subjectToken(node) !== node) throw new NatsSettingsError(`--node-name ${JSON.stringify(node)}: a name without '.', '*', '>', '/', ':' or spaces (it is a token of NATS subjects)`);
  const interval = input.exportIntervalSeconds ?? NATS_DEFAULTS.exportIntervalSeconds;
  if (!(interval > 0)) throw new NatsSettingsError('--export-interval: expected a number of seconds above 0');
  const replicas = input.replicas ?? Math.min(servers.length, 3);
  if (!Number.isInteger(replicas) || replicas < 1 || replicas > 5) throw new NatsSettingsError('--nats-replicas: expected 1 to 5 (JetStream allows at most 5)');
  if (input.nkeyFile && input.credsFile) throw new NatsSettingsError('--nats-nkey and --nats-creds both given: a creds file already holds the nkey seed, give one of them');
  for (const [flag, path] of [['--nats-nkey', input.nkeyFile], ['--nats-creds', input.credsFile], ['--nats-tls-ca', input.tlsCa]] as const) {
    if (path !== undefined) {
      try {
        readFileSync(path);
      } catch (err) {
        throw new NatsSettingsError(`${flag} ${path}: cannot read it (${(err as Error).message})`);
      }
    }
  }
  const settings: NatsSettings = {
    servers, node, role: role as Role, exportFormat: format as ExportFormat, exportIntervalSeconds: interval,
    bufferBound: input.bufferBound ?? NATS_DEFAULTS.bufferBound, replicas,
  };
  for (const k of ['user', 'password', 'token', 'nkeyFile', 'credsFile', 'tlsCa'] as const) if (input[k] !== undefined) settings[k] = input[k];
  return settings;
}
