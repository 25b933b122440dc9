// CPU time of this process's threads, from /proc (Linux). Node gives every thread the
// same name, so threads are told apart by their id: the main thread's id is the pid,
// and during ingest the busiest other thread is the collector's receive thread (the
// rest are V8's GC and compiler helpers and libzmq's I/O threads).
import { readdirSync, readFileSync } from 'node:fs';

/** CPU seconds (user + system) per thread id. */
export type ThreadCpu = Map<number, number>;

const TICKS_PER_SECOND = 100; // USER_HZ on Linux

export function readThreadCpu(): ThreadCpu {
  const cpu: ThreadCpu = new Map();
  let tids: string[];
  try {
    tids = readdirSync('/proc/self/task');
  } catch {
    return cpu; // not Linux: no per-thread figures
  }
  for (const tid of tids) {
    try {
      const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
      // Fields after the command name (which may hold spaces) in parentheses.
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      cpu.set(Number(tid), (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND);
    } catch {
      // The thread ended between listing and reading.
    }
  }
  return cpu;
}

/** CPU seconds the whole machine spent busy (all cores, every process), from /proc/stat. */
export function readMachineBusy(): number {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n')[0];
    // cpu  user nice system idle iowait irq softirq steal ...
    const [user, nice, system, , , irq, softirq, steal] = line.trim().split(/\s+/).slice(1).map(Number);
    return (user + nice + system + irq + softirq + (steal ?? 0)) / TICKS_PER_SECOND;
  } catch {
    return NaN;
  }
}

/** CPU seconds each group of threads used between two readings. */
export interface CpuUsed {
  main: number;
  /** During ingest: the collector's receive thread. */
  busiestOther: number;
  /** GC and compiler helpers, libzmq's I/O thread, the thread pool. */
  rest: number;
  /** The whole machine, every process (our children and the neighbours included). */
  machine: number;
}

export function cpuUsed(before: ThreadCpu, after: ThreadCpu, machineBusy = NaN): CpuUsed {
  const used = [...after].map(([tid, s]) => ({ tid, s: s - (before.get(tid) ?? 0) }));
  const others = used.filter((u) => u.tid !== process.pid).sort((x, y) => y.s - x.s);
  return {
    main: used.find((u) => u.tid === process.pid)?.s ?? 0,
    busiestOther: others[0]?.s ?? 0,
    rest: others.slice(1).reduce((a, u) => a + u.s, 0),
    machine: machineBusy,
  };
}

/** The same as cores used on average over `seconds` (what is left of the machine is what we could have had). */
export function asCores(used: CpuUsed, seconds: number): CpuUsed {
  const cores = (s: number) => Math.round((100 * s) / seconds) / 100;
  return { main: cores(used.main), busiestOther: cores(used.busiestOther), rest: cores(used.rest), machine: cores(used.machine) };
}

/** The capture child of this process (forked from capture-process.ts). */
export function captureChildPid(): number {
  const pids: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid !== process.pid) continue;
      if (readFileSync(`/proc/${name}/cmdline`, 'utf8').includes('capture-process.ts')) pids.push(Number(name));
    } catch {
      // gone meanwhile
    }
  }
  if (pids.length !== 1) throw new Error(`found ${pids.length} capture processes under pid ${process.pid}`);
  return pids[0];
}

/** CPU seconds (user and system, every thread) a process has used. */
export function processCpu(pid: number): { user: number; system: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { user: Number(fields[11]) / TICKS_PER_SECOND, system: Number(fields[12]) / TICKS_PER_SECOND };
}
