/** `openssl s_client` as the outside client of an inbound: what it sent, what came back. */
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

export interface ClientCredentials {
  readonly cert?: string
  readonly key?: string
  /** The bundle to verify the server with (and `-verify_return_error`). */
  readonly ca?: string
  readonly alpn?: string
}

export interface SClientResult {
  readonly code: number | null
  readonly stdout: string
  readonly stderr: string
}

/** One HTTP/1.0 request over TLS to 127.0.0.1:port; ends when the server closes (or after 15 s). */
export function sClient(
  port: number,
  credentials: ClientCredentials,
  extra: readonly string[] = []
): Promise<SClientResult> {
  const dir = mkdtempSync(join(tmpdir(), 'meshca-sclient-'))
  const args = ['s_client', '-connect', `127.0.0.1:${port}`, '-ign_eof', '-showcerts', ...extra]
  for (const [name, flag] of [
    ['cert', '-cert'],
    ['key', '-key'],
    ['ca', '-CAfile'],
  ] as const) {
    const value = credentials[name]
    if (value === undefined) continue
    writeFileSync(join(dir, `${name}.pem`), value)
    args.push(flag, join(dir, `${name}.pem`))
  }
  if (credentials.ca !== undefined) args.push('-verify_return_error')
  if (credentials.alpn !== undefined) args.push('-alpn', credentials.alpn)
  return new Promise((resolve) => {
    const child = spawn('openssl', args, { cwd: dir, stdio: ['pipe', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString()
    })
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString()
    })
    const timer = setTimeout(() => child.kill('SIGKILL'), 15_000)
    child.on('close', (code) => {
      clearTimeout(timer)
      rmSync(dir, { recursive: true, force: true })
      resolve({ code, stdout, stderr })
    })
    child.stdin.end('GET / HTTP/1.0\r\n\r\n')
  })
}

/** The certificates the server sent (`-showcerts`), PEM, leaf first. */
export function servedChain(stdout: string): string[] {
  return stdout.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? []
}
