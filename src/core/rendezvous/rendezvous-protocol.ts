/**
 * The rendezvous wire protocol, pure: its messages, their validation and framing. The
 * connection is the authenticated channel (core/channel/handshake.ts): the worker's hello names
 * its node, with its rank and, with --pull-once, its image relay's port (`about`); the
 * master's welcome says the MASTER_PORT it chose for the job. Then every message is one JSON
 * object in a frame of core/channel/agent-frames.ts (type RENDEZVOUS_MESSAGE). The master and worker
 * edges (io/rendezvous/rendezvous-master*.ts, io/rendezvous/rendezvous-worker*.ts) own the sockets.
 *
 * With sshd on ports of its own choosing (core/ports/remote-ports.ts), each worker sends
 * {type:"remote-port", port} once its sshd listens; once every node's sshd does, the master
 * sends each worker {type:"remote-ports", moved}, the nodes off the first candidate with their
 * ports (usually none), and the worker reports ready only after its files know them.
 * Then the worker sends "ready" or "failed", the master "done" or "abort"; both send "ping".
 * With the "each" launcher the master also sends "go" once every worker is ready, and each
 * worker answers "exited" with its own script's code when that ends, then waits for done/abort.
 * The image: the master sends "image" (the one reference every node runs, pinned to a digest or
 * an image ID) to each joined worker; a worker that has to fetch it reports "pull" progress and
 * "pulled" before "ready", and its pull does not count against the readiness deadline.
 * With --pull-once the master tells each worker, once the node it gets the image from
 * (core/relay/relay-tree.ts) has joined, that node and its relay's port: {type:"relay", node, port}
 * (no port: that node could not listen, so this one pulls from the registry). Its "pull"
 * reports then say `from`.
 */
import * as z from "zod/mini";
import type { About } from "../channel/index.js";
import { encodeFrame, type FrameType } from "../channel/index.js";
import { parseJsonAs } from "../common/index.js";

/**
 * 6: the handshake is the authenticated channel's, and messages go in frames, not lines.
 * 5: a worker says its sshd's port once it listens (`remote-port`), no longer in its hello.
 * 4: every MAC is keyed with the job step's secret (io/channel/key.ts deriveJobSecret).
 */
export const PROTOCOL_VERSION = 6;
/** The frame type of every rendezvous message after the handshake. */
export const RENDEZVOUS_MESSAGE = 0x40 as FrameType;
/** A longer message is an attack or a bug: the connection is dropped. */
export const MAX_MESSAGE_BYTES = 64 * 1024;

// A node name is a Slurm host name; "|" would make the MAC input ambiguous.
const nodeName = z.string().check(z.regex(/^[^|\s\p{Cc}]{1,255}$/u));
const text = z.string().check(z.maxLength(16 * 1024));
const exitCode = z.int().check(z.minimum(0), z.maximum(255));
const imageId = z.string().check(z.regex(/^sha256:[0-9a-f]{64}$/));
const byteCount = z.int().check(z.minimum(0), z.maximum(Number.MAX_SAFE_INTEGER));
const port = z.int().check(z.minimum(1), z.maximum(65_535));

const masterMessage = z.discriminatedUnion("type", [
  z.object({ type: z.literal("ping") }),
  z.object({ type: z.literal("done"), exitCode }),
  z.object({ type: z.literal("abort"), reason: text }),
  z.object({ type: z.literal("go") }),
  z.object({
    type: z.literal("image"),
    /** What every node runs: `repo@sha256:...`, an image ID, or a local name (checked by ID). */
    ref: text,
    /** The image ID (config digest) every node must end up with, when the master knows it. */
    id: z.optional(imageId),
    /** A `docker save` archive each node loads itself. */
    archive: z.optional(text),
    /** --pull-once on the master: a worker that lacks the image gets it from the node the master names ("relay"). */
    relay: z.optional(z.literal(true)),
  }),
  /** The nodes whose sshd is not on the job's first remote-port candidate. */
  z.object({
    type: z.literal("remote-ports"),
    moved: z.array(z.object({ node: nodeName, port })).check(z.maxLength(4096)),
  }),
  /** --pull-once: get the image from `node`'s relay, listening on `port` (none: it has no relay, use the registry). */
  z.object({ type: z.literal("relay"), node: nodeName, port: z.optional(port) }),
]);

const workerMessage = z.discriminatedUnion("type", [
  /** Where this node's sshd listens: the first of the job's candidates it could bind. */
  z.object({ type: z.literal("remote-port"), port }),
  z.object({ type: z.literal("ready") }),
  z.object({ type: z.literal("failed"), message: text }),
  z.object({ type: z.literal("ping") }),
  z.object({ type: z.literal("exited"), exitCode }),
  z.object({
    type: z.literal("pull"),
    done: byteCount,
    total: byteCount,
    layers: byteCount,
    layersDone: byteCount,
    /** The node it comes from (--pull-once); absent: the registry. */
    from: z.optional(nodeName),
  }),
  /** `from`: "registry", or the node the image came from (--pull-once). */
  z.object({ type: z.literal("pulled"), bytes: byteCount, ms: byteCount, from: z.string().check(z.maxLength(255)) }),
]);

export type MasterMessage = z.infer<typeof masterMessage>;
export type ImageAnnouncement = Omit<Extract<MasterMessage, { type: "image" }>, "type">;
export type WorkerMessage = z.infer<typeof workerMessage>;

/** What a worker's hello says besides its node. */
const helloAbout = z.strictObject({
  rank: z.int().check(z.minimum(0)),
  /** --pull-once: the port this node's image relay listens on. */
  relay: z.optional(port),
});
/** What the master's welcome says: the MASTER_PORT it chose for the job. */
const welcomeAbout = z.strictObject({ masterPort: z.optional(port) });
export type HelloAbout = z.infer<typeof helloAbout>;
export type WelcomeAbout = z.infer<typeof welcomeAbout>;

export function parseHelloAbout(about: About | undefined): HelloAbout | undefined {
  const result = helloAbout.safeParse(about);
  return result.success ? result.data : undefined;
}

export function parseWelcomeAbout(about: About | undefined): WelcomeAbout | undefined {
  const result = welcomeAbout.safeParse(about ?? {});
  return result.success ? result.data : undefined;
}

/** A message the worker received; undefined for anything malformed. */
export function parseMasterMessage(payload: string): MasterMessage | undefined {
  return parseJsonAs(masterMessage, payload);
}

/** A message the master received; undefined for anything malformed. */
export function parseWorkerMessage(payload: string): WorkerMessage | undefined {
  return parseJsonAs(workerMessage, payload);
}

/** One message as one frame. */
export function encodeMessage(message: MasterMessage | WorkerMessage): Buffer {
  return encodeFrame(RENDEZVOUS_MESSAGE, Buffer.from(JSON.stringify(message), "utf8"));
}

/** What either side accepts after the handshake: messages, 64 KiB at most. */
export function messageFrameLimit(type: number): number | undefined {
  return type === RENDEZVOUS_MESSAGE ? MAX_MESSAGE_BYTES : undefined;
}

/** An exit status as the wire carries it: an integer 0..255 (anything not a number is 1). */
export function toWireExitCode(code: number): number {
  if (Number.isNaN(code)) return 1;
  return Math.min(255, Math.max(0, Math.trunc(code)));
}

export function isValidNodeName(node: string): boolean {
  return nodeName.safeParse(node).success;
}
