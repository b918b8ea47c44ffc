import { describe, expect, it } from 'vitest'
import { parseRunOptions } from './run-options.ts'

const base = ['--dataplane-file', 'dp.yaml', '--dataplane-token-file', 'token']

describe('parseRunOptions', () => {
  it('takes kuma-dp flags and defaults', () => {
    expect(parseRunOptions(base)).toEqual({
      cpAddress: 'http://127.0.0.1:5681',
      token: { file: 'token' },
      dataplaneFile: 'dp.yaml',
      dataplaneVars: {},
      adminPort: 9901,
      adminAddress: '127.0.0.1',
      drainTimeMs: 30_000,
      logLevel: 'info',
    })
    const all = parseRunOptions([
      ...['--cp-address', 'https://cp.example:5681/', '--dataplane-file', 'dp.yaml'],
      ...[
        '--dataplane-token',
        'abc',
        '--dataplane-var',
        'name=web-1',
        '--dataplane-var',
        'port=8080',
      ],
      ...['--name', 'web-1', '--mesh', 'demo', '--admin-port', 'off', '--drain-time', '2s'],
      ...['--log-level', 'debug'],
    ])
    expect(all).toMatchObject({
      cpAddress: 'https://cp.example:5681',
      token: { value: 'abc' },
      dataplaneVars: { name: 'web-1', port: '8080' },
      name: 'web-1',
      mesh: 'demo',
      drainTimeMs: 2_000,
      logLevel: 'debug',
    })
    expect(all.adminPort).toBeUndefined()
  })

  it.each([
    [[], 'give the data plane token once'],
    [['--dataplane-token', 'a', '--dataplane-token-file', 'f'], 'give the data plane token once'],
    [['--dataplane-token', 'a'], '--dataplane-file is required'],
    [[...base, '--admin-port', '70000'], '--admin-port must be a port number'],
    [[...base, '--cp-address', 'ftp://x'], '--cp-address must be an http or https URL'],
    [[...base, '--cp-address', 'nope'], '--cp-address must be a URL'],
    [[...base, '--dataplane-var', 'novalue'], '--dataplane-var must be KEY=VALUE'],
    [[...base, '--drain-time', 'soon'], '--drain-time must be a duration'],
    [[...base, '--log-level', 'loud'], '--log-level must be'],
    [[...base, '--unknown'], "Unknown option '--unknown'"],
  ])('refuses %j', (argv, message) => {
    expect(() => parseRunOptions(argv)).toThrow(message)
  })
})
