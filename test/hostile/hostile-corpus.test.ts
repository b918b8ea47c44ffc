/**
 * A generated corpus of malformed requests (see corpus/) against the real control plane process on
 * PGlite. Every answer must come within 10 s, never be a 5xx, and carry Kuma's error body when it is
 * a 4xx; the process must stay alive with its RSS under 1 GiB, and serve normally afterwards. The
 * seed is printed; `MESHCA_HOSTILE_SEED=<n>` replays a corpus, `MESHCA_HOSTILE_LOG=<file>` logs
 * every answer.
 */
import { X509Certificate } from 'node:crypto'
import { appendFileSync } from 'node:fs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { cpuMillis, MIB, type RssSampler, sampleRss } from '../support/proc-usage.ts'
import { type RawOutcome, rawRequest } from '../support/raw-http.ts'
import { answerProblems } from './answer-checks.ts'
import { FAMILIES, type FamilyName, generateCorpus } from './corpus/corpus.ts'
import { caSecrets, providedMesh } from './corpus/crypto-inputs.ts'
import { type CryptoMaterial, makeCryptoMaterial } from './corpus/crypto-material.ts'
import type { Probe } from './corpus/probe.ts'
import {
  builtinMesh,
  DATAPLANE,
  dataplaneBody,
  MESH,
  PLAIN_MESH,
  startWorld,
  type World,
} from './hostile-world.ts'

const SEED = Number(process.env.MESHCA_HOSTILE_SEED ?? 20_261_207)
/** Modest: the machine is shared, and a hang must show as a slow answer, not a queue. */
const CONCURRENCY = 4
/** A broken implementation hangs; a working one answers in milliseconds. */
const ANSWER_BOUND_MS = 10_000
const RSS_BOUND = 1024 * MIB
/** A file to append every probe's answer to (status, time, start of the body), for a replay. */
const ANSWER_LOG = process.env.MESHCA_HOSTILE_LOG

