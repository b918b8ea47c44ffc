/**
 * Every Universal example of the brief applies through PUT (the provided ones once their secrets
 * exist, the inline one with a real CA) and reads back equal, inline keys masked.
 */
import { parseYamlDocuments } from '@meshca/core-mtls'
import { BRIEF_CA_EXTENSIONS, selfSignedCa } from '@meshca/test-support/openssl'
import { describe, expect, it } from 'vitest'
import { readExample } from './support/examples.ts'
import { base64, createHarness, json, secretBody, withoutTimes } from './support/harness.ts'

function example(file: string): Record<string, unknown> {
  const [doc] = parseYamlDocuments(readExample(file))
  return doc as Record<string, unknown>
}

describe('the brief’s examples through PUT', () => {
  it.each(['builtin.universal.yaml', 'permissive.universal.yaml'])(
    '%s applies as YAML and as JSON and reads back equal',
    async (file) => {
      const h = createHarness()
      const yaml = await h.put('/meshes/default', readExample(file), {
        contentType: 'application/yaml',
      })
      expect(yaml.status).toBe(201)
      expect(withoutTimes(await json(await h.get('/meshes/default')))).toEqual(example(file))
      const again = await h.put('/meshes/default', example(file))
      expect(again.status).toBe(200)
      expect(withoutTimes(await json(await h.get('/meshes/default')))).toEqual(example(file))
    }
  )

  it('builtin.universal.yaml: the CA secrets are listed under Kuma’s names', async () => {
    const h = createHarness()
    await h.put('/meshes/default', readExample('builtin.universal.yaml'), {
      contentType: 'application/yaml',
    })
    const list = await json(await h.get('/meshes/default/secrets'))
    expect(list.total).toBe(2)
    const items = list.items as { type: string; mesh: string; name: string; data: string }[]
    expect(items.map((s) => [s.type, s.mesh, s.name])).toEqual([
      ['Secret', 'default', 'default.ca-builtin-cert-ca-1'],
      ['Secret', 'default', 'default.ca-builtin-key-ca-1'],
    ])
    expect(Buffer.from(items[0]?.data ?? '', 'base64').toString()).toMatch(
      /^-----BEGIN CERTIFICATE-----/
    )
    const all = await json(await h.get('/secrets'))
    expect((all.items as { name: string }[]).map((s) => s.name)).toEqual([
      'default.ca-builtin-cert-ca-1',
      'default.ca-builtin-key-ca-1',
    ])
  })

  it('provided.universal.yaml applies once its secret exists', async () => {
    const h = createHarness()
    const ca = selfSignedCa('Hello', BRIEF_CA_EXTENSIONS)
    const body = readExample('provided.universal.yaml')
    expect((await h.put('/meshes/default', { type: 'Mesh', name: 'default' })).status).toBe(201)
    const missing = await h.put('/meshes/default', body, { contentType: 'application/yaml' })
    expect(missing.status).toBe(400)
    // The example names one secret for both: it holds the certificate and the key.
    const secret = secretBody('default', 'name-of-secret', `${ca.certPem}${ca.keyPem}`)
    expect((await h.put('/meshes/default/secrets/name-of-secret', secret)).status).toBe(201)
    const applied = await h.put('/meshes/default', body, { contentType: 'application/yaml' })
    expect(applied.status).toBe(200)
    expect(withoutTimes(await json(await h.get('/meshes/default')))).toEqual(
      example('provided.universal.yaml')
    )
  })

  it('provided-inline.universal.yaml applies with a real CA and reads back with the key masked', async () => {
    const h = createHarness()
    const ca = selfSignedCa('Hello', BRIEF_CA_EXTENSIONS)
    const text = readExample('provided-inline.universal.yaml')
    const truncated = /inline: (\S+)/g
    const [cert, key] = [...text.matchAll(truncated)].map((m) => m[1] ?? '')
    expect(cert).toMatch(/\.\.\.$/)
    const real = text.replace(cert ?? '', base64(ca.certPem)).replace(key ?? '', base64(ca.keyPem))
    expect((await h.put('/meshes/default', real, { contentType: 'application/yaml' })).status).toBe(
      201
    )
    const expected = parseYamlDocuments(real)[0] as {
      mtls: { backends: { conf: { key: { inline: string } } }[] }
    }
    const backend = expected.mtls.backends[0]
    if (backend) backend.conf.key.inline = '***'
    expect(withoutTimes(await json(await h.get('/meshes/default')))).toEqual(expected)
  })
})
