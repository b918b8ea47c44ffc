/**
 * `meshca revoke user-token` and `meshca rotate admin-token`: user tokens end before they expire.
 * A revocation reaches every control plane instance sharing the store at its next read of the list.
 */
import { join } from 'node:path'
import {
  ADMIN_GROUP,
  ADMIN_USER_NAME,
  BOOTSTRAP_ADMIN_TOKEN_FILE,
  BOOTSTRAP_ADMIN_TOKEN_VALIDITY_MS,
  decodeJwt,
} from '@meshca/core-mtls'
import { CliError, expectOk } from '../client.ts'
import type { CommandContext } from '../io.ts'

export interface RevokeOptions {
  /** The token itself, its id, or a file holding it: exactly one. */
  readonly token: string | undefined
  readonly id: string | undefined
  readonly tokenFile: string | undefined
}

async function revocationBody(
  ctx: CommandContext,
  options: RevokeOptions
): Promise<{ token: string } | { id: string }> {
  const given = [options.token, options.id, options.tokenFile].filter((v) => v !== undefined)
  if (given.length !== 1) {
    throw new CliError('revoke user-token takes one of: TOKEN, --id ID, --token-file FILE')
  }
  if (options.id !== undefined) return { id: options.id }
  const token = options.token ?? (await ctx.readFile(options.tokenFile ?? ''))
  return { token: token.trim() }
}

export async function revokeUserToken(ctx: CommandContext, options: RevokeOptions): Promise<void> {
  const client = await ctx.client()
  const body = await revocationBody(ctx, options)
  const response = await expectOk(client.request('POST', '/tokens/user/revocations', body))
  const { id } = response.body as { id: string }
  ctx.stdout(`revoked user token ${id}\n`)
}

/**
 * A new bootstrap admin token in `<data dir>/admin-token` (mode 0600), issued with the current one
 * (unless `--token` names another admin), which is then revoked. No restart: the control plane reads
 * tokens, not the file, and keeps the new one on its next start while it stays valid.
 */
export async function rotateAdminToken(
  ctx: CommandContext,
  options: { readonly dataDir: string; readonly token: string | undefined }
): Promise<void> {
  const path = join(options.dataDir, BOOTSTRAP_ADMIN_TOKEN_FILE)
  let current: string
  try {
    current = (await ctx.readFile(path)).trim()
  } catch (error) {
    throw new CliError(`cannot read the admin token ${path}: ${(error as Error).message}`)
  }
  // Known before anything changes: if the revocation fails, the old token must still be nameable.
  const previousId = tokenId(current)
  const client = await ctx.client(options.token ?? current)
  const issued = await expectOk(
    client.request('POST', '/tokens/user', {
      name: ADMIN_USER_NAME,
      groups: [ADMIN_GROUP],
      validFor: `${BOOTSTRAP_ADMIN_TOKEN_VALIDITY_MS / 3_600_000}h`,
    })
  )
  const fresh = issued.text.trim()
  await ctx.writeSecretFile(path, `${fresh}\n`)
  const withFresh = await ctx.client(fresh)
  try {
    await expectOk(withFresh.request('POST', '/tokens/user/revocations', { id: previousId }))
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error)
    throw new CliError(
      `wrote a new admin token to ${path}, but the previous one (${previousId}) is not revoked: ${reason}; revoke it with: meshca revoke user-token --id ${previousId}`
    )
  }
  ctx.stdout(`wrote a new admin token to ${path}; revoked the previous one (${previousId})\n`)
}

function tokenId(token: string): string {
  try {
    const jti = decodeJwt(token).claims.jti
    if (typeof jti === 'string' && jti !== '') return jti
  } catch {
    // Reported below.
  }
  throw new CliError('the admin token file holds no user token')
}
