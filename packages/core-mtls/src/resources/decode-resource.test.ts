import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { EXAMPLES_DIR } from '../../test/examples.ts'
import { decodeResource } from './decode-resource.ts'
import { encodeKubernetes } from './kubernetes-form.ts'
import type { AnyResource } from './resource.ts'
import { encodeUniversal } from './universal-form.ts'
import { validateResource } from './validate.ts'
import { parseYamlDocuments } from './yaml-documents.ts'

/** The product brief's examples (spec/examples); the directory must exist, the test never skips. */

const exampleFiles = readdirSync(EXAMPLES_DIR)
  .filter((file) => file.endsWith('.yaml'))
  .sort()

function decodeFile(file: string): AnyResource[] {
  return parseYamlDocuments(readFileSync(join(EXAMPLES_DIR, file), 'utf8')).map(decodeResource)
}

describe('decodeResource', () => {
  it('tells the forms apart by apiVersion', () => {
    expect(decodeResource({ type: 'Mesh', name: 'm' }).type).toBe('Mesh')
    expect(
      decodeResource({ apiVersion: 'kuma.io/v1alpha1', kind: 'Mesh', metadata: { name: 'm' } })
    ).toEqual({ type: 'Mesh', name: 'm', mesh: '', spec: { other: {} } })
  })
})

describe('spec/examples', () => {
  it('has the files the brief lists', () => {
    expect(exampleFiles).toEqual([
      'builtin.k8s.yaml',
      'builtin.universal.yaml',
      'permissive.k8s.yaml',
      'permissive.universal.yaml',
      'provided-inline.universal.yaml',
      'provided.k8s.yaml',
      'provided.universal.yaml',
    ])
  })

  it.each(exampleFiles)('%s decodes to one valid Mesh that re-encodes to itself', (file) => {
    const resources = decodeFile(file)
    expect(resources).toHaveLength(1)
    const [mesh] = resources
    if (mesh?.type !== 'Mesh') throw new Error(`${file} is not a Mesh`)
    expect(mesh.name).toBe('default')
    expect(mesh.spec.mtls?.enabledBackend).toBe('ca-1')
    expect(validateResource(mesh)).toEqual([])
    expect(decodeResource(encodeUniversal(mesh))).toEqual(mesh)
    expect(decodeResource(encodeKubernetes(mesh))).toEqual(mesh)
  })

  const twins = exampleFiles
    .filter((file) => file.endsWith('.k8s.yaml'))
    .map((file) => file.replace('.k8s.yaml', ''))

  it.each(twins)('%s: the Kubernetes and Universal twins are the same resource', (name) => {
    const [k8s] = decodeFile(`${name}.k8s.yaml`)
    const [universal] = decodeFile(`${name}.universal.yaml`)
    expect(k8s).toBeDefined()
    expect(k8s).toEqual(universal)
  })

  it('reads the details of the builtin example', () => {
    const [mesh] = decodeFile('builtin.universal.yaml')
    expect(mesh?.spec).toEqual({
      mtls: {
        enabledBackend: 'ca-1',
        backends: [
          {
            name: 'ca-1',
            type: 'builtin',
            dpCert: { rotation: { expiration: '1d' } },
            conf: { caCert: { RSAbits: 2048, expiration: '10y' } },
          },
        ],
      },
      other: {},
    })
  })

  it('reads PERMISSIVE mode', () => {
    const [mesh] = decodeFile('permissive.k8s.yaml')
    expect(mesh?.type === 'Mesh' && mesh.spec.mtls?.backends?.[0]?.mode).toBe('PERMISSIVE')
  })
})
