/**
 * CA material made by the openssl CLI, an implementation independent of the code under test, for the
 * provided-CA checks.
 */
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

export interface OpensslCa {
  readonly certPem: string
  readonly keyPem: string
}

function run(dir: string, args: readonly string[]): void {
  try {
    execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] })
  } catch (error) {
    const stderr = (error as { stderr?: Buffer }).stderr?.toString() ?? String(error)
    throw new Error(`openssl ${args.join(' ')} failed: ${stderr}`)
  }
}

/** Runs `work` in a fresh temporary folder, removed afterwards; returns the `<name>.pem/.key` it made. */
function inWorkspace(name: string, work: (dir: string) => void): OpensslCa {
  const dir = mkdtempSync(join(tmpdir(), 'meshca-api-openssl-'))
  try {
    work(dir)
    return {
      certPem: readFileSync(join(dir, `${name}.pem`), 'utf8'),
      keyPem: readFileSync(join(dir, `${name}.key`), 'utf8'),
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

function config(extensions: readonly string[]): string {
  return `[req]\ndistinguished_name=dn\n[dn]\n[ext]\n${extensions.join('\n')}\n`
}

/** A self-signed CA certificate with exactly these `[ext]` lines, and its key. */
export function selfSignedCa(cn: string, extensions: readonly string[]): OpensslCa {
  return inWorkspace('ca', (dir) => {
    writeFileSync(join(dir, 'ext.cnf'), config(extensions))
    run(dir, [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      'ca.key',
      '-out',
      'ca.pem',
      '-subj',
      `/CN=${cn}`,
      '-days',
      '365',
      '-config',
      'ext.cnf',
      '-extensions',
      'ext',
    ])
  })
}

/** `ca` renewed: the same subject and key, a new certificate (validity, serial). */
export function renewedCa(ca: OpensslCa, cn: string, extensions: readonly string[]): OpensslCa {
  return inWorkspace('ca', (dir) => {
    writeFileSync(join(dir, 'ext.cnf'), config(extensions))
    writeFileSync(join(dir, 'ca.key'), ca.keyPem)
    run(dir, [
      ...['req', '-x509', '-new', '-key', 'ca.key', '-out', 'ca.pem', '-subj', `/CN=${cn}`],
      ...['-days', '730', '-config', 'ext.cnf', '-extensions', 'ext'],
    ])
  })
}

/** An intermediate signed by `root`, with these `[ext]` lines; its key signs. */
export function intermediateCa(
  root: OpensslCa,
  cn: string,
  extensions: readonly string[]
): OpensslCa {
  return inWorkspace('int', (dir) => {
    writeFileSync(join(dir, 'ext.cnf'), config(extensions))
    writeFileSync(join(dir, 'root.pem'), root.certPem)
    writeFileSync(join(dir, 'root.key'), root.keyPem)
    run(dir, [
      'req',
      '-new',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      'int.key',
      '-out',
      'int.csr',
      '-subj',
      `/CN=${cn}`,
      '-config',
      'ext.cnf',
    ])
    run(dir, [
      'x509',
      '-req',
      '-in',
      'int.csr',
      '-CA',
      'root.pem',
      '-CAkey',
      'root.key',
      '-set_serial',
      '4242',
      '-days',
      '365',
      '-out',
      'int.pem',
      '-extfile',
      'ext.cnf',
      '-extensions',
      'ext',
    ])
  })
}

/** The brief's recipe (`sample-ca-openssl.sh`): CA:TRUE, pathlen:0, keyCertSign only. */
export const BRIEF_CA_EXTENSIONS = ['basicConstraints=CA:TRUE,pathlen:0', 'keyUsage=keyCertSign']
