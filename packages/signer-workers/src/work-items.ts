import type { IssueOutcome, KeyPairBytes, KeyType, LeafRequest } from '@meshca/core-mtls'

/** One `issue` call: its outcomes fill in as the batches that carry its requests come back. */
export interface Caller {
  readonly outcomes: IssueOutcome[]
  remaining: number
  settled: boolean
  readonly resolve: (outcomes: IssueOutcome[]) => void
  readonly reject: (error: unknown) => void
}

export interface LeafItem {
  readonly kind: 'leaf'
  readonly request: LeafRequest
  /** A pre-generated key taken for this request; it is never put back. */
  readonly pooledKey: KeyPairBytes | undefined
  readonly caller: Caller
  readonly index: number
  attempt: number
}

export interface KeyItem {
  readonly kind: 'key'
  readonly keyType: KeyType
  readonly resolve: (pair: KeyPairBytes) => void
  readonly reject: (error: unknown) => void
  attempt: number
}

export type Item = LeafItem | KeyItem

/** How much of a task's budget an item takes: generating an RSA key is a task on its own. */
export function itemWeight(item: Item, maxBatch: number): number {
  const generated =
    item.kind === 'key'
      ? item.keyType
      : 'generate' in item.request.subjectKey && !item.pooledKey
        ? item.request.subjectKey.generate
        : undefined
  return generated?.startsWith('RSA_') ? maxBatch : 1
}

/** Records one request's outcome; its caller resolves with the last one. */
export function settle(item: LeafItem, outcome: IssueOutcome): void {
  const caller = item.caller
  if (caller.settled) return
  caller.outcomes[item.index] = outcome
  if (--caller.remaining === 0) {
    caller.settled = true
    caller.resolve(caller.outcomes)
  }
}

/** Fails an item that never reached a thread: its caller rejects (once), whatever else it had. */
export function rejectItem(item: Item, error: unknown): void {
  if (item.kind === 'key') item.reject(error)
  else if (!item.caller.settled) {
    item.caller.settled = true
    item.caller.reject(error)
  }
}
