/** Exit codes: a contract that scripts rely on (documented in the README). */
export const ExitCode = {
  ok: 0,
  runtime: 1,
  usage: 2,
  blocked: 3,
  locked: 4,
  sigint: 130,
  sigterm: 143,
} as const;

export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

/** The words that tell the operator a run changed nothing in the database: one sentence everywhere. */
export const NOTHING_WRITTEN = 'nothing was written';

/** An error meant for the operator: a one-line message and the exit code it ends the run with. */
export class ToolError extends Error {
  constructor(
    message: string,
    readonly exitCode: ExitCodeValue = ExitCode.runtime,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'ToolError';
  }
}

/** A run stopped by a signal: its connection was dropped, so the database rolled it back. */
export class Interrupted extends Error {
  /** Whether part of the run had already committed (MySQL: a fold before its drop; a rollback's tables). */
  constructor(readonly afterCommit = false) {
    super('interrupted');
  }
}

/** A usage error (exit 2): bad flags, bad URL, bad names. */
export function usageError(message: string): ToolError {
  return new ToolError(message, ExitCode.usage);
}
