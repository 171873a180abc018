/**
 * Termination signals (scancel sends SIGTERM, Ctrl-C on srun SIGINT, a lost terminal SIGHUP).
 * The handler runs once; while subscribed, later signals are swallowed so Node's default
 * (exit at once) cannot cut the teardown short. Slurm follows up with SIGKILL after KillWait.
 */
import { constants } from "node:os";

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

/** 128 + the signal's number, the shell's convention for "ended by signal n". */
export function exitCodeForSignal(signal: NodeJS.Signals): number {
  return 128 + (constants.signals[signal] ?? 0);
}

/** A child's exit as a process exit code: its own code, or 128+n for signal n. */
export function exitCodeOf(exit: { code: number | null; signal: NodeJS.Signals | null }): number {
  if (exit.code !== null) return exit.code;
  return exit.signal === null ? 1 : exitCodeForSignal(exit.signal);
}
