/**
 * The `file` data source's reader, given to core only when an operator turned file sources on: a
 * regular file, looked at before it is opened (opening a device can act on it), opened without
 * blocking (a FIFO swapped in would otherwise wait for a writer forever), checked again to be the
 * file looked at, and read up to the cap core asks for, never more (`/dev/zero` or a growing log
 * would fill the memory).
 */
import { constants } from 'node:fs'
import { open, stat } from 'node:fs/promises'
import type { ReadFile } from '@meshca/core-mtls'

export const readCaFile: ReadFile = async (path, maxBytes) => {
  const seen = await stat(path)
  if (!seen.isFile()) throw new Error(`${path} is not a regular file`)
  const handle = await open(path, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY)
  try {
    const stats = await handle.stat()
    if (!stats.isFile() || stats.dev !== seen.dev || stats.ino !== seen.ino) {
      throw new Error(`${path} changed while it was opened`)
    }
    if (stats.size > maxBytes) throw new Error(`${path} is larger than ${maxBytes} bytes`)
    // One byte past the cap tells a file that grew (or reports a size of 0, as /proc does) apart.
    const buffer = new Uint8Array(maxBytes + 1)
    let length = 0
    while (length < buffer.length) {
      const { bytesRead } = await handle.read(buffer, length, buffer.length - length, length)
      if (bytesRead === 0) break
      length += bytesRead
    }
    if (length > maxBytes) throw new Error(`${path} is larger than ${maxBytes} bytes`)
    return buffer.slice(0, length)
  } finally {
    await handle.close()
  }
}
