/** The root README's data plane walkthrough, run as written against a real control plane. */
import { execFile } from 'node:child_process'
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

function walkthrough(cpUrl: string): string {
  const script = readmeShellBlock('## The data plane: mutual TLS between two services')
    .replaceAll('npx meshca-dp', `node ${join(REPO, 'apps/dataplane/bin/meshca-dp.mjs')}`)
    .replaceAll('npx meshca', `node ${join(REPO, 'apps/cli/bin/meshca.mjs')}`)
    .replaceAll('http://127.0.0.1:5681', cpUrl)
  // The walkthrough leaves its services and agents running, as a user would; the test does not.
  return `trap 'kill $(jobs -p) 2>/dev/null' EXIT\n${script}`
}

/** The test's environment for the script, without a BASH_ENV that would run a profile first. */
function walkthroughEnv(cpUrl: string): NodeJS.ProcessEnv {
  const { BASH_ENV: _, ...env } = process.env
  return { ...env, MESHCA_API_URL: cpUrl, MESHCA_TOKEN: '' }
}

describe('README data plane walkthrough', () => {
  let dataDir: string
  let workDir: string
  let cp: ControlPlane

  beforeAll(async () => {
    dataDir = tempDir('readme-dp')
    workDir = tempDir('readme-dp-work')
    cp = await startControlPlane({ dataDir })
  })

  afterAll(async () => {
    await cp?.stop()
    removeDir(dataDir)
    removeDir(workDir)
  })

  it('runs every command: web reaches backend over mTLS, plaintext is refused', async () => {
    const { code, stdout, stderr } = await new Promise<{
      code: number
      stdout: string
      stderr: string
    }>((resolve) => {
      execFile(
        'bash',
        ['-euo', 'pipefail', '-c', walkthrough(cp.url)],
        {
          cwd: workDir,
          env: walkthroughEnv(cp.url),
          timeout: 150_000,
        },
        (error, out, err) =>
          resolve({ code: error ? Number(error.code ?? 1) : 0, stdout: out, stderr: err })
      )
    })
    expect({ code, stderr }).toMatchObject({ code: 0 })
    expect(stdout).toContain('hello from backend\n')
    expect(stdout).toContain('refused\n')
    expect(stdout).toMatch(/backend-1 .*Online/)
    expect(stdout).toContain('meshca_dp_connections_total{direction="outbound"')
  })
})
