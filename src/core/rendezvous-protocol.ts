/**
 * The rendezvous wire protocol, pure: newline-delimited JSON messages, their validation and
 * framing. The MACs are computed in io/rendezvous-crypto.ts; the master and worker edges
 * (io/rendezvous-master*.ts, io/rendezvous-worker*.ts) own the sockets.
 *
 * Handshake (both sides prove they hold the job step's secret, bound to this job step and to the
 * port the worker connected to, so that a peer on another candidate port cannot relay it):
 *   master → {type:"challenge", v, nonce}
 *   worker → {type:"hello", node, rank, nonce, mac: HMAC(secret, "worker|job|mNonce|wNonce|node|port")}
 *   master → {type:"welcome", masterPort?, mac: HMAC(secret, "master|job|mNonce|wNonce|node|port")}
 * `masterPort` is the MASTER_PORT the master chose for the job.
 * With sshd on ports of its own choosing (core/remote-ports.ts), each worker sends
 * {type:"remote-port", port} once its sshd listens; once every node's sshd does, the master
 * sends each worker {type:"remote-ports", moved}, the nodes off the first candidate with their
 * ports (usually none), and the worker reports ready only after its files know them.
 * Then the worker sends "ready" or "failed", the master "done" or "abort"; both send "ping".
 * With the "each" launcher the master also sends "go" once every worker is ready, and each
 * worker answers "exited" with its own script's code when that ends, then waits for done/abort.
 * The image: the master sends "image" (the one reference every node runs, pinned to a digest or
 * an image ID) to each joined worker; a worker that has to fetch it reports "pull" progress and
 * "pulled" before "ready", and its pull does not count against the readiness deadline.
 * With --pull-once each node's hello says the port of its image relay (`relay`), and the master
 * tells each worker, once the node it gets the image from (core/relay-tree.ts) has joined, that
 * node and its relay's port: {type:"relay", node, port} (no port: that node could not listen,
 * so this one pulls from the registry). Its "pull" reports then say `from`.
 */
import * as z from "zod/mini";
import { parseJsonAs } from "./json-shape.js";

/**
 * 5: a worker says its sshd's port once it listens (`remote-port`), no longer in its hello.
 * 4: every MAC is keyed with the job step's secret (io/rendezvous-crypto.ts deriveJobSecret).
 */
export const PROTOCOL_VERSION = 5;
/** A longer line is an attack or a bug: the connection is dropped. */
export const MAX_LINE_BYTES = 64 * 1024;

const nonce = z.string().check(z.regex(/^[0-9a-f]{32}$/));
const mac = z.string().check(z.regex(/^[0-9a-f]{64}$/));
// A node name is a Slurm host name; "|" would make the MAC input ambiguous.
const nodeName = z.string().check(z.regex(/^[^|\s\p{Cc}]{1,255}$/u));
const text = z.string().check(z.maxLength(16 * 1024));
const exitCode = z.int().check(z.minimum(0), z.maximum(255));
const imageId = z.string().check(z.regex(/^sha256:[0-9a-f]{64}$/));
const byteCount = z.int().check(z.minimum(0), z.maximum(Number.MAX_SAFE_INTEGER));
const port = z.int().check(z.minimum(1), z.maximum(65_535));

const masterMessage = z.discriminatedUnion("type", [
  z.object({ type: z.literal("challenge"), v: z.int(), nonce }),
  z.object({ type: z.literal("welcome"), mac, masterPort: z.optional(port) }),
  z.object({ type: z.literal("reject"), reason: text }),
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
  z.object({
    type: z.literal("hello"),
    node: nodeName,
    rank: z.int().check(z.minimum(0)),
    nonce,
    mac,
    /** --pull-once: the port this node's image relay listens on. */
    relay: z.optional(port),
  }),
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

/** A line the worker received; undefined for anything malformed. */
export function parseMasterMessage(line: string): MasterMessage | undefined {
  return parseJsonAs(masterMessage, line);
}

/** A line the master received; undefined for anything malformed. */
export function parseWorkerMessage(line: string): WorkerMessage | undefined {
  return parseJsonAs(workerMessage, line);
}

export function encodeMessage(message: MasterMessage | WorkerMessage): string {
  return `${JSON.stringify(message)}\n`;
}

/** An exit status as the wire carries it: an integer 0..255 (anything not a number is 1). */
export function toWireExitCode(code: number): number {
  if (Number.isNaN(code)) return 1;
  return Math.min(255, Math.max(0, Math.trunc(code)));
}

export function isValidNodeName(node: string): boolean {
  return nodeName.safeParse(node).success;
}

/** What both MACs of one handshake are computed over. */
export interface HandshakeInput {
  jobKey: string;
  masterNonce: string;
  workerNonce: string;
  node: string;
  /** The rendezvous: the port the worker connected to (the agent's MACs have none). */
  port?: number;
}

/** Splits a byte stream into lines; reports overflow once a line grows past the limit. */
export interface LineDecoder {
  push(chunk: Buffer): { lines: string[]; overflow: boolean };
}

export function createLineDecoder(maxLineBytes: number = MAX_LINE_BYTES): LineDecoder {
  let pending: Buffer = Buffer.alloc(0);
  return {
    push(chunk) {
      pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
      const lines: string[] = [];
      let start = 0;
      for (let end = pending.indexOf(10, start); end !== -1; end = pending.indexOf(10, start)) {
        if (end - start > maxLineBytes) return { lines, overflow: true };
        lines.push(pending.subarray(start, end).toString("utf8"));
        start = end + 1;
      }
      pending = pending.subarray(start);
      return { lines, overflow: pending.length > maxLineBytes };
    },
  };
}
