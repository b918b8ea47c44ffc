import '../polyfill.ts'
import * as x509 from '@peculiar/x509'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { privateKeyMatchesSpki } from '../ca/key-match.ts'
import { KEY_TYPES, type KeyType, keyGenParams } from '../ca/key-types.ts'
import { parsePkcs8 } from '../ca/private-key.ts'
import { isMeshcaError } from '../errors.ts'
import { leafKeyUsage } from '../identity/leaf-profile.ts'
import type { LeafRequest, Signer } from '../ports/signer.ts'
import { toArrayBuffer, toHex } from '../util/bytes.ts'
import { createTestCa, type TestCa } from './fixtures.ts'

export interface SignerContractOptions {
  readonly makeSigner: () => Promise<Signer>
  /** Key types the signer must generate; every type by default. */
  readonly keyTypes?: readonly KeyType[]
  readonly crypto?: Crypto
}

function serial(bytes: number[]): Uint8Array {
  return new Uint8Array(bytes)
}

function request(overrides: Partial<LeafRequest> = {}): LeafRequest {
  const now = Date.now()
  return {
    subjectKey: { generate: 'ECDSA_P256' },
    serialNumber: crypto.getRandomValues(new Uint8Array(16)),
    notBefore: new Date(Math.floor((now - 10_000) / 1000) * 1000),
    notAfter: new Date(Math.floor((now + 3600_000) / 1000) * 1000),
    uris: ['spiffe://default/web', 'kuma://kuma.io/service/web'],
    ...overrides,
  }
}

/**
 * The behaviour every Signer adapter must have: the inline signer, the worker pool, and any later
 * one (an HSM, a remote CA) run this same suite.
 */
