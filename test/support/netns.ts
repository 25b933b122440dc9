// A network namespace joined to this one by a veth pair: a second host for tests,
// reachable only through addresses the test owns. Removed again even when a test
// fails: by the test's own remove() or withVethPair(), else when the process exits;
// leftovers of a crashed run with the same names are removed before creating.
import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';

export interface VethPair {
  ns: string;
  /** The end in this (root) namespace: capture here. */
  hostIf: string;
  hostIp: string;
  /** The end inside the namespace. */
  nsIf: string;
  nsIp: string;
  /**
   * Runs a command inside the namespace and resolves with its stdout. Asynchronous on
   * purpose: a server in the test's own process must keep answering meanwhile.
   */
  exec(cmd: string[], timeoutMs?: number): Promise<string>;
  remove(): void;
}

export interface VethOptions {
  /** Start of the namespace and interface names, per test suite (default `fb`; interface tests use `fbif`). */
  prefix?: string;
}

const run = promisify(execFile);
const ip = (...args: string[]) => execFileSync('ip', args, { stdio: ['ignore', 'pipe', 'pipe'] }).toString();
/** Linux interface names are at most 15 characters. */
const IFNAMSIZ = 15;

const live = new Set<VethPair>();
process.once('exit', () => {
  for (const pair of live) pair.remove();
});

/**
 * Creates namespace `<prefix>-<tag>` with veth `<prefix><tag>0` (here, `<subnet>.1/30`)
 * and `<prefix><tag>1` (inside, `<subnet>.2/30`). `subnet` is the first three octets of a /30.
 */
export function createVethPair(tag: string, subnet: string, options: VethOptions = {}): VethPair {
  const prefix = options.prefix ?? 'fb';
  const ns = `${prefix}-${tag}`;
  const hostIf = `${prefix}${tag}0`;
  const nsIf = `${prefix}${tag}1`;
  if (hostIf.length > IFNAMSIZ) throw new Error(`veth name ${hostIf} is longer than ${IFNAMSIZ} characters: use a shorter tag`);
  const hostIp = `${subnet}.1`;
  const nsIp = `${subnet}.2`;
  const pair: VethPair = {
    ns, hostIf, hostIp, nsIf, nsIp,
    exec: async (cmd, timeoutMs = 10_000) => (await run('ip', ['netns', 'exec', ns, ...cmd], { timeout: timeoutMs })).stdout,
    remove: () => {
      live.delete(pair);
      try { ip('link', 'del', hostIf); } catch { /* already gone */ }
      try { ip('netns', 'del', ns); } catch { /* already gone */ }
    },
  };
  pair.remove();
  live.add(pair);
  try {
    ip('netns', 'add', ns);
    ip('link', 'add', hostIf, 'type', 'veth', 'peer', 'name', nsIf);
    ip('link', 'set', nsIf, 'netns', ns);
    ip('addr', 'add', `${hostIp}/30`, 'dev', hostIf);
    ip('link', 'set', hostIf, 'up');
    ip('netns', 'exec', ns, 'ip', 'addr', 'add', `${nsIp}/30`, 'dev', nsIf);
    ip('netns', 'exec', ns, 'ip', 'link', 'set', nsIf, 'up');
    ip('netns', 'exec', ns, 'ip', 'link', 'set', 'lo', 'up');
  } catch (err) {
    pair.remove();
    throw err;
  }
  return pair;
}

/** Runs `body` with a fresh veth pair and removes it afterwards, whatever happens. */
export async function withVethPair<T>(tag: string, subnet: string, options: VethOptions, body: (pair: VethPair) => Promise<T>): Promise<T> {
  const pair = createVethPair(tag, subnet, options);
  try {
    return await body(pair);
  } finally {
    pair.remove();
  }
}
