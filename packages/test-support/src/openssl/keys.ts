/** Private keys made by openssl, and the same key kinds for `openssl req -newkey`. */
import { runOpenssl, withTempDir } from './run.ts'

/** `rsa:<bits>`, `ec:<curve>` (`ec:P-256`, `ec:secp256k1`…), `dsa:<bits>`, `ed25519`, `ed448`. */
export type KeyKind = `rsa:${number}` | `ec:${string}` | `dsa:${number}` | 'ed25519' | 'ed448'

/** `openssl genpkey` arguments for `kind`; DSA first writes its parameters to `params.pem`. */
function genpkeyArgs(kind: KeyKind, dir: string): string[] {
  const [family, size = ''] = kind.split(':')
  switch (family) {
    case 'rsa':
      return ['-algorithm', 'RSA', '-pkeyopt', `rsa_keygen_bits:${size}`]
    case 'ec':
      return ['-algorithm', 'EC', '-pkeyopt', `ec_paramgen_curve:${size}`]
    case 'dsa':
      runOpenssl(dir, [
        ...['genpkey', '-genparam', '-algorithm', 'DSA'],
        ...['-pkeyopt', `dsa_paramgen_bits:${size}`, '-out', 'params.pem'],
      ])
      return ['-paramfile', 'params.pem']
    default:
      return ['-algorithm', family === 'ed448' ? 'ED448' : 'ED25519']
  }
}

/** A private key (PKCS#8 PEM) made by `openssl genpkey`. */
export function opensslKey(kind: KeyKind): string {
  return withTempDir((dir) => runOpenssl(dir, ['genpkey', ...genpkeyArgs(kind, dir)]))
}

/** The `-newkey …` arguments of `openssl req` that make a key of this kind (not DSA). */
export function newKeyArgs(kind: KeyKind): string[] {
  const [family, size = ''] = kind.split(':')
  if (family === 'ec') return ['-newkey', 'ec', '-pkeyopt', `ec_paramgen_curve:${size}`]
  if (family === 'dsa') throw new Error('openssl req -newkey cannot make a DSA key; use opensslKey')
  return ['-newkey', kind]
}
