import {
  children,
  type DerElement,
  DerError,
  expectTag,
  oidToString,
  readElement,
} from '../der/der-reader.ts'
import { oid, TAG_BIT_STRING, TAG_OID, TAG_SEQUENCE } from '../der/der-writer.ts'

/** The key families of the leaf profile: the key usage of a leaf depends on it. */
export type LeafKeyFamily = 'RSA' | 'EC' | 'Ed25519'

/**
 * Algorithm OIDs that @peculiar/x509 (the oracle) maps to each family, as their encoded content:
 * comparing bytes is cheaper than decoding the OID for every request of a batch.
 */
const FAMILIES: readonly { readonly content: Uint8Array; readonly family: LeafKeyFamily }[] = (
  [
    ['1.2.840.10045.2.1', 'EC'],
    ['1.2.840.113549.1.1.1', 'RSA'],
    ['1.3.101.112', 'Ed25519'],
    ['1.2.840.113549.1.1.10', 'RSA'],
    ['1.2.840.113549.1.1.7', 'RSA'],
    ['1.3.132.1.12', 'EC'],
  ] as const
).map(([dotted, family]) => ({ content: oid(dotted).subarray(2), family }))

function familyOf(source: Uint8Array, start: number, end: number): LeafKeyFamily | undefined {
  const length = end - start
  for (const known of FAMILIES) {
    if (known.content.length !== length) continue
    let same = true
    for (let i = 0; i < length && same; i++) same = source[start + i] === known.content[i]
    if (same) return known.family
  }
  return undefined
}

/**
 * The family of a SubjectPublicKeyInfo after checking its outer structure. The key itself is not
 * validated: a CSR's signature has already proven it, and importing it would cost more than
 * encoding the whole certificate.
 */
export function spkiKeyFamily(spki: Uint8Array): LeafKeyFamily {
  let outer: DerElement
  try {
    outer = expectTag(readElement(spki, 0), TAG_SEQUENCE, 'SubjectPublicKeyInfo')
    if (outer.end !== spki.length) throw new DerError('trailing bytes after SubjectPublicKeyInfo')
    const [algorithm, key, ...extra] = children(spki, outer)
    if (extra.length > 0) throw new DerError('unexpected element in SubjectPublicKeyInfo')
    expectTag(key, TAG_BIT_STRING, 'subjectPublicKey')
    const [algorithmOid] = children(spki, expectTag(algorithm, TAG_SEQUENCE, 'AlgorithmIdentifier'))
    const oidElement = expectTag(algorithmOid, TAG_OID, 'algorithm OID')
    const family = familyOf(spki, oidElement.contentStart, oidElement.end)
    if (family) return family
    const dotted = oidToString(spki.subarray(oidElement.contentStart, oidElement.end))
    throw new DerError(`unsupported public key algorithm ${dotted}`)
  } catch (error) {
    if (error instanceof DerError) throw new DerError(`invalid public key: ${error.message}`)
    throw error
  }
}
