/** The root README's walk through the product brief, run as written against a real control plane. */
import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import {
  type ControlPlane,
  REPO,
  removeDir,
  startControlPlane,
  tempDir,
} from '@meshca/test-support/processes'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { examplePath } from '../support/examples.ts'

function walkthroughScript(): string {
  const readme = readFileSync(join(REPO, 'README.md'), 'utf8')
  const section = readme.slice(readme.indexOf('## Walking through the product brief'))
  const block = /```sh\n([\s\S]*?)```/.exec(section)?.[1]
  if (!block) throw new Error('the README has no walkthrough block')
  return block
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
