import { type KeyType, MeshcaError, type SigningCa } from '@meshca/core-mtls'
import {
  CaMaterialSent,
  caMaterial,
  FixedExtensionsCache,
  materialTransferList,
} from './ca-material.ts'
import type { DrainEstimate } from './drain-estimate.ts'
import type { KeyPoolRefill } from './key-pool-refill.ts'
import type { Lane, LaneScheduler } from './lane-scheduler.ts'
import { closedError } from './signer-closed-error.ts'
import type { TaskRunner } from './task-runner.ts'
import type { IssueTask } from './wire/protocol.ts'
import { encodeLeafRequests, type WireLeafRequest } from './wire/request-codec.ts'
import { decodeReply, type WireFailure, type WireOutcome } from './wire/result-codec.ts'
import { type Item, type KeyItem, type LeafItem, settle } from './work-items.ts'

export interface BatchDispatcherOptions {
  readonly lanes: LaneScheduler
  readonly runner: TaskRunner
  readonly refill: KeyPoolRefill
  readonly drain: DrainEstimate
  readonly threads: number
  /** Tasks kept with the pool at once. */
  readonly maxInFlight: number
  /** Tries per item when its worker thread dies under it. */
  readonly maxAttempts: number
}

function toMeshcaError(failure: WireFailure): MeshcaError {
  return new MeshcaError(failure.code, failure.message, failure.path ? { path: failure.path } : {})
}

/** A request as it goes on the wire: with a pooled key, only that key's public half. */
function wireRequest(item: LeafItem): WireLeafRequest {
  return item.pooledKey
    ? { ...item.request, subjectKey: { spki: item.pooledKey.spki } }
    : item.request
}

/** Settles each request of an issued batch, adding the pooled private key where one was used. */
function deliver(items: readonly LeafItem[], outcomes: readonly WireOutcome[]): void {
  outcomes.forEach((outcome, i) => {
    const item = items[i] as LeafItem
    if (!outcome.ok) {
      settle(item, { ok: false, error: toMeshcaError(outcome.failure) })
      return
    }
    const privateKey = item.pooledKey?.pkcs8 ?? outcome.privateKey
    const leaf = privateKey
      ? { certificate: outcome.certificate, privateKey }
      : { certificate: outcome.certificate }
    settle(item, { ok: true, leaf })
  })
}

/**
 * Takes batches off the lanes while the pipeline has room and runs each as one worker task, then
 * settles its items; a task lost with its thread is retried, then failed. The lanes call `pump`.
 */
export class BatchDispatcher {
  readonly #lanes: LaneScheduler
  readonly #runner: TaskRunner
  readonly #refill: KeyPoolRefill
  readonly #drain: DrainEstimate
  readonly #caSent: CaMaterialSent
  readonly #fixedExtensions = new FixedExtensionsCache()
  readonly #maxInFlight: number
  readonly #maxAttempts: number
  #closed = false
  /** Tasks waiting for their CA material: they hold a slot as if in flight. */
  #preparing = 0
  #retriedTasks = 0
  #failedTasks = 0

  constructor(options: BatchDispatcherOptions) {
    this.#lanes = options.lanes
    this.#runner = options.runner
    this.#refill = options.refill
    this.#drain = options.drain
    this.#caSent = new CaMaterialSent(options.threads)
    this.#maxInFlight = options.maxInFlight
    this.#maxAttempts = options.maxAttempts
  }

  get retriedTasks(): number {
    return this.#retriedTasks
  }

  get failedTasks(): number {
    return this.#failedTasks
  }

