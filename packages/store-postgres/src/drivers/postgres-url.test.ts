import { describe, expect, it } from 'vitest'
import { postgresTarget } from './postgres-url.ts'

describe('postgresTarget', () => {
  it('leaves a URL with a host name to postgres.js', () => {
    const target = postgresTarget('postgres://meshca:secret@db.example:6543/cp?sslmode=require')
    expect(target.options).toEqual({})
    expect(new URL(target.url)).toMatchObject({
      hostname: 'db.example',
      port: '6543',
      pathname: '/cp',
      search: '?sslmode=require',
    })
  })

  it("takes libpq's parameters out of the URL, so that the server is not sent them as settings", () => {
    const target = postgresTarget(
      'postgresql:///ignored?host=/var/run/postgresql&port=5433&dbname=cp&user=meshca&password=s3cret&sslmode=disable'
    )
    expect(target.options).toEqual({
      host: '/var/run/postgresql',
      port: 5433,
      database: 'cp',
      username: 'meshca',
      password: 's3cret',
    })
    expect(new URL(target.url).search).toBe('?sslmode=disable')
  })

  it('reads a user without a host, as libpq does', () => {
    const target = postgresTarget('postgres://meshca:pw@/cp?host=/run/postgresql')
    expect(target.options).toEqual({ host: '/run/postgresql' })
    expect(new URL(target.url)).toMatchObject({
      username: 'meshca',
      password: 'pw',
      pathname: '/cp',
    })
  })

  it('decodes a socket directory written as the host', () => {
    expect(postgresTarget('postgres://postgres@%2Fvar%2Frun%2Fpostgresql/cp').options).toEqual({
      host: '/var/run/postgresql',
    })
  })

  it.each([
    ['mysql://root@localhost/db', 'must be a postgres:// or postgresql:// URL'],
    ['not a url', 'must be a postgres:// or postgresql:// URL'],
    ['postgres://postgres@/cp?host=', 'has an empty host parameter'],
    [
      'postgres://postgres@/cp?port=http',
      'has a port parameter that is not a port number (1 to 65535)',
    ],
    [
      'postgres://postgres@/cp?port=70000',
      'has a port parameter that is not a port number (1 to 65535)',
    ],
    ['postgres://postgres@%E0%A4%A/cp', 'has a host that is not valid percent-encoding'],
  ])('refuses %j', (url, message) => {
    expect(() => postgresTarget(url)).toThrow(
      expect.objectContaining({ code: 'INVALID', violations: [{ field: 'url', message }] })
    )
  })
})
