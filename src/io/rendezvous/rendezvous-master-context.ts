/**
 * What the parts of the rendezvous master share: the public result and event types, one
 * connection as the master sees it, and the one mutable context (the state of
 * core/rendezvous/rendezvous-master-state.ts, the roster, the open connections). The parts are
 * rendezvous-master-handshake.ts (a connection until it authenticates),
 * rendezvous-master-session.ts (joined workers, heartbeats, `ready`) and
 * rendezvous-master-shutdown.ts (farewell, linger, close); rendezvous-master.ts wires them.
 */
import type { Socket } from "node:net";
import type { HandshakeSlots, RefusalKind } from "../../core/channel/index.js";
import type { ReadyWorker, RendezvousFailure, Roster } from "../../core/rendezvous/index.js";
import {
  encodeMessage,
  type MasterInput,
  type MasterMessage,
  type MasterState,
  nextMasterState,
} from "../../core/rendezvous/index.js";
import type { Handshake } from "../channel/index.js";
import type { Timers } from "../process/index.js";

export type MasterEvent =
  | { type: "listening"; port: number }
  /** A connection that never authenticated was closed: `kind` as the refusal summary counts it. */
  | { type: "connection-dropped"; remote: string; reason: string; kind: RefusalKind }
  | { type: "worker-authenticated"; node: string; rank: number; remote: string }
  | { type: "worker-ready"; node: string }
  | { type: "worker-failed"; node: string; message: string }
  | { type: "worker-exited"; node: string; exitCode: number }
  | { type: "worker-lost"; node: string; reason: string }
  | { type: "lingering"; nodes: string[]; lingerMs: number };

export type ReadyResult =
  | { ok: true; workers: ReadyWorker[]; elapsedMs: number }
  | { ok: false; failure: RendezvousFailure };

/** Where every expected worker's sshd listens, as each said it; or `ready` failed first. */
export type RemotePortsResult = { ok: true; ports: ReadonlyMap<string, number> } | { ok: false };

export interface WorkerLost {
  node: string;
  reason: string;
}

export interface WorkerExited {
  node: string;
  exitCode: number;
}

export interface Connection {
  socket: Socket;
  remote: string;
  /** The channel's handshake, until the peer joins. */
  handshake?: Handshake | undefined;
  /** Set once the peer proved it holds the secret and took this node's place in the roster. */
  node?: string;
  lastHeardAt: number;
  /** The first reason it was dropped; a close after it reports this, not "connection closed". */
  dropReason?: string;
  handshakeTimer: unknown;
}

export interface MasterContext {
  state: MasterState;
  readonly roster: Roster<Connection>;
  readonly connections: Set<Connection>;
  /** The connections not yet authenticated, bounded (core/channel/handshake-slots.ts). */
  readonly slots: HandshakeSlots<Connection>;
  readonly timers: Timers;
  readonly startedAt: number;
  emit(event: MasterEvent): void;
  /** A stranger's connection refused, for the summary (io/channel/refusal-log.ts). */
  refused(kind: RefusalKind, source: string): void;
}

/** Moves the state on; an input the state cannot take is a bug in the master itself. */
export function advance(ctx: MasterContext, input: MasterInput): void {
  const next = nextMasterState(ctx.state, input);
  if (next === undefined) {
    throw new Error(`internal error: rendezvous ${input.type} while ${ctx.state.phase}; please report`);
  }
  ctx.state = next;
}

export function send(conn: Connection, message: MasterMessage): void {
  if (!conn.socket.destroyed && conn.socket.writable && conn.node !== undefined)
    conn.socket.write(encodeMessage(message));
}

export interface DropOptions {
  /** Lets a last message (a reject) flush before the close. */
  readonly gently?: boolean;
  /** What it counts as, before authentication (default: rejected). */
  readonly kind?: RefusalKind;
}

/** Ends a connection. */
export function drop(ctx: MasterContext, conn: Connection, reason: string, options: DropOptions = {}): void {
  const gently = options.gently ?? false;
  // A joined worker's loss is reported by its node (worker-lost), not as an anonymous drop.
  if (conn.dropReason === undefined && conn.node === undefined) {
    const kind = options.kind ?? "rejected";
    ctx.emit({ type: "connection-dropped", remote: conn.remote, reason, kind });
    ctx.refused(kind, conn.socket.remoteAddress ?? "?");
  }
  conn.dropReason ??= reason;
  if (gently) conn.socket.end();
  else conn.socket.destroy();
}
