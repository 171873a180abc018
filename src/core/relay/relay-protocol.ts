/**
 * The image relay of `--pull-once` (core/relay/relay-tree.ts says who serves whom): one TCP connection
 * per child, the authenticated channel (core/channel/handshake.ts: challenge, hello naming the
 * child's node, welcome), then frames of its own. Pure.
 *
 *   server → wait (empty), every few seconds until it has the image (and while nothing else goes out)
 *   server → start {id, size?} · data (raw, the engine's `save` archive) ... · end {bytes}
 *            or unavailable {reason} (this node could not get the image: the child falls back)
 *
 * Both sides prove they hold the job's secret, bound to the job step, both nonces, the child's
 * node and the port it connected to (a squatter on another candidate cannot relay the handshake):
 * the server serves nobody else, and the child loads nothing from a server that did not prove
 * it. The archive itself needs no MAC: the child checks the image ID it loaded (the digest of
 * the image's config, which names every layer's digest) against the one the server announced
 * and, where the master knows it, the job's.
 */
import * as z from "zod/mini";
import { MAX_CONTROL_BYTES, MAX_DATA_BYTES } from "../channel/index.js";
import { parseJsonAs } from "../common/index.js";

/**
 * 3: the handshake is the authenticated channel's (core/channel/). 2: the MACs are keyed with
 * the job step's secret, not the user's.
 */
export const RELAY_PROTOCOL_VERSION = 3;

/** The relay's own frames, after the channel's handshake (core/channel/handshake.ts). */
export const RelayFrame = {
  /** Empty: the server is alive and has no image yet (or nothing else to send right now). */
  wait: 0x35,
  start: 0x36,
  /** Raw bytes of the archive. */
  data: 0x37,
  end: 0x38,
  unavailable: 0x39,
} as const;

export type RelayFrameType = (typeof RelayFrame)[keyof typeof RelayFrame];

const imageId = z.string().check(z.regex(/^sha256:[0-9a-f]{64}$/));
const bytes = z.int().check(z.minimum(0), z.maximum(Number.MAX_SAFE_INTEGER));
const reason = z.string().check(z.maxLength(2048));

const schemas = {
  [RelayFrame.start]: z.strictObject({ id: imageId, size: z.optional(bytes) }),
  [RelayFrame.end]: z.strictObject({ bytes }),
  [RelayFrame.unavailable]: z.strictObject({ reason }),
};

type Schemas = typeof schemas;
export type RelayControlType = keyof Schemas;
export type RelayControl<T extends RelayControlType> = z.infer<Schemas[T]>;

/** A control frame's payload, or undefined when it is not valid JSON of the expected shape. */
export function parseRelayControl<T extends RelayControlType>(type: T, payload: Buffer): RelayControl<T> | undefined {
  return parseJsonAs(schemas[type] as z.ZodMiniType, payload.toString("utf8")) as RelayControl<T> | undefined;
}

export function encodeRelayControl<T extends RelayControlType>(_type: T, message: RelayControl<T>): Buffer {
  return Buffer.from(JSON.stringify(message), "utf8");
}

/** The five header bytes of a relay frame. */
export function encodeRelayHeader(type: RelayFrameType, length: number): Buffer {
  const header = Buffer.allocUnsafe(5);
  header.writeUInt8(type, 0);
  header.writeUInt32BE(length, 1);
  return header;
}

/** Where the client stands, as far as which frames it accepts. */
export type RelayReceivePhase = "waiting" | "receiving";

/** What the client accepts from the server after the handshake: wait/start/unavailable, then data and end. */
export function relayServerFrameLimit(phase: RelayReceivePhase, type: number): number | undefined {
  switch (phase) {
    case "waiting":
      if (type === RelayFrame.wait) return 0;
      return type === RelayFrame.start || type === RelayFrame.unavailable ? MAX_CONTROL_BYTES : undefined;
    case "receiving":
      if (type === RelayFrame.data) return MAX_DATA_BYTES;
      if (type === RelayFrame.wait) return 0;
      return type === RelayFrame.end ? MAX_CONTROL_BYTES : undefined;
    default: {
      const unreachable: never = phase;
      return unreachable;
    }
  }
}
