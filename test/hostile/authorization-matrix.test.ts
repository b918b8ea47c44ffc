/**
 * The authorization matrix (access-table.ts) against the real control plane process, started with
 * `--localhost-is-admin false` so that a request without a token is anonymous: every route × every
 * kind of caller gets exactly the status of its cell, with Kuma's error body.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { rawRequest } from '../support/raw-http.ts'
import {
  ACCESS_TABLE,
  type CellNames,
  type Row,
  resolvePath,
  rowLabel,
  SUBJECTS,
  type Subject,
} from './access-table.ts'
import { kumaErrorProblem } from './answer-checks.ts'
import { DATAPLANE, MESH, OTHER_DATAPLANE, startWorld, type World } from './hostile-world.ts'

const UNAUTHENTICATED = '{"title":"Invalid authentication data","details":"Unauthenticated"}'

/** Kuma's reason for a token of another data plane (the requestor is the URL's). */
const OTHER_PROXY = `proxy name from requestor: ${DATAPLANE} is different than in token: ${OTHER_DATAPLANE}`

describe('the authorization matrix', () => {
  let world: World
  let cells = 0
  let counter = 0

  beforeAll(async () => {
    world = await startWorld('matrix')
    // MeshInsights are written by the daemon after a mesh changes: wait for MESH's.
    const deadline = Date.now() + 30_000
    while ((await world.admin('GET', `/mesh-insights/${MESH}`)).status !== 200) {
      if (Date.now() > deadline) throw new Error(`no MeshInsight for ${MESH} after 30 s`)
      await new Promise((resolve) => setTimeout(resolve, 250))
    }
  }, 120_000)

  afterAll(async () => {
    console.log(
      `authorization matrix: ${ACCESS_TABLE.length} routes × ${SUBJECTS.length} callers = ${cells} cells checked`
    )
    await world?.stop()
  })

  function authorization(subject: Subject): Record<string, string> {
    return subject === 'anonymous' ? {} : { authorization: `Bearer ${world.tokens[subject]}` }
  }

  /** What is wrong with one cell, or `undefined`. */
  async function checkCell(row: Row, subject: Subject): Promise<string | undefined> {
    const names: CellNames = { fresh: `mx-${(counter++).toString(36)}` }
    await row.setup?.({
      names,
      admin: async (method, path, body) => {
        const response = await world.admin(method, path, body)
        if (!response.ok)
          throw new Error(`setup ${method} ${path}: ${response.status} ${await response.text()}`)
      },
    })
    const body = row.body?.(names)
    const outcome = await rawRequest(world.origin, {
      method: row.method,
      target: resolvePath(row.path, names),
      headers: {
        ...authorization(subject),
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined
        ? {}
        : { body: { kind: 'bytes', data: Buffer.from(JSON.stringify(body)) } }),
    })
    cells++
    if (!outcome.ok) return `${subject}: ${outcome.error}`
    const text = outcome.body.toString('utf8')
    const expected = row.expect[subject]
    if (outcome.status !== expected) {
      return `${subject}: expected ${expected}, got ${outcome.status} ${text.slice(0, 240)}`
    }
    if (expected < 400) return undefined
    const shape = kumaErrorProblem(outcome)
    if (shape !== undefined) return `${subject}: ${shape}`
    if (expected === 401 && text !== UNAUTHENTICATED) return `${subject}: 401 body ${text}`
    if (expected === 403 && !text.includes('"title":"Access Denied"')) {
      return `${subject}: 403 without the title Access Denied: ${text}`
    }
    if (subject === 'dpOther' && expected === 403 && !text.includes(OTHER_PROXY)) {
      return `${subject}: 403 without Kuma's reason ${JSON.stringify(OTHER_PROXY)}: ${text}`
    }
    return undefined
  }

  it.each(ACCESS_TABLE.map((row) => [rowLabel(row), row] as const))('%s', async (_label, row) => {
    const problems: string[] = []
    for (const subject of SUBJECTS) {
      const problem = await checkCell(row, subject)
      if (problem !== undefined) problems.push(problem)
    }
    expect(problems).toEqual([])
  })

  it('covers every caller of every row', () => {
    expect(cells).toBe(ACCESS_TABLE.length * SUBJECTS.length)
  })
})
