// A real three-node nats-server cluster with JetStream on 127.0.0.1, for the scale-out
// tests: free ports, one config file and store directory per node under a temporary
// directory, cluster routes between them. A node can be killed with SIGKILL and started
// again on the same ports and store; stop() ends every node and removes the directory.
// operatorAuth() makes the JWTs and creds of decentralised authentication for such a node.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, connect as tcpConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type NodeConnectionOptions } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import { createAccount, createOperator, createUser, type KeyPair } from '@nats-io/nkeys';
import { waitFor } from './wait.ts';

export const natsServerInstalled = spawnSync('nats-server', ['--version']).status === 0;

export interface NatsNode {
  name: string;
  port: number;
  clusterPort: number;
  url: string;
  readonly running: boolean;
}

export interface NatsCluster {
  nodes: NatsNode[];
  /** Every node's client URL, comma separated, as --nats takes them. */
  urls: string;
  /** SIGKILL: no goodbye to the others, as a crash. */
  kill(index: number): Promise<void>;
  /** Starts a killed node again on its ports and store; resolves when it accepts clients. */
  restart(index: number): Promise<void>;
  /** Resolves when JetStream answers with a meta leader (after start or a restart). */
  jetStreamReady(timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = tcpConnect({ host: '127.0.0.1', port }, () => { s.destroy(); resolve(true); });
    s.once('error', () => resolve(false));
  });
}

const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const p of live) p.kill('SIGKILL');
});

/** Starts `size` nodes (default 3) and waits until JetStream has a meta leader. */
export async function startNatsCluster(size = 3, options: { log?: boolean; /** Extra lines of each node's config (e.g. an authorization block). */ config?: string; /** How this module's own clients authenticate then (user and password, token, an nkey authenticator, TLS). */ auth?: Omit<NodeConnectionOptions, 'servers'>; /** The nodes' client ports, when a test must know them before the nodes start. */ clientPorts?: number[] } = {}): Promise<NatsCluster> {
  const dir = mkdtempSync(join(tmpdir(), 'fb-nats-'));
  const ports: number[] = [];
  // Distinct free ports: asked one by one, each released before the next is taken.
  while (ports.length < size * 2) {
    const p = await freePort();
    if (!ports.includes(p)) ports.push(p);
  }
  options.clientPorts?.forEach((p, i) => (ports[i * 2] = p));
  const nodes = Array.from({ length: size }, (_, i) => {
    const node = { name: `n${i + 1}`, port: ports[i * 2], clusterPort: ports[i * 2 + 1], url: `nats://127.0.0.1:${ports[i * 2]}`, process: undefined as ChildProcess | undefined, config: '' };
    const store = join(dir, node.name, 'store');
    mkdirSync(store, { recursive: true });
    const routes = ports.filter((_, j) => j % 2 === 1 && j !== i * 2 + 1).map((p) => `nats-route://127.0.0.1:${p}`);
    node.config = join(dir, node.name, 'nats.conf');
    writeFileSync(node.config, [
      `server_name: ${node.name}`,
      `listen: 127.0.0.1:${node.port}`,
      `jetstream { store_dir: "${store}", max_memory_store: 256MB, max_file_store: 1GB }`,
      // One node alone runs JetStream unclustered.
      size > 1 ? `cluster { name: fb-test, listen: 127.0.0.1:${node.clusterPort}, routes: [${routes.join(', ')}] }` : '',
      options.config ?? '',
      '',
    ].join('\n'));
    return node;
  });

  const launch = async (i: number) => {
    const node = nodes[i];
    const child = spawn('nats-server', ['-c', node.config], { stdio: ['ignore', 'ignore', options.log ? 'inherit' : 'ignore'] });
    live.add(child);
    child.once('exit', () => live.delete(child));
    node.process = child;
    await waitFor(() => accepts(node.port), `nats-server ${node.name} on ${node.port}`, 15_000);
  };
  await Promise.all(nodes.map((_, i) => launch(i)));

  const cluster: NatsCluster = {
    nodes: nodes.map((n) => ({ name: n.name, port: n.port, clusterPort: n.clusterPort, url: n.url, get running() { return n.process?.exitCode === null && n.process.signalCode === null; } })),
    urls: nodes.map((n) => n.url).join(','),
    async kill(i) {
      const child = nodes[i].process;
      if (!child || child.exitCode !== null || child.signalCode !== null) return;
      await new Promise<void>((resolve) => { child.once('exit', () => resolve()); child.kill('SIGKILL'); });
    },
    async restart(i) {
      await launch(i);
    },
    async jetStreamReady(timeoutMs = 30_000) {
      const nc = await connect({ servers: nodes.filter((n) => n.process?.exitCode === null).map((n) => n.url), reconnect: false, ...options.auth });
      try {
        const jsm = await jetstreamManager(nc, { timeout: 2_000, checkAPI: false });
        await waitFor(async () => {
          try {
            await jsm.getAccountInfo();
            return true;
          } catch {
            return false;
          }
        }, 'a JetStream meta leader', timeoutMs, 200);
      } finally {
        await nc.close();
      }
    },
    async stop() {
      await Promise.all(nodes.map((_, i) => cluster.kill(i)));
      rmSync(dir, { recursive: true, force: true });
    },
  };
  try {
    await cluster.jetStreamReady();
  } catch (err) {
    await cluster.stop();
    throw err;
  }
  return cluster;
}

