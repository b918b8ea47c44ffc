/**
 * The fast encoder against the oracle: core's inline signer on @peculiar/x509. Thousands of random
 * identities are issued both ways; every certificate must carry the same TBSCertificate, and where
 * signatures are deterministic (RSA PKCS#1 v1.5, Ed25519) be the same bytes. A sample of each CA's
 * leaves then goes through `openssl verify -x509_strict`.
 */
import { generateKeyPairSync, X509Certificate } from 'node:crypto'
import {
  createInlineSigner,
  type IssueOutcome,
  type KeyType,
  type LeafRequest,
  type Signer,
} from '@meshca/core-mtls'
import { verifyLeaves as verifyStrict } from '@meshca/test-support/openssl'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createWorkerSigner } from '../src/index.ts'
import { differentialCas, type NamedCa } from './support/cas.ts'
import { randomIdentity, seededRandom } from './support/random-identities.ts'

const IDENTITIES_PER_CA = 500
const SEED = 20_260_127

/** TBSCertificate bytes: the first element of the Certificate SEQUENCE, read independently. */
function tbsOf(der: Uint8Array): string {
  const lengthAt = (offset: number): [start: number, length: number] => {
    const first = der[offset] ?? 0
    if (first < 0x80) return [offset + 1, first]
    let length = 0
    for (let i = 1; i <= (first & 0x7f); i++) length = length * 256 + (der[offset + i] ?? 0)
    return [offset + 1 + (first & 0x7f), length]
  }
  const [inner] = lengthAt(1)
  const [content, length] = lengthAt(inner + 1)
  return Buffer.from(der.subarray(inner, content + length)).toString('hex')
}

function leafOf(outcome: IssueOutcome | undefined): Uint8Array {
  if (!outcome?.ok)
    throw new Error(`issue failed: ${outcome?.ok === false ? outcome.error.message : 'no outcome'}`)
  return outcome.leaf.certificate
}

/**
 * Subject keys made by node:crypto, not by the code under test. Encoded by the generation itself:
 * exporting a freshly generated KeyObject can deadlock on Node 20 (see key-generation.ts).
 */
const spki = { type: 'spki', format: 'der' } as const
const pkcs8 = { type: 'pkcs8', format: 'der' } as const

function subjectSpkis(): Uint8Array[] {
  const rsa = (modulusLength: number) =>
    generateKeyPairSync('rsa', {
      modulusLength,
      publicKeyEncoding: spki,
      privateKeyEncoding: pkcs8,
    }).publicKey
  const ec = (namedCurve: string) =>
    generateKeyPairSync('ec', { namedCurve, publicKeyEncoding: spki, privateKeyEncoding: pkcs8 })
      .publicKey
  const ed25519 = () =>
    generateKeyPairSync('ed25519', { publicKeyEncoding: spki, privateKeyEncoding: pkcs8 }).publicKey
  return [rsa(2048), rsa(3072), ec('P-256'), ec('P-256'), ec('P-384'), ed25519(), ed25519()].map(
    (der) => new Uint8Array(der)
  )
}

