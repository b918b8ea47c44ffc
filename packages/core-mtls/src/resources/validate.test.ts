import { describe, expect, it } from 'vitest'
import type { Violation } from '../errors.ts'
import { specFromJson } from './codec.ts'
import type { MeshSpec } from './mesh.ts'
import { decodeUniversal } from './universal-form.ts'
import { validateResource } from './validate.ts'
import { parseYamlDocuments } from './yaml-documents.ts'

function meshViolations(yaml: string): Violation[] {
  const spec = specFromJson('Mesh', parseYamlDocuments(yaml)[0] ?? {})
  return validateResource({ type: 'Mesh', name: 'default', mesh: '', spec })
}

function meshSpecViolations(spec: MeshSpec): Violation[] {
  return validateResource({ type: 'Mesh', name: 'default', mesh: '', spec })
}

function universalViolations(yaml: string): Violation[] {
  return validateResource(decodeUniversal(parseYamlDocuments(yaml)[0]))
}

const v = (field: string, message: string): Violation => ({ field, message })

/**
 * docs/kuma-compatibility.md §2.6, first table (Kuma 2.2.9 `mesh_validator_test.go`), adapted as
 * docs/decisions.md says: no
 * `cannot have more than 1 backends` (decision 2 of docs/decisions.md), the dpCert path with its
 * index (decision 7 of docs/decisions.md), and
 * `conf` where Kuma's paths say `config` (decision 7 of docs/decisions.md).
 */
describe('Mesh golden cases (docs/kuma-compatibility.md §2.6)', () => {
  it('should pass', () => {
    expect(
      meshViolations(`
mtls:
  enabledBackend: builtin-1
  backends:
  - name: builtin-1
    type: builtin
    dpCert:
      rotation:
        expiration: 2y
logging:
  backends:
  - name: file-1
    type: file
    conf:
      path: /path/to/file
  - name: file-2
    format: '%START_TIME% %KUMA_SOURCE_SERVICE%'
    type: file
    conf:
      path: /path/to/file2
  - name: tcp-1
    type: tcp
    conf:
      address: kibana:1234
  - name: tcp-2
    format: '%START_TIME% %KUMA_DESTINATION_SERVICE%'
    type: tcp
    conf:
      address: kibana:1234
  defaultBackend: tcp-1
tracing:
  backends:
  - name: zipkin-us
    sampling: 80.0
    type: zipkin
    conf:
      url: http://zipkin.local:9411/v2/spans
      traceId128bit: true
      apiVersion: httpProto
      sharedSpanContext: true
  - name: zipkin-eu
    type: zipkin
    conf:
      url: http://zipkin.local:9411/v2/spans
  - name: datadog
    type: datadog
    conf:
      address: 127.0.0.1
      port: 8126
  defaultBackend: zipkin-us
metrics:
  enabledBackend: prom-1
  backends:
  - name: prom-1
    type: prometheus
    conf:
      port: 5670
      path: /metrics
      aggregate:
      - name: app
        port: 8080
      - name: sidecar
        port: 9090
constraints:
  dataplaneProxy:
    requirements:
    - tags:
        k8s.kuma.io/namespace: ns-1
        kuma.io/zone: east
    restrictions:
    - tags:
        k8s.kuma.io/namespace: ns-1
        kuma.io/zone: west
routing:
  zoneEgress: true
`)
    ).toEqual([])
  })

  it('multiple ca backends of the same name (no backend count limit, decision 2 of docs/decisions.md)', () => {
    expect(
      meshViolations(`
mtls:
  enabledBackend: backend-1
  backends:
  - name: backend-1
    type: builtin
  - name: backend-1
    type: builtin`)
    ).toEqual([v('mtls.backends[1].name', '"backend-1" name is already used for another backend')])
  })

  it('enabledBackend of unknown name', () => {
    expect(
      meshViolations(`
mtls:
  enabledBackend: backend-2
  backends:
  - name: backend-1
    type: builtin`)
    ).toEqual([v('mtls.enabledBackend', 'has to be set to one of the backends in the mesh')])
  })

  it('dpCert rotation invalid expiration (indexed path, decision 7 of docs/decisions.md)', () => {
    expect(
      meshViolations(`
mtls:
  enabledBackend: backend-3
  backends:
  - name: backend-3
    type: builtin
    dpCert:
      rotation:
        expiration: 2e`)
    ).toEqual([v('mtls.backends[0].dpCert.rotation.expiration', 'has to be a valid format')])
  })

  it('a zero data plane certificate lifetime (meshca: Kuma accepts it and issues expired certs)', () => {
    expect(
      meshViolations(`
mtls:
  enabledBackend: backend-3
  backends:
  - name: backend-3
    type: builtin
    dpCert:
      rotation:
        expiration: '0'`)
    ).toEqual([v('mtls.backends[0].dpCert.rotation.expiration', 'must be greater than 0')])
  })

  it('multiple errors', () => {
    expect(
      meshViolations(`
mtls:
  enabledBackend: invalid-backend
logging:
  backends:
  - name:
    type: file
    conf:
      path: /path
  - name: tcp-1
    type: file
    conf:
      address: invalid-address
  - name: tcp-1
    type: tcp
    path:
      address:
  defaultBackend: invalid-backend`)
    ).toEqual([
      v('mtls.enabledBackend', 'has to be set to one of the backends in the mesh'),
      v('logging.backends[0].name', 'cannot be empty'),
      v('logging.backends[1].conf.path', 'cannot be empty'),
      v('logging.backends[2].conf.address', 'cannot be empty'),
      v('logging.backends[2].name', '"tcp-1" name is already used for another backend'),
      v('logging.defaultBackend', 'has to be set to one of the logging backend in mesh'),
    ])
  })

  it('zoneEgress enabled but mtls not defined', () => {
    expect(meshViolations('routing:\n  zoneEgress: true')).toEqual([
      v('mtls', 'has to be set when zoneEgress enabled'),
    ])
  })

  it('zoneEgress enabled with duplicate CA backends (no V5: enabledBackend is set)', () => {
    expect(
      meshViolations(`
mtls:
  enabledBackend: backend-1
  backends:
  - name: backend-1
    type: builtin
  - name: backend-1
    type: builtin
routing:
  zoneEgress: true`)
    ).toEqual([v('mtls.backends[1].name', '"backend-1" name is already used for another backend')])
  })

  it('zoneEgress enabled, backends but no enabledBackend', () => {
    expect(
      meshViolations(`
mtls:
  backends:
  - name: backend-1
    type: builtin
routing:
  zoneEgress: true`)
    ).toEqual([v('mtls', 'has to be set when zoneEgress enabled')])
  })
})

