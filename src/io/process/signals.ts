/**
 * Termination signals (scancel sends SIGTERM, Ctrl-C on srun SIGINT, a lost terminal SIGHUP).
 * The handler runs once; while subscribed, later signals are swallowed so Node's default
 * (exit at once) cannot cut the teardown short. Slurm follows up with SIGKILL after KillWait.
 */
import { constants } from "node:os";
import "../../first-statement.js";

export const TERMINATION_SIGNALS = ["SIGINT", "SIGTERM", "SIGHUP"] as const;
export type TerminationSignal = (typeof TERMINATION_SIGNALS)[number];

/** The part of `process` this needs; tests pass an EventEmitter. */
export interface SignalSource {
  on(event: TerminationSignal, listener: () => void): unknown;
  off(event: TerminationSignal, listener: () => void): unknown;
}

export function onTerminationSignals(
  handler: (signal: TerminationSignal) => void,
  proc: SignalSource = process,
): () => void {
  let fired = false;
  const listeners = TERMINATION_SIGNALS.map((signal) => {
    const listener = (): void => {
      if (fired) return;
      fired = true;
      handler(signal);
    };
    proc.on(signal, listener);
    return [signal, listener] as const;
  });
  return () => {
    for (const [signal, listener] of listeners) proc.off(signal, listener);
  };
}

/** The signals Slurm sends a step to ask for a checkpoint (`--signal=USR1@T`, `scancel --signal`). */
export const USER_SIGNALS = ["SIGUSR1", "SIGUSR2"] as const;
export type UserSignal = (typeof USER_SIGNALS)[number];

/**
 * Subscribes to SIGUSR1 and SIGUSR2 through the one listener src/first-statement.js installed
 * before anything else ran (that listener is what keeps Node's inspector shut); returns the
 * unsubscribe. The subscriber decides what the signal means; with none it is ignored.
 */
export function onUserSignals(handler: (signal: UserSignal) => void): () => void {
  const subscribers = (globalThis as Record<symbol, unknown>)[Symbol.for("srun-docker.user-signals")];
  if (!(subscribers instanceof Set)) throw new Error("src/first-statement.js did not run first");
  subscribers.add(handler);
  return () => subscribers.delete(handler);
}

/** 128 + the signal's number, the shell's convention for "ended by signal n". */
export function exitCodeForSignal(signal: NodeJS.Signals): number {
  return 128 + (constants.signals[signal] ?? 0);
}

/** A child's exit as a process exit code: its own code, or 128+n for signal n. */
export function exitCodeOf(exit: { code: number | null; signal: NodeJS.Signals | null }): number {
  if (exit.code !== null) return exit.code;
  return exit.signal === null ? 1 : exitCodeForSignal(exit.signal);
}
