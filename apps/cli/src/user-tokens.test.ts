import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { runCli } from './main.ts'

function jwt(jti: string): string {
  const part = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url')
  return `${part({ alg: 'ES256', kid: '1' })}.${part({ jti, Name: 'mesh-system:admin' })}.c2ln`
}

function run(args: string[], fetchImpl: typeof fetch) {
  const out: string[] = []
  const err: string[] = []
  const io = {
    stdout: (t: string) => void out.push(t),
    stderr: (t: string) => void err.push(t),
    readStdin: async () => '',
    readFile: async (path: string) => readFileSync(path, 'utf8'),
    writeSecretFile: async (path: string, text: string) =>
      writeFileSync(path, text, { mode: 0o600 }),
    now: () => new Date(),
  }
  return runCli(args, io, { HOME: tmpdir() }, fetchImpl).then((code) => ({
    code,
    out: out.join(''),
    err: err.join(''),
  }))
}

describe('meshca rotate admin-token', () => {
  it('names the old token when its revocation fails, so that it can be revoked by hand', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'meshca-rotate-'))
    writeFileSync(join(dir, 'admin-token'), `${jwt('old-id')}\n`)
    const seen: string[] = []
    const fake: typeof fetch = async (input, init) => {
      const url = new URL(String(input))
      seen.push(
        `${init?.method} ${url.pathname} ${String((init?.headers as Record<string, string>)?.authorization ?? '').slice(7, 20)}`
      )
      if (url.pathname === '/tokens/user') return new Response(jwt('new-id'), { status: 200 })
      return Response.json(
        { title: 'Could not revoke a token', details: 'store down' },
        { status: 503 }
      )
    }
    const result = await run(['rotate', 'admin-token', '--data-dir', dir], fake)
    expect(result.code).toBe(1)
    expect(result.err).toContain('the previous one (old-id) is not revoked')
    expect(result.err).toContain('meshca revoke user-token --id old-id')
    expect(readFileSync(join(dir, 'admin-token'), 'utf8').trim()).toBe(jwt('new-id'))
    // Issued with the old token, revoked with the new one.
    expect(seen.map((s) => s.split(' ').slice(0, 2).join(' '))).toEqual([
      'POST /tokens/user',
      'POST /tokens/user/revocations',
    ])
  })
})
