/**
 * The handshake's client side (core/channel/handshake.ts), one state changed only by named
 * inputs. Nothing the server says counts before its welcome proves it holds the key: a
 * stranger on the port learns neither the client's command nor anything it would send next.
 *
 *   awaiting-challenge ──challenge──▶ awaiting-welcome (hello sent) ──authentic welcome──▶ established
 *        └───────── another version, forged welcome, reject, malformed, closed, timed out ──▶ failed
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

export type ChannelFailure =
  | { readonly kind: "version"; readonly theirs: number; readonly ours: number }
  /** The welcome's MAC is not the key's: whatever listens there is not this job step's. */
  | { readonly kind: "forged" }
  | { readonly kind: "rejected"; readonly reason: string }
  | { readonly kind: "malformed"; readonly reason: string }
  | { readonly kind: "closed"; readonly reason: string }
  | { readonly kind: "timed-out" }
  | { readonly kind: "shutdown" };

export type ClientHandshake =
  | { readonly phase: "awaiting-challenge"; readonly nonce: string }
  | { readonly phase: "awaiting-welcome"; readonly nonces: Nonces }
  | { readonly phase: "established"; readonly about?: About }
  | { readonly phase: "failed"; readonly failure: ChannelFailure };

export interface ClientContext {
  readonly key: ChannelKey;
  readonly binding: ChannelBinding;
  /** The node the hello names (the agent: the node wanted; the others: the client's own). */
  readonly node: string;
  /** The protocol's facts for the hello. */
  readonly about?: About;
}

/** How a protocol names the server and the client in the one line a failed handshake gets. */
export interface FailureWords {
  /** "its agent", "the master". */
  readonly server: string;
  /** What stands on the port until it proves otherwise: "the program on its agent port". */
  readonly onPort: string;
  /** What a forged welcome means: "not this job's agent". */
  readonly notOurs: string;
  /** Who was refused: "the connection", "this node". */
  readonly refused: string;
  /** This side, beside its version: "this one", "this node". */
  readonly us: string;
}

/** Why the handshake failed, as the one line for the user. */
export function describeChannelFailure(failure: ChannelFailure, words: FailureWords): string {
  switch (failure.kind) {
    case "version":
      return `${words.server} speaks protocol ${failure.theirs}, ${words.us} ${failure.ours} (use one srun-docker version on every node)`;
    case "forged":
      return `${words.onPort} failed authentication (${words.notOurs})`;
    case "rejected":
      return `${words.server} refused ${words.refused}: ${failure.reason}`;
    case "malformed":
      return `${words.onPort} sent something malformed (${failure.reason})`;
    case "closed":
      return failure.reason;
    case "timed-out":
    case "shutdown":
      return "the handshake did not end";
    default: {
      const unreachable: never = failure;
      return unreachable;
    }
  }
}

export function startClient(nonce: string): ClientHandshake {
  return { phase: "awaiting-challenge", nonce };
}

/** What the client accepts before the handshake ends: the server's three, a few KiB each. */
export function serverHandshakeLimit(type: number): number | undefined {
  const handshake: number[] = [HandshakeFrame.challenge, HandshakeFrame.welcome, HandshakeFrame.reject];
  return handshake.includes(type) ? MAX_HANDSHAKE_BYTES : undefined;
}

export function stepClient(state: ClientHandshake, input: HandshakeInput, ctx: ClientContext): Step<ClientHandshake> {
  if (state.phase === "established" || state.phase === "failed") return { state };
  switch (input.type) {
    case "frame":
      return receiveFrame(state, input.frameType, input.payload, ctx);
    case "malformed":
    case "closed":
      return failed({ kind: input.type, reason: input.reason });
    case "timed-out":
    case "shutdown":
      return failed({ kind: input.type });
    case "crowded":
      return { state };
    default: {
      const unreachable: never = input;
      return unreachable;
    }
  }
}

function receiveFrame(
  state: ClientHandshake & { phase: "awaiting-challenge" | "awaiting-welcome" },
  frameType: number,
  payload: string,
  ctx: ClientContext,
): Step<ClientHandshake> {
  switch (frameType) {
    case HandshakeFrame.challenge:
      return state.phase === "awaiting-challenge"
        ? receiveChallenge(state.nonce, payload, ctx)
        : failed({ kind: "malformed", reason: "a second challenge" });
    case HandshakeFrame.welcome:
      return state.phase === "awaiting-welcome"
        ? receiveWelcome(state.nonces, payload, ctx)
        : failed({ kind: "malformed", reason: "a welcome before the challenge" });
    case HandshakeFrame.reject: {
      const reject = parseHandshake(HandshakeFrame.reject, payload);
      return failed({ kind: "rejected", reason: reject?.reason ?? "no reason given" });
    }
    default:
      return failed({ kind: "malformed", reason: `frame type ${frameType} in the handshake` });
  }
}

function receiveChallenge(nonce: string, payload: string, ctx: ClientContext): Step<ClientHandshake> {
  const challenge = parseHandshake(HandshakeFrame.challenge, payload);
  if (challenge === undefined) return failed({ kind: "malformed", reason: "bad challenge" });
  if (challenge.v !== ctx.binding.version) {
    return failed({ kind: "version", theirs: challenge.v, ours: ctx.binding.version });
  }
  const nonces = { server: challenge.nonce, client: nonce };
  const mac = ctx.key.sign(transcript("client", ctx.binding, ctx.node, nonces));
  const hello = { node: ctx.node, nonce, mac };
  return {
    state: { phase: "awaiting-welcome", nonces },
    send: { type: HandshakeFrame.hello, message: ctx.about === undefined ? hello : { ...hello, about: ctx.about } },
  };
}

function receiveWelcome(nonces: Nonces, payload: string, ctx: ClientContext): Step<ClientHandshake> {
  const welcome = parseHandshake(HandshakeFrame.welcome, payload);
  if (welcome === undefined) return failed({ kind: "malformed", reason: "bad welcome" });
  if (!ctx.key.verify(transcript("server", ctx.binding, ctx.node, nonces), welcome.mac)) {
    return failed({ kind: "forged" });
  }
  return {
    state: welcome.about === undefined ? { phase: "established" } : { phase: "established", about: welcome.about },
  };
}

function failed(failure: ChannelFailure): Step<ClientHandshake> {
  return { state: { phase: "failed", failure } };
}
