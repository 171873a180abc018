/**
 * The master's side of the rendezvous as one state, changed only by named inputs. Pure: the
 * I/O edge (io/rendezvous/rendezvous-master*.ts) feeds the inputs and acts on each change.
 *
 *   gathering ──all-ready──▶ ready ──start──▶ started
 *       │
 *       └──ready-failed──▶ failed
 *
 *   failed | ready | started ──linger──▶ lingering ──close──▶ closing
 *   failed | ready | started ──close───────────────────────▶ closing
 *
 * `ready` (the promise) settles exactly when gathering is left, so a shutdown asked for while
 * gathering settles it as aborted first. Workers are watched (heartbeats, failures, exits) until
 * the farewell (done/abort) is out; after it nothing a worker says changes anything. Lingering
 * keeps listening so that a node joining late is told the farewell instead of waiting for its
 * own deadline. The shutdown states remember whether every worker was ready, because a
 * start() that races a shutdown is harmless then and a bug otherwise.
 */
import type { MasterMessage } from "./rendezvous-protocol.js";

export type MasterState =
  /** Waiting for every expected worker to report ready; `ready` is pending. */
  | { phase: "gathering" }
  /** `ready` resolved with a failure; the command is expected to shut down. */
  | { phase: "failed" }
  /** Every worker reported ready; `ready` resolved ok. */
  | { phase: "ready" }
  /** Go was sent ("each" launcher): workers may now report their own script's exit. */
  | { phase: "started" }
  /** The farewell went to every joined worker; a late joiner gets it right after its welcome. */
  | { phase: "lingering"; farewell: MasterMessage; wasReady: boolean }
  /** The listener is closed; farewells flush within the grace, then every socket is destroyed. */
  | { phase: "closing"; wasReady: boolean };

export type MasterInput =
  /** The last expected worker reported ready (or none was expected). */
  | { type: "all-ready" }
  /** The deadline passed, a worker failed or left before ready, or a shutdown cut the wait. */
  | { type: "ready-failed" }
  /** The command asked for go. */
  | { type: "start" }
  /** A shutdown with nodes still to tell (abort with a linger). */
  | { type: "linger"; farewell: MasterMessage }
  /** A shutdown with nobody left to wait for, or the linger ended. */
  | { type: "close" };

/** The next state (the same one when the input changes nothing), or undefined for a bug. */
export function nextMasterState(state: MasterState, input: MasterInput): MasterState | undefined {
  switch (state.phase) {
    case "gathering":
      if (input.type === "all-ready") return { phase: "ready" };
      if (input.type === "ready-failed") return { phase: "failed" };
      // start() before ready is a bug; a shutdown must settle `ready` (ready-failed) first.
      return undefined;
    case "failed":
    case "ready":
    case "started": {
      const wasReady = state.phase !== "failed";
      switch (input.type) {
        case "start":
          if (!wasReady) return undefined;
          return state.phase === "started" ? state : { phase: "started" };
        case "linger":
          return { phase: "lingering", farewell: input.farewell, wasReady };
        case "close":
          return { phase: "closing", wasReady };
        default:
          // `ready` has settled already: it settles once.
          return state;
      }
    }
    case "lingering":
      if (input.type === "close") return { phase: "closing", wasReady: state.wasReady };
      return input.type === "start" && !state.wasReady ? undefined : state;
    case "closing":
      return input.type === "start" && !state.wasReady ? undefined : state;
    default: {
      const unreachable: never = state;
      return unreachable;
    }
  }
}

/** After the farewell nothing a worker says or does (even leaving) changes the job. */
export function isShuttingDown(state: MasterState): boolean {
  return state.phase === "lingering" || state.phase === "closing";
}
