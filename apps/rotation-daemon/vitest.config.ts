import { defaultClientConditions, defineConfig } from 'vite'

const resultsDir = process.env.MESHCA_TEST_RESULTS

export default defineConfig({
  resolve: { conditions: ['@meshca/source', ...defaultClientConditions] },
  ssr: { resolve: { conditions: ['@meshca/source'] } },
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    reporters: resultsDir ? ['default', 'json'] : ['default'],
    ...(resultsDir ? { outputFile: { json: `${resultsDir}/rotation-daemon.json` } } : {}),
  },
})
