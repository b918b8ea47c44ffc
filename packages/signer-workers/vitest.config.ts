import { meshcaVitestConfig } from '@meshca/test-support/vitest-config'

export default meshcaVitestConfig({
  report: 'signer-workers',
  // On Bun and Deno only the runtime smoke tests run: the pool itself is the same code everywhere,
  // and the heavy suites (differential, throughput, crash) are about Node, the reference runtime.
  foreignInclude: ['test/runtime/**/*.test.ts'],
  // Node 20 runs the worker from dist/, so the package is built (incrementally) before any test.
  globalSetup: ['test/support/build-package.ts'],
  // Every suite starts its own worker pool on a 2-core machine: one file at a time.
  fileParallelism: false,
  testTimeout: 120_000,
})
