// Tests that need root (live capture, network namespaces, switching user with setpriv)
// say so. Run without root they are skipped, the reason in their title and again at the
// end of the run (test/support/skip-report.ts). With CI set nothing is skipped: they run
// (and fail without root), and the run itself fails unless it is root.
import { describe, it, type TestFunction } from 'vitest';
import { inCI, isRoot } from './root.ts';

const skip = !isRoot && !inCI;
const titled = (name: string, why: string) => (skip ? `${name} [skipped: needs root to ${why}]` : name);

/** A suite whose every test needs root; `why` finishes "needs root to ...". */
export function describeAsRoot(name: string, why: string, body: () => void): void {
  describe.skipIf(skip)(titled(name, why), body);
}

/** A test that needs root; `why` finishes "needs root to ...". */
export function itAsRoot(name: string, why: string, body: TestFunction, timeoutMs?: number): void {
  it.skipIf(skip)(titled(name, why), body, timeoutMs);
}
