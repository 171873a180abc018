/**
 * The master's side of the rendezvous: listen, authenticate each worker, wait until every
 * expected node reports ready or fail fast naming each missing node, watch heartbeats for the
 * rest of the job, and finally send done/abort. With the "each" launcher, `start` sends go and
 * each worker reports when its script exited.
 *
 * One state machine, whole in this file: the rendezvous's state (core/rendezvous/
 * rendezvous-master-state.ts) with what each phase holds here (while gathering, the readiness
 * deadline and the ports said so far; while lingering, the nodes still to tell), the roster of
 * nodes, and a handler per event. One connection, from its handshake to its end, is
 * rendezvous-master-connection.ts; the --pull-once plan told to the workers,
 * rendezvous-master-relay.ts.
 *
 * How it ends: the farewell (done or abort) to every joined worker, then, for an abort, a
 * linger for the nodes that have not joined yet (the master failed before they started, or the
 * rendezvous timed out): each late worker that authenticates is answered with the abort at
 * once, rather than retrying until its own deadline. Then the listener closes and every socket
 * is destroyed once its farewell was read or the grace passed.
 */
import { createServer, type Server, type Socket } from "node:net";
import type { HandshakeSlots, Peer, RefusalKind } from "../../core/channel/index.js";
import { createHandshakeSlots, rendezvousHandshakeLimit } from "../../core/channel/index.js";
import { type Deferred, deferred } from "../../core/common/index.js";
import type { NodePort } from "../../core/ports/index.js";
import {
  createRoster,
  type ImageAnnouncement,
  isShuttingDown,
  listMissingWorkers,
  listReadyWorkers,
  listUnreachedNodes,
  type MasterInput,
  type MasterMessage,
  type MasterState,
  type NodeState,
  nextMasterState,
  parseHelloAbout,
  type ReadyWorker,
  type RendezvousFailure,
  type Roster,
  refuseHello,
  toWireExitCode,
  type WorkerMessage,
} from "../../core/rendezvous/index.js";
import { createRefusalLog } from "../channel/index.js";
import { listenTcpFallback } from "../ports/index.js";
import { formatSeconds, realTimers, type Timers } from "../process/index.js";
import { createPausableDeadline, type PausableDeadline } from "./pausable-deadline.js";
import { type ConnectionHost, MasterConnection } from "./rendezvous-master-connection.js";
import { createMasterRelay, type MasterRelay, type RelayPlan } from "./rendezvous-master-relay.js";

export type { ReadyWorker } from "../../core/rendezvous/index.js";
export type { RelayPlan } from "./rendezvous-master-relay.js";

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

/** A worker's report on fetching the image: progress, or done (then `from` says where from). */
export type PullReport = Extract<WorkerMessage, { type: "pull" | "pulled" }>;

export interface RendezvousMasterOptions {
  port: number;
  /** Tried in order when `port` is taken (core/ports/port-candidates.ts); workers try them alike. */
  fallbackPorts?: readonly number[];
  /** MASTER_PORT, told to each worker in its welcome. */
  masterPort?: number;
  /** Connections in their handshake at once; default core's rendezvousHandshakeLimit. */
  maxHandshakes?: number;
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
  /**
   * The strangers' connections refused, one summary line per window (core/channel/refusal-tally.ts),
   * rather than a line per connection-dropped event: another user can open thousands a second.
   */
  onRefusals?: (summary: string) => void;
}

export interface AbortOptions {
  /**
   * How long to keep listening for nodes that have not joined yet, to answer each with abort;
   * it ends as soon as every expected node has been told. Default 10 s; 0 closes at once.
   */
  lingerMs?: number;
}

export const DEFAULT_ABORT_LINGER_MS = 10_000;
/** Node's own default for listen(). */
const DEFAULT_BACKLOG = 511;

