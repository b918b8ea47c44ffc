import '../polyfill.ts'
import * as x509 from '@peculiar/x509'
import { parseKumaDuration } from '../duration.ts'
import { isMeshcaError, MeshcaError, type Violation } from '../errors.ts'
import { BACKDATE_MS } from '../identity/leaf-profile.ts'
import { meshSpiffeId } from '../identity/spiffe.ts'
import {
  BUILTIN_CA_KEY_TYPES,
  type BuiltinCaConfig,
  type BuiltinCaKeyType,
  type CaBackendSpec,
} from '../resources/mesh.ts'
import type { JsonObject } from '../resources/types.ts'
import { fromUtf8, toArrayBuffer, toHex, utf8 } from '../util/bytes.ts'
import type {
  BackendValidation,
  CaBackend,
  CaContext,
  LoadedCa,
  StoredSecret,
} from './ca-backend.ts'
import { assertCaValid, chainValidity } from './ca-validity.ts'
import { privateKeyMatchesSpki } from './key-match.ts'
import { type CaKeyType, keyGenParams, rsaKeyType } from './key-types.ts'
import { certificatesFromPem, decodePem, encodePem } from './pem.ts'
import {
  type ParsedPrivateKey,
  parsePkcs8,
  parsePrivateKeyPem,
  privateKeyToPem,
  signingAlgorithm,
} from './private-key.ts'
import { signingCaId } from './signing-ca.ts'

export const BUILTIN_CA_TYPE = 'builtin'

/** Kuma's default root lifetime: 10 years of 365 days. */
export const DEFAULT_CA_LIFETIME_MS = 10 * 365 * 24 * 3600 * 1000

/**
 * Accepted RSA root sizes (decision 8 of docs/decisions.md): what WebCrypto and every TLS stack
 * handle.
 */
export const BUILTIN_RSA_BITS = [2048, 3072, 4096, 8192] as const

export function builtinCertSecretName(mesh: string, backend: string): string {
  return `${mesh}.ca-builtin-cert-${backend}`
}

export function builtinKeySecretName(mesh: string, backend: string): string {
  return `${mesh}.ca-builtin-key-${backend}`
}

/** govalidator's IsDNSName, which Kuma applies to the cert secret name. */
const DNS_NAME = /^([a-zA-Z0-9_][a-zA-Z0-9_-]{0,62})(\.[a-zA-Z0-9_][a-zA-Z0-9_-]{0,62})*[._]?$/

interface ParsedConfig {
  readonly keyType: CaKeyType
  readonly lifetimeMs: number
}

function parseConfig(conf: JsonObject | undefined): {
  config?: BuiltinCaConfig
  violations: Violation[]
} {
  const violations: Violation[] = []
  if (conf === undefined) return { config: {}, violations }
  const convert = (message: string) => {
    violations.push({ field: 'conf', message: `could not convert backend config: ${message}` })
    return { violations }
  }
  const caCert = conf.caCert
  if (caCert === undefined || caCert === null) return { config: {}, violations }
  if (typeof caCert !== 'object' || Array.isArray(caCert)) {
    return convert('caCert: expected an object')
  }
  const { RSAbits, expiration, keyType } = caCert as JsonObject
  if (RSAbits !== undefined && RSAbits !== null && typeof RSAbits !== 'number') {
    return convert('caCert.RSAbits: expected a number')
  }
  if (expiration !== undefined && expiration !== null && typeof expiration !== 'string') {
    return convert('caCert.expiration: expected a string')
  }
  if (keyType !== undefined && keyType !== null && typeof keyType !== 'string') {
    return convert('caCert.keyType: expected a string')
  }
  return {
    config: {
      caCert: {
        ...(typeof RSAbits === 'number' ? { RSAbits } : {}),
        ...(typeof expiration === 'string' ? { expiration } : {}),
        ...(typeof keyType === 'string' ? { keyType: keyType as BuiltinCaKeyType } : {}),
      },
    },
    violations,
  }
}

