import { describe, expect, it } from 'vitest'
import { postgresTarget } from './postgres-url.ts'

describe('postgresTarget', () => {
  it('leaves a URL with a host name to postgres.js', () => {
    const target = postgresTarget('postgres://meshca:secret@db.example:6543/cp?sslmode=require')
    expect(target.options).toEqual({})
    expect(new URL(target.url)).toMatchObject({
      username: 'meshca',
      password: 'secret',
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
      path: '/var/run/postgresql/.s.PGSQL.5433',
      port: 5433,
      database: 'cp',
      username: 'meshca',
      password: 's3cret',
    })
    expect(target.url).toBe('postgresql:///ignored?sslmode=disable')
  })

  it('decodes parameters as libpq does: %XX only, a + stays a +', () => {
    expect(postgresTarget('postgres://db/cp?user=a%2Bb&password=x+y%2Bz%26').options).toEqual({
      username: 'a+b',
      password: 'x+y+z&',
    })
  })

  it('reads a user without a host, as libpq does, leaving the host to PGHOST or the default', () => {
    const target = postgresTarget('postgres://meshca:p%40ss@/cp?host=/run/postgresql')
    expect(target.options).toEqual({
      host: '/run/postgresql',
      path: '/run/postgresql/.s.PGSQL.5432',
      username: 'meshca',
      password: 'p@ss',
    })
    expect(target.url).toBe('postgres:///cp')
  })

  it('decodes a socket directory written as the host', () => {
    expect(postgresTarget('postgres://postgres@%2Fvar%2Frun%2Fpostgresql:5434/cp').options).toEqual(
      {
        host: '/var/run/postgresql',
        path: '/var/run/postgresql/.s.PGSQL.5434',
      }
    )
  })

  it.each([
    ['mysql://root@localhost/db', 'must be a postgres:// or postgresql:// URL'],
    ['not a url', 'must be a postgres:// or postgresql:// URL'],
    ['postgres://postgres@/cp?host=', 'has an empty host parameter'],
    ['postgres://db/cp?port=http', 'has a port parameter that is not one port number (1 to 65535)'],
    [
      'postgres://db/cp?port=70000',
      'has a port parameter that is not one port number (1 to 65535)',
    ],
    [
      'postgres://db/cp?port=0x1538',
      'has a port parameter that is not one port number (1 to 65535)',
    ],
    [
      'postgres://db/cp?port=5432,5433',
      'has a port parameter that is not one port number (1 to 65535)',
    ],
    [
      'postgres://db/cp?host=h1,h2',
      'has a host parameter with several hosts or an IPv6 address: give one host, in the URL',
    ],
    [
      'postgres:///cp?host=::1',
      'has a host parameter with several hosts or an IPv6 address: give one host, in the URL',
    ],
    ['postgres://%E0%A4%A/cp', 'has a host that is not valid percent-encoding'],
    [
      'postgres://db/cp?meshca.change_log=notify',
      'cannot set meshca.change_log: the change log is what a reconnect replays',
    ],
    [
      'postgres://db/cp?MESHCA.CHANGE_LOG=notify',
      'cannot set meshca.change_log: the change log is what a reconnect replays',
    ],
    [
      'postgres://db/cp?meshca.writer=store',
      "cannot set meshca.writer: the store's writes set it for themselves",
    ],
    [
      'postgres://db/cp?Meshca.Writer=none',
      "cannot set meshca.writer: the store's writes set it for themselves",
    ],
  ])('refuses %j', (url, message) => {
    expect(() => postgresTarget(url)).toThrow(
      expect.objectContaining({ code: 'INVALID', violations: [{ field: 'url', message }] })
    )
  })
})
