// Memory benchmark: resident memory (RSS) of a process holding a million active flows.
import { TSX_LOADER } from '../src/runtime/ts-worker.ts';
import { lastJson, run } from './children.ts';

export interface MemoryResult {
  flows: number;
  /** The whole process's resident memory with the flows in its table. */
  rssMiB: number;
  /** What the flows added, per flow. */
  bytesPerFlow: number;
  /** Events applied per second while building (normalise + merge, one thread). */
  eventsPerSecond: number;
}

export async function memory(flows = 1_000_000): Promise<MemoryResult> {
  const out = await run(process.execPath, ['--expose-gc', '--max-old-space-size=4096', '--import', TSX_LOADER, new URL('./memory-child.ts', import.meta.url).pathname, String(flows)], 300_000);
  const r = lastJson<{ flows: number; rssBefore: number; rssAfter: number; buildSeconds: number }>(out);
  return {
    flows: r.flows,
    rssMiB: Math.round(r.rssAfter / 2 ** 20),
    bytesPerFlow: Math.round((r.rssAfter - r.rssBefore) / r.flows),
    eventsPerSecond: Math.round(flows / r.buildSeconds),
  };
}