describe('Mesh mTLS rules', () => {
  it('allows many backends with one enabled (decision 2 of docs/decisions.md)', () => {
    expect(
      meshViolations(`
mtls:
  enabledBackend: ca-2
  backends:
  - {name: ca-1, type: builtin}
  - {name: ca-2, type: provided}
  - {name: ca-3, type: vault}`)
    ).toEqual([])
  })

  it('rejects dpCert without an expiration, as Kuma does', () => {
    expect(meshViolations('mtls:\n  backends:\n  - {name: a, type: builtin, dpCert: {}}')).toEqual([
      v('mtls.backends[0].dpCert.rotation.expiration', 'has to be a valid format'),
    ])
  })

  it.each(['1h30m', '1.5h', '-1h', '30 d'])('rejects expiration %j', (expiration) => {
    expect(
      meshViolations(
        `mtls:\n  backends:\n  - {name: a, type: builtin, dpCert: {rotation: {expiration: "${expiration}"}}}`
      )
    ).toEqual([v('mtls.backends[0].dpCert.rotation.expiration', 'has to be a valid format')])
  })

  it('reports every backend and keeps Kuma 2.2.9 order: names, enabledBackend, then dpCert', () => {
    expect(
      meshViolations(`
mtls:
  enabledBackend: missing
  backends:
  - {name: a, type: builtin, dpCert: {rotation: {expiration: 2e}}}
  - {name: a, type: builtin}
  - {name: b, type: builtin, dpCert: {rotation: {expiration: 1x}}}`)
    ).toEqual([
      v('mtls.backends[1].name', '"a" name is already used for another backend'),
      v('mtls.enabledBackend', 'has to be set to one of the backends in the mesh'),
      v('mtls.backends[0].dpCert.rotation.expiration', 'has to be a valid format'),
      v('mtls.backends[2].dpCert.rotation.expiration', 'has to be a valid format'),
    ])
  })

  it('rejects an unknown mode or key type set in code', () => {
    const spec = {
      mtls: {
        backends: [
          {
            name: 'a',
            type: 'builtin',
            mode: 'LAX',
            dpCert: { rotation: { expiration: '1d' }, keyType: 'DSA' },
          },
        ],
      },
      other: {},
    } as unknown as MeshSpec
    expect(meshSpecViolations(spec)).toEqual([
      v('mtls.backends[0].mode', 'has invalid value. Allowed values: STRICT, PERMISSIVE'),
      v(
        'mtls.backends[0].dpCert.keyType',
        'has invalid value. Allowed values: RSA_2048, RSA_3072, RSA_4096, ECDSA_P256, ECDSA_P384, ED25519'
      ),
    ])
  })

  it('accepts a key type from KEY_TYPES', () => {
    expect(
      meshViolations(
        'mtls:\n  backends:\n  - {name: a, type: builtin, dpCert: {rotation: {expiration: 1d}, keyType: ED25519}}'
      )
    ).toEqual([])
  })

  it('leaves conf to the CA plugins', () => {
    expect(
      meshViolations(`
mtls:
  enabledBackend: a
  backends:
  - {name: a, type: builtin, conf: {caCert: {RSAbits: x, expiration: nonsense}}}
  - {name: b, type: provided}`)
    ).toEqual([])
  })
})