export interface RendezvousMaster {
  /** The port actually bound (useful with port 0). */
  readonly port: number;
  /** Settles once: every worker ready, or a failure naming each node that is not. Never rejects. */
  readonly ready: Promise<ReadyResult>;
  /** Tells every joined worker, and each that joins later, the image the job runs. Once. */
  announceImage(image: ImageAnnouncement): void;
  /** Workers' reports while they fetch the image. */
  onPull(callback: (node: string, report: PullReport) => void): () => void;
  /** The master's own pull holds the readiness deadline too (a pull has its own limit). */
  holdDeadline(node: string, held: boolean): void;
  /** Settles once every worker said where its sshd listens (`remote-port`), or `ready` failed. */
  readonly remotePorts: Promise<RemotePortsResult>;
  /** Tells every worker which nodes' sshd is off the first candidate (from `remotePorts`). Once. */
  sendMovedPorts(moved: readonly NodePort[]): void;
  /** --pull-once: tells each worker where to get the image, once that node joined. Once. */
  planRelay(plan: RelayPlan): void;
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

export async function startRendezvousMaster(options: RendezvousMasterOptions): Promise<RendezvousMaster> {
  const timers = options.timers ?? realTimers;
  const refusals = createRefusalLog(options.onRefusals ?? (() => {}), timers);
  const master = new Master(options, timers, refusals.note);
  const server = createServer((socket) => master.accept(socket));
  master.server = server;
  server.on("error", () => {});
  server.on("close", () => refusals.close());
  // srun starts the workers together and each connects at once: the accept queue holds them all
  // (up to net.core.somaxconn); past Node's default 511 the kernel dropped or reset the rest,
  // which joined a second or more later by their retries (see `npm run bench:scale`).
  const backlog = Math.max(DEFAULT_BACKLOG, options.expectedNodes.length + 1);
  const candidates = [options.port, ...(options.fallbackPorts ?? [])];
  const port = await listenTcpFallback(server, candidates, options.host, "rendezvous", backlog);
  master.emit({ type: "listening", port });
  master.begin(options.deadlineMs);
  return master.api(port);
}

type Phase<P extends MasterState["phase"]> = Extract<MasterState, { phase: P }>;

/**
 * The rendezvous's state, with what each phase holds here. Until the farewell, `heartbeat`
 * pings the joined workers and finds the silent ones. While gathering: the readiness
 * `deadline` (paused while a node pulls the image), how many workers said ready (each does
 * once: a count, not a scan of the roster per report, which made a rendezvous O(N²)), and each
 * worker's sshd port as it said it. While lingering: how many unreached nodes are left to tell
 * (counted down rather than a scan per late joiner, which made a linger O(N²)), and the wake-up
 * that ends the linger early.
 */
type RunState =
  | (Phase<"gathering"> & {
      heartbeat: unknown;
      deadline: PausableDeadline;
      readyCount: number;
      saidPorts: Map<string, number>;
    })
  | (Phase<"failed" | "ready" | "started"> & { heartbeat: unknown })
  | (Phase<"lingering"> & { unreachedLeft: number; endLinger: () => void })
  | Phase<"closing">;

/** The master's promises and listeners: what its callers wait for. */
interface Waiters {
  ready: Deferred<ReadyResult>;
  remotePorts: Deferred<RemotePortsResult>;
  lost: Set<(lost: WorkerLost) => void>;
  exited: Set<(exited: WorkerExited) => void>;
  pull: Set<(node: string, report: PullReport) => void>;
}

class Master implements ConnectionHost {
  #state: RunState;
  readonly roster: Roster<MasterConnection>;
  readonly connections = new Set<MasterConnection>();
  readonly slots: HandshakeSlots<MasterConnection>;
  readonly startedAt: number;
  readonly relay: MasterRelay;
  readonly waiters: Waiters = {
    ready: deferred(),
    remotePorts: deferred(),
    lost: new Set(),
    exited: new Set(),
    pull: new Set(),
  };
  server: Server | undefined;
  /** The image told to every worker, once announced. */
  #image: ImageAnnouncement | undefined;
  #movedSent = false;
  /** The shutdown, once asked for: later calls get the same promise. */
  #shutdown: Promise<void> | undefined;
  /** One per worker told the farewell: settles when its socket has closed. */
  readonly #farewells: Promise<void>[] = [];
  readonly #pingIntervalMs: number;
  readonly #lostAfterMs: number;

