/** Exit codes shared by every subcommand (STYLE.md §5). */
export const EXIT_TOOL_FAILURE = 1;
export const EXIT_USAGE = 2;

/**
 * The one error type users see. `exitCode` 2 is a usage error (bad option, bad input),
 * 1 a failure of the tool or the cluster. The top level prints `srun-docker: error: <message>`
 * and, when set, `hint: <hint>`.
 */
export class UserError extends Error {
  readonly code: string;
  readonly exitCode: number;
  readonly hint: string | undefined;

  constructor(code: string, message: string, options: { hint?: string; exitCode?: number } = {}) {
    super(message);
    this.name = "UserError";
    this.code = code;
    this.exitCode = options.exitCode ?? EXIT_TOOL_FAILURE;
    this.hint = options.hint;
  }
}

/** A usage error: exit code 2, always with a hint. */
export function usageError(message: string, hint: string): UserError {
  return new UserError("usage", message, { hint, exitCode: EXIT_USAGE });
}

/** An error from the system with one of `codes` (`ENOENT`, `EEXIST`...). */
export function isErrno(error: unknown, ...codes: string[]): boolean {
  return error instanceof Error && codes.includes((error as { code?: unknown }).code as string);
}
