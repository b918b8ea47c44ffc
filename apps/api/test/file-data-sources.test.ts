/**
 * `file` data sources read the control plane's host: off unless an operator turns them on, then
 * for admins only (any `mtls` change is), regular files only, up to a size cap, and one message for
 * every failure to read.
 */
import { execFileSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { FILE_SOURCES_DISABLED, MAX_CA_FILE_BYTES } from '@meshca/core-mtls'
import { selfSignedCa } from '@meshca/test-support/openssl'
import { afterAll, describe, expect, it } from 'vitest'
import { readCaFile } from '../src/ca-files.ts'
import { createHarness, errorBody, REMOTE } from './support/harness.ts'

const dir = mkdtempSync(join(tmpdir(), 'meshca-file-sources-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

const ca = selfSignedCa('files', [
  'basicConstraints=critical,CA:TRUE',
  'keyUsage=critical,keyCertSign,cRLSign',
])
const certPath = join(dir, 'ca.pem')
const keyPath = join(dir, 'ca.key')
writeFileSync(certPath, ca.certPem)
writeFileSync(keyPath, ca.keyPem)

function fileMesh(cert: string, key: string) {
  return {
    type: 'Mesh',
    name: 'files',
    mtls: {
      enabledBackend: 'ca-1',
      backends: [
        { name: 'ca-1', type: 'provided', conf: { cert: { file: cert }, key: { file: key } } },
      ],
    },
  }
}

const unreadable = (path: string) =>
  `could not load data: open ${path}: not a readable regular file of at most ${MAX_CA_FILE_BYTES} bytes`

describe('file data sources', () => {
  it('are refused at admission unless the operator enabled them', async () => {
    const h = createHarness()
    const response = await h.put('/meshes/files', fileMesh(certPath, keyPath))
    expect(response.status).toBe(400)
    expect((await errorBody(response)).causes).toEqual([
      { field: 'mtls.backends[0].conf.cert.file', message: FILE_SOURCES_DISABLED },
      { field: 'mtls.backends[0].conf.key.file', message: FILE_SOURCES_DISABLED },
    ])
  })

  it('once enabled, serve admins and only admins', async () => {
    const h = createHarness({ allowFileDataSources: true })
    const alice = { token: await h.token('alice', ['team-a']), from: REMOTE }
    expect((await h.put('/meshes/files', fileMesh(certPath, keyPath), alice)).status).toBe(403)
    expect((await h.put('/meshes/files', fileMesh(certPath, keyPath))).status).toBe(201)
  })

  it('give one message for a missing path, a directory, a device, a FIFO and an oversized file', async () => {
    const h = createHarness({ allowFileDataSources: true })
    const fifo = join(dir, 'fifo')
    execFileSync('mkfifo', [fifo])
    const big = join(dir, 'big.pem')
    writeFileSync(big, `${ca.certPem}${'#'.repeat(MAX_CA_FILE_BYTES)}`)
    const subdir = join(dir, 'sub')
    mkdirSync(subdir)
    const link = join(dir, 'zero-link')
    symlinkSync('/dev/zero', link)
    for (const path of [join(dir, 'missing.pem'), subdir, '/dev/zero', link, fifo, big]) {
      const response = await h.put('/meshes/files', fileMesh(path, keyPath))
      expect(response.status, path).toBe(400)
      expect((await errorBody(response)).causes, path).toEqual([
        { field: 'mtls.backends[0].conf.cert', message: unreadable(path) },
        { field: 'mtls.backends[0].conf.key', message: unreadable(path) },
      ])
    }
    expect(process.memoryUsage().rss).toBeLessThan(1024 * 1024 * 1024)
  })
})

describe('readCaFile', () => {
  it('reads a regular file, through a symbolic link too, up to the cap', async () => {
    expect(new TextDecoder().decode(await readCaFile(certPath, MAX_CA_FILE_BYTES))).toBe(ca.certPem)
    const link = join(dir, 'ca-link.pem')
    symlinkSync(certPath, link)
    expect((await readCaFile(link, MAX_CA_FILE_BYTES)).length).toBe(ca.certPem.length)
    await expect(readCaFile(certPath, 10)).rejects.toThrow(/larger than 10 bytes/)
  })

  it('reads no more than the cap from a file that reports no size', async () => {
    // /proc files report a size of 0 and may be longer than the cap.
    await expect(readCaFile('/proc/self/maps', 16)).rejects.toThrow(/larger than 16 bytes/)
  })
})
