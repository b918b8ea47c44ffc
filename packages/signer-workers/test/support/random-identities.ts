import type { LeafRequest, SubjectKey } from '@meshca/core-mtls'

/** mulberry32: a seeded generator, so that a failing identity can be reproduced from its seed. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0
  return () => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296
  }
}

const SEGMENT = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-'
const URI_EXTRA = "~!$&'()*+,;=:@/?%"

export function randomIdentity(random: () => number, subjectKey: SubjectKey): LeafRequest {
  const int = (max: number) => Math.floor(random() * max)
  const pick = (alphabet: string, length: number) =>
    Array.from({ length }, () => alphabet[int(alphabet.length)]).join('')

  const serialLength = 1 + int(20)
  const serialNumber = new Uint8Array(serialLength).map(() => int(256))
  const shape = random()
  if (shape < 0.15) serialNumber.fill(0, 0, Math.min(serialLength - 1, 1 + int(3)))
  else if (shape < 0.3) serialNumber[0] = 0x80 | int(128)
  // Serials are positive (RFC 5280 §4.1.2.2); zero is refused, tested on its own.
  if (serialNumber.every((b) => b === 0)) serialNumber[serialLength - 1] = 1 + int(255)

  // Both Time forms: UTCTime up to 2049, GeneralizedTime from 2050; milliseconds are dropped.
  const instant = (fromYear: number, toYear: number) =>
    Date.UTC(fromYear, 0, 1) + int(Date.UTC(toYear, 0, 1) - Date.UTC(fromYear, 0, 1))
  const notBefore = instant(1950, 2049)
  const notAfter = random() < 0.3 ? instant(2050, 9999) : instant(1950, 2049)

  const uris: string[] = []
  const count = random() < 0.05 ? 0 : 1 + int(8)
  for (let i = 0; i < count; i++) {
    const kind = random()
    if (kind < 0.4)
      uris.push(`spiffe://${pick(SEGMENT, 1 + int(20))}/${pick(SEGMENT, 1 + int(40))}`)
    else if (kind < 0.8) uris.push(`kuma://${pick(SEGMENT, 1 + int(30))}/${pick(SEGMENT, int(60))}`)
    // Long values cross the one- and two-byte DER length boundaries (128 and 256 bytes).
    else uris.push(`urn:${pick(SEGMENT + URI_EXTRA, 100 + int(300))}`)
  }
  return {
    subjectKey,
    serialNumber,
    notBefore: new Date(notBefore),
    notAfter: new Date(notAfter),
    uris,
  }
}
