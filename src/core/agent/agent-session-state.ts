/**
 * One remote command as the client (`ssh node cmd`) sees it: one state, changed only by named
 * inputs. Pure; io/agent/agent-client-session.ts feeds it what the socket, the timer and the local
 * signals say, and acts on each change.
 *
 *   connecting ──challenge──▶ authenticating ──authentic welcome──▶ running ──exit──▶ exited
 *        │                          │                                  │
 *        └────────────┬─────────────┘                                  │
 *                     ▼                                                ▼
 *                  failed (255: refused, forged, closed, timeout;   failed (255: connection lost;
 *                          128+n: a signal before the command ran)          128+n: a second signal)
 *
 * The first local signal while running is forwarded and the client keeps waiting for the
 * remote exit (the command decides what the signal means); a second one ends the client at
 * once, which closes the connection, and the server then kills what the command left.
 * SIGUSR1 and SIGUSR2 (a checkpoint request) are passed on each time while running and never
 * end the client; before the command runs there is nobody to pass them to.
 */

import { type ChannelFailure, describeChannelFailure, type FailureWords } from "../channel/index.js";
import { type ExitStatus, exitCodeOfStatus } from "./agent-messages.js";

const AGENT_WORDS: FailureWords = {
  server: "its agent",
  onPort: "the program on its agent port",
  notOurs: "not this job's agent",
  refused: "the connection",
  us: "this one",
};

/** ssh's own exit code when it cannot connect or authenticate. */
export const EXIT_SSH_FAILURE = 255;

export type ClientState =
  /** Connecting, or in the channel's handshake (core/channel/client.ts). */
  | { phase: "handshake" }
  /** The command was sent; streams flow. `forwarded` counts the local signals sent on. */
  | { phase: "running"; forwarded: number }
  | { phase: "exited"; status: ExitStatus }
  /** Ended without a remote exit; `reason` (the one line for stderr) is absent after a signal. */
  | { phase: "failed"; exitCode: number; reason?: string };

export type LocalSignal = "SIGINT" | "SIGTERM" | "SIGHUP";
export type PassedOnSignal = "SIGUSR1" | "SIGUSR2";
const SIGNAL_NUMBERS: Record<LocalSignal, number> = { SIGHUP: 1, SIGINT: 2, SIGTERM: 15 };

export type ClientInput =
  /** The channel's handshake ended: the server proved it holds the secret. */
  | { type: "established" }
  /** The channel's handshake failed on what the server sent. */
  | { type: "refused"; failure: ChannelFailure }
  | { type: "exit"; status: ExitStatus }
  /** The socket closed or failed (connect refused, reset, end). */
  | { type: "closed"; reason: string }
  /** The handshake did not finish in time. */
  | { type: "timed-out"; reason: string }
  /** The server sent something the protocol does not allow. */
  | { type: "malformed"; reason: string }
  /** This process got a termination signal. */
  | { type: "signal"; name: LocalSignal }
  /** This process got a signal that only the command may give a meaning. */
  | { type: "pass-on"; name: PassedOnSignal }
  /** The local side cannot go on (stdout closed by its reader: 141, like ssh killed by SIGPIPE). */
  | { type: "local-end"; exitCode: number };

/** The next state; the same one when the input means nothing where the client stands. */
export function nextClientState(state: ClientState, input: ClientInput): ClientState {
  switch (state.phase) {
    case "handshake":
      return nextHandshakeState(state, input);
    case "running":
      switch (input.type) {
        case "exit":
          return { phase: "exited", status: input.status };
        case "signal":
          return state.forwarded === 0
            ? { phase: "running", forwarded: 1 }
            : { phase: "failed", exitCode: 128 + SIGNAL_NUMBERS[input.name] };
        case "pass-on":
          // A new state, the same phase: the io side sends the signal on each time.
          return { phase: "running", forwarded: state.forwarded };
        case "closed":
          return failed(`the connection was lost before the command ended (${input.reason})`);
        case "malformed":
          return failed(`the agent sent something malformed (${input.reason})`);
        case "local-end":
          return { phase: "failed", exitCode: input.exitCode };
        default:
          return state;
      }
    case "exited":
    case "failed":
      return state;
    default: {
      const unreachable: never = state;
      return unreachable;
    }
  }
}

function nextHandshakeState(state: ClientState & { phase: "handshake" }, input: ClientInput): ClientState {
  switch (input.type) {
    case "established":
      return { phase: "running", forwarded: 0 };
    case "refused":
      return failed(describeChannelFailure(input.failure, AGENT_WORDS));
    case "closed":
      return failed(input.reason);
    case "timed-out":
      return failed(input.reason);
    case "malformed":
      return failed(`the program on its agent port sent something malformed (${input.reason})`);
    case "signal":
      return { phase: "failed", exitCode: 128 + SIGNAL_NUMBERS[input.name] };
    case "pass-on":
      return state;
    case "local-end":
      return { phase: "failed", exitCode: input.exitCode };
    case "exit":
      // An exit from a peer not yet proven to be the agent counts for nothing.
      return failed("the agent sent an exit before the handshake ended");
    default: {
      const unreachable: never = input;
      return unreachable;
    }
  }
}

function failed(reason: string): ClientState {
  return { phase: "failed", exitCode: EXIT_SSH_FAILURE, reason };
}

/** The exit code of a client that reached a final state; undefined while it is not final. */
export function clientExitCode(state: ClientState): number | undefined {
  if (state.phase === "exited") return exitCodeOfStatus(state.status);
  if (state.phase === "failed") return state.exitCode;
  return undefined;
}

/**
 * How a session that reached a final state ends, seen from the caller that tries the job's
 * ports in turn. A handshake that failed on what the peer did (not on a signal or our own
 * end) sent nothing: `not-agent`, and the next port may be the agent. Otherwise the command's
 * exit code, with the one line for stderr when the session failed for a reason.
 */
export type ClientEnding =
  | { kind: "not-agent"; reason: string }
  | { kind: "ran"; exitCode: number; complaint?: string };

export function clientEnding(final: ClientState, inHandshake: boolean): ClientEnding {
  const reason = final.phase === "failed" ? final.reason : undefined;
  if (inHandshake && reason !== undefined) return { kind: "not-agent", reason };
  const exitCode = clientExitCode(final) ?? EXIT_SSH_FAILURE;
  return reason === undefined ? { kind: "ran", exitCode } : { kind: "ran", exitCode, complaint: reason };
}
