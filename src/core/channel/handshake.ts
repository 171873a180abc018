/**
 * The authenticated channel's handshake, once for every protocol that speaks between the nodes
 * of a job step (the rendezvous, the agent, the image relay) or between a container and its
 * node (the Slurm relay): one state machine per side, pure.
 * io/channel/ puts it on a socket, in the frames of core/channel/agent-frames.ts, and supplies the key.
 *
 *   server → challenge {v, nonce}
 *   client → hello {node, nonce, mac: MAC(key, transcript("client")), about?}
 *   server → welcome {mac: MAC(key, transcript("server")), about?}, or reject {reason}
 *
 * The transcript binds both MACs to the protocol and the side that computed them (a MAC made
 * for one never passes as another's, so the step's one key serves every protocol without one
 * becoming an oracle for another), the job step, both nonces (a recorded handshake replays
 * nowhere), the node the hello names, and the port the client reached: a stranger on another
 * of the job's candidate ports that relays a hello gets it refused, since it names his port.
 * The server spawns, serves or admits nothing before an authentic hello; the client sends
 * nothing of its own before an authentic welcome. `about` carries a protocol's few facts of
 * the hello or welcome (a worker's rank, the job's MASTER_PORT); the protocol checks its shape.
 */
import * as z from "zod/mini";
import { parseJsonAs } from "../common/index.js";

export type ChannelProtocol = "rendezvous" | "agent" | "relay" | "slurm";
export type ChannelSide = "client" | "server";

/** The handshake's frame types, the same in every protocol (its own frames come after). */
export const HandshakeFrame = { challenge: 0x01, hello: 0x02, welcome: 0x03, reject: 0x04 } as const;
export type HandshakeFrameType = (typeof HandshakeFrame)[keyof typeof HandshakeFrame];
/** A handshake frame is small: a stranger can make a server buffer no more than this. */
export const MAX_HANDSHAKE_BYTES = 4 * 1024;

/** What one handshake is bound to, the same on both sides when both are honest. */
export interface ChannelBinding {
  readonly protocol: ChannelProtocol;
  /** The protocol's version: a peer of another build is told so, not refused as a forger. */
  readonly version: number;
  readonly jobKey: string;
  /** The port the client connected to. */
  readonly port: number;
}

/** The job step's key: io/channel/key.ts computes MACs with it and compares in constant time. */
export interface ChannelKey {
  sign(transcript: string): string;
  verify(transcript: string, mac: string): boolean;
}

const nonce = z.string().check(z.regex(/^[0-9a-f]{32}$/));
const mac = z.string().check(z.regex(/^[0-9a-f]{64}$/));
// A node name is a Slurm host name; "|" would make the transcript ambiguous.
const nodeName = z.string().check(z.regex(/^[^|\s\p{Cc}]{1,255}$/u));
const about = z.optional(z.record(z.string(), z.unknown()));

const schemas = {
  [HandshakeFrame.challenge]: z.strictObject({ v: z.int(), nonce }),
  [HandshakeFrame.hello]: z.strictObject({ node: nodeName, nonce, mac, about }),
  [HandshakeFrame.welcome]: z.strictObject({ mac, about }),
  [HandshakeFrame.reject]: z.strictObject({ reason: z.string().check(z.maxLength(1024)) }),
};
export type HandshakeMessage<T extends HandshakeFrameType> = z.infer<(typeof schemas)[T]>;
export type About = Record<string, unknown>;

export function parseHandshake<T extends HandshakeFrameType>(
  type: T,
  payload: string,
): HandshakeMessage<T> | undefined {
  return parseJsonAs(schemas[type] as z.ZodMiniType, payload) as HandshakeMessage<T> | undefined;
}

/** What one side's MAC is computed over. */
export function transcript(side: ChannelSide, binding: ChannelBinding, node: string, nonces: Nonces): string {
  return [`${binding.protocol}-${side}`, binding.jobKey, nonces.server, nonces.client, node, binding.port].join("|");
}

export interface Nonces {
  readonly server: string;
  readonly client: string;
}

/** One frame a side sends. */
export type Outgoing = { [T in HandshakeFrameType]: { type: T; message: HandshakeMessage<T> } }[HandshakeFrameType];

/** Something a side received, or what happened to the connection instead. */
export type HandshakeInput =
  | { type: "frame"; frameType: number; payload: string }
  | { type: "malformed"; reason: string }
  | { type: "closed"; reason: string }
  | { type: "timed-out" }
  /** The server makes room for a newer connection (core/channel/handshake-slots.ts). */
  | { type: "crowded" }
  /** The side is shutting down. */
  | { type: "shutdown" };

export interface Step<S> {
  state: S;
  send?: Outgoing;
}
