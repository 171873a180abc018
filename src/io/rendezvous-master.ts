/**
 * The master's side of the rendezvous: listen, authenticate each worker (HMAC, see
 * rendezvous-protocol.ts), wait until every expected node reports ready or fail fast naming
 * each missing node, watch heartbeats for the rest of the job, and finally send done/abort.
 * With the "each" launcher, `start` sends go and each worker reports when its script exited.
 *
 * An abort also has to reach the nodes that have not joined yet (the master failed before they
 * started, or the rendezvous timed out): the listener lingers, and each late worker that
 * authenticates is answered with abort at once, rather than retrying until its own deadline.
 *
 * Anything an unauthenticated peer sends can only get its own connection dropped: it never
 * changes a node's state, so another user on the port cannot start or stop the job.
 */
import { createServer, type Socket } from "node:net";
import {
  computeMac,
  createLineDecoder,
  createNonce,
  encodeMessage,
  type MasterMessage,
  PROTOCOL_VERSION,
  parseWorkerMessage,
  type RendezvousFailure,
  toWireExitCode,
  verifyMac,
  type WorkerMessage,
} from "./rendezvous-protocol.js";
import {
  createRoster,
  listMissingWorkers,
  listReadyWorkers,
  listUnreachedNodes,
  type NodeState,
  type ReadyWorker,
} from "./rendezvous-roster.js";
import { listenTcp } from "./tcp-listen.js";
import { formatSeconds, realTimers, type Timers } from "./timers.js";

export type { ReadyWorker } from "./rendezvous-roster.js";

export interface RendezvousMasterOptions {
  port: number;
  /** Address to listen on; default all interfaces. */
  host?: string;
  secret: Buffer;
  /** `${jobId}.${stepId}`: binds every MAC to this job step. */
  jobKey: string;
  /** The worker nodes that must report ready (the master's own node is not one of them). */
  expectedNodes: readonly string[];
  /** How long, from now, the workers have to report ready. */
  deadlineMs: number;
  pingIntervalMs?: number;
  /** A worker silent for this many ping intervals is lost. */
  missedPings?: number;
  /** An unauthenticated connection is dropped after this long. */
  handshakeTimeoutMs?: number;
  /** Grace for workers to read done/abort before their sockets are destroyed. */
  closeGraceMs?: number;
  timers?: Timers;
  onEvent?: (event: MasterEvent) => void;
}

export type MasterEvent =
  | { type: "listening"; port: number }
  | { type: "connection-dropped"; remote: string; reason: string }
  | { type: "worker-authenticated"; node: string; rank: number; remote: string }
  | { type: "worker-ready"; node: string }
  | { type: "worker-failed"; node: string; message: string }
  | { type: "worker-exited"; node: string; exitCode: number }
  | { type: "worker-lost"; node: string; reason: string }
  | { type: "lingering"; nodes: string[]; lingerMs: number };

export type ReadyResult =
  | { ok: true; workers: ReadyWorker[]; elapsedMs: number }
  | { ok: false; failure: RendezvousFailure };

export interface WorkerLost {
  node: string;
  reason: string;
}

export interface WorkerExited {
  node: string;
  exitCode: number;
}

export interface AbortOptions {
  /**
   * How long to keep listening for nodes that have not joined yet, to answer each with abort;
   * it ends as soon as every expected node has been told. Default 10 s; 0 closes at once.
   */
  lingerMs?: number;
}

export const DEFAULT_ABORT_LINGER_MS = 10_000;

export interface RendezvousMaster {
  /** The port actually bound (useful with port 0). */
  readonly port: number;
  /** Settles once: every worker ready, or a failure naming each node that is not. Never rejects. */
  readonly ready: Promise<ReadyResult>;
  /** Sends go to every ready worker ("each" launcher); only after `ready` resolved ok. Once. */
  start(): void;
  /** Called for a worker that fails or goes away after `ready` resolved ok, but not after it exited. */
  onWorkerLost(callback: (lost: WorkerLost) => void): () => void;
  /** Called when a worker reports its own job script exited (after `start`). */
  onWorkerExited(callback: (exited: WorkerExited) => void): () => void;
  /** Sends done to every connected worker; resolves once they closed or the grace passed. */
  finish(exitCode: number): Promise<void>;
  /**
   * Sends abort to every connected worker, then lingers for the ones that have not joined (see
   * `AbortOptions`); resolves once everything is closed. `ready`, if pending, resolves as aborted.
   */
  abort(reason: string, options?: AbortOptions): Promise<void>;
  /** Drops everything at once, cutting a linger short; `ready`, if pending, resolves as aborted. */
  close(): void;
}

