// Interface counters from /proc/net/dev (with index, speed and state from /sys/class/net),
// as sFlow-style counters events (events.md §3).
import { readFileSync } from 'node:fs';
import { networkInterfaces } from 'node:os';

export interface DeviceCounters {
  name: string;
  rxBytes: number;
  rxPackets: number;
  rxErrors: number;
  txBytes: number;
  txPackets: number;
  txErrors: number;
}

/** The rows of /proc/net/dev text. */
export function parseProcNetDev(text: string): DeviceCounters[] {
  const out: DeviceCounters[] = [];
  for (const line of text.split('\n').slice(2)) {
    const colon = line.indexOf(':');
    if (colon < 0) continue;
    const f = line.slice(colon + 1).trim().split(/\s+/).map(Number);
    if (f.length < 16) continue;
    out.push({ name: line.slice(0, colon).trim(), rxBytes: f[0], rxPackets: f[1], rxErrors: f[2], txBytes: f[8], txPackets: f[9], txErrors: f[10] });
  }
  return out;
}

function sys(name: string, file: string): string | undefined {
  try { return readFileSync(`/sys/class/net/${name}/${file}`, 'utf8').trim(); } catch { return undefined; }
}

/** This host as counters name it (deviceIP, a u32): its first non-loopback IPv4 address, else 127.0.0.1. */
export function deviceIp(): number {
  const v4 = Object.values(networkInterfaces()).flat().find((a) => a && a.family === 'IPv4' && !a.internal)?.address ?? '127.0.0.1';
  return v4.split('.').reduce((n, o) => n * 256 + Number(o), 0);
}

/** One counters record per interface of this host. */
export function counterRecords(procNetDev = '/proc/net/dev', device = deviceIp()): Record<string, unknown>[] {
  let text: string;
  try { text = readFileSync(procNetDev, 'utf8'); } catch { return []; }
  return parseProcNetDev(text).map((d) => {
    const flags = parseInt(sys(d.name, 'flags') ?? '0', 16);
    const speed = Number(sys(d.name, 'speed'));
    const oper = sys(d.name, 'operstate');
    return {
      deviceIP: device,
      ifIndex: Number(sys(d.name, 'ifindex') ?? 0),
      ifName: d.name,
      ifType: d.name === 'lo' ? 24 : 6,
      ifSpeed: Number.isFinite(speed) && speed > 0 ? speed * 1_000_000 : 0,
      ifDirection: 'Full',
      ifAdminStatus: flags & 0x1 ? 'Up' : 'Down',
      // 'unknown' is what lo and veths in some states report while carrying traffic.
      ifOperStatus: oper === 'up' || (oper === 'unknown' && flags & 0x1) ? 'Up' : 'Down',
      ifInOctets: d.rxBytes, ifInPackets: d.rxPackets, ifInErrors: d.rxErrors,
      ifOutOctets: d.txBytes, ifOutPackets: d.txPackets, ifOutErrors: d.txErrors,
      ifPromiscuousMode: flags & 0x100 ? 1 : 0,
    };
  });
}
