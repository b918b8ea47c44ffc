/**
 * Every private key at rest is ciphertext: a provided CA's key given inline in a Mesh, as
 * `inlineString` (PEM) or `inline` (base64), leaves no trace in the raw storage of either engine —
 * PGlite's data directory (tables and WAL) and PostgreSQL's table files and WAL — while a marker
 * written in the same Mesh is found there, which shows that the scan reads what rows hold. The CA
 * still signs after a restart, and a Mesh stored with a key in clear (before this, or written
 * straight into the database) is sealed when a control plane starts.
 */
import { randomBytes, X509Certificate } from 'node:crypto'
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { postIdentity } from '@meshca/test-support/dataplanes'
import {
  base64,
  selfSignedCa as opensslCa,
  type OpensslCa as Pem,
} from '@meshca/test-support/openssl'
import {
  type ControlPlane,
  removeDir,
  startControlPlane,
  tempDir,
} from '@meshca/test-support/processes'
import postgres from 'postgres'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  connectTestPostgres,
  type TestPostgres,
} from '../../packages/store-postgres/test/support/test-postgres.ts'

const CA_EXTENSIONS = ['basicConstraints=critical,CA:TRUE', 'keyUsage=critical,keyCertSign,cRLSign']

interface Needles {
  /** Pieces of the private scalar, as the key's PEM text and as the base64 of that text hold them. */
  readonly key: readonly Buffer[]
  /** Written in the same Mesh: must be found, or the scan proves nothing. */
  readonly marker: Buffer
}

/** A P-256 CA: its Mesh stays under the 2 KB past which both engines compress a row. */
function smallCa(subject: string): Pem {
  return opensslCa(subject, CA_EXTENSIONS, { key: 'ec:P-256' })
}

/**
 * A P-256 PKCS#8 key holds its private scalar in DER bytes 36-67 (PEM line 1 from character 48,
 * line 2 up to 24), ahead of the public point, which the certificate holds too.
 */
function needlesOf(ca: Pem, marker: string): Needles {
  const pem = ca.keyPem
  const [line1 = '', line2 = ''] = pem.split('\n').filter((line) => !line.startsWith('-----'))
  const text = (start: number, end: number) => base64(pem.slice(start, end))
  const header = pem.indexOf('\n') + 1
  const alignedStart = (at: number) => at + ((3 - (at % 3)) % 3)
  const inLine1 = alignedStart(header + 48)
  const inLine2 = alignedStart(header + 65)
  return {
    key: [
      Buffer.from(line1.slice(48, 64), 'latin1'),
      Buffer.from(line2.slice(0, 24), 'latin1'),
      Buffer.from(text(inLine1, inLine1 + 12), 'latin1'),
      Buffer.from(text(inLine2, inLine2 + 18), 'latin1'),
    ],
    marker: Buffer.from(marker, 'latin1'),
  }
}

type InlineForm = 'inlineString' | 'inline'

function providedMesh(name: string, ca: Pem, marker: string, form: InlineForm) {
  const source = (pem: string) =>
    form === 'inline' ? { inline: base64(pem) } : { inlineString: pem }
  return {
    type: 'Mesh',
    name,
    mtls: {
      enabledBackend: 'ca-1',
      backends: [
        {
          name: 'ca-1',
          type: 'provided',
          conf: { cert: source(ca.certPem), key: source(ca.keyPem) },
        },
      ],
    },
    logging: { backends: [{ name: 'marker', type: 'file', conf: { path: `/tmp/${marker}` } }] },
  }
}

async function put(cp: ControlPlane, path: string, body: unknown): Promise<number> {
  const response = await fetch(`${cp.url}${path}`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  })
  const status = response.status
  if (status !== 200 && status !== 201) throw new Error(`PUT ${path}: ${await response.text()}`)
  return status
}

/** A data plane of `mesh` gets a certificate signed by `ca` (the sealed key was opened). */
async function expectSignedBy(cp: ControlPlane, mesh: string, ca: Pem): Promise<void> {
  const tokenResponse = await fetch(`${cp.url}/tokens/dataplane`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'web-1', mesh, tags: { 'kuma.io/service': ['web'] } }),
  })
  const token = await tokenResponse.text()
  const dataplane = {
    type: 'Dataplane',
    mesh,
    name: 'web-1',
    networking: {
      address: '127.0.0.1',
      inbound: [{ port: 8080, tags: { 'kuma.io/service': 'web' } }],
    },
  }
  const response = await postIdentity(cp.url, mesh, 'web-1', token, { dataplane })
  expect(response.status, await response.clone().text()).toBe(200)
  const identity = (await response.json()) as { certificateChain: string }
  const leaf = new X509Certificate(identity.certificateChain)
  expect(leaf.verify(new X509Certificate(ca.certPem).publicKey)).toBe(true)
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .map((entry) => join(dir, entry))
    .filter((path) => statSync(path).isFile())
}

function found(haystacks: readonly Buffer[], needle: Buffer): boolean {
  return haystacks.some((haystack) => haystack.includes(needle))
}

interface Written {
  readonly needles: Needles[]
  readonly cas: Record<string, Pem>
}

