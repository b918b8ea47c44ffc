/**
 * Whatever arrives, the answer is a 4xx with Kuma's error body: never a 500, never a crash, never
 * the content of the body echoed back.
 */
import { describe, expect, it } from 'vitest'
import { MAX_BODY_BYTES } from '../src/app.ts'
import { createHarness, errorBody, json } from './support/harness.ts'

const PUT_ROUTES = [
  '/meshes/m1',
  '/meshes/m1/secrets/s1',
  '/meshes/m1/dataplanes/d1',
  '/meshes/m1/traffic-permissions/t1',
]

describe('bad input', () => {
  it.each(PUT_ROUTES)('%s: invalid JSON is a 400 that does not quote the body', async (path) => {
    const h = createHarness()
    const secretish = '{"type": "Mesh", "name": "m1", "x": SECRETKEYMATERIAL}'
    const response = await h.put(path, secretish)
    expect(response.status).toBe(400)
    const body = await errorBody(response)
    expect(body).toEqual({
      title: 'Could not process a resource',
      details: expect.stringMatching(/^request body is not valid JSON/),
    })
    expect(JSON.stringify(body)).not.toContain('SECRETKEYMATERIAL')
  })

  it('reports where JSON stops when the engine says', async () => {
    const h = createHarness()
    const response = await h.put('/meshes/m1', '{\n  "type": "Mesh",\n  "name": }')
    const { details } = await errorBody(response)
    // V8 gives a position (turned into line and column); other engines may not.
    expect(details).toMatch(/^request body is not valid JSON( \(line 3, column \d+\))?$/)
  })

  it('takes YAML and reports invalid YAML as a 400', async () => {
    const h = createHarness()
    const ok = await h.put('/meshes/m1', 'type: Mesh\nname: m1\n', {
      contentType: 'application/x-yaml',
    })
    expect(ok.status).toBe(201)
    const bad = await h.put('/meshes/m1', 'type: Mesh\nname: [m1\n', { contentType: 'text/yaml' })
    expect(bad.status).toBe(400)
    expect((await errorBody(bad)).details).toMatch(
      /^request body is not valid YAML: YAML error at line/
    )
    // A body indented as a whole is YAML too, as sent.
    const indented = await h.put('/meshes/m1', '  type: Mesh\n  name: m1\n', {
      contentType: 'application/yaml',
    })
    expect(indented.status).toBe(200)
    const two = await h.put('/meshes/m1', 'type: Mesh\nname: m1\n---\ntype: Mesh\nname: m2\n', {
      contentType: 'application/yaml',
    })
    expect((await errorBody(two)).details).toBe(
      'request body is not valid YAML: more than 1 YAML document'
    )
  })

  it.each([
    ['application/yaml', '['.repeat(24_000)],
    ['application/yaml', '- '.repeat(24_000)],
    ['application/json', '['.repeat(24_000)],
    ['application/json', `{"type":"Mesh","name":"m1","x":${'{"a":'.repeat(24_000)}`],
  ])(
    'refuses %s nested 24,000 levels deep before parsing it, every time',
    async (contentType, body) => {
      const h = createHarness()
      const format = contentType.endsWith('yaml') ? 'YAML' : 'JSON'
      for (let round = 0; round < 5; round++) {
        const response = await h.put('/meshes/m1', body, { contentType })
        expect(response.status).toBe(400)
        expect((await errorBody(response)).details).toMatch(
          new RegExp(
            `^request body is not valid ${format}: more than 64 levels of nesting at line 1, column \\d+$`
          )
        )
      }
      expect((await h.get('/meshes')).status).toBe(200)
    }
  )

  it('refuses a body of more values than any resource has', async () => {
    const h = createHarness()
    const response = await h.put('/meshes/m1', `[${'1,'.repeat(30_000)}1]`)
    expect(response.status).toBe(400)
    expect((await errorBody(response)).details).toBe(
      'request body is not valid JSON: more than 20000 values'
    )
  })

  it.each([
    [
      'text/plain',
      'Unsupported Media Type: "text/plain"; send application/json or application/yaml',
    ],
    [
      'application/x-www-form-urlencoded',
      'Unsupported Media Type: "application/x-www-form-urlencoded"; send application/json or application/yaml',
    ],
  ])('refuses the content type %s with 415', async (contentType, details) => {
    const h = createHarness()
    const response = await h.put('/meshes/m1', '{"type":"Mesh","name":"m1"}', { contentType })
    expect(response.status).toBe(415)
    expect(await errorBody(response)).toEqual({ title: 'Could not process a resource', details })
  })

  it('reads a body without a content type as JSON', async () => {
    const h = createHarness()
    // Bytes, because a string body gets `text/plain` from the Request constructor.
    const response = await h.app.request(
      'http://localhost/meshes/m1',
      { method: 'PUT', body: new TextEncoder().encode('{"type":"Mesh","name":"m1"}') },
      { remoteAddress: '127.0.0.1' }
    )
    expect(response.status).toBe(201)
  })

  it.each([
    ['an empty body', '', 'request body is empty'],
    ['whitespace', '  \n', 'request body is empty'],
  ])('refuses %s', async (_case, body, details) => {
    const h = createHarness()
    const response = await h.request('PUT', '/meshes/m1', { body, contentType: 'application/json' })
    expect(response.status).toBe(400)
    expect((await errorBody(response)).details).toBe(details)
  })

  it('refuses a body that is not UTF-8', async () => {
    const h = createHarness()
    const response = await h.app.request(
      'http://localhost/meshes/m1',
      {
        method: 'PUT',
        headers: { 'content-type': 'application/json' },
        body: new Uint8Array([0x7b, 0xff, 0xfe, 0x7d]),
      },
      { remoteAddress: '127.0.0.1' }
    )
    expect(response.status).toBe(400)
    expect((await errorBody(response)).details).toBe('request body is not valid UTF-8')
  })

  it('refuses an oversized body with 413, whether announced or streamed', async () => {
    const h = createHarness()
    const big = JSON.stringify({ type: 'Mesh', name: 'm1', pad: 'x'.repeat(MAX_BODY_BYTES) })
    const announced = await h.put('/meshes/m1', big)
    expect(announced.status).toBe(413)
    expect(await errorBody(announced)).toEqual({
      title: 'Payload Too Large',
      details: `request body is larger than ${MAX_BODY_BYTES} bytes`,
    })
    const chunk = new TextEncoder().encode('x'.repeat(64 * 1024))
    let sent = 0
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent > MAX_BODY_BYTES + chunk.length) controller.close()
        else {
          sent += chunk.length
          controller.enqueue(chunk)
        }
      },
    })
    const streamed = await h.app.request(
      'http://localhost/meshes/m1',
      {
        method: 'PUT',
        headers: { 'content-type': 'application/json', 'transfer-encoding': 'chunked' },
        body: stream,
        duplex: 'half',
      } as RequestInit,
      { remoteAddress: '127.0.0.1' }
    )
    expect(streamed.status).toBe(413)
    expect((await errorBody(streamed)).title).toBe('Payload Too Large')
  })

  it('honours a smaller configured limit', async () => {
    const h = createHarness({ maxBodyBytes: 64 })
    const response = await h.put('/meshes/m1', { type: 'Mesh', name: 'm1', pad: 'x'.repeat(100) })
    expect(response.status).toBe(413)
  })

  it.each([
    ['GET', '/nope'],
    ['GET', '/meshes/m1/nope'],
    ['GET', '/meshes/m1/secrets/s1/extra'],
    ['POST', '/meshes/m1'],
    ['PATCH', '/meshes/m1'],
    ['GET', '/tokens/dataplane'],
  ])('%s %s is a 404 with the error body', async (method, path) => {
    const h = createHarness()
    const response = await h.request(method, path)
    expect(response.status).toBe(404)
    expect(await errorBody(response)).toEqual({ title: 'Not Found', details: 'Not found' })
  })

  // Shapes that reach deeper code: each must be refused as input, never crash it.
  const BODIES: readonly unknown[] = [
    null,
    [],
    42,
    'text',
    {},
    { type: 'Mesh' },
    { type: 'Nope', name: 'm1' },
    { type: ['Mesh'], name: 'm1' },
    { type: 'Mesh', name: 'm1', mtls: 'on' },
    { type: 'Mesh', name: 'm1', mtls: { backends: {} } },
    { type: 'Mesh', name: 'm1', mtls: { backends: [null, 1, 'x'] } },
    {
      type: 'Mesh',
      name: 'm1',
      mtls: { enabledBackend: 'a', backends: [{ name: 'a', type: 'provided', conf: 'x' }] },
    },
    {
      type: 'Mesh',
      name: 'm1',
      mtls: {
        enabledBackend: 'a',
        backends: [
          {
            name: 'a',
            type: 'provided',
            conf: { cert: { inline: 'bm90IGEgY2VydA==' }, key: { inline: '***' } },
          },
        ],
      },
    },
    {
      type: 'Mesh',
      name: 'm1',
      mtls: {
        enabledBackend: 'a',
        backends: [{ name: 'a', type: 'builtin', conf: { caCert: { RSAbits: 'big' } } }],
      },
    },
    {
      type: 'Mesh',
      name: 'm1',
      mtls: {
        enabledBackend: 'a',
        backends: [{ name: 'a', type: 'builtin', conf: { caCert: { RSAbits: 512 } } }],
      },
    },
    {
      type: 'Mesh',
      name: 'm1',
      mtls: {
        enabledBackend: 'a',
        backends: [{ name: 'a', type: 'builtin', dpCert: { rotation: { expiration: '1h30m' } } }],
      },
    },
    { type: 'Secret', mesh: 'm1', name: 's1', data: 'not base64!' },
    { type: 'Secret', mesh: 'm1', name: 's1', data: 7 },
    {
      type: 'Dataplane',
      mesh: 'm1',
      name: 'd1',
      networking: { inbound: [{ port: 'x', tags: [] }] },
    },
    { type: 'TrafficPermission', mesh: 'm1', name: 't1', sources: 'all' },
    { __proto__: { type: 'Mesh' }, name: 'm1' },
  ]

  it.each(PUT_ROUTES)('%s: every malformed resource is a 4xx with the error body', async (path) => {
    const h = createHarness()
    await h.put('/meshes/m1', { type: 'Mesh', name: 'm1' })
    for (const body of BODIES) {
      const response = await h.put(path, body === 'text' ? '"text"' : body)
      expect(response.status, JSON.stringify(body)).toBeGreaterThanOrEqual(400)
      expect(response.status, JSON.stringify(body)).toBeLessThan(500)
      await errorBody(response)
    }
    for (const body of ['{"a":', '[', '\u0000', 'null null']) {
      const response = await h.put(path, body)
      expect(response.status).toBe(400)
    }
    // The mesh is still there and unchanged.
    expect((await json(await h.get('/meshes/m1'))).name).toBe('m1')
  })

  it('POST /tokens/*: malformed bodies are 4xx', async () => {
    const h = createHarness()
    for (const path of ['/tokens/dataplane', '/tokens/user']) {
      for (const body of ['{', '[]', '"x"', '{"mesh": 1, "tags": 2, "validFor": 3}']) {
        const response = await h.post(path, body)
        expect(response.status, `${path} ${body}`).toBe(400)
        await errorBody(response)
      }
    }
  })
})