function validateConfig(
  config: BuiltinCaConfig,
  violations: Violation[]
): ParsedConfig | undefined {
  const caCert = config.caCert ?? {}
  const family = caCert.keyType ?? 'RSA'
  if (!(BUILTIN_CA_KEY_TYPES as readonly string[]).includes(family)) {
    violations.push({
      field: 'conf.caCert.keyType',
      message: `must be one of ${BUILTIN_CA_KEY_TYPES.join(', ')}`,
    })
  }
  // RSAbits 0 or unset means 2048, as in Kuma.
  const bits = caCert.RSAbits === undefined || caCert.RSAbits === 0 ? 2048 : caCert.RSAbits
  const rsa = (BUILTIN_RSA_BITS as readonly number[]).includes(bits) ? rsaKeyType(bits) : undefined
  if (family === 'RSA' && rsa === undefined) {
    violations.push({
      field: 'conf.caCert.RSAbits',
      message: `must be one of ${BUILTIN_RSA_BITS.join(', ')}`,
    })
  }
  let lifetimeMs = DEFAULT_CA_LIFETIME_MS
  if (caCert.expiration !== undefined && caCert.expiration !== '') {
    try {
      lifetimeMs = parseKumaDuration(caCert.expiration)
      if (lifetimeMs <= 0) {
        violations.push({ field: 'conf.caCert.expiration', message: 'must be greater than zero' })
      }
    } catch {
      violations.push({ field: 'conf.caCert.expiration', message: 'has to be a valid format' })
    }
  }
  if (violations.length > 0) return undefined
  const keyType: CaKeyType =
    family === 'ECDSA_P256'
      ? 'ECDSA_P256'
      : family === 'ECDSA_P384'
        ? 'ECDSA_P384'
        : (rsa ?? 'RSA_2048')
  return { keyType, lifetimeMs }
}

function validateName(mesh: string, backend: string, violations: Violation[]): void {
  if (backend === '') {
    violations.push({ field: 'name', message: 'cannot be empty' })
    return
  }
  const secretName = builtinCertSecretName(mesh, backend)
  if (secretName.length > 255) {
    violations.push({ field: 'name', message: 'Backend name is too long. Max length: 255' })
    return
  }
  if (!DNS_NAME.test(secretName) || secretName !== secretName.toLowerCase()) {
    violations.push({ field: 'name', message: `"${backend}" name must be valid dns name` })
  }
}

function configOrThrow(mesh: string, backend: CaBackendSpec): ParsedConfig {
  const { config, violations } = parseConfig(backend.conf)
  const parsed = config && validateConfig(config, violations)
  validateName(mesh, backend.name, violations)
  if (!parsed || violations.length > 0) {
    throw new MeshcaError('INVALID', `invalid builtin CA backend "${backend.name}"`, { violations })
  }
  return parsed
}

/** Creates a self-signed root with Kuma's profile (docs/kuma-compatibility.md §3.2). */
export async function createBuiltinRoot(
  ctx: Pick<CaContext, 'crypto' | 'clock'>,
  mesh: string,
  keyType: CaKeyType,
  lifetimeMs: number,
  existingKey?: ParsedPrivateKey
): Promise<{ certificatePem: string; keyPem: string }> {
  const { crypto } = ctx
  let parsedKey: ParsedPrivateKey
  let keys: CryptoKeyPair
  if (existingKey) {
    parsedKey = existingKey
    keys = await keyPairFromPkcs8(crypto, existingKey)
  } else {
    keys = (await crypto.subtle.generateKey(keyGenParams(keyType), true, [
      'sign',
      'verify',
    ])) as CryptoKeyPair
    parsedKey = parsePkcs8(new Uint8Array(await crypto.subtle.exportKey('pkcs8', keys.privateKey)))
  }
  const now = ctx.clock.now().getTime()
  const name: x509.JsonName = [{ O: ['Kuma'] }, { OU: ['Mesh'] }, { CN: [mesh] }]
  const certificate = await x509.X509CertificateGenerator.createSelfSigned(
    {
      // Kuma's roots carry serial 0, which RFC 5280 §4.1.2.2 forbids (serials are positive);
      // meshca draws a random positive 128-bit serial like it does for leaves.
      serialNumber: rootSerialHex(ctx.crypto),
      name,
      notBefore: new Date(now - BACKDATE_MS),
      notAfter: new Date(now + lifetimeMs),
      keys,
      signingAlgorithm: rootSigningAlgorithm(parsedKey),
      extensions: [
        new x509.BasicConstraintsExtension(true, undefined, true),
        new x509.KeyUsagesExtension(
          x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign,
          true
        ),
        new x509.SubjectAlternativeNameExtension(
          [{ type: 'url', value: meshSpiffeId(mesh) }],
          false
        ),
        await x509.SubjectKeyIdentifierExtension.create(keys.publicKey, false, crypto),
      ],
    },
    crypto
  )
  return {
    certificatePem: encodePem('CERTIFICATE', new Uint8Array(certificate.rawData)),
    keyPem: privateKeyToPem(parsedKey),
  }
}