  pump(): void {
    if (this.#closed) return
    const lanes = this.#lanes
    const runner = this.#runner
    while (runner.inFlight + this.#preparing < this.#maxInFlight) {
      const lane = lanes.nextLane()
      if (lane === undefined) break
      const batch = lanes.takeBatch(lane, this.#maxInFlight - runner.inFlight - this.#preparing)
      if (batch.length === 0) continue
      if (lane.ca) void this.#runIssue(lane, batch as LeafItem[], this.#caSent.due(lane.ca.id))
      else if (lane.keyType) void this.#runGenerate(lane, batch as KeyItem[])
    }
    if (lanes.queued === 0) this.#refill.refill()
  }

  /** Tasks already submitted still deliver; items they lose from now on fail as closed. */
  close(): void {
    this.#closed = true
  }

  async #runIssue(lane: Lane, items: LeafItem[], withMaterial: boolean): Promise<void> {
    const ca = lane.ca as SigningCa
    const requests = encodeLeafRequests(items.map(wireRequest))
    if (withMaterial) this.#caSent.record(ca.id)
    // Every task of a CA awaits the same promise, so its tasks still reach the pool in order.
    this.#preparing++
    const fixed = await this.#fixedExtensions.of(ca)
    this.#preparing--
    if (this.#closed) {
      for (const item of items) settle(item, { ok: false, error: closedError() })
      return
    }
    const material = withMaterial ? caMaterial(ca, fixed) : undefined
    const task: IssueTask = {
      kind: 'issue',
      caId: ca.id,
      ca: material,
      requests,
      count: items.length,
    }
    let buffer: ArrayBuffer
    try {
      buffer = await this.#runner.run(
        task,
        material ? [requests, ...materialTransferList(material)] : [requests]
      )
    } catch (error) {
      this.#taskFailed(lane, items, error)
      this.#lanes.schedulePump()
      return
    }
    const reply = decodeReply(buffer, items.length)
    if (reply.kind === 'ca-missing') {
      // This thread has not seen the CA (or replaced one that had): same batch, with the material.
      if (this.#closed) for (const item of items) settle(item, { ok: false, error: closedError() })
      else void this.#runIssue(lane, items, true)
      return
    }
    if (reply.kind === 'issued') {
      this.#drain.record(items.length, reply.elapsedMs)
      deliver(items, reply.outcomes)
    } else if (reply.kind === 'ca-failed') {
      this.#caSent.forget(ca.id)
      const error = toMeshcaError(reply.failure)
      for (const item of items) settle(item, { ok: false, error })
    }
    this.#lanes.schedulePump()
  }

  async #runGenerate(lane: Lane, items: KeyItem[]): Promise<void> {
    const keyType = lane.keyType as KeyType
    let buffer: ArrayBuffer
    try {
      buffer = await this.#runner.run({ kind: 'generate', keyType, count: items.length }, [])
    } catch (error) {
      this.#taskFailed(lane, items, error)
      this.#lanes.schedulePump()
      return
    }
    const reply = decodeReply(buffer, items.length)
    if (reply.kind === 'keys') this.#drain.record(items.length, reply.elapsedMs)
    items.forEach((item, i) => {
      const pair = reply.kind === 'keys' ? reply.keys[i] : undefined
      if (pair) item.resolve({ keyType, spki: pair.spki, pkcs8: pair.pkcs8 })
      else item.reject(new MeshcaError('INTERNAL', 'signer worker returned no key'))
    })
    this.#lanes.schedulePump()
  }

  /** A task failed as a whole (its thread died): retry its items, or fail them for good. */
  #taskFailed(lane: Lane, items: Item[], error: unknown): void {
    const maxAttempts = this.#maxAttempts
    const closed = this.#closed
    const retry = items.filter((item) => ++item.attempt < maxAttempts)
    const give = items.filter((item) => item.attempt >= maxAttempts)
    if (retry.length > 0 && !closed) {
      this.#retriedTasks++
      const again = this.#lanes.laneFor(lane.id, lane.ca, lane.keyType)
      this.#lanes.enqueue(again, retry, true)
    }
    const failures = closed ? items : give
    if (failures.length === 0) return
    this.#failedTasks++
    const detail = error instanceof Error ? error.message : String(error)
    const failure = closed
      ? closedError()
      : new MeshcaError('INTERNAL', `signer worker failed: ${detail}`, { cause: error })
    for (const item of failures) {
      if (item.kind === 'key') item.reject(failure)
      else settle(item, { ok: false, error: failure })
    }
  }
}
