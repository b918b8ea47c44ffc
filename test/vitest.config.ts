import { meshcaVitestConfig } from '@meshca/test-support/vitest-config'

export default meshcaVitestConfig({
  report: 'e2e',
  include: ['e2e/**/*.test.ts', 'hostile/**/*.test.ts'],
  fileParallelism: false,
  // Whole flows across real processes, which a loaded machine slows many times over; none of
  // these bounds is a speed assertion, only a guard against a hang.
  testTimeout: 180_000,
})
