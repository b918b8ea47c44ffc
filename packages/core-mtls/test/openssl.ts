/** The independent verifier: the openssl CLI, run on files in a temporary folder. */
import { execFileSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

export interface OpensslResult {
  readonly ok: boolean
  readonly output: string
}

export function openssl(args: readonly string[], files: Record<string, string> = {}, input?: string): OpensslResult {
  const dir = mkdtempSync(join(tmpdir(), 'meshca-openssl-'))
  try {
    for (const [name, content] of Object.entries(files)) writeFileSync(join(dir, name), content)
    const output = execFileSync('openssl', args, {
      cwd: dir,
      encoding: 'utf8',
      stdio: ['pipe', 'pipe', 'pipe'],
      ...(input === undefined ? {} : { input }),
    })
    return { ok: true, output }
  } catch (error) {
    const e = error as { stdout?: string; stderr?: string }
    return { ok: false, output: `${e.stdout ?? ''}${e.stderr ?? ''}` }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

/** `openssl verify -x509_strict` of a leaf (plus untrusted intermediates) against a bundle. */
export function verifyStrict(bundlePem: string, chainPem: string, extra: readonly string[] = []): OpensslResult {
  const certs = chainPem.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----\n?/g) ?? []
  const [leaf, ...intermediates] = certs
  const files: Record<string, string> = { 'bundle.pem': bundlePem, 'leaf.pem': leaf ?? '' }
  const args = ['verify', '-x509_strict', '-CAfile', 'bundle.pem', ...extra]
  if (intermediates.length > 0) {
    files['untrusted.pem'] = intermediates.join('')
    args.push('-untrusted', 'untrusted.pem')
  }
  args.push('leaf.pem')
  return openssl(args, files)
}

export function certificateText(pem: string): string {
  const result = openssl(['x509', '-noout', '-text', '-in', 'cert.pem'], { 'cert.pem': pem })
  if (!result.ok) throw new Error(result.output)
  return result.output
}
