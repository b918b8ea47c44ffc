/**
 * User tokens with the real CLI against a real control plane (PGlite, loopback callers not admins):
 * `meshca revoke user-token` ends a token at once, and `meshca rotate admin-token` replaces the
 * bootstrap admin token in the data directory and revokes the old one, without a restart; a restart
 * keeps the new one.
 */
import { readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import {
  type ControlPlane,
  meshca,
  removeDir,
  startControlPlane,
  tempDir,
} from '@meshca/test-support/processes'
import { afterAll, describe, expect, it } from 'vitest'

async function status(cp: ControlPlane, token: string, path = '/meshes'): Promise<number> {
  const response = await fetch(`${cp.url}${path}`, {
    headers: { authorization: `Bearer ${token}` },
  })
  await response.body?.cancel()
  return response.status
}

describe('user tokens from the command line', () => {
  const dataDir = tempDir('user-tokens')
  const args = ['--localhost-is-admin', 'false', '--store', 'pglite']
  const started: ControlPlane[] = []
  afterAll(async () => {
    await Promise.all(started.map((cp) => cp.stop()))
    removeDir(dataDir)
  })

  const adminTokenPath = join(dataDir, 'admin-token')
  const readAdminToken = () => readFileSync(adminTokenPath, 'utf8').trim()

  it('revokes a user token, and rotates the admin token without a restart', async () => {
    let cp = await startControlPlane({ dataDir, args })
    started.push(cp)
    const bootstrap = readAdminToken()
    const issued = await fetch(`${cp.url}/tokens/user`, {
      method: 'POST',
      headers: { authorization: `Bearer ${bootstrap}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'alice', groups: ['team-a'], validFor: '1h' }),
    })
    const alice = (await issued.text()).trim()
    expect(await status(cp, alice)).toBe(200)

    const revoked = await meshca(cp, ['revoke', 'user-token', alice], { token: bootstrap })
    expect(revoked).toMatchObject({ code: 0, stderr: '' })
    expect(revoked.stdout).toMatch(/^revoked user token [0-9a-f-]{36}\n$/)
    expect(await status(cp, alice)).toBe(401)

    const rotated = await meshca(cp, ['rotate', 'admin-token', '--data-dir', dataDir])
    expect(rotated.stderr).toBe('')
    expect(rotated.code).toBe(0)
    const fresh = readAdminToken()
    expect(fresh).not.toBe(bootstrap)
    expect(statSync(adminTokenPath).mode & 0o777).toBe(0o600)
    expect(await status(cp, bootstrap, '/secrets')).toBe(401)
    expect(await status(cp, fresh, '/secrets')).toBe(200)

    // The control plane keeps a valid token file across a restart, and the revocations stay.
    expect(await cp.stop()).toBe(0)
    cp = await startControlPlane({ dataDir, args })
    started.push(cp)
    expect(readAdminToken()).toBe(fresh)
    expect(await status(cp, fresh, '/secrets')).toBe(200)
    expect(await status(cp, alice)).toBe(401)
    expect(await status(cp, bootstrap)).toBe(401)
    const listed = await meshca(cp, ['revoke', 'user-token'], { token: fresh })
    expect(listed.code).toBe(1)
    expect(listed.stderr).toContain(
      'revoke user-token takes one of: TOKEN, --id ID, --token-file FILE'
    )
  })
})