describe('fast leaf encoding against @peculiar/x509', () => {
  let fast: Signer
  const oracle = createInlineSigner()
  let cas: NamedCa[]
  const subjectKeys: Uint8Array[] = []

  beforeAll(async () => {
    fast = createWorkerSigner({ threads: 2, keyPool: {} })
    cas = await differentialCas()
    subjectKeys.push(...subjectSpkis())
  })

  afterAll(async () => {
    await fast?.close()
    await oracle.close()
  })

  it(`issues ${IDENTITIES_PER_CA} random identities per CA exactly as the oracle`, async () => {
    const random = seededRandom(SEED)
    let compared = 0
    for (const ca of cas) {
      const requests = Array.from({ length: IDENTITIES_PER_CA }, () =>
        randomIdentity(random, {
          spki: subjectKeys[Math.floor(random() * subjectKeys.length)] as Uint8Array,
        })
      )
      // Half in one batch, half as concurrent single requests: both paths through the queue.
      const half = IDENTITIES_PER_CA / 2
      const [batched, singles, expected] = await Promise.all([
        fast.issue(ca.signing, requests.slice(0, half)),
        Promise.all(requests.slice(half).map((r) => fast.issue(ca.signing, [r]))),
        oracle.issue(ca.signing, requests),
      ])
      const actual = [...batched, ...singles.flat()]
      const issuer = new X509Certificate(ca.signing.certificate)
      actual.forEach((outcome, i) => {
        const mine = leafOf(outcome)
        const theirs = leafOf(expected[i])
        const context = `${ca.name}, identity ${i} (seed ${SEED})`
        if (ca.deterministic) {
          expect(Buffer.from(mine).toString('hex'), context).toBe(
            Buffer.from(theirs).toString('hex')
          )
        } else {
          expect(tbsOf(mine), context).toBe(tbsOf(theirs))
          expect(new X509Certificate(mine).verify(issuer.publicKey), context).toBe(true)
        }
        compared++
      })
    }
    expect(compared).toBe(IDENTITIES_PER_CA * cas.length)
  })

  it('generates keys whose certificates the oracle reproduces from their SPKI', async () => {
    const random = seededRandom(SEED + 1)
    const keyTypes: KeyType[] = ['ECDSA_P256', 'ECDSA_P384', 'ED25519', 'RSA_2048']
    for (const ca of cas.filter((c) => c.deterministic)) {
      const requests: LeafRequest[] = Array.from({ length: 24 }, (_, i) =>
        randomIdentity(random, { generate: keyTypes[i % keyTypes.length] as KeyType })
      )
      const issued = await fast.issue(ca.signing, requests)
      const replayed = await oracle.issue(
        ca.signing,
        issued.map((outcome, i) => ({
          ...(requests[i] as LeafRequest),
          subjectKey: {
            spki: new Uint8Array(
              new X509Certificate(leafOf(outcome)).publicKey.export({ type: 'spki', format: 'der' })
            ),
          },
        }))
      )
      issued.forEach((outcome, i) => {
        expect(Buffer.from(leafOf(outcome)).toString('hex'), `${ca.name} ${i}`).toBe(
          Buffer.from(leafOf(replayed[i])).toString('hex')
        )
      })
    }
  })

  it('carries a SAN list larger than 64 KiB (three-byte DER lengths) like the oracle', async () => {
    const ca = cas[0] as NamedCa
    const uris = Array.from({ length: 300 }, (_, i) => `spiffe://default/${'s'.repeat(240)}-${i}`)
    const request: LeafRequest = {
      subjectKey: { spki: subjectKeys[2] as Uint8Array },
      serialNumber: new Uint8Array([7]),
      notBefore: new Date('2026-01-01T00:00:00Z'),
      notAfter: new Date('2026-02-01T00:00:00Z'),
      uris,
    }
    const [mine] = await fast.issue(ca.signing, [request])
    const [theirs] = await oracle.issue(ca.signing, [request])
    expect(leafOf(mine).length).toBeGreaterThan(65_536)
    expect(Buffer.from(leafOf(mine)).equals(Buffer.from(leafOf(theirs)))).toBe(true)
  })

  it('passes openssl verify -x509_strict for a sample of every CA', async () => {
    const random = seededRandom(SEED + 2)
    const now = Date.now()
    for (const ca of cas) {
      const requests = Array.from({ length: 24 }, (_, i) => ({
        ...randomIdentity(
          random,
          i % 3 === 0
            ? {
                generate: (['RSA_2048', 'ECDSA_P256', 'ED25519'] as const)[
                  i % 3 === 0 ? (i / 3) % 3 : 0
                ] as KeyType,
              }
            : { spki: subjectKeys[i % subjectKeys.length] as Uint8Array }
        ),
        // A data plane leaf always names its identity, and openssl checks validity against the clock.
        uris: [`spiffe://default/svc-${i}`, `kuma://kuma.io/zone/${ca.name.length}`],
        notBefore: new Date(Math.floor((now - 10_000) / 1000) * 1000),
        notAfter: new Date(Math.floor((now + 86_400_000) / 1000) * 1000),
      }))
      const leaves = (await fast.issue(ca.signing, requests)).map(leafOf)
      // A CA without SKID fails -x509_strict itself; its leaves are then checked by plain verify,
      // and their AKID (SHA-1 of the CA key) is pinned by the byte comparison above.
      expect(verifyStrict(ca.certificatePem, leaves, ca.hasSubjectKeyId), ca.name).toEqual([])
    }
  })
})
