/**
 * One connection to the rendezvous master, from accept until its peer proves it holds the
 * secret (the authenticated channel, core/channel/) and takes an expected node's place. Anything
 * an unauthenticated peer sends can only get its own connection dropped: it never changes a
 * node's state, so another user on the port cannot start or stop the job. At most so many
 * connections are in their handshake at once (core/channel/handshake-slots.ts): a flood of them makes
 * room for a newcomer by losing its oldest. After the welcome, the connection's messages and
 * close go to the session through `hooks`.
 */
import type { Socket } from "node:net";
import type { Peer } from "../../core/channel/index.js";
import {
  messageFrameLimit,
  PROTOCOL_VERSION,
  parseHelloAbout,
  parseWorkerMessage,
  type WorkerMessage,
} from "../../core/rendezvous/index.js";
import { acceptChannel, channelKey } from "../channel/index.js";
import { type Connection, drop, type MasterContext } from "./rendezvous-master-context.js";

export interface HandshakeOptions {
  secret: Buffer;
  jobKey: string;
  /** An unauthenticated connection is dropped after this long. */
  handshakeTimeoutMs: number;
  /** MASTER_PORT, told to every worker in its welcome. */
  masterPort?: number | undefined;
}

export interface HandshakeHooks {
  /** The worker was welcomed and holds its node's place in the roster; `relay`: its image relay's port. */
  onJoined(conn: Connection, relay: number | undefined): void;
  /** A well-formed line from a joined worker. */
  onMessage(conn: Connection, message: WorkerMessage): void;
  onClose(conn: Connection): void;
}

export function acceptConnection(
  ctx: MasterContext,
  socket: Socket,
  options: HandshakeOptions,
  hooks: HandshakeHooks,
): void {
  if (ctx.state.phase === "closing") {
    socket.destroy();
    return;
  }
  socket.setKeepAlive(true, 1000);
  socket.setNoDelay(true);
  const conn: Connection = {
    socket,
    remote: `${socket.remoteAddress ?? "?"}:${socket.remotePort ?? "?"}`,
    lastHeardAt: ctx.timers.now(),
    handshakeTimer: undefined,
  };
  ctx.connections.add(conn);
  const displaced = ctx.slots.admit(conn, socket.remoteAddress ?? "?");
  displaced?.handshake?.input({ type: "crowded" });
  conn.handshakeTimer = ctx.timers.setTimeout(
    () => conn.handshake?.input({ type: "timed-out" }),
    options.handshakeTimeoutMs,
  );
  let relay: number | undefined;
  const { masterPort } = options;
  conn.handshake = acceptChannel(
    socket,
    {
      key: channelKey(options.secret),
      // Bound to the port the worker reached: a peer on another candidate port cannot relay it here.
      binding: {
        protocol: "rendezvous",
        version: PROTOCOL_VERSION,
        jobKey: options.jobKey,
        port: socket.localPort ?? 0,
      },
      admit: (peer) => {
        const admission = admit(ctx, peer);
        if (admission.refuse === undefined) relay = parseHelloAbout(peer.about)?.relay;
        return admission.refuse === undefined
          ? { welcome: masterPort === undefined ? {} : { masterPort } }
          : { refuse: admission.refuse, tell: admission.refuse };
      },
    },
    {
      established(channel, peer) {
        channel.frames.readWith({
          limits: messageFrameLimit,
          frame: (frame) => receive(ctx, conn, frame.payload.toString("utf8"), hooks),
          error: (reason) => drop(ctx, conn, reason),
        });
        join(ctx, conn, peer, relay, hooks);
      },
      refused(refusal) {
        if (refusal.claimed !== undefined) noteForgery(ctx, conn, refusal.claimed);
        if (refusal.stranger === "gone") conn.dropReason ??= refusal.reason;
        else
          drop(ctx, conn, refusal.reason, { gently: refusal.tell !== undefined, kind: refusal.stranger ?? "rejected" });
      },
    },
  );
  socket.on("error", (error) => {
    conn.dropReason ??= error.message;
  });
  socket.on("close", () => {
    conn.handshake?.input({ type: "closed", reason: "connection closed" });
    ctx.connections.delete(conn);
    ctx.slots.release(conn);
    ctx.timers.clearTimeout(conn.handshakeTimer);
    hooks.onClose(conn);
  });
}

/** A message of a joined worker. */
function receive(ctx: MasterContext, conn: Connection, payload: string, hooks: HandshakeHooks): void {
  if (conn.dropReason !== undefined) return;
  const message = parseWorkerMessage(payload);
  if (message === undefined) {
    drop(ctx, conn, "malformed message");
    return;
  }
  conn.lastHeardAt = ctx.timers.now();
  hooks.onMessage(conn, message);
}

/** Whether an authentic hello may take its node's place: undefined `refuse` when it may. */
function admit(ctx: MasterContext, peer: Peer): { refuse?: string; rank?: number } {
  const about = parseHelloAbout(peer.about);
  if (about === undefined) return { refuse: `node ${peer.node} sent a malformed hello` };
  const state = ctx.roster.get(peer.node);
  if (state === undefined) return { refuse: `node ${peer.node} is not part of this job step` };
  if (state.kind !== "waiting") return { refuse: `node ${peer.node} already joined this job step` };
  return { rank: about.rank };
}

function join(
  ctx: MasterContext,
  conn: Connection,
  peer: Peer,
  relay: number | undefined,
  hooks: HandshakeHooks,
): void {
  const rank = parseHelloAbout(peer.about)?.rank ?? 0;
  ctx.timers.clearTimeout(conn.handshakeTimer);
  ctx.slots.release(conn);
  conn.handshake = undefined;
  conn.node = peer.node;
  conn.lastHeardAt = ctx.timers.now();
  ctx.roster.set(peer.node, { kind: "authenticated", conn, rank });
  ctx.emit({ type: "worker-authenticated", node: peer.node, rank, remote: conn.remote });
  hooks.onJoined(conn, relay);
}

/** Told to the user if the node never joins: someone may be trying to take its place. */
function noteForgery(ctx: MasterContext, conn: Connection, claimed: string): void {
  const state = ctx.roster.get(claimed);
  if (state?.kind === "waiting")
    state.note = `a connection from ${conn.remote} claiming to be it failed authentication`;
}
