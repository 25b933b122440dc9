// A vitest reporter: lists every skipped test, with its reason, after the summary. With
// CI set, the run refuses to start unless it is root, and fails if any test was skipped:
// CI runs as root, so everything runs there.
import { relative } from 'node:path';
import type { Reporter, TestModule } from 'vitest/node';
import { inCI, isRoot } from './root.ts';

export default class SkipReport implements Reporter {
  onInit(): void {
    if (inCI && !isRoot) {
      throw new Error(`CI is set but the tests run as uid ${process.getuid?.()}, not root: live capture, network namespaces and setpriv tests cannot run, and CI must run every test. Run as root, or unset CI to skip them.`);
    }
  }

  onTestRunEnd(modules: ReadonlyArray<TestModule>): void {
    const skipped = modules.flatMap((m) => [...m.children.allTests('skipped')].map((t) => `${relative(process.cwd(), m.moduleId)} > ${t.fullName}`));
    if (skipped.length === 0) return;
    const lines = [`\n${skipped.length} skipped:`, ...skipped.map((s) => `  ↓ ${s}`)];
    if (inCI) {
      lines.push('CI is set: every test must run, so skipped tests fail the run.');
      process.exitCode = 1;
    }
    process.stdout.write(`${lines.join('\n')}\n`);
  }
}
