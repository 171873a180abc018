/**
 * A worker's connection to the rendezvous master as one state, changed only by named inputs.
 * Pure: io/rendezvous-worker-link.ts feeds it what the socket, the timers and the caller say.
 *
 *   connecting ──challenge──▶ authenticating ──authentic welcome──▶ joined ──go──▶ started
 *                                                          (remote-ports: joined, with the moved ports)
 *        │                          │                                 │              │
 *        └─────────────┬────────────┘                                 └──────┬───────┘
 *                      ▼                                                     ▼
 *                   refused                                               settled
 *     (reject, another version, forged MAC,                         (done, abort, close,
 *      close, timeout; the caller retries)                            silence, leave)
 *
 * Until the master proves it holds the secret (an authentic welcome), nothing else it says
 * counts: another user listening on the port cannot stop or start this node's job. After it,
 * a reject means nothing, and only done, abort or the link's end settle the outcome, once.
 */
import type { NodePort } from "./remote-ports.js";
import { type MasterMessage, PROTOCOL_VERSION } from "./rendezvous-protocol.js";

export type WorkerOutcome =
  | { kind: "done"; exitCode: number }
  | { kind: "abort"; reason: string }
  /** The master went away without done: tear down. */
  | { kind: "lost"; reason: string };

export type WorkerState =
  /** Connecting, or connected and waiting for the master's challenge. */
  | { phase: "connecting" }
  /** Hello sent; waiting for a welcome whose MAC proves the master holds the secret. */
  | { phase: "authenticating"; masterNonce: string }
  /** This attempt failed; `timedOut` when the attempt's own timeout ended it. */
  | { phase: "refused"; error: string; timedOut: boolean }
  /**
   * Authenticated: reports go out, pings both ways; waiting for go or the outcome. `moved` once
   * the master said which nodes' agent or sshd is off the first candidate (it says so once).
   */
  | { phase: "joined"; moved?: readonly NodePort[] }
  /** Go came ("each" launcher); waiting for the outcome. */
  | { phase: "started" }
  | { phase: "settled"; outcome: WorkerOutcome };

export type WorkerInput =
  /** A well-formed message from the peer; a welcome says whether its MAC was the master's. */
  | Exclude<MasterMessage, { type: "welcome" }>
  | { type: "welcome"; authentic: boolean }
  /** The socket closed (or the peer sent an overlong line). */
  | { type: "closed"; reason: string }
  /** The attempt's timeout, or the master's silence for the missed pings. */
  | { type: "timed-out"; reason: string }
  /** This node leaves the rendezvous (the session's close()). */
  | { type: "leave" };

/** The next state; the same one when the input means nothing where the worker stands. */
export function nextWorkerState(state: WorkerState, input: WorkerInput): WorkerState {
  switch (state.phase) {
    case "connecting":
    case "authenticating":
      return nextHandshakeState(state, input);
    case "joined":
    case "started":
      switch (input.type) {
        case "go":
          return state.phase === "started" ? state : { phase: "started" };
        case "remote-ports":
          return state.phase === "joined" && state.moved === undefined
            ? { phase: "joined", moved: input.moved }
            : state;
        case "done":
          return settled({ kind: "done", exitCode: input.exitCode });
        case "abort":
          return settled({ kind: "abort", reason: input.reason });
        case "closed":
          return settled({ kind: "lost", reason: `the master closed the connection without done (${input.reason})` });
        case "timed-out":
          return settled({ kind: "lost", reason: input.reason });
        case "leave":
          return settled({ kind: "lost", reason: "left by this node" });
        default:
          return state;
      }
    case "refused":
    case "settled":
      return state;
    default: {
      const unreachable: never = state;
      return unreachable;
    }
  }
}

function nextHandshakeState(
  state: WorkerState & { phase: "connecting" | "authenticating" },
  input: WorkerInput,
): WorkerState {
  switch (input.type) {
    case "challenge":
      if (state.phase !== "connecting") return state;
      if (input.v !== PROTOCOL_VERSION) {
        return refused(
          `the master speaks protocol ${input.v}, this node ${PROTOCOL_VERSION} (use one srun-docker version on every node)`,
        );
      }
      return { phase: "authenticating", masterNonce: input.nonce };
    case "welcome":
      if (state.phase !== "authenticating") return state;
      return input.authentic
        ? { phase: "joined" }
        : refused("the peer on the rendezvous port failed authentication (not our master)");
    case "reject":
      return refused(`the master refused this node: ${input.reason}`);
    case "closed":
      return refused(input.reason);
    case "timed-out":
      return refused(input.reason, true);
    default:
      // done, abort, go or ping from a peer not yet proven to be the master.
      return state;
  }
}

function refused(error: string, timedOut = false): WorkerState {
  return { phase: "refused", error, timedOut };
}

function settled(outcome: WorkerOutcome): WorkerState {
  return { phase: "settled", outcome };
}
