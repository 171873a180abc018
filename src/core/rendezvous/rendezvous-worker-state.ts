/**
 * A worker's connection to the rendezvous master as one state, changed only by named inputs.
 * Pure: io/rendezvous/rendezvous-worker-link.ts feeds it what the socket, the timers and the caller say.
 *
 *   handshake ──established (core/channel/client.ts)──▶ joined ──go──▶ started
 *                                      (remote-ports: joined, with the moved ports)
 *       │                                                │              │
 *       ▼                                                └──────┬───────┘
 *    refused                                                    ▼
 *   (the channel failed: reject, another version,            settled
 *    forged MAC; close, timeout; the caller retries)   (done, abort, close, silence, leave)
 *
 * Until the master proves it holds the secret (the channel's welcome), nothing else it says
 * counts: another user listening on the port cannot stop or start this node's job. After it,
 * only done, abort or the link's end settle the outcome, once.
 */

import { type ChannelFailure, describeChannelFailure, type FailureWords } from "../channel/index.js";
import type { NodePort } from "../ports/index.js";
import type { MasterMessage } from "./rendezvous-protocol.js";

const RENDEZVOUS_WORDS: FailureWords = {
  server: "the master",
  onPort: "the peer on the rendezvous port",
  notOurs: "not our master",
  refused: "this node",
  us: "this node",
};

export type WorkerOutcome =
  | { kind: "done"; exitCode: number }
  | { kind: "abort"; reason: string }
  /** The master went away without done: tear down. */
  | { kind: "lost"; reason: string };

export type WorkerState =
  /** Connecting, or in the channel's handshake. */
  | { phase: "handshake" }
  /** This attempt failed; `timedOut` when the attempt's own timeout ended it. */
  | { phase: "refused"; error: string; timedOut: boolean }
  /**
   * Authenticated: reports go out, pings both ways; waiting for go or the outcome. `moved` once
   * the master said which nodes' agent or sshd is off the first candidate (it says so once).
   */
  | { phase: "joined"; masterPort?: number; moved?: readonly NodePort[] }
  /** Go came ("each" launcher); waiting for the outcome. */
  | { phase: "started"; masterPort?: number }
  | { phase: "settled"; outcome: WorkerOutcome };

export type WorkerInput =
  /**
   * The channel's handshake ended: the master proved it holds the secret, and its welcome said
   * MASTER_PORT (a master that said none leaves it undefined).
   */
  | { type: "established"; masterPort?: number }
  /** The channel's handshake failed on what the peer sent. */
  | { type: "handshake-failed"; failure: ChannelFailure }
  /** A well-formed message from the master. */
  | MasterMessage
  /** The socket closed (or the peer sent an overlong line). */
  | { type: "closed"; reason: string }
  /** The attempt's timeout, or the master's silence for the missed pings. */
  | { type: "timed-out"; reason: string }
  /** This node leaves the rendezvous (the session's close()). */
  | { type: "leave" };

/** The next state; the same one when the input means nothing where the worker stands. */
export function nextWorkerState(state: WorkerState, input: WorkerInput): WorkerState {
  switch (state.phase) {
    case "handshake":
      return nextHandshakeState(state, input);
    case "joined":
    case "started":
      switch (input.type) {
        case "go":
          return state.phase === "started" ? state : { phase: "started", ...masterPortOf(state) };
        case "remote-ports":
          return state.phase === "joined" && state.moved === undefined ? { ...state, moved: input.moved } : state;
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

function nextHandshakeState(state: WorkerState, input: WorkerInput): WorkerState {
  switch (input.type) {
    case "established":
      return { phase: "joined", ...masterPortOf(input) };
    case "handshake-failed":
      return refused(describeChannelFailure(input.failure, RENDEZVOUS_WORDS));
    case "closed":
      return refused(input.reason);
    case "timed-out":
      return refused(input.reason, true);
    default:
      // done, abort, go or ping cannot come before the welcome (the channel reads alone).
      return state;
  }
}

function masterPortOf(from: { masterPort?: number }): { masterPort?: number } {
  return from.masterPort === undefined ? {} : { masterPort: from.masterPort };
}

/**
 * What the heartbeat does after `silentMs` without a word from the master: ping it again, or,
 * past `lostAfterMs`, call the link lost (a `timed-out` input that names the silence).
 */
export function checkMasterSilence(
  silentMs: number,
  lostAfterMs: number,
): { type: "ping" } | { type: "timed-out"; reason: string } {
  if (silentMs <= lostAfterMs) return { type: "ping" };
  return { type: "timed-out", reason: `no heartbeat from the master for ${(silentMs / 1000).toFixed(1)} s` };
}

function refused(error: string, timedOut = false): WorkerState {
  return { phase: "refused", error, timedOut };
}

function settled(outcome: WorkerOutcome): WorkerState {
  return { phase: "settled", outcome };
}
