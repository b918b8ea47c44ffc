import { defaultClientConditions, defineConfig } from 'vite'

const resultsDir = process.env.MESHCA_TEST_RESULTS

export default defineConfig({
  resolve: { conditions: ['@meshca/source', ...defaultClientConditions] },
  ssr: { resolve: { conditions: ['@meshca/source'] } },
  test: {
    include: ['e2e/**/*.test.ts', 'hostile/**/*.test.ts'],
    fileParallelism: false,
    // Whole flows across real processes, which a loaded machine slows many times over; none of
    // these bounds is a speed assertion, only a guard against a hang.
    testTimeout: 180_000,
    hookTimeout: 180_000,
    reporters: resultsDir ? ['default', 'json'] : ['default'],
    ...(resultsDir ? { outputFile: { json: `${resultsDir}/e2e.json` } } : {}),
  },
})
