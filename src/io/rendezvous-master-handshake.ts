/**
 * One connection to the rendezvous master, from accept until its peer proves it holds the
 * secret (HMAC, see core/rendezvous-protocol.ts) and takes an expected node's place. Anything
 * an unauthenticated peer sends can only get its own connection dropped: it never changes a
 * node's state, so another user on the port cannot start or stop the job. At most so many
 * connections are in their handshake at once (core/handshake-slots.ts): a flood of them makes
 * room for a newcomer by losing its oldest. After the welcome, the connection's lines and close
 * go to the session through `hooks`.
 */
import type { Socket } from "node:net";
import {
  createLineDecoder,
  PROTOCOL_VERSION,
  parseWorkerMessage,
  type WorkerMessage,
} from "../core/rendezvous-protocol.js";
import { computeMac, createNonce, verifyMac } from "./rendezvous-crypto.js";
import { type Connection, drop, type MasterContext, send } from "./rendezvous-master-context.js";

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
    masterNonce: createNonce(),
    lastHeardAt: ctx.timers.now(),
    handshakeTimer: undefined,
  };
  ctx.connections.add(conn);
  const displaced = ctx.slots.admit(conn, socket.remoteAddress ?? "?");
  if (displaced !== undefined)
    drop(ctx, displaced, "too many connections in their handshake at once", { kind: "crowded out" });
  conn.handshakeTimer = ctx.timers.setTimeout(
    () => drop(ctx, conn, "no valid hello in time", { kind: "timed out" }),
    options.handshakeTimeoutMs,
  );
  const decoder = createLineDecoder();
  socket.on("data", (chunk: Buffer) => {
    const { lines, overflow } = decoder.push(chunk);
    for (const line of lines) {
      if (conn.dropReason !== undefined) return;
      receiveLine(ctx, conn, line, options, hooks);
    }
    if (overflow && conn.dropReason === undefined) drop(ctx, conn, "line too long");
  });
  socket.on("error", (error) => {
    conn.dropReason ??= error.message;
  });
  socket.on("close", () => {
    ctx.connections.delete(conn);
    ctx.slots.release(conn);
    ctx.timers.clearTimeout(conn.handshakeTimer);
    hooks.onClose(conn);
  });
  send(conn, { type: "challenge", v: PROTOCOL_VERSION, nonce: conn.masterNonce });
}

function receiveLine(
  ctx: MasterContext,
  conn: Connection,
  line: string,
  options: HandshakeOptions,
  hooks: HandshakeHooks,
): void {
  const message = parseWorkerMessage(line);
  if (message === undefined) {
    drop(ctx, conn, "malformed message");
    return;
  }
  conn.lastHeardAt = ctx.timers.now();
  if (conn.node !== undefined) {
    hooks.onMessage(conn, message);
    return;
  }
  if (message.type !== "hello") {
    drop(ctx, conn, `"${message.type}" before authentication`);
    return;
  }
  const node = admit(ctx, conn, message, options);
  if (node === undefined) return;
  ctx.timers.clearTimeout(conn.handshakeTimer);
  ctx.slots.release(conn);
  conn.node = node.name;
  ctx.roster.set(node.name, { kind: "authenticated", conn, rank: node.rank });
  const { masterPort } = options;
  send(conn, { type: "welcome", mac: node.mac, ...(masterPort === undefined ? {} : { masterPort }) });
  ctx.emit({ type: "worker-authenticated", node: node.name, rank: node.rank, remote: conn.remote });
  hooks.onJoined(conn, message.relay);
}

/** The node a hello may join as, with the master's answering MAC; undefined once it was dropped. */
function admit(
  ctx: MasterContext,
  conn: Connection,
  hello: WorkerMessage & { type: "hello" },
  options: HandshakeOptions,
): { name: string; rank: number; mac: string } | undefined {
  // Bound to the port the worker reached: a peer on another candidate port cannot relay it here.
  const input = {
    jobKey: options.jobKey,
    masterNonce: conn.masterNonce,
    workerNonce: hello.nonce,
    node: hello.node,
    port: conn.socket.localPort ?? 0,
  };
  const state = ctx.roster.get(hello.node);
  if (!verifyMac(options.secret, "worker", input, hello.mac)) {
    // Told to the user if the node never joins: someone may be trying to take its place.
    if (state?.kind === "waiting") {
      state.note = `a connection from ${conn.remote} claiming to be it failed authentication`;
    }
    drop(ctx, conn, `authentication failed for claimed node ${hello.node}`);
    return undefined;
  }
  if (state === undefined || state.kind !== "waiting") {
    const reason =
      state === undefined
        ? `node ${hello.node} is not part of this job step`
        : `node ${hello.node} already joined this job step`;
    send(conn, { type: "reject", reason });
    drop(ctx, conn, reason, { gently: true });
    return undefined;
  }
  return { name: hello.node, rank: hello.rank, mac: computeMac(options.secret, "master", input) };
}