export function runSignerContract(name: string, options: SignerContractOptions): void {
  const crypto = options.crypto ?? globalThis.crypto
  const keyTypes = options.keyTypes ?? KEY_TYPES

  describe(`Signer contract: ${name}`, () => {
    let signer: Signer
    let rsaCa: TestCa
    let ecCa: TestCa

    beforeAll(async () => {
      signer = await options.makeSigner()
      ;[rsaCa, ecCa] = await Promise.all([
        createTestCa({ keyType: 'RSA_2048', mesh: 'default', crypto }),
        createTestCa({ keyType: 'ECDSA_P256', mesh: 'default', crypto }),
      ])
    })

    afterAll(async () => {
      await signer?.close()
    })

    it.each(keyTypes)('generates usable %s key pairs', async (keyType) => {
      const pair = await signer.generateKeyPair(keyType)
      expect(pair.keyType).toBe(keyType)
      expect(await privateKeyMatchesSpki(crypto, parsePkcs8(pair.pkcs8), pair.spki)).toBe(true)
      const imported = await crypto.subtle.importKey(
        'spki',
        toArrayBuffer(pair.spki),
        keyGenParams(keyType),
        true,
        ['verify']
      )
      expect(imported.type).toBe('public')
    })

    it('never hands out the same key twice', async () => {
      const pairs = await Promise.all(
        Array.from({ length: 20 }, () => signer.generateKeyPair('ECDSA_P256'))
      )
      expect(new Set(pairs.map((p) => toHex(p.spki))).size).toBe(20)
    })

    for (const caName of ['RSA', 'ECDSA'] as const) {
      it(`issues a leaf with exactly the requested fields (${caName} CA)`, async () => {
        const ca = caName === 'RSA' ? rsaCa : ecCa
        const req = request({ serialNumber: serial([0x01, 0x02, 0x03, 0x04]) })
        const [outcome] = await signer.issue(ca.signing, [req])
        if (!outcome?.ok) throw new Error(`issue failed: ${outcome?.error.message}`)
        const leaf = new x509.X509Certificate(toArrayBuffer(outcome.leaf.certificate))
        expect(leaf.serialNumber).toBe('01020304')
        expect(leaf.notBefore.getTime()).toBe(req.notBefore.getTime())
        expect(leaf.notAfter.getTime()).toBe(req.notAfter.getTime())
        expect(leaf.subject).toBe('')
        expect(toHex(new Uint8Array(leaf.issuerName.toArrayBuffer()))).toBe(
          toHex(new Uint8Array(ca.certificate.subjectName.toArrayBuffer()))
        )
        const san = leaf.getExtension(x509.SubjectAlternativeNameExtension)
        expect(san?.critical).toBe(true)
        expect(san?.names.items.map((n) => n.value)).toEqual(req.uris)
        const keyUsage = leaf.getExtension(x509.KeyUsagesExtension)
        expect(keyUsage?.critical).toBe(true)
        // The request generates an ECDSA key: digitalSignature + keyAgreement (leafKeyUsage).
        expect(keyUsage?.usages).toBe(leafKeyUsage('EC'))
        const basic = leaf.getExtension(x509.BasicConstraintsExtension)
        expect(basic?.ca).toBe(false)
        expect(basic?.critical).toBe(true)
        const eku = leaf.getExtension(x509.ExtendedKeyUsageExtension)
        expect(eku?.usages).toEqual([
          x509.ExtendedKeyUsage.serverAuth,
          x509.ExtendedKeyUsage.clientAuth,
        ])
        const skid = ca.certificate.getExtension(x509.SubjectKeyIdentifierExtension)
        expect(leaf.getExtension(x509.AuthorityKeyIdentifierExtension)?.keyId).toBe(skid?.keyId)
        expect(
          await leaf.verify({ publicKey: ca.certificate.publicKey, signatureOnly: true }, crypto)
        ).toBe(true)
        const key = outcome.leaf.privateKey
        if (!key) throw new Error('a generated key must be returned')
        expect(
          await privateKeyMatchesSpki(
            crypto,
            parsePkcs8(key),
            new Uint8Array(leaf.publicKey.rawData)
          )
        ).toBe(true)
      })
    }

    it('encodes a serial with the high bit set as a positive integer', async () => {
      const bytes = serial([0xff, ...Array.from({ length: 15 }, () => 0xab)])
      const [outcome] = await signer.issue(ecCa.signing, [request({ serialNumber: bytes })])
      if (!outcome?.ok) throw new Error('issue failed')
      const leaf = new x509.X509Certificate(toArrayBuffer(outcome.leaf.certificate))
      expect(leaf.serialNumber.replace(/^00/, '')).toBe(toHex(bytes))
    })

    it('signs a subject-supplied public key without returning a private key', async () => {
      const pair = await crypto.subtle.generateKey(keyGenParams('RSA_2048'), true, [
        'sign',
        'verify',
      ])
      const spki = new Uint8Array(
        await crypto.subtle.exportKey('spki', (pair as CryptoKeyPair).publicKey)
      )
      const [outcome] = await signer.issue(rsaCa.signing, [request({ subjectKey: { spki } })])
      if (!outcome?.ok) throw new Error('issue failed')
      expect(outcome.leaf.privateKey).toBeUndefined()
      const leaf = new x509.X509Certificate(toArrayBuffer(outcome.leaf.certificate))
      expect(toHex(new Uint8Array(leaf.publicKey.rawData))).toBe(toHex(spki))
    })

    it('issues a batch in order and fails only the bad requests', async () => {
      const requests = Array.from({ length: 24 }, (_, i) =>
        i === 5
          ? request({ subjectKey: { spki: new Uint8Array([1, 2, 3]) } })
          : request({ uris: [`spiffe://default/svc-${i}`] })
      )
      const outcomes = await signer.issue(ecCa.signing, requests)
      expect(outcomes).toHaveLength(24)
      outcomes.forEach((outcome, i) => {
        if (i === 5) {
          expect(outcome.ok).toBe(false)
          if (!outcome.ok) expect(isMeshcaError(outcome.error)).toBe(true)
          return
        }
        if (!outcome.ok) throw new Error(`request ${i} failed: ${outcome.error.message}`)
        const leaf = new x509.X509Certificate(toArrayBuffer(outcome.leaf.certificate))
        expect(leaf.getExtension(x509.SubjectAlternativeNameExtension)?.names.items[0]?.value).toBe(
          `spiffe://default/svc-${i}`
        )
      })
      const serials = outcomes.flatMap((o) =>
        o.ok ? [new x509.X509Certificate(toArrayBuffer(o.leaf.certificate)).serialNumber] : []
      )
      expect(new Set(serials).size).toBe(23)
    })

    it('fails every request of a batch signed with broken CA material', async () => {
      const broken = { ...ecCa.signing, id: 'broken', privateKey: new Uint8Array([0x30, 0x00]) }
      const outcomes = await signer.issue(broken, [request(), request()])
      expect(outcomes.map((o) => o.ok)).toEqual([false, false])
      for (const o of outcomes) if (!o.ok) expect(isMeshcaError(o.error)).toBe(true)
    })

    it('uses new CA material when the id changes', async () => {
      const other = await createTestCa({ keyType: 'ECDSA_P256', mesh: 'other', crypto })
      const [a] = await signer.issue(ecCa.signing, [request()])
      const [b] = await signer.issue(other.signing, [request()])
      if (!a?.ok || !b?.ok) throw new Error('issue failed')
      const issuerOf = (der: Uint8Array) => new x509.X509Certificate(toArrayBuffer(der)).issuer
      expect(issuerOf(a.leaf.certificate)).toContain('CN=default')
      expect(issuerOf(b.leaf.certificate)).toContain('CN=other')
    })
  })
}
