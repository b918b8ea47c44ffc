import { ByteReader } from './byte-reader.ts'
import { ByteWriter } from './byte-writer.ts'
import { SUBJECT_SPKI, WIRE_KEY_TYPES, type WireKeyType } from './protocol.ts'

/** A leaf request as the pool sends it (core's LeafRequest is one). */
export interface WireLeafRequest {
  readonly subjectKey: { readonly generate: WireKeyType } | { readonly spki: Uint8Array }
  readonly serialNumber: Uint8Array
  readonly notBefore: Date
  readonly notAfter: Date
  readonly uris: readonly string[]
}

const KEY_CODE: ReadonlyMap<string, number> = new Map(WIRE_KEY_TYPES.map((k, i) => [k, i + 1]))

export function encodeLeafRequests(requests: readonly WireLeafRequest[]): ArrayBuffer {
  const writer = new ByteWriter(requests.length * 256 + 64)
  for (const request of requests) {
    const subject = request.subjectKey
    if ('generate' in subject) {
      const code = KEY_CODE.get(subject.generate)
      // Unknown key types travel as code 255 so that the worker fails that request alone.
      writer.u8(code ?? 255)
    } else {
      writer.u8(SUBJECT_SPKI)
    }
    // Serials longer than 255 bytes are invalid anyway; the worker reports it as such.
    const serial = request.serialNumber.length > 255 ? new Uint8Array(0) : request.serialNumber
    writer.u8(serial.length)
    writer.raw(serial)
    writer.f64(request.notBefore.getTime())
    writer.f64(request.notAfter.getTime())
    writer.u32(request.uris.length)
    for (const uri of request.uris) writer.text(uri)
    if (!('generate' in subject)) writer.block(subject.spki)
  }
  return writer.finish()
}

/** A request as the worker reads it: views into the task's buffer, no copies. */
export interface DecodedLeafRequest {
  /** Index into WIRE_KEY_TYPES, or -1 when the SPKI is given, or -2 for an unknown key type. */
  readonly generate: number
  readonly spki: Uint8Array | undefined
  readonly serialNumber: Uint8Array
  readonly notBefore: number
  readonly notAfter: number
  readonly uris: Uint8Array[]
}

export function* decodeLeafRequests(
  buffer: ArrayBuffer,
  count: number
): Generator<DecodedLeafRequest> {
  const reader = new ByteReader(buffer)
  for (let i = 0; i < count; i++) {
    const subject = reader.u8()
    const serialLength = reader.u8()
    const serialNumber = reader.fixed(serialLength)
    const notBefore = reader.f64()
    const notAfter = reader.f64()
    const uriCount = reader.u32()
    const uris: Uint8Array[] = []
    for (let j = 0; j < uriCount; j++) uris.push(reader.block())
    const spki = subject === SUBJECT_SPKI ? reader.block() : undefined
    const generate =
      subject === SUBJECT_SPKI ? -1 : subject <= WIRE_KEY_TYPES.length ? subject - 1 : -2
    yield { generate, spki, serialNumber, notBefore, notAfter, uris }
  }
}
