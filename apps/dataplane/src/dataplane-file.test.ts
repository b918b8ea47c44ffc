import { describe, expect, it } from 'vitest'
import { applyTemplate, parseDataplane } from './dataplane-file.ts'

const TEMPLATE = `type: Dataplane
mesh: default
name: {{ name }}
networking:
  address: {{ address }}
  inbound:
    - port: 20001
      servicePort: 8080
      serviceAddress: 127.0.0.1
      tags:
        kuma.io/service: backend
  outbound:
    - port: 10001
      tags:
        kuma.io/service: db
`

describe('the Dataplane file', () => {
  it('fills the template and reads the resource', () => {
    const file = parseDataplane(TEMPLATE, { name: 'backend-1', address: '10.0.0.2' }, {})
    expect(file.name).toBe('backend-1')
    expect(file.mesh).toBe('default')
    expect(file.spec.networking.address).toBe('10.0.0.2')
    expect(file.json).toMatchObject({
      name: 'backend-1',
      networking: { outbound: [{ port: 10001 }] },
    })
  })

  it('names the variables the template lacks', () => {
    expect(() => applyTemplate(TEMPLATE, { name: 'x' })).toThrow(
      'the Dataplane template needs --dataplane-var address=…'
    )
  })

  it('takes name and mesh from the flags when the file has none, and refuses a conflict', () => {
    const text =
      'type: Dataplane\nnetworking:\n  address: 10.0.0.1\n  inbound: [{port: 1, tags: {kuma.io/service: a}}]\n'
    expect(parseDataplane(text, {}, { name: 'a-1', mesh: 'demo' })).toMatchObject({
      name: 'a-1',
      mesh: 'demo',
    })
    expect(() =>
      parseDataplane(TEMPLATE, { name: 'b', address: '10.0.0.1' }, { name: 'c' })
    ).toThrow(
      expect.objectContaining({
        violations: [{ field: 'name', message: 'is "b" in the file but --name says "c"' }],
      })
    )
  })

  it('checks the Dataplane as the control plane does', () => {
    const bad = TEMPLATE.replace('port: 10001', 'port: 0')
    expect(() => parseDataplane(bad, { name: 'b', address: '10.0.0.1' }, {})).toThrow(
      expect.objectContaining({
        violations: [
          { field: 'networking.outbound[0].port', message: 'port must be in the range [1, 65535]' },
        ],
      })
    )
    expect(() => parseDataplane('type: Mesh\nname: x\n', {}, {})).toThrow(
      expect.objectContaining({
        violations: [{ field: 'type', message: 'must be Dataplane, not Mesh' }],
      })
    )
    expect(() => parseDataplane('a: 1\n---\nb: 2\n', {}, {})).toThrow(
      expect.objectContaining({
        violations: [{ field: '', message: 'the Dataplane file must hold one Dataplane resource' }],
      })
    )
  })
})