  constructor(
    readonly options: RendezvousMasterOptions,
    readonly timers: Timers,
    readonly noteRefusal: (kind: RefusalKind, source: string) => void,
  ) {
    this.roster = createRoster<MasterConnection>(options.expectedNodes);
    this.slots = createHandshakeSlots<MasterConnection>(
      options.maxHandshakes ?? rendezvousHandshakeLimit(options.expectedNodes.length),
    );
    this.startedAt = timers.now();
    this.#pingIntervalMs = options.pingIntervalMs ?? 2000;
    this.#lostAfterMs = this.#pingIntervalMs * (options.missedPings ?? 3);
    this.relay = createMasterRelay((node) => {
      const state = this.roster.get(node);
      return state?.kind === "authenticated" || state?.kind === "ready" ? state.conn : undefined;
    });
    const deadline = createPausableDeadline(timers, () => this.fail("deadline"));
    this.#state = { phase: "gathering", heartbeat: undefined, deadline, readyCount: 0, saidPorts: new Map() };
  }

  emit(event: MasterEvent): void {
    this.options.onEvent?.(event);
  }

  /** Moves the state on; an input the state cannot take is a bug in the master itself. */
  #advance(input: MasterInput): MasterState {
    const next = nextMasterState(this.#state, input);
    if (next === undefined) {
      throw new Error(`internal error: rendezvous ${input.type} while ${this.#state.phase}; please report`);
    }
    return next;
  }

