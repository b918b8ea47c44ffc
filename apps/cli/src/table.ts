/**
 * kumactl's tables: Go's text/tabwriter with minwidth 1, tabwidth 0, padding 3, padded with spaces
 * (app/kumactl/pkg/output/table/writer.go), and its age and date cells (cells.go).
 */

const PADDING = 3

/** Columns are as wide as their widest cell plus the padding; the last column is not padded. */
export function formatTable(
  header: readonly string[],
  rows: readonly (readonly string[])[]
): string {
  const all = [header, ...rows]
  const widths: number[] = []
  for (const row of all) {
    row.forEach((cell, i) => {
      widths[i] = Math.max(widths[i] ?? 0, [...cell].length)
    })
  }
  return all
    .map((row) =>
      row
        .map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd((widths[i] ?? 0) + PADDING)))
        .join('')
        .trimEnd()
    )
    .map((line) => `${line}\n`)
    .join('')
}

const SECOND = 1000
const MINUTE = 60 * SECOND
const HOUR = 60 * MINUTE
const DAY = 24 * HOUR

/** kumactl's `Duration` cell. */
export function formatAge(ms: number): string {
  if (ms < -SECOND) return 'never'
  if (ms < 0) return '0s'
  if (ms < MINUTE) return `${Math.floor(ms / SECOND)}s`
  if (ms < HOUR) return `${Math.floor(ms / MINUTE)}m`
  if (ms < DAY) return `${Math.floor(ms / HOUR)}h`
  if (ms < 365 * DAY) return `${Math.floor(ms / DAY)}d`
  return `${Math.floor(ms / (365 * DAY))}y`
}

/** kumactl's `Ago` cell: `never` when there is no time. */
export function formatAgo(time: string | undefined, now: Date): string {
  if (!time) return 'never'
  const at = Date.parse(time)
  if (Number.isNaN(at)) return 'never'
  return formatAge(now.getTime() - at)
}

const pad = (n: number) => String(n).padStart(2, '0')

/** Go's `2006-01-02 15:04:05` in the local time zone, or `-`. */
export function formatDate(time: string | undefined): string {
  if (!time) return '-'
  const d = new Date(time)
  if (Number.isNaN(d.getTime())) return '-'
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`
}
