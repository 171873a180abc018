/**
 * One connection to the agent server as one state, changed only by named inputs. Pure;
 * io/agent-server-connection.ts feeds it the socket's frames, the child's end and the timer.
 *
 *   challenged ──authentic hello──▶ authenticated ──exec──▶ running ──child exited──▶ exited
 *        │                               │                     │
 *        └───────────────┬───────────────┘                     ▼
 *                        ▼                          dropped, spawned: every process the
 *                     dropped                       command started is killed (HUP, then KILL)
 *      (forged MAC, another node, malformed, closed, timeout,
 *       crowded: too many connections in the handshake at once, this one the oldest of a flood)
 *
 * Only `authenticated` leads to `running`, and only an authentic hello naming this node leads
 * to `authenticated`: a peer that does not hold the job's secret can never cause a spawn.
 */
import type { ExitStatus, ServerReceivePhase } from "./agent-messages.js";
import type { RefusalKind } from "./refusal-tally.js";

export type ServerState =
  /** Challenge sent; waiting for a hello (bounded by the handshake timeout). */
  | { phase: "challenged"; serverNonce: string }
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
   * server's refusal summary (core/refusal-tally.ts) rather than logged alone; "gone": it left
   * by itself, or the agent stopped, which is no refusal and is not said at all.
   */
  | { phase: "dropped"; reason: string; tell?: string; spawned: boolean; stranger?: RefusalKind | "gone" };

export type HelloVerdict = "authentic" | "forged" | "other-node";

export type ServerInput =
  /** A well-formed hello: whether its MAC is right, and whether it names this node. */
  | { type: "hello"; verdict: HelloVerdict; node: string }
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
  /** Too many connections are in their handshake: this one makes room (core/handshake-slots.ts). */
  | { type: "crowded" };

/** The next state; the same one when the input means nothing where the connection stands. */
export function nextServerState(state: ServerState, input: ServerInput, thisNode: string): ServerState {
  switch (state.phase) {
    case "challenged":
      switch (input.type) {
        case "hello":
          return acceptHello(input.verdict, input.node, thisNode);
        case "exec":
          return refused("exec before authentication", "rejected");
        case "crowded":
          return refused("too many connections in their handshake at once", "crowded out");
        default:
          return endHandshake(state, input);
      }
    case "authenticated":
      switch (input.type) {
        case "exec":
          return { phase: "running" };
        case "hello":
          return dropped("a second hello", false);
        default:
          return endHandshake(state, input);
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

function acceptHello(verdict: HelloVerdict, node: string, thisNode: string): ServerState {
  switch (verdict) {
    case "authentic":
      return { phase: "authenticated" };
    case "other-node":
      // The peer proved it holds the secret: it may learn where it landed.
      return dropped(`asked for ${node}`, false, `this is ${thisNode}, not ${node}`);
    case "forged":
      return {
        ...refused(`authentication failed (claimed node ${node})`, "rejected"),
        tell: "authentication failed (another job's secret, or not srun-docker)",
      };
    default: {
      const unreachable: never = verdict;
      return unreachable;
    }
  }
}

/** The handshake ends; before the hello proved the secret, as a stranger's connection. */
function endHandshake(state: ServerState, input: ServerInput): ServerState {
  const stranger = state.phase === "challenged";
  const end = (reason: string, kind: RefusalKind | "gone"): ServerState =>
    stranger ? { phase: "dropped", reason, spawned: false, stranger: kind } : dropped(reason, false);
  switch (input.type) {
    case "closed":
      return end(`closed during the handshake (${input.reason})`, "gone");
    case "timed-out":
      return end(stranger ? "no valid hello in time" : "no command in time after authentication", "timed out");
    case "malformed":
      return end(`malformed handshake (${input.reason})`, "rejected");
    case "shutdown":
      return end("the agent is shutting down", "gone");
    default:
      return state;
  }
}

function refused(reason: string, kind: RefusalKind): ServerState & { phase: "dropped" } {
  return { phase: "dropped", reason, spawned: false, stranger: kind };
}

function dropped(reason: string, spawned: boolean, tell?: string): ServerState {
  return tell === undefined ? { phase: "dropped", reason, spawned } : { phase: "dropped", reason, tell, spawned };
}

/** Which frames the connection accepts in `state` (see clientFrameLimit); undefined: none. */
export function receivePhaseOf(state: ServerState): ServerReceivePhase | undefined {
  switch (state.phase) {
    case "challenged":
      return "handshake";
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
