/**
 * The clock and timers the I/O edges use, injectable so tests can drive time. `now()` is
 * monotonic (performance.now), so a wall-clock jump (NTP, suspend) never fires a deadline early.
 */
export interface Timers {
  now(): number;
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const realTimers: Timers = {
  now: () => performance.now(),
  setTimeout: (callback, ms) => setTimeout(callback, ms),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

/** Resolves after `ms` (at least 0). */
export function sleep(ms: number, timers: Timers = realTimers): Promise<void> {
  return new Promise((resolve) => {
    timers.setTimeout(resolve, Math.max(0, ms));
  });
}

/** "12.3 s" — how long something waited, for user messages. */
export function formatSeconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}
