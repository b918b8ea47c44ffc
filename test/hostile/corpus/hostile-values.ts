/** Values and names an attacker puts where a field or a URL segment is expected. */

/** Strings with NUL, unusual Unicode, path traversal, injections, and lengths past every limit. */
export const HOSTILE_STRINGS: readonly string[] = [
  '',
  ' ',
  '\u0000',
  'web\u0000admin',
  'é☃𝄞',
  '\u202egnp.exe',
  '\ud800',
  '\ufeffweb',
  '../../../../etc/passwd',
  '..\\..\\windows\\win.ini',
  '%00%2e%2e%2f',
  // A log4shell lookup, as text: the dollar is escaped so that it is not a template placeholder.
  '\u0024{jndi:ldap://x/a}',
  "' OR '1'='1",
  '<script>alert(1)</script>',
  'a'.repeat(254),
  'x'.repeat(100_000),
  '-----BEGIN PRIVATE KEY-----',
  'mesh-system:admin',
  '*',
]

function nested(levels: number): unknown {
  let value: unknown = []
  for (let i = 1; i < levels; i++) value = [value]
  return value
}

/** Values of every JSON type, to put where another type is expected. */
export const HOSTILE_VALUES: readonly unknown[] = [
  null,
  true,
  false,
  0,
  -1,
  3.5,
  1e308,
  -9007199254740992,
  [],
  [null],
  {},
  { '': null },
  JSON.parse('{"__proto__":{"admin":true},"constructor":{"prototype":{"admin":true}}}'),
  nested(60),
  Array.from({ length: 5_000 }, (_, i) => `v${i}`),
  ...HOSTILE_STRINGS,
]

/**
 * Names as they appear in a request target (already percent-encoded where a client must encode):
 * NUL, Unicode, traversal, malformed escapes, CR/LF, and lengths past the 253 / 63 limits. Plain `..`
 * and `.` are resolved by the server's URL parsing, as any HTTP server does.
 */
export const HOSTILE_URL_NAMES: readonly string[] = [
  '%00',
  'web-1%00',
  '%C3%A9t%C3%A9',
  '%F0%9F%92%A9',
  '%E2%80%AEexe',
  '..',
  '.',
  '..%2F..%2Fsecrets',
  '%2E%2E',
  '%2e%2e%2f%2e%2e%2fetc%2fpasswd',
  '..%5C..%5Cwin.ini',
  '%',
  '%zz',
  '%C0%AF',
  '%FF%FE',
  '%20',
  '%0D%0Aset-cookie:%20x=1',
  'DEFAULT',
  'a'.repeat(64),
  'a'.repeat(254),
  'a'.repeat(1_000),
  'a'.repeat(8_000),
  'hm%3Fsize%3D1',
  '%3B',
  'a.b',
  '%27%20OR%201=1--',
  '*',
  '~',
  'hm%2Fsecrets',
]

/** The name a server sees for an encoded URL name (`%` sequences decoded where they decode). */
export function decodedName(encoded: string): string {
  try {
    return decodeURIComponent(encoded)
  } catch {
    return encoded
  }
}
