/** The independent verifier: `openssl verify` and `openssl x509 -text` on what the code made. */
import { certificatesIn, toPem } from './pem.ts'
import { type OpensslResult, openssl, opensslOk } from './run.ts'

/**
 * `openssl verify -x509_strict` of a chain's leaf against a bundle, the rest of the chain given as
 * untrusted intermediates; `extra` adds flags (`-partial_chain`, …). The leaf is `leaf.pem`.
 */
export function verifyStrict(
  bundlePem: string,
  chainPem: string,
  extra: readonly string[] = []
): OpensslResult {
  const [leaf, ...intermediates] = certificatesIn(chainPem)
  const files: Record<string, string> = { 'bundle.pem': bundlePem, 'leaf.pem': leaf ?? '' }
  const args = ['verify', '-x509_strict', '-CAfile', 'bundle.pem', ...extra]
  if (intermediates.length > 0) {
    files['untrusted.pem'] = intermediates.join('')
    args.push('-untrusted', 'untrusted.pem')
  }
  args.push('leaf.pem')
  return openssl(args, files)
}

/**
 * `openssl verify` (`-x509_strict` unless `strict` is false) of many DER leaves against one CA in
 * one run; returns the lines that are not `<file>: OK`, so an empty list means every leaf verified.
 */
export function verifyLeaves(
  caPem: string,
  leaves: readonly Uint8Array[],
  strict = true
): string[] {
  const files: Record<string, string> = { 'ca.pem': caPem }
  const names = leaves.map((der, i) => {
    const name = `leaf-${i}.pem`
    files[name] = toPem('CERTIFICATE', der)
    return name
  })
  const flags = strict ? ['-x509_strict'] : []
  const { output } = openssl(['verify', ...flags, '-CAfile', 'ca.pem', ...names], files)
  const lines = output.split('\n').filter((line) => line.trim() !== '')
  const ok = new Set(names.map((name) => `${name}: OK`))
  const failures = lines.filter((line) => !ok.has(line))
  if (lines.length < names.length && failures.length === 0) failures.push(output)
  return failures
}

/** `openssl x509 -noout -text`: how an independent parser reads the certificate. */
export function certificateText(pem: string): string {
  return opensslOk(['x509', '-noout', '-text', '-in', 'cert.pem'], { 'cert.pem': pem })
}
