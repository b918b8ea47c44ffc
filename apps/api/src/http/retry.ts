/**
 * Read-modify-write against concurrent writers. Kuma reads then writes with the version it read and
 * answers 500 when another writer got in between; meshca runs the whole step again (it re-reads),
 * and only a conflict that persists reaches the client, as a 409.
 */
import { isMeshcaError } from '@meshca/core-mtls'

export const MAX_WRITE_ATTEMPTS = 5

/** Another writer won: the version moved, the resource appeared, or it vanished. */
function lostRace(error: unknown): boolean {
  return (
    isMeshcaError(error, 'CONFLICT') ||
    isMeshcaError(error, 'ALREADY_EXISTS') ||
    isMeshcaError(error, 'NOT_FOUND')
  )
}

export async function retryLostRaces<T>(step: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await step()
    } catch (error) {
      if (attempt >= MAX_WRITE_ATTEMPTS || !lostRace(error)) throw error
      // A little jitter so that two writers retrying together do not collide again.
      await new Promise((resolve) => setTimeout(resolve, Math.random() * 5 * attempt))
    }
  }
}
