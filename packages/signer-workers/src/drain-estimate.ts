/**
 * How long the queue takes to drain, from the time workers report per batch. It measures capacity
 * (time per request while working), not the offered load, so a quiet signer that suddenly fills up
 * still gives a sensible `Retry-After`.
 */
export class DrainEstimate {
  #busyMs = 0
  #requests = 0

  /** Recent batches weigh more: each new one decays the history by 10 %. */
  record(requests: number, elapsedMs: number): void {
    if (requests <= 0 || !Number.isFinite(elapsedMs)) return
    this.#busyMs = this.#busyMs * 0.9 + elapsedMs
    this.#requests = this.#requests * 0.9 + requests
  }

  /** Milliseconds one request keeps a thread busy, or undefined before any batch completed. */
  msPerRequest(): number | undefined {
    return this.#requests > 0 ? this.#busyMs / this.#requests : undefined
  }

  /** Whole seconds until `queued` requests are done on `threads` threads, between 1 and 60. */
  seconds(queued: number, threads: number): number {
    const perRequest = this.msPerRequest()
    if (perRequest === undefined) return 1
    return Math.min(60, Math.max(1, Math.ceil((queued * perRequest) / threads / 1000)))
  }
}
