/** Exit codes shared by every subcommand (README "When things go wrong"). */
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

/** What the user reads for a UserError: `srun-docker: error: ...` and `hint: ...`. */
export function renderUserError(error: UserError): string {
  return `srun-docker: error: ${error.message}\n${error.hint ? `hint: ${error.hint}\n` : ""}`;
}

/** A usage error: exit code 2, always with a hint. */
export function usageError(message: string, hint: string): UserError {
  return new UserError("usage", message, { hint, exitCode: EXIT_USAGE });
}

/** An error from the system with one of `codes` (`ENOENT`, `EEXIST`...). */
export function isErrno(error: unknown, ...codes: string[]): boolean {
  return error instanceof Error && codes.includes((error as { code?: unknown }).code as string);
}

/**
 * An error another process of the same job says already (every task of an srun step hits the
 * same usage error; the tasks of a node share their container's failure): it exits with the
 * same code and prints nothing, so the user reads each fact once.
 */
export class SaidElsewhere extends Error {
  constructor(readonly exitCode: number) {
    super("said by another task");
    this.name = "SaidElsewhere";
  }
}

/**
 * Under srun every task of the step runs srun-docker: the first one (SLURM_PROCID 0, the
 * master's task; or the only process, outside srun) speaks for all of them.
 */
export function isFirstTaskOfStep(env: NodeJS.ProcessEnv): boolean {
  return env.SLURM_PROCID === undefined || env.SLURM_PROCID === "" || env.SLURM_PROCID === "0";
}

/**
 * A user error that every task of the step meets alike (a missing `--container`: the same argv
 * and environment everywhere) is printed by the first task only; the others end quietly with
 * the same exit code, so N nodes do not print N copies.
 */
export function sayOncePerStep(error: unknown, env: NodeJS.ProcessEnv): unknown {
  return error instanceof UserError && !isFirstTaskOfStep(env) ? new SaidElsewhere(error.exitCode) : error;
}
