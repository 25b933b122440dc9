// What /proc says about a process: its executable, command line, parent, user and
// container. A process that is already gone keeps what bpftrace saw (its name).
import { readFileSync, readlinkSync } from 'node:fs';
import { containerOfCgroupFile, type Container } from './container-id.ts';

export interface ProcessInfo {
  pid: number;
  tid?: number;
  uid?: number;
  user?: string;
  path?: string;
  cmdline?: string;
  ppid?: number;
  container?: Container;
}

let users: Map<number, string> | undefined;
let usersRead = 0;

/** uid → name from /etc/passwd, re-read at most every 10 s. */
export function userName(uid: number, passwd = '/etc/passwd'): string | undefined {
  if (!users || Date.now() - usersRead > 10_000) {
    users = new Map();
    usersRead = Date.now();
    try {
      for (const line of readFileSync(passwd, 'utf8').split('\n')) {
        const f = line.split(':');
        if (f.length >= 3 && /^\d+$/.test(f[2])) users.set(Number(f[2]), f[0]);
      }
    } catch { /* no passwd: names stay unknown */ }
  }
  return users.get(uid);
}

function read(path: string): string | undefined {
  try { return readFileSync(path, 'utf8'); } catch { return undefined; }
}

/** /proc/<pid>: undefined fields where the entry is gone or unreadable. */
export function processInfo(pid: number, proc = '/proc'): ProcessInfo {
  const out: ProcessInfo = { pid };
  try { out.path = readlinkSync(`${proc}/${pid}/exe`).replace(/ \(deleted\)$/, ''); } catch { /* gone or a kernel thread */ }
  const cmdline = read(`${proc}/${pid}/cmdline`);
  if (cmdline) out.cmdline = cmdline.replace(/\0+$/, '').split('\0').join(' ');
  const status = read(`${proc}/${pid}/status`);
  if (status) {
    const ppid = /^PPid:\s+(\d+)/m.exec(status);
    if (ppid) out.ppid = Number(ppid[1]);
    const uid = /^Uid:\s+(\d+)/m.exec(status);
    if (uid) out.uid = Number(uid[1]);
  }
  const cgroup = read(`${proc}/${pid}/cgroup`);
  if (cgroup) out.container = containerOfCgroupFile(cgroup);
  if (out.uid !== undefined) out.user = userName(out.uid);
  return out;
}

/** The ebpflowexport-style process object. */
export function processField(p: ProcessInfo): Record<string, unknown> {
  const o: Record<string, unknown> = { PID: p.pid };
  if (p.tid !== undefined) o.TID = p.tid;
  if (p.uid !== undefined) o.UID = p.uid;
  if (p.user !== undefined) o.UID_NAME = p.user;
  if (p.path !== undefined) o.PROCESS_PATH = p.path;
  if (p.cmdline !== undefined) o.PROCESS_CMDLINE = p.cmdline;
  return o;
}
