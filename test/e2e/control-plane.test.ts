/**
 * Issue 5 end to end: the brief's page walked with the real `meshca` CLI against the real control
 * plane process on its embedded PGlite store.
 */
import { X509Certificate } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { base64, briefSampleCa, selfSignedCa as opensslCa } from '@meshca/test-support/openssl'
import {
  type ControlPlane,
  meshca,
  removeDir,
  startControlPlane,
  tempDir,
} from '@meshca/test-support/processes'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { examplePath, readExample } from '../support/examples.ts'

const CA_OK = [
  'basicConstraints=critical,CA:TRUE',
  'keyUsage=critical,keyCertSign,cRLSign',
  'subjectKeyIdentifier=hash',
]

function secretYaml(name: string, pem: string, mesh = 'default'): string {
  return `type: Secret\nname: ${name}\nmesh: ${mesh}\ndata: ${base64(pem)}\n`
}

function mtlsOf(json: string): unknown {
  return (JSON.parse(json) as { mtls?: unknown }).mtls
}

describe('the control plane driven by the CLI', () => {
  let dataDir: string
  let cp: ControlPlane

  beforeAll(async () => {
    dataDir = tempDir('cp')
    cp = await startControlPlane({ dataDir })
  })

  afterAll(async () => {
    expect(await cp?.stop()).toBe(0)
    removeDir(dataDir)
  })

  it('applies the builtin example in both forms and reads it back', async () => {
    for (const file of ['builtin.universal.yaml', 'builtin.k8s.yaml']) {
      const applied = await meshca(cp, ['apply', '-f', examplePath(file)])
      expect(applied.stderr).toBe('')
      expect(applied.stdout).toMatch(/^Mesh "default" (created|updated)\n$/)
      expect(applied.code).toBe(0)
    }
    const read = await meshca(cp, ['get', 'meshes', 'default', '-o', 'json'])
    expect(read.code).toBe(0)
    expect(mtlsOf(read.stdout)).toEqual({
      enabledBackend: 'ca-1',
      backends: [
        {
          name: 'ca-1',
          type: 'builtin',
          dpCert: { rotation: { expiration: '1d' } },
          conf: { caCert: { RSAbits: 2048, expiration: '10y' } },
        },
      ],
    })
    const table = await meshca(cp, ['get', 'meshes'])
    expect(table.stdout.split('\n')[0]).toMatch(
      /^NAME {3,}mTLS {3,}METRICS {3,}LOGGING {3,}TRACING {3,}LOCALITY {3,}ZONEEGRESS {3,}AGE$/
    )
    expect(table.stdout).toMatch(
      /\ndefault {3,}builtin\/ca-1 {3,}off {3,}off {3,}off {3,}off {3,}off {3,}\d+[smh]\n/
    )
  })

  it('lists the builtin CA secrets with MESH, NAME and AGE', async () => {
    const secrets = await meshca(cp, ['get', 'secrets'])
    expect(secrets.code).toBe(0)
    const lines = secrets.stdout.trim().split('\n')
    expect(lines[0]).toMatch(/^MESH {3,}NAME {3,}AGE$/)
    expect(lines.slice(1).map((l) => l.split(/ {3,}/).slice(0, 2))).toEqual(
      expect.arrayContaining([
        ['default', 'default.ca-builtin-cert-ca-1'],
        ['default', 'default.ca-builtin-key-ca-1'],
      ])
    )
    const cert = await meshca(cp, ['get', 'secret', 'default.ca-builtin-cert-ca-1', '-o', 'json'])
    const pem = Buffer.from((JSON.parse(cert.stdout) as { data: string }).data, 'base64').toString()
    const x509 = new X509Certificate(pem)
    expect(x509.subject).toBe('O=Kuma\nOU=Mesh\nCN=default')
    expect(x509.ca).toBe(true)
  })

  it('gives two builtin backends distinct CAs', async () => {
    const twoBackends = `type: Mesh
name: two
mtls:
  enabledBackend: ca-1
  backends:
  - name: ca-1
    type: builtin
  - name: ca-2
    type: builtin
`
    expect((await meshca(cp, ['apply', '-f', '-'], { stdin: twoBackends })).code).toBe(0)
    const read = async (name: string) =>
      (
        JSON.parse(
          (await meshca(cp, ['get', 'secret', name, '-m', 'two', '-o', 'json'])).stdout
        ) as { data: string }
      ).data
    expect(await read('two.ca-builtin-cert-ca-1')).not.toBe(await read('two.ca-builtin-cert-ca-2'))
  })

  it('applies the permissive and provided examples (provided once its secret exists) in both forms', async () => {
    for (const file of ['permissive.universal.yaml', 'permissive.k8s.yaml']) {
      expect((await meshca(cp, ['apply', '-f', examplePath(file)])).code).toBe(0)
    }
    // The brief's provided example names one Secret for both cert and key: it holds both PEMs.
    const missing = await meshca(cp, ['apply', '-f', examplePath('provided.universal.yaml')])
    expect(missing.code).toBe(1)
    expect(missing.stderr).toContain(
      '  * mtls.backends[0].conf.cert: could not load data: Resource not found: type="Secret" name="name-of-secret" mesh="default"'
    )
    const ca = briefSampleCa(examplePath('sample-ca-openssl.sh'))
    expect(
      (
        await meshca(cp, ['apply', '-f', '-'], {
          stdin: secretYaml('name-of-secret', ca.certPem + ca.keyPem),
        })
      ).code
    ).toBe(0)
    for (const file of ['provided.universal.yaml', 'provided.k8s.yaml']) {
      const applied = await meshca(cp, ['apply', '-f', examplePath(file)])
      expect(applied.stderr).toBe('')
      expect(applied.code).toBe(0)
    }
    const read = await meshca(cp, ['get', 'mesh', 'default', '-o', 'yaml'])
    expect(read.stdout).toContain('secret: name-of-secret')
  })

  it('applies the inline example with a real base64 CA, and never returns the key', async () => {
    const ca = briefSampleCa(examplePath('sample-ca-openssl.sh'))
    const text = readExample('provided-inline.universal.yaml')
      .replace(/inline: \S+ # cert in Base64/, `inline: ${base64(ca.certPem)}`)
      .replace(/inline: \S+ # key in Base64/, `inline: ${base64(ca.keyPem)}`)
      .replace('name: default', 'name: inline')
    const applied = await meshca(cp, ['apply', '-f', '-'], { stdin: text })
    expect(applied.stderr).toBe('')
    expect(applied.code).toBe(0)
    const read = JSON.parse((await meshca(cp, ['get', 'mesh', 'inline', '-o', 'json'])).stdout) as {
      mtls: { backends: { conf: { cert: { inline: string }; key: { inline: string } } }[] }
    }
    expect(read.mtls.backends[0]?.conf.cert.inline).toBe(base64(ca.certPem))
    expect(read.mtls.backends[0]?.conf.key.inline).toBe('***')
  })

  it('rejects each CA requirement violation at its field path, and prints requirement-4 warnings', async () => {
    const cases: [string, string[], string][] = [
      [
        'no-ca',
        ['basicConstraints=critical,CA:FALSE', 'keyUsage=critical,keyCertSign'],
        "basic constraint 'CA' must be set to 'true' (see X509-SVID: 4.1. Basic Constraints)",
      ],
      [
        'no-sign',
        ['basicConstraints=critical,CA:TRUE', 'keyUsage=critical,cRLSign'],
        "key usage extension 'keyCertSign' must be set (see X509-SVID: 4.3. Key Usage)",
      ],
      [
        'agreement',
        ['basicConstraints=critical,CA:TRUE', 'keyUsage=critical,keyCertSign,keyAgreement'],
        "key usage extension 'keyAgreement' must NOT be set (see X509-SVID: Appendix A. X.509 Field Reference)",
      ],
    ]
    for (const [name, extensions, message] of cases) {
      const ca = opensslCa(name, extensions)
      const secrets = `${secretYaml(`${name}-cert`, ca.certPem, name)}---\n${secretYaml(`${name}-key`, ca.keyPem, name)}`
      const mesh = `type: Mesh
name: ${name}
mtls:
  enabledBackend: ca-1
  backends:
  - name: ca-1
    type: provided
    conf:
      cert: { secret: ${name}-cert }
      key: { secret: ${name}-key }
`
      expect(
        (await meshca(cp, ['apply', '-f', '-'], { stdin: `type: Mesh\nname: ${name}\n` })).code
      ).toBe(0)
      expect((await meshca(cp, ['apply', '-f', '-'], { stdin: secrets })).code).toBe(0)
      const applied = await meshca(cp, ['apply', '-f', '-'], { stdin: mesh })
      expect(applied.code, name).toBe(1)
      expect(applied.stderr).toContain('Error: Could not update a resource (Resource is not valid)')
      expect(applied.stderr).toContain(`  * mtls.backends[0].conf.cert[0]: ${message}`)
    }
    const warned = opensslCa('warned', [
      ...CA_OK,
      'keyUsage=critical,keyCertSign,cRLSign,digitalSignature',
    ])
    await meshca(cp, ['apply', '-f', '-'], { stdin: 'type: Mesh\nname: warned\n' })
    await meshca(cp, ['apply', '-f', '-'], {
      stdin: `${secretYaml('c', warned.certPem, 'warned')}---\n${secretYaml('k', warned.keyPem, 'warned')}`,
    })
    const applied = await meshca(cp, ['apply', '-f', '-'], {
      stdin:
        'type: Mesh\nname: warned\nmtls:\n  enabledBackend: ca-1\n  backends:\n  - name: ca-1\n    type: provided\n    conf: { cert: { secret: c }, key: { secret: k } }\n',
    })
    expect(applied.code).toBe(0)
    expect(applied.stderr).toMatch(
      /^Warning: mtls\.backends\[0\]\.conf\.cert\[0\]: key usage extension 'digitalSignature' should NOT be set/m
    )
  })

  it('refuses to delete a secret in use with Kuma’s message', async () => {
    const deleted = await meshca(cp, ['delete', 'secret', 'name-of-secret'])
    expect(deleted.code).toBe(1)
    expect(deleted.stderr).toContain(
      'name: The secret "name-of-secret" that you are trying to remove is currently in use in Mesh "default" in mTLS backend "ca-1". Please remove the reference from the "ca-1" backend before removing the secret.'
    )
  })

  it('issues data plane tokens and inspects data planes', async () => {
    const dataplane = `type: Dataplane
mesh: default
name: web-1
networking:
  address: 127.0.0.1
  inbound:
  - port: 8080
    servicePort: 80
    tags:
      kuma.io/service: web
      version: v1
`
    expect((await meshca(cp, ['apply', '-f', '-'], { stdin: dataplane })).code).toBe(0)
    const token = await meshca(cp, [
      'generate',
      'dataplane-token',
      '--name',
      'web-1',
      '--mesh',
      'default',
      '--tag',
      'kuma.io/service=web',
      '--valid-for',
      '24h',
    ])
    expect(token.code).toBe(0)
    const [, payload] = token.stdout.trim().split('.')
    const claims = JSON.parse(Buffer.from(payload ?? '', 'base64url').toString()) as Record<
      string,
      unknown
    >
    expect(claims).toMatchObject({
      Name: 'web-1',
      Mesh: 'default',
      Tags: { 'kuma.io/service': ['web'] },
    })
    const inspected = await meshca(cp, ['inspect', 'dataplanes'])
    expect(inspected.code).toBe(0)
    const [header, row] = inspected.stdout.split('\n')
    expect(header?.split(/ {3,}/)).toEqual([
      'MESH',
      'NAME',
      'TAGS',
      'STATUS',
      'LAST CONNECTED AGO',
      'LAST UPDATED AGO',
      'TOTAL UPDATES',
      'TOTAL ERRORS',
      'CERT REGENERATED AGO',
      'CERT EXPIRATION',
      'CERT REGENERATIONS',
      'CERT BACKEND',
      'SUPPORTED CERT BACKENDS',
      'KUMA-DP VERSION',
      'ENVOY VERSION',
      'DEPENDENCIES VERSIONS',
      'NOTES',
    ])
    expect(row).toMatch(
      /^default {3,}web-1 {3,}kuma\.io\/service=web version=v1 {3,}Offline {3,}never/
    )
    const dataplanes = await meshca(cp, ['get', 'dataplanes'])
    expect(dataplanes.stdout).toMatch(
      /\ndefault {3,}web-1 {3,}kuma\.io\/service=web version=v1 {3,}127\.0\.0\.1 {3,}\d+s\n/
    )
  })

  it('prints server errors with their field paths and exits non-zero', async () => {
    const bad = await meshca(cp, ['get', 'meshes', '--size', '2000'])
    expect(bad.code).toBe(1)
    expect(bad.stderr).toContain('size: Invalid page size of 2000. Maximum page size is 1000')
    const missing = await meshca(cp, ['get', 'mesh', 'nope'])
    expect(missing.code).toBe(1)
    expect(missing.stderr).toContain('Error: Could not retrieve a resource (Not found)')
  })
})

describe('authentication', () => {
  let dataDir: string
  let cp: ControlPlane

  beforeAll(async () => {
    dataDir = tempDir('auth')
    cp = await startControlPlane({
      dataDir,
      args: ['--localhost-is-admin', 'false', '--store', 'pglite'],
    })
  })

  afterAll(async () => {
    await cp?.stop()
    removeDir(dataDir)
  })

  it('admin token works, a user token gets 403 on secrets, a bad token 401', async () => {
    const admin = readFileSync(join(dataDir, 'admin-token'), 'utf8').trim()
    expect((await meshca(cp, ['get', 'secrets'], { token: admin })).code).toBe(0)
    const anonymous = await meshca(cp, ['get', 'secrets'])
    expect(anonymous.code).toBe(1)
    expect(anonymous.stderr).toContain('Access Denied')
    const response = await fetch(`${cp.url}/tokens/user`, {
      method: 'POST',
      headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'alice', groups: ['team-a'], validFor: '1h' }),
    })
    expect(response.status).toBe(200)
    const alice = (await response.text()).trim()
    const denied = await meshca(cp, ['get', 'secrets'], { token: alice })
    expect(denied.code).toBe(1)
    expect(denied.stderr).toContain(
      'Error: Access Denied (user "alice/team-a" cannot access the resource of type "Secret")'
    )
    expect((await meshca(cp, ['get', 'meshes'], { token: alice })).code).toBe(0)
    const bad = await meshca(cp, ['get', 'meshes'], { token: 'not-a-token' })
    expect(bad.code).toBe(1)
    expect(bad.stderr).toContain('Invalid authentication data (Unauthenticated)')
  })
})

describe('restart', () => {
  it('keeps meshes and CAs identical across a restart on the same data directory', async () => {
    const dataDir = tempDir('restart')
    try {
      let cp = await startControlPlane({ dataDir })
      expect((await meshca(cp, ['apply', '-f', examplePath('builtin.universal.yaml')])).code).toBe(
        0
      )
      const before = (
        await meshca(cp, ['get', 'secret', 'default.ca-builtin-cert-ca-1', '-o', 'json'])
      ).stdout
      expect(await cp.stop()).toBe(0)
      cp = await startControlPlane({ dataDir })
      const after = (
        await meshca(cp, ['get', 'secret', 'default.ca-builtin-cert-ca-1', '-o', 'json'])
      ).stdout
      expect(JSON.parse(after).data).toBe(JSON.parse(before).data)
      expect((await meshca(cp, ['get', 'mesh', 'default', '-o', 'json'])).stdout).toContain(
        '"enabledBackend": "ca-1"'
      )
      expect(await cp.stop()).toBe(0)
    } finally {
      removeDir(dataDir)
    }
  })
})
