/** Data plane side of the data plane API tests: tokens, identities, SSE streams, openssl checks. */
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { dataplane } from './fixtures.ts'
import type { Harness } from './harness.ts'

export interface IdentityJson {
  readonly mode: string
  readonly certificateChain: string
  readonly privateKey?: string
  readonly trustBundle: string
  readonly backend: string
  readonly supportedBackends: string[]
  readonly generation: string
  readonly expiration: string
  readonly rotateAt: string
}

export function builtinMesh(
  name: string,
  options: { expiration?: string; backends?: string[]; enabled?: string } = {}
) {
  const backends = options.backends ?? ['ca-1']
  return {
    type: 'Mesh',
    name,
    mtls: {
      enabledBackend: options.enabled ?? backends[0],
      backends: backends.map((b) => ({
        name: b,
        type: 'builtin',
        ...(options.expiration ? { dpCert: { rotation: { expiration: options.expiration } } } : {}),
      })),
    },
  }
}

export async function putOk(h: Harness, path: string, body: unknown): Promise<void> {
  const response = await h.put(path, body)
  if (response.status !== 200 && response.status !== 201) {
    throw new Error(`PUT ${path}: ${response.status} ${await response.text()}`)
  }
}

/** A mesh and a registered data plane `name` with `kuma.io/service: service`. */
export async function registered(
  h: Harness,
  mesh: string,
  name: string,
  service: string
): Promise<void> {
  await putOk(
    h,
    `/meshes/${mesh}/dataplanes/${name}`,
    dataplane(mesh, name, { 'kuma.io/service': service })
  )
}

export function dpToken(
  h: Harness,
  mesh: string,
  name: string,
  tags: Record<string, string[]> = {}
): Promise<string> {
  return h.dataplaneTokens.issue({ name, mesh, tags, type: 'dataplane', validForMs: 3_600_000 })
}

export function identityPath(mesh: string, name: string): string {
  return `/meshes/${mesh}/dataplanes/${name}/identity`
}

export function postIdentity(
  h: Harness,
  mesh: string,
  name: string,
  token: string | undefined,
  body?: unknown
): Promise<Response> {
  return h.request('POST', identityPath(mesh, name), {
    ...(token === undefined ? {} : { token }),
    ...(body === undefined ? {} : { body }),
  })
}

export interface SseEvent {
  readonly event: string
  readonly data: string
  readonly id?: string
}

/** Reads Server-Sent Events (and comment lines) off a response body. */
export class SseReader {
  readonly comments: string[] = []
  readonly #reader: ReadableStreamDefaultReader<Uint8Array>
  readonly #decoder = new TextDecoder()
  #buffer = ''
  #done = false

  constructor(response: Response) {
    if (response.body === null) throw new Error('the response has no body')
    this.#reader = response.body.getReader()
  }

  get done(): boolean {
    return this.#done
  }

  /** The next event, or `undefined` when the stream ended; fails after `timeoutMs`. */
  async next(timeoutMs = 10_000): Promise<SseEvent | undefined> {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const event = this.#takeEvent()
      if (event !== undefined) return event
      if (this.#done) return undefined
      const remaining = deadline - Date.now()
      if (remaining <= 0) throw new Error(`no event within ${timeoutMs} ms`)
      let timer: ReturnType<typeof setTimeout> | undefined
      const chunk = await Promise.race([
        this.#reader.read(),
        new Promise<'timeout'>((resolve) => {
          timer = setTimeout(() => resolve('timeout'), remaining)
        }),
      ])
      clearTimeout(timer)
      if (chunk === 'timeout') throw new Error(`no event within ${timeoutMs} ms`)
      if (chunk.done) this.#done = true
      else this.#buffer += this.#decoder.decode(chunk.value, { stream: true })
    }
  }

