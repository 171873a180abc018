/**
 * One connection to the agent server as one state, changed only by named inputs. Pure;
 * io/agent/agent-server-connection.ts feeds it the channel's outcome, the socket's frames, the
 * child's end and the timer.
 *
 *   handshake ──established──▶ authenticated ──exec──▶ running ──child exited──▶ exited
 *        │                           │                    │
 *        └─────────────┬─────────────┘                    ▼
 *                      ▼                       dropped, spawned: every process the
 *                   dropped                    command started is killed (HUP, then KILL)
 *   (the channel refused it: core/channel/server.ts; after it: malformed, closed, timeout)
 *
 * Only `authenticated` leads to `running`, and only the channel's handshake with a hello
 * naming this node leads to `authenticated`: a peer without the job's secret can never cause
 * a spawn.
 */

import type { RefusalKind } from "../channel/index.js";
import { type ExitStatus, type ServerReceivePhase, STDIN_WINDOW_BYTES } from "./agent-messages.js";

export type ServerState =
  /** The channel's handshake runs (core/channel/server.ts), bounded by the handshake timeout. */
  | { phase: "handshake" }
  /** Welcome sent; waiting for the exec (bounded by the same timeout). */
  | { phase: "authenticated" }
  /** The command's process runs; input, output and signals flow. */
  | { phase: "running" }
  /** The command ended and its output was drained; the exit goes out, the connection ends. */
  | { phase: "exited"; status: ExitStatus }
  /**
   * The connection ends without an exit. `tell` is sent to the peer as a reject first (only
   * during the handshake); `spawned` means a command was started and must be killed, whole.
   * `stranger`: the peer never proved it holds the secret, so the end is counted in the
   * server's refusal summary (core/channel/refusal-tally.ts) rather than logged alone; "gone": it left
   * by itself, or the agent stopped, which is no refusal and is not said at all.
   */
  | { phase: "dropped"; reason: string; tell?: string; spawned: boolean; stranger?: RefusalKind | "gone" };

export type ServerInput =
  /** The channel's handshake ended with a client that holds the secret and wants this node. */
  | { type: "established" }
  /** The channel refused the client; `stranger` as in `dropped`. */
  | { type: "refused"; reason: string; tell?: string; stranger?: RefusalKind | "gone" }
  | { type: "exec" }
  /** The command's process exited and its stdout and stderr reached their end. */
  | { type: "child-exited"; status: ExitStatus }
  /** The peer closed the connection, or it failed. */
  | { type: "closed"; reason: string }
  | { type: "timed-out" }
  /** A frame that is not allowed here, too long, or not valid. */
  | { type: "malformed"; reason: string }
  /** The server is shutting down. */
  | { type: "shutdown" }
  /** Too many connections are in their handshake: this one makes room (core/channel/handshake-slots.ts). */
  | { type: "crowded" };

/** The next state; the same one when the input means nothing where the connection stands. */
export function nextServerState(state: ServerState, input: ServerInput): ServerState {
  switch (state.phase) {
    case "handshake":
      switch (input.type) {
        case "established":
          return { phase: "authenticated" };
        case "refused":
          return { phase: "dropped", spawned: false, ...withoutUndefined(input) };
        default:
          return state;
      }
    case "authenticated":
      switch (input.type) {
        case "exec":
          return { phase: "running" };
        default:
          return endAuthenticated(state, input);
      }
    case "running":
      switch (input.type) {
        case "child-exited":
          return { phase: "exited", status: input.status };
        case "closed":
          return dropped(`the client went away (${input.reason})`, true);
        case "malformed":
          return dropped(`malformed input from the client (${input.reason})`, true);
        case "shutdown":
          return dropped("the agent is shutting down", true);
        default:
          return state;
      }
    case "exited":
    case "dropped":
      return state;
    default: {
      const unreachable: never = state;
      return unreachable;
    }
  }
}

/** After the handshake, before the exec: the connection ends without a command. */
function endAuthenticated(state: ServerState, input: ServerInput): ServerState {
  switch (input.type) {
    case "closed":
      return dropped(`closed during the handshake (${input.reason})`, false);
    case "timed-out":
      return dropped("no command in time after authentication", false);
    case "malformed":
      return dropped(`malformed handshake (${input.reason})`, false);
    case "shutdown":
      return dropped("the agent is shutting down", false);
    default:
      return state;
  }
}

function withoutUndefined(
  input: ServerInput & { type: "refused" },
): Omit<ServerState & { phase: "dropped" }, "phase" | "spawned"> {
  const { reason, tell, stranger } = input;
  return { reason, ...(tell === undefined ? {} : { tell }), ...(stranger === undefined ? {} : { stranger }) };
}

function dropped(reason: string, spawned: boolean, tell?: string): ServerState {
  return tell === undefined ? { phase: "dropped", reason, spawned } : { phase: "dropped", reason, tell, spawned };
}

/** Which frames the connection accepts in `state` (see clientFrameLimit); undefined: none of its own (the channel reads). */
export function receivePhaseOf(state: ServerState): ServerReceivePhase | undefined {
  switch (state.phase) {
    case "handshake":
      return undefined;
    case "authenticated":
      return "exec";
    // After the exit, input the client sent before it read the exit still arrives: read, ignored.
    case "running":
    case "exited":
      return "running";
    case "dropped":
      return undefined;
    default: {
      const unreachable: never = state;
      return unreachable;
    }
  }
}

/**
 * The server's side of the stdin window (core/agent/agent-messages.ts): bytes the client sent,
 * bytes the command took, and how far the client may send. The client may never send past
 * `granted`; the server grants more once the command took a good part of what it had.
 */
export interface StdinWindow {
  readonly received: number;
  readonly taken: number;
  readonly granted: number;
}

export const FRESH_STDIN_WINDOW: StdinWindow = { received: 0, taken: 0, granted: STDIN_WINDOW_BYTES };

/** The window after `bytes` more came; undefined when they go past what was granted. */
export function receiveStdin(window: StdinWindow, bytes: number): StdinWindow | undefined {
  const received = window.received + bytes;
  return received > window.granted ? undefined : { ...window, received };
}

/**
 * The window after the command took `bytes`, and how many more bytes to grant the client (0:
 * none yet). A grant goes out once a quarter of the window was taken, or everything sent was.
 */
export function takeStdin(window: StdinWindow, bytes: number): { window: StdinWindow; grant: number } {
  const taken = window.taken + bytes;
  const owed = taken - (window.granted - STDIN_WINDOW_BYTES);
  if (owed >= STDIN_WINDOW_BYTES / 4 || (taken === window.received && owed > 0)) {
    return { window: { ...window, taken, granted: window.granted + owed }, grant: owed };
  }
  return { window: { ...window, taken }, grant: 0 };
}
