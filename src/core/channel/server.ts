/**
 * The handshake's server side (core/channel/handshake.ts), one state changed only by named
 * inputs. Only an authentic hello that the protocol admits leads to `established`: a peer that
 * does not hold the job step's key can never cause anything but its own refusal.
 *
 *   challenged ──authentic, admitted hello──▶ established (welcome sent)
 *        └──forged, malformed, not admitted, closed, timed out, crowded out──▶ refused
 */

import {
  type About,
  type ChannelBinding,
  type ChannelKey,
  HandshakeFrame,
  type HandshakeInput,
  MAX_HANDSHAKE_BYTES,
  type Nonces,
  parseHandshake,
  type Step,
  transcript,
} from "./handshake.js";
import type { RefusalKind } from "./refusal-tally.js";

/** A client that proved it holds the key. */
export interface Peer {
  readonly node: string;
  readonly about?: About;
  readonly nonces: Nonces;
}

export type ServerHandshake =
  /** Challenge sent; waiting for a hello. */
  | { readonly phase: "challenged"; readonly nonce: string }
  | { readonly phase: "established"; readonly peer: Peer }
  /**
   * `tell` goes to the peer as a reject. `stranger`: the peer never proved it holds the key,
   * so the refusal is counted in the server's summary (core/channel/refusal-tally.ts), not logged
   * alone; "gone": it left by itself, or the server stopped, which is no refusal at all.
   */
  | {
      readonly phase: "refused";
      readonly reason: string;
      readonly tell?: string;
      readonly stranger?: RefusalKind | "gone";
      /** A forged hello: the node it claimed to be (a server may tell the user of the attempt). */
      readonly claimed?: string;
    };

/** The protocol's word on an authentic hello: welcome it (with facts of its own), or not. */
export type Admission = { readonly welcome: About | undefined } | { readonly refuse: string; readonly tell: string };

export interface ServerContext {
  readonly key: ChannelKey;
  readonly binding: ChannelBinding;
  admit(peer: Peer): Admission;
}

export function startServer(binding: ChannelBinding, nonce: string): Step<ServerHandshake> {
  return {
    state: { phase: "challenged", nonce },
    send: { type: HandshakeFrame.challenge, message: { v: binding.version, nonce } },
  };
}

/** What the server accepts before the handshake ends: one hello, a few KiB at most. */
export function clientHandshakeLimit(type: number): number | undefined {
  return type === HandshakeFrame.hello ? MAX_HANDSHAKE_BYTES : undefined;
}

export function stepServer(state: ServerHandshake, input: HandshakeInput, ctx: ServerContext): Step<ServerHandshake> {
  if (state.phase !== "challenged") return { state };
  switch (input.type) {
    case "frame":
      return input.frameType === HandshakeFrame.hello
        ? receiveHello(state.nonce, input.payload, ctx)
        : { state: stranger(`malformed handshake (frame type ${input.frameType})`, "rejected") };
    case "malformed":
      return { state: stranger(`malformed handshake (${input.reason})`, "rejected") };
    case "closed":
      return { state: stranger(`closed during the handshake (${input.reason})`, "gone") };
    case "timed-out":
      return { state: stranger("no valid hello in time", "timed out") };
    case "crowded":
      return { state: stranger("too many connections in their handshake at once", "crowded out") };
    case "shutdown":
      return { state: stranger("shutting down", "gone") };
    default: {
      const unreachable: never = input;
      return unreachable;
    }
  }
}

function receiveHello(nonce: string, payload: string, ctx: ServerContext): Step<ServerHandshake> {
  const hello = parseHandshake(HandshakeFrame.hello, payload);
  if (hello === undefined) return { state: stranger("malformed handshake (bad hello)", "rejected") };
  const nonces = { server: nonce, client: hello.nonce };
  if (!ctx.key.verify(transcript("client", ctx.binding, hello.node, nonces), hello.mac)) {
    const refused = {
      ...stranger(`authentication failed (claimed node ${hello.node})`, "rejected"),
      claimed: hello.node,
    };
    const tell = "authentication failed (another job's secret, or not srun-docker)";
    return { state: refused, send: { type: HandshakeFrame.reject, message: { reason: tell } } };
  }
  const peer: Peer =
    hello.about === undefined ? { node: hello.node, nonces } : { node: hello.node, about: hello.about, nonces };
  const admission = ctx.admit(peer);
  // The peer proved it holds the key: it may learn why it was not admitted.
  if ("refuse" in admission) {
    return {
      state: { phase: "refused", reason: admission.refuse, tell: admission.tell },
      send: { type: HandshakeFrame.reject, message: { reason: admission.tell } },
    };
  }
  const mac = ctx.key.sign(transcript("server", ctx.binding, hello.node, nonces));
  const about = admission.welcome;
  return {
    state: { phase: "established", peer },
    send: { type: HandshakeFrame.welcome, message: about === undefined ? { mac } : { mac, about } },
  };
}

function stranger(reason: string, kind: RefusalKind | "gone"): ServerHandshake {
  return { phase: "refused", reason, stranger: kind };
}
