import type { ApiClient } from './client.ts'

/** What a command may touch; tests give their own, `main` gives the process's. */
export interface CliIo {
  readonly stdout: (text: string) => void
  readonly stderr: (text: string) => void
  readonly readStdin: () => Promise<string>
  readonly readFile: (path: string) => Promise<string>
  /** Replaces `path` at once (a new file renamed over it), readable by its owner only. */
  readonly writeSecretFile: (path: string, text: string) => Promise<void>
  readonly now: () => Date
}

export interface CommandContext extends CliIo {
  /**
   * Opened lazily: `apply --dry-run` never contacts the control plane. `token` replaces the
   * configured one (a command that authenticates with a token it was given).
   */
  readonly client: (token?: string) => Promise<ApiClient>
}
