import type { UserConfig } from 'vite'

export interface MeshcaVitestOptions {
  /** The JSON report's name in MESHCA_TEST_RESULTS: the package name without its scope. */
  readonly report: string
  /** Default `src/**\/*.test.ts` and `test/**\/*.test.ts`. */
  readonly include?: string[]
  /** The files to run on Bun and Deno when not all of `include` (see `meshca.testRuntimes`). */
  readonly foreignInclude?: string[]
  /** Default 60 s. */
  readonly testTimeout?: number
  /** Default the test timeout. */
  readonly hookTimeout?: number
  readonly fileParallelism?: boolean
  readonly globalSetup?: string[]
}

/** True on Bun and Deno. */
export function onForeignRuntime(): boolean

export function meshcaVitestConfig(options: MeshcaVitestOptions): UserConfig
