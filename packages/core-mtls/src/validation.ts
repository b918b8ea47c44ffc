import type { Violation } from './errors.ts'
import { validationError } from './errors.ts'

/**
 * Collects violations under a field path. Joining follows Kuma's PathBuilder: a child that starts
 * with `[` is appended as is, any other child gets a `.`, and an empty child adds nothing.
 */
export class ViolationList {
  readonly #items: Violation[] = []

  get violations(): readonly Violation[] {
    return this.#items
  }

  get isEmpty(): boolean {
    return this.#items.length === 0
  }

  add(field: string, message: string): void {
    this.#items.push({ field, message })
  }

  /** Re-roots every violation of `others` under `prefix`. */
  addAll(prefix: string, others: readonly Violation[]): void {
    for (const v of others)
      this.#items.push({ field: joinPath(prefix, v.field), message: v.message })
  }

  throwIfAny(): void {
    if (!this.isEmpty) throw validationError(this.#items)
  }
}

export function joinPath(parent: string, child: string): string {
  if (child === '') return parent
  if (parent === '') return child
  return child.startsWith('[') ? `${parent}${child}` : `${parent}.${child}`
}

export function indexPath(parent: string, index: number): string {
  return `${parent}[${index}]`
}
