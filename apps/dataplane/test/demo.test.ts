/** `npm run demo`, as a newcomer runs it from the README: every step must behave as it prints. */
import { execFile } from 'node:child_process'
import { join } from 'node:path'
import { REPO } from '@meshca/test-support/processes'
import { describe, expect, it } from 'vitest'

describe('npm run demo', () => {
  it('shows mTLS, a TrafficPermission denial, PERMISSIVE and STRICT, each checked', async () => {
    const { code, stdout } = await new Promise<{ code: number; stdout: string }>((resolve) => {
      execFile(
        process.execPath,
        [join(REPO, 'apps/dataplane/demo/demo.mjs')],
        { cwd: REPO, timeout: 170_000 },
        (error, out) => resolve({ code: error ? Number(error.code ?? 1) : 0, stdout: out })
      )
    })
    expect(stdout).toContain('Done: every step behaved as printed.')
    expect(code).toBe(0)
    expect(stdout.match(/✓/g)?.length).toBe(8)
  })
})
