// Compiles the C load generators once per run (gcc against Debian's libzmq).
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const BENCH_DIR = fileURLToPath(new URL('.', import.meta.url));
export const BUILD_DIR = `${BENCH_DIR}build/`;

export function buildTools(): { loadgen: string; sub: string; udpgen: string } {
  mkdirSync(BUILD_DIR, { recursive: true });
  const cc = (name: string, libs: string[] = []) => {
    execFileSync('gcc', ['-O2', '-o', `${BUILD_DIR}${name}`, `${BENCH_DIR}${name}.c`, ...libs], { stdio: 'inherit' });
    return `${BUILD_DIR}${name}`;
  };
  return { loadgen: cc('loadgen', ['-lzmq']), sub: cc('sub', ['-lzmq']), udpgen: cc('udpgen') };
}