  /** Starts the deadline and the heartbeats, once the listener is up. */
  begin(deadlineMs: number): void {
    const state = this.#state;
    if (state.phase !== "gathering") return;
    const heartbeat = this.timers.setTimeout(() => this.#onHeartbeat(), this.#pingIntervalMs);
    this.#state = { ...state, heartbeat };
    state.deadline.start(deadlineMs);
    if (this.roster.size === 0) {
      this.waiters.remotePorts.resolve({ ok: true, ports: state.saidPorts });
      this.#checkAllReady();
    }
  }

  accept(socket: Socket): void {
    if (this.#state.phase === "closing") {
      socket.destroy();
      return;
    }
    const conn = new MasterConnection(socket, this, {
      secret: this.options.secret,
      jobKey: this.options.jobKey,
      handshakeTimeoutMs: this.options.handshakeTimeoutMs ?? 5000,
      masterPort: this.options.masterPort,
    });
    this.connections.add(conn);
  }

  // ---- what connections tell the master (ConnectionHost) ----

  refusal(peer: Peer): string | undefined {
    return refuseHello(this.roster, peer.node, parseHelloAbout(peer.about));
  }

  noteForgery(claimed: string, remote: string): void {
    const state = this.roster.get(claimed);
    if (state?.kind === "waiting") state.note = `a connection from ${remote} claiming to be it failed authentication`;
  }

  refused(conn: MasterConnection, reason: string, kind: RefusalKind): void {
    this.emit({ type: "connection-dropped", remote: conn.remote, reason, kind });
    this.noteRefusal(kind, conn.socket.remoteAddress ?? "?");
  }

  joined(conn: MasterConnection, rank: number, relayPort: number | undefined): void {
    const node = conn.node;
    if (node === undefined) return;
    this.roster.set(node, { kind: "authenticated", conn, rank });
    this.emit({ type: "worker-authenticated", node, rank, remote: conn.remote });
    this.#greetLateWorker(conn);
    this.#tellImage(conn);
    if (!isShuttingDown(this.#state)) this.relay.noteJoined(conn, relayPort);
  }

  closed(conn: MasterConnection): void {
    this.connections.delete(conn);
    const node = conn.node;
    if (node === undefined || isShuttingDown(this.#state)) return;
    const state = this.roster.get(node);
    if ((state?.kind === "authenticated" || state?.kind === "ready") && state.conn === conn) {
      this.#loseNode(node, { kind: "gone", reason: conn.endReason ?? "connection closed" });
    }
  }

  message(conn: MasterConnection, message: WorkerMessage): void {
    const node = conn.node;
    if (node === undefined || isShuttingDown(this.#state)) return;
    const state = this.roster.get(node);
    // A failed or gone node said its last word; an exited one only keeps its heartbeat up.
    if (state?.kind !== "authenticated" && state?.kind !== "ready") return;
    switch (message.type) {
      case "ping":
        return;
      case "remote-port":
        this.#onRemotePort(node, state, message.port);
        return;
      case "pull":
      case "pulled":
        this.#onPull(node, state, message);
        return;
      case "ready":
        this.#onReady(node, state);
        return;
      case "failed":
        this.#loseNode(node, { kind: "failed", message: message.message });
        return;
      case "exited":
        this.#onExited(conn, node, state, message.exitCode);
        return;
      default: {
        const unreachable: never = message;
        throw new Error(`internal error: unexpected rendezvous message ${String(unreachable)}; please report`);
      }
    }
  }

  // ---- the workers' reports ----

  #onRemotePort(node: string, state: JoinedNode, port: number): void {
    const run = this.#state;
    if (state.kind !== "authenticated" || run.phase !== "gathering") return;
    run.saidPorts.set(node, port);
    if (run.saidPorts.size === this.roster.size) this.waiters.remotePorts.resolve({ ok: true, ports: run.saidPorts });
  }

  #onPull(node: string, state: JoinedNode, report: PullReport): void {
    if (state.kind !== "authenticated") return;
    this.holdDeadline(node, report.type === "pull");
    for (const callback of this.waiters.pull) callback(node, report);
  }

  #onReady(node: string, state: JoinedNode): void {
    this.holdDeadline(node, false);
    if (state.kind !== "authenticated") return;
    this.roster.set(node, { ...state, kind: "ready" });
    this.emit({ type: "worker-ready", node });
    const run = this.#state;
    if (run.phase !== "gathering") return;
    this.#state = { ...run, readyCount: run.readyCount + 1 };
    if (run.readyCount + 1 === this.roster.size) this.#checkAllReady();
  }

  #onExited(conn: MasterConnection, node: string, state: JoinedNode, exitCode: number): void {
    if (this.#state.phase !== "started" || state.kind !== "ready") {
      conn.drop(`"exited" before go`);
      return;
    }
    this.roster.set(node, { kind: "exited", conn, rank: state.rank, exitCode });
    this.emit({ type: "worker-exited", node, exitCode });
    for (const callback of this.waiters.exited) callback({ node, exitCode });
  }

  /** A node that was authenticated stopped counting: before ready it fails the rendezvous. */
  #loseNode(node: string, next: NodeState<MasterConnection> & { kind: "failed" | "gone" }): void {
    const wasReady = this.roster.get(node)?.kind === "ready";
    this.roster.set(node, next);
    this.holdDeadline(node, false);
    const reason = next.kind === "failed" ? `reported failure: ${next.message}` : next.reason;
    if (next.kind === "failed") this.emit({ type: "worker-failed", node, message: next.message });
    else this.emit({ type: "worker-lost", node, reason });
    const phase = this.#state.phase;
    if (phase === "gathering") this.fail(next.kind === "failed" ? "worker-failed" : "worker-disconnected", node);
    else if ((phase === "ready" || phase === "started") && wasReady) {
      for (const callback of this.waiters.lost) callback({ node, reason });
    }
  }

  // ---- readiness ----

  holdDeadline(node: string, held: boolean): void {
    const run = this.#state;
    if (run.phase !== "gathering") return;
    if (held) run.deadline.hold(node);
    else run.deadline.release(node);
  }

  #checkAllReady(): void {
    const workers = listReadyWorkers(this.roster);
    if (workers !== undefined) this.#settle({ ok: true, workers, elapsedMs: this.timers.now() - this.startedAt });
  }

  /** Settles `ready` with a failure naming every node not ready; no-op once it has settled. */
  fail(reason: RendezvousFailure["reason"], first?: string): void {
    const missing = listMissingWorkers(this.roster, first);
    this.#settle({ ok: false, failure: { reason, missing, elapsedMs: this.timers.now() - this.startedAt } });
  }

  /** `ready` settles exactly when gathering is left. */
  #settle(result: ReadyResult): void {
    const run = this.#state;
    if (run.phase !== "gathering") return;
    const next = this.#advance({ type: result.ok ? "all-ready" : "ready-failed" }) as Phase<"ready" | "failed">;
    this.#state = { ...next, heartbeat: run.heartbeat };
    run.deadline.cancel();
    // Every worker said its port before it could be ready: only a failure finds it pending.
    if (!result.ok) this.waiters.remotePorts.resolve({ ok: false });
    this.waiters.ready.resolve(result);
  }