describe('Mesh logging, tracing, metrics and constraints', () => {
  it('logging: tcp address format, file path, duplicate names, default backend', () => {
    expect(
      meshViolations(`
logging:
  backends:
  - {name: a, type: tcp, conf: {address: wrong-format:234:234}}
  - {name: b, type: tcp, conf: {address: "kibana"}}
  - {name: c, type: tcp, conf: {address: ":1234"}}
  - {name: d, type: tcp, conf: {address: "[::1]:1234"}}
  - {name: a, type: file, conf: {path: ""}}
  defaultBackend: d`)
    ).toEqual([
      v('logging.backends[0].conf.address', 'has to be in format of HOST:PORT'),
      v('logging.backends[1].conf.address', 'has to be in format of HOST:PORT'),
      v('logging.backends[2].conf.address', 'has to be in format of HOST:PORT'),
      v('logging.backends[4].conf.path', 'cannot be empty'),
      v('logging.backends[4].name', '"a" name is already used for another backend'),
    ])
  })

  it('tracing: name, sampling, zipkin url, datadog address, duplicates, default backend', () => {
    expect(
      meshViolations(`
tracing:
  backends:
  - {name: "", type: zipkin, conf: {url: "http://zipkin.local:9411/v2/spans"}}
  - {name: z1, sampling: 100.1, type: zipkin, conf: {url: ""}}
  - {name: z2, sampling: -1, type: zipkin, conf: {url: invalid-url}}
  - {name: z3, type: zipkin, conf: {url: "http://zipkin-us.local/v2/spans"}}
  - {name: z4, type: zipkin, conf: {url: "http://zipkin-us.local:80/v2/spans"}}
  - {name: d1, type: datadog, conf: {}}
  - {name: z1, type: zipkin, conf: {url: "http://[::1]:9411"}}
  defaultBackend: non-existent`)
    ).toEqual([
      v('tracing.backends[0].name', 'cannot be empty'),
      v('tracing.backends[1].sampling', 'has to be in [0.0 - 100.0] range'),
      v('tracing.backends[1].conf.url', 'cannot be empty'),
      v('tracing.backends[2].sampling', 'has to be in [0.0 - 100.0] range'),
      v('tracing.backends[2].conf.url', 'invalid URL'),
      v('tracing.backends[3].conf.url', 'port has to be explicitly specified'),
      v('tracing.backends[5].conf.address', 'cannot be empty'),
      v('tracing.backends[6].name', '"z1" name is already used for another backend'),
      v('tracing.defaultBackend', 'has to be set to one of the tracing backend in mesh'),
    ])
  })

  it('metrics: duplicate names, enabled backend, aggregate names', () => {
    expect(
      meshViolations(`
metrics:
  enabledBackend: backend-2
  backends:
  - name: backend-1
    type: prometheus
    conf:
      aggregate:
      - {name: app, port: 123}
      - {name: app, port: 999}
      - {name: duplicate-app, port: 1}
      - {name: duplicate-app, port: 2}
  - name: backend-1
    type: prometheus`)
    ).toEqual([
      v(
        'metrics.backends[0].conf.aggregate[1].name',
        'duplicate entry: app, values have to be unique'
      ),
      v(
        'metrics.backends[0].conf.aggregate[3].name',
        'duplicate entry: duplicate-app, values have to be unique'
      ),
      v('metrics.backends[1].name', '"backend-1" name is already used for another backend'),
      v('metrics.enabledBackend', 'has to be set to one of the backends in the mesh'),
    ])
  })

  it('unknown backend types, in section order', () => {
    expect(
      meshViolations(`
metrics:
  backends:
  - {name: backend-1, type: xxx}
logging:
  backends:
  - {name: backend-1, type: xxx}
tracing:
  backends:
  - {name: backend-1, type: xxx}`)
    ).toEqual([
      v('logging.backends[0].type', 'unknown backend type. Available backends: "tcp", "file"'),
      v(
        'tracing.backends[0].type',
        'unknown backend type. Available backends: "zipkin", "datadog"'
      ),
      v('metrics.backends[0].type', 'unknown backend type. Available backends: "prometheus"'),
    ])
  })

  it('constraints dataplaneProxy with invalid tags (Kuma golden)', () => {
    const nameMessage =
      'tag name must consist of alphanumeric characters, dots, dashes, slashes and underscores'
    const valueMessage =
      'tag value must consist of alphanumeric characters, dots, dashes, slashes and underscores or be "*"'
    expect(
      meshViolations(`
constraints:
  dataplaneProxy:
    requirements:
    - {}
    - tags:
        '': ''
    - tags:
        '!@#$': '!@#$'
    restrictions:
    - {}
    - tags:
        '': ''
    - tags:
        '!@#$': '!@#$'
`)
    ).toEqual(
      ['requirements', 'restrictions'].flatMap((list) => [
        v(`constraints.dataplaneProxy.${list}[0].tags`, 'must have at least one tag'),
        v(`constraints.dataplaneProxy.${list}[1].tags`, 'tag name must be non-empty'),
        v(`constraints.dataplaneProxy.${list}[1].tags[""]`, 'tag value must be non-empty'),
        v(`constraints.dataplaneProxy.${list}[2].tags["!@#$"]`, nameMessage),
        v(`constraints.dataplaneProxy.${list}[2].tags["!@#$"]`, valueMessage),
      ])
    )
  })

  it('reports wrong JSON types in the untyped sections', () => {
    expect(
      meshViolations(
        'logging: {backends: [{name: 1, type: file, conf: {path: /x}}]}\nrouting: {zoneEgress: "yes"}'
      )
    ).toEqual([
      v('logging.backends[0].name', 'must be a string'),
      v('logging.backends[0].name', 'cannot be empty'),
      v('routing.zoneEgress', 'must be a boolean'),
    ])
  })
})