/** Every message a stream holds now, in order, with its subject and Nats-Msg-Id (a reader, as an operator's consumer would be). */
export async function readStream(urls: string, stream: string): Promise<{ subject: string; msgId?: string; data: Uint8Array }[]> {
  const nc = await connect({ servers: urls.split(','), reconnect: false });
  try {
    const jsm = await jetstreamManager(nc, { timeout: 5_000, checkAPI: false });
    const info = await jsm.streams.info(stream);
    const out: { subject: string; msgId?: string; data: Uint8Array }[] = [];
    for (let seq = info.state.first_seq; seq <= info.state.last_seq && info.state.messages > 0; seq++) {
      const m = await jsm.streams.getMessage(stream, { seq }).catch(() => null);
      if (m) out.push({ subject: m.subject, msgId: m.header?.get('Nats-Msg-Id') || undefined, data: m.data });
    }
    return out;
  } finally {
    await nc.close();
  }
}

/** Index in cluster.nodes of the server leading a stream now (the one whose loss forces an election). */
export async function streamLeader(cluster: NatsCluster, stream: string): Promise<number> {
  const nc = await connect({ servers: cluster.urls.split(','), reconnect: false });
  try {
    const jsm = await jetstreamManager(nc, { timeout: 5_000, checkAPI: false });
    const leader = (await jsm.streams.info(stream)).cluster?.leader;
    const i = cluster.nodes.findIndex((n) => n.name === leader);
    if (i < 0) throw new Error(`stream ${stream} has no leader among ${cluster.nodes.map((n) => n.name).join(', ')} (${leader})`);
    return i;
  } finally {
    await nc.close();
  }
}

/**
 * Decentralised authentication as `nsc` would set it up (nsc is not installed): an operator,
 * a system account, an account with JetStream and one user, their JWTs signed with nkeys;
 * `config` goes into startNatsCluster's config, `creds` is the user's creds file. A second
 * account the server does not know signs `strangerCreds`.
 */
export function operatorAuth(dir: string): { config: string; creds: string; strangerCreds: string } {
  const b64 = (b: Uint8Array | string) => Buffer.from(b).toString('base64url');
  const jwt = (issuer: KeyPair, subject: string, name: string, nats: Record<string, unknown>): string => {
    const header = b64(JSON.stringify({ typ: 'JWT', alg: 'ed25519-nkey' }));
    const claims = { jti: randomBytes(16).toString('hex').toUpperCase(), iat: Math.floor(Date.now() / 1000), iss: issuer.getPublicKey(), name, sub: subject, nats: { ...nats, version: 2 } };
    const body = `${header}.${b64(JSON.stringify(claims))}`;
    return `${body}.${b64(issuer.sign(new TextEncoder().encode(body)))}`;
  };
  const limits = { subs: -1, data: -1, payload: -1, imports: -1, exports: -1, wildcards: true, conn: -1, leaf: -1 };
  const account = (operator: KeyPair, a: KeyPair, name: string, jetStream: boolean) =>
    jwt(operator, a.getPublicKey(), name, { type: 'account', limits: jetStream ? { ...limits, mem_storage: -1, disk_storage: -1, streams: -1, consumer: -1 } : limits, default_permissions: { pub: {}, sub: {} } });
  const credsFile = (file: string, acct: KeyPair) => {
    const user = createUser();
    const userJwt = jwt(acct, user.getPublicKey(), 'flowbridge', { type: 'user', pub: {}, sub: {}, subs: -1, data: -1, payload: -1 });
    writeFileSync(file, `-----BEGIN NATS USER JWT-----\n${userJwt}\n------END NATS USER JWT------\n\n-----BEGIN USER NKEY SEED-----\n${new TextDecoder().decode(user.getSeed())}\n------END USER NKEY SEED------\n`, { mode: 0o600 });
    return file;
  };
  const operator = createOperator();
  const system = createAccount();
  const fb = createAccount();
  writeFileSync(join(dir, 'operator.jwt'), jwt(operator, operator.getPublicKey(), 'flowbridge-test', { type: 'operator' }));
  return {
    config: [
      `operator: "${join(dir, 'operator.jwt')}"`,
      `system_account: ${system.getPublicKey()}`,
      'resolver: MEMORY',
      `resolver_preload: { ${system.getPublicKey()}: "${account(operator, system, 'SYS', false)}", ${fb.getPublicKey()}: "${account(operator, fb, 'flowbridge', true)}" }`,
    ].join('\n'),
    creds: credsFile(join(dir, 'user.creds'), fb),
    strangerCreds: credsFile(join(dir, 'stranger.creds'), createAccount()),
  };
}
