/**
 * Transport-level failures that have no domain error code: a body that is too large, not JSON, of
 * the wrong media type, a bad page size, an unknown route. Domain failures stay `MeshcaError`s and go
 * through the status table of `middleware/error-handler.ts`.
 */
import type { Violation } from '@meshca/core-mtls'

export interface ApiProblemOptions {
  readonly causes?: readonly Violation[]
  /** Overrides the operation's title (e.g. `Access Denied`). */
  readonly title?: string
  readonly headers?: Readonly<Record<string, string>>
}

export class ApiProblem extends Error {
  override readonly name = 'ApiProblem'
  readonly status: ApiProblemStatus
  readonly details: string
  readonly causes: readonly Violation[]
  readonly title: string | undefined
  readonly headers: Readonly<Record<string, string>>

  constructor(status: ApiProblemStatus, details: string, options: ApiProblemOptions = {}) {
    super(details)
    this.status = status
    this.details = details
    this.causes = options.causes ?? []
    this.title = options.title
    this.headers = options.headers ?? {}
  }
}

export type ApiProblemStatus = 400 | 413 | 415

export function isApiProblem(value: unknown): value is ApiProblem {
  return value instanceof Error && value.name === 'ApiProblem'
}
