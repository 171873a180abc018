// The rendezvous's readiness deadline, paused while any node pulls the image: a pull of many
// gigabytes has its own limit (--pull-timeout, on the node that pulls) and must not count
// against --timeout, which is about nodes coming up.
import type { Timers } from "../process/index.js";

export interface PausableDeadline {
  start(ms: number): void;
  /** `key` (a node) holds the deadline while it pulls; the clock stands still while any holds it. */
  hold(key: string): void;
  release(key: string): void;
  cancel(): void;
}

export function createPausableDeadline(timers: Timers, onExpire: () => void): PausableDeadline {
  const holders = new Set<string>();
  let remainingMs: number | undefined;
  let runningSince = 0;
  let timer: unknown;
  let running = false;
  let done = false;

  const run = () => {
    if (done || remainingMs === undefined || running || holders.size > 0) return;
    running = true;
    runningSince = timers.now();
    timer = timers.setTimeout(() => {
      done = true;
      onExpire();
    }, remainingMs);
  };
  const pause = () => {
    if (!running || remainingMs === undefined) return;
    timers.clearTimeout(timer);
    running = false;
    remainingMs = Math.max(0, remainingMs - (timers.now() - runningSince));
  };

  return {
    start(ms) {
      remainingMs = ms;
      run();
    },
    hold(key) {
      holders.add(key);
      pause();
    },
    release(key) {
      if (!holders.delete(key)) return;
      run();
    },
    cancel() {
      done = true;
      timers.clearTimeout(timer);
    },
  };
}
