import { meshcaVitestConfig } from '@meshca/test-support/vitest-config'

export default meshcaVitestConfig({
  report: 'dataplane',
  // On Bun, the proxy's own tests; the agent's process tests start their Bun agents from Node.
  foreignInclude: ['src/**/*.test.ts', 'test/proxy/**/*.test.ts'],
  globalSetup: ['test/global-setup.ts'],
  // Real processes on a loaded machine; no bound here is a speed assertion, only a guard.
  testTimeout: 180_000,
})
