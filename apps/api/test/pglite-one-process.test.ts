/**
 * A PGlite data directory belongs to one process. `npm run daemon` with the flags of a running
 * `npm start` (both default to PGlite in ./.meshca), or a second `npm start`, used to open the same
 * directory as a second embedded server, and what was written through it was gone once both had
 * restarted. Now the second process exits 1 naming the holder's PID, before it serves anything, and
 * the first keeps serving and keeps what it was given.
 */
import type { ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { hostname, tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildForNode, exitOf, runEntry, startControlPlane } from './support/process.ts'

/** How a second process on the same directory ends: it exits, or it comes up (the defect). */
async function outcome(
  child: ChildProcess,
  ready: RegExp
): Promise<{ readonly code: number | null; readonly output: string }> {
  let output = ''
  const collect = (chunk: Buffer) => {
    output += chunk.toString()
    if (ready.test(output)) child.kill('SIGKILL')
  }
  child.stdout?.on('data', collect)
  child.stderr?.on('data', collect)
  const code = await exitOf(child)
  return { code, output }
}

function meshWithBuiltinCa(name: string): string {
  return JSON.stringify({
    type: 'Mesh',
    name,
    mtls: { enabledBackend: 'ca-1', backends: [{ name: 'ca-1', type: 'builtin' }] },
  })
}

// Several control plane processes start one after the other, the first creating a PGlite
// database: seconds each when idle, far more on a loaded machine. A hang still fails.
describe('two processes on one PGlite data directory', { timeout: 240_000 }, () => {
  let dataDir: string
  beforeAll(() => {
    buildForNode()
    dataDir = mkdtempSync(join(tmpdir(), 'meshca-one-process-'))
  }, 180_000)
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }))

  it('refuses `npm run daemon` and a second API beside `npm start`, which serves on and keeps its data', async () => {
    const args = ['--port', '0', '--data-dir', dataDir, '--store', 'pglite']
    const first = await startControlPlane(args)
    const pid = first.child.pid as number
    let caCert: string
    try {
      const daemon = await outcome(runEntry(args, 'daemon'), /rotation daemon started/)
      expect(daemon.output).not.toContain('rotation daemon started')
      expect(daemon.code).toBe(1)
      expect(daemon.output).toContain('ERROR the rotation daemon did not start')
      expect(daemon.output).toContain(`is in use by process ${pid} on ${hostname()}`)
      expect(daemon.output).toContain('`npm start` already runs the rotation daemon')
      expect(daemon.output).toContain('--store postgres')

      const second = await outcome(runEntry(args), /API listening/)
      expect(second.output).not.toContain('API listening')
      expect(second.code).toBe(1)
      expect(second.output).toContain('ERROR the control plane did not start')
      expect(second.output).toContain(`is in use by process ${pid} on ${hostname()}`)

      // The first serves on: a Mesh and its CA created through it now.
      const created = await fetch(`${first.url}/meshes/after-refusals`, {
        method: 'PUT',
        headers: { 'content-type': 'application/json' },
        body: meshWithBuiltinCa('after-refusals'),
      })
      expect(created.status).toBe(201)
      const secret = await fetch(
        `${first.url}/meshes/after-refusals/secrets/after-refusals.ca-builtin-cert-ca-1`
      )
      expect(secret.status).toBe(200)
      caCert = ((await secret.json()) as { data: string }).data
    } finally {
      expect(await first.stop('SIGINT')).toBe(0)
    }

    // After both "restarted", the Mesh and its CA are there, the same CA.
    const again = await startControlPlane(args)
    try {
      const mesh = await fetch(`${again.url}/meshes/after-refusals`)
      expect(mesh.status).toBe(200)
      const secret = await fetch(
        `${again.url}/meshes/after-refusals/secrets/after-refusals.ca-builtin-cert-ca-1`
      )
      expect(((await secret.json()) as { data: string }).data).toBe(caCert)
    } finally {
      expect(await again.stop('SIGTERM')).toBe(0)
    }
  })
})
