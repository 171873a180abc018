/**
 * The joined workers, as the rendezvous master hears them: their ready, failed and exited
 * reports, their heartbeats, their leaving; `remotePorts`, once every expected worker said where
 * its sshd listens (the master then tells them which nodes are off the first port,
 * `sendMovedPorts`); and `ready`, which settles once, when every
 * expected worker is ready or the first thing that rules it out happens (the deadline, a
 * failure, a node gone). After `ready` a lost worker is told to `onWorkerLost`; once the
 * farewell is out (see core/rendezvous/rendezvous-master-state.ts) nothing here changes anything.
 */
import type { NodePort } from "../../core/ports/index.js";
import type { RendezvousFailure, WorkerMessage } from "../../core/rendezvous/index.js";
import {
  isShuttingDown,
  listMissingWorkers,
  listReadyWorkers,
  type NodeState,
  nextMasterState,
} from "../../core/rendezvous/index.js";
import { formatSeconds } from "../process/index.js";
import { createPausableDeadline } from "./pausable-deadline.js";
import {
  advance,
  type Connection,
  drop,
  type MasterContext,
  type ReadyResult,
  type RemotePortsResult,
  send,
  type WorkerExited,
  type WorkerLost,
} from "./rendezvous-master-context.js";

export interface SessionOptions {
  pingIntervalMs: number;
  /** A worker silent this long is lost. */
  lostAfterMs: number;
}

/** A worker's report on fetching the image: progress, or done (then `from` says where from). */
export type PullReport = Extract<WorkerMessage, { type: "pull" | "pulled" }>;

export interface MasterSession {
  readonly ready: Promise<ReadyResult>;
  /** Settles once every expected worker said where its sshd listens, or (not ok) once `ready` failed first. */
  readonly remotePorts: Promise<RemotePortsResult>;
  /** Tells every joined worker which nodes' sshd is off the first candidate. Once, after `remotePorts` resolved ok. */
  sendMovedPorts(moved: readonly NodePort[]): void;
  /** Starts the deadline and the heartbeats, once the listener is up. */
  begin(deadlineMs: number): void;
  /** While a node (the master's own, or a worker reporting "pull") fetches the image, the deadline stands still. */
  holdDeadline(node: string, held: boolean): void;
  onPull(callback: (node: string, report: PullReport) => void): () => void;
  /** Settles `ready` with a failure naming every node not ready; no-op once it has settled. */
  fail(reason: RendezvousFailure["reason"], first?: string): void;
  stopHeartbeat(): void;
  receive(conn: Connection, message: WorkerMessage): void;
  closed(conn: Connection): void;
  start(): void;
  onWorkerLost(callback: (lost: WorkerLost) => void): () => void;
  onWorkerExited(callback: (exited: WorkerExited) => void): () => void;
}

