/**
 * Inline issuance rates next to the raw WebCrypto limits of the same runtime, measured in the same
 * run, as ratios. Usage: npm run bench -w packages/core-mtls -- [--seconds 3] [--rounds 3]
 * [--scope name] [--reporter pretty|json]
 */
import { availableParallelism } from 'node:os'
import { parseArgs } from 'node:util'
import { createInlineSigner } from '../src/adapters/inline-signer.ts'
import { keyGenParams } from '../src/ca/key-types.ts'
import type { LeafRequest, Signer } from '../src/ports/signer.ts'
import { createTestCa, type TestCa } from '../src/testing/fixtures.ts'

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '3' },
    rounds: { type: 'string', default: '3' },
    scope: { type: 'string' },
    reporter: { type: 'string', default: 'pretty' },
  },
})
const windowMs = Number(values.seconds) * 1000
const rounds = Number(values.rounds)
const concurrency = Math.max(2, availableParallelism())

/** Runs `op` with `concurrency` workers in flight for the window; returns completed ops per second. */
async function rate(op: () => Promise<number>): Promise<number> {
  const deadline = performance.now() + windowMs
  let done = 0
  const started = performance.now()
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < deadline) done += await op()
    })
  )
  return (done / (performance.now() - started)) * 1000
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b)
  const mid = Math.floor(s.length / 2)
  return s.length % 2 ? (s[mid] ?? 0) : ((s[mid - 1] ?? 0) + (s[mid] ?? 0)) / 2
}

const rsaParams = keyGenParams('RSA_2048')
const ecParams = keyGenParams('ECDSA_P256')
const tbs = crypto.getRandomValues(new Uint8Array(600))

function leaf(subjectKey: LeafRequest['subjectKey']): LeafRequest {
  const now = Date.now()
  return {
    subjectKey,
    serialNumber: crypto.getRandomValues(new Uint8Array(16)),
    notBefore: new Date(now - 10_000),
    notAfter: new Date(now + 86_400_000),
    uris: ['spiffe://default/web', 'kuma://kuma.io/service/web', 'kuma://version/v1'],
  }
}

interface Scenario {
  name: string
  raw: () => Promise<number>
  rawLabel: string
  measured: (signer: Signer) => () => Promise<number>
}

async function main() {
  const signer = createInlineSigner()
  const [rsaCa, ecCa] = await Promise.all([
    createTestCa({ keyType: 'RSA_2048' }),
    createTestCa({ keyType: 'ECDSA_P256' }),
  ])
  const rsaKeys = (await crypto.subtle.generateKey(rsaParams, true, [
    'sign',
    'verify',
  ])) as CryptoKeyPair
  const ecKeys = (await crypto.subtle.generateKey(ecParams, true, [
    'sign',
    'verify',
  ])) as CryptoKeyPair
  const rsaSpki = new Uint8Array(await crypto.subtle.exportKey('spki', rsaKeys.publicKey))
  const ecSpki = new Uint8Array(await crypto.subtle.exportKey('spki', ecKeys.publicKey))
  const batch = 8
  const issue = (ca: TestCa, key: LeafRequest['subjectKey']) => async () => {
    const outcomes = await signer.issue(
      ca.signing,
      Array.from({ length: batch }, () => leaf(key))
    )
    if (outcomes.some((o) => !o.ok)) throw new Error('issuance failed')
    return batch
  }
  const scenarios: Scenario[] = [
    {
      name: 'RSA-2048 key generated + signed by RSA-2048 CA',
      rawLabel: 'RSA-2048 keygen',
      raw: async () => {
        await crypto.subtle.generateKey(rsaParams, true, ['sign', 'verify'])
        return 1
      },
      measured: () => async () => {
        const [o] = await signer.issue(rsaCa.signing, [leaf({ generate: 'RSA_2048' })])
        if (!o?.ok) throw new Error('issuance failed')
        return 1
      },
    },
    {
      name: 'ECDSA P-256 key generated + signed by P-256 CA',
      rawLabel: 'P-256 keygen',
      raw: async () => {
        await crypto.subtle.generateKey(ecParams, true, ['sign', 'verify'])
        return 1
      },
      measured: () => issue(ecCa, { generate: 'ECDSA_P256' }),
    },
    {
      name: 'CSR/pre-made key signed by RSA-2048 CA',
      rawLabel: 'RSA-2048 sign',
      raw: async () => {
        await crypto.subtle.sign(rsaParams, rsaKeys.privateKey, tbs)
        return 1
      },
      measured: () => issue(rsaCa, { spki: ecSpki }),
    },
    {
      name: 'CSR/pre-made key signed by P-256 CA',
      rawLabel: 'P-256 sign',
      raw: async () => {
        await crypto.subtle.sign({ name: 'ECDSA', hash: 'SHA-256' }, ecKeys.privateKey, tbs)
        return 1
      },
      measured: () => issue(ecCa, { spki: rsaSpki }),
    },
  ]
  const rows = []
  for (const s of scenarios) {
    if (values.scope && !s.name.toLowerCase().includes(values.scope.toLowerCase())) continue
    const raws: number[] = []
    const inline: number[] = []
    for (let r = 0; r < rounds; r++) {
      raws.push(await rate(s.raw))
      inline.push(await rate(s.measured(signer)))
    }
    const row = {
      scenario: s.name,
      baseline: s.rawLabel,
      rawPerSecond: median(raws),
      inlinePerSecond: median(inline),
      ratio: median(inline) / median(raws),
    }
    rows.push(row)
    if (values.reporter === 'pretty') {
      console.log(
        `${row.scenario.padEnd(48)} inline ${row.inlinePerSecond.toFixed(1).padStart(9)}/s   raw ${row.baseline} ${row.rawPerSecond.toFixed(1).padStart(9)}/s   ratio ${row.ratio.toFixed(3)}`
      )
    }
  }
  if (values.reporter === 'json') {
    console.log(
      JSON.stringify({ runtime: process.version, concurrency, windowMs, rounds, rows }, null, 2)
    )
  }
  await signer.close()
}

await main()
