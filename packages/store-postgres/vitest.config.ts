import { meshcaVitestConfig } from '@meshca/test-support/vitest-config'

export default meshcaVitestConfig({
  report: 'store-postgres',
  // On Bun and Deno: the unit tests and the store, session and driver suites; the others (outages,
  // leader election, migration files, …) run on Node only.
  foreignInclude: [
    'src/**/*.test.ts',
    'test/runtime-smoke.integration.test.ts',
    'test/pglite-store.integration.test.ts',
    'test/pglite-session.integration.test.ts',
    'test/pglite-data-dir-lock.integration.test.ts',
    'test/postgres-store.integration.test.ts',
    'test/postgres-read-cache.integration.test.ts',
    'test/both-drivers.integration.test.ts',
    'test/watch-resume.integration.test.ts',
  ],
  hookTimeout: 120_000,
})
