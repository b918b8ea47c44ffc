import { formatViolations, isMeshcaError, MeshcaError, type Violation } from '../errors.ts'
import type { CaBackendSpec, DataSource } from '../resources/mesh.ts'
import { fromUtf8 } from '../util/bytes.ts'
import { joinPath } from '../validation.ts'
import type { BackendValidation, CaBackend, CaContext, LoadedCa } from './ca-backend.ts'
import { isSelfSigned, loadCaKeyPair, validateCaKeyPair } from './ca-certificate-checks.ts'
import { assertCaValid, chainValidity } from './ca-validity.ts'
import {
  asDataSource,
  dataSourceShapeError,
  FILE_SOURCES_DISABLED,
  loadDataSource,
  validateDataSource,
} from './data-source.ts'
import { decodePem, encodePem } from './pem.ts'
import { signingCaId } from './signing-ca.ts'

export const PROVIDED_CA_TYPE = 'provided'

const SOURCE_FIELDS = ['cert', 'key'] as const

interface ProvidedSources {
  readonly cert: DataSource
  readonly key: DataSource
}

/** Either the two data sources, or the violations (relative to the backend) that stop loading. */
type ConfigCheck =
  | { readonly ok: true; readonly sources: ProvidedSources }
  | { readonly ok: false; readonly violations: readonly Violation[] }

function isRecord(value: unknown): value is Readonly<Record<string, unknown>> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function describeType(value: unknown): string {
  return Array.isArray(value) ? 'array' : typeof value
}

/**
 * Steps 1–3 of Kuma's provided `ValidateBackend` (docs/kuma-compatibility.md §2.4). A `conf` that
 * cannot be read as the provided config at all is one violation at `conf`, and nothing else is
 * checked; otherwise each source must be present and well formed. An absent `conf` is an empty
 * config, as in Kuma.
 */
function checkConfig(conf: unknown): ConfigCheck {
  const config = conf ?? {}
  let shapeError: string | undefined
  if (!isRecord(config)) {
    shapeError = `expected an object, got ${describeType(config)}`
  } else {
    for (const field of SOURCE_FIELDS) {
      const error = dataSourceShapeError(config[field])
      if (error !== undefined) {
        shapeError = `${field}: ${error}`
        break
      }
    }
  }
  if (shapeError !== undefined || !isRecord(config)) {
    const message = `could not convert backend config: ${shapeError}`
    return { ok: false, violations: [{ field: 'conf', message }] }
  }

  const violations: Violation[] = []
  for (const field of SOURCE_FIELDS) {
    const value = config[field]
    const path = joinPath('conf', field)
    if (value === undefined || value === null)
      violations.push({ field: path, message: 'has to be defined' })
    else violations.push(...validateDataSource(value, path))
  }
  const cert = asDataSource(config.cert)
  const key = asDataSource(config.key)
  if (violations.length > 0 || cert === undefined || key === undefined)
    return { ok: false, violations }
  return { ok: true, sources: { cert, key } }
}

interface ProvidedPems {
  readonly certPem: string
  readonly keyPem: string
}

/** Kuma loads the key before the certificate, so a failure names the key when both are missing. */
async function loadPems(
  ctx: CaContext,
  mesh: string,
  sources: ProvidedSources
): Promise<ProvidedPems> {
  const keyBytes = await loadDataSource(ctx, mesh, sources.key)
  const certBytes = await loadDataSource(ctx, mesh, sources.cert)
  return { certPem: fromUtf8(certBytes), keyPem: fromUtf8(keyBytes) }
}

function relativeToBackend(violations: readonly Violation[]): Violation[] {
  return violations.map((v) => ({ field: joinPath('conf', v.field), message: v.message }))
}

/** `file` sources where the host reads no files: refused at admission, not at first issuance. */
function disabledFileSources(ctx: CaContext, sources: ProvidedSources): Violation[] {
  if (ctx.readFile !== undefined) return []
  return SOURCE_FIELDS.filter((field) => 'file' in sources[field]).map((field) => ({
    field: joinPath(joinPath('conf', field), 'file'),
    message: FILE_SOURCES_DISABLED,
  }))
}

/**
 * A certificate given inline that carries a private key block too: the Mesh would show that key to
 * every reader and store it in clear (only `conf.key` is masked and sealed). A Secret or a file may
 * hold both, as Kuma's one-Secret example does: those are not part of the Mesh.
 */
