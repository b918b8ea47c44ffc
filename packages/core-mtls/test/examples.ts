/**
 * Where the product brief's examples live: `docs/examples` in the repository, or
 * MESHCA_EXAMPLES_DIR. A missing folder fails the tests that need it.
 */
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

const inRepo = fileURLToPath(new URL('../../../docs/examples', import.meta.url))

export const EXAMPLES_DIR = process.env.MESHCA_EXAMPLES_DIR ?? inRepo

if (!existsSync(EXAMPLES_DIR)) {
  throw new Error(
    `the brief's examples are not at ${EXAMPLES_DIR}; unset MESHCA_EXAMPLES_DIR to use docs/examples`
  )
}