/** One Mesh per inline form, each with a CA of its own and a marker. */
async function writeBothForms(cp: ControlPlane, prefix: string): Promise<Written> {
  const needles: Needles[] = []
  const cas: Record<string, Pem> = {}
  for (const form of ['inlineString', 'inline'] as const) {
    const name = `${prefix}-${form.toLowerCase()}`
    const ca = smallCa(name)
    const marker = `marker-${randomBytes(8).toString('hex')}`
    expect(await put(cp, `/meshes/${name}`, providedMesh(name, ca, marker, form))).toBe(201)
    await expectSignedBy(cp, name, ca)
    needles.push(needlesOf(ca, marker))
    cas[name] = ca
  }
  return { needles, cas }
}

function expectNoKeyIn(contents: readonly Buffer[], needles: readonly Needles[]): void {
  for (const { key, marker } of needles) {
    expect(found(contents, marker)).toBe(true)
    for (const needle of key) expect(found(contents, needle), needle.toString('latin1')).toBe(false)
  }
}

describe('inline CA keys at rest', () => {
  const dirs: string[] = []
  const started: ControlPlane[] = []

  async function start(dataDir: string, args: readonly string[] = []): Promise<ControlPlane> {
    const cp = await startControlPlane({ dataDir, args })
    started.push(cp)
    return cp
  }

  afterAll(async () => {
    await Promise.all(started.map((cp) => cp.stop()))
    for (const dir of dirs) removeDir(dir)
  })

  it('on PGlite: neither tables nor WAL hold the key, and the CA signs after a restart', async () => {
    const dataDir = tempDir('keys-pglite')
    dirs.push(dataDir)
    let cp = await start(dataDir)
    const { needles, cas } = await writeBothForms(cp, 'pglite')
    expect(await cp.stop()).toBe(0)
    expectNoKeyIn(
      filesUnder(join(dataDir, 'pglite')).map((path) => readFileSync(path)),
      needles
    )

    cp = await start(dataDir)
    for (const [mesh, ca] of Object.entries(cas)) {
      const read = await (await fetch(`${cp.url}/meshes/${mesh}`)).text()
      expect(read).not.toContain('meshca-sealed')
      expect(read).toMatch(/"inline(String)?":"\*\*\*"/)
      await expectSignedBy(cp, mesh, ca)
    }
  })

  describe('on PostgreSQL', () => {
    let pg: TestPostgres
    let database: string
    let sql: postgres.Sql
    let args: string[]

    beforeAll(async () => {
      pg = await connectTestPostgres()
      database = `meshca_keys_${randomBytes(4).toString('hex')}`
      await pg.admin.unsafe(`create database ${database}`)
      const url = new URL(pg.url)
      url.pathname = `/${database}`
      const keyDir = tempDir('keys-key')
      dirs.push(keyDir)
      const keyFile = join(keyDir, 'secret.key')
      writeFileSync(keyFile, randomBytes(32).toString('base64'), { mode: 0o600 })
      args = ['--store', 'postgres', '--postgres-url', url.toString(), '--secret-key-file', keyFile]
      sql = postgres(url.toString(), { max: 1, onnotice: () => {} })
    })

    afterAll(async () => {
      await sql?.end()
      await pg?.admin.unsafe(`drop database if exists ${database} with (force)`)
      await pg?.dispose()
    })

    /** The WAL segments written since `since`, and the table's file, read by the server itself. */
    async function rawStorage(since: Date): Promise<Buffer[]> {
      await sql`checkpoint`
      const segments = await sql<{ name: string }[]>`
        select name from pg_ls_waldir() where modification >= ${since} order by name`
      const files = segments.map((s) => `pg_wal/${s.name}`)
      const [table] = await sql<{ path: string }[]>`
        select pg_relation_filepath('meshca.resources') as path`
      if (table?.path) files.push(table.path)
      const contents: Buffer[] = []
      for (const file of files) {
        const [row] = await sql<{ data: Buffer }[]>`select pg_read_binary_file(${file}) as data`
        if (row) contents.push(row.data)
      }
      return contents
    }

    it('neither the table nor the WAL hold the key', async () => {
      const since = new Date(Date.now() - 2_000)
      const dataDir = tempDir('keys-postgres')
      dirs.push(dataDir)
      const cp = await start(dataDir, args)
      const { needles } = await writeBothForms(cp, 'pg')
      expectNoKeyIn(await rawStorage(since), needles)
      const [row] = await sql<{ spec: string }[]>`
        select spec from meshca.resources where type = 'Mesh' and name = 'pg-inlinestring'`
      expect(row?.spec).toContain('meshca-sealed:v1:')
    })

    it('seals a key stored in clear when a control plane starts', async () => {
      const ca = smallCa('postgres-clear')
      const spec = JSON.stringify({ mtls: providedMesh('clear', ca, 'x', 'inlineString').mtls })
      // As a Mesh written before keys were sealed, or by psql.
      await sql`insert into meshca.resources (type, mesh, name, spec)
        values ('Mesh', '', 'clear', ${spec})`
      const dataDir = tempDir('keys-reseal')
      dirs.push(dataDir)
      const cp = await start(dataDir, args)
      expect(cp.output()).toMatch(/inline CA keys sealed at rest meshes=1/)
      const [row] = await sql<{ spec: string }[]>`
        select spec from meshca.resources where type = 'Mesh' and name = 'clear'`
      expect(row?.spec).not.toContain('PRIVATE KEY')
      for (const needle of needlesOf(ca, 'x').key) {
        expect(row?.spec).not.toContain(needle.toString('latin1'))
      }
      await expectSignedBy(cp, 'clear', ca)
    })
  })
})
