/**
 * Secrets the control plane reads by name — a mesh's data plane token signing keys and revocation
 * list — are checked when an admin writes them through the API, as Secrets a provided CA uses are:
 * what the control plane would fail to read later (every token issuance and identity request of
 * the mesh answering 500) is refused now, at `data`. A builtin CA's Secrets cannot be written
 * through the API at all (their names hold a dot, which user names may not).
 */

import { MIN_RSA_BITS, weakRsaKeyMessage } from '../ca/key-strength.ts'
import type { Violation } from '../errors.ts'
import {
  dataplaneTokenRevocationsSecret,
  dataplaneTokenSigningKeyPrefix,
} from '../tokens/dataplane-token.ts'
import { MAX_REVOKED_TOKENS, parseRevocationList, TOKEN_ID } from '../tokens/signed-tokens.ts'
import { importSigningKey } from '../tokens/signing-keys.ts'

const KEY_ID = /^[0-9]{1,9}$/

/** Why `data` cannot be Secret `name` of `mesh`; empty for Secrets the control plane does not read. */
export async function systemSecretViolations(
  crypto: Crypto,
  mesh: string,
  name: string,
  data: Uint8Array
): Promise<Violation[]> {
  const problem = await systemSecretProblem(crypto, mesh, name, data)
  return problem === undefined ? [] : [{ field: 'data', message: problem }]
}

async function systemSecretProblem(
  crypto: Crypto,
  mesh: string,
  name: string,
  data: Uint8Array
): Promise<string | undefined> {
  if (name === dataplaneTokenRevocationsSecret(mesh)) return revocationListProblem(data)
  const signingPrefix = `${dataplaneTokenSigningKeyPrefix(mesh)}-`
  if (name.startsWith(signingPrefix) && KEY_ID.test(name.slice(signingPrefix.length))) {
    return signingKeyProblem(crypto, name, data)
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
