// Memory benchmark: resident memory of one process holding a million active flows.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { TSX_LOADER } from '../src/runtime/ts-worker.ts';

const run = promisify(execFile);

export async function memory(flows = 1_000_000): Promise<{ flows: number; rssMiB: number; bytesPerFlow: number }> {
  const { stdout } = await run(process.execPath, ['--expose-gc', '--max-old-space-size=4096', '--import', TSX_LOADER, new URL('./memory-child.ts', import.meta.url).pathname, String(flows)], { maxBuffer: 1 << 20 });
  const r = JSON.parse(stdout) as { flows: number; rssBefore: number; rssAfter: number };
  return { flows: r.flows, rssMiB: r.rssAfter / 2 ** 20, bytesPerFlow: (r.rssAfter - r.rssBefore) / r.flows };
}
