/**
 * One child's connection to this node's image relay (`--pull-once`, core/relay/relay-protocol.ts), as
 * one state changed only by named inputs. Pure: io/relay/relay-server.ts feeds it the socket's hello,
 * what this node's own fetch came to, the engine's `save` stream and the socket's end.
 *
 *   challenged ─authentic hello─▶ waiting ─this node has the image─▶ streaming ─saved─▶ sent
 *                                   │ this node's fetch failed         │ save failed
 *                                   ▼                                  ▼
 *                              unavailable                          dropped
 *   forged or malformed hello, the handshake's timeout, the socket's end: dropped
 *
 * Nothing is streamed to a connection that did not prove it holds the job's secret. A
 * stranger's connection (dropped while challenged) says why as `stranger`, for the server's
 * refusal summary (core/channel/refusal-tally.ts); "gone": it closed by itself, which is no refusal.
 */
import type { RefusalKind } from "../channel/index.js";

export type RelayServeState =
  /** The channel's handshake runs (core/channel/server.ts). */
  | { readonly phase: "handshake" }
  | { readonly phase: "waiting"; readonly node: string }
  | { readonly phase: "streaming"; readonly node: string; readonly id: string; readonly bytes: number }
  | { readonly phase: "sent"; readonly node: string; readonly bytes: number }
  | { readonly phase: "unavailable"; readonly node: string; readonly reason: string }
  | { readonly phase: "dropped"; readonly reason: string; readonly stranger?: RefusalKind | "gone" };

/** What this node's own fetch came to, as the server knows it. */
export type RelayOffer =
  | { readonly kind: "pending" }
  | { readonly kind: "ready"; readonly id: string }
  | { readonly kind: "failed"; readonly reason: string };

export type RelayServeInput =
  /** The channel's handshake ended: `node` proved it holds the job's secret. */
  | { readonly type: "established"; readonly node: string }
  | { readonly type: "offer"; readonly offer: RelayOffer }
  | { readonly type: "streamed"; readonly length: number }
  | { readonly type: "saved" }
  | { readonly type: "save-failed"; readonly reason: string }
  /** The connection ends: the peer closed it, or the server refused it (`refusal`, before the hello). */
  | { readonly type: "closed"; readonly reason: string; readonly refusal?: RefusalKind };

export function nextRelayServeState(state: RelayServeState, input: RelayServeInput): RelayServeState {
  if (state.phase === "dropped" || state.phase === "sent" || state.phase === "unavailable") return state;
  if (input.type === "closed") {
    if (state.phase !== "handshake") return { phase: "dropped", reason: input.reason };
    return { phase: "dropped", reason: input.reason, stranger: input.refusal ?? "gone" };
  }
  switch (state.phase) {
    case "handshake":
      return input.type === "established" ? { phase: "waiting", node: input.node } : state;
    case "waiting":
      if (input.type !== "offer") return state;
      switch (input.offer.kind) {
        case "pending":
          return state;
        case "ready":
          return { phase: "streaming", node: state.node, id: input.offer.id, bytes: 0 };
        case "failed":
          return { phase: "unavailable", node: state.node, reason: input.offer.reason };
        default: {
          const unreachable: never = input.offer;
          return unreachable;
        }
      }
    case "streaming":
      switch (input.type) {
        case "streamed":
          return { ...state, bytes: state.bytes + input.length };
        case "saved":
          return { phase: "sent", node: state.node, bytes: state.bytes };
        case "save-failed":
          return { phase: "dropped", reason: `saving the image for ${state.node} failed: ${input.reason}` };
        default:
          return state;
      }
    default: {
      const unreachable: never = state;
      return unreachable;
    }
  }
}

/**
 * The `wait` ping that keeps a waiting child from calling this node silent: after `idleMs`
 * with nothing sent, whether to send one now (not while the socket is still full), and how
 * long until the next look. What this node sends anyway (the archive) counts as a ping.
 */
export function planWaitPing(
  idleMs: number,
  waitPingMs: number,
  socketFull: boolean,
): { readonly send: boolean; readonly nextInMs: number } {
  const send = idleMs >= waitPingMs && !socketFull;
  return { send, nextInMs: Math.max(1, waitPingMs - (send ? 0 : idleMs)) };
}
