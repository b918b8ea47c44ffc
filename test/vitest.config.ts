import { defaultClientConditions, defineConfig } from 'vite'

const resultsDir = process.env.MESHCA_TEST_RESULTS

export default defineConfig({
  resolve: { conditions: ['@meshca/source', ...defaultClientConditions] },
  ssr: { resolve: { conditions: ['@meshca/source'] } },
  test: {
    include: ['e2e/**/*.test.ts', 'hostile/**/*.test.ts'],
    fileParallelism: false,
    testTimeout: 60_000,
    hookTimeout: 60_000,
    reporters: resultsDir ? ['default', 'json'] : ['default'],
    ...(resultsDir ? { outputFile: { json: `${resultsDir}/e2e.json` } } : {}),
  },
})
