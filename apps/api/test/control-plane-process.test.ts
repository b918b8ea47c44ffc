/**
 * The real entry as a child process over HTTP, on PGlite in a temporary data directory: it starts,
 * serves, stops cleanly on SIGINT and SIGTERM, and a second start reuses the same data (the CA is not
 * regenerated: the certificate bytes are identical).
 */
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { readExample } from './support/examples.ts'
import { buildForNode, exitOf, runEntry, startControlPlane } from './support/process.ts'

// Several control plane processes start one after the other, the first creating a PGlite
// database: seconds each when idle, far more on a loaded machine. A hang still fails.
describe('the control plane process', { timeout: 240_000 }, () => {
  let dataDir: string
  beforeAll(() => {
    buildForNode()
    dataDir = mkdtempSync(join(tmpdir(), 'meshca-process-'))
  }, 180_000)
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }))

  it('serves, stops on SIGINT, and restarts on the same data with the same CA', async () => {
    const args = ['--port', '0', '--data-dir', dataDir, '--store', 'pglite']
    const first = await startControlPlane(args)
    let caCert: string
    try {
      expect(await (await fetch(`${first.url}/`)).json()).toMatchObject({ tagline: 'meshca' })
      // Kuma creates the default mesh at start; the builtin example updates it.
      const applied = await fetch(`${first.url}/meshes/default`, {
        method: 'PUT',
        headers: { 'content-type': 'application/yaml' },
        body: readExample('builtin.universal.yaml'),
      })
      expect(applied.status).toBe(200)
      const secret = (await (
        await fetch(`${first.url}/meshes/default/secrets/default.ca-builtin-cert-ca-1`)
      ).json()) as { data: string }
      caCert = secret.data
      expect(Buffer.from(caCert, 'base64').toString()).toMatch(/^-----BEGIN CERTIFICATE-----/)

      const badToken = await fetch(`${first.url}/meshes`, {
        headers: { authorization: 'Bearer nope' },
      })
      expect(badToken.status).toBe(401)
      const adminToken = readFileSync(join(dataDir, 'admin-token'), 'utf8').trim()
      const withToken = await fetch(`${first.url}/secrets`, {
        headers: { authorization: `Bearer ${adminToken}` },
      })
      expect(withToken.status).toBe(200)
    } finally {
      expect(await first.stop('SIGINT')).toBe(0)
    }
    expect(first.output()).toContain('stopped')
    for (const file of ['admin-token', 'secret.key']) {
      expect(statSync(join(dataDir, file)).mode & 0o777).toBe(0o600)
    }
    const adminToken = readFileSync(join(dataDir, 'admin-token'), 'utf8')

    const second = await startControlPlane(args)
    try {
      const secret = (await (
        await fetch(`${second.url}/meshes/default/secrets/default.ca-builtin-cert-ca-1`)
      ).json()) as { data: string }
      expect(secret.data).toBe(caCert)
      const mesh = (await (await fetch(`${second.url}/meshes/default`)).json()) as {
        mtls: { enabledBackend: string }
      }
      expect(mesh.mtls.enabledBackend).toBe('ca-1')
      expect(readFileSync(join(dataDir, 'admin-token'), 'utf8')).toBe(adminToken)
    } finally {
      expect(await second.stop('SIGTERM')).toBe(0)
    }
  })

  it('prints its help, and exits 2 on a bad configuration', async () => {
    const help = runEntry(['--help'])
    let out = ''
    help.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString()
    })
    expect(await exitOf(help)).toBe(0)
    expect(out).toContain('MESHCA_API_PORT')
    const bad = runEntry(['--store', 'sqlite'])
    let err = ''
    bad.stderr?.on('data', (chunk: Buffer) => {
      err += chunk.toString()
    })
    expect(await exitOf(bad)).toBe(2)
    expect(err).toBe('meshca: MESHCA_STORE must be one of pglite, postgres, memory, not "sqlite"\n')
  })
})
