/**
 * One simulated data plane proxy asking for its identity with `POST …/identity`, as a well-behaved
 * client does after a control plane restart: on a 503 it waits what `Retry-After` asks, or longer
 * when it keeps being told to wait (exponential backoff, capped), plus a random jitter so that the
 * fleet does not come back in one wave. Any other failure is an error, retried the same way.
 */

import type http from 'node:http'
import { setTimeout as sleep } from 'node:timers/promises'
import { send } from './http-client.ts'

export interface SimulatedDataplane {
  readonly mesh: string
  readonly name: string
  readonly service: string
  readonly token: string
  /** Sent as `dataplane` for self-registration; `undefined` when registered beforehand. */
  readonly registration?: unknown
}

export interface IdentityError {
  /** HTTP status, or the network error's code (`ECONNRESET`, …). */
  readonly kind: string
  readonly detail: string
  /** Milliseconds from the storm's start. */
  readonly atMs: number
}

export interface IdentityOutcome {
  /** Milliseconds from the storm's start to the end of the 200's body; undefined if never served. */
  readonly servedAfterMs: number | undefined
  /** The 200's body, checked once every data plane has one. */
  readonly answer: string | undefined
  readonly retries503: number
  readonly errors: readonly IdentityError[]
}

export const BACKOFF_BASE_MS = 100
export const BACKOFF_CAP_MS = 5_000
/** A data plane that met this many errors (503s with Retry-After not counted) gives up. */
export const MAX_ERRORS = 10

/** Seconds or an HTTP date, in ms from now; `undefined` when absent or unreadable. */
export function retryAfterMs(value: string | undefined, now = Date.now()): number | undefined {
  if (value === undefined || value.trim() === '') return undefined
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000
  const date = Date.parse(value)
  return Number.isNaN(date) ? undefined : Math.max(0, date - now)
}

/** The wait before attempt `failures + 1`: at least what the server asked, jittered. */
export function backoffMs(failures: number, askedMs: number | undefined): number {
  const exponential = Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** Math.max(0, failures - 1))
  const delay = Math.max(askedMs ?? 0, exponential)
  return delay + Math.random() * (0.1 * delay + 100)
}

function errorCode(error: unknown): string {
  const code = (error as { code?: unknown }).code
  return typeof code === 'string' ? code : 'ERROR'
}

export async function acquireIdentity(
  agent: http.Agent,
  baseUrl: string,
  dataplane: SimulatedDataplane,
  stormStart: number,
  signal: AbortSignal
): Promise<IdentityOutcome> {
  const errors: IdentityError[] = []
  let retries503 = 0
  const call = {
    method: 'POST',
    path: `/meshes/${dataplane.mesh}/dataplanes/${dataplane.name}/identity`,
    headers: { authorization: `Bearer ${dataplane.token}` },
    body: dataplane.registration === undefined ? '' : { dataplane: dataplane.registration },
    signal,
  } as const
  while (!signal.aborted && errors.length < MAX_ERRORS) {
    let asked: number | undefined
    try {
      const answer = await send(agent, baseUrl, call)
      if (answer.status === 200) {
        return {
          servedAfterMs: performance.now() - stormStart,
          answer: answer.text,
          retries503,
          errors,
        }
      }
      const header = answer.headers['retry-after']
      asked = retryAfterMs(Array.isArray(header) ? header[0] : header)
      if (answer.status === 503 && asked !== undefined) {
        retries503++
      } else {
        errors.push({
          kind: String(answer.status),
          detail: answer.text.slice(0, 300),
          atMs: performance.now() - stormStart,
        })
      }
    } catch (error) {
      if (signal.aborted) break
      errors.push({
        kind: errorCode(error),
        detail: String(error).slice(0, 300),
        atMs: performance.now() - stormStart,
      })
    }
    try {
      await sleep(backoffMs(retries503 + errors.length, asked), undefined, { signal })
    } catch {
      break
    }
  }
  return { servedAfterMs: undefined, answer: undefined, retries503, errors }
}
