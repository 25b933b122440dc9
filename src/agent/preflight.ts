// What the agent needs from the host, checked before bpftrace starts: root (or
// CAP_BPF + CAP_PERFMON), the bpftrace binary, tracefs (mounted here when it can be)
// and BTF. Each missing piece is named with what to do about it.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';

export interface Preflight {
  ok: boolean;
  /** What is missing, one sentence each. */
  missing: string[];
  /** What was done (e.g. tracefs mounted). */
  notes: string[];
  bpftrace?: string;
}

const TRACEFS = '/sys/kernel/tracing';
const CAP_PERFMON = 38;
const CAP_BPF = 39;

function hasCapabilities(): boolean {
  if (process.getuid?.() === 0) return true;
  try {
    const eff = /^CapEff:\s+([0-9a-f]+)/m.exec(readFileSync('/proc/self/status', 'utf8'))?.[1];
    if (!eff) return false;
    const caps = BigInt(`0x${eff}`);
    return ((caps >> BigInt(CAP_BPF)) & 1n) === 1n && ((caps >> BigInt(CAP_PERFMON)) & 1n) === 1n;
  } catch {
    return false;
  }
}

function which(binary: string): string | undefined {
  for (const dir of (process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin').split(':')) {
    if (dir && existsSync(`${dir}/${binary}`)) return `${dir}/${binary}`;
  }
  return undefined;
}

function tracefsMounted(): boolean {
  return existsSync(`${TRACEFS}/events`) || existsSync('/sys/kernel/debug/tracing/events');
}

export function preflight(bpftrace = 'bpftrace'): Preflight {
  const missing: string[] = [];
  const notes: string[] = [];
  const privileged = hasCapabilities();
  if (!privileged) missing.push('root or the capabilities CAP_BPF and CAP_PERFMON (run as root, or setcap cap_bpf,cap_perfmon+ep on node)');
  const path = bpftrace.includes('/') ? (existsSync(bpftrace) ? bpftrace : undefined) : which(bpftrace);
  if (!path) missing.push(`bpftrace (${bpftrace} not found: apt-get install bpftrace)`);
  if (!tracefsMounted()) {
    if (privileged) {
      try {
        execFileSync('mount', ['-t', 'tracefs', 'nodev', TRACEFS], { stdio: 'ignore' });
        notes.push(`mounted tracefs on ${TRACEFS}`);
      } catch { /* reported below */ }
    }
    if (!tracefsMounted()) missing.push(`tracefs (not mounted: mount -t tracefs nodev ${TRACEFS} as root)`);
  }
  if (!existsSync('/sys/kernel/btf/vmlinux')) missing.push('kernel BTF (/sys/kernel/btf/vmlinux is missing: ACCEPT events need it)');
  return { ok: missing.length === 0, missing, notes, bpftrace: path };
}