function rootSerialHex(crypto: Crypto): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16))
  bytes[0] = ((bytes[0] ?? 0) & 0x7f) | 0x01
  return toHex(bytes)
}

function rootSigningAlgorithm(key: ParsedPrivateKey): Algorithm | EcdsaParams {
  if (key.algorithm.family === 'EC') {
    return { name: 'ECDSA', hash: key.algorithm.curve === 'P-256' ? 'SHA-256' : 'SHA-384' }
  }
  return signingAlgorithm(key.algorithm)
}

async function keyPairFromPkcs8(crypto: Crypto, key: ParsedPrivateKey): Promise<CryptoKeyPair> {
  const algorithm = signingAlgorithm(key.algorithm)
  const privateKey = await crypto.subtle.importKey(
    'pkcs8',
    toArrayBuffer(key.pkcs8),
    algorithm,
    true,
    ['sign']
  )
  // WebCrypto cannot derive the public key; the JWK of the private key carries its public members.
  const jwk = await crypto.subtle.exportKey('jwk', privateKey)
  const { d: _d, p: _p, q: _q, dp: _dp, dq: _dq, qi: _qi, ...publicJwk } = jwk
  const publicKey = await crypto.subtle.importKey(
    'jwk',
    { ...publicJwk, key_ops: ['verify'] },
    algorithm,
    true,
    ['verify']
  )
  return { privateKey, publicKey }
}

interface PairState {
  readonly cert: StoredSecret | undefined
  readonly key: StoredSecret | undefined
}

async function readPair(ctx: CaContext, mesh: string, backend: string): Promise<PairState> {
  const [cert, key] = await Promise.all([
    ctx.secrets.get(mesh, builtinCertSecretName(mesh, backend)),
    ctx.secrets.get(mesh, builtinKeySecretName(mesh, backend)),
  ])
  return { cert, key }
}

async function pairMatches(
  ctx: CaContext,
  cert: StoredSecret,
  key: StoredSecret
): Promise<boolean> {
  try {
    const certDer = certificatesFromPem(fromUtf8(cert.data))[0]
    if (!certDer) return false
    const parsedKey = parsePrivateKeyPem(decodePem(fromUtf8(key.data)))
    const spki = new Uint8Array(new x509.X509Certificate(toArrayBuffer(certDer)).publicKey.rawData)
    return await privateKeyMatchesSpki(ctx.crypto, parsedKey, spki)
  } catch {
    return false
  }
}

function isRace(error: unknown): boolean {
  return isMeshcaError(error, 'ALREADY_EXISTS') || isMeshcaError(error, 'CONFLICT')
}

/**
 * Makes sure the backend's key and certificate Secrets exist and belong together (decisions 11 and
 * 12 of docs/decisions.md). The key is the anchor: it is written first, and a certificate is only
 * ever (re)made from the stored key. Two instances racing end with the one pair that won; a half
 * pair left by an older control plane or a hand edit is repaired from the key that exists, or with
 * a new key when only the certificate is left (a certificate without its key cannot sign anything).
 */
