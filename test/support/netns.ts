// A network namespace joined to this one by a veth pair: a second host for tests,
// reachable only through addresses the test owns. Removed again even when a test fails.
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

const run = promisify(execFile);
const ip = (...args: string[]) => execFileSync('ip', args, { stdio: ['ignore', 'pipe', 'pipe'] }).toString();

/** `tag` keeps names unique and short (interface names are at most 15 characters). */
export function createVethPair(tag: string, subnet: string): VethPair {
  const ns = `fb-${tag}`;
  const hostIf = `fb${tag}0`;
  const nsIf = `fb${tag}1`;
  const hostIp = `${subnet}.1`;
  const nsIp = `${subnet}.2`;
  const remove = () => {
    try { ip('link', 'del', hostIf); } catch { /* already gone */ }
    try { ip('netns', 'del', ns); } catch { /* already gone */ }
  };
  remove();
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
    remove();
    throw err;
  }
  return {
    ns, hostIf, hostIp, nsIf, nsIp, remove,
    exec: async (cmd, timeoutMs = 10_000) => (await run('ip', ['netns', 'exec', ns, ...cmd], { timeout: timeoutMs })).stdout,
  };
}