  // ---- while the job runs ----

  /** Pings keep a quiet worker's link alive; silence from a worker means its node is gone. */
  #onHeartbeat(): void {
    if (isShuttingDown(this.#state)) return;
    const now = this.timers.now();
    for (const conn of this.connections) {
      if (conn.state.phase !== "joined") continue;
      const silentMs = now - conn.state.heardAt;
      if (silentMs > this.#lostAfterMs) conn.drop(`no heartbeat for ${formatSeconds(silentMs)}`);
      else conn.send({ type: "ping" });
    }
    // Read again: a drop above may have moved the state on.
    const run = this.#state;
    if (!("heartbeat" in run)) return;
    this.#state = { ...run, heartbeat: this.timers.setTimeout(() => this.#onHeartbeat(), this.#pingIntervalMs) };
  }

  #tellImage(conn: MasterConnection): void {
    if (this.#image !== undefined && !isShuttingDown(this.#state)) conn.send({ type: "image", ...this.#image });
  }

  announceImage(announced: ImageAnnouncement): void {
    if (this.#image !== undefined) throw new Error("internal error: the image was announced twice; please report");
    this.#image = announced;
    for (const conn of this.connections) if (conn.node !== undefined) this.#tellImage(conn);
  }

  sendMovedPorts(moved: readonly NodePort[]): void {
    if (this.#movedSent) throw new Error("internal error: the moved remote ports were sent twice; please report");
    this.#movedSent = true;
    if (this.#state.phase !== "gathering") return;
    for (const state of this.roster.values()) {
      if (state.kind === "authenticated" || state.kind === "ready") {
        state.conn.send({ type: "remote-ports", moved: [...moved] });
      }
    }
  }

  start(): void {
    const before = this.#state;
    const next = nextMasterState(before, { type: "start" });
    if (next === undefined) {
      throw new Error("internal error: rendezvous start() before every worker was ready; please report");
    }
    // Go goes out once; a start() racing the shutdown finds the farewell already sent.
    if (before.phase !== "ready" || next.phase !== "started") return;
    this.#state = { ...next, heartbeat: before.heartbeat };
    for (const state of this.roster.values()) if (state.kind === "ready") state.conn.send({ type: "go" });
  }

  // ---- the end ----

  /**
   * Sends `last` to every joined worker; with `lingerMs`, keeps listening until every node not
   * yet joined was told too; then closes everything within the grace period. `last` undefined
   * drops everything at once. Runs once: later calls get the same promise, and one without a
   * linger (a cancel: every node got the signal itself) cuts a linger short.
   */
  shutdown(last: MasterMessage | undefined, lingerMs = 0): Promise<void> {
    if (this.#shutdown !== undefined && lingerMs === 0) this.#endLinger();
    this.#shutdown ??= this.#runShutdown(last, lingerMs);
    return this.#shutdown;
  }

  async #runShutdown(last: MasterMessage | undefined, lingerMs: number): Promise<void> {
    if (this.#state.phase === "gathering") this.fail("aborted");
    const run = this.#state;
    if ("heartbeat" in run) this.timers.clearTimeout(run.heartbeat);
    const unreached = listUnreachedNodes(this.roster);
    const linger = last !== undefined && lingerMs > 0 && unreached.length > 0;
    const next = this.#advance(linger ? { type: "linger", farewell: last } : { type: "close" });
    const lingered = next.phase === "lingering" ? this.#linger(next, unreached, lingerMs) : undefined;
    if (next.phase === "closing") this.#state = next;
    for (const conn of this.connections) {
      if (conn.node !== undefined && last !== undefined) this.#sayFarewell(conn, last);
      // A connection still in its handshake may be a late worker: it is told once it is in.
      else if (!linger) conn.socket.destroy();
    }
    if (lingered !== undefined) {
      this.emit({ type: "lingering", nodes: unreached, lingerMs });
      await lingered;
    }
    await this.#close();
  }

  /** Enters lingering; resolves when the linger passed or every unreached node was told. */
  #linger(next: Phase<"lingering">, unreached: readonly string[], lingerMs: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = this.timers.setTimeout(resolve, lingerMs);
      const endLinger = (): void => {
        this.timers.clearTimeout(timer);
        resolve();
      };
      this.#state = { ...next, unreachedLeft: unreached.length, endLinger };
    });
  }

  #endLinger(): void {
    if (this.#state.phase === "lingering") this.#state.endLinger();
  }

  /** A worker that joined while lingering: tells it the farewell. */
  #greetLateWorker(conn: MasterConnection): void {
    const run = this.#state;
    if (run.phase !== "lingering") return;
    this.#sayFarewell(conn, run.farewell);
    const unreachedLeft = run.unreachedLeft - 1;
    this.#state = { ...run, unreachedLeft };
    if (unreachedLeft <= 0 && listUnreachedNodes(this.roster).length === 0) run.endLinger();
  }

  /** Sends the last message and half-closes, so it arrives before the FIN. */
  #sayFarewell(conn: MasterConnection, last: MasterMessage): void {
    this.#farewells.push(new Promise((resolve) => conn.socket.once("close", () => resolve())));
    conn.send(last);
    conn.socket.end();
  }

  async #close(): Promise<void> {
    if (this.#state.phase !== "closing") this.#state = this.#advance({ type: "close" }) as Phase<"closing">;
    this.server?.close();
    for (const conn of this.connections) if (conn.node === undefined) conn.socket.destroy();
    if (this.#farewells.length > 0) {
      let graceTimer: unknown;
      await Promise.race([
        Promise.all(this.#farewells),
        new Promise<void>((resolve) => {
          graceTimer = this.timers.setTimeout(resolve, this.options.closeGraceMs ?? 2000);
        }),
      ]);
      this.timers.clearTimeout(graceTimer);
    }
    for (const conn of this.connections) conn.socket.destroy();
  }

  /** Drops everything at once, cutting a linger short. */
  closeNow(): void {
    void this.shutdown(undefined);
    this.#endLinger();
    this.server?.close();
    for (const conn of this.connections) conn.socket.destroy();
  }

  api(port: number): RendezvousMaster {
    const { waiters } = this;
    const listen =
      <T>(set: Set<T>) =>
      (callback: T) => {
        set.add(callback);
        return () => set.delete(callback);
      };
    return {
      port,
      ready: waiters.ready.promise,
      announceImage: (image) => this.announceImage(image),
      onPull: listen(waiters.pull),
      holdDeadline: (node, held) => this.holdDeadline(node, held),
      remotePorts: waiters.remotePorts.promise,
      sendMovedPorts: (moved) => this.sendMovedPorts(moved),
      planRelay: (plan) => {
        if (!isShuttingDown(this.#state)) this.relay.plan(plan);
      },
      start: () => this.start(),
      onWorkerLost: listen(waiters.lost),
      onWorkerExited: listen(waiters.exited),
      finish: (exitCode) => this.shutdown({ type: "done", exitCode: toWireExitCode(exitCode) }),
      abort: (reason, abortOptions) =>
        this.shutdown(
          { type: "abort", reason: reason.slice(0, 8000) },
          abortOptions?.lingerMs ?? DEFAULT_ABORT_LINGER_MS,
        ),
      close: () => this.closeNow(),
    };
  }
}

type JoinedNode = NodeState<MasterConnection> & { kind: "authenticated" | "ready" };
