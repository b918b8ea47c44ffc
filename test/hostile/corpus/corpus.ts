/**
 * The hostile corpus: generators over routes × payload mutators, drawn from one seed. Each family is
 * a list of probes; `controls` first proves that every route's unmutated body is accepted, so that
 * what the mutations get refused for is the mutation.
 */
import type { Tokens } from '../hostile-world.ts'
import { badTokenProbes } from './bad-tokens.ts'
import { base64Probes } from './base64.ts'
import { BODY_ROUTES, targetName } from './body-routes.ts'
import { bodySyntaxProbes } from './body-syntax.ts'
import { contentTypeProbes } from './content-types.ts'
import { cryptoProbes } from './crypto-inputs.ts'
import type { CryptoMaterial } from './crypto-material.ts'
import { durationProbes } from './durations.ts'
import { fieldTypeProbes } from './field-types.ts'
import { oversizedProbes } from './oversized.ts'
import { type CorpusContext, type Probe, withCredentials } from './probe.ts'
import { queryProbes } from './query-params.ts'
import { seededRandom } from './seeded-random.ts'
import { urlNameProbes } from './url-names.ts'

function controlProbes(context: CorpusContext): Probe[] {
  return BODY_ROUTES.map((route) => {
    const name = targetName(route, context)
    const who = route.who[0] ?? 'admin'
    return {
      family: 'controls',
      label: `${route.method} ${route.path(name)}: the valid body`,
      who,
      request: {
        method: route.method,
        target: route.path(name),
        headers: withCredentials(context.tokens, who, { 'content-type': 'application/json' }),
        body: { kind: 'bytes', data: Buffer.from(JSON.stringify(route.base(name, context))) },
      },
      expect: { statuses: route.method === 'PUT' ? [201] : [200] },
    }
  })
}

export const FAMILIES = [
  ['controls', controlProbes],
  ['syntax', bodySyntaxProbes],
  ['field types', fieldTypeProbes],
  ['names in URLs', urlNameProbes],
  ['oversized bodies', oversizedProbes],
  ['certificates and keys', cryptoProbes],
  ['durations', durationProbes],
  ['base64', base64Probes],
  ['content types', contentTypeProbes],
  ['query parameters', queryProbes],
  ['bad tokens', badTokenProbes],
] as const satisfies readonly (readonly [string, (context: CorpusContext) => Probe[]])[]

export type FamilyName = (typeof FAMILIES)[number][0]

export function generateCorpus(
  seed: number,
  tokens: Tokens,
  material: CryptoMaterial
): Map<FamilyName, Probe[]> {
  let counter = 0
  const context: CorpusContext = {
    random: seededRandom(seed),
    tokens,
    material,
    fresh: (prefix) => `${prefix}-${(counter++).toString(36)}`,
  }
  return new Map(FAMILIES.map(([name, generate]) => [name, generate(context)]))
}
