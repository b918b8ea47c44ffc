/**
 * @module
 * The piscina worker: builds and signs data plane leaves, and generates key pairs. It imports
 * node:crypto and this package's encoders only — no @peculiar/x509, no Reflect polyfill, no
 * CryptoKey — so a thread starts fast and a certificate costs one signature plus a few copies. The
 * fixed extensions of core's leaf profile arrive encoded with the CA material for that reason.
 * Failures are returned as data per request; only a broken thread rejects a task.
 */
import { sign } from 'node:crypto'
import { move } from 'piscina'
import { DerError } from '../der/der-reader.ts'
import { CaMaterialError, type CaTemplate, prepareCaTemplate } from '../leaf/ca-template.ts'
import { type LeafKeyFamily, spkiKeyFamily } from '../leaf/key-family.ts'
import { generateKeyPairDer, keyTypeFamily } from '../leaf/key-generation.ts'
import {
  certificateSize,
  encodeTbsCertificate,
  InvalidLeafError,
  writeCertificate,
} from '../leaf/leaf-encoder.ts'
import { ByteWriter } from '../wire/byte-writer.ts'
import {
  type GenerateTask,
  type IssueTask,
  REPLY_CA_FAILED,
  REPLY_CA_MISSING,
  REPLY_ISSUED,
  REPLY_KEYS,
  WIRE_KEY_TYPES,
  type WorkerTask,
} from '../wire/protocol.ts'
import { decodeLeafRequests } from '../wire/request-codec.ts'
import { type WireFailure, writeFailure } from '../wire/result-codec.ts'

/** CAs this thread keeps prepared; a mesh has a handful of backends, a fleet a few meshes. */
const CA_CACHE_SIZE = 64

const cas = new Map<string, CaTemplate>()
const NO_KEY = new Uint8Array(0)

function cachedCa(task: IssueTask): CaTemplate | WireFailure | undefined {
  const hit = cas.get(task.caId)
  if (hit) {
    // Re-inserting keeps the Map in least-recently-used order for eviction.
    cas.delete(task.caId)
    cas.set(task.caId, hit)
    return hit
  }
  if (!task.ca) return undefined
  try {
    const fixed = task.ca.fixedExtensions
    const template = prepareCaTemplate(
      new Uint8Array(task.ca.certificate),
      new Uint8Array(task.ca.privateKey),
      fixed && {
        RSA: new Uint8Array(fixed.RSA),
        EC: new Uint8Array(fixed.EC),
        Ed25519: new Uint8Array(fixed.Ed25519),
      }
    )
    if (cas.size >= CA_CACHE_SIZE) {
      const oldest = cas.keys().next().value
      if (oldest !== undefined) cas.delete(oldest)
    }
    cas.set(task.caId, template)
    return template
  } catch (error) {
    const message = error instanceof CaMaterialError ? error.message : 'could not use CA material'
    return { code: 'CA_UNAVAILABLE', message, path: undefined }
  }
}

function failureOf(error: unknown): WireFailure {
  if (error instanceof InvalidLeafError) {
    return { code: 'INVALID', message: error.message, path: error.path }
  }
  if (error instanceof DerError) {
    return {
      code: 'CRYPTO',
      message: `could not issue certificate: ${error.message}`,
      path: undefined,
    }
  }
  // Messages of OpenSSL errors are not forwarded: they can describe key material.
  return { code: 'CRYPTO', message: 'could not issue certificate', path: undefined }
}

function issue(task: IssueTask): ArrayBuffer {
  const ca = cachedCa(task)
  const writer = new ByteWriter(task.count * 1600 + 64)
  if (ca === undefined) {
    writer.u8(REPLY_CA_MISSING)
    return writer.finish()
  }
  if (!('key' in ca)) {
    writer.u8(REPLY_CA_FAILED)
    writeFailure(writer, ca)
    return writer.finish()
  }
  const started = performance.now()
  writer.u8(REPLY_ISSUED)
  const elapsedAt = writer.reserve(8)
  for (const request of decodeLeafRequests(task.requests, task.count)) {
    try {
      let spki: Uint8Array
      let pkcs8: Uint8Array = NO_KEY
      let family: LeafKeyFamily
      if (request.spki) {
        spki = request.spki
        family = spkiKeyFamily(spki)
      } else {
        const keyType = WIRE_KEY_TYPES[request.generate]
        if (keyType === undefined) {
          throw new InvalidLeafError('unsupported key type', 'subjectKey.generate')
        }
        const pair = generateKeyPairDer(keyType)
        spki = pair.spki
        pkcs8 = pair.pkcs8
        family = keyTypeFamily(keyType)
      }
      const tbs = encodeTbsCertificate(ca, {
        serialNumber: request.serialNumber,
        notBefore: request.notBefore,
        notAfter: request.notAfter,
        uris: request.uris,
        spki,
        family,
      })
      const signature = sign(ca.digest, tbs, ca.key)
      const size = certificateSize(ca, tbs.length, signature.length)
      writer.u8(1)
      writer.u32(size)
      const offset = writer.reserve(size)
      writeCertificate(writer.bytes, offset, ca, tbs, signature)
      writer.block(pkcs8)
    } catch (error) {
      writer.u8(0)
      writeFailure(writer, failureOf(error))
    }
  }
  new DataView(writer.bytes.buffer).setFloat64(elapsedAt, performance.now() - started)
  return writer.finish()
}

function generate(task: GenerateTask): ArrayBuffer {
  const writer = new ByteWriter(task.count * 2600 + 16)
  const started = performance.now()
  writer.u8(REPLY_KEYS)
  const elapsedAt = writer.reserve(8)
  writer.u32(task.count)
  for (let i = 0; i < task.count; i++) {
    const pair = generateKeyPairDer(task.keyType)
    writer.block(pair.spki)
    writer.block(pair.pkcs8)
  }
  new DataView(writer.bytes.buffer).setFloat64(elapsedAt, performance.now() - started)
  return writer.finish()
}

/** The one task function: the reply is an ArrayBuffer, transferred back rather than copied. */
export default async function runSignerTask(task: WorkerTask): Promise<unknown> {
  return move(task.kind === 'issue' ? issue(task) : generate(task))
}