describe('names', () => {
  it('reports spec violations first, then name and mesh, as Kuma does', () => {
    expect(
      universalViolations(`
type: Secret
name: Bad.Name
mesh: ""
`)
    ).toEqual([
      v('data', 'cannot be empty'),
      v(
        'name',
        "invalid characters. Valid characters are numbers, lowercase latin letters and '-', '_' symbols."
      ),
      v('mesh', 'cannot be empty'),
    ])
  })

  it('limits Mesh names to 63 characters', () => {
    expect(
      validateResource({ type: 'Mesh', name: 'm'.repeat(64), mesh: '', spec: { other: {} } })
    ).toEqual([v('name', 'cannot be longer than 63 characters')])
  })
})

describe('Secret', () => {
  it('accepts data', () => {
    expect(universalViolations('type: Secret\nname: s\nmesh: default\ndata: aGk=')).toEqual([])
  })

  it('rejects empty data', () => {
    expect(universalViolations('type: Secret\nname: s\nmesh: default\ndata: ""')).toEqual([
      v('data', 'cannot be empty'),
    ])
  })
})

describe('TrafficPermission', () => {
  it('accepts allow-all', () => {
    expect(
      universalViolations(`
type: TrafficPermission
name: allow-all-default
mesh: default
sources:
- match:
    kuma.io/service: '*'
destinations:
- match:
    kuma.io/service: '*'`)
    ).toEqual([])
  })

  it('requires sources and destinations, each selector with a tag', () => {
    expect(
      universalViolations(`
type: TrafficPermission
name: tp
mesh: default
sources: []
destinations:
- match: {}
- match:
    kuma.io/service: 'web frontend'
    '': x`)
    ).toEqual([
      v('sources', 'must have at least one element'),
      v('destinations[0].match', 'must have at least one tag'),
      v('destinations[1].match', 'tag name must be non-empty'),
      v(
        'destinations[1].match["kuma.io/service"]',
        'tag value must consist of alphanumeric characters, dots, dashes, slashes and underscores or be "*"'
      ),
    ])
  })
})

