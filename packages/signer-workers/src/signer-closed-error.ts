import { MeshcaError } from '@meshca/core-mtls'

/** The failure of anything asked of a closed signer, or left waiting when it closed. */
export function closedError(): MeshcaError {
  return new MeshcaError('INTERNAL', 'signer is closed')
}
