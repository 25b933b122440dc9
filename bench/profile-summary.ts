// Reads a V8 .cpuprofile (what `node --cpu-prof` writes, one per thread) and says
// where the time went: self time by function and by source file.
import { readFileSync } from 'node:fs';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
}
interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface Hotspot {
  name: string;
  ms: number;
  share: number;
}

export interface ProfileSummary {
  /** Sampled time, idle excluded. */
  busyMs: number;
  idleMs: number;
  functions: Hotspot[];
  files: Hotspot[];
}

/** Short, readable location: the path from src/ or node_modules/ on, or node's own module. */
function where(url: string): string {
  if (!url) return '(native)';
  const path = url.replace(/^file:\/\//, '');
  const m = /(?:^|\/)(src\/.*|bench\/.*|node_modules\/.*)$/.exec(path);
  return m ? m[1] : path;
}

export function summarise(file: string, top = 15): ProfileSummary {
  const p = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const selfUs = new Map<number, number>();
  // timeDeltas[i] is the time before sample i: charge it to the sampled node.
  p.samples.forEach((id, i) => selfUs.set(id, (selfUs.get(id) ?? 0) + (p.timeDeltas[i] ?? 0)));
  const fns = new Map<string, number>();
  const files = new Map<string, number>();
  let idleUs = 0;
  let busyUs = 0;
  for (const [id, us] of selfUs) {
    const f = byId.get(id)!.callFrame;
    if (f.functionName === '(idle)') {
      idleUs += us;
      continue;
    }
    busyUs += us;
    const special = f.functionName.startsWith('(');
    const fn = special ? f.functionName : `${f.functionName || '(anonymous)'} ${where(f.url)}:${f.lineNumber + 1}`;
    fns.set(fn, (fns.get(fn) ?? 0) + us);
    const file = special ? f.functionName : where(f.url);
    files.set(file, (files.get(file) ?? 0) + us);
  }
  const rank = (m: Map<string, number>, n: number): Hotspot[] =>
    [...m].sort((a, b) => b[1] - a[1]).slice(0, n).map(([name, us]) => ({ name, ms: Math.round(us / 1000), share: busyUs > 0 ? us / busyUs : 0 }));
  return { busyMs: Math.round(busyUs / 1000), idleMs: Math.round(idleUs / 1000), functions: rank(fns, top), files: rank(files, 10) };
}

export function renderSummary(title: string, s: ProfileSummary): string {
  const line = (h: Hotspot) => `    ${(100 * h.share).toFixed(1).padStart(5)}%  ${String(h.ms).padStart(6)} ms  ${h.name}`;
  return [
    `${title}: busy ${s.busyMs} ms, idle ${s.idleMs} ms`,
    '  by file (self time):',
    ...s.files.map(line),
    '  by function (self time):',
    ...s.functions.map(line),
  ].join('\n');
}