  async nextIdentity(timeoutMs = 10_000): Promise<IdentityJson> {
    const event = await this.next(timeoutMs)
    if (event?.event !== 'identity')
      throw new Error(`expected an identity, got ${JSON.stringify(event)}`)
    return JSON.parse(event.data) as IdentityJson
  }

  cancel(): Promise<void> {
    return this.#reader.cancel()
  }

  #takeEvent(): SseEvent | undefined {
    for (;;) {
      const end = this.#buffer.indexOf('\n\n')
      if (end < 0) return undefined
      const block = this.#buffer.slice(0, end)
      this.#buffer = this.#buffer.slice(end + 2)
      let event = 'message'
      let id: string | undefined
      const data: string[] = []
      let fields = 0
      for (const line of block.split('\n')) {
        if (line.startsWith(':')) {
          this.comments.push(line.slice(1).trim())
          continue
        }
        const colon = line.indexOf(':')
        const name = colon < 0 ? line : line.slice(0, colon)
        const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '')
        fields++
        if (name === 'event') event = value
        else if (name === 'data') data.push(value)
        else if (name === 'id') id = value
      }
      if (fields > 0) return { event, data: data.join('\n'), ...(id === undefined ? {} : { id }) }
    }
  }
}

export async function openStream(
  h: Harness,
  mesh: string,
  name: string,
  token: string,
  headers: Record<string, string> = {}
): Promise<{ response: Response; events: SseReader }> {
  const response = await h.request('GET', `${identityPath(mesh, name)}/stream`, { token, headers })
  if (response.status !== 200) {
    throw new Error(`stream ${mesh}/${name}: ${response.status} ${await response.text()}`)
  }
  return { response, events: new SseReader(response) }
}

/** Runs openssl in a scratch folder holding `files`; returns stdout and stderr. */
export function openssl(args: readonly string[], files: Record<string, string> = {}): string {
  const dir = mkdtempSync(join(tmpdir(), 'meshca-api-dp-'))
  try {
    for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text)
    return execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' }).toString()
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

/**
 * `openssl verify -x509_strict` of the chain's leaf against the bundle (or the roots a peer holds),
 * intermediates untrusted.
 */
export function verifyStrict(identity: IdentityJson, trusted = identity.trustBundle): string {
  const [leaf, ...rest] = identity.certificateChain.split(/(?<=-----END CERTIFICATE-----\n)/)
  return openssl(
    [
      'verify',
      '-x509_strict',
      '-CAfile',
      'bundle.pem',
      ...(rest.length > 0 ? ['-untrusted', 'chain.pem'] : []),
      'leaf.pem',
    ],
    { 'bundle.pem': trusted, 'chain.pem': rest.join(''), 'leaf.pem': leaf ?? '' }
  )
}

/** A CSR made by openssl (`newkey` e.g. `rsa:2048`, `ec -pkeyopt ec_paramgen_curve:P-256`). */
export function opensslCsr(newkey: readonly string[]): { csr: string; key: string } {
  const dir = mkdtempSync(join(tmpdir(), 'meshca-api-csr-'))
  try {
    execFileSync(
      'openssl',
      [
        'req',
        '-new',
        '-newkey',
        ...newkey,
        '-nodes',
        '-keyout',
        'k.pem',
        '-out',
        'r.pem',
        '-subj',
        '/CN=admin',
        '-addext',
        'subjectAltName=URI:spiffe://default/admin',
      ],
      { cwd: dir, stdio: 'pipe' }
    )
    return {
      csr: readFileSync(join(dir, 'r.pem'), 'utf8'),
      key: readFileSync(join(dir, 'k.pem'), 'utf8'),
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

export async function waitFor<T>(
  read: () => Promise<T>,
  done: (value: T) => boolean,
  timeoutMs = 5_000
): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await read()
    if (done(value)) return value
    if (Date.now() > deadline)
      throw new Error(`condition not met in ${timeoutMs} ms: ${JSON.stringify(value)}`)
    await new Promise((resolve) => setTimeout(resolve, 25))
  }
}
