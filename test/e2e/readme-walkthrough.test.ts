/** The root README's walk through the product brief, run as written against a real control plane. */
import { execFileSync } from 'node:child_process'
import { join } from 'node:path'
import {
  type ControlPlane,
  REPO,
  readmeShellBlock,
  removeDir,
  startControlPlane,
  tempDir,
} from '@meshca/test-support/processes'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { examplePath } from '../support/examples.ts'

function walkthroughScript(): string {
  return readmeShellBlock('## Walking through the product brief')
    .replaceAll('npx meshca', `node ${join(REPO, 'apps/cli/bin/meshca.mjs')}`)
    .replaceAll('docs/examples/sample-ca-openssl.sh', examplePath('sample-ca-openssl.sh'))
}

describe('README walkthrough', () => {
  let dataDir: string
  let workDir: string
  let cp: ControlPlane

  beforeAll(async () => {
    dataDir = tempDir('readme')
    workDir = tempDir('readme-work')
    cp = await startControlPlane({ dataDir })
  })

  afterAll(async () => {
    await cp?.stop()
    removeDir(dataDir)
    removeDir(workDir)
  })

  it('runs every command of the walkthrough successfully', () => {
    const output = execFileSync('bash', ['-euo', 'pipefail', '-c', walkthroughScript()], {
      cwd: workDir,
      env: { ...process.env, MESHCA_API_URL: cp.url, MESHCA_TOKEN: '' },
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    expect(output).toMatch(/default {3,}builtin\/ca-1/)
    expect(output).toMatch(/default {3,}default\.ca-builtin-cert-ca-1/)
    expect(output).toContain('Secret "my-ca-key" in mesh "default" created')
    expect(output).toMatch(/Mesh "default" updated\n$/)
  })
})
