// The vitest configuration every meshca workspace shares. Plain JavaScript: vite loads a config's
// imports from node_modules as they are, and Node 20 cannot import TypeScript.
import { defaultClientConditions, defineConfig } from 'vite'

const DEFAULT_INCLUDE = ['src/**/*.test.ts', 'test/**/*.test.ts']

/** Bun and Deno run vitest through their Node compatibility; Node is the reference runtime. */
export function onForeignRuntime() {
  return 'Bun' in globalThis || 'Deno' in globalThis
}

/** @param {import('./vitest-config.d.mts').MeshcaVitestOptions} options */
export function meshcaVitestConfig(options) {
  const resultsDir = process.env.MESHCA_TEST_RESULTS
  const include = options.include ?? DEFAULT_INCLUDE
  const testTimeout = options.testTimeout ?? 60_000
  return defineConfig({
    // Workspace packages are loaded from their TypeScript sources: no build before a test.
    resolve: { conditions: ['@meshca/source', ...defaultClientConditions] },
    ssr: { resolve: { conditions: ['@meshca/source'] } },
    test: {
      include: onForeignRuntime() && options.foreignInclude ? options.foreignInclude : include,
      testTimeout,
      hookTimeout: options.hookTimeout ?? testTimeout,
      ...(options.fileParallelism === undefined
        ? {}
        : { fileParallelism: options.fileParallelism }),
      ...(options.globalSetup ? { globalSetup: options.globalSetup } : {}),
      // The JSON report is what `npm test` counts, one file per package and runtime.
      reporters: resultsDir ? ['default', 'json'] : ['default'],
      ...(resultsDir ? { outputFile: { json: `${resultsDir}/${options.report}.json` } } : {}),
    },
  })
}
