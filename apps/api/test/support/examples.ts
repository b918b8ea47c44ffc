/**
 * The product brief's examples: `docs/examples` in the repository, or MESHCA_EXAMPLES_DIR.
 * A missing folder fails the tests that need it rather than skipping them.
 */
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

const inRepo = fileURLToPath(new URL('../../../../docs/examples', import.meta.url))

export const EXAMPLES_DIR = process.env.MESHCA_EXAMPLES_DIR ?? inRepo

export function readExample(file: string): string {
  if (!existsSync(EXAMPLES_DIR)) {
    throw new Error(
      `the brief's examples are not at ${EXAMPLES_DIR}; unset MESHCA_EXAMPLES_DIR to use docs/examples`
    )
  }
  return readFileSync(join(EXAMPLES_DIR, file), 'utf8')
}