function keyInInlineCert(source: DataSource, certPem: string): Violation | undefined {
  if (!('inline' in source) && !('inlineString' in source)) return undefined
  const blocks = decodePem(certPem)
  // Without a certificate, Kuma's own message says the inputs may have been switched.
  const carriesKey =
    blocks.some((block) => block.label === 'CERTIFICATE') &&
    blocks.some((block) => block.label.endsWith('PRIVATE KEY'))
  if (!carriesKey) return undefined
  return {
    field: joinPath('conf', 'cert'),
    message:
      'holds a private key: give it in conf.key, which is never shown and is encrypted at rest',
  }
}

async function validateProvided(
  ctx: CaContext,
  mesh: string,
  backend: CaBackendSpec
): Promise<BackendValidation> {
  const config = checkConfig(backend.conf)
  if (!config.ok) return { violations: config.violations, warnings: [] }
  const disabledFiles = disabledFileSources(ctx, config.sources)
  if (disabledFiles.length > 0) return { violations: disabledFiles, warnings: [] }
  let pems: ProvidedPems
  try {
    pems = await loadPems(ctx, mesh, config.sources)
  } catch (error) {
    // A store outage is not the user's mistake: it propagates instead of becoming a violation.
    if (!isMeshcaError(error, 'CA_UNAVAILABLE')) throw error
    const violations = SOURCE_FIELDS.map((f) => ({
      field: joinPath('conf', f),
      message: error.message,
    }))
    return { violations, warnings: [] }
  }
  const exposed = keyInInlineCert(config.sources.cert, pems.certPem)
  if (exposed !== undefined) return { violations: [exposed], warnings: [] }
  const result = await validateCaKeyPair(ctx.crypto, pems.certPem, pems.keyPem, ctx.clock.now())
  return {
    violations: relativeToBackend(result.violations),
    warnings: relativeToBackend(result.warnings),
  }
}

async function loadProvided(
  ctx: CaContext,
  mesh: string,
  backend: CaBackendSpec
): Promise<LoadedCa> {
  const prefix = `failed to load CA key pair for Mesh "${mesh}" and backend "${backend.name}"`
  // Keeps the cause's code: a store outage stays retryable, everything else is CA_UNAVAILABLE.
  const wrap = (error: unknown): MeshcaError =>
    isMeshcaError(error)
      ? new MeshcaError(error.code, `${prefix}: ${error.message}`, { cause: error })
      : new MeshcaError(
          'CA_UNAVAILABLE',
          `${prefix}: ${error instanceof Error ? error.message : String(error)}`,
          { cause: error }
        )

  const config = checkConfig(backend.conf)
  if (!config.ok)
    throw new MeshcaError('CA_UNAVAILABLE', `${prefix}: ${formatViolations(config.violations)}`)
  try {
    const pems = await loadPems(ctx, mesh, config.sources)
    const pair = await loadCaKeyPair(ctx.crypto, pems.certPem, pems.keyPem)
    const [signing] = pair.certificates
    if (signing === undefined) throw new MeshcaError('CA_UNAVAILABLE', 'no certificate')
    // The signing certificate itself is an intermediate unless it is the root (decision 21 of
    // docs/decisions.md).
    const intermediates: Uint8Array[] = []
    for (const cert of pair.certificates) {
      if (!(await isSelfSigned(ctx.crypto, cert))) intermediates.push(cert.der)
    }
    const certificates = pair.certificates.map((c) => c.der)
    const validity = chainValidity(certificates)
    assertCaValid(validity, ctx.clock.now())
    return {
      backend: backend.name,
      signing: {
        id: await signingCaId(ctx.crypto, signing.der, pair.key.pkcs8),
        certificate: signing.der,
        privateKey: pair.key.pkcs8,
      },
      intermediates,
      // Kuma sends the cert data source as written; meshca re-encodes its certificates only, so
      // that a combined cert+key file (the brief's one-Secret example) never puts the key in
      // bundles.
      trustBundlePem: certificates.map((der) => encodePem('CERTIFICATE', der)).join(''),
      certificates,
      validity,
    }
  } catch (error) {
    throw wrap(error)
  }
}

function usedSecretsOf(backend: CaBackendSpec): string[] {
  const conf = backend.conf
  if (!isRecord(conf)) return []
  const secrets: string[] = []
  for (const field of SOURCE_FIELDS) {
    const source = conf[field]
    // Even a source that fails validation keeps its Secret from being deleted under it.
    if (isRecord(source) && typeof source.secret === 'string' && source.secret !== '') {
      secrets.push(source.secret)
    }
  }
  return secrets
}

/** The `provided` CA backend: the user's CA certificate (chain) and key, from data sources. */
export const providedCaBackend: CaBackend = {
  type: PROVIDED_CA_TYPE,
  validate: validateProvided,
  // The user creates the material; there is nothing to generate.
  ensure: async () => {},
  usedSecrets: (_mesh, backend) => usedSecretsOf(backend),
  load: loadProvided,
}
