/** The product brief's examples: `docs/examples` in the repository, or MESHCA_EXAMPLES_DIR. */
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

export const EXAMPLES_DIR =
  process.env.MESHCA_EXAMPLES_DIR ?? fileURLToPath(new URL('../../docs/examples', import.meta.url))

export function readExample(file: string): string {
  if (!existsSync(EXAMPLES_DIR)) {
    throw new Error(`the brief's examples are not at ${EXAMPLES_DIR}; set MESHCA_EXAMPLES_DIR`)
  }
  return readFileSync(join(EXAMPLES_DIR, file), 'utf8')
}

export function examplePath(file: string): string {
  return join(EXAMPLES_DIR, file)
}
