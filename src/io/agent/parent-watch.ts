/**
 * The local `ssh` notices when whoever started it dies (mpirun or pdsh killed): ssh's own
 * parent is then gone, and the remote command must not outlive it. The kernel reparents us, so
 * a changed parent pid is the sign; it is delivered like a SIGHUP, which ssh would forward when
 * its session ended.
 */

import { realTimers, type Timers } from "../process/index.js";
import type { ClientSignals } from "./agent-client-session.js";

type Listener = () => void;

export interface ParentWatchOptions {
  /** The current parent pid; process.ppid reads it anew every time. */
  parentPid?: () => number;
  timers?: Timers;
  everyMs?: number;
}

/** `signals`, plus a SIGHUP when our parent dies; polls only while someone listens for SIGHUP. */
export function withParentWatch(signals: ClientSignals, options: ParentWatchOptions = {}): ClientSignals {
  const parentPid = options.parentPid ?? (() => process.ppid);
  const timers = options.timers ?? realTimers;
  const everyMs = options.everyMs ?? 500;
  const first = parentPid();
  const hangups = new Set<Listener>();
  let timer: unknown;
  let fired = false;
  const poll = (): void => {
    timer = undefined;
    if (hangups.size === 0 || fired) return;
    if (parentPid() !== first) {
      fired = true;
      for (const listener of [...hangups]) listener();
      return;
    }
    timer = timers.setTimeout(poll, everyMs);
  };
  return {
    on(event, listener) {
      signals.on(event, listener);
      if (event === "SIGHUP") {
        hangups.add(listener);
        timer ??= timers.setTimeout(poll, everyMs);
      }
      return this;
    },
    off(event, listener) {
      signals.off(event, listener);
      if (event === "SIGHUP") {
        hangups.delete(listener);
        if (hangups.size === 0 && timer !== undefined) {
          timers.clearTimeout(timer);
          timer = undefined;
        }
      }
      return this;
    },
  };
}
