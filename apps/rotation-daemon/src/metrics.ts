// Prometheus text exposition 0.0.4 over language built-ins only, so /metrics behaves the same on
// Node, Bun and Deno. No timestamps: Prometheus stamps samples when it scrapes them.

export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8'

/** From a cache hit (1 ms) up to a slow CA signature or database round trip (10 s). */
export const DEFAULT_LATENCY_BUCKETS_SECONDS: readonly number[] = Object.freeze([
  0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
])

export type Labels = Readonly<Record<string, string>>

export interface Counter {
  /** `value` defaults to 1; a negative or non-finite value throws a RangeError. */
  inc(labels?: Labels, value?: number): void
}

export interface Gauge {
  set(labels: Labels | undefined, value: number): void
  remove(labels?: Labels): void
  /** Drops every series, so a collector can rebuild a gauge without leaving stale label sets. */
  reset(): void
}

export interface Histogram {
  /** A non-finite value throws a RangeError: one NaN would poison `_sum` for the process's life. */
  observe(labels: Labels | undefined, value: number): void
}

export interface MetricsRegistry {
  counter(name: string, help: string, labelNames?: readonly string[]): Counter
  gauge(name: string, help: string, labelNames?: readonly string[]): Gauge
  histogram(
    name: string,
    help: string,
    buckets: readonly number[],
    labelNames?: readonly string[]
  ): Histogram
  /** Runs before every render: lets callers refresh gauges from current state (sync or async). */
  onCollect(collector: () => void | Promise<void>): () => void
  /**
   * Runs the collectors one after another in registration order, then renders every metric sorted
   * by name. If a collector throws, the render rejects with that error and the later collectors do
   * not run: a scrape that fails is visible as `up == 0`, half-refreshed gauges are not.
   */
  render(): Promise<string>
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/

type MetricType = 'counter' | 'gauge' | 'histogram'
type FamilySpec = { name: string; help: string; type: MetricType; labelNames: readonly string[] }
type Family = { help: string; type: MetricType; renderInto(lines: string[]): void }
type RenderSeries<State> = (labelPairs: readonly string[], state: State, lines: string[]) => void

export function createMetricsRegistry(): MetricsRegistry {
  const families = new Map<string, Family>()
  const collectors = new Set<{ readonly collect: () => void | Promise<void> }>()

  const registerScalar = (family: FamilySpec) =>
    registerFamily(
      families,
      family,
      () => ({ value: 0 }),
      (pairs, state, lines) => {
        lines.push(sample(family.name, pairs, state.value))
      }
    )

  return {
    counter(name, help, labelNames = []) {
      const series = registerScalar({ name, help, type: 'counter', labelNames })
      return {
        inc(labels, value = 1) {
          if (!Number.isFinite(value) || value < 0) {
            throw new RangeError(`metric "${name}": counter increment must be finite and >= 0`)
          }
          series.get(labels).value += value
        },
      }
    },

    gauge(name, help, labelNames = []) {
      const series = registerScalar({ name, help, type: 'gauge', labelNames })
      return {
        set(labels, value) {
          series.get(labels).value = value
        },
        remove: series.delete,
        reset: series.clear,
      }
    },

    histogram: (name, help, buckets, labelNames = []) =>
      createHistogram(families, name, help, buckets, labelNames),

    onCollect(collector) {
      const entry = { collect: collector }
      collectors.add(entry)
      return () => void collectors.delete(entry)
    },

    async render() {
      // A snapshot, so a collector that unregisters itself does not make the loop skip another.
      for (const { collect } of [...collectors]) await collect()
      const lines: string[] = []
      for (const [name, family] of [...families].sort(([a], [b]) => (a < b ? -1 : 1))) {
        lines.push(`# HELP ${name} ${escapeHelp(family.help)}`, `# TYPE ${name} ${family.type}`)
        family.renderInto(lines)
      }
      return lines.length === 0 ? '' : `${lines.join('\n')}\n`
    },
  }
}

/** Adds a metric family; returns its series by label values. */
function registerFamily<State>(
  families: Map<string, Family>,
  family: FamilySpec,
  newState: () => State,
  renderSeries: RenderSeries<State>
) {
  const { name, type } = family
  if (!METRIC_NAME.test(name)) throw new TypeError(`invalid metric name "${name}"`)
  if (families.has(name)) throw new Error(`metric "${name}" is already registered`)
  const labelNames = [...family.labelNames]
  // `le` would collide with the label a histogram adds to each of its `_bucket` samples.
  checkLabelNames(name, labelNames, type === 'histogram' ? ['le'] : [])
  const series = new Map<string, { labelValues: readonly string[]; state: State }>()
  families.set(name, {
    help: family.help,
    type,
    renderInto(lines) {
      // An unlabelled metric always has its one series, so a scrape shows 0 rather than nothing.
      const entries =
        labelNames.length === 0 && series.size === 0
          ? [{ labelValues: [], state: newState() }]
          : [...series.values()].sort((a, b) => compareLabelValues(a.labelValues, b.labelValues))
      for (const { labelValues, state } of entries) {
        const pairs = labelValues.map((v, i) => `${labelNames[i]}="${escapeLabelValue(v)}"`)
        renderSeries(pairs, state, lines)
      }
    },
  })
  return {
    get(labels: Labels | undefined): State {
      const labelValues = labelValuesOf(name, labelNames, labels)
      const key = JSON.stringify(labelValues)
      const entry = series.get(key) ?? { labelValues, state: newState() }
      series.set(key, entry)
      return entry.state
    },
    delete: (labels?: Labels) =>
      series.delete(JSON.stringify(labelValuesOf(name, labelNames, labels))),
    clear: () => series.clear(),
  }
}

function createHistogram(
  families: Map<string, Family>,
  name: string,
  help: string,
  buckets: readonly number[],
  labelNames: readonly string[]
): Histogram {
  const bounds = [...buckets]
  const increasing = bounds.every((b, i) => Number.isFinite(b) && b > (bounds[i - 1] ?? -Infinity))
  // No buckets is a mistake, not a request for the Go client's silent defaults.
  if (bounds.length === 0 || !increasing) {
    throw new RangeError(`metric "${name}": buckets must be finite and strictly increasing`)
  }
  const les = [...bounds.map(formatBucketBound), '+Inf']
  const series = registerFamily(
    families,
    { name, help, type: 'histogram', labelNames },
    // One count per `le` (the last for values above every bound), made cumulative at render
    // so that an observation touches a single slot.
    () => ({ counts: les.map(() => 0), sum: 0 }),
    (pairs, state, lines) => {
      let cumulative = 0
      les.forEach((le, i) => {
        cumulative += state.counts[i] ?? 0
        lines.push(sample(`${name}_bucket`, [...pairs, `le="${le}"`], cumulative))
      })
      lines.push(sample(`${name}_sum`, pairs, state.sum))
      lines.push(sample(`${name}_count`, pairs, cumulative))
    }
  )
  return {
    observe(labels, value) {
      if (!Number.isFinite(value)) {
        throw new RangeError(`metric "${name}": observed value must be finite`)
      }
      const state = series.get(labels)
      const bucket = bounds.findIndex((bound) => value <= bound)
      const slot = bucket === -1 ? bounds.length : bucket
      state.counts[slot] = (state.counts[slot] ?? 0) + 1
      state.sum += value
    },
  }
}

function checkLabelNames(metric: string, labelNames: readonly string[], reserved: string[]): void {
  labelNames.forEach((label, i) => {
    if (!LABEL_NAME.test(label) || label.startsWith('__') || reserved.includes(label)) {
      throw new TypeError(`metric "${metric}": invalid label name "${label}"`)
    }
    if (labelNames.indexOf(label) !== i) {
      throw new TypeError(`metric "${metric}": duplicate label "${label}"`)
    }
  })
}

function labelValuesOf(metric: string, labelNames: readonly string[], labels: Labels = {}) {
  const extra = Object.keys(labels).find((label) => !labelNames.includes(label))
  if (extra !== undefined) throw new TypeError(`metric "${metric}": unexpected label "${extra}"`)
  return labelNames.map((label) => {
    const value = labels[label]
    if (typeof value === 'string' && Object.hasOwn(labels, label)) return value
    const problem = Object.hasOwn(labels, label) ? 'non-string value for label' : 'missing label'
    throw new TypeError(`metric "${metric}": ${problem} "${label}"`)
  })
}

function compareLabelValues(a: readonly string[], b: readonly string[]): number {
  const i = a.findIndex((value, k) => value !== b[k])
  // Code-unit order, not localeCompare: the output must not depend on the host's locale.
  return i === -1 ? 0 : (a[i] ?? '') < (b[i] ?? '') ? -1 : 1
}

function sample(name: string, labelPairs: readonly string[], value: number): string {
  const labels = labelPairs.length === 0 ? '' : `{${labelPairs.join(',')}}`
  return `${name}${labels} ${formatSampleValue(value)}`
}

function formatSampleValue(value: number): string {
  if (Number.isNaN(value)) return 'NaN'
  if (!Number.isFinite(value)) return value > 0 ? '+Inf' : '-Inf'
  // BigInt prints a large integral counter in full where String would switch to 1e+21.
  return Number.isInteger(value) ? BigInt(value).toString() : String(value)
}

/**
 * Go's strconv 'g' with shortest precision, as the Go client writes `le`: recording rules and
 * dashboards match bucket series by that exact string, so ours must agree (1e+06, not 1000000).
 */
function formatBucketBound(bound: number): string {
  const [mantissa = '', exponentText = '0'] = bound.toExponential().split('e')
  const exponent = Number(exponentText)
  if (exponent >= -4 && exponent < 6) return String(bound)
  return `${mantissa}e${exponent < 0 ? '-' : '+'}${String(Math.abs(exponent)).padStart(2, '0')}`
}

const escapeHelp = (text: string): string => text.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')
const escapeLabelValue = (text: string): string => escapeHelp(text).replace(/"/g, '\\"')
