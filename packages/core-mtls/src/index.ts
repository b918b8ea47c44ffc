/**
 * @module
 * The Mesh mTLS domain of meshca: resources and their Universal/Kubernetes forms, validation with
 * Kuma's messages, builtin and provided CAs, SPIFFE data plane certificates, the rotation instant,
 * the trust bundle, TrafficPermission decisions, the Store and Signer ports with in-memory
 * adapters, and the managers that tie them together. Web APIs only: runs on Node, Bun and Deno.
 */
import './polyfill.ts'

export {
  certificateSigningAlgorithm,
  createInlineSigner,
  generateKeyPairBytes,
  serialHex,
} from './adapters/inline-signer.ts'
export {
  createMemoryStore,
  createMemoryStoreData,
  type MemoryStoreData,
  type MemoryStoreOptions,
} from './adapters/memory-store.ts'
// Authorization
export {
  type ConnectionCheck,
  type InboundPolicy,
  inboundPolicy,
  isConnectionAllowed,
  policyAllows,
} from './authz/inbound-policy.ts'
export {
  compareSelectorRanks,
  defaultTrafficPermission,
  type SelectorRank,
  selectorMatches,
  selectorRank,
  selectTrafficPermission,
  sourcePrincipals,
  type TrafficPermission,
} from './authz/traffic-permission.ts'
export {
  BUILTIN_CA_TYPE,
  BUILTIN_RSA_BITS,
  builtinCaBackend,
  builtinCertSecretName,
  builtinKeySecretName,
  createBuiltinRoot,
  DEFAULT_CA_LIFETIME_MS,
} from './ca/builtin.ts'
// CAs
export type {
  BackendValidation,
  CaBackend,
  CaContext,
  LoadedCa,
  SecretAccess,
  StoredSecret,
} from './ca/ca-backend.ts'
export {
  CA_FLAG_NOT_SET,
  type CaCertificate,
  type CaCertificatesReading,
  type CaCheckResult,
  type CaKeyPair,
  type CaKeyPairReading,
  type CaReadFailure,
  checkCaCertificates,
  checkCaRequirements,
  checkChainLinks,
  checkKeyStrengths,
  checkPathLengths,
  checkValidityPeriods,
  isSelfSigned,
  KEY_AGREEMENT_SET,
  KEY_CERT_SIGN_NOT_SET,
  loadCaKeyPair,
  parseCaCertificate,
  parseCaCertificates,
  readCaKeyPair,
  validateCaKeyPair,
} from './ca/ca-certificate-checks.ts'
export {
  asDataSource,
  DATA_SOURCE_NOT_CHOSEN,
  dataSourceShapeError,
  decodeInlineBase64,
  FILE_SOURCES_DISABLED,
  loadDataSource,
  MAX_CA_FILE_BYTES,
  validateDataSource,
} from './ca/data-source.ts'
export { keepStoredInlineKeys, MASK, maskInlineKeys, sealInlineKeys } from './ca/inline-keys.ts'
export { privateKeyMatchesSpki } from './ca/key-match.ts'
export {
  type CaKeyType,
  DEFAULT_DATAPLANE_KEY_TYPE,
  isKeyType,
  KEY_TYPES,
  type KeyFamily,
  type KeyType,
  keyFamily,
  keyGenParams,
} from './ca/key-types.ts'
export { certificatesFromPem, decodePem, encodePem, type PemBlock } from './ca/pem.ts'
export {
  ecdsaHash,
  importPrivateKey,
  type ParsedPrivateKey,
  type PrivateKeyAlgorithm,
  parsePkcs8,
  parsePrivateKeyPem,
  privateKeyToPem,
  signingAlgorithm,
} from './ca/private-key.ts'
export { PROVIDED_CA_TYPE, providedCaBackend } from './ca/provided.ts'
export { type CaBackendRegistry, caBackendFor, defaultCaBackends } from './ca/registry.ts'
export { signingCaId } from './ca/signing-ca.ts'
export {
  type DataplaneConfig,
  DEFAULT_LOCAL_ADDRESS,
  dataplaneConfig,
  type Endpoint,
  type InboundConfig,
  indexMesh,
  type MeshIndex,
  type MeshMember,
  type MeshView,
  type MtlsState,
  type OutboundConfig,
} from './dataplane-config/dataplane-config.ts'
export { sniFromTags } from './dataplane-config/sni.ts'
export { formatKumaDuration, isKumaDuration, parseKumaDuration } from './duration.ts'
// Errors and validation
export {
  ERROR_CODES,
  type ErrorCode,
  formatViolations,
  isMeshcaError,
  MeshcaError,
  type MeshcaErrorOptions,
  toMeshcaError,
  type Violation,
  validationError,
} from './errors.ts'
export {
  authorityKeyId,
  BACKDATE_MS,
  DEFAULT_DATAPLANE_CERT_LIFETIME_MS,
  leafExtensions,
  leafKeyUsage,
  spkiKeyFamily,
} from './identity/leaf-profile.ts'
// Identities and issuance
export {
  identityUris,
  kumaUri,
  meshSpiffeId,
  serviceSpiffeId,
} from './identity/spiffe.ts'
export { MIN_RSA_BITS, verifiedCsrPublicKey } from './issuance/csr.ts'
export {
  createIdentityIssuer,
  type DataplaneIdentity,
  dataplaneCertLifetimeMs,
  type IdentityIssuer,
  type IdentityIssuerOptions,
  type IdentityRequest,
  type IdentityResult,
  type MeshTrust,
} from './issuance/identity-issuer.ts'
export {
  DEFAULT_ROTATION_JITTER,
  type RotationInput,
  rotationInstant,
  shouldRotate,
} from './issuance/rotation.ts'
export { trustBundlePem } from './issuance/trust-bundle.ts'
export {
  type AtRestEncryption,
  createAtRestEncryption,
  ENCRYPTION_KEY_BYTES,
  generateEncryptionKey,
  importEncryptionKey,
} from './managers/at-rest-encryption.ts'
export { type CaChangeGateDeps, caChangeViolations, isOnline } from './managers/ca-change-gate.ts'
export {
  type CaReconcileOptions,
  type CaReconcileResult,
  reconcileMeshCas,
} from './managers/ca-reconcile.ts'
export {
  createMeshManager,
  type MeshManager,
  type MeshManagerOptions,
  type MeshWriteResult,
} from './managers/mesh-manager.ts'
export type { MeshUpdateOptions, MeshValidation } from './managers/mesh-validation.ts'
export {
  createMeshcaCore,
  type MeshcaCore,
  type MeshcaCoreOptions,
} from './managers/meshca-core.ts'
// Managers
export {
  DEFAULT_ORPHAN_GRACE_MS,
  type OrphanSweepOptions,
  type OrphanSweepResult,
  sweepOrphans,
} from './managers/orphan-sweep.ts'
export {
  createResourceManager,
  decodeStored,
  type PlainResourceType,
  type ResourceManager,
  type ResourcePage,
} from './managers/resource-manager.ts'
export {
  createSecretManager,
  type SecretGuard,
  type SecretManager,
  type SecretManagerOptions,
  type SecretPage,
  type SecretRecord,
  type SystemSecretAccess,
} from './managers/secret-manager.ts'
export { storedPages } from './managers/store-pages.ts'
export { meshIsStored, storedMeshNames } from './managers/stored-meshes.ts'
export { createMemoryInstanceRegistry, type InstanceRegistry } from './ports/instances.ts'
export type { Leadership } from './ports/leadership.ts'
export {
  checkListOptions,
  decodeListCursor,
  type EngineListChecks,
  encodeListCursor,
  type ListCursor,
  type PageRequest,
} from './ports/list-options.ts'
// Ports and in-memory adapters
export {
  type Clock,
  isLogLevel,
  LOG_LEVELS,
  type Logger,
  type LogLevel,
  type Random,
  type ReadFile,
  silentLogger,
  systemClock,
  webRandom,
} from './ports/runtime.ts'
export type {
  IssuedLeaf,
  IssueOutcome,
  KeyPairBytes,
  LeafRequest,
  Signer,
  SigningCa,
  SubjectKey,
} from './ports/signer.ts'
export {
  DEFAULT_PAGE_SIZE,
  type ListOptions,
  type ListPage,
  MAX_PAGE_SIZE,
  type Store,
  type StoredResource,
  type StoreEvent,
  type StoreEventAction,
  type Unsubscribe,
  type WatchOptions,
} from './ports/store.ts'
export { specFromJson, specToJson } from './resources/codec.ts'
export {
  type DataplaneGateway,
  type DataplaneInbound,
  type DataplaneSpec,
  dataplaneTagSet,
  SERVICE_TAG,
  type Tags,
} from './resources/dataplane.ts'
export type { DataplaneInsightSpec, DataplaneMtlsInsight } from './resources/dataplane-insight.ts'
export {
  type DataplaneOutbound,
  MAX_OUTBOUNDS,
  type OutboundsReading,
  readOutbounds,
} from './resources/dataplane-outbounds.ts'
export { validateDataplaneSpec } from './resources/dataplane-validator.ts'
export { decodeResource } from './resources/decode-resource.ts'
export {
  checkJsonBounds,
  checkYamlBounds,
  type DocumentBounds,
  FILE_BOUNDS,
  REQUEST_BODY_BOUNDS,
} from './resources/document-bounds.ts'
export {
  DEFAULT_MESH,
  decodeKubernetes,
  encodeKubernetes,
  KUMA_API_VERSION,
  KUMA_SECRET_TYPE,
  type KubernetesEncodeOptions,
  MESH_LABEL,
} from './resources/kubernetes-form.ts'
export {
  BUILTIN_CA_KEY_TYPES,
  type BuiltinCaConfig,
  type BuiltinCaKeyType,
  backendMode,
  type CaBackendSpec,
  type DataSource,
  type DpCertSpec,
  enabledBackend,
  type MeshSpec,
  MTLS_MODES,
  type MtlsMode,
  type MtlsSpec,
  mtlsEnabled,
  type ProvidedCaConfig,
} from './resources/mesh.ts'
export type { DataplaneStat, MeshInsightSpec } from './resources/mesh-insight.ts'
export { validateMeshSpec } from './resources/mesh-validator.ts'
export {
  MAX_MESH_NAME_LENGTH,
  MAX_NAME_LENGTH,
  meshNameProblem,
  nameProblem,
  validateResourceMeta,
} from './resources/names.ts'
export type { AnyResource, Resource, ResourceSpecs, StoreMeta } from './resources/resource.ts'
export type { SecretSpec } from './resources/secret.ts'
export type { Selector, TrafficPermissionSpec } from './resources/traffic-permission.ts'
export { validateTrafficPermissionSpec } from './resources/traffic-permission-validator.ts'
// Resources
export {
  isMeshScoped,
  isResourceType,
  type JsonObject,
  type JsonValue,
  RESOURCE_TYPES,
  type ResourceKey,
  type ResourceMeta,
  type ResourceType,
  resourceKeyId,
} from './resources/types.ts'
export { decodeUniversal, encodeUniversal } from './resources/universal-form.ts'
export { validateResource, validateSecretSpec } from './resources/validate.ts'
export { parseYamlDocuments } from './resources/yaml-documents.ts'
// Tokens
export {
  checkDataplaneToken,
  createDataplaneTokens,
  DATAPLANE_TOKEN_TYPES,
  type DataplaneIdentityClaim,
  type DataplaneTokenClaims,
  type DataplaneTokenRequest,
  type DataplaneTokens,
  type DataplaneTokensOptions,
  type DataplaneTokenTags,
  type DataplaneTokenType,
  DEFAULT_DATAPLANE_TOKEN_VALIDITY_MS,
  dataplaneTokenRevocationsSecret,
  dataplaneTokenSigningKeyPrefix,
  parseDataplaneTokenRequest,
} from './tokens/dataplane-token.ts'
export { parseGoDuration } from './tokens/go-duration.ts'
export {
  type DecodedJwt,
  decodeJwt,
  JWT_ALGORITHMS,
  type JwtAlgorithm,
  type JwtHeader,
  type JwtKey,
  signJwt,
  verifyJwt,
} from './tokens/jwt.ts'
export { MAX_REVOKED_TOKENS, TOKEN_ID } from './tokens/signed-tokens.ts'
export {
  createTokenSigningKeys,
  DEFAULT_SIGNING_KEY_ID,
  type TokenSigningKeys,
  type TokenSigningKeysOptions,
} from './tokens/signing-keys.ts'
export {
  ADMIN_GROUP,
  ADMIN_USER_NAME,
  BOOTSTRAP_ADMIN_TOKEN_FILE,
  BOOTSTRAP_ADMIN_TOKEN_VALIDITY_MS,
  createUserTokens,
  parseUserTokenRequest,
  parseUserTokenRevocation,
  USER_TOKEN_REVOCATIONS_SECRET,
  USER_TOKEN_SIGNING_KEY_PREFIX,
  type UserIdentity,
  type UserTokenClaims,
  type UserTokenRequest,
  type UserTokens,
  type UserTokensOptions,
} from './tokens/user-token.ts'
export { createConsoleLogger } from './util/console-logger.ts'
export { jsonEqual } from './util/json-equal.ts'
export { indexPath, joinPath, ViolationList } from './validation.ts'
