import type { ApiClient } from './client.ts'

/** What a command may touch; tests give their own, `main` gives the process's. */
export interface CliIo {
  readonly stdout: (text: string) => void
  readonly stderr: (text: string) => void
  readonly readStdin: () => Promise<string>
  readonly readFile: (path: string) => Promise<string>
  readonly now: () => Date
}

export interface CommandContext extends CliIo {
  /** Opened lazily: `apply --dry-run` never contacts the control plane. */
  readonly client: () => Promise<ApiClient>
}