describe('Dataplane', () => {
  const valid = `
type: Dataplane
name: dp-1
mesh: default
networking:
  address: 192.168.0.1
  inbound:
  - port: 8080
    servicePort: 7777
    address: 192.168.0.1
    tags:
      kuma.io/service: backend
      version: "1"
  outbound:
  - port: 3333
    tags:
      kuma.io/service: redis`

  it('accepts a valid data plane', () => {
    expect(universalViolations(valid)).toEqual([])
  })

  it.each(['backend.example.com', 'fd00::1', '10.0.0.1'])('accepts address %s', (address) => {
    expect(
      universalViolations(
        valid.replace('address: 192.168.0.1\n  inbound', `address: "${address}"\n  inbound`)
      )
    ).toEqual([])
  })

  it('requires an address', () => {
    expect(
      universalViolations(`
type: Dataplane
name: dp-1
mesh: default
networking:
  inbound:
  - port: 8080
    tags:
      kuma.io/service: backend`)
    ).toEqual([v('networking.address', "address can't be empty")])
  })

  it('rejects an unusable address', () => {
    expect(
      universalViolations(
        `type: Dataplane\nname: dp\nmesh: default\nnetworking: {address: "..>_<..", inbound: [{port: 80, tags: {kuma.io/service: a}}]}`
      )
    ).toEqual([v('networking.address', 'address has to be valid IP address or domain name')])
    expect(
      universalViolations(
        `type: Dataplane\nname: dp\nmesh: default\nnetworking: {address: "0.0.0.0", inbound: [{port: 80, tags: {kuma.io/service: a}}]}`
      )
    ).toEqual([v('networking.address', 'must not be 0.0.0.0 or ::')])
  })

  it('requires an inbound or a gateway', () => {
    expect(universalViolations('type: Dataplane\nname: dp\nmesh: default\nnetworking: {}')).toEqual(
      [
        v('networking', 'has to contain at least one inbound interface or gateway'),
        v('networking.address', "address can't be empty"),
      ]
    )
  })

  it('requires kuma.io/service on every inbound and checks tags and ports', () => {
    expect(
      universalViolations(`
type: Dataplane
name: dp-1
mesh: default
networking:
  address: 192.168.0.1
  inbound:
  - tags:
      version: "v1"
  - port: 65536
    servicePort: 70000
    address: invalid-address
    tags:
      kuma.io/service: backend
      version: ""
      'bad key!': 'a/b'`)
    ).toEqual([
      v('networking.inbound[0].port', 'port must be in the range [1, 65535]'),
      v('networking.inbound[0].tags["kuma.io/service"]', 'tag has to exist'),
      v('networking.inbound[1].port', 'port must be in the range [1, 65535]'),
      v('networking.inbound[1].servicePort', 'port must be in the range [1, 65535]'),
      v('networking.inbound[1].address', 'address has to be valid IP address'),
      v(
        'networking.inbound[1].tags["bad key!"]',
        'tag name must consist of alphanumeric characters, dots, dashes, slashes and underscores'
      ),
      v(
        'networking.inbound[1].tags["bad key!"]',
        'tag value must consist of alphanumeric characters, dots, dashes and underscores'
      ),
      v('networking.inbound[1].tags["version"]', 'tag value must be non-empty'),
    ])
  })

  it('checks gateways: service tag required, no inbounds', () => {
    expect(
      universalViolations(`
type: Dataplane
name: gw
mesh: default
networking:
  address: 192.168.0.1
  gateway:
    type: BUILTIN
    tags:
      foo: bar
  inbound:
  - port: 3333
    tags:
      kuma.io/service: kong`)
    ).toEqual([
      v('networking.inbound', 'inbound cannot be defined for builtin gateways'),
      v('networking.gateway.tags', 'mandatory tag "kuma.io/service" is missing'),
    ])
    expect(
      universalViolations(
        'type: Dataplane\nname: gw\nmesh: default\nnetworking: {address: 10.0.0.1, gateway: {tags: {kuma.io/service: kong}}}'
      )
    ).toEqual([])
  })
})

