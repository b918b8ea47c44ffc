/**
 * Where the product brief's examples live: `shared/spec/examples` beside the repository (as laid out
 * for developers and CI), or MESHCA_EXAMPLES_DIR. A missing folder fails the tests that need it.
 */
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

const besideRepo = fileURLToPath(new URL('../../../../shared/spec/examples', import.meta.url))

export const EXAMPLES_DIR = process.env.MESHCA_EXAMPLES_DIR ?? besideRepo

if (!existsSync(EXAMPLES_DIR)) {
  throw new Error(
    `the brief's examples are not at ${EXAMPLES_DIR}; set MESHCA_EXAMPLES_DIR to shared/spec/examples`
  )
}