async function ensureBuiltin(ctx: CaContext, mesh: string, backend: CaBackendSpec): Promise<void> {
  const config = configOrThrow(mesh, backend)
  const certName = builtinCertSecretName(mesh, backend.name)
  const keyName = builtinKeySecretName(mesh, backend.name)
  for (let attempt = 0; attempt < 5; attempt++) {
    const { cert, key } = await readPair(ctx, mesh, backend.name)
    if (cert && key && (await pairMatches(ctx, cert, key))) return
    try {
      let anchor: ParsedPrivateKey | undefined
      if (key) {
        try {
          anchor = parsePrivateKeyPem(decodePem(fromUtf8(key.data)))
        } catch (error) {
          throw new MeshcaError(
            'CA_UNAVAILABLE',
            `the key Secret "${keyName}" of builtin backend "${backend.name}" in Mesh "${mesh}" is not a valid private key; delete both "${keyName}" and "${certName}" to generate a new CA`,
            { cause: error }
          )
        }
      }
      const root = await createBuiltinRoot(ctx, mesh, config.keyType, config.lifetimeMs, anchor)
      if (!key) await ctx.secrets.create(mesh, keyName, utf8(root.keyPem))
      if (!cert) {
        await ctx.secrets.create(mesh, certName, utf8(root.certificatePem))
      } else {
        ctx.logger.log('warn', 'builtin CA certificate did not match its key; reissued it', {
          mesh,
          backend: backend.name,
        })
        await ctx.secrets.update(mesh, certName, utf8(root.certificatePem), cert.version)
      }
      ctx.logger.log('info', 'CA created', { mesh, backend: backend.name })
      // Re-read: a concurrent writer may have replaced what we wrote; the loop settles it.
    } catch (error) {
      if (!isRace(error)) throw error
    }
  }
  throw new MeshcaError(
    'CA_UNAVAILABLE',
    `could not settle the CA of builtin backend "${backend.name}" in Mesh "${mesh}": concurrent writers kept changing it`
  )
}

async function loadBuiltin(
  ctx: CaContext,
  mesh: string,
  backend: CaBackendSpec
): Promise<LoadedCa> {
  const certName = builtinCertSecretName(mesh, backend.name)
  const fail = (cause: string, error?: unknown) =>
    new MeshcaError(
      'CA_UNAVAILABLE',
      `failed to load CA key pair for Mesh "${mesh}" and backend "${backend.name}": ${cause}`,
      { cause: error }
    )
  const { cert, key } = await readPair(ctx, mesh, backend.name)
  if (!cert) throw fail(`Resource not found: type="Secret" name="${certName}" mesh="${mesh}"`)
  if (!key) {
    throw fail(
      `Resource not found: type="Secret" name="${builtinKeySecretName(mesh, backend.name)}" mesh="${mesh}"`
    )
  }
  const certPem = fromUtf8(cert.data)
  const certDer = certificatesFromPem(certPem)[0]
  if (!certDer) throw fail('the certificate Secret holds no certificate')
  let parsedKey: ParsedPrivateKey
  try {
    parsedKey = parsePrivateKeyPem(decodePem(fromUtf8(key.data)))
  } catch (error) {
    throw fail('the key Secret holds no valid private key', error)
  }
  if (!(await pairMatches(ctx, cert, key))) {
    throw fail('tls: private key does not match public key')
  }
  const validity = chainValidity([certDer])
  assertCaValid(
    validity,
    ctx.clock.now(),
    `failed to load CA key pair for Mesh "${mesh}" and backend "${backend.name}"`
  )
  const signing = {
    id: await signingCaId(ctx.crypto, certDer, parsedKey.pkcs8),
    certificate: certDer,
    privateKey: parsedKey.pkcs8,
  }
  return {
    backend: backend.name,
    signing,
    intermediates: [],
    trustBundlePem: encodePem('CERTIFICATE', certDer),
    certificates: [certDer],
    validity,
  }
}

export const builtinCaBackend: CaBackend = {
  type: BUILTIN_CA_TYPE,
  async validate(_ctx, mesh, backend): Promise<BackendValidation> {
    const { config, violations } = parseConfig(backend.conf)
    if (config) validateConfig(config, violations)
    validateName(mesh, backend.name, violations)
    return { violations, warnings: [] }
  },
  ensure: ensureBuiltin,
  usedSecrets(mesh, backend) {
    return [builtinCertSecretName(mesh, backend.name), builtinKeySecretName(mesh, backend.name)]
  },
  load: loadBuiltin,
}
