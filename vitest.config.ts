import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Integration tests bind real sockets, capture on real interfaces and create
    // network namespaces; running files one at a time keeps them from colliding.
    fileParallelism: false,
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // The skip report names what was skipped and why, and fails CI runs that skipped anything.
    reporters: ['default', './test/support/skip-report.ts'],
  },
});