interface Connection {
  socket: Socket;
  remote: string;
  masterNonce: string;
  node?: string;
  lastHeardAt: number;
  dropReason?: string;
  handshakeTimer: unknown;
}

export async function startRendezvousMaster(options: RendezvousMasterOptions): Promise<RendezvousMaster> {
  const timers = options.timers ?? realTimers;
  const pingIntervalMs = options.pingIntervalMs ?? 2000;
  const lostAfterMs = pingIntervalMs * (options.missedPings ?? 3);
  const handshakeTimeoutMs = options.handshakeTimeoutMs ?? 5000;
  const closeGraceMs = options.closeGraceMs ?? 2000;
  const emit = options.onEvent ?? (() => {});
  const startedAt = timers.now();

  const nodes = createRoster<Connection>(options.expectedNodes);
  const connections = new Set<Connection>();
  const lostCallbacks = new Set<(lost: WorkerLost) => void>();
  const exitedCallbacks = new Set<(exited: WorkerExited) => void>();
  // waiting → running (ready settled) → [lingering: abort sent, late joiners told] → closing.
  let phase: "waiting" | "running" | "lingering" | "closing" = "waiting";
  let allReady = false;
  let started = false;
  /** The last message (done/abort) once shutting down; a late joiner gets it right after welcome. */
  let farewell: MasterMessage | undefined;
  /** One per worker told the last message: settles when its socket has closed. */
  const farewells: Promise<void>[] = [];
  let endLinger: () => void = () => {};
  let shutdownDone: Promise<void> | undefined;
  let resolveReady: (result: ReadyResult) => void = () => {};
  const ready = new Promise<ReadyResult>((resolve) => {
    resolveReady = resolve;
  });

  function send(conn: Connection, message: MasterMessage): void {
    if (!conn.socket.destroyed && conn.socket.writable) conn.socket.write(encodeMessage(message));
  }

  /** Ends a connection; `gently` lets a last message (a reject) flush before the close. */
  function drop(conn: Connection, reason: string, gently = false): void {
    if (conn.dropReason === undefined && conn.node === undefined) {
      emit({ type: "connection-dropped", remote: conn.remote, reason });
    }
    conn.dropReason ??= reason;
    if (gently) conn.socket.end();
    else conn.socket.destroy();
  }

  /** Sends the last message and half-closes, so it arrives before the FIN. */
  function sayFarewell(conn: Connection, last: MasterMessage): void {
    farewells.push(new Promise((resolve) => conn.socket.once("close", () => resolve())));
    send(conn, last);
    conn.socket.end();
  }

  function settle(result: ReadyResult): void {
    if (phase !== "waiting") return;
    phase = "running";
    timers.clearTimeout(deadlineTimer);
    resolveReady(result);
  }

  function fail(reason: RendezvousFailure["reason"], first?: string): void {
    const missing = listMissingWorkers(nodes, first);
    settle({ ok: false, failure: { reason, missing, elapsedMs: timers.now() - startedAt } });
  }

  function checkAllReady(): void {
    const workers = listReadyWorkers(nodes);
    if (workers === undefined) return;
    allReady = true;
    settle({ ok: true, workers, elapsedMs: timers.now() - startedAt });
  }

  /** A node that was authenticated stopped counting: before ready it fails the rendezvous. */
  function loseNode(node: string, next: NodeState<Connection> & { kind: "failed" | "gone" }): void {
    const wasReady = nodes.get(node)?.kind === "ready";
    nodes.set(node, next);
    const reason = next.kind === "failed" ? `reported failure: ${next.message}` : next.reason;
    if (next.kind === "failed") emit({ type: "worker-failed", node, message: next.message });
    else emit({ type: "worker-lost", node, reason });
    if (phase === "waiting") fail(next.kind === "failed" ? "worker-failed" : "worker-disconnected", node);
    else if (phase === "running" && allReady && wasReady)
      for (const callback of lostCallbacks) callback({ node, reason });
  }

  function handleHello(conn: Connection, hello: WorkerMessage & { type: "hello" }): void {
    const input = { jobKey: options.jobKey, masterNonce: conn.masterNonce, workerNonce: hello.nonce, node: hello.node };
    const state = nodes.get(hello.node);
    if (!verifyMac(options.secret, "worker", input, hello.mac)) {
      if (state?.kind === "waiting") {
        state.note = `a connection from ${conn.remote} claiming to be it failed authentication`;
      }
      return drop(conn, `authentication failed for claimed node ${hello.node}`);
    }
    if (state === undefined || state.kind !== "waiting") {
      const reason =
        state === undefined
          ? `node ${hello.node} is not part of this job step`
          : `node ${hello.node} already joined this job step`;
      send(conn, { type: "reject", reason });
      return drop(conn, reason, true);
    }
    timers.clearTimeout(conn.handshakeTimer);
    conn.node = hello.node;
    nodes.set(hello.node, { kind: "authenticated", conn, rank: hello.rank });
    send(conn, { type: "welcome", mac: computeMac(options.secret, "master", input) });
    emit({ type: "worker-authenticated", node: hello.node, rank: hello.rank, remote: conn.remote });
    if (phase === "lingering" && farewell !== undefined) {
      sayFarewell(conn, farewell);
      if (listUnreachedNodes(nodes).length === 0) endLinger();
    }
  }

  function handleLine(conn: Connection, line: string): void {
    const message = parseWorkerMessage(line);
    if (message === undefined) return drop(conn, "malformed message");
    conn.lastHeardAt = timers.now();
    const node = conn.node;
    if (node === undefined) {
      if (message.type !== "hello") return drop(conn, `"${message.type}" before authentication`);
      return handleHello(conn, message);
    }
    // Once the last message is out, nothing a worker says changes anything.
    if (phase === "lingering" || phase === "closing") return;
    const state = nodes.get(node);
    if (state === undefined || state.kind === "waiting" || state.kind === "failed" || state.kind === "gone") return;
    // An exited worker only keeps its heartbeat up until done/abort.
    if (state.kind === "exited") return;
    switch (message.type) {
      case "ping":
        return;
      case "hello":
        return drop(conn, "a second hello");
      case "ready":
        if (state.kind === "authenticated") {
          nodes.set(node, { ...state, kind: "ready", ...(message.info === undefined ? {} : { info: message.info }) });
          emit({ type: "worker-ready", node });
          if (phase === "waiting") checkAllReady();
        }
        return;
      case "failed":
        return loseNode(node, { kind: "failed", message: message.message });
      case "exited":
        if (!started || state.kind !== "ready") return drop(conn, `"exited" before go`);
        nodes.set(node, { kind: "exited", conn, rank: state.rank, exitCode: message.exitCode });
        emit({ type: "worker-exited", node, exitCode: message.exitCode });
        for (const callback of exitedCallbacks) callback({ node, exitCode: message.exitCode });
        return;
      default: {
        const unreachable: never = message;
        return unreachable;
      }
    }
  }

  function handleClose(conn: Connection): void {
    connections.delete(conn);
    timers.clearTimeout(conn.handshakeTimer);
    const node = conn.node;
    if (node === undefined || phase === "lingering" || phase === "closing") return;
    const state = nodes.get(node);
    if ((state?.kind === "authenticated" || state?.kind === "ready") && state.conn === conn) {
      loseNode(node, { kind: "gone", reason: conn.dropReason ?? "connection closed" });
    }
  }

  function accept(socket: Socket): void {
    if (phase === "closing") return void socket.destroy();
    socket.setKeepAlive(true, 1000);
    socket.setNoDelay(true);
    const conn: Connection = {
      socket,
      remote: `${socket.remoteAddress ?? "?"}:${socket.remotePort ?? "?"}`,
      masterNonce: createNonce(),
      lastHeardAt: timers.now(),
      handshakeTimer: undefined,
    };
    connections.add(conn);
    conn.handshakeTimer = timers.setTimeout(() => drop(conn, "no valid hello in time"), handshakeTimeoutMs);
    const decoder = createLineDecoder();
    socket.on("data", (chunk: Buffer) => {
      const { lines, overflow } = decoder.push(chunk);
      for (const line of lines) {
        if (conn.dropReason !== undefined) return;
        handleLine(conn, line);
      }
      if (overflow && conn.dropReason === undefined) drop(conn, "line too long");
    });
    socket.on("error", (error) => {
      conn.dropReason ??= error.message;
    });
    socket.on("close", () => handleClose(conn));
    send(conn, { type: "challenge", v: PROTOCOL_VERSION, nonce: conn.masterNonce });
  }

  function heartbeat(): void {
    if (phase === "lingering" || phase === "closing") return;
    const now = timers.now();
    for (const conn of connections) {
      if (conn.node === undefined) continue;
      if (now - conn.lastHeardAt > lostAfterMs) drop(conn, `no heartbeat for ${formatSeconds(now - conn.lastHeardAt)}`);
      else send(conn, { type: "ping" });
    }
    heartbeatTimer = timers.setTimeout(heartbeat, pingIntervalMs);
  }

  const server = createServer(accept);
  server.on("error", () => {});
  const port = await listenTcp(server, options.port, options.host, "rendezvous");
  emit({ type: "listening", port });
  let heartbeatTimer = timers.setTimeout(heartbeat, pingIntervalMs);
  const deadlineTimer = timers.setTimeout(() => fail("deadline"), options.deadlineMs);
  if (nodes.size === 0) checkAllReady();

  /**
   * Sends a last message to every authenticated worker; with `lingerMs`, keeps listening until
   * every node not yet joined was told too; then closes everything within the grace period.
   * `last` undefined drops everything at once. Runs once: later calls get the same promise,
   * and one without a linger (a cancel: every node got the signal itself) cuts it short.
   */
  function shutdown(last: MasterMessage | undefined, lingerMs = 0): Promise<void> {
    if (shutdownDone !== undefined && lingerMs === 0) endLinger();
    shutdownDone ??= (async () => {
      if (phase === "waiting") fail("aborted");
      timers.clearTimeout(heartbeatTimer);
      farewell = last;
      const unreached = listUnreachedNodes(nodes);
      const linger = last !== undefined && lingerMs > 0 && unreached.length > 0;
      phase = linger ? "lingering" : "closing";
      for (const conn of connections) {
        if (conn.node !== undefined && last !== undefined) sayFarewell(conn, last);
        // A connection still in its handshake may be a late worker: it is told once it is in.
        else if (!linger) conn.socket.destroy();
      }
      if (linger) {
        emit({ type: "lingering", nodes: unreached, lingerMs });
        await new Promise<void>((resolve) => {
          const timer = timers.setTimeout(resolve, lingerMs);
          endLinger = () => {
            timers.clearTimeout(timer);
            resolve();
          };
        });
      }
      phase = "closing";
      server.close();
      for (const conn of connections) if (conn.node === undefined) conn.socket.destroy();
      if (farewells.length > 0) {
        let graceTimer: unknown;
        await Promise.race([
          Promise.all(farewells),
          new Promise<void>((resolve) => {
            graceTimer = timers.setTimeout(resolve, closeGraceMs);
          }),
        ]);
        timers.clearTimeout(graceTimer);
      }
      for (const conn of connections) conn.socket.destroy();
    })();
    return shutdownDone;
  }

  return {
    port,
    ready,
    start() {
      if (!allReady) {
        throw new Error("internal error: rendezvous start() before every worker was ready; please report");
      }
      if (started || phase !== "running") return;
      started = true;
      for (const state of nodes.values()) if (state.kind === "ready") send(state.conn, { type: "go" });
    },
    onWorkerLost(callback) {
      lostCallbacks.add(callback);
      return () => lostCallbacks.delete(callback);
    },
    onWorkerExited(callback) {
      exitedCallbacks.add(callback);
      return () => exitedCallbacks.delete(callback);
    },
    finish: (exitCode) => shutdown({ type: "done", exitCode: toWireExitCode(exitCode) }),
    abort: (reason, abortOptions) =>
      shutdown({ type: "abort", reason: reason.slice(0, 8000) }, abortOptions?.lingerMs ?? DEFAULT_ABORT_LINGER_MS),
    close() {
      void shutdown(undefined);
      endLinger();
      server.close();
      for (const conn of connections) conn.socket.destroy();
    },
  };
}
