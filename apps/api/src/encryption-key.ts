/**
 * The key that encrypts Secrets at rest (decision 13 of docs/decisions.md): from MESHCA_SECRET_KEY,
 * from a file, or, on the embedded default, from `<data dir>/secret.key`, created with mode 0600 on
 * first start. Messages never include what a key file holds.
 */
import { randomBytes } from 'node:crypto'
import { readFile, stat, writeFile } from 'node:fs/promises'
import {
  ENCRYPTION_KEY_BYTES,
  generateEncryptionKey,
  type Logger,
  MeshcaError,
} from '@meshca/core-mtls'
import type { SecretKeySource } from './config.ts'

const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/

function fromBase64Key(text: string, what: string): Uint8Array {
  const compact = text.trim()
  const bytes = BASE64.test(compact) ? Buffer.from(compact, 'base64') : undefined
  if (bytes === undefined || bytes.length !== ENCRYPTION_KEY_BYTES) {
    throw new MeshcaError(
      'INVALID',
      `${what} must hold the base64 of ${ENCRYPTION_KEY_BYTES} random bytes (make one with: openssl rand -base64 ${ENCRYPTION_KEY_BYTES})`,
      { path: what }
    )
  }
  return new Uint8Array(bytes)
}

async function keyFromFile(path: string, logger: Logger): Promise<Uint8Array> {
  let content: Buffer
  try {
    content = await readFile(path)
  } catch (error) {
    throw new MeshcaError(
      'INVALID',
      `cannot read the secret key file ${path}: ${(error as NodeJS.ErrnoException).code ?? 'error'}`,
      {
        path: 'MESHCA_SECRET_KEY_FILE',
        cause: error,
      }
    )
  }
  const mode = (await stat(path)).mode
  if ((mode & 0o077) !== 0 && process.platform !== 'win32') {
    logger.log('warn', 'the secret key file is readable by other users; chmod 600 it', { path })
  }
  // The raw 32 bytes are accepted too, as `head -c 32 /dev/urandom > key` writes them.
  if (content.length === ENCRYPTION_KEY_BYTES && !BASE64.test(content.toString('latin1'))) {
    return new Uint8Array(content)
  }
  return fromBase64Key(content.toString('utf8'), `the secret key file ${path}`)
}

async function generatedKeyFile(path: string, logger: Logger): Promise<Uint8Array> {
  try {
    return await keyFromFile(path, logger)
  } catch (error) {
    const missing = ((error as { cause?: NodeJS.ErrnoException }).cause?.code ?? '') === 'ENOENT'
    if (!missing) throw error
  }
  const key = new Uint8Array(randomBytes(ENCRYPTION_KEY_BYTES))
  try {
    // `wx`: two processes starting on one data directory must not each write their own key.
    await writeFile(path, `${Buffer.from(key).toString('base64')}\n`, { mode: 0o600, flag: 'wx' })
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return keyFromFile(path, logger)
    throw error
  }
  logger.log('info', 'created the secret encryption key', { path })
  return key
}

export async function loadEncryptionKey(
  source: SecretKeySource,
  logger: Logger
): Promise<Uint8Array> {
  switch (source.kind) {
    case 'env':
      return fromBase64Key(source.base64, 'MESHCA_SECRET_KEY')
    case 'file':
      return keyFromFile(source.path, logger)
    case 'generated-file':
      return generatedKeyFile(source.path, logger)
    case 'ephemeral':
      return generateEncryptionKey()
  }
}
