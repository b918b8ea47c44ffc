import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { isMeshcaError, type Logger } from '@meshca/core-mtls'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { loadEncryptionKey } from './encryption-key.ts'

describe('loadEncryptionKey', () => {
  let dir: string
  const warnings: string[] = []
  const logger: Logger = { log: (level, message) => level === 'warn' && warnings.push(message) }
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'meshca-key-'))
    warnings.length = 0
  })
  afterEach(() => rmSync(dir, { recursive: true, force: true }))

  it('creates the embedded default key file with mode 0600 and reuses it', async () => {
    const path = join(dir, 'secret.key')
    const first = await loadEncryptionKey({ kind: 'generated-file', path }, logger)
    expect(first).toHaveLength(32)
    expect(statSync(path).mode & 0o777).toBe(0o600)
    expect(readFileSync(path, 'utf8').trim()).toBe(Buffer.from(first).toString('base64'))
    const second = await loadEncryptionKey({ kind: 'generated-file', path }, logger)
    expect(Buffer.from(second).equals(Buffer.from(first))).toBe(true)
    expect(warnings).toEqual([])
  })

  it('takes base64 from the environment and refuses anything but 32 bytes', async () => {
    const key = Buffer.alloc(32, 7)
    const loaded = await loadEncryptionKey({ kind: 'env', base64: key.toString('base64') }, logger)
    expect(Buffer.from(loaded).equals(key)).toBe(true)
    const error = await loadEncryptionKey({ kind: 'env', base64: 'c2hvcnQ=' }, logger).catch(
      (e) => e
    )
    expect(isMeshcaError(error, 'INVALID')).toBe(true)
    expect((error as Error).message).toBe(
      'MESHCA_SECRET_KEY must hold the base64 of 32 random bytes (make one with: openssl rand -base64 32)'
    )
  })

  it('reads a key file as base64 or raw bytes, warns when others can read it, never prints it', async () => {
    const path = join(dir, 'key')
    const key = Buffer.alloc(32, 0xab)
    writeFileSync(path, key, { mode: 0o644 })
    expect(Buffer.from(await loadEncryptionKey({ kind: 'file', path }, logger)).equals(key)).toBe(
      true
    )
    expect(warnings).toEqual(['the secret key file is readable by other users; chmod 600 it'])
    writeFileSync(path, 'not-a-key-but-private-text\n')
    const error = await loadEncryptionKey({ kind: 'file', path }, logger).catch((e) => e)
    expect((error as Error).message).not.toContain('private-text')
    const missing = await loadEncryptionKey(
      { kind: 'file', path: join(dir, 'none') },
      logger
    ).catch((e) => e)
    expect((missing as Error).message).toBe(
      `cannot read the secret key file ${join(dir, 'none')}: ENOENT`
    )
  })
})
