/**
 * Resource `name` and `mesh` rules (Kuma 2.2 `meta_validator.go`), plus length limits Kuma 2.2 lacks:
 * 253 for names (the Postgres column and Kubernetes object name size) and 63 for Mesh names, which
 * become DNS labels and SPIFFE trust domains.
 */
import type { Violation } from '../errors.ts'
import type { ResourceType } from './types.ts'
import { isMeshScoped } from './types.ts'

export const MAX_NAME_LENGTH = 253
export const MAX_MESH_NAME_LENGTH = 63

const NAME_CHARACTERS = /^[0-9a-z_-]*$/

export const NAME_EMPTY_MESSAGE = 'cannot be empty'
export const NAME_CHARACTERS_MESSAGE =
  "invalid characters. Valid characters are numbers, lowercase latin letters and '-', '_' symbols."

export function nameTooLongMessage(maxLength: number): string {
  return `cannot be longer than ${maxLength} characters`
}

/** What is wrong with `value` as a name, or `undefined`. One problem at most, as Kuma reports. */
export function nameProblem(
  value: string,
  maxLength: number = MAX_NAME_LENGTH
): string | undefined {
  if (value === '') return NAME_EMPTY_MESSAGE
  if (value.length > maxLength) return nameTooLongMessage(maxLength)
  if (!NAME_CHARACTERS.test(value)) return NAME_CHARACTERS_MESSAGE
  return undefined
}

export function meshNameProblem(value: string): string | undefined {
  return nameProblem(value, MAX_MESH_NAME_LENGTH)
}

/**
 * Violations of a resource's `name` and, for mesh-scoped types, its `mesh`. A Mesh's own name uses the
 * Mesh limit; so does the `mesh` of a mesh-scoped resource, since it names a Mesh.
 */
export function validateResourceMeta(type: ResourceType, name: string, mesh: string): Violation[] {
  const violations: Violation[] = []
  const nameMessage = nameProblem(name, type === 'Mesh' ? MAX_MESH_NAME_LENGTH : MAX_NAME_LENGTH)
  if (nameMessage !== undefined) violations.push({ field: 'name', message: nameMessage })
  if (isMeshScoped(type)) {
    const meshMessage = meshNameProblem(mesh)
    if (meshMessage !== undefined) violations.push({ field: 'mesh', message: meshMessage })
  }
  return violations
}
