/**
 * A server's refusals of strangers' connections as one log line per window
 * (core/channel/refusal-tally.ts), on the server's clock: a timer runs only while a window is open.
 */
import { createRefusalTally, type RefusalKind, type RefusalTallyOptions } from "../../core/channel/index.js";
import type { Timers } from "../process/index.js";

export interface RefusalLog {
  /** One connection from `source` (its address) refused before it authenticated. */
  note(kind: RefusalKind, source: string): void;
  /** Says what is pending now and stops the timer (the server closes). */
  close(): void;
}

export function createRefusalLog(
  log: (line: string) => void,
  timers: Timers,
  options: RefusalTallyOptions = {},
): RefusalLog {
  const tally = createRefusalTally(options);
  let timer: unknown;
  const say = (): void => {
    timer = undefined;
    const line = tally.summarize(timers.now());
    if (line !== undefined) log(line);
  };
  return {
    note(kind, source) {
      const dueInMs = tally.note(kind, source, timers.now());
      if (dueInMs !== undefined) timer = timers.setTimeout(say, dueInMs);
    },
    close() {
      timers.clearTimeout(timer);
      say();
    },
  };
}
