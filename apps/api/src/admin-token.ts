/**
 * The bootstrap admin token: a user token for `mesh-system:admin`, written to the data directory
 * with mode 0600 so that whoever can read the control plane's files can administer it remotely, and
 * kept across restarts while it stays valid.
 */
import { readFile, rename, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import {
  ADMIN_GROUP,
  ADMIN_USER_NAME,
  BOOTSTRAP_ADMIN_TOKEN_FILE,
  BOOTSTRAP_ADMIN_TOKEN_VALIDITY_MS,
  isMeshcaError,
  type Logger,
  type UserTokens,
} from '@meshca/core-mtls'

/** Renewed on start when it would expire within this window. */
const RENEW_BEFORE_MS = 30 * 24 * 3_600_000

export async function ensureAdminToken(
  dataDir: string,
  userTokens: UserTokens,
  logger: Logger,
  now: () => Date = () => new Date()
): Promise<string> {
  const path = join(dataDir, BOOTSTRAP_ADMIN_TOKEN_FILE)
  const existing = await readFile(path, 'utf8').catch(() => undefined)
  if (existing !== undefined) {
    try {
      const claims = await userTokens.verify(existing.trim())
      const fresh = claims.expiresAt.getTime() - now().getTime() > RENEW_BEFORE_MS
      if (fresh && claims.groups.includes(ADMIN_GROUP)) {
        logger.log('info', 'admin token', { path })
        return path
      }
    } catch (error) {
      // Signed by a key that is gone (a memory store, a new database): replace it.
      if (!isMeshcaError(error, 'UNAUTHENTICATED')) throw error
    }
  }
  const token = await userTokens.issue({
    name: ADMIN_USER_NAME,
    groups: [ADMIN_GROUP],
    validForMs: BOOTSTRAP_ADMIN_TOKEN_VALIDITY_MS,
  })
  const temporary = `${path}.${process.pid}.tmp`
  await writeFile(temporary, `${token}\n`, { mode: 0o600 })
  await rename(temporary, path)
  logger.log('info', 'admin token written', { path })
  return path
}
