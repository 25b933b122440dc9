// Compiles the bench's C programs (gcc against Debian's libzmq) into bench/build/,
// which git ignores. Cheap enough to do on every run, so sources and binaries never disagree.
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const BENCH_DIR = fileURLToPath(new URL('.', import.meta.url));
export const BUILD_DIR = `${BENCH_DIR}build/`;
export const RESULTS_DIR = `${BENCH_DIR}results/`;

export interface Tools {
  /** ZMQ load generator (loadgen.c). */
  loadgen: string;
  /** ZMQ subscriber that only counts (sub.c). */
  sub: string;
  /** Paced UDP sender (udpgen.c). */
  udpgen: string;
}

export function buildTools(): Tools {
  mkdirSync(BUILD_DIR, { recursive: true });
  const cc = (name: string, libs: string[] = []) => {
    execFileSync('gcc', ['-O2', '-Wall', '-o', `${BUILD_DIR}${name}`, `${BENCH_DIR}${name}.c`, ...libs], { stdio: 'inherit' });
    return `${BUILD_DIR}${name}`;
  };
  return { loadgen: cc('loadgen', ['-lzmq']), sub: cc('sub', ['-lzmq']), udpgen: cc('udpgen') };
}
