/** Latency summaries: nearest-rank percentiles over every sample, in milliseconds. */

export interface LatencySummary {
  readonly count: number
  readonly p50: number
  readonly p90: number
  readonly p99: number
  readonly max: number
}

export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN
  const rank = Math.ceil((p / 100) * sorted.length)
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1] ?? Number.NaN
}

export function summarize(samples: readonly number[]): LatencySummary {
  const sorted = [...samples].sort((a, b) => a - b)
  return {
    count: sorted.length,
    p50: percentile(sorted, 50),
    p90: percentile(sorted, 90),
    p99: percentile(sorted, 99),
    max: sorted.at(-1) ?? Number.NaN,
  }
}

/**
 * The samples a prober sending every `intervalMs` would have taken had it not waited for a slow
 * answer (coordinated omission): a request that took L ms hid the ones due during it, which would
 * have waited L - interval, L - 2·interval, … ms.
 */
export function withOmittedSamples(samples: readonly number[], intervalMs: number): number[] {
  const out: number[] = []
  for (const latency of samples) {
    out.push(latency)
    for (let hidden = latency - intervalMs; hidden > 0; hidden -= intervalMs) out.push(hidden)
  }
  return out
}
