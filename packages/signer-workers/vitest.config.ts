import { defaultClientConditions, defineConfig } from 'vite'

const resultsDir = process.env.MESHCA_TEST_RESULTS
// On Bun and Deno only the runtime smoke tests run: the pool itself is the same code everywhere,
// and the heavy suites (differential, throughput, crash) are about Node, the reference runtime.
const foreignRuntime = 'Bun' in globalThis || 'Deno' in globalThis

export default defineConfig({
  resolve: { conditions: ['@meshca/source', ...defaultClientConditions] },
  ssr: { resolve: { conditions: ['@meshca/source'] } },
  test: {
    include: foreignRuntime
      ? ['test/runtime/**/*.test.ts']
      : ['src/**/*.test.ts', 'test/**/*.test.ts'],
    // Node 20 runs the worker from dist/, so the package is built (incrementally) before any test.
    globalSetup: ['test/support/build-package.ts'],
    // Every suite starts its own worker pool on a 2-core machine: one file at a time.
    fileParallelism: false,
    testTimeout: 120_000,
    hookTimeout: 120_000,
    reporters: resultsDir ? ['default', 'json'] : ['default'],
    ...(resultsDir ? { outputFile: { json: `${resultsDir}/signer-workers.json` } } : {}),
  },
})