export function createMasterSession(ctx: MasterContext, options: SessionOptions): MasterSession {
  const { timers, roster } = ctx;
  const lostCallbacks = new Set<(lost: WorkerLost) => void>();
  const exitedCallbacks = new Set<(exited: WorkerExited) => void>();
  const pullCallbacks = new Set<(node: string, report: PullReport) => void>();
  /** How many workers reported ready while gathering: each node does so at most once. */
  let readyCount = 0;
  const deadline = createPausableDeadline(timers, () => fail("deadline"));
  let heartbeatTimer: unknown;
  let resolveReady: (result: ReadyResult) => void = () => {};
  const ready = new Promise<ReadyResult>((resolve) => {
    resolveReady = resolve;
  });
  /** Each worker's sshd port, as it said it. */
  const saidPorts = new Map<string, number>();
  let resolvePorts: (result: RemotePortsResult) => void = () => {};
  const remotePorts = new Promise<RemotePortsResult>((resolve) => {
    resolvePorts = resolve;
  });
  let movedSent = false;

  function settle(result: ReadyResult): void {
    if (ctx.state.phase !== "gathering") return;
    advance(ctx, { type: result.ok ? "all-ready" : "ready-failed" });
    deadline.cancel();
    // Every worker said its port before it could be ready: only a failure finds it pending.
    if (!result.ok) resolvePorts({ ok: false });
    resolveReady(result);
  }

  function fail(reason: RendezvousFailure["reason"], first?: string): void {
    const missing = listMissingWorkers(roster, first);
    settle({ ok: false, failure: { reason, missing, elapsedMs: timers.now() - ctx.startedAt } });
  }

  function checkAllReady(): void {
    const workers = listReadyWorkers(roster);
    if (workers !== undefined) settle({ ok: true, workers, elapsedMs: timers.now() - ctx.startedAt });
  }

  /** A node that was authenticated stopped counting: before ready it fails the rendezvous. */
  function loseNode(node: string, next: NodeState<Connection> & { kind: "failed" | "gone" }): void {
    const wasReady = roster.get(node)?.kind === "ready";
    roster.set(node, next);
    deadline.release(node);
    const reason = next.kind === "failed" ? `reported failure: ${next.message}` : next.reason;
    if (next.kind === "failed") ctx.emit({ type: "worker-failed", node, message: next.message });
    else ctx.emit({ type: "worker-lost", node, reason });
    const phase = ctx.state.phase;
    if (phase === "gathering") fail(next.kind === "failed" ? "worker-failed" : "worker-disconnected", node);
    else if ((phase === "ready" || phase === "started") && wasReady) {
      for (const callback of lostCallbacks) callback({ node, reason });
    }
  }

  function receive(conn: Connection, message: WorkerMessage): void {
    const node = conn.node;
    if (node === undefined || isShuttingDown(ctx.state)) return;
    const state = roster.get(node);
    // A failed or gone node said its last word; an exited one only keeps its heartbeat up.
    if (state?.kind !== "authenticated" && state?.kind !== "ready") return;
    switch (message.type) {
      case "ping":
        return;
      case "remote-port":
        if (state.kind !== "authenticated" || ctx.state.phase !== "gathering") return;
        saidPorts.set(node, message.port);
        if (saidPorts.size === roster.size) resolvePorts({ ok: true, ports: saidPorts });
        return;
      case "pull":
      case "pulled":
        if (state.kind !== "authenticated") return;
        if (message.type === "pull") deadline.hold(node);
        else deadline.release(node);
        for (const callback of pullCallbacks) callback(node, message);
        return;
      case "ready":
        deadline.release(node);
        if (state.kind === "authenticated") {
          roster.set(node, { ...state, kind: "ready" });
          ctx.emit({ type: "worker-ready", node });
          readyCount++;
          // A count, not a scan of the roster per report: that made a rendezvous O(N²).
          if (ctx.state.phase === "gathering" && readyCount === roster.size) checkAllReady();
        }
        return;
      case "failed":
        loseNode(node, { kind: "failed", message: message.message });
        return;
      case "exited":
        if (ctx.state.phase !== "started" || state.kind !== "ready") {
          drop(ctx, conn, `"exited" before go`);
          return;
        }
        roster.set(node, { kind: "exited", conn, rank: state.rank, exitCode: message.exitCode });
        ctx.emit({ type: "worker-exited", node, exitCode: message.exitCode });
        for (const callback of exitedCallbacks) callback({ node, exitCode: message.exitCode });
        return;
      default: {
        const unreachable: never = message;
        throw new Error(`internal error: unexpected rendezvous message ${String(unreachable)}; please report`);
      }
    }
  }

  function closed(conn: Connection): void {
    const node = conn.node;
    if (node === undefined || isShuttingDown(ctx.state)) return;
    const state = roster.get(node);
    if ((state?.kind === "authenticated" || state?.kind === "ready") && state.conn === conn) {
      loseNode(node, { kind: "gone", reason: conn.dropReason ?? "connection closed" });
    }
  }

  // Pings keep a quiet worker's link alive; silence from a worker means its node is gone.
  function heartbeat(): void {
    if (isShuttingDown(ctx.state)) return;
    const now = timers.now();
    for (const conn of ctx.connections) {
      if (conn.node === undefined) continue;
      const silentMs = now - conn.lastHeardAt;
      if (silentMs > options.lostAfterMs) drop(ctx, conn, `no heartbeat for ${formatSeconds(silentMs)}`);
      else send(conn, { type: "ping" });
    }
    heartbeatTimer = timers.setTimeout(heartbeat, options.pingIntervalMs);
  }

  function sendMovedPorts(moved: readonly NodePort[]): void {
    if (movedSent) throw new Error("internal error: the moved remote ports were sent twice; please report");
    movedSent = true;
    if (ctx.state.phase !== "gathering") return;
    for (const state of roster.values()) {
      if (state.kind === "authenticated" || state.kind === "ready")
        send(state.conn, { type: "remote-ports", moved: [...moved] });
    }
  }

  return {
    ready,
    remotePorts,
    sendMovedPorts,
    begin(deadlineMs) {
      heartbeatTimer = timers.setTimeout(heartbeat, options.pingIntervalMs);
      deadline.start(deadlineMs);
      if (roster.size === 0) {
        resolvePorts({ ok: true, ports: saidPorts });
        checkAllReady();
      }
    },
    holdDeadline: (node, held) => (held ? deadline.hold(node) : deadline.release(node)),
    onPull(callback) {
      pullCallbacks.add(callback);
      return () => pullCallbacks.delete(callback);
    },
    fail,
    stopHeartbeat: () => timers.clearTimeout(heartbeatTimer),
    receive,
    closed,
    start() {
      const before = ctx.state;
      const next = nextMasterState(before, { type: "start" });
      if (next === undefined) {
        throw new Error("internal error: rendezvous start() before every worker was ready; please report");
      }
      ctx.state = next;
      // Go goes out once; a start() racing the shutdown finds the farewell already sent.
      if (before.phase !== "ready") return;
      for (const state of roster.values()) if (state.kind === "ready") send(state.conn, { type: "go" });
    },
    onWorkerLost(callback) {
      lostCallbacks.add(callback);
      return () => lostCallbacks.delete(callback);
    },
    onWorkerExited(callback) {
      exitedCallbacks.add(callback);
      return () => exitedCallbacks.delete(callback);
    },
  };
}