describe('insights', () => {
  it('have no spec rules, only name rules', () => {
    expect(
      validateResource({
        type: 'DataplaneInsight',
        name: 'dp-1',
        mesh: 'default',
        spec: { subscriptions: [], other: {} },
      })
    ).toEqual([])
    expect(
      validateResource({ type: 'MeshInsight', name: '', mesh: '', spec: { other: {} } })
    ).toEqual([v('name', 'cannot be empty')])
  })
})

describe('bounds beyond Kuma', () => {
  it('refuses a Dataplane, Mesh or TrafficPermission over 64 KiB as JSON', () => {
    const big = universalViolations(
      `type: Dataplane\nmesh: default\nname: dp\nnetworking:\n  address: 10.0.0.1\n  inbound:\n    - port: 80\n      tags: {kuma.io/service: web}\njunk: ${'x'.repeat(70_000)}\n`
    )
    expect(big).toEqual([
      {
        field: '',
        message: expect.stringMatching(
          /^is 70\d{3} bytes as JSON; a Dataplane may be at most 65536$/
        ),
      },
    ])
    expect(
      meshViolations(
        `logging:\n  backends: [{name: a, type: file, conf: {path: ${'y'.repeat(65_600)}}}]\n`
      )
    ).toEqual([
      {
        field: '',
        message: expect.stringMatching(/^is 656\d\d bytes as JSON; a Mesh may be at most 65536$/),
      },
    ])
  })

  it('reads requestTimeout as protobuf does: decimal seconds with an s', () => {
    const withTimeout = (timeout: string) =>
      meshViolations(
        `mtls:\n  enabledBackend: ca-1\n  backends:\n    - name: ca-1\n      type: builtin\n      dpCert: {rotation: {expiration: 1h}, requestTimeout: '${timeout}'}\n      rootChain: {requestTimeout: '${timeout}'}\n`
      )
    expect(withTimeout('10s')).toEqual([])
    expect(withTimeout('0.25s')).toEqual([])
    const message = 'has to be a duration in seconds, such as 10s or 0.5s'
    for (const bad of ['h', '1h', '10', '-1s', '1e3s', ' 1s', `${'9'.repeat(13)}s`]) {
      expect(withTimeout(bad), bad).toEqual([
        v('mtls.backends[0].dpCert.requestTimeout', message),
        v('mtls.backends[0].rootChain.requestTimeout', message),
      ])
    }
    // At admission only: a Mesh stored before still reads as it is.
    const stored = specFromJson('Mesh', {
      mtls: { backends: [{ name: 'a', type: 'builtin', dpCert: { requestTimeout: '1m' } }] },
    })
    expect(stored.mtls?.backends?.[0]?.dpCert?.requestTimeout).toBe('1m')
  })
})