describe('a generated hostile corpus against the real control plane', () => {
  let world: World
  let rss: RssSampler & { sample(): void }
  let corpus: Map<FamilyName, Probe[]>
  let material: CryptoMaterial
  const statuses = new Map<string, number>()
  let sent = 0
  let slowest = { ms: 0, label: '' }
  /** The RSS peak as each family ended: which inputs cost memory. */
  const peaks: string[] = []

  beforeAll(async () => {
    material = makeCryptoMaterial()
    world = await startWorld('hostile')
    for (const { name, pem } of caSecrets(material)) {
      const data = Buffer.from(pem).toString('base64')
      const response = await world.admin('PUT', `/meshes/${PLAIN_MESH}/secrets/${name}`, {
        type: 'Secret',
        mesh: PLAIN_MESH,
        name,
        data,
      })
      expect(response.status).toBe(201)
    }
    corpus = generateCorpus(SEED, world.tokens, material)
    rss = sampleRss(world.cp.pid)
    peaks.push(`start ${(rss.peak() / MIB).toFixed(0)}`)
  }, 180_000)

  afterAll(async () => {
    rss?.stop()
    const counts = [...statuses.entries()].sort(([a], [b]) => a.localeCompare(b))
    const total = [...(corpus?.values() ?? [])].reduce((n, probes) => n + probes.length, 0)
    console.log(
      [
        `hostile corpus (seed ${SEED}): ${total} requests generated, ${sent} sent`,
        `  by status: ${counts.map(([status, n]) => `${status} ×${n}`).join(', ')}`,
        `  peak RSS: ${((rss?.peak() ?? 0) / MIB).toFixed(0)} MiB over ${rss?.readings() ?? 0} readings (bound ${RSS_BOUND / MIB} MiB); after each family: ${peaks.join(', ')}`,
        `  slowest answer: ${slowest.ms} ms (${slowest.label})`,
      ].join('\n')
    )
    await world?.stop()
  })

  async function send(probe: Probe): Promise<string[]> {
    const outcome: RawOutcome = await rawRequest(world.origin, probe.request, ANSWER_BOUND_MS)
    rss.sample()
    sent++
    const key = outcome.ok ? String(outcome.status) : 'no answer'
    statuses.set(key, (statuses.get(key) ?? 0) + 1)
    if (outcome.ms > slowest.ms) slowest = { ms: outcome.ms, label: probe.label }
    if (ANSWER_LOG !== undefined) {
      const answer = outcome.ok ? outcome.body.toString('utf8').slice(0, 160) : outcome.error
      appendFileSync(
        ANSWER_LOG,
        `${key} ${outcome.ms}ms ${probe.label} [${probe.who}] ${JSON.stringify(answer)}\n`
      )
    }
    try {
      return answerProblems(probe, outcome, world.cp.alive())
    } catch (error) {
      return [`the answer could not be checked: ${error instanceof Error ? error.message : error}`]
    }
  }

  /** Sends the probes `CONCURRENCY` at a time; the failures as `label [as who]: problems`. */
  async function run(probes: readonly Probe[]): Promise<string[]> {
    const failures: string[] = []
    let next = 0
    const worker = async () => {
      while (next < probes.length && world.cp.alive()) {
        const probe = probes[next++] as Probe
        const problems = await send(probe)
        if (problems.length > 0)
          failures.push(`${probe.label} [as ${probe.who}]: ${problems.join('; ')}`)
      }
    }
    await Promise.all(Array.from({ length: CONCURRENCY }, worker))
    if (!world.cp.alive()) failures.push(`the process exited:\n${world.cp.output().slice(-3_000)}`)
    return failures
  }

  it('is generated: at least 500 requests over every family', () => {
    const sizes = [...corpus.entries()].map(([family, probes]) => [family, probes.length] as const)
    console.log(`corpus by family: ${sizes.map(([f, n]) => `${f} ${n}`).join(', ')}`)
    expect(sizes.every(([, n]) => n > 0)).toBe(true)
    expect(sizes.reduce((total, [, n]) => total + n, 0)).toBeGreaterThanOrEqual(500)
  })

  for (const [family] of FAMILIES) {
    it(`${family}: every answer in time, no 5xx, Kuma's error body, the process alive`, async () => {
      const failures = await run(corpus.get(family) ?? [])
      peaks.push(`${family} ${(rss.peak() / MIB).toFixed(0)}`)
      expect(failures).toEqual([])
    }, 300_000)
  }

  /**
   * Kuma decodes a resource into its protobuf message, which drops fields it does not define. A
   * server that keeps them lets any user store a megabyte per resource, and lets anyone read them
   * back a thousand at a time in one list answer.
   */
  it.each([
    ['Mesh', '/meshes/junk-mesh', { type: 'Mesh', name: 'junk-mesh' }],
    ['Dataplane', `/meshes/${MESH}/dataplanes/junk-dp`, dataplaneBody(MESH, 'junk-dp', 'junk')],
    [
      'TrafficPermission',
      `/meshes/${MESH}/traffic-permissions/junk-tp`,
      {
        type: 'TrafficPermission',
        mesh: MESH,
        name: 'junk-tp',
        sources: [{ match: { 'kuma.io/service': '*' } }],
        destinations: [{ match: { 'kuma.io/service': '*' } }],
      },
    ],
  ])('does not store 900 KB of a field no %s has', async (_type, path, resource) => {
    const write = await fetch(`${world.origin}${path}`, {
      method: 'PUT',
      headers: {
        authorization: `Bearer ${world.tokens.user}`,
        'content-type': 'application/json',
      },
      body: JSON.stringify({ ...resource, xHostileJunk: 'x'.repeat(900_000) }),
    })
    await write.text()
    if (write.status >= 400) return
    const read = await fetch(`${world.origin}${path}`)
    expect(read.status).toBe(200)
    const text = await read.text()
    expect(text).not.toContain('xHostileJunk')
    expect(text.length).toBeLessThan(64 * 1024)
  })

  /**
   * The median CPU time the control plane spends on one identity POST of a new data plane in
   * `mesh` (of three): CPU, not the time to answer, so that a busy machine does not count; with a
   * CSR, so that no key is generated.
   */
  async function identityCpuMs(mesh: string): Promise<number> {
    const issued = await world.admin('POST', '/tokens/dataplane', { name: 'dp', mesh })
    const token = await issued.text()
    const cpu: number[] = []
    for (let i = 0; i < 3; i++) {
      const before = cpuMillis(world.cp.pid)
      const response = await fetch(`${world.origin}/meshes/${mesh}/dataplanes/dp/identity`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({
          csr: material.csr.p256,
          dataplane: dataplaneBody(mesh, 'dp', 'chain'),
        }),
      })
      expect(response.status).toBe(200)
      await response.text()
      cpu.push(cpuMillis(world.cp.pid) - before)
    }
    console.log(`CPU per identity in ${mesh}: ${cpu.join(', ')} ms`)
    return [...cpu].sort((a, b) => a - b)[1] ?? 0
  }

  /**
   * Nothing bounds how many certificates a provided CA's `cert` holds, and loading the CA parses and
   * checks each of them for every identity issued: 470 copies of one certificate (700 KB) made each
   * identity of that mesh cost seconds of CPU, on the event loop, instead of milliseconds.
   */
  it('refuses a CA of 470 certificates, or issues from it about as cheaply as from one', async () => {
    const { good } = material.ca
    const put = (mesh: string, cert: string) =>
      world.admin(
        'PUT',
        `/meshes/${mesh}`,
        providedMesh(mesh, { inlineString: cert }, { inlineString: good.keyPem })
      )
    expect((await put('chain-one', good.certPem)).status).toBe(201)
    const baseline = await identityCpuMs('chain-one')
    const many = await put('chain-many', good.certPem.repeat(470))
    if (many.status >= 400 && many.status < 500) return
    expect(many.status).toBe(201)
    expect(await identityCpuMs('chain-many')).toBeLessThan(10 * baseline + 100)
  }, 120_000)

  it('keeps its resident memory under 1 GiB throughout', () => {
    expect(rss.readings()).toBeGreaterThan(0)
    expect(rss.peak()).toBeLessThan(RSS_BOUND)
  })

  it('serves normally afterwards: reads, refuses, creates a mesh and issues identities', async () => {
    expect(world.cp.alive()).toBe(true)
    expect((await fetch(`${world.origin}/`)).status).toBe(200)
    expect((await fetch(`${world.origin}/secrets`)).status).toBe(403)
    const mesh = 'after-corpus'
    expect((await world.admin('PUT', `/meshes/${mesh}`, builtinMesh(mesh))).status).toBe(201)
    const tokenResponse = await world.admin('POST', '/tokens/dataplane', {
      name: 'api-1',
      mesh,
      tags: { 'kuma.io/service': ['api'] },
    })
    expect(tokenResponse.status).toBe(200)
    const token = await tokenResponse.text()
    for (const [meshName, name, bearer, body] of [
      [mesh, 'api-1', token, { dataplane: dataplaneBody(mesh, 'api-1', 'api') }],
      [MESH, DATAPLANE, world.tokens.dpOwn, {}],
    ] as const) {
      const response = await fetch(
        `${world.origin}/meshes/${meshName}/dataplanes/${name}/identity`,
        {
          method: 'POST',
          headers: { authorization: `Bearer ${bearer}`, 'content-type': 'application/json' },
          body: JSON.stringify(body),
        }
      )
      expect(response.status).toBe(200)
      const identity = (await response.json()) as { certificateChain: string; trustBundle: string }
      const leaf = new X509Certificate(identity.certificateChain)
      const service = meshName === mesh ? 'api' : 'web'
      expect(leaf.subjectAltName?.split(', ')[0]).toBe(`URI:spiffe://${meshName}/${service}`)
      expect(leaf.verify(new X509Certificate(identity.trustBundle).publicKey)).toBe(true)
    }
  })
})
