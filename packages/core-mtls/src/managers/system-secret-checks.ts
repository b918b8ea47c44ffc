/**
 * Secrets the control plane reads by name — a mesh's data plane token signing keys and revocation
 * list, a builtin CA's certificate and key — are checked when an admin writes them through the API,
 * as Secrets a provided CA uses are: what the control plane would fail to read later (every token
 * issuance and identity request of the mesh answering 500) is refused now, at `data`.
 */

import { builtinCertSecretName, builtinKeySecretName } from '../ca/builtin.ts'
import type { StoredSecret } from '../ca/ca-backend.ts'
import {
  checkCaCertificates,
  parseCaCertificates,
  readCaKeyPair,
} from '../ca/ca-certificate-checks.ts'
import { MIN_RSA_BITS, weakRsaKeyMessage } from '../ca/key-strength.ts'
import { decodePem } from '../ca/pem.ts'
import { parsePrivateKeyPem } from '../ca/private-key.ts'
import type { Violation } from '../errors.ts'
import {
  dataplaneTokenRevocationsSecret,
  dataplaneTokenSigningKeyPrefix,
} from '../tokens/dataplane-token.ts'
import { MAX_REVOKED_TOKENS, parseRevocationList, TOKEN_ID } from '../tokens/signed-tokens.ts'
import { importSigningKey } from '../tokens/signing-keys.ts'
import { fromUtf8 } from '../util/bytes.ts'

const KEY_ID = /^[0-9]{1,9}$/

export interface SystemSecretContext {
  readonly crypto: Crypto
  readonly now: Date
  /** Another Secret of the same mesh, as stored (the other half of a builtin pair). */
  readonly sibling: (name: string) => Promise<StoredSecret | undefined>
}

/** Why `data` cannot be Secret `name` of `mesh`; empty for Secrets the control plane does not read. */
export async function systemSecretViolations(
  context: SystemSecretContext,
  mesh: string,
  name: string,
  data: Uint8Array
): Promise<Violation[]> {
  const problem = await systemSecretProblem(context, mesh, name, data)
  return problem === undefined ? [] : [{ field: 'data', message: problem }]
}

async function systemSecretProblem(
  context: SystemSecretContext,
  mesh: string,
  name: string,
  data: Uint8Array
): Promise<string | undefined> {
  if (name === dataplaneTokenRevocationsSecret(mesh)) return revocationListProblem(data)
  const signingPrefix = `${dataplaneTokenSigningKeyPrefix(mesh)}-`
  if (name.startsWith(signingPrefix) && KEY_ID.test(name.slice(signingPrefix.length))) {
    return signingKeyProblem(context.crypto, name, data)
  }
  const builtinPrefix = `${mesh}.ca-builtin-`
  if (name.startsWith(`${builtinPrefix}cert-`)) {
    const backend = name.slice(`${builtinPrefix}cert-`.length)
    return builtinCertProblem(context, backend, data, builtinKeySecretName(mesh, backend))
  }
  if (name.startsWith(`${builtinPrefix}key-`)) {
    const backend = name.slice(`${builtinPrefix}key-`.length)
    return builtinKeyProblem(context, backend, data, builtinCertSecretName(mesh, backend))
  }
  return undefined
}

function revocationListProblem(data: Uint8Array): string | undefined {
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(data)
  } catch {
    return 'a revocation list must be UTF-8 text'
  }
  const ids = parseRevocationList(data)
  if (ids.length > MAX_REVOKED_TOKENS) {
    return `a revocation list holds at most ${MAX_REVOKED_TOKENS} token ids, not ${ids.length}: rotate the signing key instead`
  }
  const bad = ids.findIndex((id) => !TOKEN_ID.test(id))
  if (bad !== -1) {
    return `a revocation list holds token ids (letters, digits, '.', '_', '-'; at most 128) separated by commas or white space; entry ${bad + 1} is not one`
  }
  return undefined
}

async function signingKeyProblem(
  crypto: Crypto,
  name: string,
  data: Uint8Array
): Promise<string | undefined> {
  try {
    const key = await importSigningKey(crypto, 'check', data, `Secret "${name}"`)
    const algorithm = key.publicKey.algorithm as Partial<RsaHashedKeyAlgorithm>
    if (algorithm.modulusLength !== undefined && algorithm.modulusLength < MIN_RSA_BITS) {
      return weakRsaKeyMessage(algorithm.modulusLength)
    }
    return undefined
  } catch (error) {
    return error instanceof Error ? error.message : String(error)
  }
}

/** The certificate of a builtin CA: a CA by Kuma's rules, and the certificate of the stored key. */
async function builtinCertProblem(
  context: SystemSecretContext,
  backend: string,
  data: Uint8Array,
  keyName: string
): Promise<string | undefined> {
  const what = `the certificate of builtin CA backend "${backend}"`
  const key = await context.sibling(keyName)
  const certPem = fromUtf8(data)
  if (key !== undefined) {
    const pair = await readCaKeyPair(context.crypto, certPem, fromUtf8(key.data))
    if (!pair.ok)
      return `${what} must belong to its key Secret "${keyName}": ${pair.violation.message}`
  }
  const reading = parseCaCertificates(certPem)
  if (!reading.ok) return `${what}: ${reading.violation.message}`
  const checks = await checkCaCertificates(context.crypto, reading.certificates, context.now)
  const first = checks.violations[0]
  return first === undefined ? undefined : `${what}: ${first.field}: ${first.message}`
}

/** The key of a builtin CA: a private key, and the key of the stored certificate. */
async function builtinKeyProblem(
  context: SystemSecretContext,
  backend: string,
  data: Uint8Array,
  certName: string
): Promise<string | undefined> {
  const what = `the key of builtin CA backend "${backend}"`
  try {
    parsePrivateKeyPem(decodePem(fromUtf8(data)))
  } catch (error) {
    return `${what}: ${error instanceof Error ? error.message : String(error)}`
  }
  const cert = await context.sibling(certName)
  if (cert === undefined) return undefined
  const pair = await readCaKeyPair(context.crypto, fromUtf8(cert.data), fromUtf8(data))
  return pair.ok
    ? undefined
    : `${what} must belong to its certificate Secret "${certName}": ${pair.violation.message}`
}
