/**
 * One connection to a node's Slurm relay as one state, changed only by named inputs. Pure;
 * io/slurm-relay/slurm-relay-connection.ts feeds it the channel's outcome, the command frame,
 * the command's end and the timer, and does what each new state asks for.
 *
 *   handshake ──established──▶ awaiting-command ──command──▶ running ──command ended──▶ exited
 *       │                             │                         │
 *       └──────────────┬──────────────┘                         ▼
 *                      ▼                          ended, ran: the command is stopped
 *              ended (nothing ran)                (SIGTERM, then SIGKILL)
 *   (the channel refused it: core/channel/server.ts; after it: malformed, closed, timeout)
 *
 * Only `awaiting-command` leads to `running`, only an authentic hello naming this node leads
 * there, and only a command of the allow list's shape (core/slurm-relay/slurm-relay-protocol.ts)
 * makes the move: anything else from the container ends the connection with nothing run.
 */
import type { ExitStatus } from "../agent/index.js";
import type { RefusalKind } from "../channel/index.js";
import type { RelayReceivePhase, SlurmRequest } from "./slurm-relay-protocol.js";

export type RelayConnectionState =
  /** The channel's handshake runs, bounded by the handshake timeout. */
  | { readonly phase: "handshake" }
  /** Welcome sent; waiting for the command (bounded by the same timeout). */
  | { readonly phase: "awaiting-command" }
  /** The host's command runs; input, output and signals flow. */
  | { readonly phase: "running"; readonly request: SlurmRequest }
  /** The command ended (or could not start) and said so: the exit goes out, the connection ends. */
  | { readonly phase: "exited"; readonly status: ExitStatus }
  /**
   * The connection ends without an exit; `ran`: a command was started and is stopped.
   * `stranger`: the peer never proved it holds the key (counted in the relay's refusal summary).
   */
  | { readonly phase: "ended"; readonly reason: string; readonly ran: boolean; readonly stranger?: RefusalKind };

export type RelayConnectionInput =
  /** The channel's handshake ended with a client that holds the key and names this node. */
  | { readonly type: "established" }
  | { readonly type: "refused"; readonly reason: string; readonly stranger?: RefusalKind }
  /** A command of the allowed shape. */
  | { readonly type: "command"; readonly request: SlurmRequest }
  /** A frame that is not allowed here, too long, not valid, or past the stdin window. */
  | { readonly type: "malformed"; readonly reason: string }
  /** The command's process ended and its output reached its end, or it could not start. */
  | { readonly type: "command-ended"; readonly status: ExitStatus }
  /** The client went away, or the socket failed. */
  | { readonly type: "closed"; readonly reason: string }
  | { readonly type: "timed-out" }
  /** The relay is closing (the job's run ends). */
  | { readonly type: "shutdown" };

/** The next state; the same one when the input means nothing where the connection stands. */
export function nextRelayConnectionState(
  state: RelayConnectionState,
  input: RelayConnectionInput,
): RelayConnectionState {
  switch (state.phase) {
    case "handshake":
      if (input.type === "established") return { phase: "awaiting-command" };
      if (input.type === "refused") return ended(input.reason, false, input.stranger);
      return endBefore(state, input, "during the handshake");
    case "awaiting-command":
      if (input.type === "command") return { phase: "running", request: input.request };
      return endBefore(state, input, "before any command");
    case "running":
      return endRunning(state, input);
    case "exited":
    case "ended":
      return state;
    default: {
      const unreachable: never = state;
      return unreachable;
    }
  }
}

/** Before a command ran: every end runs nothing. */
function endBefore(state: RelayConnectionState, input: RelayConnectionInput, when: string): RelayConnectionState {
  switch (input.type) {
    case "malformed":
      return ended(`malformed ${when} (${input.reason})`, false);
    case "closed":
      return ended(`closed ${when} (${input.reason})`, false);
    case "timed-out":
      return ended(`no command in time (${when})`, false, state.phase === "handshake" ? "timed out" : undefined);
    case "shutdown":
      return ended("the relay is closing", false);
    default:
      return state;
  }
}

function endRunning(state: RelayConnectionState, input: RelayConnectionInput): RelayConnectionState {
  switch (input.type) {
    case "command-ended":
      return { phase: "exited", status: input.status };
    case "malformed":
      return ended(`malformed input from the client (${input.reason})`, true);
    case "closed":
      return ended(`the client went away (${input.reason})`, true);
    case "shutdown":
      return ended("the relay is closing", true);
    default:
      return state;
  }
}

function ended(reason: string, ran: boolean, stranger?: RefusalKind): RelayConnectionState {
  return stranger === undefined ? { phase: "ended", reason, ran } : { phase: "ended", reason, ran, stranger };
}

/** Which frames the connection reads in `state`; undefined: none of its own (the channel reads, or nothing). */
export function relayReceivePhaseOf(state: RelayConnectionState): RelayReceivePhase | undefined {
  switch (state.phase) {
    case "awaiting-command":
      return "command";
    // Input the client sent before it read the exit still arrives: read, ignored.
    case "running":
    case "exited":
      return "running";
    default:
      return undefined;
  }
}
