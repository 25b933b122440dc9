// A netstat snapshot: the TCP sockets already open (from /proc/net/tcp and tcp6), each
// with the process that holds it (the socket inode found among /proc/<pid>/fd), as
// netstat events with LOCAL/REMOTE naming and TCP.CONN_STATE (events.md §2). Sent at
// start so connections opened before the agent get their process, then at an interval.
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

const STATES: Record<number, string> = {
  1: 'ESTABLISHED', 2: 'SYN-SENT', 3: 'SYN-RECV', 4: 'FIN-WAIT-1', 5: 'FIN-WAIT-2', 6: 'TIME-WAIT',
  7: 'CLOSE', 8: 'CLOSE-WAIT', 9: 'LAST-ACK', 10: 'LISTEN', 11: 'CLOSING',
};

export interface TcpSocket {
  ipVersion: 4 | 6;
  localAddr: string;
  localPort: number;
  remoteAddr: string;
  remotePort: number;
  state: string;
  uid: number;
  inode: number;
}

/** An address of /proc/net/tcp{,6}: 32-bit words in host (little-endian) order. */
export function procNetAddress(hex: string): string {
  const words = hex.match(/.{8}/g)!.map((w) => Buffer.from(w, 'hex').reverse());
  const bytes = Buffer.concat(words);
  if (bytes.length === 4) return [...bytes].join('.');
  if (bytes.subarray(0, 10).every((b) => b === 0) && bytes[10] === 0xff && bytes[11] === 0xff) return `::ffff:${[...bytes.subarray(12)].join('.')}`;
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(bytes.readUInt16BE(i).toString(16));
  // Canonical form (RFC 5952): the longest run of zero groups (at least two) becomes '::'.
  let best = -1, bestLen = 0;
  for (let i = 0; i < 8;) {
    if (groups[i] !== '0') { i++; continue; }
    let j = i;
    while (j < 8 && groups[j] === '0') j++;
    if (j - i > bestLen && j - i >= 2) { best = i; bestLen = j - i; }
    i = j;
  }
  if (best < 0) return groups.join(':');
  return `${groups.slice(0, best).join(':')}::${groups.slice(best + bestLen).join(':')}`;
}

/** The sockets of /proc/net/tcp or tcp6 text. */
export function parseProcNetTcp(text: string, ipVersion: 4 | 6): TcpSocket[] {
  const out: TcpSocket[] = [];
  for (const line of text.split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 10) continue;
    const [local, lport] = f[1].split(':');
    const [remote, rport] = f[2].split(':');
    out.push({
      ipVersion, localAddr: procNetAddress(local), localPort: parseInt(lport, 16), remoteAddr: procNetAddress(remote), remotePort: parseInt(rport, 16),
      state: STATES[parseInt(f[3], 16)] ?? 'UNKNOWN', uid: Number(f[7]), inode: Number(f[9]),
    });
  }
  return out;
}

/** socket inode → pid, from every process's fds (processes we may not read are skipped). */
export function socketOwners(proc = '/proc'): Map<number, number> {
  const owners = new Map<number, number>();
  let pids: string[];
  try { pids = readdirSync(proc).filter((d) => /^\d+$/.test(d)); } catch { return owners; }
  for (const pid of pids) {
    let fds: string[];
    try { fds = readdirSync(`${proc}/${pid}/fd`); } catch { continue; }
    for (const fd of fds) {
      try {
        const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`${proc}/${pid}/fd/${fd}`));
        if (m && !owners.has(Number(m[1]))) owners.set(Number(m[1]), Number(pid));
      } catch { /* closed meanwhile */ }
    }
  }
  return owners;
}

export interface NetstatEntry extends TcpSocket {
  pid?: number;
}

/** The connected TCP sockets of this host (listening ones excluded) with their owners. */
export function netstatSnapshot(proc = '/proc'): NetstatEntry[] {
  const sockets: TcpSocket[] = [];
  for (const [file, v] of [['tcp', 4], ['tcp6', 6]] as const) {
    try { sockets.push(...parseProcNetTcp(readFileSync(`${proc}/net/${file}`, 'utf8'), v)); } catch { /* no IPv6 */ }
  }
  const connected = sockets.filter((s) => s.state !== 'LISTEN' && s.inode !== 0);
  const owners = connected.length ? socketOwners(proc) : new Map<number, number>();
  return connected.map((s) => ({ ...s, pid: owners.get(s.inode) }));
}
