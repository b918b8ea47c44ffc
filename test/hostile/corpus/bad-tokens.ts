/**
 * Bad, forged and expired credentials on the user API and the data plane API: each must be a 401
 * with Kuma's fixed body, whatever the route and whatever the token claims. Forged tokens are made
 * from real ones (claims rewritten, signatures altered, `alg: none`, an HMAC key of our own).
 */
import { createHmac } from 'node:crypto'
import type { RawAnswer, RawBody } from '../../support/raw-http.ts'
import { DATAPLANE, MESH, type Tokens } from '../hostile-world.ts'
import { type CorpusContext, jsonBody, type Probe } from './probe.ts'

const UNAUTHENTICATED = '{"title":"Invalid authentication data","details":"Unauthenticated"}'

function b64url(value: unknown): string {
  return Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString(
    'base64url'
  )
}

function parts(token: string): [string, string, string] {
  const [header = '', payload = '', signature = ''] = token.split('.')
  return [header, payload, signature]
}

/**
 * The signature with a character in its middle changed. Not the last one: base64url's last character
 * carries padding bits, which decoders ignore, so changing it may leave the bytes as they were.
 */
function altered(signature: string): string {
  const at = Math.floor(signature.length / 2)
  const changed = signature[at] === 'A' ? 'B' : 'A'
  return `${signature.slice(0, at)}${changed}${signature.slice(at + 1)}`
}

/** Tokens that claim a lot and prove nothing; every one is refused wherever it is presented. */
function forgedTokens(tokens: Tokens): Record<string, string> {
  const [adminHeader, adminPayload, adminSignature] = parts(tokens.admin)
  const [, , userSignature] = parts(tokens.user)
  const [dpHeader, dpPayload, dpSignature] = parts(tokens.dpOwn)
  const adminClaims = { Name: 'mesh-system:admin', Groups: ['mesh-system:admin'], exp: 4102444800 }
  const hmacHeader = b64url({ alg: 'HS256', typ: 'JWT', kid: '1' })
  const hmacPayload = b64url(adminClaims)
  const hmac = createHmac('sha256', 'secret')
    .update(`${hmacHeader}.${hmacPayload}`)
    .digest('base64url')
  const header = JSON.parse(Buffer.from(adminHeader, 'base64url').toString()) as object
  return {
    'alg none, admin claims': `${b64url({ alg: 'none', typ: 'JWT' })}.${b64url(adminClaims)}.`,
    'HS256 with a key of our own': `${hmacHeader}.${hmacPayload}.${hmac}`,
    "user's claims under the admin's signature": `${adminHeader}.${parts(tokens.user)[1]}.${adminSignature}`,
    "admin claims under the user's signature": `${adminHeader}.${b64url(adminClaims)}.${userSignature}`,
    'admin token, signature altered': `${adminHeader}.${adminPayload}.${altered(adminSignature)}`,
    'admin token, signature removed': `${adminHeader}.${adminPayload}.`,
    'kid traversal': `${b64url({ ...header, kid: '../../../../etc/passwd' })}.${adminPayload}.${adminSignature}`,
    'jku and x5u': `${b64url({ ...header, jku: 'http://127.0.0.1:1/k', x5u: 'http://127.0.0.1:1/c' })}.${adminPayload}.${adminSignature}`,
    'data plane token, claims of web-2': `${dpHeader}.${b64url({ ...JSON.parse(Buffer.from(dpPayload, 'base64url').toString()), Name: 'web-2' })}.${dpSignature}`,
    'data plane token, signature altered': `${dpHeader}.${dpPayload}.${altered(dpSignature)}`,
    'expired user token': tokens.expiredUser,
    'expired data plane token': tokens.dpExpired,
    'two parts': `${adminHeader}.${adminPayload}`,
    'four parts': `${tokens.admin}.${adminSignature}`,
    'header null': `${b64url('null')}.${adminPayload}.${adminSignature}`,
    'payload not JSON': `${adminHeader}.${b64url('{{{')}.${adminSignature}`,
    'not base64': '!!!.@@@.###',
    '8,000 characters': `${adminHeader}.${'A'.repeat(8_000)}.${adminSignature}`,
  }
}

/** Authorization headers that are not a bearer token at all. */
const MALFORMED_HEADERS: readonly string[] = [
  'Bearer',
  'Bearer ',
  'Basic YWRtaW46YWRtaW4=',
  'Token abc',
  'Bearer a b',
  'Bearer\u00a0x',
  '',
]

interface Route {
  readonly method: string
  readonly target: string
  readonly body?: RawBody
  /** The data plane API, where the own data plane token is valid and user tokens are not. */
  readonly dataplane?: true
}

const ROUTES: readonly Route[] = [
  { method: 'GET', target: '/' },
  { method: 'GET', target: '/meshes' },
  { method: 'GET', target: `/meshes/${MESH}` },
  { method: 'PUT', target: '/meshes/forged', body: jsonBody({ type: 'Mesh', name: 'forged' }) },
  { method: 'DELETE', target: `/meshes/${MESH}` },
  { method: 'GET', target: '/secrets' },
  {
    method: 'POST',
    target: '/tokens/user',
    body: jsonBody({ name: 'mallory', groups: ['mesh-system:admin'], validFor: '1h' }),
  },
  { method: 'PUT', target: `/mesh-insights/${MESH}` },
  { method: 'POST', target: `/meshes/${MESH}/dataplanes/${DATAPLANE}/identity`, dataplane: true },
  {
    method: 'GET',
    target: `/meshes/${MESH}/dataplanes/${DATAPLANE}/identity/stream`,
    dataplane: true,
  },
]

function exactBody(answer: RawAnswer): string | undefined {
  const body = answer.body.toString('utf8')
  return body === UNAUTHENTICATED ? undefined : `401 body ${body}, expected ${UNAUTHENTICATED}`
}

export function badTokenProbes(context: CorpusContext): Probe[] {
  const { tokens } = context
  const credentials: [string, string][] = [
    ...Object.entries(forgedTokens(tokens)).map(([label, token]): [string, string] => [
      label,
      `Bearer ${token}`,
    ]),
    ...MALFORMED_HEADERS.map((header): [string, string] => [
      `header ${JSON.stringify(header)}`,
      header,
    ]),
  ]
  const probes: Probe[] = []
  for (const route of ROUTES) {
    // Valid tokens of the other API are bad tokens here.
    const crossed: [string, string][] = route.dataplane
      ? [
          ['the admin token', `Bearer ${tokens.admin}`],
          ['a user token', `Bearer ${tokens.user}`],
          ["another mesh's data plane token", `Bearer ${tokens.dpOtherMesh}`],
        ]
      : [
          ['a data plane token', `Bearer ${tokens.dpOwn}`],
          ['an ingress token', `Bearer ${tokens.dpIngress}`],
        ]
    for (const [label, authorization] of [...credentials, ...crossed]) {
      probes.push({
        family: 'bad tokens',
        label: `${route.method} ${route.target} with ${label}`,
        who: 'anonymous',
        request: {
          method: route.method,
          target: route.target,
          headers: {
            authorization,
            ...(route.body === undefined ? {} : { 'content-type': 'application/json' }),
          },
          ...(route.body === undefined ? {} : { body: route.body }),
        },
        expect: { statuses: [401], verify: exactBody },
      })
    }
  }
  return probes
}
