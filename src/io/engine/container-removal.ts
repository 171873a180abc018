/**
 * Removal that is only "done" once the engine says the container is gone. One attempt can
 * fail (the daemon is busy, a `podman rm` child was hit by the step's SIGTERM, a `--rm`
 * auto-removal is already under way); so attempt, confirm, and retry until a deadline well
 * inside Slurm's smallest sane KillWait (5 s), then name what is left.
 */
import { UserError } from "../../core/common/index.js";
import { realTimers, sleep, type Timers } from "../process/index.js";

/** What one removal attempt found; `gone` also covers "no such container". */
export type RemovalAttempt = { kind: "gone" } | { kind: "in-progress" } | { kind: "failed"; reason: string };

export interface RemovalEngine {
  removeOnce(name: string): Promise<RemovalAttempt>;
  /** true: still there; false: gone; a string: could not tell, and why. */
  exists(name: string): Promise<boolean | string>;
}

export interface RemovalOptions {
  /** Give up after this long (default 4 s: inside KillWait=5 with room to exit). */
  deadlineMs?: number;
  /** Pause between a failed or unconfirmed attempt and the next. */
  retryDelayMs?: number;
  timers?: Timers;
}

export interface RemovalFailure {
  name: string;
  reason: string;
}

/** Removes `name` until the engine confirms it is gone; the failure says why not. */
export async function removeUntilGone(
  engine: RemovalEngine,
  name: string,
  options: RemovalOptions = {},
): Promise<RemovalFailure | undefined> {
  const timers = options.timers ?? realTimers;
  const deadline = timers.now() + (options.deadlineMs ?? 4000);
  const pause = options.retryDelayMs ?? 100;
  let reason = "no attempt made";
  for (;;) {
    const attempt = await engine
      .removeOnce(name)
      .catch((error: unknown): RemovalAttempt => ({ kind: "failed", reason: String(error) }));
    if (attempt.kind === "failed") reason = attempt.reason;
    else {
      const there = await engine.exists(name).catch((error: unknown) => String(error));
      if (there === false) return undefined;
      reason =
        there === true
          ? attempt.kind === "in-progress"
            ? "its removal did not finish"
            : "it was still there after removal"
          : there;
    }
    if (timers.now() + pause >= deadline) return { name, reason };
    await sleep(pause, timers);
  }
}

/** Every name at once; the failures, if any. */
export async function removeAllUntilGone(
  engine: RemovalEngine,
  names: readonly string[],
  options: RemovalOptions = {},
): Promise<RemovalFailure[]> {
  const results = await Promise.all(names.map((name) => removeUntilGone(engine, name, options)));
  return results.filter((r): r is RemovalFailure => r !== undefined);
}

/** One error naming the node and every container that stayed, with what to do. */
export function describeRemovalFailures(bin: string, node: string, failures: readonly RemovalFailure[]): UserError {
  const what = failures.map((f) => `${f.name} (${f.reason})`).join(", ");
  return new UserError(
    "remove-failed",
    `could not remove ${failures.length === 1 ? "container" : "containers"} on ${node}: ${what}`,
    {
      hint: `remove it by hand on ${node} (\`${bin} rm -f NAME\`) or run \`srun-docker clean\` there; check that the ${bin} ${bin === "podman" ? "storage" : "daemon"} is healthy`,
    },
  );
}
